"""A device written with paho-mqtt (Eclipse's client, not ours), driven by the MQTT tests.

Every verb prints one JSON object on standard output.

  login HOST PORT VERSION CLIENT_ID USER PASSWORD
      Connects once and prints the CONNACK reason code.
  publish-other HOST PORT CLIENT_ID SECRET TOPIC PAYLOAD
      Logs in with MQTT 5, publishes one QoS 1 message on TOPIC and prints the PUBACK reason
      code and whether the connection is still open afterwards.
  stream HOST PORT VERSION CLIENT_ID SECRET FIRST COUNT BASE_TS ACKED_FILE
      Publishes COUNT numbered QoS 1 messages, FIRST first, one metric per message, two
      messages per millisecond timestamp (power_w then temp_c), as fast as the flow control
      lets it. Each number is appended to ACKED_FILE when its PUBACK arrives. Stops when done
      or when the connection drops (it never reconnects: what was not acknowledged is not
      promised).
"""

import json
import sys
import threading
import time

import paho.mqtt.client as mqtt

PROTOCOLS = {"3": mqtt.MQTTv311, "5": mqtt.MQTTv5}


def client(version, client_id):
    return mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=PROTOCOLS[version],
        reconnect_on_failure=False,
    )


def connect(c, host, port, version):
    if version == "5":
        c.connect(host, int(port), keepalive=30, clean_start=True)
    else:
        c.connect(host, int(port), keepalive=30)


def login(host, port, version, client_id, user, password):
    answer = {}
    done = threading.Event()
    c = client(version, client_id)
    if user:
        c.username_pw_set(user, password)

    def on_connect(_c, _u, _flags, reason_code, _props):
        answer["code"] = reason_code.value
        answer["reason"] = str(reason_code)
        done.set()

    def on_disconnect(_c, _u, _flags, reason_code, _props):
        answer.setdefault("code", reason_code.value)
        answer.setdefault("reason", str(reason_code))
        done.set()

    c.on_connect = on_connect
    c.on_disconnect = on_disconnect
    connect(c, host, port, version)
    c.loop_start()
    done.wait(15)
    c.disconnect()
    c.loop_stop()
    print(json.dumps(answer))


def publish_other(host, port, client_id, secret, topic, payload):
    answer = {}
    connected = threading.Event()
    acked = threading.Event()
    c = client("5", client_id)
    c.username_pw_set(client_id, secret)
    c.on_connect = lambda _c, _u, _f, code, _p: connected.set()

    def on_publish(_c, _u, _mid, reason_code, _props):
        answer["code"] = reason_code.value
        answer["reason"] = str(reason_code)
        acked.set()

    c.on_publish = on_publish
    connect(c, host, port, "5")
    c.loop_start()
    connected.wait(15)
    c.publish(topic, payload, qos=1)
    acked.wait(15)
    time.sleep(0.3)
    answer["still_connected"] = c.is_connected()
    c.disconnect()
    c.loop_stop()
    print(json.dumps(answer))


def stream(host, port, version, client_id, secret, first, count, base_ts, acked_file):
    first, count, base_ts = int(first), int(count), int(base_ts)
    connected = threading.Event()
    gone = threading.Event()
    numbers = {}
    lock = threading.Lock()
    acked = 0
    out = open(acked_file, "a", buffering=1)
    c = client(version, client_id)
    c.username_pw_set(client_id, secret)
    c.max_inflight_messages_set(64)
    c.max_queued_messages_set(256)

    def on_connect(_c, _u, _f, reason_code, _p):
        if reason_code.value == 0:
            connected.set()
        else:
            gone.set()

    early = {}

    def settle(number, accepted):
        nonlocal acked
        if accepted:
            out.write(f"{number}\n")
            acked += 1

    def on_publish(_c, _u, mid, reason_code, _p):
        with lock:
            number = numbers.pop(mid, None)
            if number is None:
                early[mid] = reason_code.value < 0x80
            else:
                settle(number, reason_code.value < 0x80)

    c.on_connect = on_connect
    c.on_publish = on_publish
    c.on_disconnect = lambda *_: gone.set()
    connect(c, host, port, version)
    c.loop_start()
    connected.wait(15)
    sent = 0
    for number in range(first, first + count):
        if gone.is_set():
            break
        metric = "power_w" if number % 2 == 0 else "temp_c"
        payload = json.dumps({"ts": base_ts + number // 2, "values": {metric: float(number % 50)}})
        while not gone.is_set():
            info = c.publish(f"optibid/v1/devices/{client_id}/telemetry", payload, qos=1)
            if info.rc == mqtt.MQTT_ERR_SUCCESS:
                with lock:
                    if info.mid in early:
                        settle(number, early.pop(info.mid))
                    else:
                        numbers[info.mid] = number
                break
            if info.rc != mqtt.MQTT_ERR_QUEUE_SIZE:
                gone.set()
                break
            time.sleep(0.001)
        sent += 1
    deadline = time.time() + 20
    while not gone.is_set() and time.time() < deadline:
        with lock:
            if not numbers:
                break
        time.sleep(0.01)
    c.disconnect()
    c.loop_stop()
    out.close()
    print(json.dumps({"sent": sent, "acked": acked}))


VERBS = {"login": login, "publish-other": publish_other, "stream": stream}

if __name__ == "__main__":
    VERBS[sys.argv[1]](*sys.argv[2:])

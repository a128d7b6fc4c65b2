//! A real MQTT client (rumqttc) for tests: connect, publish with QoS 1 and wait for the
//! broker's acknowledgement, subscribe, receive.

use rumqttc::{Client, ConnectReturnCode, Event, LastWill, MqttOptions, Packet, Publish, QoS, SubscribeReasonCode};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a test waits for one broker answer.
const WAIT: Duration = Duration::from_secs(15);

/// How often the connection's thread, while connected and idle, looks whether the client was
/// dropped.
const CLOSED_CHECK: Duration = Duration::from_millis(500);

/// A connected client whose connection runs on its own thread. Dropping it closes the socket
/// at once, without a DISCONNECT (as when a device loses its connection).
pub struct TestClient {
    /// The rumqttc client.
    pub client: Client,
    events: Receiver<Result<Event, String>>,
    /// Publishes received and not yet taken.
    pending: std::cell::RefCell<Vec<Publish>>,
    closed: Arc<AtomicBool>,
}

impl Drop for TestClient {
    fn drop(&mut self) {
        self.closed.store(true, Ordering::SeqCst);
    }
}

/// How to connect.
#[derive(Default)]
pub struct Connect<'a> {
    /// Client id.
    pub client_id: &'a str,
    /// User name and password.
    pub login: Option<(&'a str, &'a str)>,
    /// Keep the session (and its queued messages) across connections.
    pub persistent: bool,
    /// Last will: topic and payload.
    pub last_will: Option<(&'a str, &'a str)>,
}

impl TestClient {
    /// Connects to `address` (`HOST:PORT`); `Err` with the broker's answer when refused.
    pub fn connect(address: &str, how: Connect<'_>) -> Result<TestClient, String> {
        let (host, port) = address.rsplit_once(':').expect("HOST:PORT");
        let mut options = MqttOptions::new(how.client_id, host, port.parse().expect("port"));
        options.set_keep_alive(Duration::from_secs(5)).set_clean_session(!how.persistent);
        options.set_max_packet_size(1 << 20, 1 << 20);
        if let Some((user, password)) = how.login {
            options.set_credentials(user, password);
        }
        if let Some((topic, payload)) = how.last_will {
            options.set_last_will(LastWill::new(topic, payload, QoS::AtLeastOnce, false));
        }
        let (client, mut connection) = Client::new(options, 1_000);
        let (sender, events) = mpsc::channel();
        let closed = Arc::new(AtomicBool::new(false));
        let dropped = closed.clone();
        std::thread::spawn(move || {
            let mut connected = false;
            loop {
                let event = if connected {
                    match connection.recv_timeout(CLOSED_CHECK) {
                        Ok(event) => event,
                        Err(rumqttc::RecvTimeoutError::Timeout) if !dropped.load(Ordering::SeqCst) => continue,
                        Err(_) => return,
                    }
                } else {
                    match connection.recv() {
                        Ok(event) => event,
                        Err(_) => return,
                    }
                };
                connected = match &event {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => true,
                    Ok(_) => connected,
                    Err(_) => false,
                };
                let failed = event.is_err();
                if dropped.load(Ordering::SeqCst) || sender.send(event.map_err(|e| e.to_string())).is_err() {
                    return;
                }
                if failed {
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        });
        let this = TestClient { client, events, pending: Default::default(), closed };
        match this.wait(|event| match event {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => Some(Ok(ack.code)),
            Err(error) => Some(Err(refusal_code(error))),
            _ => None,
        })? {
            ConnectReturnCode::Success => Ok(this),
            code => Err(format!("{code:?}")),
        }
    }

    /// Waits until `pick` returns something for an event; keeps incoming publishes for later.
    pub fn wait<T>(&self, pick: impl Fn(&Result<Event, String>) -> Option<T>) -> T {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(event) => {
                    if let Some(found) = pick(&event) {
                        return found;
                    }
                    if let Ok(Event::Incoming(Packet::Publish(publish))) = event {
                        self.pending.borrow_mut().push(publish);
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!("no expected MQTT event within {WAIT:?}"),
                Err(RecvTimeoutError::Disconnected) => panic!("the MQTT connection thread ended"),
            }
        }
    }

    /// Whether an event for which `pick` says true arrives within `limit`; keeps incoming
    /// publishes for later.
    pub fn arrives_within(&self, limit: Duration, pick: impl Fn(&Result<Event, String>) -> bool) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(event) if pick(&event) => return true,
                Ok(Ok(Event::Incoming(Packet::Publish(publish)))) => self.pending.borrow_mut().push(publish),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => return false,
                Err(RecvTimeoutError::Disconnected) => panic!("the MQTT connection thread ended"),
            }
        }
    }

    /// Publishes with QoS 1 and waits for the broker's acknowledgement.
    pub fn publish(&self, topic: &str, payload: impl Into<Vec<u8>>) {
        self.client.publish(topic, QoS::AtLeastOnce, false, payload).expect("queued");
        self.wait(|event| matches!(event, Ok(Event::Incoming(Packet::PubAck(_)))).then_some(()));
    }

    /// Subscribes with QoS 1, waits for the acknowledgement and asserts the grant.
    pub fn subscribe(&self, filter: &str) {
        let granted = self.try_subscribe(filter);
        assert_eq!(granted, SubscribeReasonCode::Success(QoS::AtLeastOnce), "subscribing to {filter}");
    }

    /// Subscribes with QoS 1 and returns the broker's answer for the filter.
    pub fn try_subscribe(&self, filter: &str) -> SubscribeReasonCode {
        self.client.subscribe(filter, QoS::AtLeastOnce).expect("queued");
        self.wait(|event| match event {
            Ok(Event::Incoming(Packet::SubAck(ack))) => Some(ack.return_codes[0]),
            _ => None,
        })
    }

    /// Publishes with QoS 1 without waiting for anything.
    pub fn send(&self, topic: &str, payload: impl Into<Vec<u8>>) {
        self.client.publish(topic, QoS::AtLeastOnce, false, payload).expect("queued");
    }

    /// Waits until the broker closes the connection.
    pub fn wait_closed(&self) {
        self.wait(|event| event.is_err().then_some(()));
    }

    /// The next message received.
    pub fn receive(&self) -> Publish {
        {
            let mut pending = self.pending.borrow_mut();
            if !pending.is_empty() {
                return pending.remove(0);
            }
        }
        self.wait(|event| match event {
            Ok(Event::Incoming(Packet::Publish(publish))) => Some(publish.clone()),
            _ => None,
        })
    }
}

/// The CONNACK code of a refused connection (`NotAuthorized`, `BadUserNamePassword`, ...), or the
/// whole error when it is not a refusal.
fn refusal_code(error: &str) -> String {
    error.split('`').nth(1).filter(|_| error.contains("return code")).unwrap_or(error).to_owned()
}

//! An MQTT message as the ingest sees it: its topic and JSON payload decoded into work, or the
//! reason it is refused (a topic outside the contract, a topic of another device, a bad payload).

use super::identity::ClientIdentity;
use super::topic::InboundTopic;
use crate::ingest::dead_letter::DeadLetterReason;
use crate::ingest::payload::{self, PayloadLimits, Rejection};
use crate::ingest::pipeline::{DecodedMessage, Work};
use optibid_domain::time::Timestamp;

/// Decodes one published message. `publisher` is the authenticated identity on the platform's
/// own endpoint (it may publish only about itself), `None` on an external broker, which
/// authorises its clients itself.
pub fn decode(
    publisher: Option<&ClientIdentity>,
    topic: &str,
    payload: &[u8],
    redelivery: bool,
    now: Timestamp,
    limits: PayloadLimits,
) -> DecodedMessage {
    DecodedMessage {
        origin: topic.to_owned(),
        raw: payload.to_vec(),
        work: work_of(publisher, topic, payload, now, limits),
        redelivery,
    }
}

/// Why `publisher` may not publish to `topic`, if it may not.
pub fn publish_refusal(publisher: &ClientIdentity, topic: &str) -> Option<Rejection> {
    match InboundTopic::parse(topic) {
        Ok(parsed) if publisher.may_publish(&parsed) => None,
        Ok(_) => Some(Rejection::new(
            DeadLetterReason::NotAuthorised,
            format!("{publisher} may publish only on its own topics, not on {topic}"),
        )),
        Err(error) => Some(Rejection::new(DeadLetterReason::UnknownTopic, error.to_string())),
    }
}

fn work_of(
    publisher: Option<&ClientIdentity>,
    topic: &str,
    payload: &[u8],
    now: Timestamp,
    limits: PayloadLimits,
) -> Result<Work, Rejection> {
    if let Some(refusal) = publisher.and_then(|publisher| publish_refusal(publisher, topic)) {
        return Err(refusal);
    }
    let parsed =
        InboundTopic::parse(topic).map_err(|e| Rejection::new(DeadLetterReason::UnknownTopic, e.to_string()))?;
    Ok(match parsed {
        InboundTopic::Telemetry(device) => Work::Telemetry(device, payload::telemetry(payload, now, limits)?),
        InboundTopic::Status(device) => Work::Status(device, payload::status(payload, now, limits)?),
        InboundTopic::CommandResponse(device, command) => {
            Work::Response(device, command, payload::command_response(payload, limits)?)
        }
        InboundTopic::EdgeHeartbeat(node) => Work::Heartbeat(node, payload::heartbeat(payload, now, limits)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use optibid_domain::ids::DeviceId;
    use proptest::prelude::*;

    fn me() -> ClientIdentity {
        ClientIdentity::Device(DeviceId::new("inv-1").expect("valid id"))
    }

    #[test]
    fn another_devices_topic_is_refused_before_the_payload_is_read() {
        let message = decode(
            Some(&me()),
            "optibid/v1/devices/inv-2/telemetry",
            b"{}",
            false,
            Timestamp(0),
            PayloadLimits::default(),
        );
        let refusal = message.work.expect_err("refused");
        assert_eq!(refusal.reason, DeadLetterReason::NotAuthorised);
        assert!(refusal.detail.contains("inv-2"), "{}", refusal.detail);
    }

    #[test]
    fn own_telemetry_decodes() {
        let payload = br#"{"ts": 5, "values": {"power_w": 1.5}}"#;
        let message = decode(
            Some(&me()),
            "optibid/v1/devices/inv-1/telemetry",
            payload,
            true,
            Timestamp(10),
            PayloadLimits::default(),
        );
        assert!(message.redelivery);
        assert!(matches!(message.work, Ok(Work::Telemetry(_, ref samples)) if samples.len() == 1));
    }

    proptest! {
        #[test]
        fn never_panics_on_any_topic_or_payload(topic in ".{0,80}", payload in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode(Some(&me()), &topic, &payload, false, Timestamp(0), PayloadLimits::default());
            let _ = decode(None, &topic, &payload, false, Timestamp(0), PayloadLimits::default());
        }
    }
}

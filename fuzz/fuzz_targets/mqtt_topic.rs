//! Any topic a client may publish to: parsed into an inbound topic or refused with an error,
//! never a panic; an accepted topic names valid ids.
#![no_main]

use libfuzzer_sys::fuzz_target;
use optibid::mqtt::topic::InboundTopic;

fuzz_target!(|topic: &str| {
    if let Ok(parsed) = InboundTopic::parse(topic) {
        let id = match &parsed {
            InboundTopic::Telemetry(id) | InboundTopic::Status(id) | InboundTopic::CommandResponse(id, _) => {
                id.as_str().to_owned()
            }
            InboundTopic::EdgeHeartbeat(id) => id.as_str().to_owned(),
        };
        assert!(topic.contains(&format!("/{id}/")), "the id {id:?} comes from the topic {topic:?}");
    }
});

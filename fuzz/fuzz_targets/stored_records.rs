//! Any stored bytes: a record envelope decodes (owned and borrowed alike) or is reported corrupt,
//! and any payload of any stream kind and schema version decodes or is reported corrupt, never a
//! panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use optibid::events::DecodeStored;
use optibid::store::codec::{decode_record, view_record};
use optibid::store::{EventMetadata, RecordedEvent};
use optibid_domain::FleetEvent;

const KINDS: [&str; 5] = ["device", "edge", "campaign", "telemetry", "unknown"];

fuzz_target!(|input: &[u8]| {
    let owned = decode_record(1, input);
    let borrowed = view_record(1, input);
    assert_eq!(owned.is_ok(), borrowed.is_ok(), "both readers agree on what is a record");
    if let Ok(record) = owned {
        let _ = FleetEvent::decode(&record);
    }
    let Some((&selector, payload)) = input.split_first() else { return };
    let record = RecordedEvent {
        position: 1,
        stream: format!("{}/fuzz-1", KINDS[usize::from(selector) % KINDS.len()]),
        version: 1,
        event_id: uuid::Uuid::nil(),
        event_type: "fuzz.event".to_owned(),
        schema_version: u16::from(selector / 5 % 4),
        recorded_at: 0,
        metadata: EventMetadata::default(),
        payload_hash: [0; 32],
        payload: Some(payload.to_vec()),
        prev_hash: [0; 32],
        hash: [0; 32],
    };
    let _ = FleetEvent::decode(&record);
});

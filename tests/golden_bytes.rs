//! Golden stored bytes: one stored payload of every event variant, one record envelope and one
//! snapshot, kept in tests/fixtures/ as the bytes a build wrote. They must decode to the same
//! meaning forever; at today's schema versions, encoding that meaning must give the very same
//! bytes, so a change of encoding cannot slip in without a schema bump and an upcaster.
//!
//! A variant without golden bytes fails the test, which prints the line to add.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use optibid::events::DecodeStored;
use optibid::store::chain::{chain_hash, payload_hash};
use optibid::store::codec::{decode_record, encode_payload, encode_record};
use optibid::store::{EventMetadata, RecordedEvent};
use optibid_domain::campaign::{CampaignEvent, FleetCampaign};
use optibid_domain::device::{Device, DeviceEvent, DeviceState};
use optibid_domain::edge::{EdgeNode, EdgeNodeEvent};
use optibid_domain::telemetry::{TelemetryEvent, TELEMETRY_SCHEMA_VERSION};
use optibid_domain::{Aggregate, EventName, FleetEvent};
use optibid_snapshots::{Snapshot, SnapshotStore};
use serde::de::{DeserializeOwned, Visitor};
use serde::{forward_to_deserialize_any, Deserialize, Deserializer, Serialize};
use serde_json::{json, Value};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// One stored event payload, as a build wrote it.
#[derive(Debug, Deserialize)]
struct GoldenEvent {
    /// The stream kind the event belongs to (`device`, `edge`, `campaign`, `telemetry`).
    kind: String,
    event_type: String,
    schema_version: u16,
    /// The stored payload, base64.
    payload: String,
    /// What the payload means, as today's event serialises to JSON.
    event: Value,
}

fn golden_events() -> Vec<GoldenEvent> {
    std::fs::read_to_string(format!("{FIXTURES}/events_golden.jsonl"))
        .expect("golden events")
        .lines()
        .map(|line| serde_json::from_str(line).expect("a golden event line"))
        .collect()
}

fn golden_envelopes() -> Value {
    let text = std::fs::read_to_string(format!("{FIXTURES}/envelopes_golden.json")).expect("golden envelopes");
    serde_json::from_str(&text).expect("golden envelopes JSON")
}

fn bytes(base64: &Value) -> Vec<u8> {
    BASE64.decode(base64.as_str().expect("base64 text")).expect("base64")
}

/// A stored record around `payload`, as the log would hand it to a reader.
fn record(kind: &str, event_type: &str, schema_version: u16, payload: Vec<u8>) -> RecordedEvent {
    RecordedEvent {
        position: 1,
        stream: format!("{kind}/golden-1"),
        version: 1,
        event_id: uuid::Uuid::nil(),
        event_type: event_type.to_owned(),
        schema_version,
        recorded_at: 0,
        metadata: EventMetadata::default(),
        payload_hash: payload_hash(&payload),
        payload: Some(payload),
        prev_hash: [0; 32],
        hash: [0; 32],
    }
}

#[test]
fn every_golden_event_decodes_to_the_meaning_it_was_stored_with() {
    let golden = golden_events();
    assert!(!golden.is_empty());
    for line in &golden {
        let payload = BASE64.decode(&line.payload).expect("base64 payload");
        let stored = record(&line.kind, &line.event_type, line.schema_version, payload);
        let event = FleetEvent::decode(&stored)
            .unwrap_or_else(|e| panic!("{} (schema {}) no longer decodes: {e}", line.event_type, line.schema_version));
        assert_eq!(
            serde_json::to_value(&event).expect("event JSON"),
            line.event,
            "{} (schema {}) decodes to another meaning",
            line.event_type,
            line.schema_version
        );
        assert_eq!(event_name(&event), line.event_type, "the stored type names the decoded variant");
    }
}

#[test]
fn every_device_event_variant_of_today_has_golden_bytes_and_encodes_to_them() {
    today_has_golden_bytes_of_every_variant::<DeviceEvent>("device", Device::EVENT_SCHEMA_VERSION);
}

#[test]
fn every_edge_node_event_variant_of_today_has_golden_bytes_and_encodes_to_them() {
    today_has_golden_bytes_of_every_variant::<EdgeNodeEvent>("edge", EdgeNode::EVENT_SCHEMA_VERSION);
}

#[test]
fn every_campaign_event_variant_of_today_has_golden_bytes_and_encodes_to_them() {
    today_has_golden_bytes_of_every_variant::<CampaignEvent>("campaign", FleetCampaign::EVENT_SCHEMA_VERSION);
}

#[test]
fn every_telemetry_event_variant_of_today_has_golden_bytes_and_encodes_to_them() {
    today_has_golden_bytes_of_every_variant::<TelemetryEvent>("telemetry", TELEMETRY_SCHEMA_VERSION);
}

/// Each variant of `E` has a golden line at `schema_version`, and today's encoding of every such
/// line's meaning is exactly its stored bytes.
fn today_has_golden_bytes_of_every_variant<E: DeserializeOwned + Serialize>(kind: &str, schema_version: u16) {
    let golden = golden_events();
    let today: Vec<&GoldenEvent> =
        golden.iter().filter(|line| line.kind == kind && line.schema_version == schema_version).collect();
    let mut problems = Vec::new();
    for variant in variant_names::<E>() {
        if !today.iter().any(|line| line.event.get(variant).is_some()) {
            problems.push(format!("no golden bytes of {kind} variant {variant:?} at schema {schema_version}"));
        }
    }
    for line in &today {
        let event: E = match serde_json::from_value(line.event.clone()) {
            Ok(event) => event,
            Err(error) => {
                problems.push(format!("the golden meaning of {} no longer parses: {error}", line.event_type));
                continue;
            }
        };
        let encoded = BASE64.encode(encode_payload(&event).expect("encode"));
        if encoded != line.payload {
            let today = json!({ "kind": kind, "event_type": line.event_type, "schema_version": schema_version, "payload": encoded, "event": line.event });
            problems.push(format!(
                "today's encoding of {} differs from its golden bytes; today's line:\n{today}",
                line.event_type
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "tests/fixtures/events_golden.jsonl and today's {kind} events disagree (a changed shape needs a schema bump and an upcaster):\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_golden_record_envelope_decodes_to_its_fields_and_encodes_back_to_its_bytes() {
    let golden = golden_envelopes();
    let stored = bytes(&golden["record"]["bytes"]);
    let record = decode_record(7, &stored).expect("the golden record decodes");
    assert_eq!(serde_json::to_value(&record).expect("record JSON"), golden["record"]["fields"]);
    assert_eq!(
        BASE64.encode(encode_record(&record).expect("encode")),
        golden["record"]["bytes"].as_str().expect("base64"),
        "today's envelope encoding differs from its golden bytes"
    );
    assert_eq!(chain_hash(&record.prev_hash, &record), record.hash, "the chain hash is computed as it was");
    assert_eq!(payload_hash(record.payload.as_deref().expect("a payload")), record.payload_hash);
    let event = FleetEvent::decode(&record).expect("its payload decodes");
    assert!(matches!(event, FleetEvent::Device(DeviceEvent::Registered { .. })), "{event:?}");
}

#[test]
fn the_golden_device_snapshot_is_found_decodes_to_its_state_and_encodes_back_to_its_bytes() {
    let golden = golden_envelopes();
    let snapshot = &golden["snapshot"];
    let stream = snapshot["stream"].as_str().expect("stream");
    let version = snapshot["version"].as_u64().expect("version");
    let stored = bytes(&snapshot["bytes"]);
    let dir = tempfile::tempdir().expect("temp dir");
    let db = sled::open(dir.path()).expect("sled");
    let snapshots = SnapshotStore::new(db.open_tree("snapshots").expect("tree"), 2);
    snapshots.put_raw(stream, version, &stored).expect("put");
    let found = snapshots.latest(stream).expect("read").expect("the golden snapshot is found, not skipped");
    assert_eq!(found.version, version);
    assert_eq!(found.state_schema, Device::STATE_SCHEMA_VERSION, "the golden snapshot is of today's state schema");
    let state: DeviceState = found.decode(Device::STATE_SCHEMA_VERSION).expect("the golden state decodes");
    assert_eq!(serde_json::to_value(&state).expect("state JSON"), snapshot["state"]);

    let again =
        Snapshot::encode(stream, version, found.chain_hash, Device::STATE_SCHEMA_VERSION, &state).expect("encode");
    let resaved = SnapshotStore::new(db.open_tree("resaved").expect("tree"), 2);
    resaved.save(&again).expect("save");
    let written = db.open_tree("resaved").expect("tree").iter().next().expect("one snapshot").expect("read").1;
    assert_eq!(
        BASE64.encode(&written),
        snapshot["bytes"].as_str().expect("base64"),
        "today's snapshot encoding differs"
    );
}

fn event_name(event: &FleetEvent) -> &'static str {
    match event {
        FleetEvent::Device(event) => event.event_name(),
        FleetEvent::Edge(event) => event.event_name(),
        FleetEvent::Campaign(event) => event.event_name(),
        FleetEvent::Telemetry(event) => event.event_name(),
    }
}

/// The names of `E`'s variants, as serde knows them (renamed as they serialise).
fn variant_names<E: DeserializeOwned>() -> &'static [&'static str] {
    let mut capture = VariantCapture::default();
    let _ = E::deserialize(&mut capture);
    assert!(!capture.variants.is_empty(), "{} is not an enum", std::any::type_name::<E>());
    capture.variants
}

/// A deserializer that only records the variant names an enum asks for.
#[derive(Default)]
struct VariantCapture {
    variants: &'static [&'static str],
}

impl<'de> Deserializer<'de> for &mut VariantCapture {
    type Error = serde::de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(serde::de::Error::custom("only enums are inspected"))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.variants = variants;
        Err(serde::de::Error::custom("variant names captured"))
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
        unit unit_struct newtype_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

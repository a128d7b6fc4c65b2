//! Any stored snapshot bytes: read as a snapshot or skipped, and any state bytes decode as a
//! device, edge node or campaign state or are refused, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use optibid_domain::campaign::CampaignState;
use optibid_domain::device::DeviceState;
use optibid_domain::edge::EdgeNodeState;
use optibid_snapshots::Snapshot;

fuzz_target!(|input: &[u8]| {
    let snapshot = Snapshot::from_stored(input).unwrap_or_else(|| Snapshot {
        stream: "device/fuzz-1".to_owned(),
        version: 1,
        chain_hash: [0; 32],
        state_schema: 0,
        state: input.to_vec(),
    });
    let schema = snapshot.state_schema;
    let _ = snapshot.decode::<DeviceState>(schema);
    let _ = snapshot.decode::<EdgeNodeState>(schema);
    let _ = snapshot.decode::<CampaignState>(schema);
});

//! Any payload a device may publish, on each inbound topic kind: decoded or refused with a
//! dead-letter reason, never a panic; accepted telemetry holds only finite values within the
//! size limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use optibid::ingest::payload::{self, PayloadLimits};
use optibid_domain::Timestamp;

fuzz_target!(|input: &[u8]| {
    let Some((&selector, payload)) = input.split_first() else { return };
    let limits = PayloadLimits::default();
    let now = Timestamp(1_796_400_000_000);
    match selector % 4 {
        0 => {
            if let Ok(samples) = payload::telemetry(payload, now, limits) {
                assert!(payload.len() <= limits.max_bytes);
                assert!(samples.iter().flat_map(|s| &s.values).all(|v| v.value.is_finite()));
            }
        }
        1 => drop(payload::status(payload, now, limits)),
        2 => drop(payload::command_response(payload, limits)),
        _ => drop(payload::heartbeat(payload, now, limits)),
    }
});

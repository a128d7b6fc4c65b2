//! The campaign list.

use crate::directory::DirectoryEntry;
use crate::projection::ProjectedEvent;
use optibid_domain::campaign::{CampaignEvent, CampaignKind, DeviceOutcome};
use optibid_domain::FleetEvent;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A campaign's progress, as the list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignProgress {
    /// Campaign id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: CampaignKind,
    /// Phase: draft, running, paused, completed, aborted, cancelled.
    pub phase: String,
    /// Targets resolved.
    pub targets: u32,
    /// Targets in no released wave yet.
    pub not_released: u32,
    /// Targets released and awaiting their outcome.
    pub in_progress: u32,
    /// Outcomes recorded.
    pub outcomes: u32,
    /// Succeeded outcomes.
    pub succeeded: u32,
    /// Failed outcomes (the device reported a failure or refused the command).
    pub failed: u32,
    /// Outcomes timed out.
    pub timed_out: u32,
    /// Failed and timed-out outcomes.
    pub failures: u32,
    /// Failures over outcomes (0 before any outcome).
    pub failure_ratio: f64,
    /// Each released wave's progress, in order.
    pub waves: Vec<WaveProgress>,
    /// Commit time of its last event (ms).
    pub updated_at: i64,
}

/// One released wave's progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaveProgress {
    /// Index of the wave (0 for the first).
    pub wave: u32,
    /// Devices released in it.
    pub devices: u32,
    /// Succeeded outcomes.
    pub succeeded: u32,
    /// Failed outcomes.
    pub failed: u32,
    /// Outcomes timed out.
    pub timed_out: u32,
}

/// One campaign in the list: its progress, and the wave of each released device still
/// awaiting its outcome (so a late outcome counts toward its own wave).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignEntry {
    /// What the list shows.
    pub progress: CampaignProgress,
    awaiting: BTreeMap<String, u32>,
}

impl CampaignEntry {
    fn record_outcome(&mut self, device: &str, outcome: &DeviceOutcome) {
        let progress = &mut self.progress;
        let wave = self.awaiting.remove(device).and_then(|wave| progress.waves.iter_mut().find(|w| w.wave == wave));
        let (total, in_wave) = match outcome {
            DeviceOutcome::Succeeded => (&mut progress.succeeded, wave.map(|w| &mut w.succeeded)),
            DeviceOutcome::Failed(_) => (&mut progress.failed, wave.map(|w| &mut w.failed)),
            DeviceOutcome::TimedOut => (&mut progress.timed_out, wave.map(|w| &mut w.timed_out)),
        };
        *total += 1;
        if let Some(count) = in_wave {
            *count += 1;
        }
        progress.outcomes += 1;
        progress.failures = progress.failed + progress.timed_out;
        self.recount();
    }

    fn recount(&mut self) {
        let progress = &mut self.progress;
        progress.in_progress = count(self.awaiting.len());
        progress.not_released = progress.targets.saturating_sub(progress.outcomes + progress.in_progress);
        progress.failure_ratio =
            if progress.outcomes == 0 { 0.0 } else { f64::from(progress.failures) / f64::from(progress.outcomes) };
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Filters of the campaign list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct CampaignFilter {
    /// Phase.
    pub phase: Option<String>,
    /// Kind.
    pub kind: Option<CampaignKind>,
}

impl CampaignFilter {
    /// Whether `entry` passes the filter.
    pub fn matches(&self, entry: &CampaignEntry) -> bool {
        let progress = &entry.progress;
        self.phase.as_ref().is_none_or(|phase| &progress.phase == phase)
            && self.kind.is_none_or(|kind| progress.kind == kind)
    }
}

impl DirectoryEntry for CampaignEntry {
    const PROJECTION: &'static str = "campaign_list";
    const KINDS: &'static [&'static str] = &["campaign"];

    fn create(event: &ProjectedEvent<'_>) -> Option<Self> {
        let FleetEvent::Campaign(CampaignEvent::Created { definition, .. }) = event.event else {
            return None;
        };
        Some(CampaignEntry {
            progress: CampaignProgress {
                id: definition.id.to_string(),
                name: definition.name.clone(),
                kind: definition.kind,
                phase: "draft".to_owned(),
                targets: 0,
                not_released: 0,
                in_progress: 0,
                outcomes: 0,
                succeeded: 0,
                failed: 0,
                timed_out: 0,
                failures: 0,
                failure_ratio: 0.0,
                waves: Vec::new(),
                updated_at: event.recorded_at,
            },
            awaiting: BTreeMap::new(),
        })
    }

    fn update(&mut self, event: &ProjectedEvent<'_>) -> bool {
        let FleetEvent::Campaign(campaign_event) = event.event else { return false };
        if let Some(created) = Self::create(event) {
            *self = created;
            return true;
        }
        self.progress.updated_at = event.recorded_at;
        let phase = match campaign_event {
            CampaignEvent::TargetsResolved { devices, .. } => {
                self.progress.targets = count(devices.len());
                self.recount();
                return true;
            }
            CampaignEvent::WaveAdvanced { wave, devices, .. } => {
                self.progress.waves.push(WaveProgress {
                    wave: *wave,
                    devices: count(devices.len()),
                    succeeded: 0,
                    failed: 0,
                    timed_out: 0,
                });
                self.awaiting.extend(devices.iter().map(|device| (device.to_string(), *wave)));
                self.recount();
                return true;
            }
            CampaignEvent::DeviceOutcomeRecorded { device_id, outcome, .. } => {
                self.record_outcome(device_id.as_str(), outcome);
                return true;
            }
            CampaignEvent::Started { .. } | CampaignEvent::Resumed { .. } => "running",
            CampaignEvent::Paused { .. } => "paused",
            CampaignEvent::Cancelled { .. } => "cancelled",
            CampaignEvent::Completed { .. } => "completed",
            CampaignEvent::Aborted { .. } => "aborted",
            _ => return true,
        };
        self.progress.phase = phase.to_owned();
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use optibid_domain::campaign::{CampaignDefinition, TargetSelector};
    use optibid_domain::ids::{CampaignId, DeviceId};
    use optibid_domain::time::Timestamp;

    fn device(n: usize) -> DeviceId {
        DeviceId::new(format!("d-{n}")).expect("valid id")
    }

    fn fold(events: Vec<CampaignEvent>) -> CampaignEntry {
        let events: Vec<FleetEvent> = events.into_iter().map(FleetEvent::Campaign).collect();
        let mut entry: Option<CampaignEntry> = None;
        for (i, event) in events.iter().enumerate() {
            let projected = ProjectedEvent { position: i as u64 + 1, stream: "campaign/fw-1", recorded_at: 0, event };
            match &mut entry {
                Some(entry) => {
                    entry.update(&projected);
                }
                None => entry = CampaignEntry::create(&projected),
            }
        }
        entry.expect("created")
    }

    #[test]
    fn a_late_outcome_counts_toward_its_own_wave() {
        let definition = CampaignDefinition {
            id: CampaignId::new("fw-1").expect("valid id"),
            name: "Firmware".to_owned(),
            kind: CampaignKind::FirmwareUpdate,
            selector: TargetSelector::default(),
            payload: "2.0.0".to_owned(),
            waves: vec![50, 100],
            success_threshold: 0.5,
            abort_threshold: 0.9,
            device_timeout_ms: 1_000,
        };
        let at = Timestamp(1);
        let outcome = |n: usize, outcome: DeviceOutcome| CampaignEvent::DeviceOutcomeRecorded {
            device_id: device(n),
            outcome,
            at,
        };
        let entry = fold(vec![
            CampaignEvent::Created { definition, at },
            CampaignEvent::TargetsResolved { devices: (0..4).map(device).collect(), at },
            CampaignEvent::Started { at },
            CampaignEvent::WaveAdvanced { wave: 0, devices: vec![device(0), device(1)], at },
            outcome(0, DeviceOutcome::Succeeded),
            CampaignEvent::WaveAdvanced { wave: 1, devices: vec![device(2), device(3)], at },
            outcome(1, DeviceOutcome::TimedOut),
            outcome(2, DeviceOutcome::Failed("flash error".to_owned())),
        ]);
        let progress = &entry.progress;
        assert_eq!(progress.phase, "running");
        assert_eq!((progress.targets, progress.not_released, progress.in_progress), (4, 0, 1));
        assert_eq!((progress.succeeded, progress.failed, progress.timed_out, progress.failures), (1, 1, 1, 2));
        assert!((progress.failure_ratio - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(
            progress.waves,
            vec![
                WaveProgress { wave: 0, devices: 2, succeeded: 1, failed: 0, timed_out: 1 },
                WaveProgress { wave: 1, devices: 2, succeeded: 0, failed: 1, timed_out: 0 },
            ]
        );
    }
}

//! The simulated fleet's make-up: which devices and edge nodes exist, what they are, where they
//! stand and how fast they age.

use super::physics::metric_declarations;
use optibid_domain::device::{DeviceKind, DeviceRegistration, Location, Protocol};
use optibid_domain::edge::{EdgeNodeKind, EdgeNodeRegistration, GpuSpec, Hardware};
use optibid_domain::ids::{DeviceId, EdgeNodeId, IdError};

/// Regions the simulated sites are spread over.
const REGIONS: [&str; 4] = ["eu-west", "eu-north", "eu-south", "us-east"];

/// Where each region's sites gather (latitude, longitude), in the order of [`REGIONS`].
const REGION_CENTRES: [(f64, f64); 4] = [(48.8, 2.3), (59.3, 18.1), (40.4, -3.7), (39.0, -77.5)];
/// Devices per site.
const DEVICES_PER_SITE: usize = 25;
/// Firmware the simulated devices start with.
pub const INITIAL_FIRMWARE: &str = "2.4.1";

/// One simulated device.
#[derive(Debug, Clone)]
pub struct DevicePlan {
    /// How it registers.
    pub registration: DeviceRegistration,
    /// How fast it degrades (1 = typical; the fleet's worst tenth ages ten times faster).
    pub aging: f64,
}

/// One simulated edge node.
#[derive(Debug, Clone)]
pub struct EdgePlan {
    /// How it registers.
    pub registration: EdgeNodeRegistration,
}

/// The whole simulated fleet.
#[derive(Debug, Clone)]
pub struct FleetPlan {
    /// Devices.
    pub devices: Vec<DevicePlan>,
    /// Edge nodes.
    pub edge_nodes: Vec<EdgePlan>,
}

impl FleetPlan {
    /// A fleet of `devices` devices (40% solar inverters, 15% wind turbines, 15% batteries,
    /// 30% smart meters) and `edge_nodes` edge nodes, with ids prefixed by `prefix`.
    pub fn new(prefix: &str, devices: usize, edge_nodes: usize) -> Result<Self, IdError> {
        let sites = devices.div_ceil(DEVICES_PER_SITE).max(1);
        let devices = (0..devices)
            .map(|i| {
                let (kind, short) = match i % 20 {
                    0..8 => (DeviceKind::SolarInverter, "solar"),
                    8..11 => (DeviceKind::WindTurbine, "wind"),
                    11..14 => (DeviceKind::BatteryStorage, "battery"),
                    _ => (DeviceKind::SmartMeter, "meter"),
                };
                let site = i / DEVICES_PER_SITE;
                let aging = if i % 10 == 9 { 10.0 } else { 1.0 };
                let mut tags = vec!["simulated".to_owned(), short.to_owned()];
                if aging > 1.0 {
                    tags.push("fast-aging".to_owned());
                }
                Ok(DevicePlan {
                    registration: DeviceRegistration {
                        location: Some(location(site, i)),
                        id: DeviceId::new(format!("{prefix}-{short}-{i:05}"))?,
                        name: format!("Simulated {short} {i}"),
                        kind,
                        protocol: Protocol::Mqtt,
                        site: format!("site-{site:03}"),
                        region: REGIONS[site % REGIONS.len()].to_owned(),
                        tags,
                        firmware_version: INITIAL_FIRMWARE.to_owned(),
                        metrics: metric_declarations(kind),
                    },
                    aging,
                })
            })
            .collect::<Result<_, IdError>>()?;
        let edge_nodes = (0..edge_nodes)
            .map(|i| {
                Ok(EdgePlan {
                    registration: EdgeNodeRegistration {
                        id: EdgeNodeId::new(format!("{prefix}-edge-{i:03}"))?,
                        name: format!("Simulated edge node {i}"),
                        kind: if i % 4 == 3 { EdgeNodeKind::FogNode } else { EdgeNodeKind::Gateway },
                        hardware: Hardware {
                            cores: if i % 4 == 3 { 16 } else { 4 },
                            memory_mb: if i % 4 == 3 { 32_768 } else { 8_192 },
                            gpu: (i % 4 == 3).then(|| GpuSpec { model: "jetson-orin".to_owned(), memory_mb: 8_192 }),
                            network: "lte".to_owned(),
                        },
                        site: format!("site-{:03}", i % sites),
                        region: REGIONS[i % REGIONS.len()].to_owned(),
                    },
                })
            })
            .collect::<Result<_, IdError>>()?;
        Ok(Self { devices, edge_nodes })
    }
}

/// A device's place: its site on a spiral around its region's centre (up to about 3° out), and
/// the device a few hundred metres from the site's centre.
fn location(site: usize, device: usize) -> Location {
    let (lat, lon) = REGION_CENTRES[site % REGION_CENTRES.len()];
    let turn = (site / REGION_CENTRES.len()) as f64 * 2.399_963;
    let reach = 0.4 * ((site / REGION_CENTRES.len()) as f64).sqrt().min(7.5);
    let jitter = |prime: usize| ((device * prime) % 1_000) as f64 / 1_000.0 - 0.5;
    Location {
        lat: (lat + reach * turn.sin() + 0.01 * jitter(7_919)).clamp(-90.0, 90.0),
        lon: (lon + reach * turn.cos() + 0.015 * jitter(104_729)).clamp(-180.0, 180.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_follows_the_shares() {
        let plan = FleetPlan::new("sim", 200, 20).expect("valid ids");
        let count = |kind| plan.devices.iter().filter(|d| d.registration.kind == kind).count();
        assert_eq!(count(DeviceKind::SolarInverter), 80);
        assert_eq!(count(DeviceKind::WindTurbine), 30);
        assert_eq!(count(DeviceKind::BatteryStorage), 30);
        assert_eq!(count(DeviceKind::SmartMeter), 60);
        assert_eq!(plan.devices.iter().filter(|d| d.aging > 1.0).count(), 20);
        assert_eq!(plan.edge_nodes.len(), 20);
        let mut ids: Vec<_> = plan.devices.iter().map(|d| d.registration.id.to_string()).collect();
        ids.dedup();
        assert_eq!(ids.len(), 200);
    }
}

//! Faults a simulated asset shows when `--faults` is on: a sudden spike of its main reading, a
//! stuck sensor that repeats one value, and a temperature sensor drifting away.

/// Chance per sample that a fault starts when none is active.
const FAULT_CHANCE: f64 = 0.002;

/// A fault in progress.
#[derive(Debug, Clone, PartialEq)]
enum Fault {
    /// The main reading repeats this value for `left` more samples.
    Stuck { value: f64, left: u32 },
    /// The temperature reading is off by `offset`, growing by `step` each sample, for `left` more.
    Drift { offset: f64, step: f64, left: u32 },
}

/// Starts faults at random and applies them to readings.
#[derive(Debug, Clone, Default)]
pub struct FaultInjector {
    active: Option<Fault>,
}

impl FaultInjector {
    /// Changes `values` (the first is the asset's main reading) according to the active fault,
    /// perhaps starting a new one.
    pub fn apply(&mut self, values: &mut [(&'static str, f64)], rng: &mut fastrand::Rng) {
        if self.active.is_none() && rng.f64() < FAULT_CHANCE {
            self.active = match rng.u8(0..3) {
                0 => {
                    if let Some((_, main)) = values.first_mut() {
                        *main = main.abs().max(100.0) * (3.0 + 2.0 * rng.f64());
                    }
                    None
                }
                1 => values.first().map(|(_, v)| Fault::Stuck { value: *v, left: rng.u32(60..180) }),
                _ => Some(Fault::Drift { offset: 0.0, step: 0.05 + 0.1 * rng.f64(), left: rng.u32(200..400) }),
            };
        }
        match &mut self.active {
            Some(Fault::Stuck { value, left }) => {
                if let Some((_, main)) = values.first_mut() {
                    *main = *value;
                }
                *left -= 1;
                if *left == 0 {
                    self.active = None;
                }
            }
            Some(Fault::Drift { offset, step, left }) => {
                *offset += *step;
                if let Some((_, temp)) = values.iter_mut().find(|(name, _)| name.contains("temp")) {
                    *temp += *offset;
                }
                *left -= 1;
                if *left == 0 {
                    self.active = None;
                }
            }
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_many_samples_every_kind_of_fault_shows() {
        let mut rng = fastrand::Rng::with_seed(11);
        let mut injector = FaultInjector::default();
        let (mut spikes, mut stuck, mut drift) = (0, 0, 0);
        for _ in 0..200_000 {
            let mut values = [("power_w", 1_000.0), ("temp_c", 40.0)];
            injector.apply(&mut values, &mut rng);
            if values[0].1 > 2_000.0 {
                spikes += 1;
            }
            if matches!(injector.active, Some(Fault::Stuck { .. })) {
                stuck += 1;
            }
            if values[1].1 > 40.0 {
                drift += 1;
            }
        }
        assert!(spikes > 10 && stuck > 1_000 && drift > 1_000, "spikes {spikes}, stuck {stuck}, drift {drift}");
    }
}

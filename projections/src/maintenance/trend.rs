//! Remaining life from a metric's trend toward its declared limit: an exponentially weighted
//! least-squares line through the metric's level over time, extrapolated to the bound it is
//! heading for. No training data is needed, so it serves every device that declares a normal
//! range; its confidence is the fit's weighted R², lowered while the history is short.

use serde::{Deserialize, Serialize};

/// Hours of history after which the confidence is no longer lowered for shortness.
const FULL_CONFIDENCE_SPAN_HOURS: f64 = 24.0;

/// An online weighted linear fit of value against time (hours).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrendTracker {
    origin_ms: Option<i64>,
    last_hours: f64,
    first_hours: f64,
    sw: f64,
    st: f64,
    sy: f64,
    stt: f64,
    sty: f64,
    syy: f64,
}

/// Where a metric is heading.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrendEstimate {
    /// The fitted level now.
    pub level: f64,
    /// Change per hour.
    pub slope_per_hour: f64,
    /// Hours until the fitted line leaves the normal range (0 when already outside; `None` when
    /// it is not heading out).
    pub hours_to_limit: Option<f64>,
    /// 0..1: the fit's weighted R², lowered while less than a day of history is known.
    pub confidence: f64,
}

impl TrendTracker {
    /// Adds the level `value` seen at `at_ms`; older points weigh `retain` times less per hour
    /// (0 < retain <= 1).
    pub fn observe(&mut self, at_ms: i64, value: f64, retain: f64) {
        let origin = *self.origin_ms.get_or_insert(at_ms);
        let hours = (at_ms - origin) as f64 / 3_600_000.0;
        if self.sw > 0.0 {
            let decay = retain.powf((hours - self.last_hours).max(0.0));
            for sum in [&mut self.sw, &mut self.st, &mut self.sy, &mut self.stt, &mut self.sty, &mut self.syy] {
                *sum *= decay;
            }
        } else {
            self.first_hours = hours;
        }
        self.last_hours = self.last_hours.max(hours);
        self.sw += 1.0;
        self.st += hours;
        self.sy += value;
        self.stt += hours * hours;
        self.sty += hours * value;
        self.syy += value * value;
    }

    /// The trend toward `[min, max]` as of the last observation; `None` until the fit is defined.
    pub fn estimate(&self, min: Option<f64>, max: Option<f64>) -> Option<TrendEstimate> {
        let denominator = self.sw * self.stt - self.st * self.st;
        if self.sw < 3.0 || denominator.abs() < 1e-12 {
            return None;
        }
        let slope = (self.sw * self.sty - self.st * self.sy) / denominator;
        let intercept = (self.sy - slope * self.st) / self.sw;
        let level = intercept + slope * self.last_hours;
        let mean = self.sy / self.sw;
        let total = self.syy - self.sw * mean * mean;
        let residual = (self.syy - intercept * self.sy - slope * self.sty).max(0.0);
        let r2 = if total > 1e-12 { (1.0 - residual / total).clamp(0.0, 1.0) } else { 0.0 };
        let span = (self.last_hours - self.first_hours).max(0.0);
        let hours_to_limit = match (min, max) {
            (Some(min), _) if level < min => Some(0.0),
            (_, Some(max)) if level > max => Some(0.0),
            (_, Some(max)) if slope > 0.0 => Some((max - level) / slope),
            (Some(min), _) if slope < 0.0 => Some((level - min) / -slope),
            _ => None,
        };
        Some(TrendEstimate {
            level,
            slope_per_hour: slope,
            hours_to_limit,
            confidence: r2 * (span / FULL_CONFIDENCE_SPAN_HOURS).min(1.0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    #[test]
    fn a_rising_metric_reaches_its_limit_when_the_line_says() {
        let mut trend = TrendTracker::default();
        for h in 0..48 {
            let noise = if h % 2 == 0 { 0.05 } else { -0.05 };
            trend.observe(h * HOUR, 40.0 + 0.5 * h as f64 + noise, 0.99);
        }
        let estimate = trend.estimate(Some(-20.0), Some(75.0)).expect("a fit");
        assert!((estimate.slope_per_hour - 0.5).abs() < 0.01, "{estimate:?}");
        assert!((estimate.hours_to_limit.expect("heading out") - (75.0 - 63.5) / 0.5).abs() < 1.0, "{estimate:?}");
        assert!(estimate.confidence > 0.95, "{estimate:?}");
    }

    #[test]
    fn a_flat_or_receding_metric_has_no_limit_in_sight() {
        let mut trend = TrendTracker::default();
        for h in 0..30 {
            trend.observe(h * HOUR, 50.0 - 0.1 * h as f64, 0.99);
        }
        let estimate = trend.estimate(None, Some(75.0)).expect("a fit");
        assert_eq!(estimate.hours_to_limit, None);
        let outside = trend.estimate(Some(60.0), Some(75.0)).expect("a fit");
        assert_eq!(outside.hours_to_limit, Some(0.0), "already below its minimum");
        assert!(TrendTracker::default().estimate(None, None).is_none());
    }

    #[test]
    fn a_short_history_is_not_trusted() {
        let mut trend = TrendTracker::default();
        for minute in 0..30 {
            trend.observe(minute * 60_000, 10.0 + minute as f64, 0.99);
        }
        let estimate = trend.estimate(None, Some(100.0)).expect("a fit");
        assert!(estimate.confidence < 0.05, "half an hour of a day: {estimate:?}");
    }
}

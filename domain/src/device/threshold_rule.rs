//! Threshold rules from configuration: per device kind (or every kind) and metric, a bound and
//! the severity of the alert a crossing raises.

use super::state::{AlertSeverity, DeviceKind};
use serde::{Deserialize, Serialize};

/// Longest rule name (it becomes part of alert ids).
const MAX_RULE_NAME_LEN: usize = 32;

/// One rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdRule {
    /// A short name, `[A-Za-z0-9_-]`, unique among the rules.
    pub name: String,
    /// The device kind it applies to; every kind when absent.
    #[serde(default)]
    pub kind: Option<DeviceKind>,
    /// The metric.
    pub metric: String,
    /// A value above this crosses the rule.
    #[serde(default)]
    pub above: Option<f64>,
    /// A value below this crosses the rule.
    #[serde(default)]
    pub below: Option<f64>,
    /// Severity of the alert.
    pub severity: AlertSeverity,
}

/// Why a rule is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThresholdRuleError {
    /// The name is empty, too long or has other characters than letters, digits, `_` and `-`.
    #[error("rule name {0:?} must be 1 to 32 letters, digits, '_' or '-'")]
    Name(String),
    /// Neither bound is given, or a bound is not finite.
    #[error("rule {0:?} needs a finite `above` or `below`")]
    Bounds(String),
}

impl ThresholdRule {
    /// Checks the name and the bounds.
    pub fn validate(&self) -> Result<(), ThresholdRuleError> {
        let valid_name = !self.name.is_empty()
            && self.name.len() <= MAX_RULE_NAME_LEN
            && self.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid_name {
            return Err(ThresholdRuleError::Name(self.name.clone()));
        }
        let bounds = [self.above, self.below];
        if bounds.iter().all(Option::is_none) || bounds.iter().flatten().any(|b| !b.is_finite()) {
            return Err(ThresholdRuleError::Bounds(self.name.clone()));
        }
        Ok(())
    }

    /// Whether the rule watches devices of `kind`.
    pub fn applies_to(&self, kind: DeviceKind) -> bool {
        self.kind.is_none_or(|k| k == kind)
    }

    /// The most extreme of `values` that crosses the rule.
    pub fn crossing(&self, values: [f64; 2]) -> Option<f64> {
        let above = self.above.and_then(|bound| values.into_iter().filter(|v| *v > bound).reduce(f64::max));
        let below = self.below.and_then(|bound| values.into_iter().filter(|v| *v < bound).reduce(f64::min));
        above.or(below)
    }

    /// The prefix of the ids of alerts this rule raises.
    pub fn alert_prefix(&self) -> String {
        format!("rule-{}-", self.name)
    }
}

//! The `--config FILE` of `optibid serve`: a TOML file for what does not fit on a command line:
//! the OPC UA servers to read and how their nodes map to device metrics, and threshold alert
//! rules per device kind and metric.
//!
//! ```toml
//! [[opcua]]
//! name = "plant-a"
//! url = "opc.tcp://10.0.0.5:4840/"
//! publishing_interval_ms = 500
//!
//! [[opcua.items]]
//! node_id = "ns=2;s=Inverter7.AcPower"
//! device = "inv-7"
//! metric = "power_w"
//!
//! [[alert_rules]]
//! name = "hot-inverter"
//! kind = "solar_inverter"
//! metric = "temp_c"
//! above = 70.0
//! severity = "critical"
//! ```

use crate::opcua::config::{OpcUaConfigError, OpcUaEndpointConfig, OpcUaEndpointFile};
use optibid_domain::device::ThresholdRule;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Why the configuration file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read the configuration file {path}: {error}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What failed.
        error: std::io::Error,
    },
    /// The file is not valid TOML of the expected shape.
    #[error("the configuration file {path} is invalid: {error}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        error: toml::de::Error,
    },
    /// An alert rule is wrong.
    #[error("the configuration file {path}: alert_rules: {error}")]
    AlertRule {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        error: String,
    },
    /// An OPC UA section is wrong.
    #[error("the configuration file {path}: {error}")]
    OpcUa {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        error: OpcUaConfigError,
    },
}

/// The file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    opcua: Vec<OpcUaEndpointFile>,
    #[serde(default)]
    alert_rules: Vec<ThresholdRule>,
}

/// The validated configuration.
#[derive(Debug, Clone, Default)]
pub struct PlatformConfig {
    /// OPC UA servers to subscribe to.
    pub opcua: Vec<OpcUaEndpointConfig>,
    /// Threshold rules checked on every telemetry batch (besides each device's declared ranges).
    pub alert_rules: Vec<ThresholdRule>,
}

impl PlatformConfig {
    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read { path: path.to_owned(), error })?;
        Self::parse(&text).map_err(|error| match error {
            ConfigParseError::Syntax(error) => ConfigError::Syntax { path: path.to_owned(), error },
            ConfigParseError::OpcUa(error) => ConfigError::OpcUa { path: path.to_owned(), error },
            ConfigParseError::AlertRule(error) => ConfigError::AlertRule { path: path.to_owned(), error },
        })
    }

    /// Parses and validates the text of a configuration file.
    pub fn parse(text: &str) -> Result<Self, ConfigParseError> {
        let file: ConfigFile = toml::from_str(text).map_err(ConfigParseError::Syntax)?;
        let mut opcua = Vec::with_capacity(file.opcua.len());
        for (index, endpoint) in file.opcua.into_iter().enumerate() {
            let endpoint = endpoint.validate(index).map_err(ConfigParseError::OpcUa)?;
            if opcua.iter().any(|e: &OpcUaEndpointConfig| e.name == endpoint.name) {
                return Err(ConfigParseError::OpcUa(OpcUaConfigError::DuplicateName(endpoint.name)));
            }
            opcua.push(endpoint);
        }
        let mut names = std::collections::BTreeSet::new();
        for rule in &file.alert_rules {
            rule.validate().map_err(|e| ConfigParseError::AlertRule(e.to_string()))?;
            if !names.insert(rule.name.as_str()) {
                return Err(ConfigParseError::AlertRule(format!("two rules are named {:?}", rule.name)));
            }
        }
        Ok(Self { opcua, alert_rules: file.alert_rules })
    }
}

/// Why the text of a configuration file is not a valid configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigParseError {
    /// Not TOML, or not the expected fields.
    #[error("{0}")]
    Syntax(toml::de::Error),
    /// An OPC UA endpoint is invalid.
    #[error("{0}")]
    OpcUa(OpcUaConfigError),
    /// An alert rule is invalid.
    #[error("{0}")]
    AlertRule(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<PlatformConfig, String> {
        PlatformConfig::parse(text).map_err(|error| error.to_string())
    }

    #[test]
    fn alert_rules_are_checked() {
        let rule = "[[alert_rules]]\nname = \"hot\"\nkind = \"solar_inverter\"\nmetric = \"temp_c\"\nabove = 70.0\nseverity = \"critical\"\n";
        assert_eq!(parse(rule).expect("valid").alert_rules.len(), 1);
        assert!(parse(&format!("{rule}{rule}")).expect_err("duplicate").contains("two rules"));
        assert!(parse(&rule.replace("above", "over")).is_err(), "unknown key");
        assert!(parse(&rule.replace("hot", "too hot")).expect_err("bad name").contains("too hot"));
    }

    #[test]
    fn an_empty_file_configures_nothing() {
        assert!(parse("").expect("valid").opcua.is_empty());
    }

    #[test]
    fn unknown_keys_are_named() {
        let error = parse("[[opcua]]\nname = \"a\"\nurl = \"opc.tcp://h:4840/\"\nspeed = 3\n").expect_err("invalid");
        assert!(error.contains("speed"), "{error}");
    }

    #[test]
    fn two_endpoints_may_not_share_a_name() {
        let endpoint = "[[opcua]]\nname = \"a\"\nurl = \"opc.tcp://h:4840/\"\n[[opcua.items]]\nnode_id = \"ns=2;s=x\"\ndevice = \"d\"\nmetric = \"m\"\n";
        let error = parse(&format!("{endpoint}{endpoint}")).expect_err("duplicate");
        assert!(error.contains("\"a\""), "{error}");
    }
}

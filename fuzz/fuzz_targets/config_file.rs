//! Any configuration file text: a validated configuration or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use optibid::config::PlatformConfig;

fuzz_target!(|text: &str| {
    if let Ok(config) = PlatformConfig::parse(text) {
        let mut names: Vec<&str> = config.opcua.iter().map(|endpoint| endpoint.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), config.opcua.len(), "endpoint names are unique");
    }
});

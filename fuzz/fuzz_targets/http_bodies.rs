//! Any request body of the HTTP API's commands: parsed into its type and checked by the domain's
//! rules, or refused with a 400; never a panic, never a server error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use optibid::gateway::command::parse_body;
use optibid::gateway::schemas::{
    CampaignActionBody, ConfigurationBody, CreateTokenBody, DeployBody, ReasonBody, SendCommandBody, StatusBody,
};
use optibid_domain::campaign::{CampaignCommand, CampaignDefinition, CampaignState, FleetCampaign};
use optibid_domain::device::{Device, DeviceCommand, DeviceRegistration, DeviceState};
use optibid_domain::{Aggregate, Timestamp};

fn refused_cleanly<T>(parsed: Result<T, optibid::gateway::error::ApiError>) -> Option<T> {
    match parsed {
        Ok(value) => Some(value),
        Err(error) => {
            assert_eq!(error.status.as_u16(), 400, "a bad body is the caller's fault: {error:?}");
            None
        }
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&selector, body)) = input.split_first() else { return };
    let at = Timestamp(1_796_400_000_000);
    match selector % 9 {
        0 => {
            if let Some(registration) = refused_cleanly(parse_body::<DeviceRegistration>(body)) {
                let _ = Device::decide(&DeviceState::default(), DeviceCommand::Register { registration, at });
            }
        }
        1 => {
            if let Some(definition) = refused_cleanly(parse_body::<CampaignDefinition>(body)) {
                let _ = FleetCampaign::decide(&CampaignState::default(), CampaignCommand::Create { definition, at });
            }
        }
        2 => drop(refused_cleanly(parse_body::<ConfigurationBody>(body))),
        3 => drop(refused_cleanly(parse_body::<StatusBody>(body))),
        4 => drop(refused_cleanly(parse_body::<SendCommandBody>(body))),
        5 => drop(refused_cleanly(parse_body::<ReasonBody>(body))),
        6 => drop(refused_cleanly(parse_body::<CampaignActionBody>(body))),
        7 => drop(refused_cleanly(parse_body::<DeployBody>(body))),
        _ => drop(refused_cleanly(parse_body::<CreateTokenBody>(body))),
    }
});

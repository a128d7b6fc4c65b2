//! Registering a simulated fleet: in-process for `demo`, over the HTTP API for `simulate`.
//! Either way every device and edge node ends up registered with a fresh MQTT secret.

use crate::actors::{CommandMetadata, ExecuteError, Platform};
use crate::mqtt::credentials::{device_login, edge_login, ClientCredentials};
use crate::simulator::fleet::FleetPlan;
use crate::simulator::Secrets;
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use optibid_domain::device::{DeviceCommand, DeviceError};
use optibid_domain::edge::{EdgeNodeCommand, EdgeNodeError};
use optibid_domain::Timestamp;
use serde_json::Value;

/// A progress bar with rate and ETA (hidden when standard error is not a terminal).
pub(super) fn progress(total: usize, what: &str) -> ProgressBar {
    ProgressBar::new(total as u64).with_style(
        ProgressStyle::with_template(&format!("{what} {{bar:40}} {{pos}}/{{len}} ({{per_sec}}, eta {{eta}})"))
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    )
}

/// Registers `plan` through the actors (instances already registered are kept) and issues a
/// secret for each.
pub async fn register_in_process(
    platform: &Platform,
    credentials: &ClientCredentials,
    plan: &FleetPlan,
) -> anyhow::Result<Secrets> {
    let bar = progress(plan.devices.len() + plan.edge_nodes.len(), "registering the fleet");
    let at = Timestamp(chrono::Utc::now().timestamp_millis());
    let metadata = || CommandMetadata { principal: "demo".to_owned(), ..CommandMetadata::default() };
    let mut secrets = Secrets::new();
    for device in &plan.devices {
        let id = device.registration.id.clone();
        let command = DeviceCommand::Register { registration: device.registration.clone(), at };
        match platform.devices.execute(id.as_str(), command, metadata()).await {
            Ok(_) | Err(ExecuteError::Rejected(DeviceError::AlreadyRegistered(_))) => {}
            Err(error) => return Err(error).with_context(|| format!("cannot register device {id}")),
        }
        let login = device_login(&id);
        secrets.insert(login.clone(), credentials.issue(&login).await?);
        bar.inc(1);
    }
    for node in &plan.edge_nodes {
        let id = node.registration.id.clone();
        let command = EdgeNodeCommand::Register { registration: node.registration.clone(), at };
        match platform.edge_nodes.execute(id.as_str(), command, metadata()).await {
            Ok(_) | Err(ExecuteError::Rejected(EdgeNodeError::AlreadyRegistered(_))) => {}
            Err(error) => return Err(error).with_context(|| format!("cannot register edge node {id}")),
        }
        let login = edge_login(&id);
        secrets.insert(login.clone(), credentials.issue(&login).await?);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(secrets)
}

/// Registers `plan` through the HTTP API at `api` with `token`; for instances that exist
/// already, a new secret is requested instead.
pub fn register_over_api(api: &str, token: &str, plan: &FleetPlan) -> anyhow::Result<Secrets> {
    let agent = ureq::AgentBuilder::new().timeout(std::time::Duration::from_secs(30)).build();
    let api = api.trim_end_matches('/');
    let bar = progress(plan.devices.len() + plan.edge_nodes.len(), "registering the fleet");
    let mut secrets = Secrets::new();
    let bodies = plan
        .devices
        .iter()
        .map(|d| ("devices", d.registration.id.to_string(), serde_json::to_value(&d.registration)))
        .chain(
            plan.edge_nodes
                .iter()
                .map(|n| ("edge-nodes", n.registration.id.to_string(), serde_json::to_value(&n.registration))),
        );
    for (collection, id, body) in bodies {
        let body = body?;
        let post = |path: &str, body: &Value| {
            agent
                .post(&format!("{api}/api/v1/{path}"))
                .set("Authorization", &format!("Bearer {token}"))
                .send_json(body)
                .map_err(Box::new)
        };
        let answer = match post(collection, &body) {
            Ok(response) => response.into_json::<Value>()?,
            Err(error) if matches!(*error, ureq::Error::Status(409, _)) => {
                post(&format!("{collection}/{id}/credentials"), &Value::Null)
                    .with_context(|| format!("cannot get a new secret for {id}"))?
                    .into_json::<Value>()?
            }
            Err(error) => match *error {
                ureq::Error::Status(status, response) => {
                    let text = response.into_string().unwrap_or_default();
                    anyhow::bail!("registering {id} failed with HTTP {status}: {text}");
                }
                other => return Err(other).with_context(|| format!("cannot reach the API at {api}")),
            },
        };
        let login = answer["mqtt_login"].as_str().context("the API answered without mqtt_login")?;
        let secret = answer["mqtt_secret"].as_str().context("the API answered without mqtt_secret")?;
        secrets.insert(login.to_owned(), secret.to_owned());
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(secrets)
}

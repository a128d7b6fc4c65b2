//! Device registrations over real HTTP: `POST /api/v1/devices` from concurrent clients against
//! the gateway on loopback. Each answer means the registration event and the device's MQTT
//! secret are both on disk.

use super::quantile;
use crate::actors::{DirectoryConfig, Platform};
use crate::gateway::auth::Role;
use crate::gateway::{self, AppState};
use crate::store::SledEventLog;
use serde_json::json;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct RegistrationLoad {
    /// Concurrent HTTP clients, one connection each.
    pub clients: usize,
    /// Registrations in all.
    pub devices: usize,
}

/// What was measured.
#[derive(Debug)]
pub struct RegistrationFigures {
    /// Registrations answered 201.
    pub registered: usize,
    /// Registrations per second.
    pub per_second: f64,
    /// Median time from request to answer.
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
}

/// Registers `load.devices` devices through the gateway on a fresh store in `folder`.
pub async fn measure(folder: &std::path::Path, load: RegistrationLoad) -> anyhow::Result<RegistrationFigures> {
    let log = Arc::new(SledEventLog::open(folder)?);
    let platform = Arc::new(Platform::start(log, DirectoryConfig::default()).await?);
    let state = Arc::new(AppState::start(platform.clone())?);
    let token = state.tokens.create("bench", Role::Admin).await?;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}/api/v1/devices", listener.local_addr()?);
    let server = gateway::server(listener, state)?;
    let handle = server.handle();
    let serving = tokio::spawn(server);
    let clients = load.clients.clamp(1, load.devices.max(1));
    let started = Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|client| {
            let (url, token) = (url.clone(), token.clone());
            let share = (client..load.devices).step_by(clients).collect::<Vec<_>>();
            tokio::task::spawn_blocking(move || register_share(&url, &token, &share))
        })
        .collect();
    let mut latencies = Vec::with_capacity(load.devices);
    for worker in workers {
        latencies.extend(worker.await??);
    }
    let elapsed = started.elapsed();
    handle.stop(true).await;
    let _ = serving.await;
    platform.shutdown().await;
    let registered = latencies.len();
    Ok(RegistrationFigures {
        registered,
        per_second: registered as f64 / elapsed.as_secs_f64(),
        p50: quantile(&mut latencies, 0.5),
        p99: quantile(&mut latencies, 0.99),
    })
}

/// Registers the devices numbered `share` over one connection; the latency of each.
fn register_share(url: &str, token: &str, share: &[usize]) -> anyhow::Result<Vec<Duration>> {
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(30)).max_idle_connections_per_host(1).build();
    let mut latencies = Vec::with_capacity(share.len());
    for n in share {
        let body = json!({
            "id": format!("reg-{n:07}"), "name": format!("Inverter {n}"), "kind": "solar_inverter",
            "protocol": "mqtt", "site": format!("site-{}", n % 100), "region": "eu-west", "tags": ["bench"],
            "firmware_version": "1.0.0",
            "metrics": [{ "name": "power_w", "unit": "W", "normal_min": 0.0, "normal_max": 6000.0 }]
        });
        let sent = Instant::now();
        let response = agent.post(url).set("Authorization", &format!("Bearer {token}")).send_json(body);
        match response {
            Ok(response) if response.status() == 201 => latencies.push(sent.elapsed()),
            Ok(response) => anyhow::bail!("registration {n} answered {}", response.status()),
            Err(error) => anyhow::bail!("registration {n}: {error}"),
        }
    }
    Ok(latencies)
}

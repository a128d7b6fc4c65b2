//! Per-client MQTT secrets. A secret is issued when a device or edge node is registered (or
//! rotated later), shown once, and stored only as its BLAKE3 hash. The embedded broker lets a
//! client connect only with a known login (a device id, or `edge:` and an edge node id) as user
//! name and that login's secret.

use crate::store::{Durability, SledEventLog, StoreError};
use optibid_domain::ids::{DeviceId, EdgeNodeId};

/// Name of the sled tree that holds device secret hashes.
const CREDENTIALS_TREE: &str = "device_credentials";

/// Prefix of every device secret, so a leaked one is easy to recognise.
const SECRET_PREFIX: &str = "dsk_";

/// The MQTT user name of a device: its id.
pub fn device_login(device: &DeviceId) -> String {
    device.as_str().to_owned()
}

/// The MQTT user name of an edge node: `edge:` and its id (`:` cannot occur in an id, so the two
/// kinds never collide).
pub fn edge_login(node: &EdgeNodeId) -> String {
    format!("edge:{node}")
}

/// The store of client secret hashes, keyed by login.
#[derive(Clone)]
pub struct ClientCredentials {
    tree: sled::Tree,
    durability: Durability,
}

impl ClientCredentials {
    /// Opens the store beside `log`.
    pub fn open(log: &SledEventLog) -> Result<Self, StoreError> {
        Ok(Self { tree: log.database().open_tree(CREDENTIALS_TREE)?, durability: log.durability() })
    }

    /// Issues a new secret for `login`, replacing any earlier one, and makes it durable.
    /// Returns the secret: it is not stored and cannot be shown again.
    pub async fn issue(&self, login: &str) -> Result<String, StoreError> {
        let secret = format!("{SECRET_PREFIX}{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
        self.tree.insert(login.as_bytes(), blake3::hash(secret.as_bytes()).as_bytes())?;
        self.durability.wait().await?;
        Ok(secret)
    }

    /// Whether `secret` is the current secret of `login`.
    pub fn verify(&self, login: &str, secret: &str) -> bool {
        match self.tree.get(login.as_bytes()) {
            Ok(Some(stored)) => blake3::Hash::from_slice(&stored).is_ok_and(|h| h == blake3::hash(secret.as_bytes())),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_the_latest_secret_of_the_right_device_verifies() {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = SledEventLog::open(dir.path()).expect("log opens");
        let credentials = ClientCredentials::open(&log).expect("tree opens");
        let device = DeviceId::new("inv-1").expect("valid id");
        let first = credentials.issue(&device_login(&device)).await.expect("issued");
        assert!(first.starts_with(SECRET_PREFIX));
        assert!(credentials.verify("inv-1", &first));
        assert!(!credentials.verify("inv-2", &first), "another device's name");
        assert!(!credentials.verify("inv-1", "dsk_guess"));
        let second = credentials.issue(&device_login(&device)).await.expect("rotated");
        assert!(!credentials.verify("inv-1", &first), "the old secret is revoked");
        assert!(credentials.verify("inv-1", &second));
        let node = EdgeNodeId::new("inv-1").expect("valid id");
        assert!(!credentials.verify(&edge_login(&node), &second), "an edge node of the same id is another login");
    }
}

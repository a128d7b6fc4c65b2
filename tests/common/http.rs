//! A small HTTP client of a running `optibid serve`.

use super::Server;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// A response: status, body and headers we look at.
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Body as JSON (a JSON string when the body is not JSON).
    pub body: Value,
    /// `ETag`.
    pub etag: Option<String>,
    /// Whether `Idempotent-Replayed` was set.
    pub replayed: bool,
    /// `Allow`.
    pub allow: Option<String>,
}

/// A client of one running server.
pub struct Api {
    /// The server.
    pub server: Server,
    /// The HTTP agent.
    pub agent: ureq::Agent,
}

impl Api {
    /// Starts a server on a fresh data folder.
    pub fn start() -> (tempfile::TempDir, Api) {
        Self::start_with(&[])
    }

    /// Starts a server on a fresh data folder with extra `serve` arguments.
    pub fn start_with(extra: &[&str]) -> (tempfile::TempDir, Api) {
        let dir = tempfile::tempdir().expect("temp dir");
        let server = Server::start(&dir.path().join("data"), extra);
        (dir, Api::over(server))
    }

    /// A client of `server`.
    pub fn over(server: Server) -> Api {
        let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(10)).build();
        Api { server, agent }
    }

    /// The admin token printed at first start.
    pub fn admin(&self) -> String {
        self.server.admin_token.clone().expect("first start prints an admin token")
    }

    /// Any request.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = self.agent.request(method, &self.server.url(path));
        if let Some(token) = token {
            request = request.set("Authorization", &format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.set(name, value);
        }
        let result = match body {
            Some(body) => request.send_string(&body.to_string()),
            None => request.call(),
        };
        let response = match result {
            Ok(response) => response,
            Err(ureq::Error::Status(_, response)) => response,
            Err(error) => panic!("{method} {path}: {error}"),
        };
        let status = response.status();
        let etag = response.header("etag").map(str::to_owned);
        let replayed = response.header("idempotent-replayed").is_some();
        let allow = response.header("allow").map(str::to_owned);
        let text = response.into_string().expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply { status, body, etag, replayed, allow }
    }

    /// `GET`.
    pub fn get(&self, path: &str, token: &str) -> Reply {
        self.call("GET", path, Some(token), None, &[])
    }

    /// `POST` with a JSON body.
    pub fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call("POST", path, Some(token), Some(body), &[])
    }

    /// A new token of `role`.
    pub fn token(&self, role: &str) -> String {
        let reply = self.post("/api/v1/tokens", &self.admin(), json!({ "name": role, "role": role }));
        assert_eq!(reply.status, 201, "{}", reply.body);
        reply.body["token"].as_str().expect("token").to_owned()
    }

    /// Polls `path` until `done` holds (read models follow the log asynchronously).
    pub fn eventually(&self, path: &str, token: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let reply = self.get(path, token);
            if reply.status == 200 && done(&reply.body) {
                return reply.body;
            }
            assert!(Instant::now() < deadline, "{path} never satisfied the condition: {}", reply.body);
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

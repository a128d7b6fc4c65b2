//! A real OPC UA server (async-opcua) in the test process, with variables the test changes.

use opcua::crypto::SecurityPolicy;
use opcua::server::address_space::Variable;
use opcua::server::diagnostics::NamespaceMetadata;
use opcua::server::node_manager::memory::{simple_node_manager, SimpleNodeManager};
use opcua::server::{ServerBuilder, ServerHandle, ServerUserToken, ANONYMOUS_USER_TOKEN_ID};
use opcua::types::{DataValue, DateTime, MessageSecurityMode, NodeId, StatusCode, Variant};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The namespace of the test variables.
const NAMESPACE: &str = "urn:optibid:test-plant";

/// The user token id of the certificate login.
const CERTIFICATE_USER: &str = "operator";

/// How a test server is secured.
#[derive(Debug, Default)]
pub struct PlantSecurity {
    /// Offer only a Basic256Sha256 SignAndEncrypt endpoint (with its own certificate, trusting
    /// any client certificate) instead of an unsecured one.
    pub encrypted: bool,
    /// Accept only the user holding this X.509 certificate instead of anonymous users.
    pub user_certificate: Option<PathBuf>,
}

/// A running OPC UA server.
pub struct PlantServer {
    handle: ServerHandle,
    nodes: Arc<SimpleNodeManager>,
    task: tokio::task::JoinHandle<Result<(), String>>,
    /// The namespace index of the variables.
    pub namespace: u16,
    /// `opc.tcp://127.0.0.1:PORT/`.
    pub url: String,
    /// The port it listens on.
    pub port: u16,
}

impl PlantServer {
    /// Starts a server on `port` (0: a port the system picks, then in [`PlantServer::port`]) with
    /// one variable per `(name, initial value)`, named `ns=N;s=NAME`.
    pub async fn start(port: u16, pki: &Path, variables: &[(&str, Variant)]) -> PlantServer {
        Self::start_with(port, pki, variables, PlantSecurity::default()).await
    }

    /// Like [`PlantServer::start`], secured as `security` says.
    pub async fn start_with(
        port: u16,
        pki: &Path,
        variables: &[(&str, Variant)],
        security: PlantSecurity,
    ) -> PlantServer {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("the OPC UA port is free");
        let port = listener.local_addr().expect("a bound address").port();
        let url = format!("opc.tcp://127.0.0.1:{port}/");
        let (policy, mode) = if security.encrypted {
            (SecurityPolicy::Basic256Sha256, MessageSecurityMode::SignAndEncrypt)
        } else {
            (SecurityPolicy::None, MessageSecurityMode::None)
        };
        let mut builder = ServerBuilder::new()
            .application_name("OptiBid test plant")
            .application_uri("urn:optibid:test-plant-server")
            .product_uri("urn:optibid:test-plant-server")
            .create_sample_keypair(security.encrypted || security.user_certificate.is_some())
            .trust_client_certs(security.encrypted)
            .pki_dir(pki)
            .host("127.0.0.1")
            .port(port)
            .discovery_urls(vec![url.clone()]);
        let users: &[&str] = match &security.user_certificate {
            Some(certificate) => {
                builder =
                    builder.add_user_token(CERTIFICATE_USER, ServerUserToken::x509(CERTIFICATE_USER, certificate));
                &[CERTIFICATE_USER]
            }
            None => &[ANONYMOUS_USER_TOKEN_ID],
        };
        let (server, handle) = builder
            .add_endpoint("plant", ("/", policy, mode, users))
            .with_node_manager(simple_node_manager(
                NamespaceMetadata { namespace_uri: NAMESPACE.to_owned(), ..Default::default() },
                "plant",
            ))
            .build()
            .expect("the OPC UA server configuration is valid");
        let nodes = handle.node_managers().get_of_type::<SimpleNodeManager>().expect("the plant node manager");
        let namespace = handle.get_namespace_index(NAMESPACE).expect("the plant namespace");
        {
            let mut space = nodes.address_space().write();
            let folder = NodeId::new(namespace, "plant");
            space.add_folder(&folder, "Plant", "Plant", &NodeId::objects_folder_id());
            let added = space.add_variables(
                variables
                    .iter()
                    .map(|(name, value)| Variable::new(&NodeId::new(namespace, *name), *name, *name, value.clone()))
                    .collect(),
                &folder,
            );
            assert!(added.iter().all(|ok| *ok), "every variable is added");
        }
        let task = tokio::spawn(server.run_with(listener));
        PlantServer { handle, nodes, task, namespace, url, port }
    }

    /// The node id of variable `name`, as configuration writes it.
    pub fn node(&self, name: &str) -> String {
        format!("ns={};s={name}", self.namespace)
    }

    /// Sets variable `name` to `value` with `status`, stamped now.
    pub fn set(&self, name: &str, value: impl Into<Variant>, status: StatusCode) {
        let now = DateTime::now();
        let data = DataValue {
            value: Some(value.into()),
            status: Some(status),
            source_timestamp: Some(now),
            server_timestamp: Some(now),
            ..DataValue::default()
        };
        self.nodes
            .set_value(self.handle.subscriptions(), &NodeId::new(self.namespace, name), None, data)
            .expect("the variable exists");
    }

    /// Stops the server and waits until its port is closed.
    pub async fn stop(self) {
        self.handle.cancel();
        let _ = self.task.await;
    }
}

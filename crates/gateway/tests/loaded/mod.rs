//! A gateway over sources whose adapters the test builds itself (real
//! adapters against loopback servers, or adapters watching the hooks the
//! gateway calls), on an ephemeral port.

#![allow(dead_code)]

use std::sync::Arc;

use icr_adapter_sdk::{SourceAdapter, SourceSpec};
use icr_config::{Config, GatewayConfig, LoadedSource, parse_toml};
use tokio::net::TcpListener;

use crate::common::{auth_config, demo_dir};

/// A registration read as the gateway reads `sources.d/{id}.toml`.
pub fn registration(text: &str) -> SourceSpec {
    parse_toml(text, std::path::Path::new("source.toml")).unwrap()
}

/// A configuration (demo policy and issuer, a fresh audit directory) with
/// these sources.
pub fn config(sources: Vec<(SourceSpec, Arc<dyn SourceAdapter>)>) -> Config {
    static RUN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let audit_dir = std::env::temp_dir().join(format!(
        "icr-gateway-loaded-{}-{}",
        std::process::id(),
        RUN.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&audit_dir);
    let mut gateway: GatewayConfig = parse_toml(
        "listen = \"127.0.0.1:0\"\nrequest_deadline_ms = 3000\n",
        std::path::Path::new("gateway.toml"),
    )
    .unwrap();
    gateway.audit.dir = audit_dir;
    let policy = std::fs::read_to_string(demo_dir().join("policy.toml")).unwrap();
    Config {
        dir: ".".into(),
        gateway,
        sources: sources
            .into_iter()
            .map(|(spec, adapter)| LoadedSource {
                file: format!("{}.toml", spec.id).into(),
                spec,
                adapter,
            })
            .collect(),
        verifier: Arc::new(icr_auth::Verifier::load(&auth_config(), &demo_dir()).unwrap()),
        policy: Arc::new(icr_policy::Policy::from_toml_str(&policy, "policy.toml").unwrap()),
        objections_file: None,
        objections: Arc::new(icr_policy::Objections::empty()),
        tls: None,
    }
}

/// Serves `config` on loopback; returns its base URL and the gateway.
pub async fn serve(config: &Config) -> (String, icr_gateway::Gateway) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let gw = icr_gateway::Gateway::new(config).unwrap();
    tokio::spawn(icr_gateway::serve(
        listener,
        gw.clone(),
        std::future::pending(),
    ));
    (format!("http://{addr}"), gw)
}

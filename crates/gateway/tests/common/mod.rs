//! Shared test helpers: scripted adapters, a gateway on an ephemeral port,
//! and the official FHIR R4 schema.

#![allow(dead_code, clippy::large_enum_variant)]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use icr_adapter_sdk::{FetchRequest, SourceAdapter, SourceError, SourceSpec};
use icr_config::{Config, GatewayConfig, LoadedSource, parse_toml};
use icr_gateway::Gateway;
use icr_model::*;
use tokio::net::TcpListener;

/// What a scripted source does.
#[derive(Clone)]
pub enum Script {
    /// Answers with this record after `delay`.
    Answer(SourceRecord, Duration),
    /// Fails with this error after `delay`.
    Fail(SourceError, Duration),
}

/// An adapter that follows a script and counts its calls.
pub struct Scripted {
    pub script: Script,
    pub calls: Arc<AtomicUsize>,
}

#[async_trait::async_trait]
impl SourceAdapter for Scripted {
    async fn fetch(&self, request: &FetchRequest) -> Result<SourceRecord, SourceError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let (delay, result) = match &self.script {
            Script::Answer(r, d) => (*d, Ok(r.clone())),
            Script::Fail(e, d) => (*d, Err(e.clone())),
        };
        tokio::time::sleep(delay).await;
        let mut result = result;
        if let Ok(r) = &mut result {
            r.items
                .retain(|i| request.sections.contains(i.entry.section()));
        }
        result
    }
}

pub fn spec(id: &str, sections: &str, timeout_ms: u64, ttl: u64) -> SourceSpec {
    let list: Vec<String> = sections.split(',').map(|s| format!("{s:?}")).collect();
    parse_toml(
        &format!(
            "id = \"{id}\"\norganisation = \"Organisation {id}\"\nods_code = \"RN3\"\nkind = \"scripted\"\nendpoint = \"http://127.0.0.1:1/\"\nsections = [{}]\ntimeout_ms = {timeout_ms}\ncache_ttl_s = {ttl}\n",
            list.join(",")
        ),
        Path::new("test.toml"),
    )
    .unwrap()
}

pub fn meta(id: &str) -> Arc<SourceMeta> {
    spec(id, "allergies", 1000, 0).meta()
}

/// A running test gateway.
pub struct Started {
    /// Its base URL.
    pub base: String,
    /// Each source's call counter.
    pub calls: Vec<Arc<AtomicUsize>>,
    /// Its audit log's directory.
    pub audit_dir: std::path::PathBuf,
    /// The gateway itself (to reload it, say).
    pub gateway: Gateway,
}

/// How a test gateway is set up beyond its sources.
#[derive(Default)]
pub struct Setup {
    /// The policy's text (default: the demo region's policy).
    pub policy: Option<String>,
    /// The objection register's file (default: none).
    pub objections_file: Option<std::path::PathBuf>,
    /// The audit log's file size limit (default: the log's own).
    pub audit_max_file_bytes: Option<u64>,
    /// Serve over TLS with this (default: plain HTTP).
    pub tls: Option<icr_tls::ServerTls>,
    /// The in-flight request limit (default: the gateway's own).
    pub max_in_flight: Option<u32>,
    /// The audit log's settings, its directory included (default: a fresh
    /// directory and the log's own defaults).
    pub audit: Option<icr_audit::AuditConfig>,
    /// The cache and memories' settings (default: the gateway's own).
    pub cache: Option<icr_config::CacheConfig>,
    /// The record-location index and its file as read (default: none).
    pub index: Option<(icr_config::IndexConfig, Option<icr_config::IndexFile>)>,
}

/// A running gateway over scripted sources; returns its base URL and the
/// call counters of each source.
pub async fn start(
    deadline_ms: u64,
    sources: Vec<(SourceSpec, Script)>,
) -> (String, Vec<Arc<AtomicUsize>>) {
    let s = start_with(deadline_ms, sources, Setup::default()).await;
    (s.base, s.calls)
}

/// As [`start`], with the policy and objections of `setup`.
pub async fn start_with(
    deadline_ms: u64,
    sources: Vec<(SourceSpec, Script)>,
    setup: Setup,
) -> Started {
    let mut counters = Vec::new();
    let loaded = sources
        .into_iter()
        .map(|(spec, script)| {
            let calls = Arc::new(AtomicUsize::new(0));
            counters.push(Arc::clone(&calls));
            LoadedSource {
                file: format!("{}.toml", spec.id).into(),
                spec,
                adapter: Arc::new(Scripted { script, calls }),
            }
        })
        .collect();
    let mut started = start_loaded(deadline_ms, loaded, setup).await;
    started.calls = counters;
    started
}

/// A running gateway over `loaded` sources (real adapters, or scripted
/// ones), set up by `setup`; its `calls` are empty.
pub async fn start_loaded(
    deadline_ms: u64,
    loaded: Vec<LoadedSource>,
    mut setup: Setup,
) -> Started {
    let tls = setup.tls.take();
    let (config, audit_dir) = loaded_config(deadline_ms, loaded, setup);
    let (base, gateway) = serve_config(&config, tls).await;
    Started {
        base,
        calls: Vec::new(),
        audit_dir,
        gateway,
    }
}

/// The configuration `start_loaded` serves (the demo issuer; the demo
/// policy unless `setup` says otherwise), and its audit directory.
pub fn loaded_config(
    deadline_ms: u64,
    loaded: Vec<LoadedSource>,
    setup: Setup,
) -> (Config, std::path::PathBuf) {
    static RUN: AtomicUsize = AtomicUsize::new(0);
    let audit_dir = std::env::temp_dir().join(format!(
        "icr-gateway-test-{}-{}",
        std::process::id(),
        RUN.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&audit_dir);
    let mut gateway: GatewayConfig = parse_toml(
        &format!("listen = \"127.0.0.1:0\"\nrequest_deadline_ms = {deadline_ms}\n"),
        Path::new("gateway.toml"),
    )
    .unwrap();
    gateway.audit.dir = audit_dir.clone();
    let audit_dir = match setup.audit {
        Some(audit) => {
            gateway.audit = audit;
            gateway.audit.dir.clone()
        }
        None => audit_dir,
    };
    if let Some(max) = setup.audit_max_file_bytes {
        gateway.audit.max_file_bytes = max;
    }
    if let Some(max) = setup.max_in_flight {
        gateway.max_in_flight = max;
    }
    if let Some(cache) = setup.cache.clone() {
        gateway.cache = cache;
    }
    let (index, index_file) = setup.index.clone().unzip();
    gateway.index = index;
    let policy_text = setup
        .policy
        .unwrap_or_else(|| std::fs::read_to_string(demo_dir().join("policy.toml")).unwrap());
    let objections = match &setup.objections_file {
        Some(f) => icr_config::load_objections(f).unwrap(),
        None => icr_policy::Objections::empty(),
    };
    let config = Config {
        dir: ".".into(),
        gateway,
        sources: loaded,
        verifier: Arc::new(icr_auth::Verifier::load(&auth_config(), &demo_dir()).unwrap()),
        policy: Arc::new(icr_policy::Policy::from_toml_str(&policy_text, "policy.toml").unwrap()),
        objections_file: setup.objections_file.clone(),
        objections: Arc::new(objections),
        tls: None,
        index_file: index_file.flatten().map(Arc::new),
    };
    (config, audit_dir)
}

/// Serves `config` on a loopback ephemeral port (over TLS with `tls`);
/// returns its base URL and the gateway.
pub async fn serve_config(config: &Config, tls: Option<icr_tls::ServerTls>) -> (String, Gateway) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let gw = Gateway::new(config).unwrap();
    let scheme = match tls {
        Some(tls) => {
            tokio::spawn(icr_gateway::serve_tls(
                listener,
                gw.clone(),
                icr_gateway::ConnectionLimits::default(),
                tls,
                std::future::pending(),
            ));
            "https"
        }
        None => {
            tokio::spawn(icr_gateway::serve(
                listener,
                gw.clone(),
                icr_gateway::ConnectionLimits::default(),
                std::future::pending(),
            ));
            "http"
        }
    };
    (format!("{scheme}://{addr}"), gw)
}

pub fn nhs() -> NhsNumber {
    NhsNumber::parse("9990000018").unwrap()
}

pub fn snomed(code: &str, display: &str) -> Concept {
    Concept::coded(Coding::new(CodeSystem::Snomed, code, display))
}

pub fn day(y: i32, m: u8, d: u8) -> PartialDateTime {
    PartialDateTime::Date(
        icr_model::time::Date::from_calendar_date(
            y,
            icr_model::time::Month::try_from(m).unwrap(),
            d,
        )
        .unwrap(),
    )
}

/// A record with demographics and the given items.
pub fn record(meta: &Arc<SourceMeta>, items: Vec<(&str, Entry)>) -> SourceRecord {
    SourceRecord {
        patient: Some(PatientRecord {
            demographics: Demographics {
                nhs_number: Some(nhs()),
                names: vec![HumanName {
                    given: vec!["Ada".into()],
                    family: Some("Example".into()),
                    ..Default::default()
                }],
                birth_date: Some(day(1950, 3, 2)),
                gender: Some(Gender::Female),
                ..Default::default()
            },
            provenance: meta.provenance("Patient/1", None).unwrap(),
        }),
        items: items
            .into_iter()
            .map(|(id, entry)| Item {
                entry,
                provenance: meta.provenance(id, None).unwrap(),
            })
            .collect(),
        issues: Vec::new(),
        wire_bytes: 1000,
    }
}

pub fn penicillin() -> Entry {
    Entry::Allergy(Allergy {
        code: snomed("91936005", "Allergy to penicillin"),
        clinical_status: Some(AllergyClinicalStatus::Active),
        recorded: Some(day(2019, 4, 2)),
        ..Default::default()
    })
}

/// The demo configuration directory (its demo issuer's keys sign the
/// tests' tokens).
pub fn demo_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/demo")
}

/// The demo issuer, trusted, with its signing key.
pub fn auth_config() -> icr_auth::AuthConfig {
    toml::from_str(
        r#"
[[issuer]]
iss = "https://login.icr-demo.example"
audience = "icr-gateway"
signing_key = "keys/demo-issuer.key.pem"
[[issuer.key]]
kid = "icr-demo-1"
alg = "ES256"
pem = "keys/demo-issuer.pub.pem"
"#,
    )
    .unwrap()
}

/// A valid token for `role` at `org`.
pub fn token(role: &str, org: &str) -> String {
    token_for(role, org, None)
}

/// A valid token for `role` at `org`, with a patient's own NHS number.
pub fn token_for(role: &str, org: &str, nhs_number: Option<&str>) -> String {
    let signer = icr_auth::Signer::load(&auth_config(), &demo_dir())
        .unwrap()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    signer
        .mint(
            &icr_auth::MintClaims {
                sub: "test-user".into(),
                name: "Test User".into(),
                role: role.into(),
                org: org.into(),
                purpose: "directcare".into(),
                nhs_number: nhs_number.map(str::to_owned),
            },
            now,
            600,
        )
        .unwrap()
}

/// GET with a clinician's token (R8000 at RN3).
pub async fn get(url: &str) -> (u16, reqwest::header::HeaderMap, serde_json::Value) {
    get_as(url, Some(&token("R8000", "RN3"))).await
}

/// GET with the given bearer token, or none.
pub async fn get_as(
    url: &str,
    token: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, serde_json::Value) {
    get_with(url, token, None).await
}

/// GET with a clinician's token, breaking glass with `reason`.
pub async fn get_breaking_glass(
    url: &str,
    reason: &str,
) -> (u16, reqwest::header::HeaderMap, serde_json::Value) {
    get_with(url, Some(&token("R8000", "RN3")), Some(reason)).await
}

/// A reason for breaking glass that meets the demo policy's rules.
pub const GLASS: &str = "Unconscious in the emergency department; no records to hand";

/// GET with a token (or none) and a break-glass reason (or none).
pub async fn get_with(
    url: &str,
    token: Option<&str>,
    break_glass: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, serde_json::Value) {
    let mut request = reqwest::Client::new().get(url);
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    if let Some(r) = break_glass {
        request = request.header("X-Break-Glass-Reason", r);
    }
    answer(request.send().await.unwrap()).await
}

/// A response's status, headers and body as JSON (`null` when not JSON).
pub async fn answer(r: reqwest::Response) -> (u16, reqwest::header::HeaderMap, serde_json::Value) {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body = r.bytes().await.unwrap();
    let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    (status, headers, json)
}

/// Validates `value` against the official FHIR R4 JSON schema.
pub fn assert_valid_fhir(value: &serde_json::Value) {
    icr_testkit::assert_fhir_r4(value);
}

/// Validates `value` against the documented JSON view schema.
pub fn assert_valid_view(value: &serde_json::Value) {
    static VALIDATOR: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    let v = VALIDATOR.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/record-view.schema.json");
        let schema: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        jsonschema::validator_for(&schema).unwrap()
    });
    let errors: Vec<String> = v
        .iter_errors(value)
        .take(10)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "view does not match docs/record-view.schema.json:\n{}",
        errors.join("\n")
    );
}

/// The accesses to `nhs`'s record in the audit log in `dir`, oldest first,
/// if every one's outcome is recorded; else those whose outcome is not.
fn outcomes(
    dir: &Path,
    nhs: &NhsNumber,
    max: usize,
) -> Result<Vec<icr_audit::AuditRecord>, Vec<icr_audit::LoggedAccess>> {
    let files = icr_audit::log_files(dir).unwrap();
    let read = icr_audit::read_for_patient(&files, nhs, max).unwrap();
    let (whole, pending): (Vec<_>, Vec<_>) =
        read.records.into_iter().partition(|a| a.record().is_some());
    if !pending.is_empty() {
        return Err(pending);
    }
    Ok(whole
        .into_iter()
        .filter_map(|a| a.record().cloned())
        .collect())
}

/// The accesses to `nhs`'s record in the audit log in `dir`, oldest first,
/// once every one's outcome is recorded. A release's completion is queued
/// before the answer leaves but synced with the next group commit (and an
/// abandoned request's is queued by the gateway, on this runtime), so a
/// test reading the log just after an answer waits for it, yielding (at
/// most 10 s, then it fails naming what is missing).
pub async fn audited(dir: &Path, nhs: &NhsNumber, max: usize) -> Vec<icr_audit::AuditRecord> {
    let started = std::time::Instant::now();
    loop {
        match outcomes(dir, nhs, max) {
            Ok(records) => return records,
            Err(pending) => assert!(
                started.elapsed() < Duration::from_secs(10),
                "outcomes never recorded: {pending:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A privacy officer's role and organisation in the demo policy.
pub const OFFICER: (&str, &str) = ("R0001", "X26");

/// A privacy officer's token.
pub fn officer() -> String {
    token(OFFICER.0, OFFICER.1)
}

/// One source, `gwh`, that answers at once with one allergy.
pub fn allergy_source() -> Vec<(icr_adapter_sdk::SourceSpec, Script)> {
    let m = meta("gwh");
    vec![(
        spec("gwh", "allergies", 1000, 0),
        Script::Answer(
            record(&m, vec![("AllergyIntolerance/1", penicillin())]),
            Duration::ZERO,
        ),
    )]
}

/// The source records an access lists as shown, as `source:id`, all of
/// them listed (none `omitted`).
pub fn listed_shown(r: &icr_audit::AuditRecord) -> std::collections::BTreeSet<String> {
    assert_eq!(r.shown.omitted(), 0);
    r.shown
        .sources()
        .iter()
        .flat_map(|s| s.ids().map(move |id| format!("{}:{id}", s.source())))
        .collect()
}

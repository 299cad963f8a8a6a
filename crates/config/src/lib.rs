//! Configuration: the gateway's `gateway.toml` and one file per source in
//! `sources.d/`, read and checked as a whole before anything starts.
//!
//! Every problem is reported with its file, its key and what is wrong, and
//! all of them are reported at once; a configuration with any problem is
//! refused entirely, so the gateway never starts half-configured.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use icr_adapter_sdk::{Registry, Routing, SourceAdapter, SourceSpec};
use icr_model::{OdsCode, SourceId};
use serde::Deserialize;

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_deadline_ms() -> u64 {
    5_000
}
fn default_sources_dir() -> PathBuf {
    PathBuf::from("sources.d")
}
fn default_max_in_flight() -> u32 {
    512
}
fn default_cache_bytes() -> u64 {
    256 * 1024 * 1024
}
fn default_true() -> bool {
    true
}
fn default_practice_ttl_s() -> u64 {
    86_400
}
fn default_max_remembered() -> u64 {
    100_000
}
fn default_index_timeout_ms() -> u64 {
    250
}
fn default_index_max_body_bytes() -> usize {
    64 * 1024
}

/// `gateway.toml`: how the gateway serves.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    /// Address to listen on.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// The longest any request may take, in milliseconds; sources still
    /// pending then are reported as `timeout` and the rest is served.
    #[serde(default = "default_deadline_ms")]
    pub request_deadline_ms: u64,
    /// Directory of source files, relative to the config directory.
    #[serde(default = "default_sources_dir")]
    pub sources_dir: PathBuf,
    /// Record requests being served at once, at most; past it a request is
    /// answered `503` with `Retry-After` at once instead of queueing.
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: u32,
    /// The in-memory cache of source answers, and what the gateway
    /// remembers of where a person's records are.
    #[serde(default)]
    pub cache: CacheConfig,
    /// The record-location index (`[index]`): which organisations hold
    /// records for whom. None: every source is asked.
    #[serde(default)]
    pub index: Option<IndexConfig>,
    /// Who runs this gateway, as sources are told.
    #[serde(default)]
    pub identity: IdentityConfig,
    /// The identity providers whose tokens are trusted (`[[auth.issuer]]`).
    #[serde(default)]
    pub auth: icr_auth::AuthConfig,
    /// Who may see what: the policy and the objection register.
    #[serde(default)]
    pub access: AccessConfig,
    /// The audit log (`[audit]`; `dir` and `anchor_file` relative to the
    /// config directory).
    #[serde(default)]
    pub audit: icr_audit::AuditConfig,
    /// The audit store the replicas share (`[audit_store]`): this
    /// replica's log is fed into it in the background. None: the file log
    /// is the whole truth (one replica).
    #[serde(default)]
    pub audit_store: Option<icr_audit_store::StoreConfig>,
    /// TLS on the listener, and calling systems' client certificates
    /// (`[tls]`; paths relative to the config directory). None: plain HTTP,
    /// for a loopback demo or behind a TLS-terminating proxy.
    #[serde(default)]
    pub tls: Option<icr_tls::TlsConfig>,
    /// Limits on the connections callers open (`[connections]`).
    #[serde(default)]
    pub connections: ConnectionsConfig,
    /// The browser viewer at `/` and below, and the OpenID provider it
    /// signs people in with (`[viewer]`). None: no viewer.
    #[serde(default)]
    pub viewer: Option<icr_sign_in::ViewerConfig>,
    /// Population-health extracts operators may start through
    /// `/v1/extracts` (`[[extract]]`), by name. Read at start.
    #[serde(default, rename = "extract")]
    pub extracts: Vec<ExtractJob>,
}

/// `[[extract]]` in `gateway.toml`: one population-health extract that
/// operators may run on this gateway (docs/extract.md). Paths are relative
/// to the configuration directory (the loader makes them absolute).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExtractJob {
    /// Its name in `POST /v1/extracts {"extract": NAME}`: 1 to 32
    /// lower-case letters, digits or hyphens.
    pub name: String,
    /// The extract's specification (extract.toml).
    pub spec: PathBuf,
    /// Whom it reads: a file of NHS numbers, or `registered:DIR` for the
    /// practices' registered lists in DIR.
    pub cohort: String,
    /// Where runs write: each run in its own directory below, named by its
    /// run id.
    pub out: PathBuf,
}

/// `[connections]` in `gateway.toml`: how long a connection may take to
/// send a request or sit idle, how many may be open, and how much the
/// answers that callers do not read may hold. Read at start.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ConnectionsConfig {
    /// A connection that has not sent a whole request this long after it
    /// was accepted (TLS handshake included) is closed, in milliseconds.
    #[serde(default = "default_request_timeout_ms")]
    pub request_timeout_ms: u64,
    /// A connection with no request in progress for this long after its
    /// last answer is closed, in milliseconds.
    #[serde(default = "default_idle_timeout_ms")]
    pub idle_timeout_ms: u64,
    /// An answer whose sending makes no progress for this long (the caller
    /// reads nothing) is abandoned: its HTTP/2 stream reset, or its
    /// HTTP/1.1 connection closed; in milliseconds.
    #[serde(default = "default_stall_timeout_ms")]
    pub stall_timeout_ms: u64,
    /// Connections open at once, at most. None: derived from the process's
    /// open-file limit at start (80 % of it less 64, at most 16384).
    #[serde(default)]
    pub max_open: Option<u32>,
    /// HTTP/2 streams one connection may have open at once.
    #[serde(default = "default_h2_max_streams")]
    pub h2_max_streams: u32,
    /// Bytes of answers not yet written to their callers, across all
    /// connections; past it, requests on connections already holding
    /// unwritten answers are refused `503` at once.
    #[serde(default = "default_max_unsent_bytes")]
    pub max_unsent_bytes: u64,
    /// Bytes of answers not yet written that one connection may hold
    /// (its first answer is always served, whatever its size).
    #[serde(default = "default_max_unsent_bytes_per_connection")]
    pub max_unsent_bytes_per_connection: u64,
}

impl Default for ConnectionsConfig {
    fn default() -> Self {
        Self {
            request_timeout_ms: default_request_timeout_ms(),
            idle_timeout_ms: default_idle_timeout_ms(),
            stall_timeout_ms: default_stall_timeout_ms(),
            max_open: None,
            h2_max_streams: default_h2_max_streams(),
            max_unsent_bytes: default_max_unsent_bytes(),
            max_unsent_bytes_per_connection: default_max_unsent_bytes_per_connection(),
        }
    }
}

fn default_request_timeout_ms() -> u64 {
    10_000
}
fn default_idle_timeout_ms() -> u64 {
    75_000
}
fn default_stall_timeout_ms() -> u64 {
    15_000
}
fn default_h2_max_streams() -> u32 {
    32
}
fn default_max_unsent_bytes() -> u64 {
    32 * 1024 * 1024
}
fn default_max_unsent_bytes_per_connection() -> u64 {
    8 * 1024 * 1024
}

/// `[access]` in `gateway.toml`: where the access policy and the objection
/// register are, relative to the config directory.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessConfig {
    /// The access policy (roles, relationships, break-glass, sensitive
    /// lists); see `docs/policy.md`.
    #[serde(default = "default_policy_file")]
    pub policy: PathBuf,
    /// The patient objection register, re-read whenever it changes; none
    /// means no one has objected.
    #[serde(default)]
    pub objections: Option<PathBuf>,
    /// Job roles that may run the gateway's operator actions (purging a
    /// person from the cache); default R8015, Systems Support Access Role.
    #[serde(default = "default_operator_roles")]
    pub operator_roles: Vec<String>,
}

impl Default for AccessConfig {
    fn default() -> Self {
        Self {
            policy: default_policy_file(),
            objections: None,
            operator_roles: default_operator_roles(),
        }
    }
}

fn default_operator_roles() -> Vec<String> {
    vec!["R8015".into()]
}

fn default_policy_file() -> PathBuf {
    PathBuf::from("policy.toml")
}

/// `[identity]` in `gateway.toml`: the organisation that runs the gateway.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityConfig {
    /// Its ODS code, sent to sources as the requesting organisation until
    /// callers are authenticated (default `X26`, NHS England).
    #[serde(default = "default_identity_ods")]
    pub ods_code: OdsCode,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            ods_code: default_identity_ods(),
        }
    }
}

fn default_identity_ods() -> OdsCode {
    OdsCode::parse("X26").expect("X26 is a valid ODS code")
}

/// `[cache]` in `gateway.toml`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CacheConfig {
    /// Whether source answers are cached at all.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// The most memory cached answers may take, in bytes (estimated from
    /// the size of what sources sent).
    #[serde(default = "default_cache_bytes")]
    pub max_bytes: u64,
    /// How long a source's answer that it holds no record for a person is
    /// remembered, in seconds: within it the source is not asked for that
    /// person again and is reported `skipped`, saying why. 0 (the
    /// default) turns it off: a record created meanwhile would be hidden
    /// until then, a hazard each deployment weighs (docs/safety).
    #[serde(default)]
    pub not_found_ttl_s: u64,
    /// How long the registered practice the demographics service names
    /// for a person is remembered, in seconds, so that the practice is
    /// asked at once with the demographics service (default one day;
    /// 0 turns it off). The demographics service still confirms it on
    /// every request.
    #[serde(default = "default_practice_ttl_s")]
    pub practice_ttl_s: u64,
    /// The most entries each of those memories holds (per source and
    /// person; per person), the least recently used forgotten first.
    #[serde(default = "default_max_remembered")]
    pub max_remembered: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            max_bytes: default_cache_bytes(),
            not_found_ttl_s: 0,
            practice_ttl_s: default_practice_ttl_s(),
            max_remembered: default_max_remembered(),
        }
    }
}

/// `[index]` in `gateway.toml`: the record-location index, a file or an
/// HTTP lookup (exactly one). Sources registered with `located = true` are
/// skipped for a person the index knows and does not name them for.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct IndexConfig {
    /// A TOML file, relative to the config directory, with a `[holders]`
    /// table: each NHS number → the ODS codes holding records for that
    /// person. Re-read with the configuration.
    #[serde(default)]
    pub file: Option<PathBuf>,
    /// An HTTP lookup: `{nhs}` in the URL is replaced with the NHS number;
    /// it answers `{"holders": ["RX1", …]}` (any other answer means the
    /// person's holders are unknown, and everyone is asked).
    #[serde(default)]
    pub url: Option<String>,
    /// The longest the HTTP lookup may take, in milliseconds.
    #[serde(default = "default_index_timeout_ms")]
    pub timeout_ms: u64,
    /// The most bytes the HTTP lookup's answer may have.
    #[serde(default = "default_index_max_body_bytes")]
    pub max_body_bytes: usize,
}

/// The record-location index file as read: NHS number → the ODS codes of
/// the organisations holding records for that person.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IndexFile {
    /// Who holds records for whom.
    pub holders: HashMap<icr_model::NhsNumber, Vec<OdsCode>>,
}

/// Reads the record-location index file; errors name the file and the
/// entry (by its position, never the NHS number).
pub fn load_index_file(path: &Path) -> Result<IndexFile, ConfigErrors> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Raw {
        #[serde(default)]
        holders: toml::Table,
    }
    let raw: Raw = read_toml(path).map_err(|e| ConfigErrors(vec![e]))?;
    let mut errors = Vec::new();
    let mut holders = HashMap::with_capacity(raw.holders.len());
    for (n, (nhs, codes)) in raw.holders.into_iter().enumerate() {
        let key = format!("holders (entry {})", n + 1);
        let Ok(nhs) = icr_model::NhsNumber::parse(&nhs) else {
            errors.push(error(path, Some(&key), "is not a valid NHS number"));
            continue;
        };
        match codes.try_into::<Vec<OdsCode>>() {
            Ok(codes) => {
                holders.insert(nhs, codes);
            }
            Err(e) => errors.push(error(
                path,
                Some(&key),
                &format!("must be a list of ODS codes: {e}"),
            )),
        }
    }
    if errors.is_empty() {
        Ok(IndexFile { holders })
    } else {
        Err(ConfigErrors(errors))
    }
}

/// One source, checked and built.
#[derive(Clone)]
pub struct LoadedSource {
    /// The file it came from.
    pub file: PathBuf,
    /// Its registration.
    pub spec: SourceSpec,
    /// Its adapter, ready to use.
    pub adapter: Arc<dyn SourceAdapter>,
}

impl fmt::Debug for LoadedSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedSource")
            .field("file", &self.file)
            .field("id", &self.spec.id)
            .field("kind", &self.spec.kind)
            .finish()
    }
}

/// A whole, valid configuration.
#[derive(Clone)]
pub struct Config {
    /// The directory it was read from.
    pub dir: PathBuf,
    /// `gateway.toml`.
    pub gateway: GatewayConfig,
    /// Every enabled source, in file-name order.
    pub sources: Vec<LoadedSource>,
    /// The token verifier built from `[auth]`, its keys loaded.
    pub verifier: Arc<icr_auth::Verifier>,
    /// The access policy.
    pub policy: Arc<icr_policy::Policy>,
    /// The objection register's file, when one is configured (the gateway
    /// re-reads it when it changes).
    pub objections_file: Option<PathBuf>,
    /// The objection register as read now.
    pub objections: Arc<icr_policy::Objections>,
    /// The listener's TLS, certificates loaded, when `[tls]` is configured.
    pub tls: Option<icr_tls::ServerTls>,
    /// The record-location index file as read, when `[index] file` is set.
    pub index_file: Option<Arc<IndexFile>>,
}

/// Reads and parses the objection register at `path`; errors name the file,
/// line and key, never an NHS number.
pub fn load_objections(path: &Path) -> Result<icr_policy::Objections, ConfigErrors> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigErrors(vec![error(path, None, &format!("cannot read: {e}"))]))?;
    icr_policy::Objections::from_toml_str(&text, &path.display().to_string())
        .map_err(|e| policy_errors(path, e))
}

fn policy_errors(path: &Path, e: icr_policy::ConfigErrors) -> ConfigErrors {
    ConfigErrors(
        e.0.into_iter()
            .map(|p| ConfigError {
                file: path.to_path_buf(),
                line: p.line,
                key: p.key,
                message: p.message,
            })
            .collect(),
    )
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("dir", &self.dir)
            .field("gateway", &self.gateway)
            .field("sources", &self.sources)
            .finish_non_exhaustive()
    }
}

/// `[viewer]`: its values, and its provider trusted as an issuer whose
/// audience is the viewer's client id (its ID tokens are the pages'
/// credentials); the demo's provider signs with that issuer's key.
fn check_viewer(
    file: &Path,
    v: &icr_sign_in::ViewerConfig,
    auth: &icr_auth::AuthConfig,
    errors: &mut Vec<ConfigError>,
) {
    for (key, message) in v.problems() {
        errors.push(error(file, Some(key), &message));
    }
    let trusted = auth
        .issuer
        .iter()
        .find(|i| i.iss == v.oidc.issuer && i.audience == v.oidc.client_id);
    match trusted {
        None => errors.push(error(
            file,
            Some("viewer.oidc.issuer"),
            "must also be an [[auth.issuer]] whose audience is viewer.oidc.client_id: its ID tokens are the credential of every page",
        )),
        Some(i) if v.oidc.demo && i.signing_key.is_none() => errors.push(error(
            file,
            Some("viewer.oidc.demo"),
            "the demo's identity provider signs with its issuer's signing_key, and that [[auth.issuer]] has none",
        )),
        Some(_) => {}
    }
}

/// One problem in the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The file with the problem.
    pub file: PathBuf,
    /// Line number, when known.
    pub line: Option<usize>,
    /// The key, as written in the file (`sections[2]`, `options.page_size`).
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": {key}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in a configuration.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        writeln!(
            f,
            "the configuration has {n} problem{}:",
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.0 {
            writeln!(f, "  {e}")?;
        }
        Ok(())
    }
}

impl GatewayConfig {
    /// The keys that differ between this configuration (the running one)
    /// and `new` and that only a restart can apply: the listen address, the
    /// sources directory, the audit log's and the listener's connection
    /// settings, and turning TLS on or off (its certificates and client
    /// settings reload live).
    pub fn restart_only_changes(&self, new: &GatewayConfig) -> Vec<&'static str> {
        let mut keys = Vec::new();
        if self.listen != new.listen {
            keys.push("listen");
        }
        if self.sources_dir != new.sources_dir {
            keys.push("sources_dir");
        }
        if self.audit != new.audit {
            keys.push("[audit]");
        }
        if self.audit_store != new.audit_store {
            keys.push("[audit_store]");
        }
        if self.viewer != new.viewer {
            keys.push("[viewer]");
        }
        if self.extracts != new.extracts {
            keys.push("[[extract]]");
        }
        if self.connections != new.connections {
            keys.push("[connections]");
        }
        if self.tls.is_some() != new.tls.is_some() {
            keys.push("[tls] (turning TLS on or off)");
        }
        keys
    }

    /// The parts that differ between this configuration and `new` and
    /// apply without a restart, by name (`[auth]`, `[access]`, …).
    pub fn live_changes(&self, new: &GatewayConfig) -> Vec<&'static str> {
        // Compared as written out: every part is plain data.
        let differs = |a: &dyn fmt::Debug, b: &dyn fmt::Debug| format!("{a:?}") != format!("{b:?}");
        let mut parts = Vec::new();
        if self.request_deadline_ms != new.request_deadline_ms {
            parts.push("request_deadline_ms");
        }
        if self.max_in_flight != new.max_in_flight {
            parts.push("max_in_flight");
        }
        if differs(&self.cache, &new.cache) {
            parts.push("[cache]");
        }
        if self.index != new.index {
            parts.push("[index]");
        }
        if differs(&self.identity, &new.identity) {
            parts.push("[identity]");
        }
        if differs(&self.auth, &new.auth) {
            parts.push("[auth]");
        }
        if differs(&self.access, &new.access) {
            parts.push("[access]");
        }
        if self.tls != new.tls {
            parts.push("[tls]");
        }
        parts
    }
}

impl Config {
    /// Every file this configuration was read from — gateway.toml, the
    /// source files and practice directories, the policy, the issuers' keys,
    /// the listener's certificates — so that a change to any of them can be
    /// noticed. The objection register is not among them: it is re-read by
    /// itself whenever it changes.
    pub fn files(&self) -> Vec<PathBuf> {
        let mut files = vec![self.dir.join("gateway.toml")];
        files.extend(self.sources.iter().map(|s| s.file.clone()));
        files.extend(
            self.sources
                .iter()
                .filter_map(|s| s.spec.directory.as_ref())
                .map(|d| self.dir.join(d)),
        );
        files.push(self.dir.join(&self.gateway.access.policy));
        if let Some(file) = self.gateway.index.as_ref().and_then(|i| i.file.as_ref()) {
            files.push(self.dir.join(file));
        }
        for issuer in &self.gateway.auth.issuer {
            files.extend(issuer.key.iter().map(|k| self.dir.join(&k.pem)));
            files.extend(issuer.jwks.iter().map(|j| self.dir.join(j)));
        }
        if let Some(tls) = &self.gateway.tls {
            files.push(self.dir.join(&tls.cert));
            files.push(self.dir.join(&tls.key));
            files.extend(tls.client_ca.iter().map(|c| self.dir.join(c)));
        }
        files.sort();
        files.dedup();
        files
    }

    /// Reads `dir/gateway.toml` and every `*.toml` in its sources directory,
    /// checks them, and builds every enabled source's adapter with `registry`.
    pub fn load(dir: &Path, registry: &Registry) -> Result<Config, ConfigErrors> {
        Self::load_with(dir, registry, |_| {})
    }

    /// As [`Config::load`], with `edit` applied to each source's
    /// registration before it is checked and built (the demo uses it to
    /// point sources at simulators on ephemeral ports).
    pub fn load_with(
        dir: &Path,
        registry: &Registry,
        edit: impl Fn(&mut SourceSpec),
    ) -> Result<Config, ConfigErrors> {
        let mut errors = Vec::new();
        let gateway_file = dir.join("gateway.toml");
        let mut verifier = None;
        let mut policy = None;
        let mut objections = None;
        let mut tls = None;
        let mut index_file = None;
        let gateway = match read_gateway(&gateway_file, std::env::vars()) {
            Ok(mut g) => {
                check_gateway(&gateway_file, &g, &mut errors);
                match icr_auth::Verifier::load(&g.auth, dir) {
                    Ok(v) => verifier = Some(Arc::new(v)),
                    Err(e) => errors.push(error(&gateway_file, Some(&e.key), &e.message)),
                }
                let policy_file = dir.join(&g.access.policy);
                match std::fs::read_to_string(&policy_file) {
                    Ok(text) => match icr_policy::Policy::from_toml_str(
                        &text,
                        &policy_file.display().to_string(),
                    ) {
                        Ok(p) => policy = Some(Arc::new(p)),
                        Err(e) => errors.extend(policy_errors(&policy_file, e).0),
                    },
                    Err(e) => errors.push(error(
                        &gateway_file,
                        Some("access.policy"),
                        &format!("cannot read {}: {e}", policy_file.display()),
                    )),
                }
                match &g.access.objections {
                    None => objections = Some(Arc::new(icr_policy::Objections::empty())),
                    Some(file) => match load_objections(&dir.join(file)) {
                        Ok(o) => objections = Some(Arc::new(o)),
                        Err(e) => errors.extend(e.0),
                    },
                }
                if let Some(t) = &g.tls {
                    match icr_tls::ServerTls::load(t, dir) {
                        Ok(loaded) => tls = Some(loaded),
                        Err(e) => errors.push(error(&gateway_file, Some(&e.key), &e.message)),
                    }
                }
                if let Some(file) = g.index.as_ref().and_then(|i| i.file.as_ref()) {
                    match load_index_file(&dir.join(file)) {
                        Ok(f) => index_file = Some(Arc::new(f)),
                        Err(e) => errors.extend(e.0),
                    }
                }
                if g.audit.dir.is_relative() {
                    g.audit.dir = dir.join(&g.audit.dir);
                }
                for x in &mut g.extracts {
                    for p in [&mut x.spec, &mut x.out] {
                        if p.is_relative() {
                            *p = dir.join(&*p);
                        }
                    }
                    match x.cohort.strip_prefix("registered:") {
                        Some(d) if Path::new(d).is_relative() => {
                            x.cohort = format!("registered:{}", dir.join(d).display());
                        }
                        None if Path::new(&x.cohort).is_relative() => {
                            x.cohort = dir.join(&x.cohort).display().to_string();
                        }
                        _ => {}
                    }
                }
                if let Some(f) = &mut g.audit.anchor_file
                    && f.is_relative()
                {
                    *f = dir.join(&*f);
                }
                if let Err(e) = g.audit.check() {
                    errors.push(error(&gateway_file, Some("audit"), &e.to_string()));
                }
                Some(g)
            }
            Err(e) => {
                errors.push(e);
                None
            }
        };
        let sources_dir = dir.join(
            gateway
                .as_ref()
                .map_or_else(default_sources_dir, |g| g.sources_dir.clone()),
        );
        let sources = load_sources(dir, &sources_dir, registry, &edit, &mut errors);
        match gateway {
            Some(gateway) if errors.is_empty() => match (verifier, policy, objections) {
                (Some(verifier), Some(policy), Some(objections)) => Ok(Config {
                    dir: dir.to_path_buf(),
                    objections_file: gateway.access.objections.as_ref().map(|f| dir.join(f)),
                    gateway,
                    sources,
                    verifier,
                    policy,
                    objections,
                    tls,
                    index_file,
                }),
                _ => Err(ConfigErrors(errors)),
            },
            _ => Err(ConfigErrors(errors)),
        }
    }
}

fn check_gateway(file: &Path, g: &GatewayConfig, errors: &mut Vec<ConfigError>) {
    let mut names = std::collections::BTreeSet::new();
    for (i, x) in g.extracts.iter().enumerate() {
        let ok = (1..=32).contains(&x.name.len())
            && x.name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok {
            errors.push(error(
                file,
                Some(&format!("extract[{i}].name")),
                "must be 1 to 32 lower-case letters, digits or hyphens",
            ));
        } else if !names.insert(x.name.as_str()) {
            errors.push(error(
                file,
                Some(&format!("extract[{i}].name")),
                "names another [[extract]] already",
            ));
        }
    }
    if let Some(v) = &g.viewer {
        check_viewer(file, v, &g.auth, errors);
    }
    if !(100..=120_000).contains(&g.request_deadline_ms) {
        errors.push(error(
            file,
            Some("request_deadline_ms"),
            "must be between 100 and 120000",
        ));
    }
    if !(1..=100_000).contains(&g.max_in_flight) {
        errors.push(error(
            file,
            Some("max_in_flight"),
            "must be between 1 and 100000",
        ));
    }
    if g.cache.max_bytes < 1024 * 1024 {
        errors.push(error(
            file,
            Some("cache.max_bytes"),
            "must be at least 1 MiB",
        ));
    }
    if g.cache.not_found_ttl_s > 86_400 {
        errors.push(error(
            file,
            Some("cache.not_found_ttl_s"),
            "must be between 0 and 86400",
        ));
    }
    if g.cache.practice_ttl_s > 7 * 86_400 {
        errors.push(error(
            file,
            Some("cache.practice_ttl_s"),
            "must be between 0 and 604800",
        ));
    }
    if !(1..=10_000_000).contains(&g.cache.max_remembered) {
        errors.push(error(
            file,
            Some("cache.max_remembered"),
            "must be between 1 and 10000000",
        ));
    }
    if let Some(index) = &g.index {
        check_index(file, index, errors);
    }
    check_connections(file, &g.connections, errors);
}

fn check_index(file: &Path, index: &IndexConfig, errors: &mut Vec<ConfigError>) {
    match (&index.file, &index.url) {
        (Some(_), None) => {}
        (None, Some(url)) => {
            let parsed = url::Url::parse(&url.replace("{nhs}", "9990000018"));
            if !url.contains("{nhs}")
                || !parsed.is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
            {
                errors.push(error(
                    file,
                    Some("index.url"),
                    "must be an http:// or https:// URL with {nhs} where the NHS number goes",
                ));
            }
        }
        _ => errors.push(error(
            file,
            Some("index"),
            "needs exactly one of file and url",
        )),
    }
    if !(1..=10_000).contains(&index.timeout_ms) {
        errors.push(error(
            file,
            Some("index.timeout_ms"),
            "must be between 1 and 10000",
        ));
    }
    if !(1024..=16 * 1024 * 1024).contains(&index.max_body_bytes) {
        errors.push(error(
            file,
            Some("index.max_body_bytes"),
            "must be between 1 KiB and 16 MiB",
        ));
    }
}

fn check_connections(file: &Path, c: &ConnectionsConfig, errors: &mut Vec<ConfigError>) {
    let mut within = |key: &str, value: u64, range: std::ops::RangeInclusive<u64>| {
        if !range.contains(&value) {
            let message = format!("must be between {} and {}", range.start(), range.end());
            errors.push(error(file, Some(&format!("connections.{key}")), &message));
        }
    };
    within("request_timeout_ms", c.request_timeout_ms, 1_000..=120_000);
    within("idle_timeout_ms", c.idle_timeout_ms, 1_000..=3_600_000);
    within("stall_timeout_ms", c.stall_timeout_ms, 1_000..=300_000);
    if let Some(n) = c.max_open {
        within("max_open", u64::from(n), 1..=1_000_000);
    }
    within("h2_max_streams", u64::from(c.h2_max_streams), 1..=1_000);
    within(
        "max_unsent_bytes",
        c.max_unsent_bytes,
        1024 * 1024..=1 << 40,
    );
    within(
        "max_unsent_bytes_per_connection",
        c.max_unsent_bytes_per_connection,
        64 * 1024..=c.max_unsent_bytes.max(64 * 1024),
    );
}

fn load_sources(
    config_dir: &Path,
    dir: &Path,
    registry: &Registry,
    edit: &dyn Fn(&mut SourceSpec),
    errors: &mut Vec<ConfigError>,
) -> Vec<LoadedSource> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.extension().is_some_and(|x| x == "toml")
                    && !p
                        .file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with('.'))
            })
            .collect(),
        Err(e) => {
            errors.push(error(
                dir,
                None,
                &format!("cannot read the sources directory: {e}"),
            ));
            return Vec::new();
        }
    };
    files.sort();
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    let mut out = Vec::new();
    for file in files {
        let mut spec = match read_toml::<SourceSpec>(&file) {
            Ok(s) => s,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        if let Some(tls) = &mut spec.tls {
            tls.resolve(config_dir);
        }
        edit(&mut spec);
        // A practice directory becomes one source per practice.
        let expanded: Vec<(SourceSpec, PathBuf, String)> = match spec.directory.clone() {
            None => vec![(spec, file.clone(), String::new())],
            Some(directory) => {
                // Check the template first: a directory on the wrong kind of
                // source is one mistake, not one per practice.
                if let Err(icr_adapter_sdk::BuildError::Option { key, message }) = spec.validate() {
                    errors.push(error(&file, Some(&key), &message));
                    continue;
                }
                let path = config_dir.join(&directory);
                match expand_directory(&spec, &path) {
                    Ok(list) => list
                        .into_iter()
                        .map(|(mut s, at)| {
                            edit(&mut s);
                            (s, path.clone(), at)
                        })
                        .collect(),
                    Err(e) => {
                        errors.push(e);
                        continue;
                    }
                }
            }
        };
        for (spec, origin, at) in expanded {
            if let Some(first) = seen.insert(spec.id.to_string(), origin.clone()) {
                errors.push(error(
                    &origin,
                    Some(&format!("{at}id")),
                    &format!(
                        "source id {:?} is already registered by {}",
                        spec.id.as_str(),
                        first.display()
                    ),
                ));
                continue;
            }
            // Validated and built even when disabled, so that enabling it
            // later cannot surprise.
            match registry.build(&spec) {
                Ok(adapter) => {
                    if spec.enabled {
                        out.push(LoadedSource {
                            file: origin,
                            spec,
                            adapter,
                        });
                    }
                }
                Err(e) => {
                    let (key, message) = match e {
                        icr_adapter_sdk::BuildError::Option { key, message } => (key, message),
                        other @ icr_adapter_sdk::BuildError::UnknownKind { .. } => {
                            ("kind".to_string(), other.to_string())
                        }
                    };
                    errors.push(error(&origin, Some(&format!("{at}{key}")), &message));
                }
            }
        }
    }
    if errors.is_empty() {
        check_routing(dir, &out, errors);
    }
    out
}

/// Routing needs its counterpart: practices need a demographics service to
/// be found by, and there is at most one demographics service.
fn check_routing(dir: &Path, sources: &[LoadedSource], errors: &mut Vec<ConfigError>) {
    if sources.is_empty() {
        errors.push(error(
            dir,
            None,
            "no enabled source is registered: add a <id>.toml file here",
        ));
        return;
    }
    let demographics: Vec<&LoadedSource> = sources
        .iter()
        .filter(|s| s.spec.routing == Routing::Demographics)
        .collect();
    if demographics.len() > 1 {
        errors.push(error(
            &demographics[1].file,
            Some("routing"),
            &format!(
                "only one source may have routing = \"demographics\"; {} has it too",
                demographics[0].file.display()
            ),
        ));
    }
    if demographics.is_empty()
        && let Some(practice) = sources
            .iter()
            .find(|s| s.spec.routing == Routing::RegisteredPractice)
    {
        errors.push(error(
            &practice.file,
            Some("routing"),
            "registered-practice sources are chosen by the person's registration in the demographics service, but no source has routing = \"demographics\"",
        ));
    }
}

/// One entry of a practice directory: how the Spine Directory Service
/// would answer for one practice.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PracticeEntry {
    /// The practice's ODS code.
    ods_code: OdsCode,
    /// The practice's name.
    name: String,
    /// Its GP Connect endpoint.
    endpoint: url::Url,
    /// Its Accredited System ID, given to the adapter as `provider_asid`.
    #[serde(default)]
    asid: Option<String>,
}

/// A practice directory file: `[[practice]]` entries.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PracticeDirectory {
    #[serde(default)]
    practice: Vec<PracticeEntry>,
}

/// Reads and checks one source registration file, for `icr source check`:
/// the registration, or — for a practice-directory template — one
/// registration per practice (the directory relative to `config_dir`).
/// Adapters are not built.
pub fn load_source_file(file: &Path, config_dir: &Path) -> Result<Vec<SourceSpec>, ConfigErrors> {
    let mut spec: SourceSpec = read_toml(file).map_err(|e| ConfigErrors(vec![e]))?;
    if let Some(tls) = &mut spec.tls {
        tls.resolve(config_dir);
    }
    spec.validate().map_err(|e| {
        let (key, message) = match e {
            icr_adapter_sdk::BuildError::Option { key, message } => (Some(key), message),
            other => (None, other.to_string()),
        };
        ConfigErrors(vec![error(file, key.as_deref(), &message)])
    })?;
    match &spec.directory {
        None => Ok(vec![spec]),
        Some(directory) => expand_directory(&spec, &config_dir.join(directory))
            .map(|v| v.into_iter().map(|(s, _)| s).collect())
            .map_err(|e| ConfigErrors(vec![e])),
    }
}

/// Expands `template` into one registration per practice in the directory
/// at `path`: id `{template id}-{ods code in lower case}`, the practice's
/// name, ODS code and endpoint, and its ASID as `options.provider_asid`.
/// Each comes with the key prefix (`practice[3].`) its errors are named by.
fn expand_directory(
    template: &SourceSpec,
    path: &Path,
) -> Result<Vec<(SourceSpec, String)>, ConfigError> {
    let directory: PracticeDirectory = read_toml(path)?;
    if directory.practice.is_empty() {
        return Err(error(
            path,
            Some("practice"),
            "the directory lists no practice",
        ));
    }
    let mut out = Vec::with_capacity(directory.practice.len());
    for (i, p) in directory.practice.into_iter().enumerate() {
        let at = format!("practice[{i}].");
        let id = format!(
            "{}-{}",
            template.id,
            p.ods_code.as_str().to_ascii_lowercase()
        );
        let id = SourceId::parse(&id)
            .map_err(|e| error(path, Some(&format!("{at}ods_code")), &e.to_string()))?;
        let mut spec = template.clone();
        spec.id = id;
        spec.organisation = p.name;
        spec.ods_code = p.ods_code;
        spec.endpoint = p.endpoint;
        spec.directory = None;
        if let Some(asid) = p.asid {
            spec.options
                .insert("provider_asid".into(), toml::Value::String(asid));
        }
        out.push((spec, at));
    }
    Ok(out)
}

fn error(file: &Path, key: Option<&str>, message: &str) -> ConfigError {
    ConfigError {
        file: file.to_path_buf(),
        line: None,
        key: key.map(str::to_owned),
        message: message.to_string(),
    }
}

/// The top-level keys of `gateway.toml`: an `ICR_` variable is an override
/// when its name starts with one of them (others, such as `ICR_LOG_FORMAT`
/// or tooling's own, are not configuration).
const GATEWAY_KEYS: [&str; 12] = [
    "listen",
    "request_deadline_ms",
    "sources_dir",
    "max_in_flight",
    "cache",
    "index",
    "identity",
    "auth",
    "access",
    "audit",
    "tls",
    "connections",
];

/// Reads `gateway.toml`, then applies the environment's overrides: a
/// variable `ICR_KEY` sets `key`, and `ICR_TABLE__KEY` sets `key` in
/// `[table]` (`ICR_AUDIT__DIR=/data/audit`, `ICR_TLS__KEY=/run/secrets/tls.key`).
/// A value is read as a TOML value when it is one (`5000`, `true`,
/// `["R8015"]`), else as a string. Secrets and per-environment values
/// can so stay out of the files. Only variables starting with a top-level
/// key are overrides; errors name the variable.
pub fn read_gateway(
    file: &Path,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<GatewayConfig, ConfigError> {
    let mut overrides: Vec<(String, String)> = vars
        .into_iter()
        .filter(|(k, _)| {
            k.strip_prefix("ICR_").is_some_and(|rest| {
                let first = rest.split("__").next().unwrap_or("").to_ascii_lowercase();
                GATEWAY_KEYS.contains(&first.as_str())
            })
        })
        .collect();
    if overrides.is_empty() {
        return read_toml(file);
    }
    overrides.sort();
    let mut table: toml::Table = read_toml(file)?;
    let mut set: Vec<(String, String)> = Vec::new();
    for (var, value) in &overrides {
        let path: Vec<String> = var["ICR_".len()..]
            .split("__")
            .map(str::to_ascii_lowercase)
            .collect();
        if path.iter().any(String::is_empty) {
            return Err(error(
                file,
                None,
                &format!("environment variable {var}: not a key path"),
            ));
        }
        let parsed = toml::from_str::<toml::Table>(&format!("v = {value}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(value.clone()));
        let mut at = &mut table;
        for key in &path[..path.len() - 1] {
            let next = at
                .entry(key.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            at = match next {
                toml::Value::Table(t) => t,
                _ => {
                    return Err(error(
                        file,
                        Some(&path.join(".")),
                        &format!("environment variable {var}: {key} is not a table"),
                    ));
                }
            };
        }
        at.insert(path[path.len() - 1].clone(), parsed);
        set.push((path.join("."), var.clone()));
    }
    serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
        let key = e.path().to_string();
        let from = set
            .iter()
            .find(|(k, _)| key == *k || key.starts_with(&format!("{k}.")))
            .map(|(_, var)| format!(" (set by the environment variable {var})"))
            .unwrap_or_default();
        let message = format!("{}{from}", e.into_inner().to_string().trim());
        error(file, (key != ".").then_some(key.as_str()), &message)
    })
}

/// Reads one TOML file into `T`, with errors naming the key and line.
fn read_toml<T: serde::de::DeserializeOwned>(file: &Path) -> Result<T, ConfigError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| error(file, None, &format!("cannot read: {e}")))?;
    parse_toml(&text, file)
}

/// Parses TOML text into `T`; errors name `file`, the key and the line.
pub fn parse_toml<T: serde::de::DeserializeOwned>(
    text: &str,
    file: &Path,
) -> Result<T, ConfigError> {
    let line_of = |span: Option<std::ops::Range<usize>>| {
        // Counted on bytes, so a span that does not fall on a character
        // boundary cannot panic.
        span.map(|s| {
            let end = s.start.min(text.len());
            text.as_bytes()[..end]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                + 1
        })
    };
    let de = toml::Deserializer::parse(text).map_err(|e| ConfigError {
        file: file.to_path_buf(),
        line: line_of(e.span()),
        key: None,
        message: e.message().trim().to_string(),
    })?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        ConfigError {
            file: file.to_path_buf(),
            line: line_of(inner.span()),
            key: (path != ".").then_some(path),
            message: inner.message().trim().to_string(),
        }
    })
}

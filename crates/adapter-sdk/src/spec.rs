//! The registration of one source, as an operator writes it in
//! `sources.d/<id>.toml`.

use std::sync::Arc;

use icr_model::{OdsCode, SectionSet, SourceId, SourceMeta};
use serde::Deserialize;
use url::Url;

use crate::BuildError;

fn default_timeout_ms() -> u64 {
    3_000
}
fn default_cache_ttl_s() -> u64 {
    60
}
fn default_max_body_bytes() -> usize {
    16 * 1024 * 1024
}
fn default_enabled() -> bool {
    true
}

/// Which people's records a source is asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Routing {
    /// Every person: hospitals, councils, labs.
    #[default]
    All,
    /// Only the people registered with this source's organisation, as the
    /// demographics service says: GP practices.
    RegisteredPractice,
    /// The demographics service itself (PDS): asked first, for every
    /// person; its answer chooses the registered practice and is the
    /// reference the other sources' demographics are checked against.
    Demographics,
}

/// One registered source: who it is, how to reach it, what it holds.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    /// Unique id of the source (lower-case letters, digits, hyphens), shown
    /// in provenance and source statuses.
    pub id: SourceId,
    /// The organisation's name as readers should see it.
    pub organisation: String,
    /// The organisation's ODS code.
    pub ods_code: OdsCode,
    /// The adapter kind (protocol), e.g. `fhir-r4`.
    pub kind: String,
    /// The name of the source system, shown in provenance; defaults to the kind.
    #[serde(default)]
    pub system: Option<String>,
    /// Base URL (or address) of the source's service.
    pub endpoint: Url,
    /// Other names the same server answers on (`https://host:port`), whose
    /// links the gateway may follow: a server that writes its `next` links
    /// on `localhost` while registered as `127.0.0.1`, or behind two host
    /// names. Links anywhere else are never followed.
    #[serde(default)]
    pub extra_origins: Vec<Url>,
    /// The sections this source can provide.
    pub sections: SectionSet,
    /// How long the gateway waits for this source, in milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// How long an answer from this source may be served from the cache, in
    /// seconds (0 turns caching off for this source).
    #[serde(default = "default_cache_ttl_s")]
    pub cache_ttl_s: u64,
    /// The most bytes one response from this source may have.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
    /// Whether the gateway asks this source at all.
    #[serde(default = "default_enabled")]
    pub enabled: bool,
    /// Which people's records the gateway asks this source for.
    #[serde(default)]
    pub routing: Routing,
    /// Whether the gateway's record-location index (`[index]` in
    /// `gateway.toml`) may skip this source for a person it names other
    /// holders for; only for sources routed to everyone (the demographics
    /// service and the registered practice are always asked).
    #[serde(default)]
    pub located: bool,
    /// A practice directory (a TOML file, relative to the config directory)
    /// that expands this registration into one source per practice; only
    /// with `routing = "registered-practice"`.
    #[serde(default)]
    pub directory: Option<std::path::PathBuf>,
    /// How the gateway protects itself and the source when it fails
    /// (`[resilience]`): retries, concurrency limit, circuit breaker.
    #[serde(default)]
    pub resilience: Resilience,
    /// How hard a population-health extract may ask this source
    /// (`[extract]`): always below interactive traffic.
    #[serde(default)]
    pub extract: ExtractLimits,
    /// TLS to the source (`[tls]`): whom to trust and the gateway's client
    /// certificate, as the Spine Secure Proxy and many trusts require.
    #[serde(default)]
    pub tls: Option<SourceTls>,
    /// Settings for this source's adapter kind; each kind documents its own.
    #[serde(default)]
    pub options: toml::Table,
}

/// `[tls]` of a source registration. Paths are relative to the
/// configuration directory (the loader makes them absolute).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SourceTls {
    /// CA certificates (PEM) the source's server certificate must chain to;
    /// when given, the only ones trusted for this source (not the system's).
    #[serde(default)]
    pub ca: Option<std::path::PathBuf>,
    /// The gateway's client certificate chain for this source (PEM).
    #[serde(default)]
    pub cert: Option<std::path::PathBuf>,
    /// Its private key (PEM).
    #[serde(default)]
    pub key: Option<std::path::PathBuf>,
}

impl SourceTls {
    /// Makes relative paths relative to `dir`.
    pub fn resolve(&mut self, dir: &std::path::Path) {
        for p in [&mut self.ca, &mut self.cert, &mut self.key]
            .into_iter()
            .flatten()
        {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        }
    }
}

/// `[resilience]` of a source registration.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Resilience {
    /// Retries after a transient failure (unreachable; HTTP 500, 502, 503,
    /// 504; not 429, which asks callers to slow down), each after a jittered backoff and only while the request's
    /// deadline leaves room: 0 to 2. Every source call is a read, so a
    /// retry is safe.
    #[serde(default = "default_retries")]
    pub retries: u8,
    /// Calls to this source in flight at once, across all requests; past
    /// it a request reports the source unavailable at once instead of
    /// queueing behind a slow source.
    #[serde(default = "default_max_concurrent")]
    pub max_concurrent: u32,
    /// Consecutive failed calls (unreachable, timeout, 5xx, 429, unreadable
    /// or oversized answers) that open the circuit: the source is then not
    /// asked, and reported unavailable, until a probe succeeds.
    #[serde(default = "default_circuit_failures")]
    pub circuit_failures: u32,
    /// How long the circuit stays open before one request probes the
    /// source, in seconds.
    #[serde(default = "default_circuit_open_s")]
    pub circuit_open_s: u64,
}

impl Default for Resilience {
    fn default() -> Self {
        Self {
            retries: default_retries(),
            max_concurrent: default_max_concurrent(),
            circuit_failures: default_circuit_failures(),
            circuit_open_s: default_circuit_open_s(),
        }
    }
}

/// `[extract]` of a source registration: the most a population-health
/// extract may ask of the source. Interactive requests are served first:
/// an extract's call waits while any interactive call to the source is in
/// flight, while its circuit is open, and halves its rate whenever the
/// source answers slower than `slow_ms` or fails (then creeps back up).
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExtractLimits {
    /// Extract calls per second at most (1 to 1,000).
    #[serde(default = "default_extract_rate")]
    pub rate_per_s: u32,
    /// Extract calls in flight at once at most (1 to 64).
    #[serde(default = "default_extract_concurrency")]
    pub concurrency: u32,
    /// An answer slower than this (milliseconds) halves the extract's rate;
    /// absent, half the source's `timeout_ms`.
    #[serde(default)]
    pub slow_ms: Option<u64>,
}

impl Default for ExtractLimits {
    fn default() -> Self {
        Self {
            rate_per_s: default_extract_rate(),
            concurrency: default_extract_concurrency(),
            slow_ms: None,
        }
    }
}

fn default_extract_rate() -> u32 {
    10
}
fn default_extract_concurrency() -> u32 {
    2
}

fn default_retries() -> u8 {
    2
}
fn default_max_concurrent() -> u32 {
    32
}
fn default_circuit_failures() -> u32 {
    5
}
fn default_circuit_open_s() -> u64 {
    30
}

impl SourceSpec {
    /// Who the source is, for provenance.
    pub fn meta(&self) -> Arc<SourceMeta> {
        Arc::new(SourceMeta {
            id: self.id.clone(),
            organisation: self.organisation.clone(),
            ods_code: self.ods_code.clone(),
            system: self.system.clone().unwrap_or_else(|| self.kind.clone()),
        })
    }

    /// The origins this source's links may lead to: its endpoint's and its
    /// `extra_origins`.
    pub fn origins(&self) -> crate::Origins {
        crate::Origins::new(&self.endpoint, &self.extra_origins)
    }

    /// The endpoint as a base for the service's paths: without query or
    /// fragment, its path ending in `/` (`https://x/fhir` →
    /// `https://x/fhir/`).
    pub fn base_url(&self) -> Url {
        let mut base = self.endpoint.clone();
        base.set_query(None);
        base.set_fragment(None);
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        base
    }

    /// Reads the `[options]` table into the adapter's own config type;
    /// errors name the offending key (`options.page_size`).
    pub fn options<T: serde::de::DeserializeOwned>(&self) -> Result<T, BuildError> {
        let value = toml::Value::Table(self.options.clone());
        serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            BuildError::Option {
                key: if path == "." {
                    "options".to_string()
                } else {
                    format!("options.{path}")
                },
                message: e.into_inner().to_string().trim().to_string(),
            }
        })
    }

    /// Checks the values serde cannot: limits in range, a usable endpoint.
    pub fn validate(&self) -> Result<(), BuildError> {
        let invalid = |key: &str, message: &str| {
            Err(BuildError::Option {
                key: key.to_string(),
                message: message.to_string(),
            })
        };
        if self.organisation.trim().is_empty() {
            return invalid("organisation", "must not be empty");
        }
        if !(1..=120_000).contains(&self.timeout_ms) {
            return invalid("timeout_ms", "must be between 1 and 120000");
        }
        if !(1024..=1024 * 1024 * 1024).contains(&self.max_body_bytes) {
            return invalid("max_body_bytes", "must be between 1 KiB and 1 GiB");
        }
        let r = &self.resilience;
        if r.retries > 2 {
            return invalid("resilience.retries", "must be between 0 and 2");
        }
        if !(1..=10_000).contains(&r.max_concurrent) {
            return invalid("resilience.max_concurrent", "must be between 1 and 10000");
        }
        if !(1..=1_000).contains(&r.circuit_failures) {
            return invalid("resilience.circuit_failures", "must be between 1 and 1000");
        }
        if !(1..=3_600).contains(&r.circuit_open_s) {
            return invalid("resilience.circuit_open_s", "must be between 1 and 3600");
        }
        let x = &self.extract;
        if !(1..=1_000).contains(&x.rate_per_s) {
            return invalid("extract.rate_per_s", "must be between 1 and 1000");
        }
        if !(1..=64).contains(&x.concurrency) {
            return invalid("extract.concurrency", "must be between 1 and 64");
        }
        if x.slow_ms
            .is_some_and(|ms| !(1..=self.timeout_ms).contains(&ms))
        {
            return invalid(
                "extract.slow_ms",
                "must be between 1 and the source's timeout_ms",
            );
        }
        if self.sections.is_empty() {
            return invalid("sections", "must list at least one section");
        }
        if self.located && self.routing != Routing::All {
            return invalid(
                "located",
                "only a source routed to everyone may be skipped by the record-location index",
            );
        }
        if let Some(tls) = &self.tls {
            if self.endpoint.scheme() != "https" {
                return invalid("tls", "TLS settings need an https:// endpoint");
            }
            if tls.cert.is_some() != tls.key.is_some() {
                return invalid(
                    "tls",
                    "a client certificate needs its key, and a key its certificate",
                );
            }
        }
        for extra in &self.extra_origins {
            if !matches!(extra.scheme(), "http" | "https") || extra.host_str().is_none() {
                return invalid(
                    "extra_origins",
                    "each must be an http:// or https:// URL with a host",
                );
            }
            if !extra.username().is_empty() || extra.password().is_some() {
                return invalid("extra_origins", "must not carry a user name or password");
            }
        }
        if self.endpoint.cannot_be_a_base() {
            return invalid("endpoint", "must be an absolute URL");
        }
        if self.directory.is_some() && self.routing != Routing::RegisteredPractice {
            return invalid(
                "directory",
                "a practice directory goes with routing = \"registered-practice\"",
            );
        }
        Ok(())
    }
}

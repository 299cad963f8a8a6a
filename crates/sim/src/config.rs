//! The simulator's configuration (`config/demo/sim.toml`) and the faults a
//! simulated source can be told to show.
//!
//! ```toml
//! control_listen = "127.0.0.1:9100"
//!
//! [population]
//! seed = 20261101
//! size = 1200
//! as_of = "today"            # or "2026-11-26": future appointments come after it
//!
//! # One organisation on its own listener: `org` defaults to `id`.
//! [[source]]
//! id = "gwh"
//! kind = "fhir-r4"
//! organisation = "Great Western Hospitals NHS Foundation Trust"   # optional, checked
//! ods_code = "RN3"                                                # optional, checked
//! listen = "127.0.0.1:9101"
//! latency_min_ms = 20        # or latency_ms = 50 for a fixed delay
//! latency_max_ms = 120
//! # or latency_median_ms = 40 and latency_p99_ms = 400 (log-normal)
//! error_rate = 0.0           # fraction of requests answered 500
//! down = false               # true: the listener is closed
//! # A chaos mode (see `chaos`), and the fraction of requests it strikes:
//! # chaos = { mode = "trickle", bytes = 64, interval_ms = 200 }
//! # chaos_rate = 1.0
//! # What a FHIR R4 server takes beyond plain searches (all by default):
//! # fhir_search = ["batch", "chained", "revinclude"]
//!
//! # Several organisations of one kind on one listener (they differ by
//! # path); `orgs = "all"` is every organisation of the kind.
//! [[source]]
//! id = "gp"
//! kind = "gp-connect"
//! orgs = ["gp-y90001", "gp-y90002"]
//! listen = "127.0.0.1:9201"
//! ```
//!
//! Faults belong to the listener: every organisation it serves shares them.
//! [`Fault`] is also the control API's JSON body; its chaos modes are
//! described in `crate::chaos`.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;

use serde::{Deserialize, Serialize};
use time::Date;

use crate::chaos::Chaos;
use crate::org::{Kind, Org};
use crate::protocol::{self, Module};
use crate::rng::SplitMix64;

/// Longest latency a fault may add, in milliseconds.
pub const MAX_LATENCY_MS: u64 = 120_000;

/// Largest population the simulator will generate.
pub const MAX_POPULATION: usize = 200_000;

/// The simulator's configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct SimConfig {
    /// Seed of the population.
    pub seed: u64,
    /// Number of patients.
    pub size: usize,
    /// Future appointments are placed after this date; `None` means the
    /// date the simulator starts on.
    pub as_of: Option<Date>,
    /// Where the control API listens, if anywhere.
    pub control_listen: Option<SocketAddr>,
    /// The simulated sources, one listener each.
    pub sources: Vec<SimSourceConfig>,
}

/// One listener: the organisations it serves, in one protocol.
#[derive(Clone, Debug, PartialEq)]
pub struct SimSourceConfig {
    /// The listener's id, its name in the control API: the organisation's
    /// id when it serves one, or a name of its own (e.g. `gp`) for a group.
    pub id: String,
    /// The protocol it speaks; a kind with a simulator module.
    pub kind: Kind,
    /// The organisations whose records it serves (at least one).
    pub orgs: Vec<Org>,
    /// Where it listens.
    pub listen: SocketAddr,
    /// The faults it shows from the start.
    pub fault: Fault,
    /// What it takes beyond plain searches, when it is a FHIR R4 server
    /// (`fhir_search = ["batch", "chained", "revinclude"]`, all by
    /// default; `[]` for plain searches only).
    pub fhir_search: crate::fhir::FhirSearch,
}

impl SimSourceConfig {
    /// A healthy listener for one organisation, named after it.
    pub fn single(org: Org, listen: SocketAddr) -> Self {
        Self {
            id: org.id().to_string(),
            kind: org.kind(),
            orgs: vec![org],
            listen,
            fault: Fault::default(),
            fhir_search: crate::fhir::FhirSearch::ALL,
        }
    }

    /// The organisation, when the listener serves exactly one.
    pub fn org(&self) -> Option<Org> {
        match self.orgs.as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }
}
/// Faults a source shows: added latency, a share of failed requests, a
/// chaos mode, or being down altogether. The default is a healthy source.
///
/// As JSON (the control API's `PUT /sources/{id}/fault` body):
/// `{"latency_ms": 200, "error_rate": 0.1, "down": false}`, with
/// `"latency_ms": {"min": 50, "max": 400}` for a uniformly random delay or
/// `{"median": 40, "p99": 400}` for a log-normal one, and
/// `"chaos": {"mode": "trickle", "bytes": 64, "interval_ms": 200},
/// "chaos_rate": 0.5` for a [`Chaos`] mode striking half the requests.
/// Unknown fields are refused.
///
/// Order per request or message: the latency is waited; then a chaos mode
/// that strikes takes over; else the error rate may fail it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// Delay added before every answer.
    #[serde(default)]
    pub latency_ms: Option<Latency>,
    /// Fraction of requests (0 to 1) answered `500` with an OperationOutcome.
    #[serde(default)]
    pub error_rate: f64,
    /// When true the listener is closed, so connections are refused.
    #[serde(default)]
    pub down: bool,
    /// A chaos mode, if any.
    #[serde(default)]
    pub chaos: Option<Chaos>,
    /// Fraction (0 to 1) of requests or messages the chaos mode strikes (of
    /// connections, for `silent`); 1 by default.
    #[serde(default = "one")]
    pub chaos_rate: f64,
}

fn one() -> f64 {
    1.0
}

impl Default for Fault {
    fn default() -> Self {
        Self {
            latency_ms: None,
            error_rate: 0.0,
            down: false,
            chaos: None,
            chaos_rate: 1.0,
        }
    }
}

/// Longest median or 99th percentile of a log-normal latency, in
/// milliseconds; no sample is longer.
pub const MAX_LOG_NORMAL_MS: u64 = 600_000;

/// The 99th percentile of the standard normal distribution.
const Z_99: f64 = 2.326_347_874_040_840_8;

/// A delay: fixed, drawn uniformly from a range, or log-normal, in
/// milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum Latency {
    /// Always this many milliseconds.
    Fixed(u64),
    /// Uniformly between `min` and `max` milliseconds, inclusive.
    Uniform {
        /// Shortest delay.
        min: u64,
        /// Longest delay.
        max: u64,
    },
    /// Log-normal, as network latency is: half the delays are under
    /// `median`, 99 in 100 under `p99`; none over [`MAX_LOG_NORMAL_MS`].
    LogNormal {
        /// The median delay (at least 1).
        median: u64,
        /// The 99th percentile (at least the median).
        p99: u64,
    },
}

impl Latency {
    /// One delay in milliseconds.
    pub fn sample(&self, rng: &mut SplitMix64) -> u64 {
        match *self {
            Latency::Fixed(ms) => ms,
            Latency::Uniform { min, max } => {
                min + rng.below(max.saturating_sub(min).saturating_add(1))
            }
            Latency::LogNormal { median, p99 } => {
                let median = median.max(1) as f64;
                let sigma = ((p99 as f64).max(median) / median).ln() / Z_99;
                // Box-Muller: one standard normal from two uniforms.
                let u1 = 1.0 - rng.next_f64(); // (0, 1]
                let u2 = rng.next_f64();
                let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                let ms = median * (sigma * z).exp();
                if ms.is_finite() {
                    (ms.round() as u64).min(MAX_LOG_NORMAL_MS)
                } else {
                    MAX_LOG_NORMAL_MS
                }
            }
        }
    }
}

impl Fault {
    /// Checks the values are usable: rates between 0 and 1, a latency
    /// range with `min <= max` and no delay over two minutes (a log-normal
    /// one: `1 <= median <= p99 <= 600000`), and a chaos mode within its
    /// bounds ([`Chaos::validate`]).
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.error_rate) {
            return Err(format!(
                "error_rate must be between 0 and 1, not {}",
                self.error_rate
            ));
        }
        if !(0.0..=1.0).contains(&self.chaos_rate) {
            return Err(format!(
                "chaos_rate must be between 0 and 1, not {}",
                self.chaos_rate
            ));
        }
        if let Some(c) = &self.chaos {
            c.validate()?;
        }
        match self.latency_ms {
            Some(Latency::Uniform { min, max }) if min > max => Err(format!(
                "latency minimum {min} ms is more than its maximum {max} ms"
            )),
            Some(Latency::Fixed(ms) | Latency::Uniform { max: ms, .. }) if ms > MAX_LATENCY_MS => {
                Err(format!(
                    "latency of {ms} ms is more than the allowed {MAX_LATENCY_MS} ms"
                ))
            }
            Some(Latency::LogNormal { median, p99 }) if median == 0 || median > p99 => {
                Err(format!(
                    "latency median {median} ms must be at least 1 and at most its p99 {p99} ms"
                ))
            }
            Some(Latency::LogNormal { p99, .. }) if p99 > MAX_LOG_NORMAL_MS => Err(format!(
                "latency p99 of {p99} ms is more than the allowed {MAX_LOG_NORMAL_MS} ms"
            )),
            _ => Ok(()),
        }
    }
}

/// Why a configuration was refused. Every message names the file (or
/// other origin) and, where it can, the key.
#[derive(Debug, thiserror::Error)]
pub enum SimConfigError {
    /// The file could not be read.
    #[error("{origin}: cannot read the file: {source}")]
    Read {
        /// The file.
        origin: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The text is not TOML of the expected shape.
    #[error("{origin}: {key}: {message}")]
    Parse {
        /// The file.
        origin: String,
        /// The key the parser stopped at (`.` for the whole document).
        key: String,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A value is out of range or inconsistent.
    #[error("{origin}: {key}: {message}")]
    Invalid {
        /// The file.
        origin: String,
        /// The key, e.g. `source[1].listen`.
        key: String,
        /// What is wrong and what is expected.
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    control_listen: Option<String>,
    population: RawPopulation,
    #[serde(default)]
    source: Vec<RawSource>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPopulation {
    seed: u64,
    size: usize,
    #[serde(default)]
    as_of: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    id: String,
    kind: String,
    #[serde(default)]
    org: Option<String>,
    #[serde(default)]
    orgs: Option<RawOrgs>,
    #[serde(default)]
    organisation: Option<String>,
    #[serde(default)]
    ods_code: Option<String>,
    listen: String,
    #[serde(default)]
    latency_ms: Option<u64>,
    #[serde(default)]
    latency_min_ms: Option<u64>,
    #[serde(default)]
    latency_max_ms: Option<u64>,
    #[serde(default)]
    latency_median_ms: Option<u64>,
    #[serde(default)]
    latency_p99_ms: Option<u64>,
    #[serde(default)]
    error_rate: f64,
    #[serde(default)]
    down: bool,
    #[serde(default)]
    chaos: Option<Chaos>,
    #[serde(default = "one")]
    chaos_rate: f64,
    #[serde(default)]
    fhir_search: Option<Vec<String>>,
}

/// `orgs = "all"` or `orgs = ["gp-y90001", ...]`.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawOrgs {
    Keyword(String),
    List(Vec<String>),
}

/// Most organisations one `orgs` list may name.
const MAX_ORGS_LISTED: usize = 256;

impl SimConfig {
    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<Self, SimConfigError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SimConfigError::Read {
            origin: origin.clone(),
            source,
        })?;
        Self::from_toml_str(&text, &origin)
    }

    /// Parses and checks a configuration; `origin` names it in errors.
    pub fn from_toml_str(s: &str, origin: &str) -> Result<Self, SimConfigError> {
        let parse_err = |key: String, message: String| SimConfigError::Parse {
            origin: origin.to_string(),
            key,
            message: message.trim().replace('\n', " "),
        };
        let de = toml::Deserializer::parse(s).map_err(|e| parse_err(".".into(), e.to_string()))?;
        let raw: RawConfig = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            parse_err(key, e.into_inner().to_string())
        })?;
        let invalid = |key: String, message: String| SimConfigError::Invalid {
            origin: origin.to_string(),
            key,
            message,
        };

        let control_listen = raw
            .control_listen
            .as_deref()
            .map(|a| parse_addr(a).map_err(|m| invalid("control_listen".into(), m)))
            .transpose()?;
        if raw.population.size == 0 || raw.population.size > MAX_POPULATION {
            return Err(invalid(
                "population.size".into(),
                format!(
                    "must be between 1 and {MAX_POPULATION}, not {}",
                    raw.population.size
                ),
            ));
        }
        let as_of = match raw.population.as_of.as_deref() {
            None | Some("today") => None,
            Some(d) => Some(parse_date(d).ok_or_else(|| {
                invalid(
                    "population.as_of".into(),
                    format!("expected \"today\" or a date as YYYY-MM-DD, not {d:?}"),
                )
            })?),
        };

        let mut sources = Vec::with_capacity(raw.source.len());
        let mut ids = HashSet::new();
        let mut served: HashMap<Org, String> = HashMap::new();
        let mut addrs = HashSet::new();
        for (i, s) in raw.source.into_iter().enumerate() {
            let key = |field: &str| format!("source[{i}].{field}");
            let kind: Kind = s
                .kind
                .parse()
                .map_err(|e: crate::org::UnknownKind| invalid(key("kind"), e.to_string()))?;
            let Some(module) = protocol::module(kind) else {
                let simulated: Vec<&str> = protocol::simulated_kinds()
                    .into_iter()
                    .map(Kind::as_str)
                    .collect();
                return Err(invalid(
                    key("kind"),
                    format!(
                        "no simulator module serves kind {:?} yet; simulated kinds: {} (see crates/sim/README.md, \"How to add a protocol\")",
                        kind.as_str(),
                        simulated.join(", ")
                    ),
                ));
            };
            let orgs = resolve_orgs(&s, kind).map_err(|(field, m)| invalid(key(field), m))?;
            if let [org] = orgs.as_slice() {
                if let Some(name) = &s.organisation
                    && name != org.name()
                {
                    return Err(invalid(
                        key("organisation"),
                        format!("{} is {:?}, not {name:?}", org.id(), org.name()),
                    ));
                }
                if let Some(code) = &s.ods_code
                    && !code.eq_ignore_ascii_case(org.ods_code())
                {
                    return Err(invalid(
                        key("ods_code"),
                        format!(
                            "the ODS code of {} is {}, not {code:?}",
                            org.name(),
                            org.ods_code()
                        ),
                    ));
                }
            } else if s.organisation.is_some() || s.ods_code.is_some() {
                return Err(invalid(
                    key("organisation"),
                    "organisation and ods_code describe one organisation; a source serving several has neither".into(),
                ));
            }
            if icr_model::SourceId::parse(&s.id).is_err() {
                return Err(invalid(
                    key("id"),
                    format!(
                        "{:?} is not usable as an id: expected 1 to 40 lower-case letters, digits or hyphens",
                        s.id
                    ),
                ));
            }
            if let Some(named) = Org::from_id(&s.id)
                && orgs != [named]
            {
                return Err(invalid(
                    key("id"),
                    format!(
                        "{:?} is the id of {}; a source may only take it when it serves that organisation alone",
                        s.id,
                        named.name()
                    ),
                ));
            }
            if !ids.insert(s.id.clone()) {
                return Err(invalid(
                    key("id"),
                    format!("source {:?} is configured twice", s.id),
                ));
            }
            for org in &orgs {
                if let Some(other) = served.insert(*org, s.id.clone()) {
                    return Err(invalid(
                        key("orgs"),
                        format!("{} is already served by source {other:?}", org.id()),
                    ));
                }
            }
            if let Module::Http(m) = module {
                let mut paths = HashSet::new();
                if !orgs.iter().all(|o| paths.insert(m.base_path(*o))) {
                    return Err(invalid(
                        key("orgs"),
                        format!(
                            "kind {kind} serves every organisation at the same path, so each needs a listener of its own"
                        ),
                    ));
                }
            } else if orgs.len() > 1 {
                return Err(invalid(
                    key("orgs"),
                    format!(
                        "kind {kind} is raw TCP: each organisation needs a listener of its own"
                    ),
                ));
            }
            let listen = parse_addr(&s.listen).map_err(|m| invalid(key("listen"), m))?;
            if listen.port() != 0 && !addrs.insert(listen) {
                return Err(invalid(
                    key("listen"),
                    format!("{listen} is already used by another source"),
                ));
            }
            let latency_ms = match (
                s.latency_ms,
                s.latency_min_ms,
                s.latency_max_ms,
                s.latency_median_ms,
                s.latency_p99_ms,
            ) {
                (None, None, None, None, None) => None,
                (Some(ms), None, None, None, None) => Some(Latency::Fixed(ms)),
                (None, Some(min), Some(max), None, None) => Some(Latency::Uniform { min, max }),
                (None, None, None, Some(median), Some(p99)) => {
                    Some(Latency::LogNormal { median, p99 })
                }
                (None, Some(_), None, None, None) => {
                    return Err(invalid(
                        key("latency_max_ms"),
                        "latency_min_ms needs latency_max_ms".into(),
                    ));
                }
                (None, None, Some(_), None, None) => {
                    return Err(invalid(
                        key("latency_min_ms"),
                        "latency_max_ms needs latency_min_ms".into(),
                    ));
                }
                (None, None, None, Some(_), None) => {
                    return Err(invalid(
                        key("latency_p99_ms"),
                        "latency_median_ms needs latency_p99_ms".into(),
                    ));
                }
                (None, None, None, None, Some(_)) => {
                    return Err(invalid(
                        key("latency_median_ms"),
                        "latency_p99_ms needs latency_median_ms".into(),
                    ));
                }
                _ => {
                    return Err(invalid(
                        key("latency_ms"),
                        "give one of latency_ms, latency_min_ms and latency_max_ms, or latency_median_ms and latency_p99_ms"
                            .into(),
                    ));
                }
            };
            let fault = Fault {
                latency_ms,
                error_rate: s.error_rate,
                down: s.down,
                chaos: s.chaos,
                chaos_rate: s.chaos_rate,
            };
            fault.validate().map_err(|m| {
                let field = if m.starts_with("error_rate") {
                    "error_rate"
                } else if m.starts_with("chaos_rate") {
                    "chaos_rate"
                } else if m.starts_with("chaos") {
                    "chaos"
                } else {
                    "latency_ms"
                };
                invalid(key(field), m)
            })?;
            let fhir_search = match &s.fhir_search {
                None => crate::fhir::FhirSearch::ALL,
                Some(_) if kind != Kind::FhirR4 => {
                    return Err(invalid(
                        key("fhir_search"),
                        format!("fhir_search is for kind fhir-r4, not {kind}"),
                    ));
                }
                Some(names) => crate::fhir::FhirSearch::parse(names)
                    .map_err(|m| invalid(key("fhir_search"), m))?,
            };
            sources.push(SimSourceConfig {
                id: s.id,
                kind,
                orgs,
                listen,
                fault,
                fhir_search,
            });
        }
        Ok(Self {
            seed: raw.population.seed,
            size: raw.population.size,
            as_of,
            control_listen,
            sources,
        })
    }

    /// The same configuration with every listen address (sources and
    /// control) set to `127.0.0.1:0`, so the system picks free ports; the
    /// control API is turned on if it was off. For tests.
    pub fn with_ephemeral_ports(mut self) -> Self {
        let any = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
        for s in &mut self.sources {
            s.listen = any;
        }
        self.control_listen = Some(any);
        self
    }

    /// A configuration serving every organisation whose kind has a module,
    /// on ephemeral loopback ports, healthy, for tests and examples: one
    /// listener per organisation, except that organisations of a kind
    /// whose module tells them apart by path share one listener, named
    /// after the kind.
    pub fn all_sources(seed: u64, size: usize) -> Self {
        let any = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
        let mut sources = Vec::new();
        for kind in protocol::simulated_kinds() {
            let orgs: Vec<Org> = Org::of_kind(kind).collect();
            let by_path = match protocol::module(kind) {
                Some(Module::Http(m)) => {
                    let paths: HashSet<String> = orgs.iter().map(|o| m.base_path(*o)).collect();
                    paths.len() == orgs.len() && orgs.len() > 1
                }
                _ => false,
            };
            if by_path {
                sources.push(SimSourceConfig {
                    id: kind.as_str().to_string(),
                    kind,
                    orgs,
                    listen: any,
                    fault: Fault::default(),
                    fhir_search: crate::fhir::FhirSearch::ALL,
                });
            } else {
                sources.extend(orgs.into_iter().map(|o| SimSourceConfig::single(o, any)));
            }
        }
        Self {
            seed,
            size,
            as_of: None,
            control_listen: Some(any),
            sources,
        }
    }

    /// A configuration serving only `orgs`, each on its own ephemeral
    /// loopback listener, healthy. For tests.
    pub fn only(seed: u64, size: usize, orgs: &[Org]) -> Self {
        let any = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
        Self {
            seed,
            size,
            as_of: None,
            control_listen: Some(any),
            sources: orgs
                .iter()
                .map(|o| SimSourceConfig::single(*o, any))
                .collect(),
        }
    }
}

/// The organisations a `[[source]]` serves, checked against its kind;
/// on error, the field to blame and the message.
fn resolve_orgs(s: &RawSource, kind: Kind) -> Result<Vec<Org>, (&'static str, String)> {
    let lookup = |id: &str| -> Result<Org, (&'static str, String)> {
        let org = Org::from_id(id).ok_or_else(|| {
            let known: Vec<&str> = Org::of_kind(kind).take(6).map(Org::id).collect();
            (
                "orgs",
                format!(
                    "{:?} is not a simulated organisation; organisations of kind {kind} include {}",
                    id.chars().take(64).collect::<String>(),
                    known.join(", ")
                ),
            )
        })?;
        if org.kind() != kind {
            return Err((
                "kind",
                format!("{} speaks {}, not {kind}", org.id(), org.kind()),
            ));
        }
        Ok(org)
    };
    let orgs = match (&s.org, &s.orgs) {
        (Some(_), Some(_)) => {
            return Err(("orgs", "give either org or orgs, not both".into()));
        }
        (None, Some(RawOrgs::Keyword(k))) if k == "all" => Org::of_kind(kind).collect(),
        (None, Some(RawOrgs::Keyword(k))) => {
            return Err((
                "orgs",
                format!(
                    "expected \"all\" or a list of organisation ids, not {:?}",
                    k.chars().take(64).collect::<String>()
                ),
            ));
        }
        (None, Some(RawOrgs::List(list))) => {
            if list.is_empty() || list.len() > MAX_ORGS_LISTED {
                return Err((
                    "orgs",
                    format!("expected 1 to {MAX_ORGS_LISTED} organisation ids"),
                ));
            }
            let mut out = Vec::with_capacity(list.len());
            for id in list {
                let org = lookup(id)?;
                if out.contains(&org) {
                    return Err(("orgs", format!("{} is listed twice", org.id())));
                }
                out.push(org);
            }
            out
        }
        (Some(one), None) => {
            vec![lookup(one).map_err(|(f, m)| (if f == "orgs" { "org" } else { f }, m))?]
        }
        (None, None) => {
            vec![lookup(&s.id).map_err(|(f, m)| (if f == "orgs" { "id" } else { f }, m))?]
        }
    };
    Ok(orgs)
}

fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    s.parse::<SocketAddr>().map_err(|_| {
        format!("expected an IP address and port such as \"127.0.0.1:9101\", not {s:?}")
    })
}

fn parse_date(s: &str) -> Option<Date> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s, &fmt).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
control_listen = "127.0.0.1:9100"

[population]
seed = 7
size = 1000
as_of = "2026-11-26"

[[source]]
id = "gwh"
organisation = "Great Western Hospitals NHS Foundation Trust"
ods_code = "RN3"
kind = "fhir-r4"
listen = "127.0.0.1:9101"
latency_min_ms = 20
latency_max_ms = 120

[[source]]
id = "awp"
organisation = "Avon and Wiltshire Mental Health Partnership NHS Trust"
ods_code = "RVN"
kind = "fhir-r4"
listen = "127.0.0.1:9103"
latency_ms = 50
error_rate = 0.25
down = true
"#;

    #[test]
    fn parses_a_good_file() {
        let c = SimConfig::from_toml_str(GOOD, "sim.toml").unwrap();
        assert_eq!(c.seed, 7);
        assert_eq!(c.size, 1000);
        assert_eq!(c.as_of, parse_date("2026-11-26"));
        assert_eq!(c.control_listen, Some("127.0.0.1:9100".parse().unwrap()));
        assert_eq!(c.sources.len(), 2);
        assert_eq!(c.sources[0].org(), Some(Org::GWH));
        assert_eq!(c.sources[0].kind, Kind::FhirR4);
        assert_eq!(c.sources[1].orgs, [Org::AWP]);
        assert_eq!(
            c.sources[0].fault,
            Fault {
                latency_ms: Some(Latency::Uniform { min: 20, max: 120 }),
                error_rate: 0.0,
                down: false,
                ..Fault::default()
            }
        );
        assert_eq!(
            c.sources[1].fault,
            Fault {
                latency_ms: Some(Latency::Fixed(50)),
                error_rate: 0.25,
                down: true,
                ..Fault::default()
            }
        );
        let e = c.with_ephemeral_ports();
        assert!(e.sources.iter().all(|s| s.listen.port() == 0));
        assert_eq!(e.control_listen.map(|a| a.port()), Some(0));
    }

    fn err(text: &str) -> String {
        match SimConfig::from_toml_str(text, "x/sim.toml") {
            Ok(_) => panic!("accepted"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn errors_name_file_and_key() {
        let e = err(&GOOD.replace("127.0.0.1:9101", "localhost"));
        assert!(e.starts_with("x/sim.toml: source[0].listen: "), "{e}");
        let e = err(&GOOD.replace("error_rate = 0.25", "error_rate = 1.5"));
        assert!(e.starts_with("x/sim.toml: source[1].error_rate: "), "{e}");
        let e = err(&GOOD.replace("latency_min_ms = 20", "latency_min_ms = 200"));
        assert!(e.starts_with("x/sim.toml: source[0].latency_ms: "), "{e}");
        let e = err(&GOOD.replace("\"RVN\"", "\"RN3\""));
        assert!(e.starts_with("x/sim.toml: source[1].ods_code: "), "{e}");
        let e = err(&GOOD.replace("id = \"awp\"", "id = \"gp\""));
        assert!(e.starts_with("x/sim.toml: source[1].id: "), "{e}");
        let e = err(&GOOD.replace(
            "kind = \"fhir-r4\"\nlisten = \"127.0.0.1:9103\"",
            "kind = \"hl7v2\"\nlisten = \"127.0.0.1:9103\"",
        ));
        assert!(e.starts_with("x/sim.toml: source[1].kind: "), "{e}");
        let e = err(&GOOD.replace("size = 1000", "size = 0"));
        assert!(e.starts_with("x/sim.toml: population.size: "), "{e}");
        let e = err(&GOOD.replace("size = 1000", "size = \"many\""));
        assert!(e.starts_with("x/sim.toml: population.size: "), "{e}");
        let e = err(&GOOD.replace("down = true", "down = true\nflaky = 1"));
        assert!(e.starts_with("x/sim.toml: source[1]"), "{e}");
        assert!(e.contains("flaky"), "{e}");
        let e = err(&GOOD.replace("2026-11-26", "next week"));
        assert!(e.starts_with("x/sim.toml: population.as_of: "), "{e}");
        let e = err(&GOOD.replace("127.0.0.1:9103", "127.0.0.1:9101"));
        assert!(e.starts_with("x/sim.toml: source[1].listen: "), "{e}");
        let e = err("population = [");
        assert!(e.starts_with("x/sim.toml: "), "{e}");
        let e = err(&GOOD.replace("latency_ms = 50", "latency_ms = 50\nlatency_min_ms = 1"));
        assert!(e.starts_with("x/sim.toml: source[1].latency_ms: "), "{e}");
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_any_text(text in "\\PC{0,200}") {
            let _ = SimConfig::from_toml_str(&text, "fuzz.toml");
        }

        #[test]
        fn never_panics_on_mangled_good_files(cut in 0usize..900, insert in "[\\[\\]=\"a-z0-9.\n -]{0,8}") {
            let mut text = GOOD.to_string();
            let at = text.char_indices().map(|(i, _)| i).nth(cut % GOOD.len()).unwrap_or(0);
            text.insert_str(at, &insert);
            if let Err(e) = SimConfig::from_toml_str(&text, "fuzz.toml") {
                proptest::prop_assert!(e.to_string().starts_with("fuzz.toml: "));
            }
        }
    }

    /// A source that is not written as `GOOD`'s first.
    fn with_source(extra: &str) -> String {
        format!("{GOOD}\n[[source]]\n{extra}\n")
    }

    #[test]
    fn kinds_without_a_module_are_refused_by_name() {
        for kind in ["hl7v2", "gp-connect", "soap-xml", "cda"] {
            let parsed: Kind = kind.parse().unwrap();
            if protocol::module(parsed).is_some() {
                continue; // written since
            }
            let e = err(&GOOD.replace(
                "kind = \"fhir-r4\"\nlisten = \"127.0.0.1:9103\"",
                &format!("kind = \"{kind}\"\nlisten = \"127.0.0.1:9103\""),
            ));
            assert!(e.starts_with("x/sim.toml: source[1].kind: "), "{e}");
            assert!(
                e.contains(&format!("no simulator module serves kind \"{kind}\" yet")),
                "{e}"
            );
            assert!(e.contains("simulated kinds: fhir-r4, pds"), "{e}");
        }
        let e = err(&GOOD.replace(
            "kind = \"fhir-r4\"\nlisten = \"127.0.0.1:9103\"",
            "kind = \"mllp\"\nlisten = \"127.0.0.1:9103\"",
        ));
        assert!(
            e.starts_with("x/sim.toml: source[1].kind: unknown kind \"mllp\""),
            "{e}"
        );
    }

    #[test]
    fn organisations_and_groups() {
        // pds served by its own source, named after it; or under another id.
        let c = SimConfig::from_toml_str(
            &with_source("id = \"pds\"\nkind = \"pds\"\nlisten = \"127.0.0.1:9110\""),
            "x",
        )
        .unwrap();
        assert_eq!(c.sources[2].orgs, [Org::PDS]);
        let c = SimConfig::from_toml_str(
            &with_source(
                "id = \"spine\"\norg = \"pds\"\nkind = \"pds\"\nlisten = \"127.0.0.1:9110\"",
            ),
            "x",
        )
        .unwrap();
        assert_eq!(
            (c.sources[2].id.as_str(), c.sources[2].org()),
            ("spine", Some(Org::PDS))
        );
        let c = SimConfig::from_toml_str(
            &with_source("id = \"demographics\"\norgs = \"all\"\nkind = \"pds\"\nlisten = \"127.0.0.1:9110\""),
            "x",
        )
        .unwrap();
        assert_eq!(c.sources[2].orgs, [Org::PDS]);

        let cases = [
            // The organisation speaks another protocol.
            (
                "id = \"pds\"\nkind = \"fhir-r4\"\nlisten = \"127.0.0.1:9110\"",
                "source[2].kind: ",
                "pds speaks pds, not fhir-r4",
            ),
            // FHIR R4 serves every organisation at /fhir/r4: one each.
            (
                "id = \"trusts\"\norgs = [\"ruh\", \"sft\"]\nkind = \"fhir-r4\"\nlisten = \"127.0.0.1:9110\"",
                "source[2].orgs: ",
                "each needs a listener of its own",
            ),
            (
                "id = \"trusts\"\norgs = \"some\"\nkind = \"fhir-r4\"\nlisten = \"127.0.0.1:9110\"",
                "source[2].orgs: ",
                "expected \"all\"",
            ),
            (
                "id = \"trusts\"\norgs = []\nkind = \"fhir-r4\"\nlisten = \"127.0.0.1:9110\"",
                "source[2].orgs: ",
                "expected 1 to",
            ),
            (
                "id = \"trusts\"\norgs = [\"nobody\"]\nkind = \"fhir-r4\"\nlisten = \"127.0.0.1:9110\"",
                "source[2].orgs: ",
                "\"nobody\" is not a simulated organisation",
            ),
            (
                "id = \"x\"\norg = \"ruh\"\norgs = [\"ruh\"]\nkind = \"fhir-r4\"\nlisten = \"127.0.0.1:9110\"",
                "source[2].orgs: ",
                "not both",
            ),
            (
                "id = \"x\"\norg = \"nobody\"\nkind = \"fhir-r4\"\nlisten = \"127.0.0.1:9110\"",
                "source[2].org: ",
                "not a simulated organisation",
            ),
            // Served twice.
            (
                "id = \"again\"\norg = \"gwh\"\nkind = \"fhir-r4\"\nlisten = \"127.0.0.1:9110\"",
                "source[2].orgs: ",
                "gwh is already served by source \"gwh\"",
            ),
            // An organisation's id names that organisation only.
            (
                "id = \"sft\"\norg = \"ruh\"\nkind = \"fhir-r4\"\nlisten = \"127.0.0.1:9110\"",
                "source[2].id: ",
                "\"sft\" is the id of Salisbury",
            ),
            (
                "id = \"Bad Id\"\norg = \"ruh\"\nkind = \"fhir-r4\"\nlisten = \"127.0.0.1:9110\"",
                "source[2].id: ",
                "not usable as an id",
            ),
            (
                "id = \"pds\"\nkind = \"pds\"\nods_code = \"X27\"\nlisten = \"127.0.0.1:9110\"",
                "source[2].ods_code: ",
                "is X26",
            ),
            (
                "id = \"demographics\"\norgs = \"all\"\nkind = \"pds\"\nods_code = \"X26\"\nlisten = \"127.0.0.1:9110\"",
                "",
                "",
            ),
        ];
        for (extra, key, message) in cases {
            let text = with_source(extra);
            match SimConfig::from_toml_str(&text, "x/sim.toml") {
                Ok(_) if key.is_empty() => {}
                Ok(_) => panic!("accepted: {extra}"),
                Err(e) => {
                    let e = e.to_string();
                    assert!(e.starts_with(&format!("x/sim.toml: {key}")), "{extra}: {e}");
                    assert!(e.contains(message), "{extra}: {e}");
                }
            }
        }
    }

    #[test]
    fn all_sources_serves_every_simulated_organisation_once() {
        let c = SimConfig::all_sources(1, 10);
        let mut served: Vec<Org> = c.sources.iter().flat_map(|s| s.orgs.clone()).collect();
        served.sort();
        let mut want: Vec<Org> = Org::ALL
            .into_iter()
            .filter(|o| protocol::module(o.kind()).is_some())
            .collect();
        want.sort();
        assert_eq!(served, want);
        assert!(
            c.sources
                .iter()
                .all(|s| s.orgs.iter().all(|o| o.kind() == s.kind))
        );
        let only = SimConfig::only(1, 10, &[Org::RUH, Org::PDS]);
        let ids: Vec<&str> = only.sources.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["ruh", "pds"]);
    }

    #[test]
    fn missing_file_is_named() {
        let e = SimConfig::load(Path::new("/nonexistent/sim.toml")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("/nonexistent/sim.toml: cannot read")
        );
    }

    #[test]
    fn fault_json_forms() {
        let f: Fault = serde_json::from_str(r#"{"latency_ms": 200}"#).unwrap();
        assert_eq!(f.latency_ms, Some(Latency::Fixed(200)));
        let f: Fault =
            serde_json::from_str(r#"{"latency_ms": {"min": 5, "max": 9}, "error_rate": 0.5}"#)
                .unwrap();
        assert_eq!(f.latency_ms, Some(Latency::Uniform { min: 5, max: 9 }));
        assert_eq!(f.error_rate, 0.5);
        assert!(serde_json::from_str::<Fault>(r#"{"latency": 1}"#).is_err());
        assert_eq!(
            serde_json::to_string(&Fault::default()).unwrap(),
            r#"{"latency_ms":null,"error_rate":0.0,"down":false,"chaos":null,"chaos_rate":1.0}"#
        );
        let mut rng = SplitMix64::new(1);
        for _ in 0..100 {
            let v = Latency::Uniform { min: 5, max: 9 }.sample(&mut rng);
            assert!((5..=9).contains(&v));
        }
        assert!(
            Fault {
                error_rate: f64::NAN,
                ..Fault::default()
            }
            .validate()
            .is_err()
        );
    }

    #[test]
    fn chaos_and_log_normal_in_toml_and_json() {
        let c = SimConfig::from_toml_str(
            &GOOD.replace(
                "latency_ms = 50\n",
                "latency_median_ms = 40\nlatency_p99_ms = 400\nchaos = { mode = \"trickle\", bytes = 64, interval_ms = 200 }\nchaos_rate = 0.5\n",
            ),
            "x",
        )
        .unwrap();
        let f = &c.sources[1].fault;
        assert_eq!(
            f.latency_ms,
            Some(Latency::LogNormal {
                median: 40,
                p99: 400
            })
        );
        assert_eq!(
            f.chaos,
            Some(Chaos::Trickle {
                bytes: 64,
                interval_ms: 200
            })
        );
        assert_eq!(f.chaos_rate, 0.5);
        assert_eq!(c.sources[0].fault.chaos_rate, 1.0);

        let cases = [
            (
                "latency_ms = 50\n",
                "latency_ms = 50\nchaos_rate = 2\n",
                "source[1].chaos_rate: ",
            ),
            (
                "latency_ms = 50\n",
                "chaos = { mode = \"oversize\", bytes = 2000000000 }\n",
                "source[1].chaos: ",
            ),
            (
                "latency_ms = 50\n",
                "chaos = { mode = \"status\", code = 503, retry = 1 }\n",
                "source[1]",
            ),
            (
                "latency_ms = 50\n",
                "chaos = { mode = \"boom\" }\n",
                "source[1]",
            ),
            (
                "latency_ms = 50\n",
                "latency_median_ms = 40\n",
                "source[1].latency_p99_ms: ",
            ),
            (
                "latency_ms = 50\n",
                "latency_median_ms = 400\nlatency_p99_ms = 40\n",
                "source[1].latency_ms: ",
            ),
            (
                "latency_ms = 50\n",
                "latency_median_ms = 4\nlatency_p99_ms = 700000\n",
                "source[1].latency_ms: ",
            ),
            (
                "latency_ms = 50\n",
                "latency_ms = 5\nlatency_p99_ms = 40\n",
                "source[1].latency_ms: ",
            ),
        ];
        for (from, to, key) in cases {
            let e = err(&GOOD.replace(from, to));
            assert!(e.starts_with(&format!("x/sim.toml: {key}")), "{to}: {e}");
        }

        let f: Fault = serde_json::from_str(
            r#"{"latency_ms": {"median": 40, "p99": 400}, "chaos": {"mode": "status", "code": 429, "retry_after_s": 3}, "chaos_rate": 0.25}"#,
        )
        .unwrap();
        assert_eq!(
            f.latency_ms,
            Some(Latency::LogNormal {
                median: 40,
                p99: 400
            })
        );
        assert_eq!(
            f.chaos,
            Some(Chaos::Status {
                code: 429,
                retry_after_s: Some(3)
            })
        );
        assert!(f.validate().is_ok());
        for bad in [
            r#"{"latency_ms": {"median": 40, "p99": 400, "p50": 1}}"#,
            r#"{"latency_ms": {"min": 4, "max": 40, "p99": 1}}"#,
            r#"{"chaos": {"mode": "hang"}, "chaos_rat": 1}"#,
        ] {
            assert!(serde_json::from_str::<Fault>(bad).is_err(), "{bad}");
        }
        for bad in [
            r#"{"chaos_rate": 1.5}"#,
            r#"{"latency_ms": {"median": 0, "p99": 1}}"#,
            r#"{"chaos": {"mode": "trickle", "bytes": 64, "interval_ms": 60001}}"#,
        ] {
            let f: Fault = serde_json::from_str(bad).unwrap();
            assert!(f.validate().is_err(), "{bad}");
        }
    }

    #[test]
    fn log_normal_median_and_p99_are_about_right() {
        let l = Latency::LogNormal {
            median: 40,
            p99: 400,
        };
        let mut rng = SplitMix64::new(20_261_101);
        let mut v: Vec<u64> = (0..20_000).map(|_| l.sample(&mut rng)).collect();
        v.sort_unstable();
        let median = v[v.len() / 2];
        let p99 = v[v.len() * 99 / 100];
        assert!((36..=44).contains(&median), "median {median}");
        assert!((340..=470).contains(&p99), "p99 {p99}");
        let flat = Latency::LogNormal { median: 7, p99: 7 };
        assert!((0..100).all(|_| flat.sample(&mut rng) == 7));
        let wide = Latency::LogNormal {
            median: 1,
            p99: MAX_LOG_NORMAL_MS,
        };
        assert!((0..10_000).all(|_| wide.sample(&mut rng) <= MAX_LOG_NORMAL_MS));
    }
}

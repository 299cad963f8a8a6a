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
//! [[source]]
//! id = "gwh"
//! organisation = "Great Western Hospitals NHS Foundation Trust"
//! ods_code = "RN3"
//! kind = "fhir-r4"
//! listen = "127.0.0.1:9101"
//! latency_min_ms = 20        # or latency_ms = 50 for a fixed delay
//! latency_max_ms = 120
//! error_rate = 0.0           # fraction of requests answered 500
//! down = false               # true: the listener is closed
//! ```

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;

use serde::{Deserialize, Serialize};
use time::Date;

use crate::org::Org;
use crate::rng::SplitMix64;

/// The only source kind simulated so far.
pub const KIND_FHIR_R4: &str = "fhir-r4";

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
    /// The simulated sources.
    pub sources: Vec<SimSourceConfig>,
}

/// One simulated source system.
#[derive(Clone, Debug, PartialEq)]
pub struct SimSourceConfig {
    /// Source id: `gwh`, `ruh`, `awp` or `sft`; says whose records it serves.
    pub id: String,
    /// The organisation's name.
    pub organisation: String,
    /// The organisation's ODS code.
    pub ods_code: String,
    /// The protocol it speaks (`fhir-r4`).
    pub kind: String,
    /// Where it listens.
    pub listen: SocketAddr,
    /// The faults it shows from the start.
    pub fault: Fault,
}

impl SimSourceConfig {
    /// The organisation whose records the source serves.
    pub fn org(&self) -> Option<Org> {
        Org::from_id(&self.id)
    }
}

/// Faults a source shows: added latency, a share of failed requests, or
/// being down altogether. The default is a healthy source.
///
/// As JSON (the control API's `PUT /sources/{id}/fault` body):
/// `{"latency_ms": 200, "error_rate": 0.1, "down": false}`, with
/// `"latency_ms": {"min": 50, "max": 400}` for a uniformly random delay.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
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
}

/// A delay: fixed, or drawn uniformly from a range, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
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
}

impl Latency {
    /// One delay in milliseconds.
    pub fn sample(&self, rng: &mut SplitMix64) -> u64 {
        match *self {
            Latency::Fixed(ms) => ms,
            Latency::Uniform { min, max } => {
                min + rng.below(max.saturating_sub(min).saturating_add(1))
            }
        }
    }
}

impl Fault {
    /// Checks the values are usable: an error rate between 0 and 1, a
    /// latency range with `min <= max`, and no delay over two minutes.
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.error_rate) {
            return Err(format!(
                "error_rate must be between 0 and 1, not {}",
                self.error_rate
            ));
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
    organisation: String,
    ods_code: String,
    kind: String,
    listen: String,
    #[serde(default)]
    latency_ms: Option<u64>,
    #[serde(default)]
    latency_min_ms: Option<u64>,
    #[serde(default)]
    latency_max_ms: Option<u64>,
    #[serde(default)]
    error_rate: f64,
    #[serde(default)]
    down: bool,
}

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
        let mut addrs = HashSet::new();
        for (i, s) in raw.source.into_iter().enumerate() {
            let key = |field: &str| format!("source[{i}].{field}");
            let org = Org::from_id(&s.id).ok_or_else(|| {
                invalid(
                    key("id"),
                    format!(
                        "{:?} is not a simulated organisation; expected one of gwh, ruh, awp, sft",
                        s.id
                    ),
                )
            })?;
            if !ids.insert(org) {
                return Err(invalid(
                    key("id"),
                    format!("source {:?} is configured twice", s.id),
                ));
            }
            if s.organisation != org.name() {
                return Err(invalid(
                    key("organisation"),
                    format!(
                        "source {} is {:?}, not {:?}",
                        s.id,
                        org.name(),
                        s.organisation
                    ),
                ));
            }
            if !s.ods_code.eq_ignore_ascii_case(org.ods_code()) {
                return Err(invalid(
                    key("ods_code"),
                    format!(
                        "the ODS code of {} is {}, not {:?}",
                        org.name(),
                        org.ods_code(),
                        s.ods_code
                    ),
                ));
            }
            if s.kind != KIND_FHIR_R4 {
                return Err(invalid(
                    key("kind"),
                    format!("only \"{KIND_FHIR_R4}\" is simulated, not {:?}", s.kind),
                ));
            }
            let listen = parse_addr(&s.listen).map_err(|m| invalid(key("listen"), m))?;
            if listen.port() != 0 && !addrs.insert(listen) {
                return Err(invalid(
                    key("listen"),
                    format!("{listen} is already used by another source"),
                ));
            }
            let latency_ms = match (s.latency_ms, s.latency_min_ms, s.latency_max_ms) {
                (None, None, None) => None,
                (Some(ms), None, None) => Some(Latency::Fixed(ms)),
                (None, Some(min), Some(max)) => Some(Latency::Uniform { min, max }),
                (Some(_), _, _) => {
                    return Err(invalid(
                        key("latency_ms"),
                        "give either latency_ms or latency_min_ms and latency_max_ms, not both"
                            .into(),
                    ));
                }
                (None, None, Some(_)) => {
                    return Err(invalid(
                        key("latency_min_ms"),
                        "latency_max_ms needs latency_min_ms".into(),
                    ));
                }
                (None, Some(_), None) => {
                    return Err(invalid(
                        key("latency_max_ms"),
                        "latency_min_ms needs latency_max_ms".into(),
                    ));
                }
            };
            let fault = Fault {
                latency_ms,
                error_rate: s.error_rate,
                down: s.down,
            };
            fault.validate().map_err(|m| {
                let field = if m.starts_with("error_rate") {
                    "error_rate"
                } else {
                    "latency_ms"
                };
                invalid(key(field), m)
            })?;
            sources.push(SimSourceConfig {
                id: s.id,
                organisation: s.organisation,
                ods_code: org.ods_code().to_string(),
                kind: s.kind,
                listen,
                fault,
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

    /// A configuration with all four organisations on ephemeral loopback
    /// ports, healthy, for tests and examples.
    pub fn all_sources(seed: u64, size: usize) -> Self {
        let any = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
        Self {
            seed,
            size,
            as_of: None,
            control_listen: Some(any),
            sources: Org::ALL
                .into_iter()
                .map(|o| SimSourceConfig {
                    id: o.id().to_string(),
                    organisation: o.name().to_string(),
                    ods_code: o.ods_code().to_string(),
                    kind: KIND_FHIR_R4.to_string(),
                    listen: any,
                    fault: Fault::default(),
                })
                .collect(),
        }
    }
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
        assert_eq!(c.sources[0].org(), Some(Org::Gwh));
        assert_eq!(
            c.sources[0].fault,
            Fault {
                latency_ms: Some(Latency::Uniform { min: 20, max: 120 }),
                error_rate: 0.0,
                down: false
            }
        );
        assert_eq!(
            c.sources[1].fault,
            Fault {
                latency_ms: Some(Latency::Fixed(50)),
                error_rate: 0.25,
                down: true
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
            r#"{"latency_ms":null,"error_rate":0.0,"down":false}"#
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
}

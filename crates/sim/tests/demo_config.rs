//! `config/demo/sim.toml` loads, agrees with the gateway's registrations in
//! `config/demo/sources.d/`, and the patients `config/demo/README.md` names
//! exist as described.

use std::path::PathBuf;

use icr_model::NhsNumber;
use icr_sim::protocol::{self, Module};
use icr_sim::{Kind, Latency, Org, Population, SimConfig};

fn demo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/demo")
}

#[test]
fn the_demo_trusts_show_every_fhir_round_trip_plan() {
    use icr_sim::fhir::FhirSearch;
    let c = SimConfig::load(&demo_dir().join("sim.toml")).unwrap();
    let taken: Vec<(&str, FhirSearch)> = c
        .sources
        .iter()
        .filter(|s| s.kind == Kind::FhirR4)
        .map(|s| (s.id.as_str(), s.fhir_search))
        .collect();
    let only = |batch, chained, revinclude| FhirSearch {
        batch,
        chained,
        revinclude,
    };
    assert_eq!(
        taken,
        [
            ("gwh", FhirSearch::ALL),
            ("ruh", FhirSearch::ALL),
            ("awp", only(false, true, false)),
            ("sft", FhirSearch::ALL),
            ("whc", FhirSearch::ALL),
            ("oxford-health", only(false, false, true)),
            ("hcrg", FhirSearch::NONE),
        ]
    );
    // AWP's registration says it chains, so that its searches go in one wave.
    let awp = std::fs::read_to_string(demo_dir().join("sources.d/awp.toml")).unwrap();
    assert!(awp.contains("chains = true\nmax_concurrent_searches = 16\n"));
}

#[test]
fn sim_toml_loads_with_the_documented_ports() {
    let c = SimConfig::load(&demo_dir().join("sim.toml")).unwrap();
    assert_eq!(c.seed, 20_261_101);
    assert_eq!(c.size, 1200);
    assert_eq!(c.as_of, None);
    assert_eq!(c.control_listen, Some("127.0.0.1:9100".parse().unwrap()));
    // The planned ports (config/demo/README.md lists them): every
    // organisation is on its own, or in the one group that shares a port.
    let planned = |org: Org| -> &'static str {
        match org.id() {
            "gwh" => "127.0.0.1:9101",
            "ruh" => "127.0.0.1:9102",
            "awp" => "127.0.0.1:9103",
            "sft" => "127.0.0.1:9104",
            "whc" => "127.0.0.1:9105",
            "oxford-health" => "127.0.0.1:9106",
            "hcrg" => "127.0.0.1:9107",
            "pds" => "127.0.0.1:9110",
            "pathology" => "127.0.0.1:9301",
            "radiology" => "127.0.0.1:9302",
            "wiltshire-council" => "127.0.0.1:9401",
            "swindon-council" => "127.0.0.1:9402",
            "banes-council" => "127.0.0.1:9403",
            "medvivo" => "127.0.0.1:9501",
            _ if org.kind() == Kind::GpConnect => "127.0.0.1:9201",
            other => panic!("no port planned for {other}"),
        }
    };
    for s in &c.sources {
        for org in &s.orgs {
            assert_eq!(s.listen.to_string(), planned(*org), "{}", org.id());
            assert_eq!(s.kind, org.kind());
        }
    }
    // The FHIR R4 and PDS sources, as the gateway's registrations expect.
    let first: Vec<(&str, Kind, &[Org])> = c
        .sources
        .iter()
        .take(8)
        .map(|s| (s.id.as_str(), s.kind, s.orgs.as_slice()))
        .collect();
    assert_eq!(
        first,
        [
            ("gwh", Kind::FhirR4, [Org::GWH].as_slice()),
            ("ruh", Kind::FhirR4, [Org::RUH].as_slice()),
            ("awp", Kind::FhirR4, [Org::AWP].as_slice()),
            ("sft", Kind::FhirR4, [Org::SFT].as_slice()),
            ("whc", Kind::FhirR4, [Org::WHC].as_slice()),
            (
                "oxford-health",
                Kind::FhirR4,
                [Org::OXFORD_HEALTH].as_slice()
            ),
            ("hcrg", Kind::FhirR4, [Org::HCRG].as_slice()),
            ("pds", Kind::Pds, [Org::PDS].as_slice()),
        ]
    );
    let readme = std::fs::read_to_string(demo_dir().join("README.md")).unwrap();
    for s in &c.sources {
        assert!(
            readme.contains(&format!("`{}`", s.listen)),
            "config/demo/README.md does not list {}",
            s.listen
        );
    }
    // Healthy, and well inside the gateway's per-source timeouts.
    for s in &c.sources {
        assert!(!s.fault.down);
        assert_eq!(s.fault.error_rate, 0.0);
        let worst = match s.fault.latency_ms {
            Some(
                Latency::Fixed(ms)
                | Latency::Uniform { max: ms, .. }
                | Latency::LogNormal { p99: ms, .. },
            ) => ms,
            None => 0,
        };
        assert!(worst <= 500, "{}: {worst}", s.id);
    }
}

/// The gateway's registrations point at the simulated sources.
#[test]
fn sources_d_points_at_the_simulators() {
    let dir = demo_dir().join("sources.d");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return; // not written yet
    };
    let c = SimConfig::load(&demo_dir().join("sim.toml")).unwrap();
    for e in entries.flatten() {
        let text = std::fs::read_to_string(e.path()).unwrap();
        let v: toml::Table = toml::from_str(&text).unwrap();
        let id = v["id"].as_str().unwrap();
        let Some(org) = Org::from_id(id) else {
            continue; // not an organisation of the simulated region
        };
        let Some(s) = c.sources.iter().find(|s| s.orgs.contains(&org)) else {
            continue; // an organisation the demo does not simulate yet
        };
        let endpoint = match protocol::module(s.kind) {
            Some(Module::Http(m)) => format!("http://{}{}", s.listen, m.base_path(org)),
            Some(Module::Tcp(m)) => format!("{}://{}", m.scheme(), s.listen),
            None => unreachable!("a loaded source has a module"),
        };
        assert_eq!(
            v["endpoint"].as_str().unwrap(),
            endpoint,
            "{}",
            e.path().display()
        );
        assert_eq!(v["ods_code"].as_str().unwrap(), org.ods_code());
        assert_eq!(v["organisation"].as_str().unwrap(), org.name());
        assert_eq!(v["kind"].as_str().unwrap(), org.kind().as_str());
    }
}

/// Every organisation of the simulated region is registered with the
/// gateway: each by its own file in `sources.d/`, the GP practices through
/// the practice directory, so that counting the region's organisations and
/// the gateway's sources gives the same number.
#[test]
fn every_simulated_organisation_is_registered_with_the_gateway() {
    let mut registered = std::collections::BTreeSet::new();
    for e in std::fs::read_dir(demo_dir().join("sources.d")).unwrap() {
        let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
        let v: toml::Table = toml::from_str(&text).unwrap();
        registered.insert(v["id"].as_str().unwrap().to_string());
    }
    let directory = std::fs::read_to_string(demo_dir().join("practices.toml")).unwrap();
    for org in Org::ALL {
        if org.role() == icr_sim::Role::GpPractice {
            let entry = format!("ods_code = \"{}\"", org.ods_code());
            assert!(
                directory.contains(&entry),
                "{org:?} is not in practices.toml"
            );
        } else {
            assert!(
                registered.contains(org.id()),
                "{org:?} has no sources.d file"
            );
        }
    }
    // The region's organisations: one per registered file but gp.toml,
    // and one per practice of the directory.
    let practices = directory.matches("[[practice]]").count();
    assert_eq!(registered.len() - 1 + practices, Org::ALL.len());
    assert_eq!(Org::ALL.len(), 36);
}

/// Every NHS number in the README is a story patient, a documented
/// generated patient with the right name and organisations, or one of the
/// error-path numbers.
#[test]
fn readme_patients_exist_as_described() {
    let readme = std::fs::read_to_string(demo_dir().join("README.md")).unwrap();
    let objections = std::fs::read_to_string(demo_dir().join("objections.toml")).unwrap();
    let pop = Population::generate(20_261_101, 1200);
    let mut generated = 0;
    let mut stories = 0;
    for line in readme.lines() {
        for n in numbers(line) {
            match n.as_str() {
                "9990000999" => {
                    let nhs = NhsNumber::parse(&n).unwrap();
                    assert!(pop.get(&nhs).is_none());
                    continue;
                }
                "9990000019" => {
                    assert!(NhsNumber::parse(&n).is_err());
                    continue;
                }
                // The demo register's objector to all sharing: the refusal
                // comes before any source is asked.
                "9990000115" => {
                    let nhs = NhsNumber::parse(&n).unwrap();
                    assert!(pop.get(&nhs).is_none());
                    assert!(objections.contains(&n));
                    continue;
                }
                _ => {}
            }
            let nhs = NhsNumber::parse(&n).unwrap_or_else(|e| panic!("{n}: {e}"));
            let p = pop
                .get(&nhs)
                .unwrap_or_else(|| panic!("{n} is not in the population"));
            if !line.starts_with('|') {
                continue; // an example command
            }
            let family = p.truth.demographics.names[0].family.clone().unwrap();
            assert!(line.contains(&family.to_uppercase()), "{n}: {line}");
            // Every organisation holding the person is named; PDS holds
            // everyone, so it goes without saying.
            for org in p.orgs().filter(|o| *o != Org::PDS) {
                assert!(line.contains(org.id()), "{n} held by {org}: {line}");
            }
            if p.story.is_some() {
                stories += 1;
            } else {
                generated += 1;
            }
        }
    }
    assert_eq!(stories, icr_sim::STORY_COUNT);
    assert!(generated >= 5);
}

/// 999-range numbers in a line, written compact or grouped 3-3-4.
fn numbers(line: &str) -> Vec<String> {
    let chars: Vec<char> = line.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() && (i == 0 || !chars[i - 1].is_ascii_digit()) {
            let mut digits = String::new();
            let mut j = i;
            while j < chars.len() && (chars[j].is_ascii_digit() || chars[j] == ' ') {
                if chars[j].is_ascii_digit() {
                    digits.push(chars[j]);
                }
                if digits.len() == 10 {
                    break;
                }
                j += 1;
            }
            if digits.len() == 10 && digits.starts_with("999") {
                out.push(digits);
                i = j;
            }
        }
        i += 1;
    }
    out
}

//! `config/demo/sim.toml` loads, agrees with the gateway's registrations in
//! `config/demo/sources.d/`, and the patients `config/demo/README.md` names
//! exist as described.

use std::path::PathBuf;

use icr_model::NhsNumber;
use icr_sim::{Latency, Org, Population, SimConfig};

fn demo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/demo")
}

#[test]
fn sim_toml_loads_with_the_documented_ports() {
    let c = SimConfig::load(&demo_dir().join("sim.toml")).unwrap();
    assert_eq!(c.seed, 20_261_101);
    assert_eq!(c.size, 1200);
    assert_eq!(c.as_of, None);
    assert_eq!(c.control_listen, Some("127.0.0.1:9100".parse().unwrap()));
    let got: Vec<(String, String, String)> = c
        .sources
        .iter()
        .map(|s| (s.id.clone(), s.ods_code.clone(), s.listen.to_string()))
        .collect();
    let want = [
        ("gwh", "RN3", "127.0.0.1:9101"),
        ("ruh", "RD1", "127.0.0.1:9102"),
        ("awp", "RVN", "127.0.0.1:9103"),
        ("sft", "RNZ", "127.0.0.1:9104"),
    ];
    assert_eq!(got.len(), 4);
    for ((id, ods, listen), (wid, wods, wlisten)) in got.iter().zip(want) {
        assert_eq!(
            (id.as_str(), ods.as_str(), listen.as_str()),
            (wid, wods, wlisten)
        );
        let org = Org::from_id(id).unwrap();
        assert_eq!(
            c.sources.iter().find(|s| &s.id == id).unwrap().organisation,
            org.name()
        );
    }
    // Healthy, and well inside the gateway's per-source timeouts.
    for s in &c.sources {
        assert!(!s.fault.down);
        assert_eq!(s.fault.error_rate, 0.0);
        let worst = match s.fault.latency_ms {
            Some(Latency::Fixed(ms) | Latency::Uniform { max: ms, .. }) => ms,
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
        let Some(s) = c.sources.iter().find(|s| s.id == id) else {
            continue; // a source that is not simulated
        };
        assert_eq!(
            v["endpoint"].as_str().unwrap(),
            format!("http://{}/fhir/r4", s.listen),
            "{}",
            e.path().display()
        );
        assert_eq!(v["ods_code"].as_str().unwrap(), s.ods_code);
        assert_eq!(v["kind"].as_str().unwrap(), "fhir-r4");
    }
}

/// Every NHS number in the README is a story patient, a documented
/// generated patient with the right name and organisations, or one of the
/// two error-path numbers.
#[test]
fn readme_patients_exist_as_described() {
    let readme = std::fs::read_to_string(demo_dir().join("README.md")).unwrap();
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
            for org in p.orgs() {
                assert!(line.contains(org.id()), "{n} held by {org}: {line}");
            }
            if p.story.is_some() {
                stories += 1;
            } else {
                generated += 1;
            }
        }
    }
    assert_eq!(stories, 5);
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

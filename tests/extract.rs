//! The population-health extract over the whole demo population, end to
//! end through `icr extract demo` (the simulated region's 1,200 people
//! read through every adapter, merged, filtered, audited, pseudonymised,
//! written):
//!
//! - nobody's NHS number, name, address, postcode, telephone, date of
//!   birth or source record id appears anywhere in the output, searched
//!   byte by byte (the NDJSON as written, the Parquet tables as DuckDB
//!   reads them) against everything the population holds;
//! - objectors and national opt-outs are absent, and counted;
//! - two runs with the same key give identical files; a run stopped half
//!   way (SIGINT) and resumed gives the same files as one uninterrupted;
//!   another key gives no pseudonym in common;
//! - the Parquet tables match the NDJSON as DuckDB reads them;
//! - no published count is below the threshold; shards merge to the whole;
//! - every person read is one audited access naming the run.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use common::copy_dir;
use icr_sim::population::Population;
use icr_testkit::files_under as files;

const DATE: &str = "2026-12-01";
const OTHER_DATE: &str = "2026-11-30";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("icr-extract-e2e-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn icr() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_icr"));
    c.current_dir(root()).env("RUST_LOG", "warn");
    c
}

/// Runs `icr extract demo` with `args`; what it said on standard output.
/// Panics with its output on failure.
fn extract(args: &[&str]) -> String {
    let out = icr().args(["extract", "demo"]).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "icr extract demo {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The uninterrupted run everyone compares with (made once).
fn reference() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let out = scratch("reference");
        let audit = scratch("reference-audit");
        extract(&[
            "--out",
            out.to_str().unwrap(),
            "--date",
            DATE,
            "--audit-dir",
            audit.to_str().unwrap(),
        ]);
        out
    })
}

fn reference_audit() -> PathBuf {
    reference();
    std::env::temp_dir().join(format!(
        "icr-extract-e2e-{}-reference-audit",
        std::process::id()
    ))
}

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

fn population() -> Population {
    // config/demo/sim.toml's seed and size.
    Population::generate(20_261_101, 1200)
}

fn demo_key() -> icr_pseudonymise::ProjectKey {
    let bytes = std::fs::read(root().join("config/demo/extract/project.key")).unwrap();
    icr_pseudonymise::ProjectKey::from_bytes(&bytes).unwrap()
}

fn nhs(s: &str) -> icr_model::NhsNumber {
    icr_model::NhsNumber::parse(s).unwrap()
}

/// The Patient pseudonyms of an extract.
fn people(dir: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(dir.join("fhir/Patient.ndjson")).unwrap();
    text.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["id"].as_str().unwrap().to_owned()
        })
        .collect()
}

/// The Python with DuckDB (tools/extract-readers), if installed; under
/// CI it must be.
fn duckdb() -> Option<PathBuf> {
    let python = root().join("tools/extract-readers/.venv/bin/python");
    if python.is_file() {
        return Some(python);
    }
    let message = "DuckDB is not installed: run `bash tools/extract-readers/install.sh`";
    assert!(!icr_testkit::in_ci(), "CI=true and {message}");
    eprintln!("SKIPPED the DuckDB parts: {message}");
    None
}

/// Every Parquet table of `dir` as DuckDB reads it, as CSV text.
fn parquet_as_text(python: &Path, dir: &Path) -> Vec<u8> {
    let script = "import duckdb, glob, sys\n\
                  for f in sorted(glob.glob(sys.argv[1] + '/omop/*.parquet')):\n\
                  \x20   rel = duckdb.sql(f\"SELECT * FROM read_parquet('{f}')\")\n\
                  \x20   for row in rel.fetchall():\n\
                  \x20       print(','.join('' if v is None else str(v) for v in row))\n";
    let out = Command::new(python)
        .args(["-c", script, dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// What identifies the population's people, as text that must appear
/// nowhere in an extract (each with what it is, for the failure message).
fn identifiers(pop: &Population) -> Vec<(String, &'static str)> {
    let mut out: BTreeMap<String, &'static str> = BTreeMap::new();
    for p in pop.iter() {
        let n = p.nhs_number.to_string();
        out.insert(
            format!("{} {} {}", &n[0..3], &n[3..6], &n[6..]),
            "NHS number",
        );
        out.insert(n, "NHS number");
        let all = std::iter::once(&p.truth.demographics)
            .chain(p.holdings.iter().map(|h| &h.demographics));
        for d in all {
            for name in &d.names {
                let json = serde_json::to_value(name).unwrap();
                for part in strings(&json) {
                    if part.chars().count() >= 3 {
                        out.insert(part, "name");
                    }
                }
            }
            for a in &d.addresses {
                let json = serde_json::to_value(a).unwrap();
                for part in strings(&json) {
                    // Whole address lines and postcodes; a town or county
                    // is not a person's (the district is kept by design).
                    if part.chars().any(|c| c.is_ascii_digit()) && part.len() >= 5 {
                        out.insert(part.clone(), "address or postcode");
                        out.insert(part.replace(' ', ""), "address or postcode");
                    }
                }
            }
            for t in &d.telecom {
                let json = serde_json::to_value(t).unwrap();
                for part in strings(&json) {
                    if part.chars().filter(char::is_ascii_digit).count() >= 6 {
                        out.insert(part, "telephone or email");
                    }
                }
            }
        }
        for h in &p.holdings {
            out.insert(h.patient_id.clone(), "source patient id");
            for r in &h.records {
                out.insert(r.local_id(), "source record id");
            }
        }
    }
    out.into_iter().collect()
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    match v {
        serde_json::Value::String(s) => vec![s.clone()],
        serde_json::Value::Array(a) => a.iter().flat_map(strings).collect(),
        serde_json::Value::Object(m) => m.values().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

/// Each person's date of birth, by their pseudonym.
fn births(pop: &Population) -> BTreeMap<String, String> {
    let key = demo_key();
    pop.iter()
        .filter_map(|p| {
            let birth = p.truth.demographics.birth_date.as_ref()?;
            let pseudonym = icr_pseudonymise::Pseudonym::person(&key, p.nhs_number);
            Some((pseudonym.as_str().to_owned(), birth.to_string()))
        })
        .collect()
}

#[test]
fn the_demo_extract_names_nobody_and_leaves_out_objectors_and_opt_outs() {
    let dir = reference();
    let written = files(dir);
    for f in [
        "manifest.json",
        "summary.csv",
        "summary.md",
        "fhir/Patient.ndjson",
        "fhir/Condition.ndjson",
        "omop/person.parquet",
        "omop/visit_occurrence.parquet",
        "omop/condition_occurrence.parquet",
        "omop/drug_exposure.parquet",
        "omop/measurement.parquet",
        "omop/procedure_occurrence.parquet",
        "omop/observation.parquet",
    ] {
        assert!(written.contains_key(f), "{f} missing: {:?}", written.keys());
    }
    assert!(!written.contains_key("checkpoint.json"));

    // Counts: the cohort is the practices' registered lists; every person
    // is accounted for, the national opt-outs (4) and objectors left out.
    let m = manifest(dir);
    let c = &m["counts"];
    let n = |k: &str| c[k].as_u64().unwrap();
    let pop = population();
    let registered = pop
        .iter()
        .filter(|p| p.registered_practice().is_some())
        .count() as u64;
    assert_eq!(n("in_cohort"), registered);
    assert_eq!(n("national_opt_out"), 4);
    let register = ["9990000115", "9996391582"];
    let objectors_in_cohort = register
        .iter()
        .filter(|o| {
            pop.get(&nhs(o))
                .and_then(|p| p.registered_practice())
                .is_some()
        })
        .count() as u64;
    assert_eq!(n("objected"), objectors_in_cohort);
    assert_eq!(
        n("extracted") + n("objected") + n("national_opt_out") + n("not_found"),
        n("in_cohort")
    );
    assert_eq!(people(dir).len() as u64, n("extracted"));
    assert_eq!(m["key_id"].as_str().unwrap(), demo_key().key_id());

    // Nobody's identifiers anywhere: the files as written, the key itself,
    // and the Parquet tables as an independent reader decodes them.
    let mut haystack: Vec<u8> = Vec::new();
    for bytes in written.values() {
        haystack.extend_from_slice(bytes);
        haystack.push(b'\n');
    }
    if let Some(python) = duckdb() {
        haystack.extend(parquet_as_text(&python, dir));
    }
    let ids = identifiers(&pop);
    assert!(ids.len() > 10_000, "only {} identifiers", ids.len());
    let key_text = std::fs::read(root().join("config/demo/extract/project.key")).unwrap();
    let finder = aho_corasick::AhoCorasick::new(
        ids.iter()
            .map(|(s, _)| s.as_bytes())
            .chain([key_text.as_slice()]),
    )
    .unwrap();
    // A match inside a longer run of digits is not that identifier (a
    // 19-digit OMOP id holds many ten-digit runs by chance).
    let digit = |i: Option<usize>| {
        i.and_then(|i| haystack.get(i))
            .is_some_and(u8::is_ascii_digit)
    };
    // The search itself finds what it looks for (a person's NHS number
    // and family name planted in a line like the extract's).
    let first = pop.iter().next().unwrap();
    let family = serde_json::to_value(&first.truth.demographics.names[0]).unwrap()["family"]
        .as_str()
        .unwrap()
        .to_owned();
    let planted = format!("{{\"id\":\"{}\",\"x\":\"{family}\"}}", first.nhs_number);
    assert!(finder.find_overlapping_iter(planted.as_bytes()).count() >= 2);
    let found: Vec<String> = finder
        .find_overlapping_iter(&haystack)
        .filter(|m| !digit(m.start().checked_sub(1)) && !digit(Some(m.end())))
        .take(5)
        .map(|m| {
            let at = m.pattern().as_usize();
            let what = ids.get(at).map_or("the project key", |(_, w)| w);
            let start = m.start().saturating_sub(60);
            let end = (m.end() + 60).min(haystack.len());
            format!(
                "{what}: …{}…",
                String::from_utf8_lossy(&haystack[start..end])
            )
        })
        .collect();
    assert!(
        found.is_empty(),
        "identifiers in the extract:\n{}",
        found.join("\n")
    );

    // Nobody's date of birth in their own resources (another person's
    // event may fall on it; the person's own birthday events are kept to
    // their month).
    let births = births(&pop);
    for (name, bytes) in written.iter().filter(|(n, _)| n.ends_with(".ndjson")) {
        for line in String::from_utf8_lossy(bytes).lines() {
            for (pseudonym, birth) in &births {
                if line.contains(pseudonym.as_str()) {
                    assert!(
                        !line.contains(birth.as_str()),
                        "{name}: a date of birth: {line}"
                    );
                }
            }
        }
    }

    // Objectors and opt-outs: their pseudonyms appear nowhere.
    let key = demo_key();
    let opt_outs =
        std::fs::read_to_string(root().join("config/demo/extract/national-opt-out.txt")).unwrap();
    let left_out: Vec<String> = opt_outs
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.replace(' ', ""))
        .chain(register.iter().map(|s| s.to_string()))
        .collect();
    let text = String::from_utf8_lossy(&haystack);
    for who in &left_out {
        let p = icr_pseudonymise::Pseudonym::person(&key, nhs(who));
        assert!(
            !text.contains(p.as_str()),
            "a left-out person is in the extract"
        );
    }

    // The summary publishes no count from 1 to 9.
    let summary = std::fs::read_to_string(dir.join("summary.csv")).unwrap();
    let mut suppressed = 0;
    for line in summary.lines() {
        for cell in line.split(',').skip(1) {
            if cell == "*" {
                suppressed += 1;
            } else if let Ok(v) = cell.parse::<u64>() {
                assert!(v == 0 || v >= 10, "a small count published: {line}");
            }
        }
    }
    assert!(
        suppressed > 0,
        "nothing suppressed: the check proves nothing\n{summary}"
    );

    // The tables match the NDJSON as DuckDB reads them.
    if let Some(python) = duckdb() {
        let out = Command::new(&python)
            .arg(root().join("tools/extract-readers/read_extract.py"))
            .arg(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "DuckDB read-back:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn every_person_read_is_one_audited_access_naming_the_run() {
    let m = manifest(reference());
    let run = m["run_id"].as_str().unwrap().to_owned();
    let c = &m["counts"];
    let mut accesses = 0u64;
    let mut refused = 0u64;
    for f in std::fs::read_dir(reference_audit()).unwrap() {
        let p = f.unwrap().path();
        if p.extension().is_none_or(|e| e != "jsonl") {
            continue;
        }
        for line in std::fs::read_to_string(&p).unwrap().lines() {
            let e: serde_json::Value = serde_json::from_str(line).unwrap();
            // A whole access, or the completion of a begun one.
            let Some(r) = e.get("access").or_else(|| e.get("completion")) else {
                continue;
            };
            assert_eq!(r["interaction"], "extract");
            assert_eq!(r["user"]["sub"], format!("extract/{run}"));
            assert_eq!(r["purpose"], "population-health");
            accesses += 1;
            if r["decision"] == "refused" {
                refused += 1;
                assert_eq!(r["reason"], "no-patient-consent");
            } else {
                assert_eq!(r["basis"], "population-health");
            }
        }
    }
    // Everyone but the national opt-outs, who are never read.
    assert_eq!(
        accesses,
        c["in_cohort"].as_u64().unwrap() - c["national_opt_out"].as_u64().unwrap()
    );
    assert_eq!(refused, c["objected"].as_u64().unwrap());
}

#[test]
fn a_run_stopped_half_way_and_resumed_writes_the_same_files_as_an_uninterrupted_one() {
    let out = scratch("resumed");
    let mut child = icr()
        .args([
            "extract",
            "demo",
            "--out",
            out.to_str().unwrap(),
            "--date",
            DATE,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Progress lines come at every tenth: stop it once a third is done.
    // Standard error is closed from then on, as when a terminal goes: the
    // stop must still be acted on.
    let stderr = BufReader::new(child.stderr.take().unwrap());
    for line in stderr.lines() {
        let line = line.unwrap();
        let done = line
            .split_once("] ")
            .and_then(|(_, rest)| rest.split_once('/'))
            .and_then(|(d, _)| d.parse::<u64>().ok());
        if done.is_some_and(|d| d >= 360) {
            let pid = rustix::process::Pid::from_child(&child);
            rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
            break;
        }
    }
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "the run finished before it could be stopped: {:?}",
        std::fs::read_dir(&out).map(|d| d.count())
    );
    let stopped: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("checkpoint.json")).unwrap()).unwrap();
    let at = stopped["next_position"].as_u64().unwrap();
    assert!((360..1200).contains(&at), "stopped at {at}");

    extract(&["--out", out.to_str().unwrap(), "--resume"]);
    let (resumed, whole) = (files(&out), files(reference()));
    assert_eq!(
        resumed.keys().collect::<Vec<_>>(),
        whole.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &whole {
        assert!(resumed[name] == *bytes, "{name} differs after resuming");
    }
}

#[test]
fn the_same_key_gives_the_same_pseudonyms_and_another_key_none_in_common() {
    // Another day's run, same key: the same people under the same names.
    let same = scratch("same-key");
    extract(&["--out", same.to_str().unwrap(), "--date", OTHER_DATE]);
    let reference_people = people(reference());
    assert_eq!(people(&same), reference_people);

    // Another key: a copy of the demo's extract configuration with its own
    // key; no pseudonym in common.
    let config = scratch("other-key-config");
    copy_dir(&root().join("config/demo"), &config);
    std::fs::write(
        config.join("extract/project.key"),
        "another-project-key-0123456789abcdef0123456789abcdef",
    )
    .unwrap();
    let other = scratch("other-key");
    extract(&[
        "--config",
        config.to_str().unwrap(),
        "--out",
        other.to_str().unwrap(),
        "--date",
        DATE,
    ]);
    let other_people = people(&other);
    assert_eq!(other_people.len(), reference_people.len());
    assert!(other_people.is_disjoint(&reference_people));
    let all = |dir: &Path| -> BTreeSet<String> {
        let mut ids = BTreeSet::new();
        for (name, bytes) in files(dir) {
            if name.ends_with(".ndjson") {
                for line in String::from_utf8_lossy(&bytes).lines() {
                    let v: serde_json::Value = serde_json::from_str(line).unwrap();
                    ids.insert(v["id"].as_str().unwrap().to_owned());
                }
            }
        }
        ids
    };
    assert!(all(&other).is_disjoint(&all(reference())));
    assert_ne!(manifest(&other)["key_id"], manifest(reference())["key_id"]);
}

#[test]
fn shards_written_apart_merge_into_the_whole_extract() {
    let out = scratch("shards");
    for shard in ["0/3", "1/3", "2/3"] {
        extract(&[
            "--out",
            out.to_str().unwrap(),
            "--date",
            DATE,
            "--shard",
            shard,
        ]);
    }
    let merged = icr()
        .args(["extract", "merge", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        merged.status.success(),
        "{}",
        String::from_utf8_lossy(&merged.stderr)
    );
    let (m, whole) = (manifest(&out), manifest(reference()));
    assert_eq!(m["counts"], whole["counts"]);
    assert_eq!(m["run_id"], whole["run_id"]);
    // The same summary, suppressed once over everyone.
    assert_eq!(
        std::fs::read(out.join("summary.csv")).unwrap(),
        std::fs::read(reference().join("summary.csv")).unwrap()
    );
    // The same people, each in one shard.
    let mut union = BTreeSet::new();
    for shard in ["shard-0-of-3", "shard-1-of-3", "shard-2-of-3"] {
        let part = people(&out.join(shard));
        assert!(union.is_disjoint(&part));
        union.extend(part);
    }
    assert_eq!(union, people(reference()));
}

/// What the Kubernetes Job does on every attempt of a shard: `--resume`
/// with no checkpoint in an absent directory starts the shard afresh,
/// writing what a run without it writes; again, once the shard has
/// finished, it fetches nothing, writes nothing and says so (exit 0).
#[test]
fn resume_is_always_safe_to_pass_fresh_then_finished() {
    let (resumed, plain) = (scratch("resume-always"), scratch("resume-plain"));
    let shard = |out: &Path, more: &[&str]| {
        let mut args = vec![
            "--out",
            out.to_str().unwrap(),
            "--date",
            DATE,
            "--shard",
            "1/3",
        ];
        args.extend(more);
        extract(&args)
    };
    let first = shard(&resumed, &["--resume"]);
    assert!(first.contains("extract written:"), "{first}");
    shard(&plain, &[]);
    let dir = |d: &Path| d.join("shard-1-of-3");
    let written = files(&dir(&resumed));
    assert_eq!(written, files(&dir(&plain)));
    assert!(!dir(&resumed).join("checkpoint.json").exists());

    let again = shard(&resumed, &["--resume"]);
    assert!(again.contains("finished already"), "{again}");
    assert!(again.contains("nothing to do"), "{again}");
    assert!(!again.contains("extract written:"), "{again}");
    assert!(
        files(&dir(&resumed)) == written,
        "a finished shard was written to"
    );
}

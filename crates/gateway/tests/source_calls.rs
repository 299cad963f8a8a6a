//! Source calls per request over the demo population, before and after
//! issue 14's "ask only who may hold a record": the simulated region
//! (`config/demo/sim.toml`, every protocol, on loopback ephemeral ports)
//! and the gateway on `config/demo`, a fixed sample of the population asked
//! for twice (a first pass, then a repeat pass within every TTL), once with
//! main's behaviour (no memories, no index: every source asked; the answer
//! cache alone serves repeats) and once with the not_found memory, the
//! remembered practice and the record-location index generated from the
//! simulator's own data (every source routed to everyone `located`).
//!
//! Prints the calls per request (`cargo test -p icr-gateway --test
//! source_calls -- --nocapture`); asserts exact counts against what each
//! response reports, never a time. Also checks that the demo's committed
//! index file is the one the simulator's population gives.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::StreamExt as _;
use icr_adapter_sdk::{Registry, RequestContext, Requester, Routing};
use icr_config::{Config, IndexConfig, IndexFile};
use icr_gateway::{Gateway, RecordOutcome, SourceStatus};
use icr_model::{NhsNumber, OdsCode, SectionSet};
use icr_policy::SourceFilter;
use icr_sim::org::Org;
use icr_sim::population::Population;
use icr_sim::{Sim, SimConfig};

/// People asked for: every tenth of the population, from the first.
const EVERY: usize = 10;
/// Requests in flight at once.
const AT_ONCE: usize = 12;

fn demo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/demo")
}

fn registry() -> Registry {
    let mut r = Registry::new();
    r.register(&icr_adapter_fhir_r4::KIND);
    r.register(&icr_adapter_pds::KIND);
    r.register(&icr_adapter_gp_connect::KIND);
    r.register(&icr_adapter_hl7v2::KIND);
    r.register(&icr_adapter_soap_xml::KIND);
    r.register(&icr_adapter_cda::KIND);
    r
}

/// The record-location index the population gives: each person → the ODS
/// codes of the organisations holding them, PDS aside.
fn index_of(population: &Population) -> IndexFile {
    IndexFile {
        holders: population
            .iter()
            .map(|p| {
                let holders = p
                    .orgs()
                    .filter(|o| *o != Org::PDS)
                    .map(|o| OdsCode::parse(o.ods_code()).unwrap())
                    .collect();
                (p.nhs_number, holders)
            })
            .collect(),
    }
}

/// What is on: main's behaviour, the memories alone, or the memories and
/// the index.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Mode {
    Main,
    Memories,
    MemoriesAndIndex,
}

/// The demo configuration pointed at `sim` in `mode`, the audit in a
/// temporary directory.
fn config(sim: &Sim, mode: Mode) -> Config {
    let after = mode != Mode::Main;
    let indexed = mode == Mode::MemoriesAndIndex;
    let endpoints: HashMap<String, String> = sim
        .sources()
        .into_iter()
        .filter_map(|id| sim.endpoint(&id).map(|e| (id, e)))
        .collect();
    let mut config = Config::load_with(&demo_dir(), &registry(), |spec| {
        if let Some(url) = endpoints.get(spec.id.as_str()).and_then(|e| e.parse().ok()) {
            spec.endpoint = url;
        }
        spec.located = indexed && spec.routing == Routing::All;
    })
    .unwrap();
    config.gateway.audit.dir =
        std::env::temp_dir().join(format!("icr-source-calls-{}-{mode:?}", std::process::id()));
    config.gateway.audit.anchor_file = None;
    config.gateway.cache.not_found_ttl_s = if after { 300 } else { 0 };
    config.gateway.cache.practice_ttl_s = if after { 86_400 } else { 0 };
    if indexed {
        config.gateway.index = Some(IndexConfig {
            file: Some("generated".into()),
            url: None,
            timeout_ms: 250,
            max_body_bytes: 65_536,
        });
        config.index_file = Some(Arc::new(index_of(sim.population())));
    } else {
        config.gateway.index = None;
        config.index_file = None;
    }
    config
}

fn context() -> RequestContext {
    RequestContext {
        trace_id: uuid::Uuid::new_v4().to_string(),
        requester: Requester {
            user_id: "u".into(),
            name: "Source calls".into(),
            role: "R8000".into(),
            organisation: OdsCode::parse("RN3").unwrap(),
            purpose: "directcare".into(),
        },
    }
}

/// Adapter calls made so far, from `/metrics` (first attempts and retries).
fn calls(gw: &Gateway) -> u64 {
    gw.metrics_text()
        .lines()
        .filter(|l| l.starts_with("icr_source_calls_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// One pass: every person asked once; the outcomes and the calls made.
async fn pass(gw: &Gateway, people: &[NhsNumber]) -> (Vec<RecordOutcome>, u64) {
    let before = calls(gw);
    let outcomes = futures::stream::iter(people.iter().copied())
        .map(|nhs| gw.record(context(), nhs, SectionSet::all(), &SourceFilter::All, None))
        .buffered(AT_ONCE)
        .collect::<Vec<_>>()
        .await;
    (outcomes, calls(gw) - before)
}

/// Sources listed with `status` in all `outcomes`.
fn with(outcomes: &[RecordOutcome], status: SourceStatus) -> u64 {
    outcomes
        .iter()
        .flat_map(|o| &o.sources)
        .filter(|s| s.status == status)
        .count() as u64
}

/// Sources that took a call of their own: neither skipped, nor served
/// from the cache (the sample's sources never fail, so never retry).
fn called(outcomes: &[RecordOutcome]) -> u64 {
    outcomes
        .iter()
        .flat_map(|o| &o.sources)
        .filter(|s| s.status != SourceStatus::Skipped && !s.cached)
        .count() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_calls_per_request_before_and_after_over_the_demo_population() {
    let sim_config = SimConfig::load(&demo_dir().join("sim.toml"))
        .unwrap()
        .with_ephemeral_ports();
    let sim = Sim::start(sim_config).await.unwrap();
    let people: Vec<NhsNumber> = sim
        .population()
        .iter()
        .step_by(EVERY)
        .map(|p| p.nhs_number)
        .collect();
    let n = people.len() as u64;
    let mut lines = Vec::new();
    for mode in [Mode::Main, Mode::Memories, Mode::MemoriesAndIndex] {
        let after = mode != Mode::Main;
        let tag = format!("{mode:?}");
        let config = config(&sim, mode);
        let gw = Gateway::new(&config).unwrap();
        let (first, first_calls) = pass(&gw, &people).await;
        let (repeat, repeat_calls) = pass(&gw, &people).await;
        for outcomes in [&first, &repeat] {
            let failed: Vec<_> = outcomes
                .iter()
                .flat_map(|o| &o.sources)
                .filter(|s| s.status.failed())
                .map(|s| (s.source.to_string(), s.message.clone()))
                .take(3)
                .collect();
            assert!(failed.is_empty(), "{tag}: {failed:?}");
        }
        // Every call is a source listed as asked, and the other way round.
        assert_eq!(first_calls, called(&first), "{tag}");
        assert_eq!(repeat_calls, called(&repeat), "{tag}");
        let not_found = with(&first, SourceStatus::NotFound);
        // A source withholding its record (the person's dissent) answers
        // so every time: neither cached nor remembered.
        let withheld = with(&first, SourceStatus::Withheld);
        assert_eq!(with(&repeat, SourceStatus::Withheld), withheld);
        if after {
            // Remembered: the repeat asks no one else (answers cached, "no
            // record" remembered, the practice remembered and cached); the
            // practice and PDS, never skipped, still answer "no record" when
            // they hold none, from the cache.
            let still = with(&repeat, SourceStatus::NotFound);
            assert_eq!(repeat_calls, withheld, "{tag}");
            assert_eq!(
                with(&repeat, SourceStatus::Skipped),
                with(&first, SourceStatus::Skipped) + not_found - still
            );
            if mode == Mode::Memories {
                // Without the index every source is asked the first time.
                assert_eq!(with(&first, SourceStatus::Skipped), 0);
            }
        } else {
            // "No record" answers are cached like records: the repeat asks
            // only the sources withholding, and skips no one.
            assert_eq!(with(&first, SourceStatus::Skipped), 0);
            assert_eq!(with(&repeat, SourceStatus::Skipped), 0);
            assert_eq!(with(&repeat, SourceStatus::NotFound), not_found, "{tag}");
            assert_eq!(repeat_calls, withheld, "{tag}");
        }
        let per = |c: u64| c as f64 / n as f64;
        lines.push(format!(
            "{tag:>16}: first pass {:.2} calls/request ({first_calls} for {n} people, {not_found} not_found, {withheld} withheld, {} skipped); repeat pass {:.2} ({repeat_calls})",
            per(first_calls),
            with(&first, SourceStatus::Skipped),
            per(repeat_calls),
        ));
        gw.close().await;
        let _ = std::fs::remove_dir_all(&config.gateway.audit.dir);
    }
    for l in &lines {
        println!("{l}");
    }
    // The demo's committed index is the one the population gives.
    let committed = icr_config::load_index_file(&demo_dir().join("record-index.toml")).unwrap();
    assert_eq!(committed, index_of(sim.population()));
    sim.shutdown().await;
}

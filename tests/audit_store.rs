//! The shared audit store, end to end: `icr demo` with `[audit_store]`
//! pointing at a private PostgreSQL (initdb and pg_ctl on a loopback
//! port). Every access the replica audits reaches the store; `/metrics`
//! says the feed is up and not behind; with PostgreSQL stopped the
//! gateway keeps serving on its local log and says the store is down; once
//! PostgreSQL is back the store catches up, each access exactly once; and
//! `icr audit verify --store` catches the log cut at a line boundary
//! afterwards, which the log alone cannot show.

mod common;

use std::time::Duration;

use common::store::person_history;
use common::{copy_config, metric, mint, start_demo_in};
use icr_testkit::postgres::PgCluster;

const PATIENT: &str = "9990000050";

/// Polls `check` every 100 ms for up to 20 s.
async fn eventually<F, Fut>(what: &str, check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    common::eventually_within(what, Duration::from_secs(20), check).await;
}

/// Accesses to the patient's record in the store, every page.
async fn stored(url: &str) -> Option<usize> {
    person_history(url, PATIENT).await.map(|h| h.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_access_reaches_the_shared_store_once_and_an_outage_is_caught_up() {
    let Some(pg) = PgCluster::start("the shared audit store, end to end") else {
        return;
    };
    let dir = copy_config("demo");
    std::fs::write(dir.join("store-url"), pg.url()).unwrap();
    let mut gateway_toml = std::fs::read_to_string(dir.join("gateway.toml")).unwrap();
    gateway_toml.push_str(
        "\n[audit_store]\nurl_file = \"store-url\"\nreplica = \"icr-a\"\ningest_every_ms = 200\nanchor_every_s = 1\n",
    );
    std::fs::write(dir.join("gateway.toml"), gateway_toml).unwrap();
    let demo = start_demo_in(&dir);
    let http = reqwest::Client::new();
    let clinician = mint("R8000", "RN3");
    let record = format!("{}/v1/patients/{PATIENT}/record", demo.gateway);
    let metrics_url = format!("{}/metrics", demo.gateway);
    let metrics = || async {
        let r = http.get(&metrics_url).send().await.unwrap();
        r.text().await.unwrap()
    };
    let ask = || async {
        http.get(&record)
            .bearer_auth(&clinician)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };

    for _ in 0..3 {
        assert_eq!(ask().await, 200);
    }
    eventually("three accesses in the store", || async {
        stored(&pg.url()).await == Some(3)
    })
    .await;
    eventually("the feed up and not behind", || async {
        let m = metrics().await;
        metric(&m, "icr_audit_store_up") == Some(1.0)
            && metric(&m, "icr_audit_store_lag_entries") == Some(0.0)
            && metric(&m, "icr_audit_store_anchors_total").is_some_and(|n| n >= 1.0)
    })
    .await;

    // PostgreSQL down: the record is still served (the local log is the
    // durable record), and the feed says the store is down.
    pg.stop();
    for _ in 0..2 {
        assert_eq!(ask().await, 200);
    }
    eventually("the feed reports the store down", || async {
        let m = metrics().await;
        metric(&m, "icr_audit_store_up") == Some(0.0)
            && metric(&m, "icr_audit_store_failures_total").is_some_and(|n| n >= 1.0)
    })
    .await;

    // Back: caught up, each access once.
    pg.start_again();
    eventually("five accesses in the store", || async {
        stored(&pg.url()).await == Some(5)
    })
    .await;
    eventually("the feed up again and not behind", || async {
        let m = metrics().await;
        metric(&m, "icr_audit_store_up") == Some(1.0)
            && metric(&m, "icr_audit_store_lag_entries") == Some(0.0)
    })
    .await;
    // A released record is two entries (begun, completed): ten stored.
    let m = metrics().await;
    assert_eq!(metric(&m, "icr_audit_store_inserted_total"), Some(10.0));
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(stored(&pg.url()).await, Some(5));

    // `icr audit verify --store`: the log holds every head the store
    // recorded; cut at a line boundary, it still verifies alone, but not
    // against the store.
    // (A copy: the ephemeral demo's log goes with it; nothing is written
    // after the last request.)
    let audit = dir.join("audit-copy");
    std::fs::create_dir_all(&audit).unwrap();
    for f in icr_audit::log_files(std::path::Path::new(&demo.audit)).unwrap() {
        std::fs::copy(&f, audit.join(f.file_name().unwrap())).unwrap();
    }
    let audit = audit.to_string_lossy().into_owned();
    let verify = |store: bool| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_icr"));
        c.args(["audit", "verify", &audit]);
        if store {
            c.arg("--store").arg(dir.join("store-url"));
            c.args(["--replica", "icr-a"]);
        }
        c.output().unwrap()
    };
    let out = verify(true);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = std::path::Path::new(&audit).join("audit-000001.jsonl");
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&file, lines[..lines.len() - 2].join("\n") + "\n").unwrap();
    let alone = verify(false);
    assert!(
        alone.status.success(),
        "{}",
        String::from_utf8_lossy(&alone.stderr)
    );
    let against = verify(true);
    assert_eq!(against.status.code(), Some(1));
    let said = String::from_utf8_lossy(&against.stderr);
    assert!(said.contains("audit log FAILS verification"), "{said}");
}

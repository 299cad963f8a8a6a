//! The gateway lets every source's adapter read what its source supports
//! (`SourceAdapter::prepare`) at start and after every reload, in the
//! background and bounded by the source's timeout: no request waits for it.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use icr_adapter_sdk::{FetchRequest, Preparation, SourceAdapter, SourceError};
use icr_model::SourceRecord;
use tokio::time::Instant;

/// An adapter that counts its preparations; one that hangs records when the
/// gateway gives up on it.
struct Watching {
    record: SourceRecord,
    prepared: Arc<AtomicUsize>,
    hangs: bool,
    abandoned: Arc<AtomicBool>,
}

/// Sets its flag when dropped: a preparation future dropped before it
/// finished was abandoned.
struct OnDrop(Arc<AtomicBool>);

impl Drop for OnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl SourceAdapter for Watching {
    async fn fetch(&self, _: &FetchRequest) -> Result<SourceRecord, SourceError> {
        Ok(self.record.clone())
    }

    async fn prepare(&self, _deadline: Instant) -> Preparation {
        self.prepared.fetch_add(1, Ordering::SeqCst);
        if self.hangs {
            let _guard = OnDrop(Arc::clone(&self.abandoned));
            std::future::pending::<()>().await;
        }
        Preparation {
            notes: vec!["read what the source supports".into()],
            mismatches: Vec::new(),
        }
    }
}

async fn until(what: &str, done: impl Fn() -> bool) {
    let started = std::time::Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "waited 5 s for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn sources_are_prepared_in_the_background_at_start_and_on_every_reload() {
    let counts = [Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0))];
    let abandoned = Arc::new(AtomicBool::new(false));
    let sources: Vec<icr_config::LoadedSource> = ["slow", "quick"]
        .iter()
        .zip(&counts)
        .map(|(id, prepared)| {
            let spec = spec(id, "allergies", 400, 0);
            let adapter: Arc<dyn SourceAdapter> = Arc::new(Watching {
                record: record(&spec.meta(), vec![("AllergyIntolerance/1", penicillin())]),
                prepared: Arc::clone(prepared),
                hangs: *id == "slow",
                abandoned: Arc::clone(&abandoned),
            });
            icr_config::LoadedSource {
                file: format!("{id}.toml").into(),
                spec,
                adapter,
            }
        })
        .collect();
    let (config, _) = loaded_config(3000, sources, Setup::default());
    let (base, gateway) = serve_config(&config, None).await;
    until("both sources prepared at start", || {
        counts.iter().all(|c| c.load(Ordering::SeqCst) == 1)
    })
    .await;

    // A record request is answered while one preparation still hangs.
    let started = std::time::Instant::now();
    let (status, _, view) = get(&format!("{base}/v1/patients/9990000018/record")).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["sources"][0]["status"], "ok");
    assert_eq!(view["sources"][1]["status"], "ok");
    assert!(started.elapsed() < Duration::from_secs(1));

    // The hanging preparation is given up after the source's timeout.
    until("the hanging preparation abandoned", || {
        abandoned.load(Ordering::SeqCst)
    })
    .await;

    // A reload prepares every source again, changed or not.
    gateway.reload(&config).unwrap();
    until("both sources prepared again after the reload", || {
        counts.iter().all(|c| c.load(Ordering::SeqCst) == 2)
    })
    .await;
}

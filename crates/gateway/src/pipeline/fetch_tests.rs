use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use icr_adapter_sdk::{RequestContext, Requester, Routing, SourceError};
use icr_model::{NhsNumber, OdsCode};
use icr_policy::SourceFilter;
use tokio::time::Instant;

use super::*;
use crate::pipeline::plan::plan;
use crate::pipeline::test_support::{Fake, answer, fake, sections, source};

const NHS: &str = "9990000018";

fn context() -> RequestContext {
    RequestContext {
        trace_id: "t".into(),
        requester: Requester {
            user_id: "u".into(),
            name: "n".into(),
            role: "R8000".into(),
            organisation: OdsCode::parse("RX1").unwrap(),
            purpose: "directcare".into(),
        },
    }
}

async fn run(
    sources: &[Arc<Source>],
    wanted: &str,
    permitted: &SourceFilter,
    within: Duration,
) -> Gathered {
    let wanted = sections(wanted);
    let planned = plan(sources, wanted, permitted);
    execute(
        sources,
        None,
        planned,
        NhsNumber::parse(NHS).unwrap(),
        wanted,
        permitted,
        context(),
        Instant::now() + within,
    )
    .await
}

fn shape(g: &Gathered) -> Vec<(usize, &'static str)> {
    g.asks
        .iter()
        .map(|a| {
            let what = match &g.results[a.index] {
                Some((Ok(_), _)) => "answered",
                Some((Err(e), _)) => e.status().as_str(),
                None => "no answer",
            };
            (a.index, what)
        })
        .collect()
}

#[tokio::test]
async fn the_practice_pds_names_is_asked_and_an_objected_source_never_is() {
    let hospital = fake(Ok(answer(Some(NHS), None, None)));
    let pds = fake(Ok(answer(Some(NHS), None, Some("A81001"))));
    let practice = fake(Ok(answer(Some(NHS), None, None)));
    let other_practice = fake(Ok(answer(Some(NHS), None, None)));
    let sources = [
        source(
            "hospital",
            "RX1",
            Routing::All,
            "medications",
            Arc::clone(&hospital),
        ),
        source(
            "pds",
            "X26",
            Routing::Demographics,
            "demographics",
            Arc::clone(&pds),
        ),
        source(
            "gp-a",
            "A81001",
            Routing::RegisteredPractice,
            "medications",
            Arc::clone(&practice),
        ),
        source(
            "gp-b",
            "A81002",
            Routing::RegisteredPractice,
            "medications",
            Arc::clone(&other_practice),
        ),
    ];
    let objects_to_hospital =
        SourceFilter::AllExcept(BTreeSet::from([OdsCode::parse("RX1").unwrap()]));
    let g = run(
        &sources,
        "medications",
        &objects_to_hospital,
        Duration::from_secs(2),
    )
    .await;
    assert_eq!(
        shape(&g),
        [(0, "withheld"), (1, "answered"), (2, "answered")]
    );
    assert_eq!(hospital.calls.load(Ordering::SeqCst), 0);
    assert_eq!(practice.calls.load(Ordering::SeqCst), 1);
    assert_eq!(other_practice.calls.load(Ordering::SeqCst), 0);
    assert!(g.warnings.is_empty());
    assert!(!g.practice_unknown);
}

#[tokio::test]
async fn an_answer_about_another_nhs_number_is_a_mismatch() {
    let sources = [source(
        "hospital",
        "RX1",
        Routing::All,
        "medications",
        fake(Ok(answer(Some("9990000026"), None, None))),
    )];
    let g = run(
        &sources,
        "medications",
        &SourceFilter::All,
        Duration::from_secs(2),
    )
    .await;
    assert!(matches!(
        g.results[0],
        Some((Err(SourceError::IdentityMismatch(_)), _))
    ));
}

#[tokio::test]
async fn a_pds_still_pending_at_the_deadline_leaves_the_practice_unknown() {
    let slow = Arc::new(Fake {
        answer: Ok(answer(Some(NHS), None, Some("A81001"))),
        delay: Duration::from_secs(5),
        calls: Default::default(),
    });
    let sources = [
        source("pds", "X26", Routing::Demographics, "demographics", slow),
        source(
            "gp-a",
            "A81001",
            Routing::RegisteredPractice,
            "medications",
            fake(Ok(answer(Some(NHS), None, None))),
        ),
    ];
    let g = run(
        &sources,
        "medications",
        &SourceFilter::All,
        Duration::from_millis(100),
    )
    .await;
    // Its own time limit ends the call at the deadline: a timeout, not silence.
    assert_eq!(shape(&g), [(0, "timeout")]);
    assert!(g.practice_unknown);
    assert_eq!(g.warnings.len(), 1);
    assert_eq!(g.warnings[0].code, "practice-not-asked");
}

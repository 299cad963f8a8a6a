use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use icr_adapter_sdk::{RequestContext, Requester, Routing, SourceError};
use icr_model::{NhsNumber, OdsCode};
use icr_policy::SourceFilter;
use tokio::time::Instant;

use super::*;
use crate::pipeline::plan::{Hints, Skip, plan};
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
    run_hinted(sources, wanted, permitted, within, &Hints::default()).await
}

async fn run_hinted(
    sources: &[Arc<Source>],
    wanted: &str,
    permitted: &SourceFilter,
    within: Duration,
    hints: &Hints<'_>,
) -> Gathered {
    let wanted = sections(wanted);
    let planned = plan(sources, wanted, permitted, hints);
    execute(
        sources,
        None,
        planned,
        NhsNumber::parse(NHS).unwrap(),
        wanted,
        permitted,
        context(),
        Instant::now() + within,
        Traffic::Interactive,
    )
    .await
}

fn shape(g: &Gathered) -> Vec<(usize, &'static str)> {
    g.asks
        .iter()
        .map(|a| {
            let what = match &g.results[a.index] {
                _ if a.skip.is_some() => "skipped",
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

/// The demographics service naming `named` (after `delay`), and two
/// practices, A81001 and A81002, each counting its calls.
fn pds_and_two_practices(
    named: Result<Option<&str>, SourceError>,
    delay: Duration,
) -> (Vec<Arc<Source>>, [Arc<Fake>; 2]) {
    let pds = Arc::new(Fake {
        answer: named.map(|p| answer(Some(NHS), None, p)),
        delay,
        calls: Default::default(),
    });
    let a = fake(Ok(answer(Some(NHS), None, None)));
    let b = fake(Ok(answer(Some(NHS), None, None)));
    let sources = vec![
        source("pds", "X26", Routing::Demographics, "demographics", pds),
        source(
            "gp-a",
            "A81001",
            Routing::RegisteredPractice,
            "medications",
            Arc::clone(&a),
        ),
        source(
            "gp-b",
            "A81002",
            Routing::RegisteredPractice,
            "medications",
            Arc::clone(&b),
        ),
    ];
    (sources, [a, b])
}

fn remembering(practice: &OdsCode) -> Hints<'_> {
    Hints {
        practice: Some(practice),
        ..Hints::default()
    }
}

#[tokio::test]
async fn the_remembered_practice_is_asked_with_pds_and_kept_when_pds_names_it() {
    let (sources, [a, b]) = pds_and_two_practices(Ok(Some("A81001")), Duration::from_millis(50));
    let remembered = OdsCode::parse("A81001").unwrap();
    let g = run_hinted(
        &sources,
        "medications",
        &SourceFilter::All,
        Duration::from_secs(2),
        &remembering(&remembered),
    )
    .await;
    assert_eq!(shape(&g), [(0, "answered"), (1, "answered")]);
    assert_eq!(a.calls.load(Ordering::SeqCst), 1);
    assert_eq!(b.calls.load(Ordering::SeqCst), 0);
    assert!(g.warnings.is_empty());
}

#[tokio::test]
async fn a_change_of_practice_drops_the_remembered_ones_answer_and_asks_the_named_one() {
    let (sources, [a, b]) = pds_and_two_practices(Ok(Some("A81002")), Duration::from_millis(50));
    let remembered = OdsCode::parse("A81001").unwrap();
    let g = run_hinted(
        &sources,
        "medications",
        &SourceFilter::All,
        Duration::from_secs(2),
        &remembering(&remembered),
    )
    .await;
    // Asked (one call each), but only the practice named now is shown.
    assert_eq!(
        shape(&g),
        [(0, "answered"), (1, "skipped"), (2, "answered")]
    );
    assert_eq!(g.asks[1].skip, Some(Skip::NoLongerPractice));
    assert!(g.results[1].is_none());
    assert_eq!(a.calls.load(Ordering::SeqCst), 1);
    assert_eq!(b.calls.load(Ordering::SeqCst), 1);
    assert!(!g.practice_unknown);
}

#[tokio::test]
async fn a_remembered_practice_pds_does_not_confirm_is_not_shown() {
    // PDS fails: the practice's answer (it came first) is dropped, and
    // the practice is unknown, as without the memory.
    let (sources, [a, _]) = pds_and_two_practices(
        Err(SourceError::Unavailable("down".into())),
        Duration::from_millis(50),
    );
    let remembered = OdsCode::parse("A81001").unwrap();
    let g = run_hinted(
        &sources,
        "medications",
        &SourceFilter::All,
        Duration::from_secs(2),
        &remembering(&remembered),
    )
    .await;
    assert_eq!(shape(&g), [(0, "unavailable"), (1, "skipped")]);
    assert_eq!(g.asks[1].skip, Some(Skip::PracticeUnconfirmed));
    assert_eq!(a.calls.load(Ordering::SeqCst), 1);
    assert!(g.practice_unknown);
    // PDS still pending at the deadline: the same.
    let (sources, _) = pds_and_two_practices(Ok(Some("A81001")), Duration::from_secs(5));
    let g = run_hinted(
        &sources,
        "medications",
        &SourceFilter::All,
        Duration::from_millis(100),
        &remembering(&remembered),
    )
    .await;
    assert_eq!(shape(&g), [(0, "timeout"), (1, "skipped")]);
    assert!(g.practice_unknown);
}

#[tokio::test]
async fn a_move_to_a_practice_offering_nothing_wanted_drops_the_remembered_ones_answer() {
    let pds = fake(Ok(answer(Some(NHS), None, Some("A81002"))));
    let a = fake(Ok(answer(Some(NHS), None, None)));
    let b = fake(Ok(answer(Some(NHS), None, None)));
    let sources = [
        source("pds", "X26", Routing::Demographics, "demographics", pds),
        source(
            "gp-a",
            "A81001",
            Routing::RegisteredPractice,
            "medications",
            Arc::clone(&a),
        ),
        source(
            "gp-b",
            "A81002",
            Routing::RegisteredPractice,
            "conditions",
            Arc::clone(&b),
        ),
    ];
    let remembered = OdsCode::parse("A81001").unwrap();
    let g = run_hinted(
        &sources,
        "medications",
        &SourceFilter::All,
        Duration::from_secs(2),
        &remembering(&remembered),
    )
    .await;
    assert_eq!(shape(&g), [(0, "answered"), (1, "skipped")]);
    assert_eq!(g.asks[1].skip, Some(Skip::NoLongerPractice));
    assert_eq!(b.calls.load(Ordering::SeqCst), 0);
    assert!(g.warnings.is_empty());
}

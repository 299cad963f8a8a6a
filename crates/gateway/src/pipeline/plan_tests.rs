use std::collections::BTreeSet;

use icr_adapter_sdk::{Routing, SourceError};
use icr_model::OdsCode;
use icr_policy::SourceFilter;

use super::*;
use crate::pipeline::test_support::{answer, reg, sections};

fn region() -> Vec<crate::pipeline::test_support::Reg> {
    vec![
        reg(Routing::All, "medications,results", "RX1"),
        reg(Routing::Demographics, "demographics", "X26"),
        reg(
            Routing::RegisteredPractice,
            "medications,conditions",
            "A81001",
        ),
        reg(Routing::All, "results", "RX2"),
        reg(Routing::RegisteredPractice, "medications", "A81002"),
    ]
}

fn except(ods: &str) -> SourceFilter {
    SourceFilter::AllExcept(BTreeSet::from([OdsCode::parse(ods).unwrap()]))
}

#[test]
fn sources_are_asked_for_the_wanted_sections_they_offer_and_practices_wait_for_routing() {
    let plan = plan(
        &region(),
        sections("medications"),
        &SourceFilter::All,
        &Hints::default(),
    );
    assert_eq!(
        plan,
        Plan {
            asks: vec![
                Ask {
                    index: 0,
                    sections: sections("medications"),
                    objected: false,
                    skip: None
                },
                // The demographics service is always asked, for all it offers.
                Ask {
                    index: 1,
                    sections: sections("demographics"),
                    objected: false,
                    skip: None
                },
            ],
            practices_wanted: true,
            remembered_practice: None,
            fresh: false,
        }
    );
}

#[test]
fn no_practice_is_wanted_when_none_offers_a_wanted_section() {
    let plan = plan(
        &region(),
        sections("results"),
        &SourceFilter::All,
        &Hints::default(),
    );
    let asked: Vec<usize> = plan.asks.iter().map(|a| a.index).collect();
    assert_eq!(asked, [0, 1, 3]);
    assert!(!plan.practices_wanted);
}

#[test]
fn an_objected_source_is_planned_but_marked() {
    let plan = plan(
        &region(),
        sections("results"),
        &except("RX2"),
        &Hints::default(),
    );
    let marks: Vec<(usize, bool)> = plan.asks.iter().map(|a| (a.index, a.objected)).collect();
    assert_eq!(marks, [(0, false), (1, false), (3, true)]);
}

#[test]
fn the_practice_the_demographics_service_names_is_asked_for_what_it_offers() {
    let pds = answer(Some("9990000018"), None, Some("A81001"));
    let routed = route_to_practice(
        &region(),
        Ok(&pds),
        sections("medications,results"),
        &SourceFilter::All,
    );
    assert_eq!(
        routed,
        Ok(Some(Ask {
            index: 2,
            sections: sections("medications"),
            objected: false,
            skip: None
        }))
    );
    let objected = route_to_practice(
        &region(),
        Ok(&pds),
        sections("medications"),
        &except("A81001"),
    );
    assert!(objected.unwrap().unwrap().objected);
    // It offers none of the wanted sections: nothing to ask, no warning.
    assert_eq!(
        route_to_practice(&region(), Ok(&pds), sections("alerts"), &SourceFilter::All),
        Ok(None)
    );
}

fn warning(r: Result<Option<Ask>, NotAsked>) -> (String, bool) {
    let n = r.unwrap_err();
    assert_eq!(n.warning.code, "practice-not-asked");
    (n.warning.message, n.unknown)
}

#[test]
fn a_practice_that_cannot_be_asked_is_explained_and_unknown_only_when_pds_failed() {
    let wanted = sections("medications");
    let all = &SourceFilter::All;
    let r = region();
    assert_eq!(
        warning(route_to_practice(
            &r,
            Err(&SourceError::Timeout { after_ms: 5 }),
            wanted,
            all
        )),
        (PDS_TOO_SLOW.to_string(), true)
    );
    assert_eq!(
        warning(route_to_practice(&r, Err(&SourceError::PatientNotFound), wanted, all)),
        (
            "the GP practice was not asked: the demographics service holds no record for this NHS number".to_string(),
            false
        )
    );
    assert_eq!(
        warning(route_to_practice(&r, Err(&SourceError::Unavailable("x".into())), wanted, all)),
        (
            "the GP practice was not asked: the demographics service, which names it, failed (unavailable)".to_string(),
            true
        )
    );
    let no_practice = answer(Some("9990000018"), None, None);
    assert_eq!(
        warning(route_to_practice(&r, Ok(&no_practice), wanted, all)),
        (
            "no GP practice was asked: the demographics service records no registered practice"
                .to_string(),
            false
        )
    );
    let elsewhere = answer(Some("9990000018"), None, Some("B99999"));
    assert_eq!(
        warning(route_to_practice(&r, Ok(&elsewhere), wanted, all)),
        (
            "the registered GP practice (B99999) was not asked: it has no endpoint in the practice directory".to_string(),
            false
        )
    );
}

fn seen(ago_s: u64) -> Option<(std::time::Duration, OffsetDateTime)> {
    Some((
        std::time::Duration::from_secs(ago_s),
        OffsetDateTime::UNIX_EPOCH + std::time::Duration::from_secs(300),
    ))
}

fn skips(plan: &Plan) -> Vec<(usize, Option<Skip>)> {
    plan.asks.iter().map(|a| (a.index, a.skip)).collect()
}

#[test]
fn a_source_that_answered_no_record_lately_is_planned_skipped_but_never_pds_or_the_practice() {
    let hints = Hints {
        // Remembered for every source: only those routed to everyone skip.
        not_found: vec![seen(240); 5],
        ..Hints::default()
    };
    let plan = plan(
        &region(),
        sections("medications,results"),
        &SourceFilter::All,
        &hints,
    );
    let skip = Skip::NotFoundLately {
        ago: std::time::Duration::from_secs(240),
        until: OffsetDateTime::UNIX_EPOCH + std::time::Duration::from_secs(300),
    };
    let lately = Some(skip);
    assert_eq!(skips(&plan), [(0, lately), (1, None), (3, lately)]);
    assert_eq!(
        skip.reason(),
        "answered that it holds no record for this person 4 minutes ago; not asked again until 1970-01-01T00:05:00Z (a refresh, Cache-Control: no-cache, asks it now)"
    );
    // An objection is reported as such, not as a skip.
    let plan = super::plan(&region(), sections("results"), &except("RX2"), &hints);
    let marks: Vec<_> = plan
        .asks
        .iter()
        .map(|a| (a.index, a.objected, a.skip.is_some()))
        .collect();
    assert_eq!(
        marks,
        [(0, false, true), (1, false, false), (3, true, false)]
    );
}

#[test]
fn the_index_skips_only_located_sources_it_does_not_name_and_only_when_it_knows_the_person() {
    let mut sources = region();
    sources[0].located = true;
    let others = [OdsCode::parse("RX2").unwrap()];
    let named = [OdsCode::parse("RX1").unwrap()];
    let at = |located: Option<&[OdsCode]>| {
        let hints = Hints {
            located,
            ..Hints::default()
        };
        skips(&plan(
            &sources,
            sections("results"),
            &SourceFilter::All,
            &hints,
        ))
    };
    // RX1 is located and not named: skipped. RX2 is not located: asked.
    assert_eq!(
        at(Some(&others)),
        [(0, Some(Skip::NotLocated)), (1, None), (3, None)]
    );
    assert_eq!(at(Some(&named)), [(0, None), (1, None), (3, None)]);
    // Unknown to the index (or no index): everyone is asked.
    assert_eq!(at(None), [(0, None), (1, None), (3, None)]);
    assert_eq!(
        at(Some(&[])),
        [(0, Some(Skip::NotLocated)), (1, None), (3, None)]
    );
}

#[test]
fn a_refresh_skips_nothing_and_asks_no_remembered_practice_first() {
    let mut sources = region();
    sources[0].located = true;
    let practice = OdsCode::parse("A81001").unwrap();
    let hints = Hints {
        not_found: vec![seen(10); 5],
        located: Some(&[]),
        practice: Some(&practice),
        fresh: true,
    };
    let plan = plan(
        &sources,
        sections("medications,results"),
        &SourceFilter::All,
        &hints,
    );
    assert_eq!(skips(&plan), [(0, None), (1, None), (3, None)]);
    assert_eq!(plan.remembered_practice, None);
    assert!(plan.fresh);
}

#[test]
fn the_remembered_practice_is_asked_at_once_with_the_demographics_service() {
    let practice = OdsCode::parse("A81001").unwrap();
    let hints = Hints {
        practice: Some(&practice),
        ..Hints::default()
    };
    let plan = plan(
        &region(),
        sections("medications"),
        &SourceFilter::All,
        &hints,
    );
    let asked: Vec<_> = plan.asks.iter().map(|a| (a.index, a.sections)).collect();
    assert_eq!(
        asked,
        [
            (0, sections("medications")),
            (1, sections("demographics")),
            (2, sections("medications"))
        ]
    );
    assert_eq!(plan.remembered_practice, Some(2));
    assert!(plan.practices_wanted);
    // A remembered practice offering nothing wanted is not asked.
    let plan = super::plan(&region(), sections("results"), &SourceFilter::All, &hints);
    assert_eq!(plan.remembered_practice, None);
}

#[test]
fn durations_are_said_in_words() {
    let said = |s| spoken(std::time::Duration::from_secs(s));
    assert_eq!(
        [said(1), said(40), said(60), said(240), said(7200)],
        ["1 second", "40 seconds", "1 minute", "4 minutes", "2 hours"]
    );
}

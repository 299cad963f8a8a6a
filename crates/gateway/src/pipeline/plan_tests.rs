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
    let plan = plan(&region(), sections("medications"), &SourceFilter::All);
    assert_eq!(
        plan,
        Plan {
            asks: vec![
                Ask {
                    index: 0,
                    sections: sections("medications"),
                    objected: false
                },
                // The demographics service is always asked, for all it offers.
                Ask {
                    index: 1,
                    sections: sections("demographics"),
                    objected: false
                },
            ],
            practices_wanted: true,
        }
    );
}

#[test]
fn no_practice_is_wanted_when_none_offers_a_wanted_section() {
    let plan = plan(&region(), sections("results"), &SourceFilter::All);
    let asked: Vec<usize> = plan.asks.iter().map(|a| a.index).collect();
    assert_eq!(asked, [0, 1, 3]);
    assert!(!plan.practices_wanted);
}

#[test]
fn an_objected_source_is_planned_but_marked() {
    let plan = plan(&region(), sections("results"), &except("RX2"));
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
            objected: false
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

//! One person of a population-health extract through the gateway: the
//! policy's sections without sensitive items, objectors left out, one
//! audit entry per person naming the run, failed sources reported, the
//! cache untouched, and interactive calls served first.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::*;
use icr_gateway::ExtractedPerson;
use icr_model::*;

const ALL: &str = "demographics,contacts,care_team,medications,allergies,conditions,results,documents,procedures,referrals,appointments,alerts";

/// gwh (RN3): an allergy, a result, an HIV diagnosis (sensitive by code);
/// cached for a minute for interactive callers.
fn gwh(delay: Duration) -> (icr_adapter_sdk::SourceSpec, Script) {
    let m = meta("gwh");
    let hiv = Entry::Condition(Condition {
        code: snomed("86406008", "Human immunodeficiency virus infection"),
        recorded: Some(day(2015, 5, 1)),
        ..Default::default()
    });
    let asthma = Entry::Condition(Condition {
        code: snomed("195967001", "Asthma"),
        recorded: Some(day(2010, 3, 1)),
        ..Default::default()
    });
    let record = record(
        &m,
        vec![
            ("AllergyIntolerance/1", penicillin()),
            ("Condition/2", asthma),
            ("Condition/3", hiv),
        ],
    );
    (spec("gwh", ALL, 1000, 60), Script::Answer(record, delay))
}

fn failing(id: &str) -> (icr_adapter_sdk::SourceSpec, Script) {
    let mut spec = spec(id, ALL, 1000, 0);
    spec.ods_code = OdsCode::parse("RD1").unwrap();
    (
        spec,
        Script::Fail(
            icr_adapter_sdk::SourceError::Unavailable("refused".into()),
            Duration::ZERO,
        ),
    )
}

fn codes(record: &icr_merge::MergedRecord) -> Vec<String> {
    let json = serde_json::to_value(record).unwrap();
    let mut out = Vec::new();
    collect_codes(&json, &mut out);
    out.sort();
    out
}

fn collect_codes(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            if let Some(serde_json::Value::String(c)) = m.get("code") {
                out.push(c.clone());
            }
            m.values().for_each(|v| collect_codes(v, out));
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| collect_codes(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn an_extract_sees_the_policy_sections_without_sensitive_items_and_each_person_is_audited() {
    let s = start_with(2000, vec![gwh(Duration::ZERO)], Setup::default()).await;
    let run = s
        .gateway
        .extract_run("run-1", "population-health", SectionSet::all())
        .unwrap();
    // The demo policy's [population_health]: no contacts, care team,
    // documents or alerts.
    assert!(!run.sections().contains(Section::Documents));
    assert!(run.sections().contains(Section::Conditions));
    let person = s.gateway.extract_person(&run, nhs()).await;
    let ExtractedPerson::Record { record, unanswered } = person else {
        panic!("not a record: {person:?}");
    };
    assert!(unanswered.is_empty());
    let codes = codes(&record);
    assert!(codes.contains(&"195967001".to_string()), "{codes:?}");
    assert!(
        !codes.contains(&"86406008".to_string()),
        "sensitive item extracted"
    );

    let audited = common::audited(&s.audit_dir, &nhs(), 10).await;
    assert_eq!(audited.len(), 1);
    let a = &audited[0];
    assert_eq!(a.interaction, icr_audit::Interaction::Extract);
    assert_eq!(a.basis, icr_audit::Basis::PopulationHealth);
    assert_eq!(a.purpose, "population-health");
    let user = a.user.as_ref().unwrap();
    assert_eq!(
        (user.sub.as_str(), user.role.as_str()),
        ("extract/run-1", "population_health")
    );
    assert_eq!(a.decision, icr_audit::Decision::Allowed);
    assert_eq!(a.items_withheld, 1);
}

#[tokio::test]
async fn an_extract_never_reads_or_fills_the_cache_clinicians_use() {
    let s = start_with(2000, vec![gwh(Duration::ZERO)], Setup::default()).await;
    let run = s
        .gateway
        .extract_run("run-2", "population-health", SectionSet::all())
        .unwrap();
    for _ in 0..2 {
        let person = s.gateway.extract_person(&run, nhs()).await;
        assert!(
            matches!(person, ExtractedPerson::Record { .. }),
            "{person:?}"
        );
    }
    assert_eq!(s.calls[0].load(Ordering::SeqCst), 2);
    // The interactive request finds nothing cached by the extract, then
    // its own answer is cached.
    let url = format!("{}/v1/patients/9990000018/record", s.base);
    assert_eq!(get(&url).await.0, 200);
    assert_eq!(get(&url).await.0, 200);
    assert_eq!(s.calls[0].load(Ordering::SeqCst), 3);
    // And the extract still asks the source itself.
    s.gateway.extract_person(&run, nhs()).await;
    assert_eq!(s.calls[0].load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn an_objector_is_left_out_without_any_source_being_asked_and_the_refusal_is_audited() {
    let dir = std::env::temp_dir().join(format!("icr-extract-objections-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let register = dir.join("objections.toml");
    // An objection to one organisation's sharing is enough to be left out.
    std::fs::write(
        &register,
        "[[objection]]\nnhs_number = \"9990000018\"\nscope = \"organisations\"\norganisations = [\"RD1\"]\n",
    )
    .unwrap();
    let s = start_with(
        2000,
        vec![gwh(Duration::ZERO)],
        Setup {
            objections_file: Some(register),
            ..Default::default()
        },
    )
    .await;
    let run = s
        .gateway
        .extract_run("run-3", "population-health", SectionSet::all())
        .unwrap();
    let person = s.gateway.extract_person(&run, nhs()).await;
    assert!(matches!(person, ExtractedPerson::Objected), "{person:?}");
    assert_eq!(s.calls[0].load(Ordering::SeqCst), 0);
    let audited = common::audited(&s.audit_dir, &nhs(), 10).await;
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].decision, icr_audit::Decision::Refused);
    assert_eq!(audited[0].reason.as_str(), "no-patient-consent");
    assert_eq!(audited[0].interaction, icr_audit::Interaction::Extract);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_failed_source_marks_the_record_incomplete_and_no_answer_at_all_fails_the_person() {
    let s = start_with(
        2000,
        vec![gwh(Duration::ZERO), failing("ruh")],
        Setup::default(),
    )
    .await;
    let run = s
        .gateway
        .extract_run("run-4", "population-health", SectionSet::all())
        .unwrap();
    let person = s.gateway.extract_person(&run, nhs()).await;
    let ExtractedPerson::Record { unanswered, .. } = person else {
        panic!("not a record: {person:?}");
    };
    assert_eq!(unanswered, vec![SourceId::parse("ruh").unwrap()]);

    let s = start_with(2000, vec![failing("ruh")], Setup::default()).await;
    let run = s
        .gateway
        .extract_run("run-5", "population-health", SectionSet::all())
        .unwrap();
    let person = s.gateway.extract_person(&run, nhs()).await;
    assert!(
        matches!(&person, ExtractedPerson::Failed(why) if why.contains("no source gave a definite answer")),
        "{person:?}"
    );
}

#[tokio::test]
async fn a_policy_without_population_health_allows_no_run() {
    let policy = "[classes.clinical]\nroles = [\"R8000\"]\nsections = [\"allergies\"]\n[patient]\nsections = []\n";
    let s = start_with(
        2000,
        vec![gwh(Duration::ZERO)],
        Setup {
            policy: Some(policy.into()),
            ..Default::default()
        },
    )
    .await;
    let refused = s
        .gateway
        .extract_run("run-6", "population-health", SectionSet::all())
        .unwrap_err();
    assert!(
        refused.to_string().contains("[population_health]"),
        "{refused}"
    );
}

#[tokio::test]
async fn an_extract_call_waits_while_a_clinician_s_call_to_the_source_is_in_flight() {
    let s = start_with(
        5000,
        vec![gwh(Duration::from_millis(400))],
        Setup::default(),
    )
    .await;
    let run = s
        .gateway
        .extract_run("run-7", "population-health", SectionSet::all())
        .unwrap();
    let url = format!("{}/v1/patients/9990000018/record", s.base);
    let interactive = tokio::spawn(async move { get(&url).await.0 });
    // The clinician's call is in flight when the extract asks.
    while s.calls[0].load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let person = s.gateway.extract_person(&run, nhs()).await;
    assert!(
        matches!(person, ExtractedPerson::Record { .. }),
        "{person:?}"
    );
    assert_eq!(interactive.await.unwrap(), 200);
    let metrics = s.gateway.metrics_text();
    let waited: u64 = metrics
        .lines()
        .find_map(|l| {
            l.strip_prefix("icr_extract_waits_total{source=\"gwh\",reason=\"interactive\"} ")
        })
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(
        waited > 0,
        "the extract did not wait for the clinician:\n{metrics}"
    );
}

//! The shared HL7 v2 corpus through the mapping: every result message
//! (ORU^R01, the lab ORUs, OUL, LRI) maps, representative ones field by
//! field; every one of the 139 messages goes through the fuzzing entry
//! point and the mapping without a panic.

mod common;

use common::meta;
use icr_adapter_hl7v2::map::{MapContext, Mapped, map_results};
use icr_hl7v2::dtm::LocalZone;
use icr_hl7v2::{Limits, Message};
use icr_model::*;

fn corpus() -> Vec<(String, Vec<u8>)> {
    icr_testkit::corpus_files("hl7v2", "hl7")
}

fn is_result_message(name: &str) -> bool {
    ["ORU-R01", "LAB-ORU", "OUL", "LRI"]
        .iter()
        .any(|p| name.starts_with(p))
}

/// Maps a corpus message from its first PID (the corpus has unsolicited
/// messages, not RSP^K11 answers, so the answer's checks do not apply).
fn map(bytes: &[u8]) -> Mapped {
    let m = Message::parse(bytes, &Limits::default()).unwrap();
    let from = m.segments().position(|s| s.id() == "PID").unwrap_or(0);
    let zone = LocalZone::for_message(&m.msh().field(7).text(), LocalZone::EuropeLondon);
    let meta = meta();
    map_results(&m, from, &MapContext { meta: &meta, zone })
}

fn file(name: &str) -> Vec<u8> {
    corpus()
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, b)| b)
        .unwrap_or_else(|| panic!("{name} is not in the corpus"))
}

fn results(mapped: &Mapped) -> Vec<(&str, &TestResult)> {
    mapped
        .items
        .iter()
        .map(|i| match &i.entry {
            Entry::Result(r) => (i.provenance.record.local(), r),
            other => panic!("not a result: {other:?}"),
        })
        .collect()
}

#[test]
fn every_result_message_maps() {
    icr_testkit::require_corpora!(Hl7v2);
    let files = corpus();
    assert_eq!(files.len(), 139, "the corpus has 139 messages");
    let mut counts = Vec::new();
    for (name, bytes) in files.iter().filter(|(n, _)| is_result_message(n)) {
        let mapped = map(bytes);
        let r = results(&mapped);
        let reports = r
            .iter()
            .filter(|(_, t)| t.kind == Some(ResultKind::Report))
            .count();
        let codeless = r
            .iter()
            .filter(|(_, t)| t.code.is_empty() && t.conclusion.is_none())
            .count();
        let members: usize = r.iter().map(|(_, t)| t.members.len()).sum();
        counts.push((name.as_str(), reports, r.len() - reports, members, codeless));
    }
    // (file, reports, observations, report members, results with no code
    // — OBX segments the senders left without OBX-3)
    assert_eq!(
        counts,
        [
            ("LAB-ORU-1.hl7", 2, 10, 10, 0),
            ("LAB-ORU-2.hl7", 2, 10, 10, 0),
            ("LRI_2.0-NG_CBC_Typ_Message.hl7", 1, 28, 28, 0),
            ("ORU-R01-01.hl7", 1, 5, 3, 1),
            ("ORU-R01-RMGEAD.hl7", 1, 1, 1, 0),
            ("OUL-R22-01.hl7", 1, 7, 5, 1),
            ("OUL-R22-02.hl7", 2, 7, 5, 2),
            ("OUL-R23-01.hl7", 1, 7, 5, 1),
            ("OUL-R23-02.hl7", 2, 7, 5, 2),
            ("OUL-R24-01.hl7", 1, 7, 6, 1),
            ("OUL-R24-02.hl7", 2, 7, 6, 1),
        ]
    );
}

#[test]
fn every_message_goes_through_without_panic() {
    icr_testkit::require_corpora!(Hl7v2);
    let mut items = 0;
    for (_, bytes) in corpus() {
        icr_adapter_hl7v2::fuzz_answer(&bytes);
        items += map(&bytes).items.len();
    }
    assert_eq!(items, ALL_ITEMS);
}

/// Results mapped from every message of the corpus (ADT, DFT and MDM
/// messages carry OBR/OBX too): its 72 OBR and 254 OBX segments, less the
/// 40 TX/FT lines of text reports (in DFT-P03, DFT-P11 and MDM messages),
/// which become their reports' conclusions.
const ALL_ITEMS: usize = 286;

#[test]
fn lab_panel_with_units_ranges_and_flags() {
    icr_testkit::require_corpora!(Hl7v2);
    let mapped = map(&file("LRI_2.0-NG_CBC_Typ_Message.hl7"));
    assert_eq!(mapped.issues, []);
    let r = results(&mapped);
    let (id, report) = r[0];
    assert_eq!(id, "report/R-991133@NIST Lab Filler");
    assert_eq!(
        report.code.codings,
        [
            Coding::new(
                CodeSystem::Loinc,
                "57021-8",
                "CBC W Auto Differential panel in Blood"
            ),
            Coding::new(CodeSystem::Other("99USI".into()), "4456544", "CBC"),
        ]
    );
    assert_eq!(
        report.code.text.as_deref(),
        Some("CBC W Auto Differential panel in Blood")
    );
    assert_eq!(report.status, Some(ResultStatus::Final));
    assert_eq!(
        report.effective,
        Some(PartialDateTime::parse("2011-01-03T14:34:28-08:00").unwrap())
    );
    assert_eq!(
        report.issued,
        Some(PartialDateTime::parse("2011-01-04T17:00:28-08:00").unwrap())
    );
    assert_eq!(report.members.len(), 28);
    let (id, hb) = r[2];
    assert_eq!(id, "report/R-991133@NIST Lab Filler/obx/2");
    assert_eq!(hb.code.codings[0].code, "718-7");
    assert_eq!(hb.code.codings[0].system, CodeSystem::Loinc);
    let grams = |v: f64| Quantity {
        value: Some(v),
        comparator: None,
        unit: Some("grams per milliliter".into()),
        code: Some("g/mL".into()),
    };
    assert_eq!(hb.value, Some(ResultValue::Quantity(grams(12.5))));
    assert_eq!(
        hb.reference_range,
        [ReferenceRange {
            low: Some(grams(13.0)),
            high: Some(grams(18.0)),
            text: None
        }]
    );
    assert_eq!(hb.interpretation.len(), 1);
    assert_eq!(hb.interpretation[0].codings[0].code, "L");
    assert_eq!(
        hb.interpretation[0].codings[0].display.as_deref(),
        Some("Low")
    );
    assert_eq!(hb.status, Some(ResultStatus::Final));
    assert_eq!(hb.performer.as_deref(), Some("Century Hospital"));
    let wbc = r[4].1;
    assert_eq!(wbc.interpretation[0].codings[0].code, "HH");
    // a coded answer, SNOMED CT, with original text
    let aniso = r[20].1;
    assert_eq!(
        aniso.value,
        Some(ResultValue::Coded(Concept {
            codings: vec![Coding::new(
                CodeSystem::Snomed,
                "260348001",
                "Present ++ out of ++++"
            )],
            text: Some("Moderate Anisocytosis".into()),
        }))
    );
    // text observations stay observations in a lab report
    assert_eq!(
        r[26].1.value,
        Some(ResultValue::Text("Many spherocytes present.".into()))
    );
}

#[test]
fn text_report_sent_line_by_line() {
    icr_testkit::require_corpora!(Hl7v2);
    let mapped = map(&file("MDM-T02-03.hl7"));
    let r = results(&mapped);
    assert_eq!(r.len(), 1, "29 TX lines of one code are one report");
    let conclusion = r[0].1.conclusion.as_deref().unwrap();
    let lines: Vec<&str> = conclusion.lines().collect();
    assert_eq!(lines.len(), 29);
    assert_eq!(
        lines[0],
        "Toilet cylinder crackers model step-mother visor opening communication"
    );
    assert_eq!(
        lines[28],
        "Reminder shofar congo vibration mother-in-law bondsman suspect"
    );
}

#[test]
fn escapes_notes_and_structured_numbers() {
    icr_testkit::require_corpora!(Hl7v2);
    let mapped = map(&file("ORU-R01-01.hl7"));
    let r = results(&mapped);
    let report = r
        .iter()
        .find(|(_, t)| t.kind == Some(ResultKind::Report))
        .unwrap()
        .1;
    assert_eq!(
        report.notes,
        [
            "Enteric culture includes testing for Salmonella, Shigella, Campylobacter, Yersinia, \
             E.coli O157:H7 & other STECs, and Aeromonas",
            "Allergy to peanuts observed."
        ]
    );
    let culture = r
        .iter()
        .find(|(_, t)| matches!(t.value, Some(ResultValue::Coded(_))))
        .unwrap()
        .1;
    assert_eq!(
        culture.notes,
        ["Submission of serum", "No Antibodies Detected"]
    );
    assert_eq!(culture.status, Some(ResultStatus::Preliminary));
    assert_eq!(
        culture.interpretation[0].codings[0].display.as_deref(),
        Some("Abnormal")
    );

    let sn = map(&file("ORU-R01-RMGEAD.hl7"));
    let r = results(&sn);
    let glucose = r[1].1;
    assert_eq!(
        glucose.value,
        Some(ResultValue::Quantity(Quantity {
            value: Some(182.0),
            comparator: None,
            unit: Some("mg/dl".into()),
            code: None
        }))
    );
    assert_eq!(
        glucose.reference_range,
        [ReferenceRange {
            text: Some("70_105".into()),
            ..ReferenceRange::default()
        }]
    );
    assert_eq!(glucose.interpretation[0].codings[0].code, "H");
}

#[test]
fn bom_and_newline_separated_lab_messages() {
    icr_testkit::require_corpora!(Hl7v2);
    let mapped = map(&file("LAB-ORU-1.hl7"));
    let r = results(&mapped);
    assert_eq!(r[0].0, "report/82503246");
    assert_eq!(r[0].1.code.codings[0].code, "24317-0");
    let ery = r[2].1;
    assert_eq!(ery.code.codings[0].display.as_deref(), Some("ERYTHROCYTES"));
    assert_eq!(
        ery.value,
        Some(ResultValue::Quantity(Quantity {
            value: Some(4.06),
            comparator: None,
            unit: Some("tera.l-1".into()),
            code: None
        }))
    );
    assert_eq!(ery.status, Some(ResultStatus::Preliminary));
    assert_eq!(
        ery.effective,
        Some(PartialDateTime::parse("2014-10-06T06:27:00+07:00").unwrap())
    );
    // the empty LEUKOCYTES value is an observation with no value
    assert_eq!(r[1].1.value, None);
    assert_eq!(r[1].1.status, Some(ResultStatus::Registered));
}

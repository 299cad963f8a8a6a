//! The answer, read field by field: a lab panel with units, ranges and
//! flags; a radiology report; every value type; the statuses; dates and
//! their zones; and every way an answer is refused.

mod common;

use common::*;
use icr_adapter_hl7v2::answer::read_answer;
use icr_adapter_sdk::SourceError;
use icr_model::*;

fn results(record: &SourceRecord) -> Vec<(&str, &TestResult)> {
    record
        .items
        .iter()
        .map(|i| match &i.entry {
            Entry::Result(r) => (i.provenance.record.local(), r),
            other => panic!("not a result: {other:?}"),
        })
        .collect()
}

fn read(bytes: &[u8]) -> Result<SourceRecord, SourceError> {
    let meta = meta();
    read_answer(bytes, &expected(), &read_context(&meta))
}

fn date(s: &str) -> PartialDateTime {
    PartialDateTime::parse(s).unwrap()
}

fn coding(system: CodeSystem, code: &str, display: Option<&str>) -> Coding {
    Coding {
        system,
        code: code.into(),
        display: display.map(str::to_string),
    }
}

fn flag(code: &str, display: &str) -> Concept {
    Concept::coded(coding(
        CodeSystem::Other("http://terminology.hl7.org/CodeSystem/v2-0078".into()),
        code,
        Some(display),
    ))
}

fn mmol(v: f64) -> Quantity {
    Quantity {
        value: Some(v),
        comparator: None,
        unit: Some("millimole per litre".into()),
        code: Some("mmol/L".into()),
    }
}

fn lab_panel() -> Vec<String> {
    vec![
        pid("9990000018"),
        seg("ORC", &[(1, "RE"), (2, "PL1^ICE"), (3, "FL1^WINPATH")]),
        seg(
            "OBR",
            &[
                (1, "1"),
                (2, "PL1^ICE"),
                (3, "FL1^WINPATH"),
                (4, "UE^Urea and electrolytes^WINPATH"),
                (7, "20240430091500"),
                (22, "20240430140000+0100"),
                (24, "CH"),
                (25, "F"),
                (32, "DRJ&Jones&Ann"),
            ],
        ),
        seg("NTE", &[(1, "1"), (3, "Sample slightly haemolysed")]),
        seg(
            "OBX",
            &[
                (1, "1"),
                (2, "NM"),
                (
                    3,
                    "2823-3^Potassium [Moles/volume] in Serum or Plasma^LN^POT^Potassium^WINPATH",
                ),
                (5, "5.9"),
                (6, "mmol/L^millimole per litre^UCUM"),
                (7, "3.5-5.3"),
                (8, "H"),
                (11, "F"),
                (14, "20240430093000"),
            ],
        ),
        seg("NTE", &[(1, "1"), (3, "Repeat advised~within 24 hours")]),
        seg(
            "OBX",
            &[
                (1, "2"),
                (2, "NM"),
                (3, "2951-2^Sodium^LN"),
                (5, "140"),
                (6, "mmol/L^millimole per litre^UCUM"),
                (7, "133 to 146"),
                (8, "N"),
                (11, "C"),
            ],
        ),
        seg(
            "OBX",
            &[
                (1, "3"),
                (2, "SN"),
                (3, "1988-5^C reactive protein^LN"),
                (5, "<^5"),
                (6, "mg/L^^UCUM"),
                (7, "<5"),
                (11, "F"),
            ],
        ),
        seg(
            "OBX",
            &[
                (1, "4"),
                (2, "NM"),
                (3, "33914-3^eGFR^LN"),
                (5, ">90"),
                (6, "mL/min/1.73m2"),
                (7, ">60"),
                (8, "N~A"),
                (11, "P"),
            ],
        ),
    ]
}

#[test]
fn a_lab_panel_field_by_field() {
    let record = read(&rsp(&lab_panel())).unwrap();
    assert_eq!(record.issues, []);
    assert_eq!(record.patient, None);
    let r = results(&record);
    let ids: Vec<&str> = r.iter().map(|(id, _)| *id).collect();
    assert_eq!(
        ids,
        [
            "report/FL1@WINPATH",
            "report/FL1@WINPATH/obx/1",
            "report/FL1@WINPATH/obx/2",
            "report/FL1@WINPATH/obx/3",
            "report/FL1@WINPATH/obx/4"
        ]
    );
    let lab = Concept::coded(coding(
        CodeSystem::Other("http://terminology.hl7.org/CodeSystem/v2-0074".into()),
        "CH",
        Some("Chemistry"),
    ));
    // MSH-7 is +01:00, so times without an offset are +01:00
    let effective = date("2024-04-30T09:15:00+01:00");
    let issued = date("2024-04-30T14:00:00+01:00");
    let source = SourceId::parse("lab").unwrap();
    let member = |s: &str| RecordId::new(source.clone(), s).unwrap();
    assert_eq!(
        *r[0].1,
        TestResult {
            kind: Some(ResultKind::Report),
            category: vec![lab.clone()],
            code: Concept::coded(coding(
                CodeSystem::Other("WINPATH".into()),
                "UE",
                Some("Urea and electrolytes")
            )),
            status: Some(ResultStatus::Final),
            effective: Some(effective),
            issued: Some(issued),
            members: vec![
                member("report/FL1@WINPATH/obx/1"),
                member("report/FL1@WINPATH/obx/2"),
                member("report/FL1@WINPATH/obx/3"),
                member("report/FL1@WINPATH/obx/4"),
            ],
            performer: Some("Ann Jones".into()),
            notes: vec!["Sample slightly haemolysed".into()],
            ..TestResult::default()
        }
    );
    assert_eq!(
        *r[1].1,
        TestResult {
            kind: Some(ResultKind::Observation),
            category: vec![lab.clone()],
            code: Concept {
                codings: vec![
                    coding(
                        CodeSystem::Loinc,
                        "2823-3",
                        Some("Potassium [Moles/volume] in Serum or Plasma")
                    ),
                    coding(
                        CodeSystem::Other("WINPATH".into()),
                        "POT",
                        Some("Potassium")
                    ),
                ],
                text: None,
            },
            status: Some(ResultStatus::Final),
            effective: Some(date("2024-04-30T09:30:00+01:00")),
            issued: Some(issued),
            value: Some(ResultValue::Quantity(mmol(5.9))),
            interpretation: vec![flag("H", "High")],
            reference_range: vec![ReferenceRange {
                low: Some(mmol(3.5)),
                high: Some(mmol(5.3)),
                text: None,
            }],
            performer: Some("Ann Jones".into()),
            notes: vec!["Repeat advised\nwithin 24 hours".into()],
            ..TestResult::default()
        }
    );
    let sodium = r[2].1;
    assert_eq!(sodium.status, Some(ResultStatus::Corrected));
    assert_eq!(sodium.effective, Some(effective), "OBR-7 when no OBX-14");
    assert_eq!(sodium.value, Some(ResultValue::Quantity(mmol(140.0))));
    assert_eq!(
        sodium.reference_range,
        [ReferenceRange {
            low: Some(mmol(133.0)),
            high: Some(mmol(146.0)),
            text: None
        }]
    );
    assert_eq!(sodium.interpretation, [flag("N", "Normal")]);
    let mg = |v: f64, cmp: Option<&str>| Quantity {
        value: Some(v),
        comparator: cmp.map(str::to_string),
        unit: Some("mg/L".into()),
        code: Some("mg/L".into()),
    };
    let crp = r[3].1;
    assert_eq!(crp.value, Some(ResultValue::Quantity(mg(5.0, Some("<")))));
    assert_eq!(
        crp.reference_range,
        [ReferenceRange {
            high: Some(mg(5.0, None)),
            ..ReferenceRange::default()
        }]
    );
    let egfr = r[4].1;
    let ml = |v: f64, cmp: Option<&str>| Quantity {
        value: Some(v),
        comparator: cmp.map(str::to_string),
        unit: Some("mL/min/1.73m2".into()),
        code: None,
    };
    assert_eq!(egfr.value, Some(ResultValue::Quantity(ml(90.0, Some(">")))));
    assert_eq!(
        egfr.reference_range,
        [ReferenceRange {
            low: Some(ml(60.0, None)),
            ..ReferenceRange::default()
        }]
    );
    assert_eq!(
        egfr.interpretation,
        [flag("N", "Normal"), flag("A", "Abnormal")]
    );
    assert_eq!(egfr.status, Some(ResultStatus::Preliminary));
    // provenance: the source's meta, last updated at OBR-22
    let p = &record.items[1].provenance;
    assert_eq!(p.origin.ods_code.as_str(), "RD1");
    let PartialDateTime::DateTime(at) = date("2024-04-30T14:00:00+01:00") else {
        unreachable!()
    };
    assert_eq!(p.last_updated, Some(at));
    assert_eq!(record.wire_bytes, rsp(&lab_panel()).len());
}

#[test]
fn a_radiology_report_becomes_its_conclusion() {
    let body = vec![
        pid("9990000018"),
        seg(
            "OBR",
            &[
                (1, "1"),
                (3, "RAD123^CRIS"),
                (4, "XCHES^XR Chest^NICIP^399208008^Plain chest X-ray^SCT"),
                (7, "20240110143000"),
                (22, "20240110170000"),
                (24, "RAD"),
                (25, "F"),
                (32, "RAD1&Patel&Nina"),
            ],
        ),
        seg(
            "OBX",
            &[
                (1, "1"),
                (2, "TX"),
                (3, "XCHES^XR Chest^NICIP"),
                (5, "Heart size normal. Lungs clear \\T\\ no effusion."),
                (11, "F"),
            ],
        ),
        seg(
            "OBX",
            &[(1, "2"), (2, "TX"), (3, "XCHES^XR Chest^NICIP"), (11, "F")],
        ),
        seg(
            "OBX",
            &[
                (1, "3"),
                (2, "FT"),
                (3, "XCHES^XR Chest^NICIP"),
                (5, "Conclusion:\\.br\\No acute abnormality."),
                (11, "F"),
            ],
        ),
        seg(
            "OBX",
            &[
                (1, "4"),
                (2, "ED"),
                (3, "XCHES^XR Chest^NICIP"),
                (5, "^TEXT^plain^Base64^UmVwb3J0ZWQgYnkgRHIgUGF0ZWwu"),
                (11, "F"),
            ],
        ),
        seg(
            "OBX",
            &[
                (1, "5"),
                (2, "NM"),
                (3, "DOSE^Dose area product^L"),
                (5, "0.05"),
                (6, "Gy.cm2^^UCUM"),
                (11, "F"),
            ],
        ),
    ];
    // MSH-7 without an offset: local times are UK time (GMT in January)
    let record = read(&rsp_with("20240110170500", "AA", "OK", &body)).unwrap();
    assert_eq!(record.issues, []);
    let r = results(&record);
    assert_eq!(r.len(), 2, "the report and its one numeric observation");
    let (id, report) = r[0];
    assert_eq!(id, "report/RAD123@CRIS");
    assert_eq!(report.kind, Some(ResultKind::Report));
    assert_eq!(
        report.conclusion.as_deref(),
        Some(
            "Heart size normal. Lungs clear & no effusion.\n\nConclusion:\nNo acute abnormality.\nReported by Dr Patel."
        )
    );
    assert_eq!(
        report.code.codings,
        [
            coding(CodeSystem::Other("NICIP".into()), "XCHES", Some("XR Chest")),
            coding(CodeSystem::Snomed, "399208008", Some("Plain chest X-ray")),
        ]
    );
    assert_eq!(report.category[0].codings[0].code, "RAD");
    assert_eq!(
        report.category[0].codings[0].display.as_deref(),
        Some("Radiology")
    );
    assert_eq!(report.effective, Some(date("2024-01-10T14:30:00Z")));
    assert_eq!(report.performer.as_deref(), Some("Nina Patel"));
    assert_eq!(report.members.len(), 1);
    assert_eq!(r[1].0, "report/RAD123@CRIS/obx/5");
    assert_eq!(
        r[1].1.value,
        Some(ResultValue::Quantity(Quantity {
            value: Some(0.05),
            comparator: None,
            unit: Some("Gy.cm2".into()),
            code: Some("Gy.cm2".into()),
        }))
    );
}

#[test]
fn a_text_report_sent_line_by_line_is_one_conclusion() {
    let line = |n: &str, text: &str| {
        seg(
            "OBX",
            &[
                (1, n),
                (2, "TX"),
                (3, "HISTO^Histology report^L"),
                (5, text),
                (11, "F"),
            ],
        )
    };
    let body = vec![
        pid("9990000018"),
        seg(
            "OBR",
            &[
                (1, "1"),
                (3, "H24-001"),
                (4, "HISTO^Histology^L"),
                (24, "SP"),
                (25, "P"),
            ],
        ),
        line("1", "Skin ellipse, 12 mm."),
        line("2", "Benign naevus; completely excised."),
        line("3", ""),
    ];
    let record = read(&rsp(&body)).unwrap();
    let r = results(&record);
    assert_eq!(r.len(), 1);
    assert_eq!(
        r[0].1.conclusion.as_deref(),
        Some("Skin ellipse, 12 mm.\nBenign naevus; completely excised.")
    );
    assert_eq!(r[0].1.status, Some(ResultStatus::Preliminary));
    assert!(r[0].1.members.is_empty());
}

#[test]
fn every_value_type() {
    let obx = |n: &str, vt: &str, value: &str, units: &str| {
        seg(
            "OBX",
            &[
                (1, n),
                (2, vt),
                (3, &format!("C{n}^Test {n}^L")),
                (5, value),
                (6, units),
                (11, "F"),
            ],
        )
    };
    let body = vec![
        pid("9990000018"),
        seg("OBR", &[(1, "1"), (3, "F9"), (4, "MIX^Mixed^L")]),
        obx("1", "ST", "Fish & chips^unescaped", ""),
        obx(
            "2",
            "CWE",
            "260415000^Not detected^SCT^ND^None seen^L^^^No organisms seen",
            "",
        ),
        obx("3", "SN", "^10^-^20", "10*9/L^^UCUM"),
        obx("4", "SN", "^1^:^128", ""),
        obx("5", "SN", "^2^+", ""),
        obx("6", "DT", "20240229", ""),
        obx("7", "TS", "202402291030+0000", ""),
        obx("8", "NM", "pending", ""),
        obx("9", "RP", "https://pacs.example/1^^IM^JPEG", ""),
        obx("10", "ED", "^AP^PDF^Base64^JVBERi0=", ""),
        obx("11", "NM", "4.1~4.3", "mmol/L"),
        obx("12", "DT", "2024-02-29", ""),
        obx("13", "ID", "POS", ""),
        obx("14", "CE", "", ""),
        obx("15", "ED", "^TEXT^^A^Looks \\T\\ reads fine", ""),
    ];
    let record = read(&rsp(&body)).unwrap();
    let r = results(&record);
    let value = |n: usize| r[n].1.value.clone();
    assert_eq!(
        value(1),
        Some(ResultValue::Text("Fish & chips^unescaped".into()))
    );
    assert_eq!(
        value(2),
        Some(ResultValue::Coded(Concept {
            codings: vec![
                coding(CodeSystem::Snomed, "260415000", Some("Not detected")),
                coding(CodeSystem::Other("L".into()), "ND", Some("None seen")),
            ],
            text: Some("No organisms seen".into()),
        }))
    );
    let per_l = |v: f64| Quantity {
        value: Some(v),
        comparator: None,
        unit: Some("10*9/L".into()),
        code: Some("10*9/L".into()),
    };
    assert_eq!(
        value(3),
        Some(ResultValue::Range {
            low: Some(per_l(10.0)),
            high: Some(per_l(20.0))
        })
    );
    assert_eq!(value(4), Some(ResultValue::Text("1:128".into())));
    assert_eq!(value(5), Some(ResultValue::Text("2+".into())));
    assert_eq!(value(6), Some(ResultValue::DateTime(date("2024-02-29"))));
    assert_eq!(
        value(7),
        Some(ResultValue::DateTime(date("2024-02-29T10:30:00Z")))
    );
    assert_eq!(value(8), Some(ResultValue::Text("pending".into())));
    assert_eq!(value(9), None, "reference pointers are not shown");
    assert_eq!(value(10), None, "a PDF is not shown");
    assert!(
        matches!(value(11), Some(ResultValue::Quantity(Quantity { value: Some(v), .. })) if v == 4.1)
    );
    assert_eq!(value(12), Some(ResultValue::Text("2024-02-29".into())));
    assert_eq!(value(13), Some(ResultValue::Text("POS".into())));
    assert_eq!(value(14), None);
    assert_eq!(
        value(15),
        Some(ResultValue::Text("Looks & reads fine".into()))
    );
    let messages: Vec<(&IssueKind, &str)> = record
        .issues
        .iter()
        .map(|i| (&i.kind, i.message.as_str()))
        .collect();
    assert_eq!(
        messages,
        [
            (
                &IssueKind::Unreadable,
                "2 observation value(s) of a type not shown (ED ×1, RP ×1): the observations are listed without them"
            ),
            (
                &IssueKind::Unreadable,
                "1 observation(s) with several values in OBX-5: only the first is shown"
            ),
            (
                &IssueKind::Unreadable,
                "1 date(s) that are not HL7 date/times were left out"
            ),
        ]
    );
    assert!(
        record
            .issues
            .iter()
            .all(|i| i.section == Some(Section::Results))
    );
}

#[test]
fn statuses_and_flags_by_table() {
    let cases = [
        ("F", Some(ResultStatus::Final)),
        ("P", Some(ResultStatus::Preliminary)),
        ("C", Some(ResultStatus::Corrected)),
        ("A", Some(ResultStatus::Amended)),
        ("D", Some(ResultStatus::EnteredInError)),
        ("W", Some(ResultStatus::EnteredInError)),
        ("X", Some(ResultStatus::Cancelled)),
        ("I", Some(ResultStatus::Registered)),
        ("R", Some(ResultStatus::Preliminary)),
        ("Q", None),
    ];
    let mut body = vec![
        pid("9990000018"),
        seg("OBR", &[(1, "1"), (3, "S1"), (25, "A")]),
    ];
    for (i, (code, _)) in cases.iter().enumerate() {
        let n = (i + 1).to_string();
        body.push(seg(
            "OBX",
            &[
                (1, &n),
                (2, "NM"),
                (3, "X^X^L"),
                (5, "1"),
                (8, "LL~HH~<~POS~ZZ"),
                (11, code),
            ],
        ));
    }
    let record = read(&rsp(&body)).unwrap();
    let r = results(&record);
    assert_eq!(r[0].1.status, Some(ResultStatus::Partial));
    for (i, (_, want)) in cases.iter().enumerate() {
        assert_eq!(r[i + 1].1.status, *want, "{:?}", cases[i]);
    }
    let flags: Vec<(String, Option<String>)> = r[1]
        .1
        .interpretation
        .iter()
        .map(|c| (c.codings[0].code.clone(), c.codings[0].display.clone()))
        .collect();
    assert_eq!(
        flags,
        [
            ("LL".into(), Some("Critical low".into())),
            ("HH".into(), Some("Critical high".into())),
            ("<".into(), Some("Off scale low".into())),
            ("POS".into(), Some("Positive".into())),
            ("ZZ".into(), None),
        ]
    );
}

#[test]
fn reference_ranges_in_their_forms() {
    let body: Vec<String> = [
        ("1", "3.5-5.3"),
        ("2", "-2.0--1.0"),
        ("3", "0.5 - 1"),
        ("4", "4.3 to 6.2"),
        ("5", ">=60"),
        ("6", "<= 0.1"),
        ("7", "Negative"),
        ("8", "70_105"),
        ("9", ""),
    ]
    .iter()
    .map(|(n, range)| {
        seg(
            "OBX",
            &[(1, n), (2, "NM"), (3, "X^X^L"), (5, "1"), (7, range)],
        )
    })
    .collect();
    let mut all = vec![pid("9990000018")];
    all.extend(body);
    let record = read(&rsp(&all)).unwrap();
    let r = results(&record);
    let show = |n: usize| {
        r[n].1.reference_range.first().map(|rr| {
            (
                rr.low.as_ref().and_then(|q| q.value),
                rr.high.as_ref().and_then(|q| q.value),
                rr.text.clone(),
            )
        })
    };
    assert_eq!(show(0), Some((Some(3.5), Some(5.3), None)));
    assert_eq!(show(1), Some((Some(-2.0), Some(-1.0), None)));
    assert_eq!(show(2), Some((Some(0.5), Some(1.0), None)));
    assert_eq!(show(3), Some((Some(4.3), Some(6.2), None)));
    assert_eq!(show(4), Some((Some(60.0), None, None)));
    assert_eq!(show(5), Some((None, Some(0.1), None)));
    assert_eq!(show(6), Some((None, None, Some("Negative".into()))));
    assert_eq!(show(7), Some((None, None, Some("70_105".into()))));
    assert_eq!(show(8), None);
    // lone observations (no OBR) get positional ids
    assert_eq!(record.items[0].provenance.record.local(), "obx/#1");
    assert_eq!(record.items[8].provenance.record.local(), "obx/#9");
}

#[test]
fn observations_outside_a_report_are_known_by_code_and_time() {
    let obx = |n: &str, when: &str| {
        seg(
            "OBX",
            &[
                (1, n),
                (2, "NM"),
                (3, "2823-3^Potassium^LN"),
                (5, "4"),
                (14, when),
            ],
        )
    };
    let body = vec![
        pid("9990000018"),
        obx("1", "20240101090000"),
        obx("2", "20240102090000"),
        obx("3", "20240101090000"),
        obx("4", ""),
    ];
    let record = read(&rsp(&body)).unwrap();
    let ids: Vec<&str> = record
        .items
        .iter()
        .map(|i| i.provenance.record.local())
        .collect();
    assert_eq!(
        ids,
        [
            "obx/2823-3/20240101090000",
            "obx/2823-3/20240102090000",
            "obx/2823-3/20240101090000#2",
            "obx/#1"
        ]
    );
}

#[test]
fn local_times_are_uk_time_without_an_msh7_offset() {
    let body = vec![
        pid("9990000018"),
        seg(
            "OBR",
            &[
                (1, "1"),
                (3, "Z1"),
                (7, "20240715093000"),
                (22, "20240115093000"),
            ],
        ),
    ];
    let record = read(&rsp_with("20240715100000", "AA", "OK", &body)).unwrap();
    let r = results(&record);
    assert_eq!(r[0].1.effective, Some(date("2024-07-15T09:30:00+01:00")));
    assert_eq!(r[0].1.issued, Some(date("2024-01-15T09:30:00Z")));
}

#[test]
fn not_found_and_application_errors() {
    let nf = rsp_with("20240501101500", "AA", "NF", &[]);
    assert_eq!(read(&nf), Err(SourceError::PatientNotFound));

    let ae = rsp_with(
        "20240501101500",
        "AE",
        "AE",
        &[seg(
            "ERR",
            &[
                (3, "207^Application internal error^HL70357"),
                (4, "E"),
                (8, "Patient not on file"),
            ],
        )],
    );
    // The source's own words (ERR-8) are quoted, bounded, to the caller.
    let err = read(&ae).unwrap_err();
    assert_eq!(
        err,
        SourceError::Refused(
            "the source answered with an application error (MSA-1 AE): ERR code 207 (application internal error): the source said \"Patient not on file\""
                .into()
        )
    );

    // v2.3 ERR-1 (segment^sequence^field^code)
    let ar = rsp_with(
        "20240501101500",
        "AR",
        "AR",
        &[seg(
            "ERR",
            &[(1, "QPD^1^3^204&Unknown key identifier&HL70357")],
        )],
    );
    assert_eq!(
        read(&ar),
        Err(SourceError::Refused(
            "the source rejected the query (MSA-1 AR): ERR code 204 (unknown key identifier)"
                .into()
        ))
    );

    let qak_ae = rsp_with("20240501101500", "AA", "AE", &[]);
    assert_eq!(
        read(&qak_ae),
        Err(SourceError::Refused(
            "the source reported an application error for the query (QAK-2 AE)".into()
        ))
    );

    let err_with_aa = rsp_with(
        "20240501101500",
        "AA",
        "OK",
        &[seg("ERR", &[(3, "<script>"), (4, "E")])],
    );
    assert_eq!(
        read(&err_with_aa),
        Err(SourceError::Refused(
            "the source reported an error (ERR severity E): ERR code ?".into()
        ))
    );

    let warning = rsp_with(
        "20240501101500",
        "AA",
        "OK",
        &[
            seg("ERR", &[(3, "104^Value too long^HL70357"), (4, "W")]),
            pid("9990000018"),
        ],
    );
    let record = read(&warning).unwrap();
    assert_eq!(
        record.issues,
        [SourceIssue {
            kind: IssueKind::Note,
            section: None,
            message: "the source sent 1 warning(s) with its answer: ERR code 104 (value too long)"
                .into()
        }]
    );
}

#[test]
fn another_persons_answer_is_refused_whole() {
    let body = |nhs: &str| {
        let mut b = lab_panel();
        b[0] = pid(nhs);
        b
    };
    assert_eq!(
        read(&rsp(&body(other_nhs().as_str()))),
        Err(SourceError::IdentityMismatch(
            "the answer's PID is about another NHS number".into()
        ))
    );
    // a second PID for someone else, after results for the right person
    let mut two = lab_panel();
    two.push(pid(other_nhs().as_str()));
    two.push(seg("OBR", &[(1, "1"), (3, "OTHER")]));
    assert_eq!(
        read(&rsp(&two)),
        Err(SourceError::IdentityMismatch(
            "the answer's PID is about another NHS number".into()
        ))
    );
    // an invalid NHS number is not the one asked for
    assert_eq!(
        read(&rsp(&body("9990000019"))),
        Err(SourceError::IdentityMismatch(
            "the answer's PID is about another NHS number".into()
        ))
    );
    // no NHS number at all
    let mut none = lab_panel();
    none[0] = seg("PID", &[(1, "1"), (3, "X123456^^^RD1^MR")]);
    let err = read(&rsp(&none)).unwrap_err();
    assert_eq!(
        err,
        SourceError::IdentityMismatch("the answer's PID carries no NHS number".into())
    );
    // results with no PID
    let no_pid: Vec<String> = lab_panel().into_iter().skip(1).collect();
    assert_eq!(
        read(&rsp(&no_pid)),
        Err(SourceError::IdentityMismatch(
            "the answer has results but no PID".into()
        ))
    );
    // the NHS number given as older UK interfaces do: PID-2, spaced
    let mut older = lab_panel();
    older[0] = seg("PID", &[(1, "1"), (2, "999 000 0018^^^NHSNBR^NHSNMBR")]);
    assert_eq!(read(&rsp(&older)).unwrap().items.len(), 5);
    // or by the NHS number OID
    let mut oid = lab_panel();
    oid[0] = seg(
        "PID",
        &[(1, "1"), (3, "9990000018^^^&2.16.840.1.113883.2.1.4.1&ISO")],
    );
    assert_eq!(read(&rsp(&oid)).unwrap().items.len(), 5);
}

#[test]
fn answers_to_other_queries_are_refused() {
    let good = rsp(&lab_panel());
    let text = String::from_utf8(good).unwrap();
    let other_control = text.replacen(CONTROL_ID, "SOMEONE-ELSES", 1);
    assert_eq!(
        read(other_control.as_bytes()),
        Err(SourceError::Malformed(
            "the answer acknowledges another message (MSA-2 is not our control id)".into()
        ))
    );
    let other_tag = text.replacen(&format!("QAK|{QUERY_TAG}"), "QAK|OTHER", 1);
    assert_eq!(
        read(other_tag.as_bytes()),
        Err(SourceError::Malformed(
            "the answer is for another query (QAK-1 is not our query tag)".into()
        ))
    );
    let ack = text.replacen("RSP^K11^RSP_K11", "ACK^Q11^ACK", 1);
    assert_eq!(
        read(ack.as_bytes()),
        Err(SourceError::Malformed(
            "expected an RSP^K11 answer, got ACK^Q11".into()
        ))
    );
    let no_qak: String = text
        .split('\r')
        .filter(|l| !l.starts_with("QAK"))
        .collect::<Vec<_>>()
        .join("\r");
    assert_eq!(
        read(no_qak.as_bytes()),
        Err(SourceError::Malformed(
            "the answer has no QAK segment".into()
        ))
    );
    assert_eq!(
        read(b"not hl7"),
        Err(SourceError::Malformed(
            "the answer is not a readable HL7 v2 message: not an HL7 v2 message: it does not start with an MSH segment".into()
        ))
    );
    let no_msa = format!("{}\r", msh("20240501"));
    assert_eq!(
        read(no_msa.as_bytes()),
        Err(SourceError::Malformed(
            "the answer has no MSA segment".into()
        ))
    );
}

#[test]
fn more_than_one_answer_holds_is_truncated() {
    let mut text = String::from_utf8(rsp(&lab_panel())).unwrap();
    // QAK-4..6: 40 hits, 5 in this answer, 35 remaining
    text = text.replacen("^HL70471\r", "^HL70471|40|5|35\r", 1);
    assert!(text.contains("|40|5|35"));
    let record = read(text.as_bytes()).unwrap();
    assert_eq!(record.items.len(), 5);
    assert_eq!(record.issues.len(), 1);
    assert_eq!(record.issues[0].kind, IssueKind::Truncated);
    let mut dsc = lab_panel();
    dsc.push(seg("DSC", &[(1, "NEXT-PAGE-1"), (2, "I")]));
    let record = read(&rsp(&dsc)).unwrap();
    assert_eq!(record.issues[0].kind, IssueKind::Truncated);
}

#[test]
fn found_with_no_results_is_an_empty_answer() {
    let record = read(&rsp(&[pid("9990000018")])).unwrap();
    assert!(record.items.is_empty());
    assert!(record.issues.is_empty());
}

#[test]
fn results_are_read_only_when_asked_for() {
    let meta = meta();
    let mut ctx = read_context(&meta);
    ctx.sections = [Section::Demographics].into_iter().collect();
    let record = read_answer(&rsp(&lab_panel()), &expected(), &ctx).unwrap();
    assert!(record.items.is_empty());
}

#[test]
fn duplicate_order_numbers_get_distinct_ids() {
    let ids = |body: Vec<String>| -> Vec<String> {
        read(&rsp(&body))
            .unwrap()
            .items
            .iter()
            .map(|i| i.provenance.record.local().to_string())
            .collect()
    };
    // ORU style: the ORC before its OBRs
    let oru = vec![
        pid("9990000018"),
        seg("ORC", &[(1, "RE"), (3, "ORC1")]),
        seg("OBR", &[(1, "1"), (3, "DUP")]),
        seg("OBR", &[(1, "2"), (3, "DUP")]),
        seg("OBR", &[(1, "3")]),
        seg("ORC", &[(1, "RE"), (3, "ORC2")]),
        seg("OBR", &[(1, "4")]),
        pid("9990000018"),
        seg("OBR", &[(1, "5")]),
        seg("OBR", &[(1, "6"), (3, "DUP")]),
    ];
    assert_eq!(
        ids(oru),
        [
            "report/DUP",
            "report/DUP#2",
            "report/ORC1",
            "report/ORC2",
            "report/#1",
            "report/DUP#3"
        ]
    );
    // OUL style: the ORC after its OBR
    let oul = vec![
        pid("9990000018"),
        seg("OBR", &[(1, "1")]),
        seg("ORC", &[(1, "SC"), (3, "X1")]),
        seg("OBX", &[(1, "1"), (2, "ST"), (3, "A^A^L"), (5, "a")]),
        seg("OBR", &[(1, "2")]),
        seg("ORC", &[(1, "SC"), (3, "X2")]),
    ];
    assert_eq!(ids(oul), ["report/X1", "report/X1/obx/1", "report/X2"]);
}

#[test]
fn many_reports_with_one_order_number_stay_cheap() {
    let mut body = vec![pid("9990000018")];
    body.extend((0..20_000).map(|i| seg("OBR", &[(1, &i.to_string()), (3, "SAME")])));
    let started = std::time::Instant::now();
    let record = read(&rsp(&body)).unwrap();
    assert_eq!(record.items.len(), 20_000);
    assert_eq!(
        record.items[19_999].provenance.record.local(),
        "report/SAME#20000"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

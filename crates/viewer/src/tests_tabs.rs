//! The record's tabs for a synthetic person, checked fragment by fragment:
//! provenance, conflicts, the timeline's filter, the results' trend chart,
//! problems, documents, and every tab's frame.

use icr_merge::{Conflict, ConflictValue, MergedItem, MergedRecord};
use icr_model::{
    Appointment, AppointmentKind, Attachment, CarePlan, CodeSystem, Coding, Concept, Condition,
    ConditionClinicalStatus, Document, DocumentStatus, Entry, MedicationStatus, OdsCode,
    PartialDateTime, Quantity, ReferenceRange, Referral, RequestStatus, ResultKind, ResultValue,
    Section, TestResult, Verification,
};
use icr_policy::Withheld;
use time::macros::datetime;

use crate::tests::{
    Fixture, Org, assert_balanced, concept, design_system_classes, item, nhs, render_tab, withheld,
};
use crate::*;

fn on(y: i32, m: u8, d: u8) -> Option<PartialDateTime> {
    let month = time::Month::try_from(m).unwrap();
    Some(PartialDateTime::Date(
        time::Date::from_calendar_date(y, month, d).unwrap(),
    ))
}

fn mmol(v: f64) -> Quantity {
    Quantity {
        value: Some(v),
        unit: Some("mmol/L".into()),
        ..Default::default()
    }
}

fn interpretation(code: &str) -> Vec<Concept> {
    vec![Concept::coded(Coding::new(
        CodeSystem::Other(
            "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation".into(),
        ),
        code,
        code,
    ))]
}

fn potassium(day: u8, value: Quantity, flag: &str) -> Entry {
    Entry::Result(TestResult {
        kind: Some(ResultKind::Observation),
        code: Concept::coded(Coding::new(CodeSystem::Loinc, "2823-3", "Serum potassium")),
        effective: on(2026, 1, day),
        value: Some(ResultValue::Quantity(value)),
        interpretation: if flag.is_empty() {
            Vec::new()
        } else {
            interpretation(flag)
        },
        reference_range: vec![ReferenceRange {
            low: Some(mmol(3.0)),
            high: Some(mmol(6.0)),
            text: None,
        }],
        ..Default::default()
    })
}

fn problem(name: &str, status: ConditionClinicalStatus, onset: Option<PartialDateTime>) -> Entry {
    Entry::Condition(Condition {
        code: concept(name),
        clinical_status: Some(status),
        onset,
        ..Default::default()
    })
}

/// The fixture's record with every tab's sections filled: three potassium
/// results (the last high), a report, problems of each kind, a document, an
/// encounter, an appointment and a referral; the metformin held by two
/// organisations who disagree on its dosage.
fn rich(f: &Fixture) -> MergedRecord {
    let mut record = f.record(false);
    let meds = record.sections.get_mut(&Section::Medications).unwrap();
    meds[0].provenance = vec![
        f.gp.meta
            .provenance(
                "MedicationStatement/7",
                Some(datetime!(2026-12-01 09:30 UTC)),
            )
            .unwrap(),
        f.gwh.meta.provenance("MED-991", None).unwrap(),
    ];
    meds[0].conflicts = vec![Conflict {
        field: "dosage".into(),
        values: vec![
            ConflictValue {
                sources: vec![f.gp.meta.id.clone()],
                value: Some("One tablet twice a day".into()),
            },
            ConflictValue {
                sources: vec![f.gwh.meta.id.clone()],
                value: Some("Two <b>tablets</b> twice a day".into()),
            },
        ],
    }];
    record.sections.insert(
        Section::Results,
        vec![
            item(potassium(21, mmol(7.0), "H"), &[&f.gwh]),
            item(
                Entry::Result(TestResult {
                    kind: Some(ResultKind::Report),
                    code: concept("Chest X-ray"),
                    effective: on(2026, 1, 12),
                    conclusion: Some("No acute <change>".into()),
                    ..Default::default()
                }),
                &[&f.gwh],
            ),
            item(potassium(11, mmol(5.0), ""), &[&f.gwh]),
            item(potassium(1, mmol(4.0), "N"), &[&f.gp]),
        ],
    );
    record.sections.insert(
        Section::Conditions,
        vec![
            item(
                problem(
                    "Type 2 diabetes",
                    ConditionClinicalStatus::Active,
                    on(2019, 4, 1),
                ),
                &[&f.gp, &f.gwh],
            ),
            item(
                Entry::Condition(Condition {
                    code: concept("Appendicitis"),
                    clinical_status: Some(ConditionClinicalStatus::Resolved),
                    onset: on(1990, 5, 2),
                    abatement: Some(PartialDateTime::YearMonth(1990, time::Month::June)),
                    ..Default::default()
                }),
                &[&f.gwh],
            ),
            item(
                Entry::Condition(Condition {
                    code: concept("Asthma"),
                    verification: Some(Verification::Refuted),
                    ..Default::default()
                }),
                &[&f.gp],
            ),
        ],
    );
    record.sections.insert(
        Section::Documents,
        vec![item(
            Entry::Document(Document {
                doc_type: concept("Out of hours report"),
                title: Some("OOH consultation".into()),
                status: Some(DocumentStatus::Current),
                date: on(2026, 3, 4),
                authors: vec!["Dr Night".into()],
                content: vec![Attachment {
                    content_type: Some("application/pdf".into()),
                    url: Some("https://ooh.internal/secret/doc/1".into()),
                    title: None,
                    size: Some(2048),
                    inline_content_omitted: false,
                }],
                text: Some(
                    "Seen <b>at home</b>.\r\n\r\nPlan: fluids & rest.\nReview in 2 days.".into(),
                ),
                ..Default::default()
            }),
            &[&f.ooh],
        )],
    );
    record.sections.insert(
        Section::Appointments,
        vec![
            item(
                Entry::Appointment(Appointment {
                    kind: Some(AppointmentKind::Appointment),
                    service_type: vec![concept("Diabetes review")],
                    start: on(2026, 12, 20),
                    ..Default::default()
                }),
                &[&f.gp],
            ),
            item(
                Entry::Appointment(Appointment {
                    kind: Some(AppointmentKind::Encounter),
                    service_type: vec![concept("Emergency department")],
                    location: Some("GWH ED".into()),
                    start: on(2026, 2, 1),
                    ..Default::default()
                }),
                &[&f.gwh],
            ),
        ],
    );
    record.sections.insert(
        Section::Referrals,
        vec![item(
            Entry::Referral(Referral {
                code: concept("Diabetic eye screening"),
                authored: on(2026, 1, 15),
                performers: vec!["Eye clinic".into()],
                ..Default::default()
            }),
            &[&f.gp],
        )],
    );
    record
}

fn tab_page(f: &Fixture, record: &MergedRecord, tab: &RecordTab) -> String {
    render_tab(record, &f.sources(), &withheld(), tab)
}

fn timeline(query: &str) -> RecordTab {
    RecordTab::parse(Some("timeline"), Some(query)).unwrap()
}

fn all_tabs() -> Vec<RecordTab> {
    [
        "",
        "sections",
        "timeline",
        "problems",
        "results",
        "documents",
    ]
    .into_iter()
    .map(|s| RecordTab::parse(Some(s).filter(|s| !s.is_empty()), None).unwrap())
    .collect()
}

#[test]
fn tabs_parse_from_the_path_and_query_and_write_their_path() {
    assert_eq!(RecordTab::parse(None, None), Some(RecordTab::Summary));
    assert_eq!(
        RecordTab::parse(Some("results"), Some("org=RN3")),
        Some(RecordTab::Results)
    );
    assert_eq!(RecordTab::parse(Some("Results"), None), None);
    assert_eq!(RecordTab::parse(Some("who-looked"), None), None);
    // Repeated keys; lower-case and encoded codes; unknown values and keys ignored.
    let RecordTab::Timeline(filter) = timeline(
        "org=rn3&type=result&type=bogus&org=%4A83019&org=x&foo=1&type=document&type=result&org=RN3+",
    ) else {
        panic!("not the timeline");
    };
    let orgs: Vec<&str> = filter.orgs.iter().map(OdsCode::as_str).collect();
    assert_eq!(orgs, ["J83019", "RN3"]);
    assert_eq!(
        filter.kinds.iter().copied().collect::<Vec<_>>(),
        [TimelineKind::Document, TimelineKind::Result]
    );
    let tab = RecordTab::Timeline(filter);
    assert_eq!(
        tab.path(nhs()),
        "/patients/9990000050/timeline?org=J83019&org=RN3&type=document&type=result"
    );
    let path = tab.path(nhs());
    assert_eq!(timeline(path.split_once('?').unwrap().1), tab);
    assert_eq!(timeline("").path(nhs()), "/patients/9990000050/timeline");
    assert_eq!(timeline("%ZZ=1&org=%E2%28"), timeline(""));
    assert_eq!(RecordTab::Summary.path(nhs()), "/patients/9990000050");
    assert_eq!(
        RecordTab::Documents.path(nhs()),
        "/patients/9990000050/documents"
    );
    for tab in all_tabs() {
        assert_eq!(RecordTab::parse(tab.segment(), None), Some(tab));
    }
}

#[test]
fn every_tab_keeps_the_banner_and_sources_and_marks_itself_in_the_navigation() {
    let f = Fixture::new();
    let record = rich(&f);
    for tab in all_tabs() {
        let page = tab_page(&f, &record, &tab);
        assert!(page.contains(&format!(
            "<title>{} – Integrated Care Record</title>",
            tab.title()
        )));
        assert!(page.contains("id=\"patient-name\">PENNINGTON, Robert James (Mr)</h1>"));
        assert!(page.contains(
            "<li><strong class=\"nhsuk-tag nhsuk-tag--red\">No answer</strong> Salisbury NHS Foundation Trust did not answer in time — this record may be incomplete.</li>"
        ));
        assert_eq!(
            page.matches("aria-current=\"page\"").count(),
            1,
            "{}",
            tab.title()
        );
        assert!(page.contains(&format!(
            "<li class=\"nhsuk-tabs__list-item nhsuk-tabs__list-item--selected\"><a class=\"nhsuk-tabs__tab\" href=\"{}\" aria-current=\"page\">{}</a></li>",
            RecordTab::parse(tab.segment(), None).unwrap().path(nhs()),
            tab.title()
        )), "{page}");
        assert!(page.contains("<li class=\"nhsuk-tabs__list-item\"><a class=\"nhsuk-tabs__tab\" href=\"/patients/9990000050/timeline\">Timeline</a></li>")
            || matches!(tab, RecordTab::Timeline(_)));
        assert!(!page.contains("style=") && !page.contains("<style"));
        assert_eq!(page.matches("<script").count(), 1);
        assert_balanced(&page);
        design_system_classes(&page);
    }
}

#[test]
fn the_full_record_gives_every_holder_of_every_item() {
    let f = Fixture::new();
    let page = tab_page(&f, &rich(&f), &RecordTab::Sections);
    assert!(page.contains(concat!(
        "<h3 class=\"nhsuk-card__heading nhsuk-heading-s\">Metformin 500mg tablets</h3><dl class=\"nhsuk-summary-list\">",
        "<div class=\"nhsuk-summary-list__row\"><dt class=\"nhsuk-summary-list__key\">Status</dt><dd class=\"nhsuk-summary-list__value\">Active</dd></div>",
        "<div class=\"nhsuk-summary-list__row\"><dt class=\"nhsuk-summary-list__key\">Dosage</dt><dd class=\"nhsuk-summary-list__value\">One tablet twice a day</dd></div>",
        "<div class=\"nhsuk-summary-list__row\"><dt class=\"nhsuk-summary-list__key\">Started</dt><dd class=\"nhsuk-summary-list__value\">01-Apr-2019</dd></div>",
        "<div class=\"nhsuk-summary-list__row\"><dt class=\"nhsuk-summary-list__key\">Held by</dt><dd class=\"nhsuk-summary-list__value\"><ul class=\"nhsuk-list\">",
        "<li><strong>Ridgeway View Practice</strong> (J83019): test, source gp, record MedicationStatement/7, last updated 01-Dec-2026 09:30 UTC</li>",
        "<li><strong>Great Western Hospitals NHS Foundation Trust</strong> (RN3): test, source gwh, record MED-991, last update not stated</li>",
        "</ul></dd></div></dl>",
    )), "{page}");
    // A document's text keeps its paragraphs here too.
    assert!(page.contains("<p>Seen &lt;b&gt;at home&lt;/b&gt;.</p><p>Plan: fluids &amp; rest.<br>Review in 2 days.</p></div>"));
    // Demographics' sources, and every section, shown or not.
    assert!(page.contains("<li><strong>Ridgeway View Practice</strong> (J83019): test, source gp, record Patient/1, last update not stated</li>"));
    assert!(
        page.contains(
            "id=\"section-contacts\">Contacts</h2><p>Not shown to your role.</p></section>"
        )
    );
    assert!(page.contains(
        "id=\"section-procedures\">Procedures and immunisations</h2><p>Not shown to your role.</p>"
    ));
    assert!(page.contains("id=\"section-results\">Results</h2><p class=\"nhsuk-body-s\">4 items, most recent first.</p>"));
    // A section's withheld items and missing sources are under it.
    assert!(page.contains(concat!(
        "<p class=\"nhsuk-body-s\">3 items withheld for your role.</p>",
        "<p class=\"nhsuk-body-s\"><strong>May be incomplete:</strong> Salisbury NHS Foundation Trust did not answer in full.</p></section>\n",
        "<section aria-labelledby=\"section-results\">",
    )));
}

#[test]
fn sources_that_differ_are_shown_each_with_its_version_and_none_chosen() {
    let f = Fixture::new();
    let record = rich(&f);
    let expected = concat!(
        "<p><strong class=\"nhsuk-tag nhsuk-tag--orange\">Sources differ</strong> Each version is shown; none is chosen. The details above are the most recently updated copy.</p>",
        "<ul class=\"nhsuk-list nhsuk-list--bullet\"><li>Dosage: One tablet twice a day (Ridgeway View Practice); ",
        "Two &lt;b&gt;tablets&lt;/b&gt; twice a day (Great Western Hospitals NHS Foundation Trust)</li></ul>",
    );
    let page = tab_page(&f, &record, &RecordTab::Sections);
    assert!(page.contains(expected), "{page}");
    assert_eq!(page.matches("Sources differ").count(), 1);
    // The summary says so where the item is listed, and links to the versions.
    let summary = tab_page(&f, &record, &RecordTab::Summary);
    assert!(summary.contains(concat!(
        "<td class=\"nhsuk-table__cell\">Ridgeway View Practice, Great Western Hospitals NHS Foundation Trust ",
        "<strong class=\"nhsuk-tag nhsuk-tag--orange\">Sources differ</strong> ",
        "<a href=\"/patients/9990000050/sections\">See each version</a><details class=\"nhsuk-details\">",
    )), "{summary}");
    assert_eq!(summary.matches("Sources differ").count(), 1);
    // Values of other shapes read as words.
    use crate::provenance::value_text;
    assert_eq!(value_text(None), "not recorded");
    assert_eq!(
        value_text(Some(
            &serde_json::json!({"codings": [{"code": "1", "display": "Penicillin"}]})
        )),
        "Penicillin"
    );
    assert_eq!(
        value_text(Some(&serde_json::json!({"text": "Rash"}))),
        "Rash"
    );
    assert_eq!(
        value_text(Some(&serde_json::json!({"value": 5.5, "unit": "mmol/L"}))),
        "5.5 mmol/L"
    );
    assert_eq!(value_text(Some(&serde_json::json!(["a", 2]))), "a; 2");
    assert_eq!(value_text(Some(&serde_json::json!({"x": 1}))), "{\"x\":1}");
}

#[test]
fn the_timeline_lists_by_date_and_says_what_its_filter_hides() {
    let f = Fixture::new();
    let record = rich(&f);
    let page = tab_page(&f, &record, &timeline(""));
    // Newest first: the appointment to come, the encounter, the referral,
    // the results (the report among them), the document in March.
    let order = [
        ">Diabetes review</strong>",
        ">OOH consultation</strong>",
        ">Emergency department</strong><br>GWH ED",
        ">Serum potassium</strong><br>7 mmol/L · High",
        ">Diabetic eye screening</strong><br>to Eye clinic",
        ">Chest X-ray</strong>",
        ">Serum potassium</strong><br>5 mmol/L",
        ">Serum potassium</strong><br>4 mmol/L",
    ];
    let at: Vec<usize> = order
        .iter()
        .map(|s| {
            page.find(s)
                .unwrap_or_else(|| panic!("{s} missing\n{page}"))
        })
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{at:?}");
    assert!(page.contains("<p id=\"timeline-filter\"><strong>No filter: every organisation and every type.</strong> Showing 8 of 8 items.</p>"));
    assert!(page.contains(concat!(
        "Showing 8 of 8 items.</p><details class=\"nhsuk-details\"><summary class=\"nhsuk-details__summary\">",
        "<span class=\"nhsuk-details__summary-text\">Filter by organisation or type</span></summary>",
        "<div class=\"nhsuk-details__text\"><form method=\"get\" action=\"/patients/9990000050/timeline\">",
    )));
    assert!(page.contains("<button class=\"nhsuk-button nhsuk-button--secondary\" type=\"submit\">Apply filter</button></form>"));

    let page = tab_page(&f, &record, &timeline("org=RN3&type=result&type=encounter"));
    assert!(page.contains(concat!(
        "<p id=\"timeline-filter\"><strong>Filtered to organisations: Great Western Hospitals NHS Foundation Trust (RN3); types: Encounter and Result.</strong> ",
        "Showing 4 of 8 items; the filter hides 4 items. <a href=\"/patients/9990000050/timeline\">Show every item</a>.</p>",
        "<details class=\"nhsuk-details\" open>",
    )), "{page}");
    assert!(page.contains("<input class=\"nhsuk-checkboxes__input\" id=\"org-RN3\" name=\"org\" type=\"checkbox\" value=\"RN3\" checked><label class=\"nhsuk-label nhsuk-checkboxes__label\" for=\"org-RN3\">Great Western Hospitals NHS Foundation Trust (RN3)</label>"));
    assert!(page.contains("<input class=\"nhsuk-checkboxes__input\" id=\"org-J83019\" name=\"org\" type=\"checkbox\" value=\"J83019\"><label"));
    assert!(
        page.contains(
            "id=\"type-result\" name=\"type\" type=\"checkbox\" value=\"result\" checked>"
        )
    );
    assert!(
        page.contains("id=\"type-document\" name=\"type\" type=\"checkbox\" value=\"document\">")
    );
    assert!(!page.contains(">Diabetes review</strong>"));
    assert!(!page.contains(">OOH consultation</strong>"));
    assert!(page.contains(">Chest X-ray</strong>"));
    assert!(
        !page.contains(">Serum potassium</strong><br>4 mmol/L"),
        "held by the practice only"
    );

    // A filter that hides everything says so.
    let page = tab_page(&f, &record, &timeline("org=RVN"));
    assert!(page.contains("Showing 0 of 8 items; the filter hides 8 items."));
    assert!(page.contains("<p>No item to show.</p>"));
}

#[test]
fn a_repeated_test_is_charted_with_its_range_shaded_and_abnormal_values_flagged() {
    let f = Fixture::new();
    let page = tab_page(&f, &rich(&f), &RecordTab::Results);
    let summary = "Serum potassium: 3 values from 01-Jan-2026 to 21-Jan-2026 in mmol/L; lowest 4, highest 7, latest 7 (High); 1 flagged abnormal; reference range 3 to 6 mmol/L. The table lists every value.";
    // Values 4, 5, 7 over 3 to 6: the scale runs 2.5 to 7.5 (30 units a
    // mmol/L from y 15); 1 to 21 January spans x 60 to 580.
    let svg = format!(
        concat!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 600 200\" width=\"100%\" role=\"img\" aria-label=\"{s}\" focusable=\"false\" id=\"chart-0\"><title>{s}</title>",
            "<text x=\"6\" y=\"11\" font-size=\"12\" fill=\"#212b32\">mmol/L</text>",
            "<rect x=\"60\" y=\"60.0\" width=\"520.0\" height=\"90.0\" fill=\"#007f3b\" fill-opacity=\"0.15\"/>",
            "<line x1=\"60\" y1=\"150.0\" x2=\"580\" y2=\"150.0\" stroke=\"#007f3b\" stroke-dasharray=\"4 3\"/><text x=\"54.0\" y=\"154.0\" text-anchor=\"end\" font-size=\"12\" fill=\"#212b32\">3</text>",
            "<line x1=\"60\" y1=\"60.0\" x2=\"580\" y2=\"60.0\" stroke=\"#007f3b\" stroke-dasharray=\"4 3\"/><text x=\"54.0\" y=\"64.0\" text-anchor=\"end\" font-size=\"12\" fill=\"#212b32\">6</text>",
            "<line x1=\"60\" y1=\"15\" x2=\"60\" y2=\"165\" stroke=\"#4c6272\"/><line x1=\"60\" y1=\"165\" x2=\"580\" y2=\"165\" stroke=\"#4c6272\"/>",
            "<polyline points=\"60.0,120.0 320.0,90.0 580.0,30.0\" fill=\"none\" stroke=\"#005eb8\" stroke-width=\"2\"/>",
            "<circle cx=\"60.0\" cy=\"120.0\" r=\"4\" fill=\"#005eb8\"/>",
            "<circle cx=\"320.0\" cy=\"90.0\" r=\"4\" fill=\"#005eb8\"/>",
            "<rect x=\"575.0\" y=\"25.0\" width=\"10\" height=\"10\" fill=\"#d5281b\"/><text x=\"580.0\" y=\"21.0\" text-anchor=\"middle\" font-size=\"12\" font-weight=\"bold\" fill=\"#d5281b\">H</text>",
            "<text x=\"60.0\" y=\"183.0\" text-anchor=\"start\" font-size=\"12\" fill=\"#212b32\">01-Jan-2026</text>",
            "<text x=\"580.0\" y=\"183.0\" text-anchor=\"end\" font-size=\"12\" fill=\"#212b32\">21-Jan-2026</text></svg>",
        ),
        s = summary
    );
    assert!(page.contains(&svg), "{page}");
    // The table holds the same numbers, the flag in words.
    let row = |date: &str, value: &str, flag: &str| {
        format!(
            "<tr class=\"nhsuk-table__row\"><td class=\"nhsuk-table__cell\">{date}</td><td class=\"nhsuk-table__cell\">{value}</td><td class=\"nhsuk-table__cell\">3 to 6 mmol/L</td><td class=\"nhsuk-table__cell\">{flag}</td>"
        )
    };
    let rows = [
        row(
            "21-Jan-2026",
            "7 mmol/L",
            "<strong class=\"nhsuk-tag nhsuk-tag--red\">High</strong>",
        ),
        row("11-Jan-2026", "5 mmol/L", ""),
        row("01-Jan-2026", "4 mmol/L", "N"),
    ];
    let at: Vec<usize> = rows
        .iter()
        .map(|r| page.find(r.as_str()).expect(r))
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]));
    assert!(page.find(&svg) < Some(at[0]));
    assert!(page.contains("<caption class=\"nhsuk-table__caption nhsuk-table__caption--s\">Serum potassium: every value, most recent first</caption>"));
    // The report, with its conclusion escaped.
    assert!(page.contains("<td class=\"nhsuk-table__cell\">Chest X-ray</td><td class=\"nhsuk-table__cell\">No acute &lt;change&gt;</td>"));
}

#[test]
fn a_value_outside_its_range_is_flagged_without_the_sources_flag() {
    let r = |v: f64| match potassium(1, mmol(v), "") {
        Entry::Result(r) => r,
        _ => unreachable!(),
    };
    use crate::results::abnormal;
    assert_eq!(
        abnormal(&r(6.5)).map(|f| (f.text, f.letter)),
        Some(("High".into(), 'H'))
    );
    assert_eq!(
        abnormal(&r(2.9)).map(|f| (f.text, f.letter)),
        Some(("Low".into(), 'L'))
    );
    assert_eq!(abnormal(&r(3.0)), None);
    let mut normal = r(9.0);
    normal.interpretation = interpretation("N");
    assert_eq!(abnormal(&normal), None, "the source's word stands");
    normal.interpretation = interpretation("LL");
    assert_eq!(abnormal(&normal).unwrap().text, "Critically low");
    normal.interpretation = vec![Concept::text("Above high normal")];
    assert_eq!(
        abnormal(&normal).map(|f| (f.text, f.letter)),
        Some(("Above high normal".into(), 'H'))
    );
    // Words that are no flag leave the range to decide.
    normal.interpretation = vec![Concept::text("Better")];
    assert_eq!(abnormal(&normal).unwrap().text, "High");
    let mut negative = r(4.0);
    negative.interpretation = interpretation("NEG");
    assert_eq!(abnormal(&negative), None);
}

#[test]
fn a_test_in_different_units_or_without_numbers_is_not_charted() {
    let f = Fixture::new();
    let mut record = rich(&f);
    let results = record.sections.get_mut(&Section::Results).unwrap();
    if let Entry::Result(r) = &mut results[0].entry {
        r.value = Some(ResultValue::Quantity(Quantity {
            value: Some(7.0),
            unit: Some("mEq/L".into()),
            ..Default::default()
        }));
    }
    let page = tab_page(&f, &record, &RecordTab::Results);
    assert!(!page.contains("<svg xmlns"), "{page}");
    assert!(page.contains("<p class=\"nhsuk-body-s\">Not charted: the values are in different units (mEq/L and mmol/L).</p>"));
    assert!(page.contains("<td class=\"nhsuk-table__cell\">7 mEq/L</td>"));

    let results = record.sections.get_mut(&Section::Results).unwrap();
    for i in results.iter_mut() {
        if let Entry::Result(r) = &mut i.entry {
            r.value = Some(ResultValue::Text("haemolysed".into()));
        }
    }
    let page = tab_page(&f, &record, &RecordTab::Results);
    assert!(page.contains(
        "<p class=\"nhsuk-body-s\">Not charted: fewer than two values are numbers with dates.</p>"
    ));
}

#[test]
fn problems_are_listed_active_first_then_resolved_with_their_dates_and_organisations() {
    let f = Fixture::new();
    let page = tab_page(&f, &rich(&f), &RecordTab::Problems);
    let active = page
        .find("id=\"problems-active\">Active problems</h3>")
        .unwrap();
    let resolved = page
        .find("id=\"problems-resolved\">Resolved or inactive problems</h3>")
        .unwrap();
    let refuted = page
        .find("id=\"problems-refuted\">Ruled out or recorded in error</h3>")
        .unwrap();
    assert!(active < resolved && resolved < refuted);
    let row = |cells: &str| {
        page.find(cells)
            .unwrap_or_else(|| panic!("{cells}\n{page}"))
    };
    let diabetes = row(concat!(
        "<td class=\"nhsuk-table__cell\">Type 2 diabetes</td><td class=\"nhsuk-table__cell\">Active</td>",
        "<td class=\"nhsuk-table__cell\">01-Apr-2019</td><td class=\"nhsuk-table__cell\"></td>",
        "<td class=\"nhsuk-table__cell\">Ridgeway View Practice, Great Western Hospitals NHS Foundation Trust<details",
    ));
    let appendicitis = row(concat!(
        "<td class=\"nhsuk-table__cell\">Appendicitis</td><td class=\"nhsuk-table__cell\">Resolved</td>",
        "<td class=\"nhsuk-table__cell\">02-May-1990</td><td class=\"nhsuk-table__cell\">Jun-1990</td>",
        "<td class=\"nhsuk-table__cell\">Great Western Hospitals NHS Foundation Trust<details",
    ));
    let asthma = row(
        "<td class=\"nhsuk-table__cell\">Asthma</td><td class=\"nhsuk-table__cell\">Refuted</td>",
    );
    assert!(active < diabetes && diabetes < resolved);
    assert!(resolved < appendicitis && appendicitis < refuted && refuted < asthma);
    assert!(page.contains("<p class=\"nhsuk-body-s\">3 items withheld for your role.</p>"));
}

#[test]
fn documents_show_their_text_escaped_and_never_the_sources_address() {
    let f = Fixture::new();
    let page = tab_page(&f, &rich(&f), &RecordTab::Documents);
    assert!(page.contains(concat!(
        "<h3 class=\"nhsuk-card__heading nhsuk-heading-m\" id=\"document-0\">OOH consultation</h3><dl class=\"nhsuk-summary-list\">",
        "<div class=\"nhsuk-summary-list__row\"><dt class=\"nhsuk-summary-list__key\">Type</dt><dd class=\"nhsuk-summary-list__value\">Out of hours report</dd></div>",
        "<div class=\"nhsuk-summary-list__row\"><dt class=\"nhsuk-summary-list__key\">From</dt><dd class=\"nhsuk-summary-list__value\">Medvivo Out of Hours</dd></div>",
        "<div class=\"nhsuk-summary-list__row\"><dt class=\"nhsuk-summary-list__key\">Date</dt><dd class=\"nhsuk-summary-list__value\">04-Mar-2026</dd></div>",
        "<div class=\"nhsuk-summary-list__row\"><dt class=\"nhsuk-summary-list__key\">Status</dt><dd class=\"nhsuk-summary-list__value\">Current</dd></div>",
        "<div class=\"nhsuk-summary-list__row\"><dt class=\"nhsuk-summary-list__key\">Authors</dt><dd class=\"nhsuk-summary-list__value\">Dr Night</dd></div></dl>",
        "<div class=\"nhsuk-inset-text\"><span class=\"nhsuk-u-visually-hidden\">Document text: </span>",
        "<p>Seen &lt;b&gt;at home&lt;/b&gt;.</p><p>Plan: fluids &amp; rest.<br>Review in 2 days.</p></div>",
        "<p class=\"nhsuk-body-s\">The original (application/pdf (2048 bytes)) is held by Medvivo Out of Hours: ask them for it.</p>",
        "<details class=\"nhsuk-details\">",
    )), "{page}");
    assert!(!page.contains("ooh.internal"));
    // A care plan says what it plans, for when.
    let mut record = rich(&f);
    if let Entry::Document(d) = &mut record.sections.get_mut(&Section::Documents).unwrap()[0].entry
    {
        d.text = None;
        d.care_plan = Some(CarePlan {
            status: Some(RequestStatus::OnHold),
            period_start: on(2026, 3, 4),
            period_end: None,
            activities: vec!["Daily <visit>".into(), "Review".into()],
        });
    }
    let page = tab_page(&f, &record, &RecordTab::Documents);
    assert!(page.contains(concat!(
        "<div class=\"nhsuk-summary-list__row\"><dt class=\"nhsuk-summary-list__key\">Plan status</dt><dd class=\"nhsuk-summary-list__value\">On hold</dd></div>",
        "<div class=\"nhsuk-summary-list__row\"><dt class=\"nhsuk-summary-list__key\">Plan period</dt><dd class=\"nhsuk-summary-list__value\">From 04-Mar-2026</dd></div></dl>",
        "<p>The source sent no text for this document.</p>",
        "<h4 class=\"nhsuk-heading-s\">Planned</h4><ul class=\"nhsuk-list nhsuk-list--bullet\"><li>Daily &lt;visit&gt;</li><li>Review</li></ul>",
    )), "{page}");
    assert!(!page.contains("<b>"));
}

#[test]
fn empty_or_hidden_sections_render_every_tab_and_say_why() {
    let f = Fixture::new();
    let mut empty = MergedRecord::default();
    for tab in all_tabs() {
        let page = render_tab(&empty, &[], &Withheld::default(), &tab);
        assert_balanced(&page);
        if !matches!(tab, RecordTab::Timeline(_)) {
            assert!(
                page.contains("<p>Not shown to your role.</p>"),
                "{}",
                tab.title()
            );
        }
    }
    let page = render_tab(&empty, &[], &Withheld::default(), &timeline("type=result"));
    assert!(page.contains("<p>Not shown to your role: Appointments and encounters, Referrals, Procedures and immunisations, Documents and Results.</p>"));
    assert!(page.contains("Showing 0 of 0 items.</p>"));
    for s in Section::ALL {
        empty.sections.insert(*s, Vec::new());
    }
    for tab in all_tabs() {
        let page = tab_page(&f, &empty, &tab);
        assert_balanced(&page);
        assert!(!page.contains("Not shown to your role"), "{}", tab.title());
    }
    for tab in [
        RecordTab::Problems,
        RecordTab::Results,
        RecordTab::Documents,
    ] {
        let page = tab_page(&f, &empty, &tab);
        assert!(page.contains("<p>None recorded by the organisations that answered.</p>"));
    }
    // A test with no value, no date and no name.
    let mut odd = MergedRecord::default();
    let bare = |o: &Org| item(Entry::Result(TestResult::default()), &[o]);
    odd.sections
        .insert(Section::Results, vec![bare(&f.gp), bare(&f.gwh)]);
    let page = tab_page(&f, &odd, &RecordTab::Results);
    assert!(page.contains("id=\"test-0\">Test not named</h3><p class=\"nhsuk-body-s\">Not charted: fewer than two values are numbers with dates.</p>"));
    assert!(page.contains("<td class=\"nhsuk-table__cell\">Not dated</td><td class=\"nhsuk-table__cell\">No value</td>"));
    assert_balanced(&page);
}

#[test]
fn text_from_sources_is_escaped_on_every_tab() {
    let f = Fixture::new();
    let evil = "<script>alert(\"x\")</script>&'";
    let mut record = rich(&f);
    // An organisation, a system and a record id of that text too, and a
    // conflict's value.
    let bad = crate::tests::org("bad", evil, "RXX");
    let mut meta = (*bad.meta).clone();
    meta.system = evil.into();
    let meta = std::sync::Arc::new(meta);
    for items in record.sections.values_mut() {
        for i in items.iter_mut() {
            scramble(i, evil);
            i.provenance.push(meta.provenance(evil, None).unwrap());
            i.conflicts.push(Conflict {
                field: evil.into(),
                values: vec![ConflictValue {
                    sources: vec![meta.id.clone()],
                    value: Some(evil.into()),
                }],
            });
        }
    }
    for tab in all_tabs() {
        let page = tab_page(&f, &record, &tab);
        assert!(!page.contains("<script>"), "{}", tab.title());
        if !matches!(tab, RecordTab::Summary) {
            let holder = "<li><strong>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;</strong> (RXX): &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;, source bad, record &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;, last update not stated</li>";
            assert!(page.contains(holder), "{}", tab.title());
        }
        assert!(
            page.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"),
            "{}",
            tab.title()
        );
        assert_balanced(&page);
    }
}

/// Puts `text` in every item's name and free text.
fn scramble(item: &mut MergedItem, text: &str) {
    let c = Concept::text(text);
    match &mut item.entry {
        Entry::Medication(m) => {
            m.medication = c;
            m.status = Some(MedicationStatus::Active);
        }
        Entry::Allergy(a) => a.code = c,
        Entry::Condition(x) => x.code = c,
        Entry::Result(r) => {
            r.code = c;
            r.conclusion = Some(text.into());
        }
        Entry::Document(d) => {
            d.title = Some(text.into());
            d.text = Some(text.into());
        }
        Entry::Appointment(a) => {
            a.service_type = vec![c];
            a.location = Some(text.into());
        }
        Entry::Referral(r) => r.code = c,
        Entry::Alert(a) => a.code = c,
        _ => {}
    }
}

/// A result of test `test` on day `day` of 2026, `value` in `unit`, with
/// the interpretation `flag` and a range of 3 to 6.
fn any_result(test: u8, day: u16, value: f64, unit: &str, flag: &str) -> Entry {
    let mut e = potassium(
        1,
        Quantity {
            unit: Some(unit.into()),
            ..mmol(value)
        },
        flag,
    );
    if let Entry::Result(r) = &mut e {
        r.code = Concept::coded(Coding::new(
            CodeSystem::Loinc,
            format!("{test}"),
            format!("Test {test}"),
        ));
        r.effective = time::Date::from_ordinal_date(2026, day)
            .ok()
            .map(PartialDateTime::Date);
    }
    e
}

proptest::proptest! {
    /// Any values, however large, small, equal or odd, render every tab
    /// well formed, and a chart's coordinates are always numbers.
    #[test]
    fn any_results_render_well_formed_charts(
        results in proptest::collection::vec(
            (0u8..3, 1u16..366, proptest::prop_oneof![proptest::num::f64::ANY, proptest::strategy::Just(f64::MAX), proptest::strategy::Just(-f64::MAX), -10.0..10.0f64], proptest::sample::select(vec!["mmol/L", "<b>", ""]), proptest::sample::select(vec!["", "H", "N", "LL", "NEG"])),
            0..12,
        ),
    ) {
        let f = Fixture::new();
        let mut record = f.record(false);
        let items = results
            .iter()
            .map(|(test, day, value, unit, flag)| item(any_result(*test, *day, *value, unit, flag), &[&f.gp]))
            .collect();
        record.sections.insert(Section::Results, items);
        for tab in all_tabs() {
            let page = tab_page(&f, &record, &tab);
            assert_balanced(&page);
            for svg in page.split("<svg").skip(1) {
                let svg = &svg[..svg.find("</svg>").unwrap()];
                proptest::prop_assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
                // Every point inside the plot.
                for (axis, lo, hi) in [("cx=\"", 60.0, 580.0), ("cy=\"", 15.0, 165.0)] {
                    for at in svg.split(axis).skip(1) {
                        let v: f64 = at[..at.find('"').unwrap()].parse().unwrap();
                        proptest::prop_assert!((lo..=hi).contains(&v), "{axis}{v}");
                    }
                }
            }
        }
    }
}

#[test]
fn values_too_far_apart_to_draw_are_not_charted() {
    let f = Fixture::new();
    let mut record = f.record(false);
    record.sections.insert(
        Section::Results,
        vec![
            item(any_result(1, 10, f64::MAX, "mmol/L", ""), &[&f.gp]),
            item(any_result(1, 20, -f64::MAX, "mmol/L", ""), &[&f.gp]),
        ],
    );
    let page = tab_page(&f, &record, &RecordTab::Results);
    assert!(page.contains("id=\"test-0\">Test 1</h3><p class=\"nhsuk-body-s\">Not charted: the values are too far apart to draw on one scale.</p>"), "{page}");
    assert!(!page.contains("NaN"));
}

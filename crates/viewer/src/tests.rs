//! Pages for a synthetic person, checked fragment by fragment.

use std::collections::BTreeMap;
use std::sync::Arc;

use icr_merge::{MergedItem, MergedPatient, MergedRecord, Warning};
use icr_model::{
    Address, Alert, Allergy, CodeSystem, Coding, Concept, ContactUse, Demographics, Entry, Gender,
    HumanName, IssueKind, Medication, MedicationStatus, NameUse, NhsNumber, OdsCode,
    PartialDateTime, Provenance, Reaction, Section, SourceId, SourceIssue, SourceMeta,
    SourceStatus, Telecom, TelecomSystem,
};
use icr_policy::Withheld;
use time::macros::{date, datetime};

use crate::*;

pub(crate) struct Org {
    pub(crate) meta: Arc<SourceMeta>,
    pub(crate) ods: OdsCode,
}

pub(crate) fn org(id: &str, name: &str, ods: &str) -> Org {
    let ods = OdsCode::parse(ods).unwrap();
    Org {
        meta: Arc::new(SourceMeta {
            id: SourceId::parse(id).unwrap(),
            organisation: name.into(),
            ods_code: ods.clone(),
            system: "test".into(),
        }),
        ods,
    }
}

pub(crate) fn prov(o: &Org, id: &str) -> Provenance {
    o.meta.provenance(id, None).unwrap()
}

pub(crate) fn item(entry: Entry, by: &[&Org]) -> MergedItem {
    MergedItem {
        entry,
        provenance: by.iter().map(|o| prov(o, "R/1")).collect(),
        conflicts: Vec::new(),
    }
}

pub(crate) fn concept(display: &str) -> Concept {
    Concept::coded(Coding::new(CodeSystem::Snomed, "1", display))
}

fn robert(sensitive: bool) -> Demographics {
    Demographics {
        nhs_number: Some(nhs()),
        names: vec![HumanName {
            use_: Some(NameUse::Official),
            prefix: vec!["Mr".into()],
            given: vec!["Robert".into(), "James".into()],
            family: Some("Pennington".into()),
            text: None,
        }],
        birth_date: Some(PartialDateTime::Date(date!(1950 - 03 - 12))),
        gender: Some(Gender::Male),
        addresses: vec![Address {
            use_: Some(ContactUse::Home),
            lines: vec!["1 Market Place".into()],
            city: Some("Devizes".into()),
            postcode: Some("SN10 1AA".into()),
            ..Default::default()
        }],
        telecom: vec![Telecom {
            system: TelecomSystem::Phone,
            value: "01380 000000".into(),
            use_: None,
        }],
        registered_practice: Some(OdsCode::parse("J83019").unwrap()),
        sensitive,
        ..Default::default()
    }
}

pub(crate) fn nhs() -> NhsNumber {
    NhsNumber::parse("9990000050").unwrap()
}

pub(crate) struct Fixture {
    pub(crate) gp: Org,
    pub(crate) gwh: Org,
    pub(crate) sft: Org,
    pub(crate) ruh: Org,
    pub(crate) awp: Org,
    pub(crate) ooh: Org,
    issues: Vec<SourceIssue>,
}

fn line(
    o: &Org,
    status: SourceStatus,
    fetched_at: Option<time::OffsetDateTime>,
    cached: bool,
) -> SourceLine<'_> {
    SourceLine {
        organisation: &o.meta.organisation,
        ods_code: &o.ods,
        status,
        fetched_at,
        cached,
        issues: &[],
    }
}

impl Fixture {
    pub(crate) fn new() -> Self {
        Fixture {
            gp: org("gp", "Ridgeway View Practice", "J83019"),
            gwh: org("gwh", "Great Western Hospitals NHS Foundation Trust", "RN3"),
            sft: org("sft", "Salisbury NHS Foundation Trust", "RNZ"),
            ruh: org(
                "ruh",
                "Royal United Hospitals Bath NHS Foundation Trust",
                "RD1",
            ),
            awp: org("awp", "Avon and Wiltshire Mental Health Partnership", "RVN"),
            ooh: org("ooh", "Medvivo Out of Hours", "NL3"),
            issues: vec![SourceIssue {
                kind: IssueKind::SectionFailed,
                section: Some(Section::Medications),
                message: "MedicationStatement: HTTP 500".into(),
            }],
        }
    }

    pub(crate) fn sources(&self) -> Vec<SourceLine<'_>> {
        vec![
            line(
                &self.gp,
                SourceStatus::Ok,
                Some(datetime!(2026-12-07 07:01 UTC)),
                false,
            ),
            line(
                &self.gwh,
                SourceStatus::Ok,
                Some(datetime!(2026-12-07 06:58 UTC)),
                true,
            ),
            line(&self.sft, SourceStatus::Timeout, None, false),
            line(
                &self.ruh,
                SourceStatus::NotFound,
                Some(datetime!(2026-12-07 07:01 UTC)),
                false,
            ),
            SourceLine {
                issues: &self.issues,
                ..line(
                    &self.ooh,
                    SourceStatus::Partial,
                    Some(datetime!(2026-12-07 07:01 UTC)),
                    false,
                )
            },
            line(&self.awp, SourceStatus::Skipped, None, false),
        ]
    }

    pub(crate) fn record(&self, sensitive: bool) -> MergedRecord {
        let mut sections = BTreeMap::new();
        sections.insert(
            Section::Medications,
            vec![
                item(
                    Entry::Medication(Medication {
                        medication: concept("Metformin 500mg tablets"),
                        status: Some(MedicationStatus::Active),
                        dosage: Some("One tablet twice a day".into()),
                        start: Some(PartialDateTime::Date(date!(2019 - 04 - 01))),
                        ..Default::default()
                    }),
                    &[&self.gp, &self.gwh],
                ),
                item(
                    Entry::Medication(Medication {
                        medication: concept("Amoxicillin 500mg capsules"),
                        status: Some(MedicationStatus::Completed),
                        ..Default::default()
                    }),
                    &[&self.gp],
                ),
            ],
        );
        sections.insert(
            Section::Allergies,
            vec![item(
                Entry::Allergy(Allergy {
                    code: concept("Penicillin <b>allergy</b>"),
                    reactions: vec![Reaction {
                        manifestations: vec![concept("Urticaria")],
                        ..Default::default()
                    }],
                    recorded: Some(PartialDateTime::YearMonth(2001, time::Month::June)),
                    ..Default::default()
                }),
                &[&self.gp],
            )],
        );
        sections.insert(Section::Conditions, Vec::new());
        sections.insert(
            Section::Alerts,
            vec![
                item(
                    Entry::Alert(Alert {
                        code: concept("Lives alone"),
                        ..Default::default()
                    }),
                    &[&self.gp],
                ),
                item(
                    Entry::Alert(Alert {
                        code: concept("Adult at risk"),
                        category: vec![Concept::text("Safeguarding")],
                        period_start: Some(PartialDateTime::Date(date!(2025 - 01 - 02))),
                        ..Default::default()
                    }),
                    &[&self.awp],
                ),
            ],
        );
        MergedRecord {
            patient: Some(MergedPatient {
                demographics: robert(sensitive),
                provenance: vec![prov(&self.gp, "Patient/1")],
            }),
            sections,
            warnings: Vec::new(),
        }
    }
}

pub(crate) fn withheld() -> Withheld {
    Withheld {
        count: 3,
        by_section: [(Section::Conditions, 3)].into_iter().collect(),
        outside_sections: 0,
    }
}

pub(crate) fn render(
    record: &MergedRecord,
    sources: &[SourceLine<'_>],
    withheld: &Withheld,
) -> String {
    render_tab(record, sources, withheld, &RecordTab::Summary)
}

/// The record page at `tab`.
pub(crate) fn render_tab(
    record: &MergedRecord,
    sources: &[SourceLine<'_>],
    withheld: &Withheld,
    tab: &RecordTab,
) -> String {
    record_page(
        &RecordView {
            nhs_number: nhs(),
            record,
            sources,
            withheld,
            gathered: &[],
            today: date!(2026 - 12 - 07),
            chrome: Chrome::default(),
        },
        tab,
    )
}

fn page_of(sensitive: bool) -> String {
    let f = Fixture::new();
    render(&f.record(sensitive), &f.sources(), &withheld())
}

fn row(key: &str, value: &str) -> String {
    format!(
        "<div class=\"nhsuk-summary-list__row\"><dt class=\"nhsuk-summary-list__key\">{key}</dt><dd class=\"nhsuk-summary-list__value\">{value}</dd></div>"
    )
}

#[test]
fn the_banner_shows_the_person_in_the_common_user_interface_conventions() {
    let page = page_of(false);
    assert!(page.contains(
        "<h1 class=\"nhsuk-card__heading nhsuk-heading-l\" id=\"patient-name\">PENNINGTON, Robert James (Mr)</h1>"
    ));
    let rows = [
        row("Born", "12-Mar-1950 (76y)"),
        row("Gender", "Male"),
        row("NHS No.", "999 000 0050"),
        row("Address", "1 Market Place, Devizes, SN10 1AA"),
        row("Telephone", "01380 000000"),
        row("GP practice", "Ridgeway View Practice (J83019)"),
    ]
    .concat();
    assert!(page.contains(&rows), "{page}");
}

#[test]
fn the_banner_puts_safeguarding_alerts_first() {
    let page = page_of(false);
    assert!(page.contains(
        "<ul class=\"nhsuk-list nhsuk-list--bullet\"><li><strong class=\"nhsuk-tag nhsuk-tag--red\">Safeguarding</strong> Adult at risk</li><li>Lives alone</li></ul>"
    ));
}

#[test]
fn a_restricted_person_shows_no_address_or_telephone() {
    let page = page_of(true);
    assert!(page.contains(&format!(
        "{}{}",
        row("NHS No.", "999 000 0050"),
        row(
            "Address",
            "Restricted record: address and contact details are not shown"
        )
    )));
    for hidden in ["SN10", "Market Place", "Devizes", "01380", "Telephone"] {
        assert!(!page.contains(hidden), "{hidden} shown");
    }
}

#[test]
fn a_death_is_in_the_banner() {
    let f = Fixture::new();
    let mut record = f.record(false);
    if let Some(p) = record.patient.as_mut() {
        p.demographics.deceased = Some(icr_model::Deceased::At(PartialDateTime::Date(date!(
            2025 - 01 - 01
        ))));
    }
    let page = render(&record, &f.sources(), &Withheld::default());
    // The age is the age at death.
    assert!(page.contains(&format!(
        "{}{}",
        row("Born", "12-Mar-1950 (74y)"),
        row("Died", "01-Jan-2025")
    )));
    if let Some(p) = record.patient.as_mut() {
        p.demographics.deceased = Some(icr_model::Deceased::Yes);
    }
    let page = render(&record, &f.sources(), &Withheld::default());
    assert!(page.contains(&format!(
        "{}{}",
        row("Born", "12-Mar-1950"),
        row("Died", "Date not recorded")
    )));
}

#[test]
fn without_demographics_the_banner_shows_the_number_only() {
    let f = Fixture::new();
    let mut record = f.record(false);
    record.patient = None;
    let page = render(&record, &f.sources(), &Withheld::default());
    assert!(page.contains("id=\"patient-name\">Name not shown</h1>"));
    assert!(page.contains(&format!(
        "{}{}",
        row("NHS No.", "999 000 0050"),
        row("Details", "Demographics are not shown")
    )));
}

#[test]
fn each_status_has_its_sentence() {
    let org = "Salisbury NHS Foundation Trust";
    let expected = [
        (SourceStatus::Ok, "Salisbury NHS Foundation Trust answered"),
        (
            SourceStatus::Partial,
            "Salisbury NHS Foundation Trust answered, but part of its record could not be fetched — this record may be incomplete",
        ),
        (
            SourceStatus::NotFound,
            "Salisbury NHS Foundation Trust holds no record for this person",
        ),
        (
            SourceStatus::Timeout,
            "Salisbury NHS Foundation Trust did not answer in time — this record may be incomplete",
        ),
        (
            SourceStatus::Unavailable,
            "Salisbury NHS Foundation Trust could not be reached — this record may be incomplete",
        ),
        (
            SourceStatus::Error,
            "Salisbury NHS Foundation Trust answered with an error or with something unreadable — this record may be incomplete",
        ),
        (
            SourceStatus::Withheld,
            "Salisbury NHS Foundation Trust holds a record for this person but withholds it",
        ),
        (
            SourceStatus::Skipped,
            "Salisbury NHS Foundation Trust was not asked this time: it is not known to hold a record for this person",
        ),
    ];
    assert_eq!(expected.len(), SourceStatus::ALL.len());
    for (status, sentence) in expected {
        assert_eq!(status_sentence(org, status), sentence);
        // Every status that may hide data says so; no other does.
        assert_eq!(
            sentence.contains("may be incomplete"),
            status.failed() || status == SourceStatus::Partial,
            "{status}"
        );
    }
}

#[test]
fn the_sources_panel_tells_a_failed_source_from_an_empty_one() {
    let page = page_of(false);
    for line in [
        "<li><strong class=\"nhsuk-tag nhsuk-tag--green\">Answered</strong> Ridgeway View Practice answered. Fetched 07-Dec-2026 07:01 UTC.</li>",
        "<li><strong class=\"nhsuk-tag nhsuk-tag--green\">Answered</strong> Great Western Hospitals NHS Foundation Trust answered. Answer from the cache, fetched 07-Dec-2026 06:58 UTC.</li>",
        "<li><strong class=\"nhsuk-tag nhsuk-tag--red\">No answer</strong> Salisbury NHS Foundation Trust did not answer in time — this record may be incomplete.</li>",
        "<li><strong class=\"nhsuk-tag nhsuk-tag--grey\">No record</strong> Royal United Hospitals Bath NHS Foundation Trust holds no record for this person. Fetched 07-Dec-2026 07:01 UTC.</li>",
        "<li><strong class=\"nhsuk-tag nhsuk-tag--orange\">Incomplete</strong> Medvivo Out of Hours answered, but part of its record could not be fetched — this record may be incomplete. Fetched 07-Dec-2026 07:01 UTC.<ul class=\"nhsuk-list nhsuk-list--bullet\"><li>MedicationStatement: HTTP 500</li></ul></li>",
        "<li><strong class=\"nhsuk-tag nhsuk-tag--grey\">Not asked</strong> Avon and Wiltshire Mental Health Partnership was not asked this time: it is not known to hold a record for this person.</li>",
        "<p>2 of 6 organisations asked did not answer in full. What they hold is not shown below.</p>",
        "<p class=\"nhsuk-body-s\">3 items withheld for your role.</p></section>",
    ] {
        assert!(page.contains(line), "missing {line}\n{page}");
    }
}

#[test]
fn the_merge_and_gateway_warnings_are_notes_under_the_sources() {
    let f = Fixture::new();
    let mut record = f.record(false);
    record.warnings.push(Warning {
        code: "demographics-differ",
        message: "Date of birth differs between sources: gp has 1950-03-12; gwh has 1950-03-21"
            .into(),
        sources: Vec::new(),
    });
    let gathered = [Warning {
        code: "index-unavailable",
        message: "the record-location index could not be read; every source was asked".into(),
        sources: Vec::new(),
    }];
    let page = record_page(
        &RecordView {
            nhs_number: nhs(),
            record: &record,
            sources: &f.sources(),
            withheld: &withheld(),
            gathered: &gathered,
            today: date!(2026 - 12 - 07),
            chrome: Chrome::default(),
        },
        &RecordTab::Summary,
    );
    assert!(page.contains(concat!(
        "<h3 class=\"nhsuk-heading-s\">Notes on this record</h3><ul class=\"nhsuk-list nhsuk-list--bullet\">",
        "<li>Date of birth differs between sources: gp has 1950-03-12; gwh has 1950-03-21</li>",
        "<li>the record-location index could not be read; every source was asked</li></ul>",
        "<p class=\"nhsuk-body-s\">3 items withheld for your role.</p></section>",
    )), "{page}");
    assert!(!page_of(false).contains("Notes on this record"));
}

#[test]
fn with_every_source_answered_there_is_no_incomplete_warning() {
    let f = Fixture::new();
    let sources: Vec<_> = f
        .sources()
        .into_iter()
        .filter(|s| !s.status.failed() && s.status != SourceStatus::Partial)
        .collect();
    let page = render(&f.record(false), &sources, &Withheld::default());
    assert!(!page.contains("may be incomplete"), "{page}");
    assert!(!page.contains("May be incomplete"));
    assert!(!page.contains("withheld for your role"));
}

#[test]
fn the_summary_lists_current_items_with_the_organisations_that_list_them() {
    let page = page_of(false);
    let meds = concat!(
        "<tr class=\"nhsuk-table__row\"><td class=\"nhsuk-table__cell\">Metformin 500mg tablets</td>",
        "<td class=\"nhsuk-table__cell\">One tablet twice a day</td><td class=\"nhsuk-table__cell\">01-Apr-2019</td>",
        "<td class=\"nhsuk-table__cell\">Ridgeway View Practice, Great Western Hospitals NHS Foundation Trust",
        // Every holder, as on every tab: system, source, record id, last updated.
        "<details class=\"nhsuk-details\"><summary class=\"nhsuk-details__summary\"><span class=\"nhsuk-details__summary-text\">Where this comes from</span></summary>",
        "<div class=\"nhsuk-details__text\"><ul class=\"nhsuk-list\">",
        "<li><strong>Ridgeway View Practice</strong> (J83019): test, source gp, record R/1, last update not stated</li>",
        "<li><strong>Great Western Hospitals NHS Foundation Trust</strong> (RN3): test, source gwh, record R/1, last update not stated</li>",
        "</ul></div></details></td></tr></tbody></table>",
    );
    assert!(page.contains(meds), "{page}");
    assert!(
        !page.contains("Amoxicillin"),
        "a completed course is not current"
    );
    assert!(page.contains(
        "<td class=\"nhsuk-table__cell\">Penicillin &lt;b&gt;allergy&lt;/b&gt;</td><td class=\"nhsuk-table__cell\">Urticaria</td><td class=\"nhsuk-table__cell\">Jun-2001</td>"
    ));
    // A section's missing parts are named under it.
    assert!(page.contains(
        "<p class=\"nhsuk-body-s\"><strong>May be incomplete:</strong> Salisbury NHS Foundation Trust and Medvivo Out of Hours did not answer in full.</p></section>\n<section aria-labelledby=\"summary-conditions\">"
    ));
}

#[test]
fn an_empty_list_says_why() {
    let page = page_of(false);
    assert!(page.contains(concat!(
        "<h2 class=\"nhsuk-heading-m\" id=\"summary-conditions\">Active problems</h2>",
        "<p>None recorded by the organisations that answered.</p>",
        "<p class=\"nhsuk-body-s\">3 items withheld for your role.</p>",
        "<p class=\"nhsuk-body-s\"><strong>May be incomplete:</strong> Salisbury NHS Foundation Trust did not answer in full.</p>",
    )), "{page}");
    let f = Fixture::new();
    let mut record = f.record(false);
    record.sections.remove(&Section::Alerts);
    let page = render(&record, &f.sources(), &Withheld::default());
    assert!(page.contains("id=\"summary-alerts\">Alerts</h2><p>Not shown to your role.</p>"));
}

#[test]
fn text_from_sources_is_escaped_everywhere() {
    let f = Fixture::new();
    let evil = "<script>alert(\"x\")</script>&'";
    let bad = org("bad", evil, "RXX");
    let mut record = f.record(false);
    record.sections.insert(
        Section::Alerts,
        vec![item(
            Entry::Alert(Alert {
                code: concept(evil),
                ..Default::default()
            }),
            &[&bad],
        )],
    );
    if let Some(p) = record.patient.as_mut() {
        p.demographics.names[0].family = Some(evil.into());
    }
    let issues = vec![SourceIssue {
        kind: IssueKind::Unreadable,
        section: None,
        message: evil.into(),
    }];
    let sources = vec![SourceLine {
        organisation: evil,
        ods_code: &bad.ods,
        status: SourceStatus::Partial,
        fetched_at: None,
        cached: false,
        issues: &issues,
    }];
    let page = render(&record, &sources, &Withheld::default());
    assert!(!page.contains("<script>"), "{page}");
    assert!(!page.contains("alert(\"x\")"));
    assert!(page.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"));
    assert!(page.contains(
        "&lt;SCRIPT&gt;ALERT(&quot;X&quot;)&lt;/SCRIPT&gt;&amp;&#39;, Robert James (Mr)"
    ));
    assert_balanced(&page);
}

#[test]
fn pages_carry_no_inline_script_or_style() {
    let page = page_of(false);
    assert_no_inline_script_or_style(&page);
    assert!(page.contains("<link rel=\"stylesheet\" href=\"/assets/nhsuk-frontend.min.css\">"));
    assert!(
        page.contains("<span class=\"nhsuk-header__service-name\">Integrated Care Record</span>")
    );
    assert!(page.contains("<title>Record summary – Integrated Care Record</title>"));
}

/// `page` is a whole page whose one script is the viewer's, linked, with no
/// inline style and no event-handler attributes.
pub(crate) fn assert_no_inline_script_or_style(page: &str) {
    assert!(page.starts_with("<!DOCTYPE html>\n<html lang=\"en\">\n"));
    assert!(!page.contains("style=") && !page.contains("<style"));
    assert_eq!(page.matches("<script").count(), 1);
    assert!(page.contains("<script type=\"module\" src=\"/assets/viewer/init.js\"></script>"));
    // No event-handler attributes (` onclick=`, ` onload=`, …).
    for (i, _) in page.match_indices(" on") {
        let name: String = page[i + 1..]
            .chars()
            .take_while(char::is_ascii_alphabetic)
            .collect();
        assert!(!page[i + 1 + name.len()..].starts_with('='), "{name}=");
    }
}

#[test]
fn pages_are_well_formed() {
    assert_balanced(&page_of(false));
    assert_balanced(&page_of(true));
    assert_balanced(&page("Empty & <odd>", &Chrome::default(), ""));
}

/// Every element opened is closed, in order (void elements excepted).
pub(crate) fn assert_balanced(page: &str) {
    const VOID: [&str; 5] = ["meta", "link", "br", "input", "img"];
    let mut open: Vec<&str> = Vec::new();
    let mut rest = page;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let end = rest.find('>').expect("an unclosed tag");
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        if tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(open.pop(), Some(name), "closing {name} in {open:?}");
            continue;
        }
        let name = tag.split([' ', '/']).next().unwrap_or_default();
        assert!(
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric()),
            "odd tag <{tag}>"
        );
        if !VOID.contains(&name) && !tag.ends_with('/') {
            open.push(name);
        }
    }
    assert!(open.is_empty(), "left open: {open:?}");
}

#[test]
fn every_design_system_class_used_exists_in_the_vendored_css() {
    let f = Fixture::new();
    // A page with every status's tag.
    let sources: Vec<_> = SourceStatus::ALL
        .into_iter()
        .map(|s| line(&f.gp, s, None, false))
        .collect();
    let mut record = f.record(false);
    record.warnings.push(Warning {
        code: "demographics-differ",
        message: "Gender differs between sources".into(),
        sources: Vec::new(),
    });
    let page = render(&record, &sources, &withheld());
    assert!(design_system_classes(&page) > 30);
}

/// Checks that every class `page` uses is the design system's and defined
/// in its vendored CSS; returns how many distinct classes it uses.
pub(crate) fn design_system_classes(page: &str) -> usize {
    let css = std::str::from_utf8(asset("/assets/nhsuk-frontend.min.css").unwrap().bytes).unwrap();
    let mut used: Vec<&str> = page
        .split("class=\"")
        .skip(1)
        .flat_map(|rest| rest[..rest.find('"').unwrap()].split(' '))
        .collect();
    used.sort_unstable();
    used.dedup();
    // The header's hook for the signed-in account (no style of its own).
    used.retain(|class| *class != "icr-account");
    for &class in &used {
        assert!(
            class.starts_with("nhsuk-"),
            "{class} is not the design system's"
        );
        let defined = css.match_indices(&format!(".{class}")).any(|(i, m)| {
            css[i + m.len()..]
                .chars()
                .next()
                .is_some_and(|c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        });
        assert!(defined, "{class} is not in nhsuk-frontend's CSS");
    }
    used.len()
}

#[test]
fn a_signed_in_page_names_the_user_and_signs_out_by_a_form_carrying_the_csrf_token() {
    let chrome = Chrome {
        user: Some(SignedIn {
            name: "Dr <Amy> Shah",
            role: "Clinician",
            organisation: "Riverside Surgery",
            csrf: "tok\"en",
            own_record: None,
        }),
    };
    let html = page("Find a person", &chrome, "<p>x</p>");
    assert!(html.contains(concat!(
        "<span class=\"nhsuk-header__account-item\">Dr &lt;Amy&gt; Shah (Clinician, Riverside Surgery)</span>",
        "<form class=\"nhsuk-header__account-item\" method=\"post\" action=\"/sign-out\">",
        "<input type=\"hidden\" name=\"csrf\" value=\"tok&quot;en\">",
        "<button class=\"nhsuk-header__account-button\" type=\"submit\">Sign out</button></form>",
    )));
    assert_balanced(&html);
    assert!(!page("Signed out", &Chrome::default(), "").contains("/sign-out"));
}

#[test]
fn a_patients_header_links_to_their_record_and_who_has_looked_at_it() {
    let own = NhsNumber::parse("9990000050").unwrap();
    let user = |own_record| Chrome {
        user: Some(SignedIn {
            name: "Robert Pennington",
            role: "Patient",
            organisation: "NHS login",
            csrf: "t",
            own_record,
        }),
    };
    let html = page("My record", &user(Some(own)), "");
    assert!(html.contains(concat!(
        "<span class=\"nhsuk-header__account-item\"><a class=\"nhsuk-header__account-link\" href=\"/patients/9990000050\">My record</a></span>",
        "<span class=\"nhsuk-header__account-item\"><a class=\"nhsuk-header__account-link\" href=\"/patients/9990000050/who-looked\">Who has looked at my record</a></span>",
    )));
    design_system_classes(&html);
    assert_balanced(&html);
    assert!(!page("x", &user(None), "").contains("who-looked"));
}

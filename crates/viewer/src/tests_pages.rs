//! The pages other than the record's: sign-in, find, refusal and
//! break-glass, who looked, the demo's identity provider and EPR, errors.
//! Checked fragment by fragment, and every page for escaping, balance, the
//! design system's classes, one `h1`, and the CSRF token in POST forms.

use icr_model::{NhsNumber, OdsCode};
use icr_policy::{BreakGlassRules, ReasonProblem, RefusalCode};
use proptest::prelude::*;
use time::macros::datetime;

use crate::refusal::{reason_problem_words, refusal_words};
use crate::tests::{assert_balanced, assert_no_inline_script_or_style, design_system_classes};
use crate::*;

/// A string that breaks any page that does not escape it.
const HOSTILE: &str = "<b>\"Tom\" & 'Jerry'</b>";
const HOSTILE_ESCAPED: &str = "&lt;b&gt;&quot;Tom&quot; &amp; &#39;Jerry&#39;&lt;/b&gt;";

fn nhs() -> NhsNumber {
    NhsNumber::parse("9990000050").unwrap()
}

fn chrome() -> Chrome<'static> {
    Chrome {
        user: Some(SignedIn {
            name: "Dr Demo Clinician",
            role: "Clinical Practitioner",
            organisation: "Great Western Hospitals",
            csrf: "tok&en",
            own_record: None,
        }),
    }
}

/// Every refusal code; the match fails to compile when one is added.
const CODES: [RefusalCode; 9] = [
    RefusalCode::UnknownRole,
    RefusalCode::PurposeNotPermitted,
    RefusalCode::NotOwnRecord,
    RefusalCode::NoSections,
    RefusalCode::NoPatientConsent,
    RefusalCode::BreakGlassNotPermitted,
    RefusalCode::BreakGlassReasonInvalid,
    RefusalCode::NoRelationship,
    RefusalCode::RelationshipUndecided,
];

#[allow(dead_code)]
fn every_code_is_listed(code: RefusalCode) {
    match code {
        RefusalCode::UnknownRole
        | RefusalCode::PurposeNotPermitted
        | RefusalCode::NotOwnRecord
        | RefusalCode::NoSections
        | RefusalCode::NoPatientConsent
        | RefusalCode::BreakGlassNotPermitted
        | RefusalCode::BreakGlassReasonInvalid
        | RefusalCode::NoRelationship
        | RefusalCode::RelationshipUndecided => {}
    }
}

/// Every POST form in `page`, whole (from `<form` to before `</form>`),
/// with its action.
fn post_forms(page: &str) -> Vec<(&str, &str)> {
    page.match_indices("<form ")
        .filter_map(|(i, _)| {
            let form = &page[i..i + page[i..].find("</form>").unwrap()];
            let tag = &form[..form.find('>').unwrap()];
            let action = tag.split("action=\"").nth(1)?;
            tag.contains("method=\"post\"")
                .then(|| (&action[..action.find('"').unwrap()], form))
        })
        .collect()
}

/// The whole of the one form in `page` that posts to `action`.
fn post_form<'p>(page: &'p str, action: &str) -> Option<&'p str> {
    let forms: Vec<&str> = post_forms(page)
        .into_iter()
        .filter(|(a, _)| *a == action)
        .map(|(_, form)| form)
        .collect();
    assert!(forms.len() <= 1, "{forms:?}");
    forms.first().copied()
}

/// The checks every page passes.
fn assert_page(page: &str) {
    assert_balanced(page);
    assert_no_inline_script_or_style(page);
    design_system_classes(page);
    assert_eq!(page.matches("<h1").count(), 1, "one h1 per page");
    assert!(!page.contains(HOSTILE), "unescaped text");
    // Every POST form carries the CSRF token (the demo IdP's carries the
    // authorisation request's own parameters instead).
    for (action, form) in post_forms(page) {
        assert!(
            action == "/demo-idp/authorize"
                || form.contains("<input type=\"hidden\" name=\"csrf\" value=\"tok&amp;en\">"),
            "{form}"
        );
    }
}

// --- the typed NHS number ---------------------------------------------

#[test]
fn typed_numbers_are_read_as_people_type_them() {
    for typed in [
        "9990000050",
        "999 000 0050",
        "999-000-0050",
        "  999 000 0050 ",
        "999\u{a0}000\u{a0}0050",
        "9 9 9 0 0 0 0 0 5 0",
        "999\u{2013}000\u{2013}0050",
    ] {
        assert_eq!(typed_nhs_number(typed), Ok(nhs()), "{typed:?}");
    }
    assert_eq!(typed_nhs_number(""), Err(FindProblem::Empty));
    assert_eq!(typed_nhs_number(" - "), Err(FindProblem::Empty));
    assert_eq!(
        typed_nhs_number("999 000 005O"),
        Err(FindProblem::NotDigits)
    );
    assert_eq!(typed_nhs_number("+44 999"), Err(FindProblem::NotDigits));
    assert_eq!(
        typed_nhs_number("999 000 005"),
        Err(FindProblem::WrongLength(9))
    );
    assert_eq!(
        typed_nhs_number("999 000 00500"),
        Err(FindProblem::WrongLength(11))
    );
    assert_eq!(
        typed_nhs_number(&"9".repeat(10_000)),
        Err(FindProblem::WrongLength(10_000))
    );
    assert_eq!(
        typed_nhs_number("999 000 0051"),
        Err(FindProblem::CheckDigit)
    );
    assert_eq!(
        typed_nhs_number("1111111111"),
        Err(FindProblem::NeverIssued)
    );
}

proptest! {
    #[test]
    fn any_valid_number_with_separators_parses_to_itself(
        first_nine in 0u32..=999_999_999,
        seps in proptest::collection::vec(
            (0usize..=10, prop::sample::select(vec![" ", "-", "  ", "\t", " - "])),
            0..6,
        ),
    ) {
        let Some(number) = NhsNumber::from_first_nine(first_nine) else {
            return Ok(());
        };
        let mut typed = number.as_str().to_owned();
        let mut seps = seps;
        seps.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
        for (at, sep) in seps {
            typed.insert_str(at, sep);
        }
        prop_assert_eq!(typed_nhs_number(&typed), Ok(number));
        prop_assert_eq!(typed_nhs_number(&number.formatted()), Ok(number));
    }

    #[test]
    fn junk_never_panics_and_is_said_plainly(typed in any::<String>()) {
        match typed_nhs_number(&typed) {
            Ok(n) => prop_assert_eq!(NhsNumber::parse(n.as_str()), Ok(n)),
            Err(problem) => {
                let page = find_page(&chrome(), &FindView { typed: &typed, problem: Some(problem) });
                assert_balanced(&page);
                prop_assert!(page.contains(&escape(&problem.message())));
            }
        }
    }
}

// --- the find page ------------------------------------------------------

#[test]
fn the_find_page_is_a_get_form_with_one_labelled_field() {
    let page = find_page(&chrome(), &FindView::default());
    assert_page(&page);
    assert!(page.contains("<title>Find a person – Integrated Care Record</title>"));
    assert!(page.contains(concat!(
        "<form method=\"get\" action=\"/find\" novalidate>",
        "<div class=\"nhsuk-form-group\">",
        "<h1 class=\"nhsuk-label-wrapper\">",
        "<label class=\"nhsuk-label nhsuk-label--l\" for=\"nhs\">Find a person by NHS number</label>",
        "</h1>",
        "<div class=\"nhsuk-hint\" id=\"nhs-hint\">10 digits, for example 999 000 0050</div>",
        "<input class=\"nhsuk-input nhsuk-input--width-10\" id=\"nhs\" name=\"nhs\" ",
        "type=\"text\" inputmode=\"numeric\" autocomplete=\"off\" spellcheck=\"false\" ",
        "value=\"\" aria-describedby=\"nhs-hint\">",
        "<p class=\"nhsuk-body-s\" id=\"nhs-check\" aria-live=\"polite\"></p>",
        "</div>",
        "<button class=\"nhsuk-button\" type=\"submit\" data-module=\"nhsuk-button\">Find</button>",
        "</form>",
    )));
    assert!(!page.contains("nhsuk-error"));
}

#[test]
fn the_script_checks_the_number_in_the_find_pages_field_and_live_region() {
    let script = std::str::from_utf8(asset("/assets/viewer/init.js").unwrap().bytes).unwrap();
    let page = find_page(&chrome(), &FindView::default());
    for id in ["nhs", "nhs-check"] {
        assert!(script.contains(&format!("document.getElementById('{id}')")));
        assert!(page.contains(&format!(" id=\"{id}\"")));
    }
    assert!(page.contains("id=\"nhs-check\" aria-live=\"polite\""));
    // It writes text only, never markup, and evaluates nothing.
    assert!(script.contains("said.textContent = nhsNumberCheck(field.value)"));
    for unsafe_call in ["innerHTML", "eval(", "new Function", "document.write"] {
        assert!(!script.contains(unsafe_call), "{unsafe_call}");
    }
}

#[test]
fn each_find_problem_is_said_plainly_and_links_to_the_field() {
    let cases = [
        (FindProblem::Empty, "Enter an NHS number"),
        (
            FindProblem::NotDigits,
            "Enter the NHS number using only digits, spaces and hyphens",
        ),
        (
            FindProblem::WrongLength(1),
            "An NHS number has 10 digits: you typed 1 digit",
        ),
        (
            FindProblem::WrongLength(9),
            "An NHS number has 10 digits: you typed 9 digits",
        ),
        (
            FindProblem::CheckDigit,
            "This is not a valid NHS number: its last digit (the check digit) does not match the first nine — check for a typing mistake",
        ),
        (
            FindProblem::NeverIssued,
            "This is not a valid NHS number: one digit repeated is never issued",
        ),
    ];
    for (problem, words) in cases {
        assert_eq!(problem.message(), words);
        assert_eq!(problem.status(), 400);
        let page = find_page(
            &chrome(),
            &FindView {
                typed: HOSTILE,
                problem: Some(problem),
            },
        );
        assert_page(&page);
        assert!(page.contains("<title>Error: Find a person – Integrated Care Record</title>"));
        assert!(page.contains(&format!(
            "<ul class=\"nhsuk-list nhsuk-error-summary__list\"><li><a href=\"#nhs\">{words}</a></li></ul>"
        )));
        assert!(page.contains("<div class=\"nhsuk-form-group nhsuk-form-group--error\">"));
        assert!(page.contains(&format!(
            "<span class=\"nhsuk-error-message\" id=\"nhs-error\"><span class=\"nhsuk-u-visually-hidden\">Error:</span> {words}</span>"
        )));
        assert!(page.contains(&format!(
            "<input class=\"nhsuk-input nhsuk-input--width-10 nhsuk-input--error\" id=\"nhs\" name=\"nhs\" \
             type=\"text\" inputmode=\"numeric\" autocomplete=\"off\" spellcheck=\"false\" \
             value=\"{HOSTILE_ESCAPED}\" aria-describedby=\"nhs-hint nhs-error\">"
        )));
    }
    // What is put back is bounded.
    let long = "9".repeat(1000);
    let page = find_page(
        &chrome(),
        &FindView {
            typed: &long,
            problem: Some(FindProblem::WrongLength(1000)),
        },
    );
    assert!(page.contains(&format!("value=\"{}\"", "9".repeat(64))));
}

#[test]
fn a_person_not_found_is_said_on_the_find_page_never_as_an_empty_record() {
    let page = find_page(
        &chrome(),
        &FindView {
            typed: "9990000050",
            problem: Some(FindProblem::NotFound(nhs())),
        },
    );
    assert_page(&page);
    let words = "No record found for 999 000 0050 — check the number; if it is right, \
                 none of the organisations connected to the Integrated Care Record knows this person";
    assert!(page.contains(&format!("<li><a href=\"#nhs\">{words}</a></li>")));
    assert!(page.contains("value=\"999 000 0050\""));
    assert_eq!(FindProblem::NotFound(nhs()).status(), 404);
    // Nothing of a record page: no banner, no sources panel, no summary.
    for record_part in [
        "patient-name",
        "sources-heading",
        "summary-",
        "Allergies",
        "None recorded",
    ] {
        assert!(!page.contains(record_part), "{record_part}");
    }
}

// --- refusals and break-glass --------------------------------------------

fn refusal(code: RefusalCode, form: Option<BreakGlassForm<'_>>) -> String {
    refusal_page(
        &chrome(),
        &RefusalView {
            nhs_number: nhs(),
            code,
            break_glass: form,
        },
    )
}

fn rules() -> BreakGlassRules {
    BreakGlassRules::default()
}

/// The break-glass form as first shown: nothing typed, no problem.
fn blank(rules: &BreakGlassRules) -> BreakGlassForm<'_> {
    BreakGlassForm {
        typed: "",
        problem: None,
        rules,
    }
}

#[test]
fn every_refusal_is_said_in_its_own_words() {
    let expected = [
        (
            RefusalCode::UnknownRole,
            "Your role is not recognised",
            "Your sign-in did not give a role this service knows",
        ),
        (
            RefusalCode::PurposeNotPermitted,
            "This record is shared for direct care only",
            "the purpose of your sign-in is not direct care",
        ),
        (
            RefusalCode::NotOwnRecord,
            "You can only see your own record",
            "You are signed in as a patient, and this is not your record.",
        ),
        (
            RefusalCode::NoSections,
            "Your role cannot see this record",
            "None of the parts of the record asked for is one your role may see.",
        ),
        (
            RefusalCode::NoPatientConsent,
            "This person has asked that their record is not shared",
            "break-glass access cannot override that",
        ),
        (
            RefusalCode::BreakGlassNotPermitted,
            "Your role cannot use break-glass access",
            "Break-glass access is not available to your role",
        ),
        (
            RefusalCode::BreakGlassReasonInvalid,
            "You are not recorded as caring for this person",
            "The reason given for break-glass access was not accepted.",
        ),
        (
            RefusalCode::NoRelationship,
            "You are not recorded as caring for this person",
            "Your organisation is not recorded as involved in this person's care",
        ),
        (
            RefusalCode::RelationshipUndecided,
            "We cannot check your care relationship at the moment",
            "This is not a refusal: try again in a few minutes.",
        ),
    ];
    assert_eq!(expected.map(|e| e.0), CODES);
    for (code, heading, words) in expected {
        assert_eq!(refusal_words(code).0, heading);
        let page = refusal(code, None);
        assert_page(&page);
        assert!(
            page.contains(&format!("<title>{}", escape(heading))),
            "{code}"
        );
        assert!(
            page.contains(&format!("<h1>{}</h1>", escape(heading))),
            "{code}"
        );
        assert!(
            page.contains(words) || page.contains(&escape(words)),
            "{code}"
        );
        assert!(page.contains("<p>NHS number <strong>999 000 0050</strong></p>"));
    }
    let undecided = refusal(RefusalCode::RelationshipUndecided, None);
    assert!(undecided.contains("<p><a href=\"/patients/9990000050\">Try again</a></p>"));
}

#[test]
fn break_glass_is_offered_only_for_no_relationship_never_for_an_objection() {
    let rules = rules();
    let form = blank(&rules);
    for code in CODES {
        let offered = matches!(
            code,
            RefusalCode::NoRelationship | RefusalCode::BreakGlassReasonInvalid
        );
        let with = refusal(code, Some(form));
        assert_page(&with);
        assert_eq!(
            post_form(&with, "/patients/9990000050/break-glass").is_some(),
            offered,
            "{code}"
        );
        assert_eq!(with.contains("name=\"reason\""), offered, "{code}");
        let without = refusal(code, None);
        assert!(post_form(&without, "/patients/9990000050/break-glass").is_none());
        assert!(!without.contains("name=\"reason\""));
    }
    let objection = refusal(RefusalCode::NoPatientConsent, Some(form));
    assert!(!objection.contains("Break the glass"));
    // Where break-glass applies but the role may not use it, it says so.
    let not_for_the_role = refusal(RefusalCode::NoRelationship, None);
    assert!(not_for_the_role.contains("<p>Your role cannot use break-glass access."));
}

#[test]
fn the_break_glass_form_posts_the_reason_with_the_token_and_says_it_is_reviewed() {
    let rules = rules();
    let page = refusal(RefusalCode::NoRelationship, Some(blank(&rules)));
    assert_page(&page);
    assert!(page.contains("<h2>See the record in an emergency (break-glass)</h2>"));
    assert!(page.contains(
        "Your name, role and organisation, the time and your reason are recorded, \
         and the privacy officer reviews every break-glass access."
    ));
    let form = post_form(&page, "/patients/9990000050/break-glass").unwrap();
    assert_eq!(
        form,
        concat!(
            "<form method=\"post\" action=\"/patients/9990000050/break-glass\" novalidate>",
            "<input type=\"hidden\" name=\"csrf\" value=\"tok&amp;en\">",
            "<div class=\"nhsuk-form-group\">",
            "<label class=\"nhsuk-label nhsuk-label--s\" for=\"reason\">Why do you need this record now?</label>",
            "<div class=\"nhsuk-hint\" id=\"reason-hint\">The clinical reason, in your own words: ",
            "at least 20 and at most 500 characters. For example, ",
            "“Unconscious in the emergency department, no medication history available”.</div>",
            "<textarea class=\"nhsuk-textarea\" id=\"reason\" name=\"reason\" rows=\"4\" ",
            "aria-describedby=\"reason-hint\">\n</textarea>",
            "</div>",
            "<button class=\"nhsuk-button nhsuk-button--warning\" type=\"submit\" ",
            "data-module=\"nhsuk-button\">Break the glass and see the record</button>",
        )
    );
    assert!(!page.contains("nhsuk-error"));
}

#[test]
fn a_reason_the_policy_refused_is_shown_again_with_the_problem() {
    let rules = BreakGlassRules {
        min_chars: 25,
        ..rules()
    };
    let cases = [
        (
            ReasonProblem::TooShort { min: 25 },
            "Enter a reason of at least 25 characters: say why you need this record now",
        ),
        (
            ReasonProblem::TooLong { max: 500 },
            "Enter a reason of at most 500 characters",
        ),
        (
            ReasonProblem::Repetitive { min: 8 },
            "Enter the clinical reason in words: what was typed has too few different letters",
        ),
        (
            ReasonProblem::TooFewWords { min: 3 },
            "Enter the clinical reason in at least 3 different words",
        ),
        (
            ReasonProblem::ControlCharacters,
            "The reason contains characters that cannot be recorded: type it again as plain text",
        ),
    ];
    for (problem, words) in cases {
        assert_eq!(reason_problem_words(&problem), words);
        let page = refusal(
            RefusalCode::BreakGlassReasonInvalid,
            Some(BreakGlassForm {
                typed: HOSTILE,
                problem: Some(&problem),
                rules: &rules,
            }),
        );
        assert_page(&page);
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.contains(
            "<title>Error: You are not recorded as caring for this person – Integrated Care Record</title>"
        ));
        assert!(page.contains(&format!("<li><a href=\"#reason\">{words}</a></li>")));
        assert!(page.contains(&format!(
            "<span class=\"nhsuk-error-message\" id=\"reason-error\"><span class=\"nhsuk-u-visually-hidden\">Error:</span> {words}</span>"
        )));
        assert!(page.contains(&format!(
            "<textarea class=\"nhsuk-textarea nhsuk-textarea--error\" id=\"reason\" name=\"reason\" rows=\"4\" \
             aria-describedby=\"reason-hint reason-error\">\n{HOSTILE_ESCAPED}</textarea>"
        )));
        assert!(page.contains("at least 25 and at most 500 characters"));
        // The error state does not also say the reason was not accepted
        // in a second sentence.
        assert!(!page.contains("The reason given for break-glass access was not accepted."));
    }
}

// --- who looked -------------------------------------------------------------

fn entries(ods: &OdsCode) -> Vec<LookedEntry<'_>> {
    vec![
        LookedEntry {
            when: datetime!(2026-07-14 10:05 UTC),
            organisation: "Great Western <Hospitals>",
            ods_code: ods,
            role: "Clinical Practitioner",
            person: Some("Dr Ann Other"),
            purpose: "Direct care",
            interaction: "Viewed the record",
            break_glass_reason: Some(HOSTILE),
            outcome: Outcome::Shown,
        },
        LookedEntry {
            when: datetime!(2026-12-07 08:14 UTC),
            organisation: "Wiltshire Council",
            ods_code: ods,
            role: "Social Care Practitioner",
            person: None,
            purpose: "Direct care",
            interaction: "Viewed the record",
            break_glass_reason: None,
            outcome: Outcome::Refused,
        },
    ]
}

#[test]
fn uk_time_follows_british_summer_time() {
    // 2026: summer time from 29 March 01:00 UTC to 25 October 01:00 UTC.
    for (at, shown) in [
        (datetime!(2026-12-07 08:14 UTC), "07-Dec-2026 08:14 GMT"),
        (datetime!(2026-07-14 23:30 UTC), "15-Jul-2026 00:30 BST"),
        (datetime!(2026-03-29 00:59 UTC), "29-Mar-2026 00:59 GMT"),
        (datetime!(2026-03-29 01:00 UTC), "29-Mar-2026 02:00 BST"),
        (datetime!(2026-10-25 00:59 UTC), "25-Oct-2026 01:59 BST"),
        (datetime!(2026-10-25 01:00 UTC), "25-Oct-2026 01:00 GMT"),
        (datetime!(2026-07-14 12:00 +02:00), "14-Jul-2026 11:00 BST"),
    ] {
        assert_eq!(crate::who_looked::uk_time(at), shown);
    }
}

/// The who-looked page of the two [`entries`], complete.
fn looked(own: bool, older: Option<&str>) -> String {
    let ods = OdsCode::parse("RN3").unwrap();
    let entries = entries(&ods);
    let page = who_looked_page(
        &chrome(),
        &WhoLookedView {
            nhs_number: nhs(),
            own,
            entries: &entries,
            notes: &[],
            older,
        },
    );
    assert_page(&page);
    page
}

/// A cell of the who-looked table, headed by its column on a narrow screen.
fn td(column: &str, html: &str) -> String {
    format!(
        "<td class=\"nhsuk-table__cell\"><span class=\"nhsuk-table-responsive__heading\" \
         aria-hidden=\"true\">{column} </span><span>{html}</span></td>"
    )
}

#[test]
fn who_looked_lists_each_access_with_organisation_role_purpose_and_reason() {
    let page = looked(
        false,
        Some("/patients/9990000050/who-looked?before=7&x=\"y"),
    );
    assert!(page.contains("<h1>Who has looked at this record</h1>"));
    assert!(page.contains(concat!(
        "<table class=\"nhsuk-table nhsuk-table--responsive\">",
        "<caption class=\"nhsuk-table__caption\">Accesses, newest first</caption>",
        "<thead class=\"nhsuk-table__head\"><tr class=\"nhsuk-table__row\">",
        "<th class=\"nhsuk-table__header\" scope=\"col\">Date and time</th>",
        "<th class=\"nhsuk-table__header\" scope=\"col\">Who</th>",
        "<th class=\"nhsuk-table__header\" scope=\"col\">Purpose</th>",
        "<th class=\"nhsuk-table__header\" scope=\"col\">What</th>",
        "<th class=\"nhsuk-table__header\" scope=\"col\">Outcome</th>",
        "</tr></thead>",
    )));
    let first = [
        td("Date and time", "14-Jul-2026 11:05 BST"),
        td(
            "Who",
            "Great Western &lt;Hospitals&gt; (RN3)<br>Clinical Practitioner<br>Dr Ann Other",
        ),
        td(
            "Purpose",
            &format!(
                "Direct care<br><strong>Break-glass</strong>, reason given: {HOSTILE_ESCAPED}"
            ),
        ),
        td("What", "Viewed the record"),
        td(
            "Outcome",
            "<strong class=\"nhsuk-tag nhsuk-tag--blue\">Shown</strong>",
        ),
    ];
    assert!(page.contains(&format!(
        "<tr class=\"nhsuk-table__row\">{}</tr>",
        first.concat()
    )));
    let second = [
        td("Who", "Wiltshire Council (RN3)<br>Social Care Practitioner"),
        td("Purpose", "Direct care"),
        td("What", "Viewed the record"),
        td(
            "Outcome",
            "<strong class=\"nhsuk-tag nhsuk-tag--grey\">Refused</strong>",
        ),
    ];
    assert!(page.contains(&format!("{}</tr>", second.concat())));
    assert!(!page.contains("may be incomplete"));
    assert!(page.contains(
        "</table>\n<p><a href=\"/patients/9990000050/who-looked?before=7&amp;x=&quot;y\">Older accesses</a></p>"
    ));
}

#[test]
fn a_patient_sees_organisations_and_roles_not_staff_names() {
    let page = looked(true, None);
    assert!(page.contains("<h1>Who has looked at your record</h1>"));
    assert!(!page.contains("Dr Ann Other"));
    assert!(page.contains(&td(
        "Who",
        "Great Western &lt;Hospitals&gt; (RN3)<br>Clinical Practitioner"
    )));
}

#[test]
fn nobody_looked_is_said_only_when_the_list_is_complete() {
    let view = |notes| WhoLookedView {
        nhs_number: nhs(),
        own: true,
        entries: &[],
        notes,
        older: None,
    };
    let complete = who_looked_page(&chrome(), &view(&[]));
    assert_page(&complete);
    assert!(complete.contains("<p>Nobody has looked at your record.</p>"));
    assert!(!complete.contains("may be incomplete"));

    let notes = [
        HOSTILE,
        "The newest accesses through one server may be missing",
    ];
    let partial = who_looked_page(&chrome(), &view(&notes));
    assert_page(&partial);
    assert!(!partial.contains("Nobody has looked"));
    assert!(partial.contains(&format!(concat!(
        "<div class=\"nhsuk-warning-callout\"><h2 class=\"nhsuk-warning-callout__label\"><span role=\"text\">",
        "<span class=\"nhsuk-u-visually-hidden\">Important: </span>This list may be incomplete</span></h2>",
        "<ul><li>{}</li><li>The newest accesses through one server may be missing</li></ul></div>",
    ), HOSTILE_ESCAPED)));
    assert!(
        partial.contains("<p>No one is listed, but this list may be incomplete (see above).</p>")
    );

    // With accesses listed, the warning still comes first.
    let ods = OdsCode::parse("RN3").unwrap();
    let entries = entries(&ods);
    let listed = who_looked_page(
        &chrome(),
        &WhoLookedView {
            entries: &entries,
            ..view(&notes)
        },
    );
    assert_page(&listed);
    assert!(listed.find("This list may be incomplete") < listed.find("<table"));
}

// --- sign-in, errors ------------------------------------------------------

#[test]
fn the_sign_in_page_has_the_button_and_says_why_you_are_back() {
    let page = sign_in_page(&SignInView::default());
    assert_page(&page);
    assert!(
        page.contains("<a class=\"nhsuk-button\" id=\"sign-in\" href=\"/sign-in\">Sign in</a>")
    );
    assert!(page.contains("<h1>Sign in to the Integrated Care Record</h1>"));
    assert!(!page.contains("/sign-out") && !page.contains("nhsuk-error"));
    assert!(!page.contains("made-up people"));

    let page = sign_in_page(&SignInView {
        problem: Some(HOSTILE),
        demo: true,
    });
    assert_page(&page);
    assert!(page.contains("<title>Error: Sign in – Integrated Care Record</title>"));
    assert!(page.contains(&format!(
        "<h2 class=\"nhsuk-error-summary__title\">There is a problem</h2>\
         <div class=\"nhsuk-error-summary__body\"><p>{HOSTILE_ESCAPED}</p></div>"
    )));
    assert!(page.contains("made-up people"));

    let page = signed_out_page();
    assert_page(&page);
    assert!(page.contains("<h1>You have signed out</h1>"));
    assert!(page.contains("href=\"/sign-in\">Sign in again</a>"));
    assert!(!page.contains("/sign-out"));
}

#[test]
fn the_error_page_names_the_status_and_says_what_to_do() {
    for (status, heading) in [
        (400, "There is a problem with the request"),
        (403, "You cannot see this page"),
        (404, "Page not found"),
        (429, "Too many requests: wait a moment and try again"),
        (500, "Sorry, there is a problem with the service"),
        (503, "Sorry, the service is unavailable"),
    ] {
        let page = error_page(&chrome(), status, HOSTILE);
        assert_page(&page);
        assert!(page.contains(&format!("<h1>{heading}</h1>\n<p>{HOSTILE_ESCAPED}</p>")));
    }
    let page = error_page(
        &chrome(),
        403,
        "This form has expired. Go back and try again.",
    );
    assert!(page.contains("<p>This form has expired. Go back and try again.</p>"));
    // Signed in, it keeps the way to sign out.
    assert!(post_form(&page, "/sign-out").is_some());
}

// --- the demo's identity provider and EPR ---------------------------------

fn demo_users() -> Vec<DemoUser<'static>> {
    vec![
        DemoUser {
            id: "clinician",
            name: "Dr Demo Clinician",
            role: "Clinical Practitioner",
            organisation: "Great Western Hospitals",
            ods: "RN3",
        },
        DemoUser {
            id: "patient-9990000050",
            name: HOSTILE,
            role: "Patient",
            organisation: "Ridgeway View Practice",
            ods: "J83019",
        },
    ]
}

#[test]
fn the_demo_identity_provider_offers_each_user_and_carries_the_request() {
    let users = demo_users();
    let hidden = [("state", "s\"1"), ("code_challenge", "abc")];
    let page = demo_idp_page(&DemoIdpView {
        users: &users,
        hidden: &hidden,
        problem: None,
    });
    assert_page(&page);
    assert!(page.contains("Demonstration sign-in: not a real identity provider"));
    let form = post_form(&page, "/demo-idp/authorize").unwrap();
    assert!(form.contains(concat!(
        "<input type=\"hidden\" name=\"state\" value=\"s&quot;1\">",
        "<input type=\"hidden\" name=\"code_challenge\" value=\"abc\">",
    )));
    assert!(form.contains(concat!(
        "<div class=\"nhsuk-radios__item\">",
        "<input class=\"nhsuk-radios__input\" id=\"user-clinician\" name=\"user\" type=\"radio\" value=\"clinician\">",
        "<label class=\"nhsuk-radios__label\" for=\"user-clinician\">",
        "Dr Demo Clinician — Clinical Practitioner, Great Western Hospitals (RN3)</label></div>",
    )));
    assert!(form.contains(&format!(
        "<label class=\"nhsuk-radios__label\" for=\"user-patient-9990000050\">\
         {HOSTILE_ESCAPED} — Patient, Ridgeway View Practice (J83019)</label>"
    )));
    assert!(form.contains(
        "<button class=\"nhsuk-button\" type=\"submit\" id=\"idp-continue\" data-module=\"nhsuk-button\">Sign in</button>"
    ));
    assert!(!page.contains("nhsuk-error"));

    let page = demo_idp_page(&DemoIdpView {
        users: &users,
        hidden: &hidden,
        problem: Some("Choose who to sign in as"),
    });
    assert_page(&page);
    assert!(page.contains("<li><a href=\"#user-clinician\">Choose who to sign in as</a></li>"));
    assert!(page.contains("aria-describedby=\"user-hint user-error\""));
    assert!(page.contains("id=\"user-error\""));
}

#[test]
fn the_pretend_epr_launches_each_patient() {
    let page = demo_epr_page(&[EprPatient {
        nhs_number: nhs(),
        summary: HOSTILE,
        launch_url: "/launch?iss=https://icr.example/fhir/r4&launch=a\"b",
    }]);
    assert_page(&page);
    assert!(page.contains(&format!(concat!(
        "<td class=\"nhsuk-table__cell\">999 000 0050</td>",
        "<td class=\"nhsuk-table__cell\">{}</td>",
        "<td class=\"nhsuk-table__cell\"><a href=\"/launch?iss=https://icr.example/fhir/r4&amp;launch=a&quot;b\">",
        "Open in the ICR<span class=\"nhsuk-u-visually-hidden\"> for 999 000 0050</span></a></td>",
    ), HOSTILE_ESCAPED)));
}

/// Every page built with `s` in every text field a caller or a source
/// fills.
fn every_page_with(s: &str) -> Vec<String> {
    let rules = rules();
    let problem = ReasonProblem::TooShort { min: 20 };
    let ods = OdsCode::parse("RN3").unwrap();
    let entry = LookedEntry {
        when: datetime!(2026-12-07 08:14 UTC),
        organisation: s,
        ods_code: &ods,
        role: s,
        person: Some(s),
        purpose: s,
        interaction: s,
        break_glass_reason: Some(s),
        outcome: Outcome::Shown,
    };
    let user = DemoUser {
        id: s,
        name: s,
        role: s,
        organisation: s,
        ods: s,
    };
    let signed_in = Chrome {
        user: Some(SignedIn {
            name: s,
            role: s,
            organisation: s,
            csrf: s,
            own_record: None,
        }),
    };
    vec![
        sign_in_page(&SignInView {
            problem: Some(s),
            demo: true,
        }),
        error_page(&signed_in, 400, s),
        find_page(
            &signed_in,
            &FindView {
                typed: s,
                problem: Some(FindProblem::NotDigits),
            },
        ),
        refusal_page(
            &signed_in,
            &RefusalView {
                nhs_number: nhs(),
                code: RefusalCode::BreakGlassReasonInvalid,
                break_glass: Some(BreakGlassForm {
                    typed: s,
                    problem: Some(&problem),
                    rules: &rules,
                }),
            },
        ),
        who_looked_page(
            &signed_in,
            &WhoLookedView {
                nhs_number: nhs(),
                own: false,
                entries: &[entry],
                notes: &[s],
                older: Some(s),
            },
        ),
        demo_idp_page(&DemoIdpView {
            users: &[user],
            hidden: &[(s, s)],
            problem: Some(s),
        }),
        demo_epr_page(&[EprPatient {
            nhs_number: nhs(),
            summary: s,
            launch_url: s,
        }]),
    ]
}

proptest! {
    #[test]
    fn any_text_is_escaped_on_every_page(text in "[<>&\"' a-z]{0,24}") {
        // Marked, so that the text found raw can only be the text itself.
        let s = format!("⟦{text}⟧");
        for page in every_page_with(&s) {
            assert_balanced(&page);
            prop_assert!(page.contains(&escape(&s)));
            if s != escape(&s) {
                prop_assert!(!page.contains(&s), "{s:?} unescaped");
            }
        }
    }
}

//! The demonstration's pages, served only in the demo configuration: the
//! built-in identity provider's picker (choose one of the demo's users;
//! not a real identity provider, and it says so) and a pretend EPR listing
//! the story patients, each opened in the record by a SMART EHR launch.

use std::fmt::Write as _;

use icr_model::NhsNumber;

use crate::html::Esc;
use crate::{Chrome, form, page};

/// One demo user the picker offers.
#[derive(Clone, Copy, Debug)]
pub struct DemoUser<'a> {
    /// Its id, the radio's value (`clinician`, `patient-9990000050`, …).
    pub id: &'a str,
    /// Their name.
    pub name: &'a str,
    /// Their role, in words.
    pub role: &'a str,
    /// Their organisation's name.
    pub organisation: &'a str,
    /// Their organisation's ODS code.
    pub ods: &'a str,
}

/// What the demo identity provider's picker shows.
#[derive(Clone, Copy, Debug)]
pub struct DemoIdpView<'a> {
    /// The users to choose from.
    pub users: &'a [DemoUser<'a>],
    /// The authorisation request's parameters (`client_id`, `redirect_uri`,
    /// `state`, `nonce`, `code_challenge`, …), carried through the form as
    /// hidden inputs, as named.
    pub hidden: &'a [(&'a str, &'a str)],
    /// Why the choice was not accepted (e.g. "Choose who to sign in as").
    pub problem: Option<&'a str>,
}

/// The picker: a radio group `name="user"` (each radio `id="user-{id}"`,
/// labelled "{name} — {role}, {organisation} ({ODS})"), the request's
/// parameters as hidden inputs, and the "Sign in" button
/// `id="idp-continue"`; a POST to `/demo-idp/authorize`.
pub fn demo_idp_page(view: &DemoIdpView<'_>) -> String {
    let mut main = String::with_capacity(2048 + view.users.len() * 256);
    let first = view.users.first().map_or("", |u| u.id);
    if let Some(problem) = view.problem {
        form::error_summary(&mut main, &[(&format!("user-{first}"), problem)]);
    }
    main.push_str("<h1>Demonstration sign-in</h1>\n");
    form::warning_callout(
        &mut main,
        2,
        "Demonstration sign-in: not a real identity provider",
        concat!(
            "<p>This page signs you in as one of the demonstration's made-up users, ",
            "without a password. It exists only in the demonstration, ",
            "and every person in it is synthetic.</p>",
        ),
    );
    main.push_str("<form method=\"post\" action=\"/demo-idp/authorize\" novalidate>");
    for (name, value) in view.hidden {
        let _ = write!(
            main,
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            Esc(name),
            Esc(value)
        );
    }
    let _ = write!(
        main,
        concat!(
            "<div class=\"nhsuk-form-group{group}\">",
            "<fieldset class=\"nhsuk-fieldset\" aria-describedby=\"user-hint{described}\">",
            "<legend class=\"nhsuk-fieldset__legend nhsuk-fieldset__legend--m\">Who do you want to sign in as?</legend>",
            "<div class=\"nhsuk-hint\" id=\"user-hint\">The record shows what each role may see.</div>",
        ),
        group = if view.problem.is_some() {
            " nhsuk-form-group--error"
        } else {
            ""
        },
        described = if view.problem.is_some() {
            " user-error"
        } else {
            ""
        },
    );
    if let Some(problem) = view.problem {
        form::error_message(&mut main, "user", problem);
    }
    main.push_str("<div class=\"nhsuk-radios\" data-module=\"nhsuk-radios\">");
    for u in view.users {
        let _ = write!(
            main,
            concat!(
                "<div class=\"nhsuk-radios__item\">",
                "<input class=\"nhsuk-radios__input\" id=\"user-{id}\" name=\"user\" type=\"radio\" value=\"{id}\">",
                "<label class=\"nhsuk-radios__label\" for=\"user-{id}\">{name} — {role}, {org} ({ods})</label>",
                "</div>",
            ),
            id = Esc(u.id),
            name = Esc(u.name),
            role = Esc(u.role),
            org = Esc(u.organisation),
            ods = Esc(u.ods),
        );
    }
    main.push_str(concat!(
        "</div></fieldset></div>",
        "<button class=\"nhsuk-button\" type=\"submit\" id=\"idp-continue\" data-module=\"nhsuk-button\">Sign in</button>",
        "</form>\n",
    ));
    page(
        &form::title("Demonstration sign-in", view.problem.is_some()),
        &Chrome::default(),
        &main,
    )
}

/// One patient in the pretend EPR.
#[derive(Clone, Copy, Debug)]
pub struct EprPatient<'a> {
    /// Their NHS number.
    pub nhs_number: NhsNumber,
    /// A line about them (e.g. "Robert Pennington, 76, heart failure").
    pub summary: &'a str,
    /// The SMART EHR launch URL (`/launch?iss=…&launch=…`).
    pub launch_url: &'a str,
}

/// The pretend EPR: the story patients, each with an "Open in the ICR"
/// link to its launch URL.
pub fn demo_epr_page(patients: &[EprPatient<'_>]) -> String {
    let mut main = String::with_capacity(1024 + patients.len() * 384);
    main.push_str("<h1>Pretend EPR</h1>\n");
    form::warning_callout(
        &mut main,
        2,
        "Demonstration only",
        concat!(
            "<p>This page stands in for an electronic patient record system. ",
            "Opening a person launches the record in context, as a real EPR would: ",
            "you sign in once and do not type the NHS number.</p>",
        ),
    );
    main.push_str(concat!(
        "<div class=\"nhsuk-table-container\"><table class=\"nhsuk-table\">",
        "<caption class=\"nhsuk-table__caption\">Patients</caption>",
        "<thead class=\"nhsuk-table__head\"><tr class=\"nhsuk-table__row\">",
        "<th class=\"nhsuk-table__header\" scope=\"col\">NHS number</th>",
        "<th class=\"nhsuk-table__header\" scope=\"col\">Patient</th>",
        "<th class=\"nhsuk-table__header\" scope=\"col\"><span class=\"nhsuk-u-visually-hidden\">Open</span></th>",
        "</tr></thead><tbody class=\"nhsuk-table__body\">",
    ));
    for p in patients {
        let nhs = p.nhs_number.formatted();
        let _ = write!(
            main,
            concat!(
                "<tr class=\"nhsuk-table__row\">",
                "<td class=\"nhsuk-table__cell\">{nhs}</td>",
                "<td class=\"nhsuk-table__cell\">{summary}</td>",
                "<td class=\"nhsuk-table__cell\"><a href=\"{url}\">Open in the ICR",
                "<span class=\"nhsuk-u-visually-hidden\"> for {nhs}</span></a></td>",
                "</tr>",
            ),
            nhs = nhs,
            summary = Esc(p.summary),
            url = Esc(p.launch_url),
        );
    }
    main.push_str("</tbody></table></div>\n");
    page("Pretend EPR", &Chrome::default(), &main)
}

//! The patient banner, in the conventions of the former NHS common user
//! interface standard: FAMILY name, given names, (title); born with age;
//! gender; NHS number grouped 3-3-4; address; telephone; GP practice; then
//! alerts, safeguarding first, where they cannot be missed. A person
//! restricted in the demographics service (sensitive) shows neither address
//! nor telephone, whatever the record holds.

use std::fmt::Write as _;

use icr_merge::MergedPatient;
use icr_model::{
    Address, Deceased, Demographics, Entry, Gender, HumanName, NhsNumber, Section, TelecomSystem,
};
use time::Date;

use crate::RecordView;
use crate::html::Esc;
use crate::summary::active_alert;
use crate::{format, sources};

/// The name as the banner shows it: `PENNINGTON, Robert James (Mr)`.
pub(crate) fn banner_name(name: &HumanName) -> String {
    let given = name.given.join(" ");
    let mut out = match (&name.family, given.is_empty()) {
        (Some(f), false) => format!("{}, {given}", f.to_uppercase()),
        (Some(f), true) => f.to_uppercase(),
        (None, false) => given,
        (None, true) => name.text.clone().unwrap_or_default(),
    };
    if let Some(title) = name.prefix.first() {
        let _ = write!(out, " ({title})");
    }
    out
}

fn gender(g: Gender) -> &'static str {
    match g {
        Gender::Male => "Male",
        Gender::Female => "Female",
        Gender::Other => "Other",
        Gender::Unknown => "Not known",
    }
}

/// An address on one line.
pub(crate) fn address(a: &Address) -> String {
    a.lines
        .iter()
        .chain(&a.city)
        .chain(&a.district)
        .chain(&a.postcode)
        .map(String::as_str)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

/// One row of a summary list: a fixed label and a value (escaped).
pub(crate) fn row(out: &mut String, key: &'static str, value: &str) {
    let _ = write!(
        out,
        "<div class=\"nhsuk-summary-list__row\"><dt class=\"nhsuk-summary-list__key\">{key}</dt><dd class=\"nhsuk-summary-list__value\">{}</dd></div>",
        Esc(value)
    );
}

/// The rows of what the person is: born, gender, NHS number, address, …
fn rows(out: &mut String, d: &Demographics, nhs: NhsNumber, gp: Option<&str>, today: Date) {
    if let Some(born) = &d.birth_date {
        let mut text = format::partial(born);
        // A dead person's age is their age at death, unknown without its date.
        let at = match &d.deceased {
            None => Some(today),
            Some(Deceased::At(died)) => died.date(),
            Some(Deceased::Yes) => None,
        };
        if let Some(age) = born.date().zip(at).and_then(|(b, at)| format::age(b, at)) {
            let _ = write!(text, " ({age})");
        }
        row(out, "Born", &text);
    }
    match &d.deceased {
        Some(Deceased::At(at)) => row(out, "Died", &format::partial(at)),
        Some(Deceased::Yes) => row(out, "Died", "Date not recorded"),
        None => {}
    }
    row(out, "Gender", d.gender.map_or("Not recorded", gender));
    row(out, "NHS No.", &nhs.formatted());
    if d.sensitive {
        row(
            out,
            "Address",
            "Restricted record: address and contact details are not shown",
        );
    } else {
        if let Some(a) = d.home_address() {
            row(out, "Address", &address(a));
        }
        if let Some(t) = d.telecom.iter().find(|t| t.system == TelecomSystem::Phone) {
            row(out, "Telephone", &t.value);
        }
    }
    if let Some(gp) = gp {
        row(out, "GP practice", gp);
    }
}

/// Active alerts, safeguarding first: `(safeguarding, text)`.
fn alerts(view: &RecordView<'_>) -> Vec<(bool, String)> {
    let mut out: Vec<(bool, String)> = view
        .record
        .sections
        .get(&Section::Alerts)
        .into_iter()
        .flatten()
        .filter_map(|item| match &item.entry {
            Entry::Alert(a) if active_alert(a) => {
                let safeguarding = a.category.iter().any(|c| {
                    c.label()
                        .is_some_and(|l| l.to_ascii_lowercase().contains("safeguarding"))
                });
                Some((safeguarding, a.code.label().unwrap_or("Alert").to_owned()))
            }
            _ => None,
        })
        .collect();
    out.sort_by_key(|(safeguarding, _)| !safeguarding);
    out
}

/// The banner for `view`'s person.
pub(crate) fn banner(out: &mut String, view: &RecordView<'_>) {
    let patient: Option<&MergedPatient> = view.record.patient.as_ref();
    let name = patient
        .and_then(|p| p.demographics.preferred_name())
        .map(banner_name)
        .filter(|n| !n.is_empty());
    let _ = write!(
        out,
        "<section class=\"nhsuk-card\" aria-labelledby=\"patient-name\"><div class=\"nhsuk-card__content\"><h1 class=\"nhsuk-card__heading nhsuk-heading-l\" id=\"patient-name\">{}</h1><dl class=\"nhsuk-summary-list nhsuk-summary-list--no-border\">",
        Esc(name.as_deref().unwrap_or("Name not shown"))
    );
    match patient {
        Some(p) => {
            let d = &p.demographics;
            let gp = d
                .registered_practice
                .as_ref()
                .map(|ods| sources::named(view, ods));
            rows(out, d, view.nhs_number, gp.as_deref(), view.today);
        }
        None => {
            row(out, "NHS No.", &view.nhs_number.formatted());
            row(out, "Details", "Demographics are not shown");
        }
    }
    out.push_str("</dl>");
    let alerts = alerts(view);
    if !alerts.is_empty() {
        out.push_str("<div class=\"nhsuk-warning-callout\"><h2 class=\"nhsuk-warning-callout__label\"><span role=\"text\"><span class=\"nhsuk-u-visually-hidden\">Important: </span>Alerts</span></h2><ul class=\"nhsuk-list nhsuk-list--bullet\">");
        for (safeguarding, text) in &alerts {
            out.push_str("<li>");
            if *safeguarding {
                out.push_str("<strong class=\"nhsuk-tag nhsuk-tag--red\">Safeguarding</strong> ");
            }
            let _ = write!(out, "{}</li>", Esc(text));
        }
        out.push_str("</ul></div>");
    }
    out.push_str("</div></section>\n");
}

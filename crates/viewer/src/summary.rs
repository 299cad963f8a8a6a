//! The summary, first as the Summary Care Record shows it: allergies,
//! current medications, active problems and alerts, each item with the
//! organisations that list it; an item whose sources differ says so and
//! links to the full record, where every version is shown. An empty list
//! says why it is empty: not
//! shown to the role, none recorded by those that answered, and which
//! organisations did not answer in full.

use std::fmt::Write as _;

use icr_merge::MergedItem;
use icr_model::{
    Alert, AlertStatus, AllergyClinicalStatus, Condition, ConditionClinicalStatus, Entry,
    MedicationStatus, PartialDateTime, Section, Verification,
};

use crate::html::Esc;
use crate::sources::incomplete;
use crate::table;
use crate::{RecordTab, RecordView, format};

/// The organisations holding an item, each once, in provenance order.
pub(crate) fn listed_by(item: &MergedItem) -> String {
    let mut names: Vec<&str> = Vec::with_capacity(item.provenance.len());
    for p in &item.provenance {
        if !names.contains(&p.origin.organisation.as_str()) {
            names.push(&p.origin.organisation);
        }
    }
    names.join(", ")
}

fn when(d: Option<&PartialDateTime>) -> String {
    d.map(format::partial).unwrap_or_default()
}

pub(crate) fn in_doubt(v: Option<Verification>) -> bool {
    matches!(
        v,
        Some(Verification::Refuted | Verification::EnteredInError)
    )
}

/// True for an alert in force (or not said otherwise).
pub(crate) fn active_alert(a: &Alert) -> bool {
    matches!(a.status, None | Some(AlertStatus::Active))
}

/// One summary list: a section's heading, its columns, and for each item
/// that belongs in it (current, active, not refuted) the cells between its
/// name and its date (since) and the organisations that list it.
struct List {
    section: Section,
    heading: &'static str,
    columns: &'static [&'static str],
    cells: fn(&Entry) -> Option<Vec<String>>,
}

const LISTS: [List; 4] = [
    List {
        section: Section::Allergies,
        heading: "Allergies and adverse reactions",
        columns: &["Allergy or reaction", "Reaction", "Since", "Listed by"],
        cells: |entry| match entry {
            Entry::Allergy(a)
                if !matches!(
                    a.clinical_status,
                    Some(AllergyClinicalStatus::Inactive | AllergyClinicalStatus::Resolved)
                ) && !in_doubt(a.verification) =>
            {
                let reactions: Vec<&str> = a
                    .reactions
                    .iter()
                    .flat_map(|r| r.manifestations.iter().filter_map(|m| m.label()))
                    .collect();
                Some(vec![reactions.join(", ")])
            }
            _ => None,
        },
    },
    List {
        section: Section::Medications,
        heading: "Current medications",
        columns: &["Medication", "Dosage", "Since", "Listed by"],
        cells: |entry| match entry {
            Entry::Medication(m)
                if matches!(
                    m.status,
                    None | Some(
                        MedicationStatus::Active
                            | MedicationStatus::Intended
                            | MedicationStatus::OnHold
                    )
                ) && (m.status.is_some() || m.end.is_none()) =>
            {
                Some(vec![m.dosage.clone().unwrap_or_default()])
            }
            _ => None,
        },
    },
    List {
        section: Section::Conditions,
        heading: "Active problems",
        columns: &["Problem", "Since", "Listed by"],
        cells: |entry| match entry {
            Entry::Condition(c) if active_problem(c) => Some(Vec::new()),
            _ => None,
        },
    },
    List {
        section: Section::Alerts,
        heading: "Alerts",
        columns: &["Alert", "Since", "Listed by"],
        cells: |entry| match entry {
            Entry::Alert(a) if active_alert(a) => Some(Vec::new()),
            _ => None,
        },
    },
];

/// True for a problem that is current and not refuted.
pub(crate) fn active_problem(c: &Condition) -> bool {
    let active = match c.clinical_status {
        None => c.abatement.is_none(),
        Some(s) => matches!(
            s,
            ConditionClinicalStatus::Active
                | ConditionClinicalStatus::Recurrence
                | ConditionClinicalStatus::Relapse
        ),
    };
    active && !in_doubt(c.verification)
}

/// Why a list of `sections` may be short: items withheld for the role,
/// and the organisations that did not answer in full.
pub(crate) fn notes(out: &mut String, view: &RecordView<'_>, sections: &[Section]) {
    let n: usize = sections
        .iter()
        .filter_map(|s| view.withheld.by_section.get(s))
        .sum();
    if n > 0 {
        let _ = write!(
            out,
            "<p class=\"nhsuk-body-s\">{} withheld for your role.</p>",
            format::count(n, "item", "items")
        );
    }
    let missing: Vec<&str> = view
        .sources
        .iter()
        .filter(|s| {
            incomplete(s)
                && (s.status.failed()
                    || s.issues
                        .iter()
                        .any(|i| i.loses_data() && i.section.is_none_or(|x| sections.contains(&x))))
        })
        .map(|s| s.organisation)
        .collect();
    if !missing.is_empty() {
        let _ = write!(
            out,
            "<p class=\"nhsuk-body-s\"><strong>May be incomplete:</strong> {} did not answer in full.</p>",
            Esc(&format::and_list(&missing))
        );
    }
}

fn list(out: &mut String, view: &RecordView<'_>, list: &List) {
    let id = list.section.as_str();
    let _ = write!(
        out,
        "<section aria-labelledby=\"summary-{id}\"><h2 class=\"nhsuk-heading-m\" id=\"summary-{id}\">{}</h2>",
        list.heading
    );
    match view.record.sections.get(&list.section) {
        None => out.push_str("<p>Not shown to your role.</p>"),
        Some(items) => {
            // Each row's cells, and its item (where it comes from).
            let rows: Vec<(Vec<String>, &MergedItem)> = items
                .iter()
                .filter_map(|item| {
                    let cells = (list.cells)(&item.entry)?;
                    let mut row = Vec::with_capacity(cells.len() + 3);
                    let name = item.entry.code().and_then(|c| c.label());
                    row.push(name.unwrap_or("Not named").to_owned());
                    row.extend(cells);
                    row.push(when(item.entry.sort_date()));
                    row.push(listed_by(item));
                    Some((row, item))
                })
                .collect();
            if rows.is_empty() {
                out.push_str("<p>None recorded by the organisations that answered.</p>");
            } else {
                table::start(out, list.heading, false, list.columns);
                for (row, item) in rows {
                    out.push_str("<tr class=\"nhsuk-table__row\">");
                    let last = row.len() - 1;
                    for (i, cell) in row.iter().enumerate() {
                        let _ = write!(out, "<td class=\"nhsuk-table__cell\">{}", Esc(cell));
                        if i == last {
                            if !item.conflicts.is_empty() {
                                // The versions are on the full record, side by side.
                                let _ = write!(
                                    out,
                                    " <strong class=\"nhsuk-tag nhsuk-tag--orange\">Sources differ</strong> <a href=\"{}\">See each version</a>",
                                    Esc(&RecordTab::Sections.path(view.nhs_number))
                                );
                            }
                            // Every holder: system, record id, last updated.
                            crate::provenance::details(out, item, false);
                        }
                        out.push_str("</td>");
                    }
                    out.push_str("</tr>");
                }
                table::end(out);
            }
        }
    }
    notes(out, view, &[list.section]);
    out.push_str("</section>\n");
}

/// The summary: the four lists in order.
pub(crate) fn summary(out: &mut String, view: &RecordView<'_>) {
    for l in &LISTS {
        list(out, view, l);
    }
}

//! The problem view: problems and diagnoses, active first, then resolved
//! or inactive, then those recorded as ruled out or in error (shown, not
//! dropped: a source may be the only one to have corrected its record),
//! each with its onset and resolution dates and the organisations
//! recording it.

use std::fmt::Write as _;

use icr_merge::MergedItem;
use icr_model::{Entry, PartialDateTime, Section};

use crate::sections_tab::item_name;
use crate::summary::{active_problem, in_doubt};
use crate::table::{self, Cell};
use crate::tabs::section_tab;
use crate::{RecordView, format};

/// Whether a problem belongs in a list.
type Belongs = fn(&icr_model::Condition) -> bool;

/// The lists, in order: id, heading, and which problems belong in it.
const LISTS: [(&str, &str, Belongs); 3] = [
    ("active", "Active problems", active_problem),
    ("resolved", "Resolved or inactive problems", |c| {
        !active_problem(c) && !in_doubt(c.verification)
    }),
    ("refuted", "Ruled out or recorded in error", |c| {
        in_doubt(c.verification)
    }),
];

fn list(out: &mut String, id: &str, heading: &str, items: &[&MergedItem]) {
    let _ = write!(
        out,
        "<section aria-labelledby=\"problems-{id}\"><h3 class=\"nhsuk-heading-m\" id=\"problems-{id}\">{heading}</h3>"
    );
    if items.is_empty() {
        out.push_str("<p>None.</p></section>\n");
        return;
    }
    table::start(
        out,
        heading,
        false,
        &["Problem", "Status", "Onset", "Resolved", "Recorded by"],
    );
    for item in items {
        let Entry::Condition(c) = &item.entry else {
            continue;
        };
        let status: Vec<String> = c
            .clinical_status
            .map(|s| format::code_words(s.as_code()))
            .into_iter()
            .chain(c.verification.map(|v| format::code_words(v.as_code())))
            .collect();
        let date = |d: Option<&PartialDateTime>| d.map(format::partial).unwrap_or_default();
        let cells = [
            Cell::Text(item_name(&item.entry)),
            Cell::Text(&status.join(", ")),
            Cell::Text(&date(c.onset.as_ref())),
            Cell::Text(&date(c.abatement.as_ref())),
        ];
        table::row(out, &cells, item);
    }
    table::end(out);
    out.push_str("</section>\n");
}

/// The tab.
pub(crate) fn problems(out: &mut String, view: &RecordView<'_>) {
    let heading = ("problems", "Problems");
    section_tab(out, view, heading, Section::Conditions, |out, items| {
        for (id, heading, belongs) in LISTS {
            let mine: Vec<&MergedItem> = items
                .iter()
                .filter(|i| matches!(&i.entry, Entry::Condition(c) if belongs(c)))
                .collect();
            list(out, id, heading, &mine);
        }
    });
}

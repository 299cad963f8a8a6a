//! The timeline: encounters, appointments, referrals, procedures,
//! documents and results by date, newest first (undated last), filtered by
//! organisation and type with a GET form that works without script. The
//! page says which filter is in effect and how many items it hides.

use std::fmt::Write as _;

use icr_merge::MergedItem;
use icr_model::{AppointmentKind, Entry, OdsCode, Section};

use crate::html::Esc;
use crate::sections_tab::{item_name, section_name};
use crate::summary::notes;
use crate::table::{self, Cell};
use crate::tabs::{RecordTab, TimelineFilter, TimelineKind};
use crate::{RecordView, format, results, sources};

/// The sections the timeline draws on.
const SECTIONS: [Section; 5] = [
    Section::Appointments,
    Section::Referrals,
    Section::Procedures,
    Section::Documents,
    Section::Results,
];

/// The type of a timeline item; `None` for items not on the timeline.
fn kind(entry: &Entry) -> Option<TimelineKind> {
    Some(match entry {
        Entry::Appointment(a) if a.kind == Some(AppointmentKind::Encounter) => {
            TimelineKind::Encounter
        }
        Entry::Appointment(_) => TimelineKind::Appointment,
        Entry::Referral(_) => TimelineKind::Referral,
        Entry::Procedure(_) => TimelineKind::Procedure,
        Entry::Document(_) => TimelineKind::Document,
        Entry::Result(_) => TimelineKind::Result,
        _ => return None,
    })
}

/// True when `filter` lets `item` (of type `kind`) through.
fn passes(filter: &TimelineFilter, kind: TimelineKind, item: &MergedItem) -> bool {
    (filter.kinds.is_empty() || filter.kinds.contains(&kind))
        && (filter.orgs.is_empty()
            || item
                .provenance
                .iter()
                .any(|p| filter.orgs.contains(&p.origin.ods_code)))
}

/// What an item is, in a few words beyond its name.
fn detail(entry: &Entry) -> String {
    let mut parts: Vec<String> = Vec::new();
    match entry {
        Entry::Appointment(a) => {
            parts.extend(a.location.clone());
            parts.extend(a.status.map(|s| format::code_words(s.as_code())));
        }
        Entry::Referral(r) => {
            if !r.performers.is_empty() {
                parts.push(format!("to {}", r.performers.join(", ")));
            }
            parts.extend(r.priority.map(|p| format::code_words(p.as_code())));
            parts.extend(r.status.map(|s| format::code_words(s.as_code())));
        }
        Entry::Procedure(p) => {
            parts.extend(p.status.map(|s| format::code_words(s.as_code())));
        }
        Entry::Document(d) => {
            parts.extend(d.doc_type.label().map(str::to_owned));
        }
        Entry::Result(r) => {
            parts.extend(results::value_text(r.value.as_ref()));
            parts.extend(results::abnormal(r).map(|f| f.text));
        }
        _ => {}
    }
    parts.join(" · ")
}

/// The organisations to filter by: those asked, then any other holding an
/// item, each once.
fn organisations<'a>(view: &'a RecordView<'_>) -> Vec<(&'a OdsCode, &'a str)> {
    let asked = view.sources.iter().map(|s| (s.ods_code, s.organisation));
    let holding = SECTIONS
        .iter()
        .filter_map(|s| view.record.sections.get(s))
        .flatten()
        .flat_map(|i| &i.provenance)
        .map(|p| (&p.origin.ods_code, p.origin.organisation.as_str()));
    let mut out: Vec<(&OdsCode, &str)> = Vec::new();
    for (ods, name) in asked.chain(holding) {
        if !out.iter().any(|(o, _)| *o == ods) {
            out.push((ods, name));
        }
    }
    out
}

fn checkbox(out: &mut String, name: &str, value: &str, label: &str, checked: bool) {
    let _ = write!(
        out,
        "<div class=\"nhsuk-checkboxes__item\"><input class=\"nhsuk-checkboxes__input\" id=\"{name}-{v}\" name=\"{name}\" type=\"checkbox\" value=\"{v}\"{}><label class=\"nhsuk-label nhsuk-checkboxes__label\" for=\"{name}-{v}\">{}</label></div>",
        if checked { " checked" } else { "" },
        Esc(label),
        v = Esc(value),
    );
}

/// The filter form: a GET to the timeline itself, behind a disclosure
/// (open while a filter is in effect).
fn form(out: &mut String, view: &RecordView<'_>, filter: &TimelineFilter) {
    let _ = write!(
        out,
        "<details class=\"nhsuk-details\"{}><summary class=\"nhsuk-details__summary\"><span class=\"nhsuk-details__summary-text\">Filter by organisation or type</span></summary><div class=\"nhsuk-details__text\"><form method=\"get\" action=\"{}\"><div class=\"nhsuk-form-group\"><fieldset class=\"nhsuk-fieldset\"><legend class=\"nhsuk-fieldset__legend nhsuk-fieldset__legend--s\">Organisation</legend><div class=\"nhsuk-checkboxes nhsuk-checkboxes--small\">",
        if filter.is_empty() { "" } else { " open" },
        Esc(&RecordTab::Timeline(TimelineFilter::default()).path(view.nhs_number))
    );
    for (ods, name) in organisations(view) {
        let label = format!("{name} ({})", ods.as_str());
        checkbox(out, "org", ods.as_str(), &label, filter.orgs.contains(ods));
    }
    out.push_str("</div></fieldset></div><div class=\"nhsuk-form-group\"><fieldset class=\"nhsuk-fieldset\"><legend class=\"nhsuk-fieldset__legend nhsuk-fieldset__legend--s\">Type</legend><div class=\"nhsuk-checkboxes nhsuk-checkboxes--small\">");
    for k in TimelineKind::ALL {
        checkbox(
            out,
            "type",
            k.as_str(),
            k.label(),
            filter.kinds.contains(&k),
        );
    }
    out.push_str("</div></fieldset></div><button class=\"nhsuk-button nhsuk-button--secondary\" type=\"submit\">Apply filter</button></form></div></details>");
}

/// The filter in effect, in words.
fn in_effect(view: &RecordView<'_>, filter: &TimelineFilter) -> String {
    if filter.is_empty() {
        return "No filter: every organisation and every type.".to_owned();
    }
    let orgs: Vec<String> = filter
        .orgs
        .iter()
        .map(|ods| sources::named(view, ods))
        .collect();
    let orgs: Vec<&str> = orgs.iter().map(String::as_str).collect();
    let kinds: Vec<&str> = filter.kinds.iter().map(|k| k.label()).collect();
    format!(
        "Filtered to organisations: {}; types: {}.",
        if orgs.is_empty() {
            "all".to_owned()
        } else {
            format::and_list(&orgs)
        },
        if kinds.is_empty() {
            "all".to_owned()
        } else {
            format::and_list(&kinds)
        },
    )
}

/// The tab.
pub(crate) fn timeline(out: &mut String, view: &RecordView<'_>, filter: &TimelineFilter) {
    out.push_str("<section aria-labelledby=\"timeline-heading\"><h2 class=\"nhsuk-heading-l\" id=\"timeline-heading\">Timeline</h2>");
    let mut items: Vec<(TimelineKind, &MergedItem)> = SECTIONS
        .iter()
        .filter_map(|s| view.record.sections.get(s))
        .flatten()
        .filter_map(|i| Some((kind(&i.entry)?, i)))
        .collect();
    // Newest first, undated last (a stable sort keeps each section's order).
    items.sort_by(
        |(_, a), (_, b)| match (a.entry.sort_date(), b.entry.sort_date()) {
            (Some(x), Some(y)) => y.cmp(x),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        },
    );
    let total = items.len();
    items.retain(|(k, i)| passes(filter, *k, i));
    let hidden = total - items.len();
    let _ = write!(
        out,
        "<p id=\"timeline-filter\"><strong>{}</strong> Showing {} of {}",
        Esc(&in_effect(view, filter)),
        items.len(),
        format::count(total, "item", "items"),
    );
    if hidden > 0 {
        let _ = write!(
            out,
            "; the filter hides {}. <a href=\"{}\">Show every item</a>",
            format::count(hidden, "item", "items"),
            Esc(&RecordTab::Timeline(TimelineFilter::default()).path(view.nhs_number)),
        );
    }
    out.push_str(".</p>");
    form(out, view, filter);
    let absent: Vec<&str> = SECTIONS
        .iter()
        .filter(|s| !view.record.sections.contains_key(s))
        .map(|s| section_name(*s))
        .collect();
    if !absent.is_empty() {
        let _ = write!(
            out,
            "<p>Not shown to your role: {}.</p>",
            Esc(&format::and_list(&absent))
        );
    }
    if items.is_empty() {
        out.push_str("<p>No item to show.</p>");
    } else {
        table::start(
            out,
            "Timeline, most recent first",
            false,
            &["Date", "Type", "What", "From"],
        );
        for (k, item) in &items {
            let date = item
                .entry
                .sort_date()
                .map_or_else(|| "Not dated".into(), format::partial);
            let detail = detail(&item.entry);
            let cells = [
                Cell::Text(&date),
                Cell::Text(k.label()),
                Cell::Named(item_name(&item.entry), &detail),
            ];
            table::row(out, &cells, item);
        }
        table::end(out);
    }
    notes(out, view, &SECTIONS);
    out.push_str("</section>\n");
}

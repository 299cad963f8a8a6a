//! Documents — letters, care plans, out-of-hours reports, discharge
//! summaries — most recent first: title, type, the organisations holding
//! it, date, status and authors, then the document's text as the adapter
//! rendered it (plain text, never markup: escaped like everything else,
//! its blank lines kept as paragraphs), a care plan's activities, and what
//! the source holds beyond it. A source's address for the content is never
//! shown (the model does not carry it to views).

use std::fmt::Write as _;

use icr_merge::MergedItem;
use icr_model::{Document, Entry, Section};

use crate::html::Esc;
use crate::sections_tab::item_name;
use crate::summary::listed_by;
use crate::tabs::section_tab;
use crate::{RecordView, banner, format, provenance};

/// The document's text, set off from its details, or a note that the
/// source sent none.
pub(crate) fn text(out: &mut String, d: &Document) {
    match &d.text {
        Some(text) if !text.trim().is_empty() => {
            out.push_str("<div class=\"nhsuk-inset-text\"><span class=\"nhsuk-u-visually-hidden\">Document text: </span>");
            paragraphs(out, text);
            out.push_str("</div>");
        }
        _ => out.push_str("<p>The source sent no text for this document.</p>"),
    }
}

/// Plain text as paragraphs: a blank line parts them, a line break stays.
fn paragraphs(out: &mut String, text: &str) {
    let normalised = text.replace("\r\n", "\n");
    for para in normalised
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        out.push_str("<p>");
        for (i, line) in para.lines().enumerate() {
            if i > 0 {
                out.push_str("<br>");
            }
            let _ = write!(out, "{}", Esc(line));
        }
        out.push_str("</p>");
    }
}

/// A row of the document's details, left out when empty.
fn row(out: &mut String, key: &'static str, value: &str) {
    if !value.is_empty() {
        banner::row(out, key, value);
    }
}

fn document(out: &mut String, n: usize, item: &MergedItem) {
    let Entry::Document(d) = &item.entry else {
        return;
    };
    let _ = write!(
        out,
        "<section class=\"nhsuk-card\" aria-labelledby=\"document-{n}\"><div class=\"nhsuk-card__content\"><h3 class=\"nhsuk-card__heading nhsuk-heading-m\" id=\"document-{n}\">{}</h3><dl class=\"nhsuk-summary-list\">",
        Esc(item_name(&item.entry))
    );
    row(out, "Type", d.doc_type.label().unwrap_or_default());
    row(out, "From", &listed_by(item));
    row(
        out,
        "Date",
        &d.date.as_ref().map(format::partial).unwrap_or_default(),
    );
    row(
        out,
        "Status",
        &d.status
            .map(|s| format::code_words(s.as_code()))
            .unwrap_or_default(),
    );
    row(out, "Authors", &d.authors.join(", "));
    if let Some(p) = &d.care_plan {
        row(
            out,
            "Plan status",
            &p.status
                .map(|s| format::code_words(s.as_code()))
                .unwrap_or_default(),
        );
        let period = match (&p.period_start, &p.period_end) {
            (Some(a), Some(b)) => format!("{} to {}", format::partial(a), format::partial(b)),
            (Some(a), None) => format!("From {}", format::partial(a)),
            (None, Some(b)) => format!("Until {}", format::partial(b)),
            (None, None) => String::new(),
        };
        row(out, "Plan period", &period);
    }
    out.push_str("</dl>");
    text(out, d);
    if let Some(p) = d.care_plan.as_ref().filter(|p| !p.activities.is_empty()) {
        out.push_str("<h4 class=\"nhsuk-heading-s\">Planned</h4><ul class=\"nhsuk-list nhsuk-list--bullet\">");
        for a in &p.activities {
            let _ = write!(out, "<li>{}</li>", Esc(a));
        }
        out.push_str("</ul>");
    }
    if !d.content.is_empty() {
        let parts: Vec<String> = d
            .content
            .iter()
            .map(|c| {
                let what = c
                    .title
                    .as_deref()
                    .or(c.content_type.as_deref())
                    .unwrap_or("content");
                match c.size {
                    Some(bytes) => format!(
                        "{what} ({})",
                        format::count(
                            usize::try_from(bytes).unwrap_or(usize::MAX),
                            "byte",
                            "bytes"
                        )
                    ),
                    None => what.to_owned(),
                }
            })
            .collect();
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        let _ = write!(
            out,
            "<p class=\"nhsuk-body-s\">The original ({}) is held by {}: ask them for it.</p>",
            Esc(&format::and_list(&parts)),
            Esc(&listed_by(item)),
        );
    }
    provenance::details(out, item, false);
    provenance::conflicts(out, item);
    out.push_str("</div></section>\n");
}

/// The tab.
pub(crate) fn documents(out: &mut String, view: &RecordView<'_>) {
    let heading = ("documents", "Documents");
    section_tab(out, view, heading, Section::Documents, |out, items| {
        for (n, item) in items.iter().enumerate() {
            document(out, n, item);
        }
    });
}

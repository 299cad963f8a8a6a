//! The sources panel: every organisation asked, its status in words, when
//! its answer was fetched (and whether from the cache), and how many items
//! were withheld for the caller's role; then the notes on the record (the
//! merge's and the gateway's warnings, e.g. sources that disagree on the
//! date of birth). A source that failed is told apart
//! from one that holds nothing, in words and in the tag's colour and text
//! (hazard log: a failed or skipped source must never look like an empty
//! one).

use std::fmt::Write as _;

use icr_model::{OdsCode, SourceStatus};

use crate::html::Esc;
use crate::{RecordView, SourceLine, format};

/// The tag (text, nhsuk colour modifier) for a status.
fn tag(status: SourceStatus) -> (&'static str, &'static str) {
    match status {
        SourceStatus::Ok => ("Answered", "green"),
        SourceStatus::Partial => ("Incomplete", "orange"),
        SourceStatus::NotFound => ("No record", "grey"),
        SourceStatus::Timeout | SourceStatus::Unavailable | SourceStatus::Error => {
            ("No answer", "red")
        }
        SourceStatus::Withheld => ("Withheld", "yellow"),
        SourceStatus::Skipped => ("Not asked", "grey"),
    }
}

/// What a source's status means, as a sentence naming the organisation.
pub fn status_sentence(organisation: &str, status: SourceStatus) -> String {
    let what = match status {
        SourceStatus::Ok => "answered",
        SourceStatus::Partial => {
            "answered, but part of its record could not be fetched — this record may be incomplete"
        }
        SourceStatus::NotFound => "holds no record for this person",
        SourceStatus::Timeout => "did not answer in time — this record may be incomplete",
        SourceStatus::Unavailable => "could not be reached — this record may be incomplete",
        SourceStatus::Error => {
            "answered with an error or with something unreadable — this record may be incomplete"
        }
        SourceStatus::Withheld => "holds a record for this person but withholds it",
        SourceStatus::Skipped => {
            "was not asked this time: it is not known to hold a record for this person"
        }
    };
    format!("{organisation} {what}")
}

/// When the answer was fetched, and whether it came from the cache.
pub fn fetched_sentence(source: &SourceLine<'_>) -> Option<String> {
    let at = format::instant(source.fetched_at?);
    Some(if source.cached {
        format!("Answer from the cache, fetched {at}")
    } else {
        format!("Fetched {at}")
    })
}

/// An organisation by name and ODS code (`Ridgeway View Practice
/// (J83019)`) when it was asked, else by its code.
pub(crate) fn named(view: &RecordView<'_>, ods: &OdsCode) -> String {
    match view.sources.iter().find(|s| s.ods_code == ods) {
        Some(s) => format!("{} ({})", s.organisation, ods.as_str()),
        None => ods.as_str().to_owned(),
    }
}

/// True when the source's items may be missing from the view: it gave no
/// definite answer or only part of one.
pub(crate) fn incomplete(source: &SourceLine<'_>) -> bool {
    source.status.failed() || source.status == SourceStatus::Partial
}

/// The panel.
pub(crate) fn panel(out: &mut String, view: &RecordView<'_>) {
    out.push_str("<section aria-labelledby=\"sources-heading\"><h2 class=\"nhsuk-heading-m\" id=\"sources-heading\">Where this record comes from</h2>");
    let incomplete_count = view.sources.iter().filter(|s| incomplete(s)).count();
    if incomplete_count > 0 {
        let _ = write!(
            out,
            "<div class=\"nhsuk-warning-callout\"><h3 class=\"nhsuk-warning-callout__label\"><span role=\"text\"><span class=\"nhsuk-u-visually-hidden\">Important: </span>This record may be incomplete</span></h3><p>{} of {} did not answer in full. What they hold is not shown below.</p></div>",
            incomplete_count,
            format::count(
                view.sources.len(),
                "organisation asked",
                "organisations asked"
            ),
        );
    }
    if view.sources.is_empty() {
        out.push_str("<p>No organisation was asked.</p>");
    }
    out.push_str("<ul class=\"nhsuk-list\">");
    for s in view.sources {
        let (text, colour) = tag(s.status);
        let _ = write!(
            out,
            "<li><strong class=\"nhsuk-tag nhsuk-tag--{colour}\">{text}</strong> {}.",
            Esc(&status_sentence(s.organisation, s.status))
        );
        if let Some(fetched) = fetched_sentence(s) {
            let _ = write!(out, " {}.", Esc(&fetched));
        }
        let lost: Vec<_> = s.issues.iter().filter(|i| i.loses_data()).collect();
        if !lost.is_empty() {
            out.push_str("<ul class=\"nhsuk-list nhsuk-list--bullet\">");
            for issue in lost {
                let _ = write!(out, "<li>{}</li>", Esc(&issue.message));
            }
            out.push_str("</ul>");
        }
        out.push_str("</li>");
    }
    out.push_str("</ul>");
    let notes: Vec<&str> = view
        .record
        .warnings
        .iter()
        .chain(view.gathered)
        .map(|w| w.message.as_str())
        .collect();
    if !notes.is_empty() {
        out.push_str("<h3 class=\"nhsuk-heading-s\">Notes on this record</h3><ul class=\"nhsuk-list nhsuk-list--bullet\">");
        for note in notes {
            let _ = write!(out, "<li>{}</li>", Esc(note));
        }
        out.push_str("</ul>");
    }
    if !view.withheld.is_empty() {
        let _ = write!(
            out,
            "<p class=\"nhsuk-body-s\">{} withheld for your role.</p>",
            format::count(view.withheld.count, "item", "items")
        );
    }
    out.push_str("</section>\n");
}

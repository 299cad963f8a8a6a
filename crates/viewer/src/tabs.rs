//! The record page's tabs: which one a request asks for (parsed from the
//! path segment after `/patients/{nhs}` and, for the timeline, its query),
//! the path that asks for it again, and the navigation between them —
//! plain links, the current one marked `aria-current="page"`, styled as
//! the design system's tabs when its script runs and as a list otherwise.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use icr_merge::MergedItem;
use icr_model::{NhsNumber, OdsCode, Section};

use crate::html::Esc;
use crate::summary::notes;
use crate::{RecordView, documents, problems, results, sections_tab, summary, timeline};

/// The most filter values a timeline query is read for; the rest of a
/// longer query is ignored (there are six types and a few organisations).
const MAX_FILTER_VALUES: usize = 64;

/// One tab of the record page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordTab {
    /// Allergies, current medications, active problems, alerts (`/patients/{nhs}`).
    Summary,
    /// Every section in full, each item with its provenance (`…/sections`).
    Sections,
    /// Encounters, appointments, referrals, procedures, documents and
    /// results by date, newest first, filtered (`…/timeline?org=…&type=…`).
    Timeline(TimelineFilter),
    /// Problems, active first, then resolved (`…/problems`).
    Problems,
    /// Results grouped by test, with trend charts (`…/results`).
    Results,
    /// Letters, care plans, reports, in their text (`…/documents`).
    Documents,
}

/// What the timeline shows: items of these types held by these
/// organisations; an empty set is no filter on that dimension.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TimelineFilter {
    /// Organisations (ODS codes): an item held by any of them is shown.
    pub orgs: BTreeSet<OdsCode>,
    /// Types of item.
    pub kinds: BTreeSet<TimelineKind>,
}

/// A type of item on the timeline (the query's `type=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TimelineKind {
    /// An attendance, admission or contact that took place.
    Encounter,
    /// A booked appointment.
    Appointment,
    /// A referral.
    Referral,
    /// An operation, procedure or immunisation.
    Procedure,
    /// A letter, care plan or other document.
    Document,
    /// A result or report.
    Result,
}

impl TimelineKind {
    /// Every type, in the form's order.
    pub const ALL: [TimelineKind; 6] = [
        TimelineKind::Encounter,
        TimelineKind::Appointment,
        TimelineKind::Referral,
        TimelineKind::Procedure,
        TimelineKind::Document,
        TimelineKind::Result,
    ];

    /// The query value (`type=result`).
    pub const fn as_str(self) -> &'static str {
        match self {
            TimelineKind::Encounter => "encounter",
            TimelineKind::Appointment => "appointment",
            TimelineKind::Referral => "referral",
            TimelineKind::Procedure => "procedure",
            TimelineKind::Document => "document",
            TimelineKind::Result => "result",
        }
    }

    /// The type for a query value.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The type in words, as the page shows it.
    pub const fn label(self) -> &'static str {
        match self {
            TimelineKind::Encounter => "Encounter",
            TimelineKind::Appointment => "Appointment",
            TimelineKind::Referral => "Referral",
            TimelineKind::Procedure => "Procedure",
            TimelineKind::Document => "Document",
            TimelineKind::Result => "Result",
        }
    }
}

impl TimelineFilter {
    /// No filter: everything is shown.
    pub fn is_empty(&self) -> bool {
        self.orgs.is_empty() && self.kinds.is_empty()
    }

    /// Reads `org=ODS` and `type=kind` pairs from a URL query
    /// (`application/x-www-form-urlencoded`, as a GET form sends it),
    /// each repeatable. Values that are not an ODS code or one of the
    /// types, and other keys, are ignored: an unreadable filter shows
    /// more, never less, and the page says which filter is in effect.
    pub fn from_query(query: &str) -> Self {
        let mut filter = TimelineFilter::default();
        for pair in query.split('&').take(MAX_FILTER_VALUES) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let Some(value) = form_decode(value) else {
                continue;
            };
            match key {
                "org" => {
                    if let Ok(ods) = OdsCode::parse(&value) {
                        filter.orgs.insert(ods);
                    }
                }
                "type" => {
                    if let Some(kind) = TimelineKind::parse(value.trim()) {
                        filter.kinds.insert(kind);
                    }
                }
                _ => {}
            }
        }
        filter
    }

    /// The query that asks for this filter (`org=RN3&type=result`), empty
    /// for none.
    pub fn query(&self) -> String {
        let orgs = self.orgs.iter().map(|o| ("org", o.as_str()));
        let kinds = self.kinds.iter().map(|k| ("type", k.as_str()));
        // ODS codes and types are ASCII letters and digits: nothing to encode.
        orgs.chain(kinds)
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// A form-encoded value decoded (`+` is a space, `%XX` a byte); `None`
/// when it is not UTF-8 or is malformed.
fn form_decode(value: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(value.len());
    let mut it = value.bytes();
    while let Some(b) = it.next() {
        bytes.push(match b {
            b'+' => b' ',
            b'%' => {
                let hi = char::from(it.next()?).to_digit(16)?;
                let lo = char::from(it.next()?).to_digit(16)?;
                u8::try_from(hi * 16 + lo).ok()?
            }
            _ => b,
        });
    }
    String::from_utf8(bytes).ok()
}

impl RecordTab {
    /// The tab a request asks for: `segment` is the path segment after
    /// `/patients/{nhs}` (`None` for the summary), `query` the URL query
    /// (read by the timeline only). `None` for an unknown segment (the
    /// caller answers 404).
    pub fn parse(segment: Option<&str>, query: Option<&str>) -> Option<RecordTab> {
        Some(match segment {
            None | Some("") => RecordTab::Summary,
            Some("sections") => RecordTab::Sections,
            Some("timeline") => {
                RecordTab::Timeline(TimelineFilter::from_query(query.unwrap_or_default()))
            }
            Some("problems") => RecordTab::Problems,
            Some("results") => RecordTab::Results,
            Some("documents") => RecordTab::Documents,
            Some(_) => return None,
        })
    }

    /// The path segment (`None` for the summary).
    pub const fn segment(&self) -> Option<&'static str> {
        match self {
            RecordTab::Summary => None,
            RecordTab::Sections => Some("sections"),
            RecordTab::Timeline(_) => Some("timeline"),
            RecordTab::Problems => Some("problems"),
            RecordTab::Results => Some("results"),
            RecordTab::Documents => Some("documents"),
        }
    }

    /// The path that shows this tab for `nhs`, with the timeline's filter:
    /// `/patients/9990000050/timeline?type=result`.
    pub fn path(&self, nhs: NhsNumber) -> String {
        let mut path = format!("/patients/{}", nhs.as_str());
        if let Some(segment) = self.segment() {
            let _ = write!(path, "/{segment}");
        }
        if let RecordTab::Timeline(filter) = self
            && !filter.is_empty()
        {
            let _ = write!(path, "?{}", filter.query());
        }
        path
    }

    /// The tab's name, in the navigation and the page's title (which names
    /// no one: it stays in browser history).
    pub const fn title(&self) -> &'static str {
        match self {
            RecordTab::Summary => "Record summary",
            RecordTab::Sections => "Full record",
            RecordTab::Timeline(_) => "Timeline",
            RecordTab::Problems => "Problems",
            RecordTab::Results => "Results",
            RecordTab::Documents => "Documents",
        }
    }

    /// Every tab, in the navigation's order (the timeline unfiltered).
    fn all() -> [RecordTab; 6] {
        [
            RecordTab::Summary,
            RecordTab::Sections,
            RecordTab::Timeline(TimelineFilter::default()),
            RecordTab::Problems,
            RecordTab::Results,
            RecordTab::Documents,
        ]
    }
}

/// The navigation between the tabs: links, the current one
/// `aria-current="page"`.
pub(crate) fn nav(out: &mut String, nhs: NhsNumber, current: &RecordTab) {
    out.push_str("<nav class=\"nhsuk-tabs\" aria-label=\"Parts of the record\"><ul class=\"nhsuk-tabs__list\">");
    for tab in RecordTab::all() {
        let here = tab.segment() == current.segment();
        let _ = write!(
            out,
            "<li class=\"nhsuk-tabs__list-item{}\"><a class=\"nhsuk-tabs__tab\" href=\"{}\"{}>{}</a></li>",
            if here {
                " nhsuk-tabs__list-item--selected"
            } else {
                ""
            },
            Esc(&tab.path(nhs)),
            if here { " aria-current=\"page\"" } else { "" },
            tab.title(),
        );
    }
    out.push_str("</ul></nav>\n");
}

/// The tab's content, under the navigation.
pub(crate) fn content(out: &mut String, view: &RecordView<'_>, tab: &RecordTab) {
    match tab {
        RecordTab::Summary => summary::summary(out, view),
        RecordTab::Sections => sections_tab::sections(out, view),
        RecordTab::Timeline(filter) => timeline::timeline(out, view, filter),
        RecordTab::Problems => problems::problems(out, view),
        RecordTab::Results => results::results(out, view),
        RecordTab::Documents => documents::documents(out, view),
    }
}

/// A tab on one section: its heading (`id` names it), then the section
/// ([`section_body`]).
pub(crate) fn section_tab(
    out: &mut String,
    view: &RecordView<'_>,
    (id, heading): (&str, &str),
    section: Section,
    body: impl FnOnce(&mut String, &[MergedItem]),
) {
    let _ = write!(
        out,
        "<section aria-labelledby=\"{id}-heading\"><h2 class=\"nhsuk-heading-l\" id=\"{id}-heading\">{heading}</h2>"
    );
    section_body(out, view, section, body);
    out.push_str("</section>\n");
}

/// A section under its heading: `body` with its items, or why there are
/// none, then why the list may be short (items withheld, organisations
/// that did not answer in full) — or, for a section the role may not see,
/// only that.
pub(crate) fn section_body(
    out: &mut String,
    view: &RecordView<'_>,
    section: Section,
    body: impl FnOnce(&mut String, &[MergedItem]),
) {
    match view.record.sections.get(&section) {
        // What the role may not see cannot be incomplete for it.
        None => out.push_str("<p>Not shown to your role.</p>"),
        Some(items) => {
            if items.is_empty() {
                out.push_str("<p>None recorded by the organisations that answered.</p>");
            } else {
                body(out, items);
            }
            notes(out, view, &[section]);
        }
    }
}

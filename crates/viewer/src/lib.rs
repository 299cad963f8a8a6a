//! The viewer: the record as server-rendered HTML pages, built on the NHS
//! design system (nhsuk-frontend, vendored under `assets/`), that work
//! without JavaScript.
//!
//! Its place in the request flow: last, beside the JSON and FHIR renderers.
//! The gateway will call it to answer `/` and below when `[viewer]` is
//! enabled (issue 16; not wired yet): after the merge and the policy, with
//! the record as the caller may see it, the report of every source asked,
//! and what was withheld. It is pure — no I/O, no clock (today's date is
//! given) — and every string from a source or a caller is HTML-escaped by
//! one function (behind [`escape_into`], [`escape`] and the pages' own
//! formatting). Pages link their stylesheet and
//! script from `/assets/` ([`asset`] holds them, compiled in) and carry no
//! inline script or style, for a strict Content-Security-Policy.
//!
//! A record page ([`record_page`]) has, on every tab, the patient banner,
//! the sources panel (a failed source is never shown as an empty one) and
//! the navigation between the tabs ([`RecordTab`]: plain links, the
//! current one `aria-current="page"`); then the tab: the summary
//! (allergies, current medications, active problems, alerts); the full
//! record (every section, every item with every organisation holding it —
//! system, the source's record id, last updated — and the sources'
//! disagreements shown, not resolved); the timeline (encounters,
//! appointments, referrals, procedures, documents and results, newest
//! first, filtered by organisation and type by a GET form, saying what the
//! filter hides); problems (active, then resolved); results grouped by
//! test, a repeated test charted as inline SVG with its reference range
//! shaded and abnormal values flagged beside a table of the same values;
//! documents in their plain-text rendition, escaped.
//!
//! Around the record, each page a pure function of a small borrowed view:
//! signing in and out ([`sign_in_page`], [`signed_out_page`]); finding a
//! person ([`find_page`]; [`typed_nhs_number`] reads a number as people
//! type it), where nobody found is said in words and never looks like an
//! empty record; a refusal in plain words for every policy code
//! ([`refusal_page`]), with the break-glass form only where there is no
//! care relationship — never for a person's objection; who looked at a
//! record ([`who_looked_page`]), saying when the list may be incomplete;
//! the demonstration's identity provider and pretend EPR
//! ([`demo_idp_page`], [`demo_epr_page`]); and [`error_page`] for anything
//! else. Every POST form carries the session's CSRF token. The viewer's
//! script (`assets/viewer/init.js`) only enhances: it checks an NHS
//! number's check digit as it is typed.

mod assets;
mod banner;
mod demo_idp;
mod find;
mod form;
mod format;
mod html;
mod page;
mod refusal;
mod sign_in;
mod sources;
mod summary;
mod who_looked;
// The record's tabs beyond the summary (issue 16).
mod documents;
mod problems;
mod provenance;
mod results;
mod sections_tab;
mod table;
mod tabs;
mod timeline;

use icr_merge::{MergedRecord, Warning};
use icr_model::{NhsNumber, OdsCode, SourceIssue, SourceStatus};
use icr_policy::Withheld;
use time::{Date, OffsetDateTime};

pub use assets::{ASSETS, Asset, asset};
pub use demo_idp::{DemoIdpView, DemoUser, EprPatient, demo_epr_page, demo_idp_page};
pub use find::{FindProblem, FindView, find_page, typed_nhs_number};
pub use html::{escape, escape_into};
pub use page::{Chrome, SERVICE_NAME, SignedIn, page};
pub use refusal::{BreakGlassForm, RefusalView, refusal_page};
pub use sign_in::{SignInView, error_page, sign_in_page, signed_out_page};
pub use sources::{fetched_sentence, status_sentence};
pub use tabs::{RecordTab, TimelineFilter, TimelineKind};
pub use who_looked::{LookedEntry, Outcome, WhoLookedView, who_looked_page};

/// One organisation asked, as its report says (the gateway's
/// `SourceReport`, borrowed).
#[derive(Clone, Debug)]
pub struct SourceLine<'a> {
    /// The organisation's name.
    pub organisation: &'a str,
    /// Its ODS code.
    pub ods_code: &'a OdsCode,
    /// How its part went.
    pub status: SourceStatus,
    /// When its answer was received (a cached answer keeps the time it was
    /// fetched); absent when it gave none.
    pub fetched_at: Option<OffsetDateTime>,
    /// The answer came from the cache rather than this request's call.
    pub cached: bool,
    /// Problems with parts of its answer.
    pub issues: &'a [SourceIssue],
}

/// Everything a record page shows.
#[derive(Clone, Copy, Debug)]
pub struct RecordView<'a> {
    /// The person asked about.
    pub nhs_number: NhsNumber,
    /// The record as the caller may see it (the policy's `Shown::to_record`):
    /// a section absent is one their role may not see.
    pub record: &'a MergedRecord,
    /// Every organisation asked, in the gateway's order.
    pub sources: &'a [SourceLine<'a>],
    /// What the policy withheld from the caller.
    pub withheld: &'a Withheld,
    /// Warnings about how the record was gathered, beside the merge's own
    /// in `record` (the gateway's, those the caller may see).
    pub gathered: &'a [Warning],
    /// Today's date, for ages.
    pub today: Date,
    /// Who is looking (the page's header).
    pub chrome: Chrome<'a>,
}

/// The record page at `tab`: the banner, the sources panel and the tabs'
/// navigation on every tab, then the tab's content. Its title names no one
/// (it stays in browser history).
pub fn record_page(view: &RecordView<'_>, tab: &RecordTab) -> String {
    let mut main = String::with_capacity(16 * 1024);
    banner::banner(&mut main, view);
    sources::panel(&mut main, view);
    tabs::nav(&mut main, view.nhs_number, tab);
    tabs::content(&mut main, view, tab);
    page(tab.title(), &view.chrome, &main)
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_pages;
#[cfg(test)]
mod tests_tabs;

//! One page of search results, read without I/O: the Bundle is parsed
//! lazily, its Medications indexed, and each entry dispatched on its
//! `resourceType`.

use std::fmt;

use icr_adapter_sdk::{SourceError, json_error, source_said};
use icr_fhir::{BundleIn, OperationOutcome, peek_resource_type};
use icr_model::SourceId;
use url::Url;

use crate::map::{MapContext, Mapped, Medications, RecordType, map_as};

/// What a page is read for.
#[derive(Clone, Copy)]
pub struct PageContext<'a> {
    /// The source, for record ids.
    pub source: &'a SourceId,
    /// The server's base URL.
    pub base: Option<&'a Url>,
    /// The type searched for: entries of other types are not items.
    pub searched: RecordType,
}

/// One resource of the searched type, read.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// `Bundle.entry.fullUrl`.
    pub full_url: Option<String>,
    /// The resource in the model.
    pub mapped: Mapped,
}

/// What one page holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    /// The `next` link, as given.
    pub next: Option<String>,
    /// `Bundle.total`, when given: how many match in all.
    pub total: Option<u64>,
    /// The resources of the searched type (search mode `match` or none).
    pub found: Vec<Found>,
    /// Entries of the searched type (or of no type) that could not be read.
    pub unreadable: u32,
    /// The first reason an entry could not be read (no values).
    pub first_error: Option<String>,
    /// The issues the server reported in OperationOutcome entries, but
    /// for `information`.
    pub reported: Vec<Reported>,
}

/// Reads one search answer.
///
/// A server that failed inside a successful answer fails here: an
/// OperationOutcome instead of a Bundle, or a Bundle whose error or fatal
/// OperationOutcome entries stand in for every result, is
/// [`SourceError::Refused`] quoting the server's diagnostics — never an
/// empty page. Error entries beside results are kept in [`Page::reported`]
/// for the search to report.
pub fn read_page(body: &[u8], ctx: &PageContext<'_>) -> Result<Page, SourceError> {
    let bundle: BundleIn<'_> = serde_json::from_slice(body)
        .map_err(|e| SourceError::Malformed(json_error("search answer", &e)))?;
    let searched = ctx.searched.name();
    match bundle.resource_type.as_deref() {
        Some("Bundle") => {}
        Some("OperationOutcome") => {
            let issues = serde_json::from_slice::<OperationOutcome>(body)
                .map(|oo| reported(&oo, true))
                .unwrap_or_default();
            return Err(if issues.is_empty() {
                SourceError::Malformed(
                    "the search answer is an OperationOutcome, not a Bundle".into(),
                )
            } else {
                SourceError::Refused(format!("{searched} search: {}", describe(&issues)))
            });
        }
        _ => {
            return Err(SourceError::Malformed(
                "the search answer is not a Bundle".into(),
            ));
        }
    }
    let mut medications = Medications::new();
    for e in &bundle.entry {
        if let Some(raw) = e.resource
            && peek_resource_type(raw).as_deref() == Some("Medication")
        {
            // An unreadable Medication only leaves a reference unresolved,
            // which is reported on the item that refers to it.
            let _ = medications.add(raw, e.full_url.as_deref(), ctx.base);
        }
    }
    let map_ctx = MapContext {
        source: ctx.source,
        base: ctx.base,
        medications: &medications,
    };
    let mut page = Page {
        next: bundle.next_link().map(str::to_string),
        total: bundle.total,
        ..Page::default()
    };
    for e in &bundle.entry {
        let Some(raw) = e.resource else { continue };
        let mode = e.search.as_ref().and_then(|s| s.mode.as_deref());
        let ty = peek_resource_type(raw);
        match ty.as_deref() {
            Some("OperationOutcome") => {
                if let Ok(oo) = serde_json::from_str::<OperationOutcome>(raw.get()) {
                    page.reported.extend(reported(&oo, false));
                }
            }
            Some(t) if t == ctx.searched.name() => {
                if matches!(mode, Some("include") | Some("outcome")) {
                    continue;
                }
                match map_as(ctx.searched, raw, &map_ctx) {
                    Ok(mapped) => page.found.push(Found {
                        full_url: e.full_url.clone(),
                        mapped,
                    }),
                    Err(err) => {
                        page.unreadable += 1;
                        page.first_error.get_or_insert_with(|| err.to_string());
                    }
                }
            }
            Some(_) => {}
            None => {
                page.unreadable += 1;
                page.first_error
                    .get_or_insert_with(|| "an entry's resource has no resourceType".into());
            }
        }
    }
    let failures: Vec<Reported> = page
        .reported
        .iter()
        .filter(|r| r.is_failure())
        .cloned()
        .collect();
    if !failures.is_empty() && page.found.is_empty() && page.unreadable == 0 {
        // Nothing but the server's own error: a failed search, not an
        // empty one.
        return Err(SourceError::Refused(format!(
            "{searched} search: {}",
            describe(&failures)
        )));
    }
    Ok(page)
}

/// How serious an OperationOutcome issue is (`OperationOutcome.issue.severity`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// The server could not go on.
    Fatal,
    /// The request, or part of it, failed.
    Error,
    /// Done, with a caveat.
    Warning,
    /// For information only.
    Information,
}

impl Severity {
    /// The severity a server wrote; a missing or unknown one counts as an
    /// error, so that nothing the server said went wrong is ignored.
    fn read(s: Option<&str>) -> Self {
        match s.map(str::trim) {
            Some("fatal") => Severity::Fatal,
            Some("warning") => Severity::Warning,
            Some("information") => Severity::Information,
            _ => Severity::Error,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Severity::Fatal => "fatal",
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Information => "information",
        }
    }
}

/// One issue of an OperationOutcome a server sent, fit to quote to the
/// caller: its severity, its code as the FHIR value set spells them, and
/// the server's own words (`diagnostics`, else `details.text`) through
/// [`source_said`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reported {
    /// How serious it is.
    pub severity: Severity,
    /// `issue.code` (`processing`, `not-found`, …).
    pub code: String,
    /// What the server said, bounded and on one line.
    pub said: Option<String>,
}

impl Reported {
    /// True for `error` and `fatal`: part of the answer is missing.
    pub fn is_failure(&self) -> bool {
        matches!(self.severity, Severity::Fatal | Severity::Error)
    }
}

impl fmt::Display for Reported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.severity.as_str(), self.code)?;
        match &self.said {
            Some(said) => write!(f, ": {said:?}"),
            None => Ok(()),
        }
    }
}

/// The issues of an OperationOutcome; `information` ones only when
/// `with_information`.
pub fn reported(oo: &OperationOutcome, with_information: bool) -> Vec<Reported> {
    oo.issue
        .iter()
        .map(|i| Reported {
            severity: Severity::read(i.severity.as_deref()),
            code: safe_code(i.code.as_deref()).to_string(),
            said: i
                .diagnostics
                .as_deref()
                .or_else(|| i.details.as_ref().and_then(|d| d.text.as_deref()))
                .map(source_said)
                .filter(|s| !s.is_empty()),
        })
        .filter(|r| with_information || r.severity != Severity::Information)
        .collect()
}

/// Most issues quoted in one message; the rest are counted.
const MAX_QUOTED: usize = 3;

/// Issues as one line: `error (processing): "…"; fatal (exception)`, the
/// same issue once, at most three quoted and the rest counted.
pub fn describe(issues: &[Reported]) -> String {
    let mut distinct: Vec<&Reported> = Vec::new();
    for i in issues {
        if !distinct.contains(&i) {
            distinct.push(i);
        }
    }
    let mut out: Vec<String> = distinct
        .iter()
        .take(MAX_QUOTED)
        .map(ToString::to_string)
        .collect();
    if distinct.len() > MAX_QUOTED {
        out.push(format!("and {} more", distinct.len() - MAX_QUOTED));
    }
    out.join("; ")
}

/// The error for an answer with HTTP error `status` to the request `what`
/// (e.g. `Condition search`): the issues of the OperationOutcome the server
/// sent with it, if any, are quoted after the request's name.
pub fn http_failure(status: u16, what: &str, body: &[u8]) -> SourceError {
    let issues = serde_json::from_slice::<OperationOutcome>(body)
        .ok()
        .filter(|_| peek_type(body).as_deref() == Some("OperationOutcome"))
        .map(|oo| reported(&oo, true))
        .unwrap_or_default();
    let what = if issues.is_empty() {
        what.to_string()
    } else {
        format!("{what}: {}", describe(&issues))
    };
    SourceError::HttpStatus { status, what }
}

fn peek_type(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Peek {
        #[serde(rename = "resourceType", default)]
        resource_type: Option<String>,
    }
    serde_json::from_slice::<Peek>(body).ok()?.resource_type
}

/// True when a body is an OperationOutcome saying `not-found`.
pub fn is_not_found_outcome(body: &[u8]) -> bool {
    peek_type(body).as_deref() == Some("OperationOutcome")
        && serde_json::from_slice::<OperationOutcome>(body).is_ok_and(|oo| {
            oo.issue
                .iter()
                .any(|i| i.code.as_deref().map(str::trim) == Some("not-found"))
        })
}

/// An issue code as the FHIR value set spells them (`processing`,
/// `not-found`, …); anything else is not echoed.
fn safe_code(code: Option<&str>) -> &str {
    match code.map(str::trim) {
        Some(c)
            if (1..=40).contains(&c.len())
                && c.bytes().all(|b| b.is_ascii_lowercase() || b == b'-') =>
        {
            c
        }
        _ => "unrecognised issue code",
    }
}

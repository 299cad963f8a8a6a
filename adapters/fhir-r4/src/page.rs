//! One page of search results, read without I/O: the Bundle is parsed
//! lazily, its Medications indexed, and each entry dispatched on its
//! `resourceType`.

use std::fmt;

use icr_adapter_sdk::outcome::Outcome;
pub use icr_adapter_sdk::outcome::Severity;
use icr_adapter_sdk::{SourceError, json_error, source_said};
use icr_fhir::{BundleIn, peek_resource_type};
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
    let mut pages = read_bundle(body, ctx, &[])?;
    Ok(pages.swap_remove(0))
}

/// Reads the answer to a Patient search that brought `included` along
/// (`_revinclude`), in one pass: the page of `ctx.searched` (the
/// Patient, with the answer's `next` link, total and OperationOutcome
/// issues), then one page per type of `included`, of its resources of
/// search mode `include` (or none). Fails as [`read_page`] does.
pub fn read_revinclude(
    body: &[u8],
    ctx: &PageContext<'_>,
    included: &[RecordType],
) -> Result<(Page, Vec<Page>), SourceError> {
    let mut pages = read_bundle(body, ctx, included)?;
    let primary = pages.remove(0);
    Ok((primary, pages))
}

/// Reads one search answer into pages: the first for `ctx.searched`
/// (entries of search mode `match` or none), then one per type of
/// `included` (entries of mode `include` or none).
fn read_bundle(
    body: &[u8],
    ctx: &PageContext<'_>,
    included: &[RecordType],
) -> Result<Vec<Page>, SourceError> {
    let bundle: BundleIn<'_> = serde_json::from_slice(body)
        .map_err(|e| SourceError::Malformed(json_error("search answer", &e)))?;
    let searched = ctx.searched.name();
    match bundle.resource_type.as_deref() {
        Some("Bundle") => {}
        Some("OperationOutcome") => {
            let issues = Outcome::read(body)
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
    let mut pages = vec![Page::default(); 1 + included.len()];
    pages[0].next = bundle.next_link().map(str::to_string);
    pages[0].total = bundle.total;
    for e in &bundle.entry {
        let Some(raw) = e.resource else { continue };
        let mode = e.search.as_ref().and_then(|s| s.mode.as_deref());
        let ty = peek_resource_type(raw);
        // Which page the entry is an item of, and as which type.
        let target = match ty.as_deref() {
            Some("OperationOutcome") => {
                if let Some(oo) = Outcome::read(raw.get().as_bytes()) {
                    pages[0].reported.extend(reported(&oo, false));
                }
                continue;
            }
            Some(t) if t == searched => {
                (!matches!(mode, Some("include") | Some("outcome"))).then_some((0, ctx.searched))
            }
            Some(t) => included
                .iter()
                .position(|i| i.name() == t)
                .filter(|_| !matches!(mode, Some("match") | Some("outcome")))
                .map(|n| (n + 1, included[n])),
            None => {
                pages[0].unreadable += 1;
                pages[0]
                    .first_error
                    .get_or_insert_with(|| "an entry's resource has no resourceType".into());
                continue;
            }
        };
        let Some((n, as_type)) = target else { continue };
        let page = &mut pages[n];
        match map_as(as_type, raw, &map_ctx) {
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
    let failures: Vec<Reported> = pages[0]
        .reported
        .iter()
        .filter(|r| r.is_failure())
        .cloned()
        .collect();
    let nothing = pages
        .iter()
        .all(|p| p.found.is_empty() && p.unreadable == 0);
    if !failures.is_empty() && nothing {
        // Nothing but the server's own error: a failed search, not an
        // empty one.
        return Err(SourceError::Refused(format!(
            "{searched} search: {}",
            describe(&failures)
        )));
    }
    Ok(pages)
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
        self.severity.is_failure()
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

/// The issues of an OperationOutcome, as the SDK reads it; `information`
/// ones only when `with_information`. A missing or unknown severity counts
/// as an error, so that nothing the server said went wrong is ignored; a
/// code that is not one FHIR spells is not echoed.
pub fn reported(oo: &Outcome, with_information: bool) -> Vec<Reported> {
    oo.issues
        .iter()
        .map(|i| Reported {
            severity: i.severity.unwrap_or(Severity::Error),
            code: i
                .code
                .clone()
                .unwrap_or_else(|| "unrecognised issue code".into()),
            said: i.text.as_deref().map(source_said).filter(|s| !s.is_empty()),
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
    let issues = Outcome::read(body)
        .map(|oo| reported(&oo, true))
        .unwrap_or_default();
    let what = if issues.is_empty() {
        what.to_string()
    } else {
        format!("{what}: {}", describe(&issues))
    };
    SourceError::HttpStatus { status, what }
}

/// True when a body is an OperationOutcome with a `not-found` issue.
pub fn is_not_found_outcome(body: &[u8]) -> bool {
    Outcome::read(body).is_some_and(|oo| oo.issues.iter().any(|i| i.has_code("not-found")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reported_issues_default_to_errors_and_echo_only_codes() {
        let oo = Outcome::read(
            br#"{"resourceType":"OperationOutcome","issue":[
                {"code":"processing","diagnostics":" Database\r\noffline "},
                {"severity":"warning","code":"Not A Code","details":{"text":"slow"}},
                {"severity":"information","code":"informational"}]}"#,
        )
        .unwrap();
        let all = reported(&oo, true);
        assert_eq!(
            describe(&all),
            "error (processing): \"Database offline\"; warning (unrecognised issue code): \"slow\"; information (informational)"
        );
        assert_eq!(reported(&oo, false).len(), 2);
        assert!(all[0].is_failure() && !all[1].is_failure());
        assert_eq!(
            http_failure(500, "Condition search", br#"{"resourceType":"Patient"}"#),
            SourceError::HttpStatus {
                status: 500,
                what: "Condition search".into()
            }
        );
        assert!(is_not_found_outcome(
            br#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":" not-found "},{"severity":"fatal","code":"exception"}]}"#
        ));
        assert!(!is_not_found_outcome(br#"{"resourceType":"Bundle"}"#));
    }

    #[test]
    fn a_revinclude_answer_is_split_by_type_in_one_pass() {
        let source = SourceId::parse("t").unwrap();
        let ctx = PageContext {
            source: &source,
            base: None,
            searched: RecordType::Patient,
        };
        let body = serde_json::json!({"resourceType": "Bundle", "type": "searchset", "total": 1, "entry": [
            {"resource": {"resourceType": "Patient", "id": "p1"}, "search": {"mode": "match"}},
            {"resource": {"resourceType": "Flag", "id": "f1", "status": "active", "code": {"text": "Violent"}}, "search": {"mode": "include"}},
            {"resource": {"resourceType": "Condition", "id": "c1", "code": {"text": "Asthma"}}, "search": {"mode": "include"}},
            {"resource": {"resourceType": "Condition", "id": "c2", "code": {"text": "Gout"}}},
            {"resource": {"resourceType": "Condition", "id": "c3", "code": {"text": "x"}}, "search": {"mode": "match"}},
            {"resource": {"resourceType": "Patient", "id": "p2"}, "search": {"mode": "include"}},
            {"resource": {"resourceType": "Encounter", "id": "e1"}, "search": {"mode": "include"}}
        ]})
        .to_string();
        let (patient, pages) = read_revinclude(
            body.as_bytes(),
            &ctx,
            &[RecordType::Condition, RecordType::Flag],
        )
        .unwrap();
        let ids = |p: &Page| -> Vec<String> {
            p.found.iter().filter_map(|f| f.mapped.id.clone()).collect()
        };
        assert_eq!(ids(&patient), ["p1"]);
        assert_eq!(patient.total, Some(1));
        assert_eq!(ids(&pages[0]), ["c1", "c2"]);
        assert_eq!(ids(&pages[1]), ["f1"]);
        assert_eq!(pages[0].total, None);
    }
}

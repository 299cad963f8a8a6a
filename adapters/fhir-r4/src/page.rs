//! One page of search results, read without I/O: the Bundle is parsed
//! lazily, its Medications indexed, and each entry dispatched on its
//! `resourceType`.

use icr_adapter_sdk::{SourceError, json_error};
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
    /// The resources of the searched type (search mode `match` or none).
    pub found: Vec<Found>,
    /// Entries of the searched type (or of no type) that could not be read.
    pub unreadable: u32,
    /// The first reason an entry could not be read (no values).
    pub first_error: Option<String>,
    /// Errors the server reported in OperationOutcome entries, as
    /// `severity: code` (no diagnostics, which may carry patient data).
    pub reported: Vec<String>,
}

/// Reads one search answer.
pub fn read_page(body: &[u8], ctx: &PageContext<'_>) -> Result<Page, SourceError> {
    let bundle: BundleIn<'_> = serde_json::from_slice(body)
        .map_err(|e| SourceError::Malformed(json_error("search answer", &e)))?;
    match bundle.resource_type.as_deref() {
        Some("Bundle") => {}
        Some("OperationOutcome") => {
            return Err(SourceError::Malformed(
                "the search answer is an OperationOutcome, not a Bundle".into(),
            ));
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
        ..Page::default()
    };
    for e in &bundle.entry {
        let Some(raw) = e.resource else { continue };
        let mode = e.search.as_ref().and_then(|s| s.mode.as_deref());
        let ty = peek_resource_type(raw);
        match ty.as_deref() {
            Some("OperationOutcome") => {
                if let Ok(oo) = serde_json::from_str::<OperationOutcome>(raw.get()) {
                    page.reported.extend(reported_errors(&oo));
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
    Ok(page)
}

/// The error and fatal issues of an OperationOutcome, as `severity: code`.
pub fn reported_errors(oo: &OperationOutcome) -> Vec<String> {
    oo.issue
        .iter()
        .filter_map(|i| {
            let severity = i.severity.as_deref().map(str::trim)?;
            if !matches!(severity, "error" | "fatal") {
                return None;
            }
            Some(format!("{severity}: {}", safe_code(i.code.as_deref())))
        })
        .collect()
}

/// True when a body is an OperationOutcome saying `not-found`.
pub fn is_not_found_outcome(body: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Peek {
        #[serde(rename = "resourceType", default)]
        resource_type: Option<String>,
    }
    let is_oo = serde_json::from_slice::<Peek>(body)
        .ok()
        .and_then(|p| p.resource_type)
        .as_deref()
        == Some("OperationOutcome");
    is_oo
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

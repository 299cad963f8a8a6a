//! The document registry's answer: a FHIR R4 searchset of
//! DocumentReferences (as the NRL and MHDS serve them), read into the list
//! of CDA documents to fetch. No I/O.
//!
//! An entry is listed only when it is current, has a CDA attachment
//! (`application/hl7-v3+xml`, `text/xml` or `application/xml`) and that
//! attachment's URL resolves, against the registry's base URL, to one of the
//! registry's own origins ([`Origins`]): a hostile registry must not make
//! the gateway fetch from anywhere else. Every entry left out is counted by
//! reason; nothing is dropped silently. An OperationOutcome instead of the
//! searchset is the registry saying it failed (`Refused`, quoting it); its
//! OperationOutcome entries are either "not known" (only `not-found`, and
//! nothing listed) or, when one is an error, reported with the page.

use std::borrow::Cow;

use icr_adapter_sdk::outcome::Outcome;
use icr_adapter_sdk::{Origins, SourceError, json_error, quoting_source};
use icr_fhir::{BundleIn, DocumentReference, NHS_NUMBER_SYSTEM};
use icr_model::time::OffsetDateTime;
use icr_model::time::format_description::well_known::Rfc3339;
use icr_model::{CodeSystem, Coding, Concept, NhsNumber, PartialDateTime};
use serde::Deserialize;
use url::Url;

/// Media types of a CDA document's attachment (parameters ignored).
pub const CDA_MEDIA_TYPES: [&str; 4] = [
    "application/hl7-v3+xml",
    "application/hl7-cda+xml",
    "text/xml",
    "application/xml",
];

/// What a registry answer is read for.
#[derive(Clone, Copy, Debug)]
pub struct RegistryContext<'a> {
    /// The registry's origins: relative URLs resolve against its base
    /// (which ends in `/`), and documents must be on one of them.
    pub origins: &'a Origins,
    /// The person asked for.
    pub nhs_number: NhsNumber,
}

/// One CDA document the registry lists for the person.
#[derive(Clone, Debug, PartialEq)]
pub struct Listed {
    /// `DocumentReference.id`.
    pub id: Option<String>,
    /// `DocumentReference.meta.lastUpdated`.
    pub last_updated: Option<OffsetDateTime>,
    /// The document's URL, resolved and on the registry's origin.
    pub url: Url,
    /// The attachment's content type, as given.
    pub content_type: Option<String>,
    /// The attachment's size, as given.
    pub size: Option<u64>,
    /// `DocumentReference.type`.
    pub doc_type: Option<Concept>,
    /// `DocumentReference.date`.
    pub date: Option<PartialDateTime>,
    /// `DocumentReference.description`.
    pub description: Option<String>,
    /// The entry names the person by NHS number (`subject.identifier`):
    /// the registry vouches that the document is theirs.
    pub vouched: bool,
}

/// What one page of the registry's answer holds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RegistryPage {
    /// The CDA documents to fetch, in the registry's order.
    pub listed: Vec<Listed>,
    /// The `next` link, as given.
    pub next: Option<String>,
    /// `Bundle.total`.
    pub total: Option<u64>,
    /// DocumentReferences that could not be read.
    pub unreadable: u32,
    /// The first reason one could not be read (no values).
    pub first_error: Option<String>,
    /// Current entries with no CDA attachment.
    pub not_cda: u32,
    /// CDA attachments with no URL.
    pub no_url: u32,
    /// CDA attachments whose URL is on another server or not usable.
    pub foreign_url: u32,
    /// Entries whose subject is another person's NHS number.
    pub other_patient: u32,
    /// Entries superseded or entered in error.
    pub inactive: u32,
    /// The registry said it does not know the person: it listed nothing
    /// and its OperationOutcome entries say only `not-found`.
    pub patient_not_found: bool,
    /// What the registry reported in OperationOutcome entries, when some
    /// issue is an error: the search failed, in part or in whole.
    pub reported: Option<Outcome>,
}

#[derive(Deserialize)]
struct Peek<'a> {
    #[serde(rename = "resourceType", borrow, default)]
    resource_type: Option<Cow<'a, str>>,
}

fn resource_type(raw: &str) -> Option<String> {
    serde_json::from_str::<Peek<'_>>(raw)
        .ok()
        .and_then(|p| p.resource_type)
        .map(Cow::into_owned)
}

/// Reads one page of the registry's search answer.
pub fn read_registry(body: &[u8], ctx: &RegistryContext<'_>) -> Result<RegistryPage, SourceError> {
    let bundle: BundleIn<'_> = serde_json::from_slice(body)
        .map_err(|e| SourceError::Malformed(json_error("registry search answer", &e)))?;
    match bundle.resource_type.as_deref() {
        Some("Bundle") => {}
        Some("OperationOutcome") => {
            let outcome = Outcome::read(body).unwrap_or_default();
            return Err(SourceError::Refused(quoting_source(
                format!(
                    "registry search: the registry answered with an OperationOutcome instead of a searchset ({})",
                    outcome.summary()
                ),
                &outcome.said(),
            )));
        }
        _ => {
            return Err(SourceError::Malformed(
                "the registry search answer is not a Bundle".into(),
            ));
        }
    }
    let mut page = RegistryPage {
        next: bundle.next_link().map(str::to_string),
        total: bundle.total,
        ..RegistryPage::default()
    };
    let mut said = Outcome::default();
    for e in &bundle.entry {
        let Some(raw) = e.resource else { continue };
        match resource_type(raw.get()).as_deref() {
            Some("DocumentReference") => {
                let mode = e.search.as_ref().and_then(|s| s.mode.as_deref());
                if matches!(mode, Some("include") | Some("outcome")) {
                    continue;
                }
                match serde_json::from_str::<DocumentReference>(raw.get()) {
                    Ok(d) => page.take(&d, ctx),
                    Err(err) => {
                        page.unreadable += 1;
                        page.first_error
                            .get_or_insert_with(|| json_error("DocumentReference", &err));
                    }
                }
            }
            Some("OperationOutcome") => {
                if let Some(oo) = Outcome::read(raw.get().as_bytes()) {
                    said.issues.extend(oo.issues);
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
    let nothing_listed = page.listed.is_empty()
        && page.unreadable == 0
        && page.not_cda == 0
        && page.no_url == 0
        && page.foreign_url == 0
        && page.other_patient == 0
        && page.inactive == 0;
    if nothing_listed && said.only_not_found(None) {
        page.patient_not_found = true;
    } else if said.is_failure() {
        page.reported = Some(said);
    }
    Ok(page)
}

impl RegistryPage {
    fn take(&mut self, d: &DocumentReference, ctx: &RegistryContext<'_>) {
        match d.status.as_deref().map(str::trim) {
            Some("superseded") | Some("entered-in-error") => {
                self.inactive += 1;
                return;
            }
            _ => {}
        }
        let subject_nhs = d
            .subject
            .as_ref()
            .and_then(|s| s.identifier.as_ref())
            .filter(|i| i.system.as_deref().map(str::trim) == Some(NHS_NUMBER_SYSTEM))
            .and_then(|i| i.value.as_deref())
            .map(str::trim);
        let vouched = match subject_nhs {
            Some(v) if v == ctx.nhs_number.as_str() => true,
            Some(_) => {
                self.other_patient += 1;
                return;
            }
            None => false,
        };
        let Some(attachment) = d
            .content
            .iter()
            .filter_map(|c| c.attachment.as_ref())
            .find(|a| a.content_type.as_deref().is_some_and(is_cda_media_type))
        else {
            self.not_cda += 1;
            return;
        };
        let Some(url) = attachment
            .url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
        else {
            self.no_url += 1;
            return;
        };
        let Some(url) = ctx.origins.resolve(url) else {
            self.foreign_url += 1;
            return;
        };
        self.listed.push(Listed {
            id: d
                .id
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            last_updated: d
                .meta
                .as_ref()
                .and_then(|m| m.last_updated.as_deref())
                .and_then(|t| OffsetDateTime::parse(t.trim(), &Rfc3339).ok()),
            url,
            content_type: attachment
                .content_type
                .as_deref()
                .map(|c| c.trim().to_string()),
            size: attachment.size,
            doc_type: d.type_.as_ref().map(concept).filter(|c| !c.is_empty()),
            date: d
                .date
                .as_deref()
                .and_then(|t| PartialDateTime::parse(t).ok()),
            description: d
                .description
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            vouched,
        });
    }
}

/// True for a CDA document's media type.
pub fn is_cda_media_type(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    CDA_MEDIA_TYPES
        .iter()
        .any(|t| t.eq_ignore_ascii_case(essence))
}

fn concept(c: &icr_fhir::CodeableConcept) -> Concept {
    Concept {
        codings: c
            .coding
            .iter()
            .filter_map(|x| {
                let code = x.code.as_deref()?.trim();
                if code.is_empty() {
                    return None;
                }
                Some(Coding {
                    system: CodeSystem::from_uri(x.system.as_deref().unwrap_or("").trim()),
                    code: code.to_string(),
                    display: x.display.clone(),
                })
            })
            .collect(),
        text: c.text.clone().filter(|t| !t.trim().is_empty()),
    }
}

/// True when a body is an OperationOutcome saying only `not-found`.
pub fn is_not_found_outcome(body: &[u8]) -> bool {
    Outcome::read(body).is_some_and(|o| o.only_not_found(None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types() {
        assert!(is_cda_media_type("application/hl7-v3+xml"));
        assert!(is_cda_media_type("Text/XML; charset=utf-8"));
        assert!(!is_cda_media_type("application/pdf"));
        assert!(!is_cda_media_type(""));
    }
}

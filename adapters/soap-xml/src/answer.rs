//! One HTTP answer (status and body) into a [`SourceRecord`] or a
//! [`SourceError`]: the whole read, pure and without I/O, so that it can be
//! tested and fuzzed alone.
//!
//! - A SOAP fault is a fault whatever the HTTP status it came with (SOAP
//!   1.1 sends faults with HTTP 500): [`Fault::into_error`] says which
//!   error it is.
//! - Any other non-2xx answer is an HTTP error, whatever its body.
//! - A 2xx answer must be a SOAP 1.1 envelope holding a
//!   `GetPersonSummaryResponse` whose `Person` carries the NHS number asked
//!   for, and, when it echoes a correlation id, the one sent. Anything else
//!   is `Malformed`: an answer that cannot be shown to be about this person,
//!   for this request, is not used at all.

use std::sync::Arc;

use icr_adapter_sdk::SourceError;
use icr_model::{
    IssueKind, Item, NhsNumber, PatientRecord, Section, SectionSet, SourceIssue, SourceMeta,
    SourceRecord,
};

use crate::map::{map_summary, provided_sections};
use crate::soap::{Body, read_envelope};
use crate::xml::{Limits, parse};

/// What the answer must match.
#[derive(Clone, Copy, Debug)]
pub struct Expected<'a> {
    /// The NHS number asked for.
    pub nhs_number: NhsNumber,
    /// The correlation id sent (the request's trace id).
    pub correlation_id: &'a str,
    /// The sections wanted.
    pub sections: SectionSet,
}

/// Bounds on reading one answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadLimits {
    /// Bounds on the XML.
    pub xml: Limits,
    /// Most items taken from one answer.
    pub max_items: usize,
}

impl Default for ReadLimits {
    fn default() -> Self {
        Self {
            xml: Limits::default(),
            max_items: 5_000,
        }
    }
}

/// The name requests are known by in errors.
pub const WHAT: &str = "GetPersonSummary";

/// Reads one answer.
pub fn read_answer(
    status: u16,
    body: &[u8],
    expected: &Expected<'_>,
    limits: &ReadLimits,
    meta: &Arc<SourceMeta>,
) -> Result<SourceRecord, SourceError> {
    let parsed = parse(body, &limits.xml);
    if !(200..300).contains(&status) {
        if let Ok(root) = &parsed
            && let Ok(Body::Fault(fault)) = read_envelope(root)
        {
            return Err(fault.into_error(status));
        }
        return Err(SourceError::HttpStatus {
            status,
            what: WHAT.into(),
        });
    }
    let root = parsed.map_err(|e| SourceError::Malformed(format!("{WHAT} answer: {e}")))?;
    let response = match read_envelope(&root)? {
        Body::Fault(fault) => return Err(fault.into_error(status)),
        Body::Response(r) => r,
    };
    let wanted = expected.sections.intersection(provided_sections());
    let summary = map_summary(response, wanted, limits.max_items);
    if summary
        .correlation_id
        .as_deref()
        .is_some_and(|c| c != expected.correlation_id)
    {
        return Err(SourceError::Malformed(
            "the answer's CorrelationId is not the one sent with the request".into(),
        ));
    }
    let Some(person) = summary.person else {
        return Err(SourceError::Malformed(
            "the answer has no Person, so it cannot be shown to be about the person asked for"
                .into(),
        ));
    };
    match person.demographics.nhs_number {
        Some(n) if n == expected.nhs_number => {}
        Some(_) => {
            return Err(SourceError::IdentityMismatch(
                "the answer's Person has another NHS number than the one asked for".into(),
            ));
        }
        None if person.invalid_nhs_number => {
            return Err(SourceError::Malformed(
                "the answer's Person has an NHS number that is not valid".into(),
            ));
        }
        None => {
            return Err(SourceError::Malformed(
                "the answer's Person has no NHS number".into(),
            ));
        }
    }
    let mut record = SourceRecord {
        wire_bytes: body.len(),
        issues: summary.issues,
        ..SourceRecord::default()
    };
    if wanted.contains(Section::Demographics) {
        let provenance = meta
            .provenance(&person.local_id, person.last_updated)
            .map_err(|_| SourceError::Malformed("the Person's id is not usable".into()))?;
        record.patient = Some(PatientRecord {
            demographics: person.demographics,
            provenance,
        });
    }
    let mut unusable = Vec::new();
    for r in summary.records {
        match meta.provenance(&r.local_id, r.last_updated) {
            Ok(mut provenance) => {
                provenance.restricted = r.restricted;
                record.items.push(Item {
                    entry: r.entry,
                    provenance,
                });
            }
            Err(_) => unusable.push(r.entry.section()),
        }
    }
    for section in wanted.iter() {
        let n = unusable.iter().filter(|s| **s == section).count();
        if n > 0 {
            record.issues.push(SourceIssue {
                kind: IssueKind::Unreadable,
                section: Some(section),
                message: format!("{n} record(s) had an id that cannot be used and were left out"),
            });
        }
    }
    Ok(record)
}

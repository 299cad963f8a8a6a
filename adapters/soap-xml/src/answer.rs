//! One HTTP answer (status and body) into a [`SourceRecord`] or a
//! [`SourceError`]: the whole read, pure and without I/O, so that it can be
//! tested and fuzzed alone.
//!
//! - A SOAP fault is a fault whatever the HTTP status it came with (SOAP
//!   1.1 sends faults with HTTP 500, many services with 200):
//!   [`Fault::into_error`](crate::soap::Fault::into_error) says which
//!   error it is, unless its `CorrelationId` names another request
//!   (`Malformed`). A `PersonSummaryFault` inside the response is the
//!   whole answer when there is no `Person`, and a `section-failed` issue
//!   beside one.
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
use crate::soap::{Body, Fault, FaultError, bare_fault, read_envelope};
use crate::xml::{Limits, Ns, parse};

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

/// The error a fault means, unless it names another request: a fault
/// whose `CorrelationId` is not the one sent is not an answer to this
/// request (and so never "not known").
fn fault_error(fault: Fault, status: u16, expected: &Expected<'_>) -> SourceError {
    if fault
        .correlation_id
        .as_deref()
        .is_some_and(|c| c != expected.correlation_id)
    {
        return SourceError::Malformed(
            "the fault's CorrelationId is not the one sent with the request".into(),
        );
    }
    fault.into_error(status)
}

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
            return Err(fault_error(fault, status, expected));
        }
        return Err(SourceError::HttpStatus {
            status,
            what: WHAT.into(),
        });
    }
    let root = parsed.map_err(|e| SourceError::Malformed(format!("{WHAT} answer: {e}")))?;
    let response = match read_envelope(&root)? {
        Body::Fault(fault) => return Err(fault_error(fault, status, expected)),
        Body::Response(r) => r,
    };
    // A fault inside the answer: with no Person it is the whole answer;
    // beside one, the answer is kept and said to be incomplete.
    let inner_fault = response
        .child(Ns::PersonSummary, "PersonSummaryFault")
        .map(bare_fault);
    if let Some(fault) = &inner_fault
        && response.child(Ns::PersonSummary, "Person").is_none()
    {
        return Err(fault_error(fault.clone(), status, expected));
    }
    let wanted = expected.sections.intersection(provided_sections());
    let mut summary = map_summary(response, wanted, limits.max_items);
    if let Some(fault) = inner_fault {
        summary.issues.push(SourceIssue {
            kind: IssueKind::SectionFailed,
            section: None,
            message: format!(
                "the service reported a fault beside its answer ({}); some of what it holds may be missing",
                fault.described()
            ),
        });
    }
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
    // Stricter than the shared guard (`icr_adapter_sdk::identity`), which
    // lets a record without an NHS number through: the contract's Person is
    // the only proof the answer is about the person asked for, so it must
    // carry a valid NHS number, and that number must be the one asked for.
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

//! The JSON view: `GET /v1/patients/{nhs}/record`. Its schema is
//! `docs/record-view.schema.json`.

use std::collections::BTreeMap;

use icr_merge::{MergedItem, MergedPatient, Warning};
use icr_model::{NhsNumber, Section};
use icr_policy::Withheld;
use serde::Serialize;

use crate::{RecordOutcome, SourceStatus};

#[derive(Serialize)]
struct RecordView<'a> {
    nhs_number: NhsNumber,
    patient: Option<&'a MergedPatient>,
    sections: &'a BTreeMap<Section, Vec<MergedItem>>,
    sources: &'a [SourceStatus],
    warnings: &'a [Warning],
    withheld: &'a Withheld,
}

/// Serializes the merged view as JSON, with how many items the caller's
/// role may not see were withheld (never what they were).
pub fn render(outcome: &RecordOutcome, withheld: &Withheld) -> Result<Vec<u8>, serde_json::Error> {
    let view = RecordView {
        nhs_number: outcome.nhs_number,
        patient: outcome.merged.patient.as_ref(),
        sections: &outcome.merged.sections,
        sources: &outcome.sources,
        warnings: &outcome.merged.warnings,
        withheld,
    };
    serde_json::to_vec(&view)
}

/// One access, as the audit endpoint shows it: who, when, from where, why,
/// and what they saw — never the record itself.
#[derive(Serialize)]
struct AccessView<'a> {
    seq: u64,
    time: String,
    interaction: icr_audit::Interaction,
    user: Option<UserView<'a>>,
    purpose: &'a str,
    basis: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    break_glass_reason: Option<&'a str>,
    decision: icr_audit::Decision,
    reason: &'a str,
    sections_released: icr_model::SectionSet,
    items_released: u32,
}

#[derive(Serialize)]
struct UserView<'a> {
    name: &'a str,
    role: &'a str,
    organisation: &'a icr_model::OdsCode,
}

#[derive(Serialize)]
struct AuditView<'a> {
    nhs_number: NhsNumber,
    accesses: Vec<AccessView<'a>>,
    /// False when older accesses were left out or the log failed to verify.
    complete: bool,
    omitted: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<String>,
}

/// Serializes who accessed a person's record, most recent first.
pub(crate) fn render_audit(read: &crate::access::AuditRead) -> Result<Vec<u8>, serde_json::Error> {
    let accesses = read
        .accesses
        .records
        .iter()
        .rev()
        .map(|a| {
            let r = &a.record;
            AccessView {
                seq: a.seq.get(),
                time: r.time.to_rfc3339(),
                interaction: r.interaction,
                user: r.user.as_ref().map(|u| UserView {
                    name: &u.name,
                    role: &u.role,
                    organisation: &u.org,
                }),
                purpose: &r.purpose,
                basis: r.basis.as_str(),
                break_glass_reason: r.break_glass_reason.as_deref(),
                decision: r.decision,
                reason: r.reason.as_str(),
                sections_released: r.sections_released,
                items_released: r.items_released,
            }
        })
        .collect();
    serde_json::to_vec(&AuditView {
        nhs_number: read.nhs_number,
        accesses,
        complete: read.accesses.is_complete(),
        omitted: read.accesses.omitted,
        problem: read.accesses.problem.as_ref().map(ToString::to_string),
    })
}

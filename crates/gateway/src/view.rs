//! The JSON view: `GET /v1/patients/{nhs}/record`. Its schema is
//! `docs/record-view.schema.json`.

use std::collections::BTreeMap;

use icr_merge::{MergedItem, MergedPatient, Warning};
use icr_model::{NhsNumber, Section};
use icr_policy::Withheld;
use serde::Serialize;

use crate::{RecordOutcome, SourceReport};

#[derive(Serialize)]
struct RecordView<'a> {
    nhs_number: NhsNumber,
    patient: Option<&'a MergedPatient>,
    sections: &'a BTreeMap<Section, Vec<MergedItem>>,
    sources: &'a [SourceReport],
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
/// and what they saw — never the record itself. Everything the AuditEvent
/// view says, field for field. An access whose outcome was not recorded
/// (begun, its completion missing) has `decision` `outcome-not-recorded`
/// and none of the outcome's fields (`basis` to `sources`).
#[derive(Serialize)]
struct AccessView<'a> {
    seq: u64,
    time: String,
    request_id: &'a str,
    interaction: icr_audit::Interaction,
    user: Option<UserView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    calling_system: Option<&'a str>,
    purpose: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    basis: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    break_glass_reason: Option<&'a str>,
    decision: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_status: Option<u16>,
    sections_requested: icr_model::SectionSet,
    #[serde(skip_serializing_if = "Option::is_none")]
    sections_released: Option<icr_model::SectionSet>,
    #[serde(skip_serializing_if = "Option::is_none")]
    items_released: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    items_withheld: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sources: Option<&'a [icr_audit::SourceAsked]>,
}

impl<'a> AccessView<'a> {
    /// A whole access (its outcome recorded).
    fn whole(seq: u64, r: &'a icr_audit::AuditRecord) -> Self {
        AccessView {
            seq,
            time: r.time.to_rfc3339(),
            request_id: r.request_id.as_str(),
            interaction: r.interaction,
            user: r.user.as_ref().map(UserView::of),
            calling_system: r.calling_system.as_deref(),
            purpose: &r.purpose,
            basis: Some(r.basis.as_str()),
            break_glass_reason: r.break_glass_reason.as_deref(),
            decision: match r.decision {
                icr_audit::Decision::Allowed => "allowed",
                icr_audit::Decision::Refused => "refused",
            },
            reason: Some(r.reason.as_str()),
            http_status: Some(r.http_status),
            sections_requested: r.sections_requested,
            sections_released: Some(r.sections_released),
            items_released: Some(r.items_released),
            items_withheld: Some(r.items_withheld),
            sources: Some(&r.sources),
        }
    }

    /// An access begun whose outcome was not recorded.
    fn begun(seq: u64, b: &'a icr_audit::AccessBegun) -> Self {
        AccessView {
            seq,
            time: b.time.to_rfc3339(),
            request_id: b.request_id.as_str(),
            interaction: b.interaction,
            user: Some(UserView::of(&b.user)),
            calling_system: b.calling_system.as_deref(),
            purpose: &b.purpose,
            basis: None,
            break_glass_reason: b.break_glass_reason.as_deref(),
            decision: "outcome-not-recorded",
            reason: None,
            http_status: None,
            sections_requested: b.sections_requested,
            sections_released: None,
            items_released: None,
            items_withheld: None,
            sources: None,
        }
    }
}

#[derive(Serialize)]
struct UserView<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    issuer: Option<&'a str>,
    sub: &'a str,
    name: &'a str,
    role: &'a str,
    organisation: &'a icr_model::OdsCode,
}

impl<'a> UserView<'a> {
    fn of(u: &'a icr_audit::User) -> Self {
        UserView {
            issuer: u.issuer.as_deref(),
            sub: &u.sub,
            name: &u.name,
            role: &u.role,
            organisation: &u.org,
        }
    }
}

#[derive(Serialize)]
struct AuditView<'a> {
    nhs_number: NhsNumber,
    accesses: Vec<AccessView<'a>>,
    /// Matching accesses on every page.
    total: u64,
    /// False when older accesses are on later pages or the log failed to
    /// verify.
    complete: bool,
    /// Matching accesses older than this page's.
    omitted: u64,
    /// The next (older) page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<String>,
}

/// Serializes one page of who accessed a person's record, most recent
/// first, with the link to the next page.
pub(crate) fn render_audit(
    read: &crate::pipeline::audit_read::AuditRead,
    next: Option<&str>,
) -> Result<Vec<u8>, serde_json::Error> {
    let accesses = read
        .page
        .records
        .iter()
        .map(|a| match &a.logged {
            icr_audit::Logged::Whole(r) => AccessView::whole(a.seq.get(), r),
            icr_audit::Logged::OutcomeNotRecorded(b) => AccessView::begun(a.seq.get(), b),
        })
        .collect();
    // The file's name and line, not the server's paths.
    let problem = read.page.problem.as_ref().map(|p| {
        let file = p
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        format!("{file}:{}: {}", p.line, p.kind)
    });
    serde_json::to_vec(&AuditView {
        nhs_number: read.nhs_number,
        accesses,
        total: read.page.total,
        complete: read.page.is_complete(),
        omitted: read.page.older,
        next,
        problem,
    })
}

//! The JSON view: `GET /v1/patients/{nhs}/record`. Its schema is
//! `docs/record-view.schema.json`.

use icr_merge::Warning;
use icr_model::NhsNumber;
use icr_policy::{Shown, Withheld};
use serde::ser::{Error as _, SerializeMap as _};
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

use crate::pipeline::Answer;
use crate::pipeline::audit::shown_records;
use crate::views::Rendered;
use crate::{RecordOutcome, SourceReport};

#[derive(Serialize)]
struct RecordView<'a> {
    nhs_number: NhsNumber,
    patient: Option<&'a RawValue>,
    sections: Sections<'a>,
    sources: &'a [SourceReport],
    warnings: Warnings<'a>,
    withheld: &'a Withheld,
}

/// The sections shown, each item written from its JSON written once.
struct Sections<'a> {
    shown: &'a Shown<'a>,
    json: &'a Rendered,
}

impl Serialize for Sections<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (section, items) in self.shown.sections() {
            let written = self.json.items.get(&section).map_or(&[][..], Vec::as_slice);
            let items: Vec<&RawValue> = items
                .indexed()
                .map(|(i, _)| written.get(i).map(AsRef::as_ref))
                .collect::<Option<_>>()
                .ok_or_else(|| S::Error::custom("an item was not written"))?;
            map.serialize_entry(&section, &items)?;
        }
        map.end()
    }
}

/// The merge's warnings the caller may see, then how the record was
/// gathered.
struct Warnings<'a> {
    shown: &'a Shown<'a>,
    gathered: &'a [Warning],
}

impl Serialize for Warnings<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(
            self.shown
                .warnings()
                .chain(self.gathered.iter().filter(|w| self.shown.shows_warning(w))),
        )
    }
}

/// The JSON view as the pipeline renders it before the audit: its body,
/// and every source record shown (the view holds all that is shown).
pub(crate) fn answer(
    outcome: &RecordOutcome,
    shown: &Shown<'_>,
    withheld: &Withheld,
) -> Answer<Result<Vec<u8>, serde_json::Error>> {
    match render(outcome, shown, withheld) {
        Ok(body) => Answer {
            body: Ok(body),
            shown: shown_records(shown),
        },
        Err(e) => Answer {
            body: Err(e),
            shown: icr_audit::ReleasedRecords::NONE,
        },
    }
}

/// Serializes the merged view as the caller may see it, as JSON, with how
/// many items their role may not see were withheld (never what they
/// were). Each item's JSON is written once per merged view and reused.
pub fn render(
    outcome: &RecordOutcome,
    shown: &Shown<'_>,
    withheld: &Withheld,
) -> Result<Vec<u8>, serde_json::Error> {
    let json = outcome.view.json()?;
    let patient = match shown.patient() {
        Some(_) => json.patient.as_deref(),
        None => None,
    };
    let view = RecordView {
        nhs_number: outcome.nhs_number,
        patient,
        sections: Sections { shown, json },
        sources: &outcome.sources,
        warnings: Warnings {
            shown,
            gathered: &outcome.warnings,
        },
        withheld,
    };
    // Sized once for everything written: the items' JSON and about 512
    // bytes a source; a buffer grown by doubling would copy it again.
    let mut out = Vec::with_capacity(json.bytes + 1024 + 512 * outcome.sources.len());
    serde_json::to_writer(&mut out, &view)?;
    Ok(out)
}

/// One access, as the audit endpoint shows it: who, when, from where, why,
/// and what they saw — never the record itself: the ids of the source
/// records they were shown, by source (`shown`). Everything the AuditEvent
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
    /// The source records released, by source (`[]` when none).
    #[serde(skip_serializing_if = "Option::is_none")]
    shown: Option<&'a icr_audit::ReleasedRecords>,
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
            shown: Some(&r.shown),
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
            shown: None,
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
    accesses: Vec<PagedAccess<'a>>,
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
    /// Why accesses other replicas served may be missing (a page from the
    /// shared store, or from this replica's log with the store down).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    incomplete: Vec<String>,
}

/// One access on a page, and the replica whose log holds it when the page
/// is from the shared store (`seq` is then that log's).
#[derive(Serialize)]
struct PagedAccess<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    replica: Option<&'a str>,
    #[serde(flatten)]
    access: AccessView<'a>,
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
        .map(|a| PagedAccess {
            replica: a.replica.as_deref(),
            access: match &a.logged {
                icr_audit::Logged::Whole(r) => AccessView::whole(a.seq.get(), r),
                icr_audit::Logged::OutcomeNotRecorded(b) => AccessView::begun(a.seq.get(), b),
            },
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
        incomplete: read
            .page
            .incomplete
            .iter()
            .map(ToString::to_string)
            .collect(),
    })
}

/// One break-glass access in the privacy officer's list.
#[derive(Serialize)]
struct BreakGlassView<'a> {
    replica: &'a str,
    seq: u64,
    time: String,
    nhs_number: Option<NhsNumber>,
    user_sub: Option<&'a str>,
    user_name: Option<&'a str>,
    organisation: Option<&'a str>,
    role: Option<&'a str>,
    reason: &'a str,
    /// `allowed`, `refused`, or `outcome-not-recorded`.
    decision: &'static str,
    /// The latest review, or `null`: not reviewed yet.
    review: Option<ReviewView<'a>>,
    /// Where to POST a review.
    review_url: String,
}

#[derive(Serialize)]
struct ReviewView<'a> {
    reviewer: &'a str,
    outcome: &'static str,
    note: &'a str,
    reviewed_at: String,
}

/// Serializes one page of the break-glass list, newest first, with the
/// link to the next page.
pub(crate) fn render_break_glass(
    page: &icr_audit_store::StorePage<icr_audit_store::BreakGlassAccess>,
    next: Option<&str>,
) -> Result<Vec<u8>, serde_json::Error> {
    let accesses: Vec<BreakGlassView<'_>> = page
        .items
        .iter()
        .map(|a| BreakGlassView {
            replica: a.access.replica.as_str(),
            seq: a.access.seq.get(),
            time: a.time.to_rfc3339(),
            nhs_number: a.nhs_number,
            user_sub: a.user_sub.as_deref(),
            user_name: a.user_name.as_deref(),
            organisation: a.organisation.as_deref(),
            role: a.role.as_deref(),
            reason: &a.reason,
            decision: match a.allowed {
                Some(true) => "allowed",
                Some(false) => "refused",
                None => "outcome-not-recorded",
            },
            review: a.review.as_ref().map(|r| ReviewView {
                reviewer: &r.reviewer,
                outcome: r.outcome.as_str(),
                note: &r.note,
                reviewed_at: r.reviewed_at.to_rfc3339(),
            }),
            review_url: format!(
                "/v1/audit/break-glass/{}/{}/review",
                a.access.replica, a.access.seq
            ),
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "accesses": accesses,
        "next": next,
    }))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;
    use std::time::Duration;

    use icr_merge::{MergedItem, MergedPatient, MergedRecord, merge_with};
    use icr_model::{OdsCode, Section, SectionSet, SourceRecord};
    use icr_policy::{Caller, Objections, Policy, RoleCode};

    use super::*;
    use crate::outcome::Verdict;
    use crate::views::View;

    /// The view as it was written before items were written once: the
    /// merged record edited by the policy, serialized whole.
    #[derive(Serialize)]
    struct Edited<'a> {
        nhs_number: NhsNumber,
        patient: Option<&'a MergedPatient>,
        sections: &'a BTreeMap<Section, Vec<MergedItem>>,
        sources: &'a [SourceReport],
        warnings: &'a [Warning],
        withheld: &'a Withheld,
    }

    const POLICY: &str = r#"
[classes.clinical]
roles = ["R8000", "R8001"]
sections = ["demographics", "medications", "conditions", "results"]
[classes.admin]
roles = ["R8008"]
sections = ["medications", "results"]
[[relationship.self_declare]]
setting = "Any clinician"
roles = ["R8000", "R8001", "R8008"]
[patient]
sections = ["demographics"]
[sensitive]
cleared_roles = ["R8000"]
"#;

    #[test]
    fn the_view_written_from_items_written_once_is_the_edited_copy_serialized() {
        let policy = Policy::from_toml_str(POLICY, "policy.toml").unwrap();
        let nhs = NhsNumber::parse("9990000018").unwrap();
        let mut records = icr_merge::testdata::records(300, 3);
        // Some items labelled restricted by their source: sensitive.
        for (n, item) in records
            .iter_mut()
            .flat_map(|r| r.items.iter_mut())
            .enumerate()
        {
            item.provenance.restricted = n % 7 == 3;
        }
        let gathered = vec![Warning {
            code: "practice-not-asked",
            message: "the GP practice was not asked".into(),
            sources: Vec::new(),
        }];
        for role in ["R8000", "R8001", "R8008"] {
            let caller = Caller::staff(
                RoleCode::parse(role).unwrap(),
                OdsCode::parse("RN3").unwrap(),
                "directcare",
            )
            .unwrap();
            let allowed = policy
                .before_fetch(&caller, nhs, SectionSet::all(), &Objections::empty())
                .unwrap();
            let sections = allowed.sections();
            let granted = policy.after_fetch(allowed, &[]).unwrap();
            let refs: Vec<&SourceRecord> = records.iter().collect();
            let mut merged = merge_with(&refs, sections, None);
            merged.patient = Some(MergedPatient {
                demographics: Default::default(),
                provenance: Vec::new(),
            });
            merged.warnings.push(Warning {
                code: "demographics-differ",
                message: "Name differs".into(),
                sources: Vec::new(),
            });
            let sensitivity = policy.sensitivity(&merged, sections);
            let answers = records.iter().cloned().map(Arc::new).collect();
            let outcome = RecordOutcome {
                nhs_number: nhs,
                sections,
                view: Arc::new(View::new(answers, merged.clone(), sensitivity)),
                warnings: gathered.clone(),
                sources: Vec::new(),
                verdict: Verdict::Answered,
                waited: Duration::ZERO,
                unanswered: Vec::new(),
            };
            let (shown, withheld) =
                policy.mark(&granted, &outcome.view.merged, &outcome.view.sensitivity);
            let written = render(&outcome, &shown, &withheld).unwrap();

            let mut edited: MergedRecord = merged;
            edited.warnings.extend(gathered.clone());
            let withheld_before = policy.apply(&granted, &mut edited);
            let before = serde_json::to_vec(&Edited {
                nhs_number: nhs,
                patient: edited.patient.as_ref(),
                sections: &edited.sections,
                sources: &[],
                warnings: &edited.warnings,
                withheld: &withheld_before,
            })
            .unwrap();
            assert_eq!(withheld, withheld_before, "{role}");
            assert_eq!(
                String::from_utf8(written).unwrap(),
                String::from_utf8(before).unwrap(),
                "{role}"
            );
            if role == "R8001" {
                assert!(withheld.count > 20, "{withheld:?}");
            }
        }
    }
}

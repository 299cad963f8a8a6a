//! Further pages of a kept record: for the caller who asked for it only,
//! each read audited as an access like the first page.

use std::sync::Arc;
use std::time::Instant;

use http::StatusCode;
use icr_audit::{AuditRecord, Decision, Interaction, Timestamp};
use icr_model::NhsNumber;

use crate::Gateway;
use crate::fhir;
use crate::fhir_pages::{Group, Owner, Paged, shown_by};
use crate::headers::HeaderError;
use crate::outcome::{Stop, Why};
use crate::pipeline::audit::Draft;
use crate::respond::{Resp, fhir_bytes, stop_fhir, with_request_id};

use super::everything::render_failed;
use super::links::{page_at, page_url};

/// A request for a page of a kept record.
pub(crate) struct PageRead<'a> {
    pub(crate) authorization: Result<Option<&'a str>, HeaderError>,
    pub(crate) calling_system: Option<&'a str>,
    pub(crate) nhs: &'a str,
    pub(crate) base: &'a str,
}

/// A page of a kept record: for the caller who asked for the record only,
/// audited as an access like the first page (refusals too).
pub(crate) async fn page(gw: &Gateway, read: PageRead<'_>, query: &[(String, String)]) -> Resp {
    let request_id = uuid::Uuid::new_v4().to_string();
    let mut draft = Draft::new(&request_id, Interaction::FhirEverything);
    draft.record.nhs_number = NhsNumber::parse(read.nhs).ok();
    draft.record.calling_system = read.calling_system.map(str::to_owned);
    let authorization = match read.authorization {
        Ok(a) => a,
        Err(e) => return stop_fhir(&gw.audit_stop(draft, e.stop(request_id)).await),
    };
    let identity = match gw.authenticate(authorization) {
        Ok(i) => i,
        Err(e) => {
            let stop = Stop::unauthenticated(request_id, &e);
            return stop_fhir(&gw.audit_stop(draft, stop).await);
        }
    };
    let user = crate::pipeline::audit::user(&identity);
    draft.record.user = Some(user.clone());
    draft.record.purpose = identity.purpose.clone();
    let at = page_at(query);
    let token = at.token;
    let (kept, offset) = match kept_pages(
        gw,
        &identity,
        &read,
        draft.record.nhs_number,
        token,
        at.offset,
    ) {
        Ok(k) => k,
        Err((why, message)) => {
            let stop = Stop::new(request_id, why, message);
            return stop_fhir(&gw.audit_stop(draft, stop).await);
        }
    };
    let count = at.count;
    let end = offset.saturating_add(count).min(kept.groups.len());
    let groups: &[Group] = &kept.groups[offset..end];
    let self_url = page_url(read.base, read.nhs, token, offset, count);
    let next = (end < kept.groups.len()).then(|| page_url(read.base, read.nhs, token, end, count));
    let outcomes: &[Box<serde_json::value::RawValue>] =
        if offset == 0 { &kept.outcomes } else { &[] };
    let body = match fhir::page_bundle(
        read.nhs,
        kept.groups.len() as u64,
        outcomes,
        groups,
        &self_url,
        next.as_deref(),
    ) {
        Ok(b) => b,
        Err(_) => return render_failed(),
    };
    let record = AuditRecord {
        time: Timestamp::now(),
        request_id: draft.record.request_id,
        user: Some(user),
        calling_system: draft.record.calling_system,
        sources: Vec::new(),
        items_released: u32::try_from(groups.len()).unwrap_or(u32::MAX),
        items_withheld: 0,
        shown: shown_by(groups),
        decision: Decision::Allowed,
        http_status: 200,
        ..kept.released.clone()
    };
    if let Err(stop) = gw.audit_release(&record, &request_id).await {
        return stop_fhir(&stop);
    }
    with_request_id(fhir_bytes(StatusCode::OK, body), &request_id)
}

/// Why a page may not be read, and what it means.
pub(crate) type PageRefusal = (Why, String);

/// The kept record a page read names, and the page's first match, when
/// this caller may read it.
pub(crate) fn kept_pages(
    gw: &Gateway,
    identity: &icr_auth::Identity,
    read: &PageRead<'_>,
    nhs: Option<NhsNumber>,
    token: &str,
    offset: Option<usize>,
) -> Result<(Arc<Paged>, usize), PageRefusal> {
    let kept = gw
        .fhir_state()
        .pages
        .get(token, Instant::now())
        .ok_or_else(|| {
            (
                Why::Gone("PAGES_EXPIRED"),
                "these pages are no longer kept (they are kept for five minutes) or never were: \
                 ask for the record again ($everything) and follow its next links"
                    .to_owned(),
            )
        })?;
    let caller = Owner {
        issuer: identity.issuer.clone(),
        sub: identity.sub.clone(),
        role: identity.role.clone(),
        org: identity.org.to_string(),
        calling_system: read.calling_system.map(str::to_owned),
    };
    if caller != kept.owner {
        return Err((
            Why::Forbidden("NOT_YOUR_PAGES"),
            "these pages belong to another caller's request: ask for the record yourself".into(),
        ));
    }
    if nhs != Some(kept.nhs) {
        return Err((
            Why::Invalid {
                error: "invalid_parameter",
                code: "WRONG_PATIENT".into(),
            },
            "these pages are of another person's record: follow the next link as given".into(),
        ));
    }
    let offset = offset.filter(|o| *o <= kept.groups.len()).ok_or_else(|| {
        (
            Why::Invalid {
                error: "invalid_parameter",
                code: "INVALID_OFFSET".into(),
            },
            format!(
                "_offset must be a whole number from 0 to {}",
                kept.groups.len()
            ),
        )
    })?;
    Ok((kept, offset))
}

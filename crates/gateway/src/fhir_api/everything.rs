//! `$everything`: the record through the whole access pipeline, rendered
//! as a Bundle, its further pages kept for the caller.

use std::time::Instant;

use http::header::CONTENT_TYPE;
use http::{Method, Request, StatusCode};
use hyper::body::Incoming;
use icr_audit::{AuditRecord, Interaction};
use icr_model::SectionSet;
use icr_policy::{Shown, Withheld};

use crate::Gateway;
use crate::RecordOutcome;
use crate::fhir;
use crate::fhir_pages::{Owner, PageStore, Paged, bytes_of, shown_by};
use crate::headers::{self, HeaderError};
use crate::pipeline::{Answer, RecordRequest};
use crate::request::{calling_system, no_cache, prefer_wait, query_pairs};
use crate::respond::{Resp, fhir_bytes, fhir_response, outcome, stop_fhir, with_request_id};

use super::links::{base_url, first_url, page_url};
use super::pages::{PageRead, page};
use super::parameters::{asked, body_parameters};
use super::{DEFAULT_PAGE, header};

/// `$everything` (GET or POST): a page of a kept record when the query
/// names one, else the record, through the whole access pipeline.
pub(crate) async fn everything(gw: &Gateway, req: Request<Incoming>, nhs: &str) -> Resp {
    let started = std::time::Instant::now();
    let query = query_pairs(req.uri().query());
    // Owned: a POST's body is read (consuming the request) before the
    // pipeline runs.
    let authorization: Result<Option<String>, HeaderError> =
        headers::authorization(req.headers()).map(|a| a.map(str::to_owned));
    let system = calling_system(&req).map(str::to_owned);
    let Some(base) = base_url(gw.fhir_state().tls, &req) else {
        return outcome(
            StatusCode::BAD_REQUEST,
            "invalid",
            "NO_HOST",
            "the request names no usable host (Host)",
        );
    };
    if query.iter().any(|(k, _)| k == "_page_token") {
        let read = PageRead {
            authorization: authorization.as_ref().map(Option::as_deref).map_err(|e| *e),
            calling_system: system.as_deref(),
            nhs,
            base: &base,
        };
        return page(gw, read, &query).await;
    }
    let glass: Result<Option<String>, HeaderError> =
        headers::break_glass_reason(req.headers()).map(|g| g.map(std::borrow::Cow::into_owned));
    let wait = prefer_wait(&req);
    let refresh = no_cache(&req);
    let mut pairs = query;
    if req.method() == Method::POST {
        let content_type = header(&req, CONTENT_TYPE).map(str::to_owned);
        match body_parameters(content_type.as_deref(), req.into_body()).await {
            Ok(more) => pairs.extend(more),
            Err(resp) => return resp,
        }
    }
    let asked = asked(&pairs);
    let types = asked.as_ref().ok().and_then(|a| a.types.clone());
    let count = asked
        .as_ref()
        .ok()
        .and_then(|a| a.count)
        .unwrap_or(DEFAULT_PAGE);
    let sections = asked
        .map_err(|e| (e.family(), e.to_string()))
        .and_then(|a| match &a.types {
            None => Ok(SectionSet::all()),
            Some(list) => fhir::sections_for_types(list).map_err(|m| ("not_supported", m)),
        });
    let request = RecordRequest {
        interaction: Interaction::FhirEverything,
        authorization: authorization.as_ref().map(Option::as_deref).map_err(|e| *e),
        break_glass: glass
            .as_ref()
            .map(|g| g.as_deref().map(std::borrow::Cow::Borrowed))
            .map_err(|e| *e),
        calling_system: system.as_deref(),
        wait,
        nhs,
        refresh,
        sections,
    };
    let pages = &gw.fhir_state().pages;
    // Answer before the audit, so that it lists the source records of
    // the first page only: each further page's read lists its own.
    let render = |outcome: &RecordOutcome, shown: &Shown<'_>, withheld: &Withheld| {
        // A record not shown (no source answered in time) holds none.
        let rendered = (outcome.verdict.status().as_u16() < 400)
            .then(|| fhir::render_record(outcome, shown, types.as_deref(), withheld).ok())
            .flatten();
        match rendered {
            Some(rendered) => {
                let first = first_page(&rendered, count, pages);
                Answer {
                    shown: shown_by(&rendered.groups[..first.len]),
                    body: Some((rendered, first)),
                }
            }
            None => Answer {
                body: None,
                shown: icr_audit::ReleasedRecords::NONE,
            },
        }
    };
    let released = match gw.access_record(request, render).await {
        Ok(r) => r,
        Err(stop) => return stop_fhir(&stop),
    };
    gw.measure_added(started, released.outcome.waited);
    let code = released.outcome.verdict.status();
    if code.as_u16() >= 400 {
        return with_request_id(
            fhir_response(code, fhir::record_not_shown(&released.outcome)),
            &released.request_id,
        );
    }
    let Some((rendered, first)) = released.body else {
        return render_failed();
    };
    let total = rendered.groups.len() as u64;
    let self_url = first_url(&base, nhs, types.as_deref(), count);
    let body = if !first.kept {
        // One page: all of it, or (`_count=0`) the total alone.
        fhir::page_bundle(
            nhs,
            total,
            &rendered.outcomes,
            &rendered.groups[..first.len],
            &self_url,
            None,
        )
    } else {
        let paged = Paged {
            owner: owner_of(&released.audited, system.as_deref()),
            nhs: released.outcome.nhs_number,
            released: released.audited.clone(),
            outcomes: rendered.outcomes,
            groups: rendered.groups,
        };
        match pages.insert(paged, Instant::now()) {
            Ok((token, kept)) => fhir::page_bundle(
                nhs,
                total,
                &kept.outcomes,
                &kept.groups[..first.len],
                &self_url,
                Some(&page_url(&base, nhs, &token, count, count)),
            ),
            // Never: the store said it would keep it (`first_page`).
            Err(_) => return render_failed(),
        }
    };
    match body {
        Ok(b) => with_request_id(fhir_bytes(code, b), &released.request_id),
        Err(_) => render_failed(),
    }
}

/// What the first page of a rendered record holds: its first `len`
/// matches, the rest `kept` for the next links.
struct FirstPage {
    len: usize,
    kept: bool,
}

/// The first page of `rendered` at `count` matches a page: none
/// (`_count=0`: the total alone); all, when they fit on a page or the
/// record is too large to keep (all on this one page, rather than any of
/// it lost); else `count`, the rest kept.
fn first_page(rendered: &fhir::RenderedRecord, count: usize, pages: &PageStore) -> FirstPage {
    let all = rendered.groups.len();
    let (len, kept) = if count == 0 {
        (0, false)
    } else if all <= count || !pages.keeps(bytes_of(&rendered.outcomes, &rendered.groups)) {
        (all, false)
    } else {
        (count, true)
    };
    FirstPage { len, kept }
}

pub(crate) fn render_failed() -> Resp {
    fhir_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        fhir::outcome_error("exception", "the Bundle could not be rendered"),
    )
}

/// Who asked, as the release's audit record names them.
pub(crate) fn owner_of(released: &AuditRecord, calling_system: Option<&str>) -> Owner {
    let user = released.user.as_ref();
    Owner {
        issuer: user.and_then(|u| u.issuer.clone()).unwrap_or_default(),
        sub: user.map(|u| u.sub.clone()).unwrap_or_default(),
        role: user.map(|u| u.role.clone()).unwrap_or_default(),
        org: user.map(|u| u.org.to_string()).unwrap_or_default(),
        calling_system: calling_system.map(str::to_owned),
    }
}

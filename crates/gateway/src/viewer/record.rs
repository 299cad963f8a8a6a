//! The pages about a person: home and the find-person form, the record's
//! tabs, break-glass, and who looked. Each record page is one record
//! access through the pipeline with the session's ID token (interaction
//! `viewer`): verified, decided, fetched, merged, filtered, audited.

use std::borrow::Cow;

use http::{Method, Request, StatusCode};
use hyper::body::Incoming;
use icr_audit::Interaction;
use icr_model::{NhsNumber, SectionSet};
use icr_policy::RefusalCode;
use icr_sign_in::Session;
use icr_viewer::{RecordView, SourceLine};

use super::pages::{self, chrome_of};
use super::sign_in::{csrf_ok, form};
use super::{Viewer, html, redirect, session};
use crate::outcome::{Stop, Why};
use crate::pipeline::audit::shown_records;
use crate::pipeline::{Answer, RecordRequest};
use crate::request::query_pairs;
use crate::respond::{Resp, shed};
use crate::{Gateway, listener};

/// `GET /`: signed out, the sign-in page; a patient, their own record;
/// anyone else, the find-person page.
pub(super) fn home(viewer: &Viewer, req: &Request<Incoming>) -> Resp {
    match session(viewer, req) {
        None => html(StatusCode::OK, pages::sign_in(None)),
        Some((_, s)) => match s.user.nhs_number {
            Some(own) => redirect(&format!("/patients/{}", own.as_str())),
            None => html(StatusCode::OK, pages::find(&chrome_of(Some(&s)), "", None)),
        },
    }
}

/// `GET /find?nhs=…`: the number as typed (spaces and hyphens allowed),
/// checked; a valid one goes to the person's record.
pub(super) fn find(viewer: &Viewer, req: &Request<Incoming>) -> Resp {
    let Some((_, s)) = session(viewer, req) else {
        return redirect("/");
    };
    let params = query_pairs(req.uri().query());
    let typed = params
        .iter()
        .find(|(k, _)| k == "nhs")
        .map_or("", |(_, v)| v.as_str());
    match typed_nhs(typed) {
        Ok(n) => redirect(&format!("/patients/{}", n.as_str())),
        Err(problem) => html(
            StatusCode::BAD_REQUEST,
            pages::find(&chrome_of(Some(&s)), typed, Some(&problem)),
        ),
    }
}

/// An NHS number as people type it: spaces and hyphens between digits.
fn typed_nhs(typed: &str) -> Result<NhsNumber, String> {
    let digits: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if digits.is_empty() {
        return Err("Enter the person's NHS number".into());
    }
    if digits.len() != 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("An NHS number is 10 digits, like 999 000 0050".into());
    }
    NhsNumber::parse(&digits).map_err(|_| {
        "This is not a valid NHS number: its last digit (the check digit) does not match. Check it and type it again".into()
    })
}

/// `/patients/{nhs}` and below.
pub(super) async fn patient(
    gw: &Gateway,
    viewer: &Viewer,
    req: Request<Incoming>,
    nhs: &str,
    rest: &[&str],
) -> Resp {
    let Some((id, s)) = session(viewer, &req) else {
        return redirect("/");
    };
    let Some(permit) = gw.admit() else {
        return shed();
    };
    let post = req.method() == Method::POST;
    let resp = match (post, rest) {
        (true, ["break-glass"]) => {
            let Ok(fields) = form(req).await else {
                return pages::error(StatusCode::BAD_REQUEST, "The form could not be read.");
            };
            if !csrf_ok(&s, &fields) {
                return pages::expired_form();
            }
            let reason = fields
                .iter()
                .find(|(k, _)| k == "reason")
                .map_or("", |(_, v)| v.as_str());
            let (resp, allowed) = record(gw, viewer, &s, nhs, Some(reason), None).await;
            if allowed && let Ok(n) = NhsNumber::parse(nhs) {
                viewer.sessions.break_glass(&id, n, reason);
            }
            resp
        }
        (false, ["who-looked"]) => who_looked(gw, &s, nhs).await,
        (false, tab) => {
            let reason = NhsNumber::parse(nhs)
                .ok()
                .and_then(|n| s.break_glass(n).map(str::to_owned));
            let tab = tab.first().copied();
            match tab {
                None => record(gw, viewer, &s, nhs, reason.as_deref(), tab).await.0,
                Some(_) => record(gw, viewer, &s, nhs, reason.as_deref(), tab).await.0,
            }
        }
        _ => pages::error(StatusCode::METHOD_NOT_ALLOWED, "That is not a form here."),
    };
    listener::hold_until_sent(resp, permit)
}

/// One record page: the access, then the page (or why not). True when the
/// record was released.
async fn record(
    gw: &Gateway,
    viewer: &Viewer,
    s: &Session,
    nhs: &str,
    break_glass: Option<&str>,
    _tab: Option<&str>,
) -> (Resp, bool) {
    let bearer = format!("Bearer {}", s.token);
    let chrome = chrome_of(Some(s));
    let today = time::OffsetDateTime::now_utc().date();
    let request = RecordRequest {
        interaction: Interaction::Viewer,
        authorization: Ok(Some(&bearer)),
        break_glass: Ok(break_glass.map(Cow::Borrowed)),
        calling_system: None,
        wait: None,
        nhs,
        refresh: false,
        sections: Ok(SectionSet::all()),
    };
    let released = gw
        .access_record(request, |outcome, shown, withheld| {
            let record = shown.to_record();
            let lines: Vec<SourceLine<'_>> = outcome
                .sources
                .iter()
                .map(|r| SourceLine {
                    organisation: &r.organisation,
                    ods_code: &r.ods_code,
                    status: r.status,
                    fetched_at: r.fetched_at,
                    cached: r.cached,
                    issues: &r.issues,
                })
                .collect();
            let gathered: Vec<_> = outcome
                .warnings
                .iter()
                .filter(|w| shown.shows_warning(w))
                .cloned()
                .collect();
            let body = icr_viewer::record_page(&RecordView {
                nhs_number: outcome.nhs_number,
                record: &record,
                sources: &lines,
                withheld,
                gathered: &gathered,
                today,
                chrome,
            });
            Answer {
                body,
                shown: shown_records(shown),
            }
        })
        .await;
    match released {
        Ok(r) if r.outcome.verdict == crate::Verdict::NotFound => (
            html(
                StatusCode::NOT_FOUND,
                pages::not_found_person(&chrome, r.outcome.nhs_number),
            ),
            true,
        ),
        Ok(r) => (html(r.outcome.verdict.status(), r.body), true),
        Err(stop) => (stopped(viewer, s, nhs, gw, &stop, break_glass), false),
    }
}

/// The page for an access that released nothing.
fn stopped(
    viewer: &Viewer,
    s: &Session,
    nhs: &str,
    gw: &Gateway,
    stop: &Stop,
    reason: Option<&str>,
) -> Resp {
    let chrome = chrome_of(Some(s));
    match &stop.why {
        Why::Unauthenticated { .. } => {
            // The token has expired (or its issuer is no longer trusted):
            // the session is over.
            let _ = viewer;
            html(
                StatusCode::UNAUTHORIZED,
                pages::sign_in(Some("Your session has ended. Sign in again.")),
            )
        }
        Why::Invalid { .. } => html(
            StatusCode::BAD_REQUEST,
            pages::find(&chrome, nhs, typed_nhs(nhs).err().as_deref()),
        ),
        Why::Refused(code) => {
            let may_break_glass = icr_policy::RoleCode::parse(&s.user.role)
                .ok()
                .and_then(|r| gw.access().policy.class_of(&r).map(|c| c.break_glass))
                .unwrap_or(false);
            let offer = matches!(
                code,
                RefusalCode::NoRelationship | RefusalCode::BreakGlassReasonInvalid
            ) && may_break_glass;
            html(
                stop.status(),
                pages::refusal(&chrome, nhs, *code, offer, reason, &stop.message),
            )
        }
        _ => pages::error(stop.status(), &stop.message),
    }
}

/// `GET /patients/{nhs}/who-looked`: the accesses to the record, for the
/// person themselves (and privacy officers); an audit read, audited.
async fn who_looked(gw: &Gateway, s: &Session, nhs: &str) -> Resp {
    let chrome = chrome_of(Some(s));
    let reader = match gw.access().audit.reader() {
        Ok(r) => r,
        Err(_) => {
            return pages::error(
                StatusCode::SERVICE_UNAVAILABLE,
                "The record of who looked cannot be read now. Try again in a minute.",
            );
        }
    };
    let bearer = format!("Bearer {}", s.token);
    let ask = crate::pipeline::audit_read::AuditAsk {
        authorization: Ok(Some(&bearer)),
        calling_system: None,
        patient: Some(nhs),
        query: crate::audit_api::audit_query(&[], gw.shared_audit().is_some()),
        reader,
    };
    match gw.access_audit(ask).await {
        Ok(read) => html(StatusCode::OK, pages::who_looked(&chrome, &read)),
        Err(stop) => pages::error(stop.status(), &stop.message),
    }
}

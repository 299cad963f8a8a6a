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
use icr_viewer::{FindProblem, FindView, RecordTab, RecordView, SourceLine, typed_nhs_number};

use super::pages::{self, chrome_of};
use super::sign_in::{csrf_ok, form};
use super::{Viewer, html, redirect, session};
use crate::outcome::{Stop, Why};
use crate::pipeline::audit::shown_records;
use crate::pipeline::{Answer, RecordRequest};
use crate::request::{param, query_pairs};
use crate::respond::{Resp, shed};
use crate::{Gateway, listener};

/// `GET /`: signed out, the sign-in page; a patient, their own record;
/// anyone else, the find-person page.
pub(super) fn home(viewer: &Viewer, req: &Request<Incoming>) -> Resp {
    match session(viewer, req) {
        None => html(StatusCode::OK, pages::sign_in(None, viewer.demo.is_some())),
        Some((_, s)) => match s.user.nhs_number {
            Some(own) => redirect(&format!("/patients/{}", own.as_str())),
            None => html(
                StatusCode::OK,
                icr_viewer::find_page(
                    &chrome_of(Some(&s)),
                    &FindView {
                        typed: "",
                        problem: None,
                    },
                ),
            ),
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
    let typed = param(&params, "nhs").unwrap_or("");
    match typed_nhs_number(typed) {
        Ok(n) => redirect(&format!("/patients/{}", n.as_str())),
        Err(problem) => find_again(&chrome_of(Some(&s)), typed, problem),
    }
}

/// The find page again, with what was typed and its problem (its status
/// the problem's: 404 for nobody found, else 400).
fn find_again(chrome: &icr_viewer::Chrome<'_>, typed: &str, problem: FindProblem) -> Resp {
    let code = StatusCode::from_u16(problem.status()).unwrap_or(StatusCode::BAD_REQUEST);
    html(
        code,
        icr_viewer::find_page(
            chrome,
            &FindView {
                typed,
                problem: Some(problem),
            },
        ),
    )
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
    let post = req.method() == Method::POST;
    let query = req.uri().query().map(str::to_owned);
    // The form is read before a permit is taken: a slow sender holds none.
    let fields = match (post, rest) {
        (true, ["break-glass"]) => match form(req).await {
            Ok(f) => Some(f),
            Err(()) => {
                return pages::error(StatusCode::BAD_REQUEST, "The form could not be read.");
            }
        },
        _ => None,
    };
    let Some(permit) = gw.admit() else {
        return shed();
    };
    let resp = match (post, rest, fields) {
        (true, ["break-glass"], Some(fields)) => {
            if !csrf_ok(&s, &fields) {
                return pages::expired_form();
            }
            let reason = param(&fields, "reason").unwrap_or("");
            let (resp, allowed) =
                record(gw, viewer, &id, &s, nhs, Some(reason), &RecordTab::Summary).await;
            if allowed && let Ok(n) = NhsNumber::parse(nhs) {
                viewer.sessions.break_glass(&id, n, reason);
            }
            resp
        }
        (false, ["who-looked"], _) => who_looked(gw, &s, nhs, query.as_deref()).await,
        (false, [] | [_], _) => {
            let Some(tab) = RecordTab::parse(rest.first().copied(), query.as_deref()) else {
                return pages::not_found(&chrome_of(Some(&s)));
            };
            let reason = NhsNumber::parse(nhs)
                .ok()
                .and_then(|n| s.break_glass(n).map(str::to_owned));
            record(gw, viewer, &id, &s, nhs, reason.as_deref(), &tab)
                .await
                .0
        }
        (false, _, _) => pages::not_found(&chrome_of(Some(&s))),
        _ => pages::error(StatusCode::METHOD_NOT_ALLOWED, "That is not a form here."),
    };
    listener::hold_until_sent(resp, permit)
}

/// One record page: the access, then the page (or why not). True when the
/// record was released.
async fn record(
    gw: &Gateway,
    viewer: &Viewer,
    id: &str,
    s: &Session,
    nhs: &str,
    break_glass: Option<&str>,
    tab: &RecordTab,
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
            let body = icr_viewer::record_page(
                &RecordView {
                    nhs_number: outcome.nhs_number,
                    record: &record,
                    sources: &lines,
                    withheld,
                    gathered: &gathered,
                    today,
                    chrome,
                },
                tab,
            );
            Answer {
                body,
                shown: shown_records(shown),
            }
        })
        .await;
    match released {
        Ok(r) if r.outcome.verdict == crate::Verdict::NotFound => (
            find_again(
                &chrome,
                r.outcome.nhs_number.as_str(),
                FindProblem::NotFound(r.outcome.nhs_number),
            ),
            true,
        ),
        Ok(r) => (html(r.outcome.verdict.status(), r.body), true),
        Err(stop) => (stopped(viewer, id, s, nhs, gw, &stop, break_glass), false),
    }
}

/// The page for an access that released nothing.
fn stopped(
    viewer: &Viewer,
    id: &str,
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
            viewer.sessions.end(id);
            html(
                StatusCode::UNAUTHORIZED,
                pages::sign_in(
                    Some("Your session has ended. Sign in again."),
                    viewer.demo.is_some(),
                ),
            )
        }
        Why::Invalid { .. } => match typed_nhs_number(nhs) {
            Err(problem) => find_again(&chrome, nhs, problem),
            Ok(_) => pages::error(stop.status(), &stop.message),
        },
        Why::Refused(code) => {
            let Ok(nhs_number) = NhsNumber::parse(nhs) else {
                return pages::error(stop.status(), &stop.message);
            };
            let access = gw.access();
            let policy = &access.policy;
            let may_break_glass = icr_policy::RoleCode::parse(&s.user.role)
                .ok()
                .and_then(|r| policy.class_of(&r).map(|c| c.break_glass))
                .unwrap_or(false);
            let rules = policy.break_glass_rules();
            let typed = reason.unwrap_or("");
            let problem = match code {
                RefusalCode::BreakGlassReasonInvalid => rules.judge(typed).err(),
                _ => None,
            };
            let form = may_break_glass.then_some(icr_viewer::BreakGlassForm {
                typed,
                problem: problem.as_ref(),
                rules,
            });
            html(
                stop.status(),
                icr_viewer::refusal_page(
                    &chrome,
                    &icr_viewer::RefusalView {
                        nhs_number,
                        code: *code,
                        break_glass: form,
                    },
                ),
            )
        }
        _ => pages::error(stop.status(), &stop.message),
    }
}

/// `GET /patients/{nhs}/who-looked`: the accesses to the record, for the
/// person themselves (and privacy officers); an audit read, audited.
async fn who_looked(gw: &Gateway, s: &Session, nhs: &str, query: Option<&str>) -> Resp {
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
        // The page asked for (`before`, from the older accesses' link).
        query: crate::audit_api::audit_query(&query_pairs(query), gw.shared_audit().is_some()),
        reader,
    };
    match gw.access_audit(ask).await {
        Ok(read) => {
            let state = gw.state();
            let names = |ods: &icr_model::OdsCode| {
                state
                    .sources
                    .iter()
                    .find(|src| &src.spec.ods_code == ods)
                    .map(|src| src.spec.organisation.clone())
            };
            let own = s.user.nhs_number == Some(read.nhs_number);
            let older = crate::audit_api::next_page(
                &format!("/patients/{}/who-looked", read.nhs_number.as_str()),
                &read,
                gw.shared_audit().is_some(),
            );
            html(
                StatusCode::OK,
                pages::who_looked(&chrome, own, &read, names, older.as_deref()),
            )
        }
        Err(stop) => pages::error(stop.status(), &stop.message),
    }
}

//! Signing in and out: `/sign-in` sends the browser to the provider,
//! `/callback` ends the code flow and begins a session, `/launch` is a
//! SMART EHR launch (sign-in with the EPR's `launch`, ending on the
//! patient in context), `/sign-out` ends the session.

use http::{Method, Request, StatusCode};
use hyper::body::Incoming;
use icr_sign_in::{Session, User};

use super::{Viewer, cookie, html, now, pages, redirect, session, with_cookie};
use crate::Gateway;
use crate::request::{bounded_body, param};
use crate::respond::Resp;

/// `GET /sign-in`: to the provider (PKCE, state and nonce kept here).
pub(super) async fn begin(viewer: &Viewer, launch: Option<&str>) -> Resp {
    match viewer.rp.begin(launch, now()).await {
        Ok(url) => redirect(url.as_str()),
        Err(e) => pages::sign_in_failed(&e.to_string()),
    }
}

/// `GET /launch?iss=…&launch=…`: an EPR opens the viewer on its patient.
/// `iss` must be this gateway's FHIR base: a launch naming another server
/// is refused (SMART App Launch: the app checks `iss`).
pub(super) async fn launch(viewer: &Viewer, params: Vec<(String, String)>) -> Resp {
    let get = |k: &str| param(&params, k);
    match (get("iss"), get("launch")) {
        (Some(iss), Some(launch)) if iss.trim_end_matches('/') == viewer.fhir_base() => {
            begin(viewer, Some(launch)).await
        }
        (Some(_), Some(_)) => pages::error(
            StatusCode::BAD_REQUEST,
            "This launch names another server (iss). The viewer opens only records served here.",
        ),
        _ => pages::error(
            StatusCode::BAD_REQUEST,
            "A launch needs the parameters iss and launch.",
        ),
    }
}

/// `GET /callback?code=…&state=…`: the code exchanged, the ID token
/// verified by the provider's keys and nonce, then as every API token is
/// (issuer trusted, audience, lifetime, claims); a session begins. The
/// answer is a page that moves on by itself, so that the browser sends the
/// new `SameSite=Strict` cookie on a same-site navigation.
pub(super) async fn callback(gw: &Gateway, viewer: &Viewer, params: Vec<(String, String)>) -> Resp {
    let get = |k: &str| param(&params, k);
    if let Some(error) = get("error") {
        // Only an error code as OAuth defines them is repeated (letters
        // and underscores); any other text in the address is not shown.
        let code = Some(error)
            .filter(|e| {
                (1..=40).contains(&e.len())
                    && e.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            })
            .unwrap_or("an error");
        return pages::sign_in_failed(&format!("the identity provider answered {code}"));
    }
    let (Some(code), Some(state)) = (get("code"), get("state")) else {
        return pages::sign_in_failed("the identity provider's answer had no code");
    };
    // RFC 9207: a provider that names itself on the way back must be ours
    // (a code from another provider is never exchanged with this one).
    if get("iss").is_some_and(|iss| !viewer.rp.is_issuer(iss)) {
        return pages::sign_in_failed("the answer came from another identity provider");
    }
    let now = now();
    let signed = match viewer.rp.finish(code, state, now).await {
        Ok(s) => s,
        Err(e) => return pages::sign_in_failed(&e.to_string()),
    };
    let identity = match gw.access().verifier.verify(&signed.id_token, now) {
        Ok(i) => i,
        Err(e) => return pages::sign_in_failed(&format!("the ID token is not accepted: {e}")),
    };
    let user = User {
        name: identity.name.clone(),
        role: identity.role.clone(),
        org: identity.org.to_string(),
        nhs_number: identity.nhs_number,
    };
    let session = Session::new(signed.id_token, user, identity.expires_at, now);
    let id = match viewer.sessions.begin(session, now) {
        Ok(id) => id,
        Err(e) => return pages::sign_in_failed(&e.to_string()),
    };
    // Where to go: the launched patient (a valid NHS number only), else home.
    let next = signed
        .patient
        .as_deref()
        .and_then(|p| icr_model::NhsNumber::parse(p).ok())
        .map_or_else(|| "/".to_owned(), |n| format!("/patients/{}", n.as_str()));
    tracing::info!(user = %identity.sub, "viewer sign-in");
    with_cookie(
        html(StatusCode::OK, pages::moving_on(&next)),
        &icr_sign_in::set_cookie(&id),
    )
}

/// `POST /sign-out` (its CSRF token checked): the session ends, its cookie
/// is removed.
pub(super) async fn sign_out(viewer: &Viewer, req: Request<Incoming>) -> Resp {
    if req.method() != Method::POST {
        return pages::error(StatusCode::METHOD_NOT_ALLOWED, "Sign out with the button.");
    }
    let current = session(viewer, &req);
    let idp_cookie = cookie(&req, icr_sign_in::DEMO_IDP_COOKIE).map(str::to_owned);
    let Ok(form) = form(req).await else {
        return pages::error(StatusCode::BAD_REQUEST, "The form could not be read.");
    };
    if let Some((id, s)) = current {
        if !csrf_ok(&s, &form) {
            return pages::expired_form();
        }
        viewer.sessions.end(&id);
    }
    let mut out = with_cookie(
        html(StatusCode::OK, icr_viewer::signed_out_page()),
        &icr_sign_in::clear_cookie(),
    );
    // The demo's provider forgets the browser too, so that the next
    // sign-in may pick someone else (a real provider has its own sign-out).
    if let (Some(idp), Some(remembered)) = (&viewer.demo, idp_cookie) {
        idp.forget(&remembered);
        out = with_cookie(
            out,
            &format!(
                "{}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0",
                icr_sign_in::DEMO_IDP_COOKIE
            ),
        );
    }
    out
}

/// A form's fields (`application/x-www-form-urlencoded`), at most 16 KiB
/// within 10 s.
pub(super) async fn form(req: Request<Incoming>) -> Result<Vec<(String, String)>, ()> {
    let body = bounded_body(
        req.into_body(),
        16 * 1024,
        std::time::Duration::from_secs(10),
    )
    .await
    .map_err(|_| ())?;
    Ok(url::form_urlencoded::parse(&body).into_owned().collect())
}

/// Whether the form carries the session's CSRF token.
pub(super) fn csrf_ok(s: &Session, form: &[(String, String)]) -> bool {
    param(form, "csrf").is_some_and(|v| s.csrf_matches(v))
}

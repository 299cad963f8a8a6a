//! The demo's identity provider at `/demo-idp/` (only with `[viewer.oidc]
//! demo = true`): the picker, the token endpoint, its keys, and a pretend
//! EPR that launches the viewer in context.

use http::{Method, Request, StatusCode};
use hyper::body::Incoming;
use icr_sign_in::{DEMO_IDP_COOKIE, DemoIdp};
use icr_viewer::{Chrome, escape, page};

use super::sign_in::form;
use super::{Viewer, cookie, html, now, pages, redirect, with_cookie};
use crate::request::{param, query_pairs};
use crate::respond::{Resp, json};

pub(super) async fn route(viewer: &Viewer, req: Request<Incoming>, rest: &[&str]) -> Resp {
    let Some(idp) = &viewer.demo else {
        return pages::error(
            StatusCode::NOT_FOUND,
            "There is no demonstration sign-in here.",
        );
    };
    let method = req.method().clone();
    match (method, rest) {
        (Method::GET, ["authorize"]) => {
            let params = query_pairs(req.uri().query());
            let request = match idp.authorize(&params) {
                Ok(r) => r,
                Err(e) => return pages::error(StatusCode::BAD_REQUEST, &e.to_string()),
            };
            // Single sign-on: a browser that picked someone already is
            // not asked again (until the viewer's sign-out forgets it).
            let now = now();
            let known = cookie(&req, DEMO_IDP_COOKIE).and_then(|id| idp.remembered(id, now));
            match known.map(|user| idp.grant(request.clone(), user, now)) {
                Some(Ok(url)) => redirect(url.as_str()),
                Some(Err(e)) => pages::error(StatusCode::BAD_REQUEST, &e.to_string()),
                None => html(StatusCode::OK, picker(idp, &request.hidden(), None)),
            }
        }
        (Method::POST, ["authorize"]) => {
            let Ok(fields) = form(req).await else {
                return pages::error(StatusCode::BAD_REQUEST, "The form could not be read.");
            };
            let request = match idp.authorize(&fields) {
                Ok(r) => r,
                Err(e) => return pages::error(StatusCode::BAD_REQUEST, &e.to_string()),
            };
            let user = param(&fields, "user");
            let now = now();
            match idp.grant(request.clone(), user.unwrap_or(""), now) {
                Ok(url) => match idp.remember(user.unwrap_or(""), now) {
                    // Path=/: the viewer's /sign-out must receive it to make
                    // the provider forget (a browser sends a cookie only
                    // under its path); at /demo-idp the next person to sign
                    // in on this browser became the last one, unasked.
                    Some(id) => with_cookie(
                        redirect(url.as_str()),
                        &format!("{DEMO_IDP_COOKIE}={id}; Path=/; Secure; HttpOnly; SameSite=Lax"),
                    ),
                    None => redirect(url.as_str()),
                },
                Err(e) => html(
                    StatusCode::BAD_REQUEST,
                    picker(idp, &request.hidden(), Some(&e.to_string())),
                ),
            }
        }
        (Method::POST, ["token"]) => {
            let Ok(fields) = form(req).await else {
                return json(
                    StatusCode::BAD_REQUEST,
                    br#"{"error":"invalid_request"}"#.to_vec(),
                );
            };
            match idp.token(&fields, now()) {
                Ok(body) => json(StatusCode::OK, body.into_bytes()),
                Err(icr_sign_in::IdpError::InvalidGrant) => {
                    json(StatusCode::BAD_REQUEST, br#"{"error":"invalid_grant"}"#.to_vec())
                }
                Err(e) => json(
                    StatusCode::BAD_REQUEST,
                    serde_json::json!({"error": "invalid_request", "error_description": e.to_string()})
                        .to_string()
                        .into_bytes(),
                ),
            }
        }
        (Method::GET, ["jwks"]) => match idp.jwks() {
            Ok(body) => json(StatusCode::OK, body.into_bytes()),
            Err(e) => pages::error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
        },
        (Method::GET, ["epr"]) => {
            let params = query_pairs(req.uri().query());
            match param(&params, "nhs") {
                Some(nhs) => match icr_model::NhsNumber::parse(&nhs.replace(' ', "")) {
                    Ok(n) => {
                        let launch = idp.launch(n.as_str(), now());
                        let to = url::form_urlencoded::Serializer::new(String::new())
                            .append_pair("iss", &viewer.fhir_base())
                            .append_pair("launch", &launch)
                            .finish();
                        redirect(&format!("/launch?{to}"))
                    }
                    Err(e) => html(StatusCode::BAD_REQUEST, epr(Some(&e.to_string()))),
                },
                None => html(StatusCode::OK, epr(None)),
            }
        }
        _ => pages::error(
            StatusCode::NOT_FOUND,
            "No such page of the demonstration sign-in.",
        ),
    }
}

/// The picker: who to sign in as, the request's parameters carried along.
fn picker(idp: &DemoIdp, hidden: &[(&str, &str)], problem: Option<&str>) -> String {
    let users: Vec<icr_viewer::DemoUser<'_>> = idp
        .users()
        .iter()
        .map(|u| icr_viewer::DemoUser {
            id: u.id,
            name: u.name,
            role: u.role_words,
            organisation: u.org_name,
            ods: u.org,
        })
        .collect();
    icr_viewer::demo_idp_page(&icr_viewer::DemoIdpView {
        users: &users,
        hidden,
        problem,
    })
}

/// The pretend EPR: open a person's record in the viewer, in context.
fn epr(problem: Option<&str>) -> String {
    let mut main = String::from(
        "<h1>Demonstration EPR</h1><p>An electronic patient record system opening the Integrated Care Record on its patient (SMART App Launch, EHR launch).</p><form method=\"get\" action=\"/demo-idp/epr\" novalidate><div class=\"nhsuk-form-group\"><label class=\"nhsuk-label\" for=\"epr-nhs\">NHS number of the patient in front of you</label>",
    );
    if let Some(p) = problem {
        main.push_str(&format!(
            "<span class=\"nhsuk-error-message\" id=\"epr-nhs-error\"><span class=\"nhsuk-u-visually-hidden\">Error:</span> {}</span>",
            escape(p)
        ));
    }
    main.push_str("<input class=\"nhsuk-input nhsuk-input--width-10\" id=\"epr-nhs\" name=\"nhs\" type=\"text\" inputmode=\"numeric\" autocomplete=\"off\" value=\"999 000 0050\"></div><button class=\"nhsuk-button\" id=\"epr-open\" type=\"submit\">Open in the ICR</button></form>");
    page("Demonstration EPR", &Chrome::default(), &main)
}

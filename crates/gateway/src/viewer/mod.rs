//! The browser viewer's HTTP face (`[viewer]`): sign-in through the
//! OpenID provider, sessions and their CSRF tokens (`icr_sign_in`), the
//! pages (`icr_viewer`, pure), and — for the demo only — the identity
//! provider inside the gateway. A page that shows a record is a record
//! access through the same pipeline as an API call, with the session's ID
//! token as its bearer credential: verified, decided, audited
//! (interaction `viewer`) alike.

mod demo;
mod pages;
mod record;
mod sign_in;

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, SET_COOKIE};
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use icr_sign_in::Session;

use crate::Gateway;
use crate::request::query_pairs;
use crate::respond::Resp;
pub(crate) use crate::viewer_state::Viewer;

/// Whether the path's first segment is the viewer's.
pub(crate) fn owns(first: &str) -> bool {
    matches!(
        first,
        "" | "sign-in"
            | "callback"
            | "sign-out"
            | "find"
            | "patients"
            | "launch"
            | "assets"
            | "demo-idp"
    )
}

/// Routes one viewer request (404 when no viewer is configured).
pub(crate) async fn route(
    gw: &Gateway,
    req: Request<Incoming>,
    segments: &[&str],
) -> (&'static str, Resp) {
    let Some(viewer) = gw.viewer() else {
        return (
            "unknown",
            crate::respond::problem(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such route; see the API description in docs/openapi.yaml",
            ),
        );
    };
    let query = query_pairs(req.uri().query());
    match segments {
        ["assets", ..] => ("viewer-asset", asset(req.uri().path(), accepts_gzip(&req))),
        ["demo-idp", rest @ ..] => ("viewer-demo-idp", demo::route(viewer, req, rest).await),
        ["sign-in"] => ("viewer-sign-in", sign_in::begin(viewer, None).await),
        ["launch"] => ("viewer-launch", sign_in::launch(viewer, query).await),
        ["callback"] => (
            "viewer-callback",
            sign_in::callback(gw, viewer, query).await,
        ),
        ["sign-out"] => ("viewer-sign-out", sign_in::sign_out(viewer, req).await),
        [""] => ("viewer-home", record::home(viewer, &req)),
        ["find"] => ("viewer-find", record::find(viewer, &req)),
        ["patients", nhs, rest @ ..] => (
            "viewer-record",
            record::patient(gw, viewer, req, nhs, rest).await,
        ),
        _ => ("viewer-unknown", pages::not_found_page(viewer, &req)),
    }
}

/// Now, in Unix seconds.
fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The value of the request's cookie `name`, if it sent one.
fn cookie<'r, B>(req: &'r Request<B>, name: &str) -> Option<&'r str> {
    let header = req.headers().get(http::header::COOKIE)?.to_str().ok()?;
    icr_sign_in::cookie_value(header, name)
}

/// The session the request's cookie names, if it is live: its id and
/// what it holds.
fn session<B>(viewer: &Viewer, req: &Request<B>) -> Option<(String, Session)> {
    let id = cookie(req, icr_sign_in::COOKIE)?;
    let s = viewer.sessions.get(id, now())?;
    Some((id.to_owned(), s))
}

/// The Content-Security-Policy of every page: nothing but this origin's
/// own files; no inline script or style; forms post only here; never
/// framed.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A page: HTML, never stored, never framed, never sniffed, and the NHS
/// number in its address never sent on as a referrer.
fn html(code: StatusCode, body: String) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = code;
    let h = r.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("content-security-policy", HeaderValue::from_static(CSP));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    r
}

/// `303 See Other` to `location` (a path here, or the provider's URL).
fn redirect(location: &str) -> Resp {
    let mut r = html(StatusCode::SEE_OTHER, String::new());
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(LOCATION, v);
    }
    r
}

fn with_cookie(mut r: Resp, cookie: &str) -> Resp {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        r.headers_mut().append(SET_COOKIE, v);
    }
    r
}

/// Whether the request accepts a gzip-encoded answer.
fn accepts_gzip<B>(req: &Request<B>) -> bool {
    req.headers()
        .get_all(http::header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or("");
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

/// The text assets (stylesheet, scripts, icons) gzip-compressed, once, at
/// the first request for any: most of a first visit's weight is the
/// design system's stylesheet.
fn gzipped(path: &str) -> Option<&'static [u8]> {
    static GZIPPED: std::sync::OnceLock<Vec<(&'static str, Vec<u8>)>> = std::sync::OnceLock::new();
    let all = GZIPPED.get_or_init(|| {
        icr_viewer::ASSETS
            .iter()
            .filter(|a| a.content_type.starts_with("text/") || a.content_type == "image/svg+xml")
            .filter_map(|a| {
                use std::io::Write as _;
                let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
                z.write_all(a.bytes).ok()?;
                let packed = z.finish().ok()?;
                (packed.len() < a.bytes.len()).then_some((a.path, packed))
            })
            .collect()
    });
    all.iter()
        .find(|(p, _)| *p == path)
        .map(|(_, b)| b.as_slice())
}

/// A static file: cached for a day (they change only with a release),
/// gzip-compressed for a browser that accepts it.
fn asset(path: &str, gzip: bool) -> Resp {
    match icr_viewer::asset(path) {
        Some(a) => {
            let packed = if gzip { gzipped(a.path) } else { None };
            let mut r = Response::new(Full::new(Bytes::from_static(packed.unwrap_or(a.bytes))));
            let h = r.headers_mut();
            if packed.is_some() {
                h.insert(
                    http::header::CONTENT_ENCODING,
                    HeaderValue::from_static("gzip"),
                );
            }
            h.insert(
                http::header::VARY,
                HeaderValue::from_static("Accept-Encoding"),
            );
            h.insert(CONTENT_TYPE, HeaderValue::from_static(a.content_type));
            h.insert(
                CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            );
            h.insert(
                "x-content-type-options",
                HeaderValue::from_static("nosniff"),
            );
            r
        }
        None => html(
            StatusCode::NOT_FOUND,
            icr_viewer::page(
                "Page not found",
                &icr_viewer::Chrome::default(),
                "<h1>Page not found</h1>",
            ),
        ),
    }
}

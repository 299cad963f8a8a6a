//! The bodies of the fuzzing entry points ([`crate::fuzz_parameters`],
//! [`crate::fuzz_headers`], [`crate::fuzz_page_link`]): the gateway's
//! parsers of what a caller sends, run with no I/O, and the properties
//! every input must keep. A broken property panics, for the fuzzer.

use http::header::{AUTHORIZATION, HeaderName, HeaderValue};
use http::{Method, Request};

use crate::fhir::sections_for_types;
use crate::fhir_api::{
    Asked, BodyRefusal, DEFAULT_PAGE, MAX_PAGE, PageAt, accepts_json, asked, base_url, body_pairs,
    first_url, page_at, page_url,
};
use crate::headers::{self, HeaderError};
use crate::request::{prefer_wait, query_pairs};

/// The base URL of the links written where the input names none.
const BASE: &str = "http://127.0.0.1:8080/fhir/r4";

/// A synthetic NHS number for the links written.
const NHS: &str = "9990000018";

/// The bytes up to the first newline, and the rest.
fn first_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

/// Pairs as a query string (`application/x-www-form-urlencoded`).
fn form(pairs: &[(String, String)]) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        q.append_pair(k, v);
    }
    q.finish()
}

/// Pairs as a Parameters resource, each value a `valueString`.
fn parameters_resource(pairs: &[(String, String)]) -> Vec<u8> {
    let parameter: Vec<serde_json::Value> = pairs
        .iter()
        .map(|(k, v)| serde_json::json!({"name": k, "valueString": v}))
        .collect();
    serde_json::json!({"resourceType": "Parameters", "parameter": parameter})
        .to_string()
        .into_bytes()
}

/// What the gateway asks the pipeline for, given `$everything`'s
/// parameters: the types, the page size, the sections (or the refusal).
fn request_of(pairs: &[(String, String)]) -> Result<(Asked, Result<String, String>), String> {
    let a = asked(pairs).map_err(|e| format!("{}: {e}", e.family()))?;
    let sections = match &a.types {
        None => Ok("all".to_owned()),
        Some(types) => sections_for_types(types).map(|s| format!("{s:?}")),
    };
    Ok((a, sections))
}

/// Any bytes as a `$everything` POST: the first line is the
/// `Content-Type`, the rest the body. A body read is the same request as
/// the equivalent GET (its parameters as a query) and as the equivalent
/// Parameters resource; the `self` link written for it reads back to the
/// same types and page size.
pub(crate) fn parameters(data: &[u8]) {
    let (content_type, body) = first_line(data);
    let content_type = std::str::from_utf8(content_type).ok();
    let pairs = match body_pairs(content_type, body) {
        Ok(p) => p,
        Err(BodyRefusal::MediaType | BodyRefusal::Invalid(_)) => return,
    };
    let query = form(&pairs);
    let by_get = query_pairs(Some(&query));
    assert_eq!(
        by_get, pairs,
        "the equivalent GET reads the same parameters"
    );
    let request = request_of(&pairs);
    assert_eq!(request_of(&by_get), request, "GET and POST ask alike");
    if pairs.len() <= 100 {
        let resource = parameters_resource(&pairs);
        let read = body_pairs(Some("application/fhir+json"), &resource);
        assert_eq!(read, Ok(pairs.clone()), "as a Parameters resource");
    }
    let Ok((a, _)) = request else {
        return;
    };
    let count = a.count.unwrap_or(DEFAULT_PAGE);
    assert!(count <= MAX_PAGE);
    let link = first_url(BASE, NHS, a.types.as_deref(), count);
    let url = url::Url::parse(&link).expect("the self link is a URL");
    let back = asked(&query_pairs(url.query())).expect("the self link is read");
    assert_eq!(back.types, a.types, "the self link's _type");
    assert_eq!(back.count, Some(count), "the self link's _count");
}

/// Any bytes as a request's target (the first line) and header lines
/// (`name: value`). `Authorization` and the break-glass reason are read
/// once or refused as duplicates; `Accept`/`_format`, `Host`/
/// `X-Forwarded-Proto` and `Prefer` are read within their bounds; a page
/// link written on the base URL the request names reads back to where it
/// points.
pub(crate) fn headers(data: &[u8]) {
    let (target, rest) = first_line(data);
    let target = String::from_utf8_lossy(target);
    let mut req = Request::builder()
        .method(Method::GET)
        .uri(&*target)
        .body(())
        .unwrap_or_else(|_| Request::new(()));
    for line in rest.split(|b| *b == b'\n') {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.trim_ascii()),
            HeaderValue::from_bytes(value),
        ) {
            req.headers_mut().append(name, value);
        }
    }
    let h = req.headers();
    let sent = |name: &str| h.get_all(name).iter().count();
    match headers::authorization(h) {
        Err(e) => assert_eq!(e, HeaderError::Duplicate("Authorization")),
        Ok(None) => assert_eq!(sent(AUTHORIZATION.as_str()), 0),
        Ok(Some(v)) => {
            assert_eq!(sent(AUTHORIZATION.as_str()), 1);
            let value = &h[AUTHORIZATION];
            assert_eq!(v, value.to_str().unwrap_or("\u{0}"));
        }
    }
    let (plain, ext) = (sent("x-break-glass-reason"), sent("x-break-glass-reason*"));
    match headers::break_glass_reason(h) {
        Err(HeaderError::Duplicate(name)) => {
            assert!(plain > 1 || ext > 1);
            assert_eq!(
                name,
                if plain > 1 {
                    "X-Break-Glass-Reason"
                } else {
                    "X-Break-Glass-Reason*"
                }
            );
        }
        Err(HeaderError::BreakGlass { header, .. }) => {
            assert!(plain <= 1 && ext <= 1);
            assert_eq!(
                header,
                if ext == 1 {
                    "X-Break-Glass-Reason*"
                } else {
                    "X-Break-Glass-Reason"
                }
            );
        }
        Ok(reason) => {
            assert!(plain <= 1 && ext <= 1);
            assert_eq!(reason.is_some(), plain + ext > 0);
        }
    }
    if let Err(refused) = accepts_json(&req) {
        let message = refused.to_string();
        assert!(message.chars().count() <= 200, "a bounded message");
    }
    if let Some(wait) = prefer_wait(&req) {
        assert!(!wait.is_zero() && wait.as_secs() <= 3_600);
    }
    for tls in [false, true] {
        if let Some(base) = base_url(tls, &req) {
            page_link_reads_back(&base, &target, 3, 7);
        }
    }
}

/// Any bytes as a page read's query (through [`page_at`]); and, as a page
/// token with an offset and a page size taken from the bytes, the `next`
/// link the gateway writes, which must read back to the same position.
pub(crate) fn page_link(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let query = query_pairs(Some(&text));
    let at = page_at(&query);
    assert!((1..=MAX_PAGE).contains(&at.count));
    let (head, token) = data.split_at(data.len().min(4));
    let mut n = [0u8; 4];
    n[..head.len()].copy_from_slice(head);
    let offset = usize::from(u16::from_le_bytes([n[0], n[1]]));
    let count = usize::from(u16::from_le_bytes([n[2], n[3]])) % MAX_PAGE + 1;
    page_link_reads_back(BASE, &String::from_utf8_lossy(token), offset, count);
}

/// The page link written on `base` for `token`, `offset` and `count` is a
/// URL of the `$everything` route whose query reads back to them.
fn page_link_reads_back(base: &str, token: &str, offset: usize, count: usize) {
    let link = page_url(base, NHS, token, offset, count);
    let url = url::Url::parse(&link).expect("a page link is a URL");
    assert!(
        url.path()
            .ends_with(&format!("/fhir/r4/Patient/{NHS}/$everything")),
        "{link}"
    );
    let query = query_pairs(url.query());
    assert_eq!(
        page_at(&query),
        PageAt {
            token,
            offset: Some(offset),
            count
        },
        "{link}"
    );
}

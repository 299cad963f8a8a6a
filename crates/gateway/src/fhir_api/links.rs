//! The links a Bundle carries: the base URL the caller reached the
//! gateway by, the `self` link of a first page, and `next` links that
//! read back to their position.

use http::Request;
use http::header::HOST;

use super::{DEFAULT_PAGE, MAX_PAGE, header};

/// The FHIR base URL the caller reached the gateway by, for the links it
/// is given: the scheme of the request (HTTP/2), else `X-Forwarded-Proto`
/// from a TLS-terminating proxy, else the listener's; the host of the
/// request. `None` when the request names no usable host: none, one too
/// long, or one that is not a URL's host (and port).
pub(crate) fn base_url<B>(tls: bool, req: &Request<B>) -> Option<String> {
    let forwarded = header(
        req,
        http::header::HeaderName::from_static("x-forwarded-proto"),
    )
    .map(|p| {
        p.split(',')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    })
    .filter(|p| p == "http" || p == "https");
    let scheme = req
        .uri()
        .scheme_str()
        .map(str::to_owned)
        .or(forwarded)
        .unwrap_or_else(|| if tls { "https" } else { "http" }.to_owned());
    let host = req
        .uri()
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| header(req, HOST).map(str::to_owned))?;
    let fits = !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b));
    let base = format!("{scheme}://{host}/fhir/r4");
    // The links are written on it: it must be a URL a client can follow
    // (a host and at most a port), not merely made of harmless bytes.
    let follows = url::Url::parse(&base)
        .is_ok_and(|u| u.host().is_some() && u.username().is_empty() && u.password().is_none());
    (fits && follows).then_some(base)
}

pub(crate) fn everything_url(base: &str, nhs: &str) -> String {
    format!("{base}/Patient/{nhs}/$everything")
}

/// The `self` link of a first page: what was understood.
pub(crate) fn first_url(base: &str, nhs: &str, types: Option<&[String]>, count: usize) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    if let Some(t) = types {
        q.append_pair("_type", &t.join(","));
    }
    q.append_pair("_count", &count.to_string());
    format!("{}?{}", everything_url(base, nhs), q.finish())
}

/// The link to the page of a kept record from `offset`: read back by
/// [`page_at`]. (The gateway's tokens are hex; the token is encoded all
/// the same, so that any token reads back as written.)
pub(crate) fn page_url(base: &str, nhs: &str, token: &str, offset: usize, count: usize) -> String {
    let q = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("_page_token", token)
        .append_pair("_offset", &offset.to_string())
        .append_pair("_count", &count.to_string())
        .finish();
    format!("{}?{q}", everything_url(base, nhs))
}

/// Where a page read asks to start, as its query says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PageAt<'a> {
    /// `_page_token`: the kept record's token (empty when absent).
    pub token: &'a str,
    /// `_offset`: the first match, when a whole number (checked against
    /// the record once it is found).
    pub offset: Option<usize>,
    /// `_count`: matches per page, 1 to [`MAX_PAGE`] ([`DEFAULT_PAGE`]
    /// when absent or unreadable).
    pub count: usize,
}

/// Reads a page read's query: the first of each parameter counts. Pure.
pub(crate) fn page_at(query: &[(String, String)]) -> PageAt<'_> {
    let q = |k: &str| {
        query
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    PageAt {
        token: q("_page_token").unwrap_or_default(),
        offset: q("_offset").and_then(|o| o.parse::<usize>().ok()),
        count: q("_count")
            .and_then(|c| c.parse::<usize>().ok())
            .unwrap_or(DEFAULT_PAGE)
            .clamp(1, MAX_PAGE),
    }
}

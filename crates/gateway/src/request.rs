//! What the HTTP edge reads from a request besides the access headers
//! ([`crate::headers`]): its query pairs, `Prefer: wait`, a refresh
//! (`Cache-Control: no-cache`), and the calling system the listener
//! verified from its TLS client certificate.

use std::time::Duration;

use http::Request;
use hyper::body::Incoming;

use crate::listener::CallingSystem;

/// Query parameters, with repeated keys kept.
pub(crate) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The first value of `key` among query or form `pairs`.
pub(crate) fn param<'p>(pairs: &'p [(String, String)], key: &str) -> Option<&'p str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// `Prefer: wait=N` (seconds, as FHIR servers read it; fractions allowed):
/// the caller would rather have a partial answer within N seconds.
/// Anything unreadable is ignored, as `Prefer` is only a preference.
pub(crate) fn prefer_wait<B>(req: &Request<B>) -> Option<Duration> {
    req.headers()
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([',', ';']))
        .filter_map(|p| p.trim().strip_prefix("wait="))
        .filter_map(|n| n.trim().parse::<f64>().ok())
        .find(|n| n.is_finite() && *n > 0.0)
        .map(|n| Duration::from_secs_f64(n.min(3_600.0)))
}

/// `Cache-Control: no-cache` (or `no-store`, or `max-age=0`): the caller
/// wants every source asked now — a clinician's explicit refresh.
pub(crate) fn no_cache<B>(req: &Request<B>) -> bool {
    req.headers()
        .get_all("cache-control")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|d| d.trim().to_ascii_lowercase())
        .any(|d| d == "no-cache" || d == "no-store" || d == "max-age=0")
}

/// The calling system, from its verified TLS client certificate.
pub(crate) fn calling_system<B>(req: &Request<B>) -> Option<&str> {
    req.extensions().get::<CallingSystem>().map(|c| &*c.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refresh_is_no_cache_no_store_or_max_age_zero_in_any_cache_control_header() {
        let with = |values: &[&str]| {
            let mut r = Request::builder();
            for v in values {
                r = r.header("cache-control", *v);
            }
            no_cache(&r.body(()).unwrap())
        };
        assert!(with(&["no-cache"]));
        assert!(with(&["max-stale=5, No-Cache"]));
        assert!(with(&["no-store"]));
        assert!(with(&["private", "max-age=0"]));
        assert!(!with(&[]));
        assert!(!with(&["max-age=60"]));
        assert!(!with(&["no-cache-please"]));
    }
}

/// Why a request body was not read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// It is over the bound, or was cut short.
    TooLarge,
    /// It did not arrive in time.
    Timeout,
}

/// A request body read whole, at most `max` bytes within `time`.
pub(crate) async fn bounded_body(
    body: Incoming,
    max: usize,
    time: Duration,
) -> Result<bytes::Bytes, BodyError> {
    use http_body_util::BodyExt as _;
    match tokio::time::timeout(time, http_body_util::Limited::new(body, max).collect()).await {
        Ok(Ok(b)) => Ok(b.to_bytes()),
        Ok(Err(_)) => Err(BodyError::TooLarge),
        Err(_) => Err(BodyError::Timeout),
    }
}

//! Content negotiation: the FHIR face answers JSON only (`_format`
//! wins over `Accept`; `406` otherwise).

use http::Request;
use http::header::ACCEPT;

use crate::request::query_pairs;

/// JSON media types a FHIR client may ask for.
pub(crate) fn is_json(media: &str) -> bool {
    matches!(
        media,
        "json" | "application/json" | "application/fhir+json" | "application/json+fhir"
    )
}

/// Whether the caller accepts JSON, by its `_format` and `Accept`.
pub(crate) fn accepts_json<B>(req: &Request<B>) -> Result<(), String> {
    let format = query_pairs(req.uri().query())
        .into_iter()
        .find(|(k, _)| k == "_format")
        .map(|(_, v)| v);
    let accept: Vec<&str> = req
        .headers()
        .get_all(ACCEPT)
        .iter()
        .map(|v| v.to_str().unwrap_or("\u{0}"))
        .collect();
    negotiate(format.as_deref(), &accept)
}

/// Whether JSON may be answered: `_format` wins over `Accept`; a media
/// range with `q=0` is refused; no `Accept` accepts anything.
pub(crate) fn negotiate(format: Option<&str>, accept: &[&str]) -> Result<(), String> {
    if let Some(f) = format {
        let media = f
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        return if is_json(&media) {
            Ok(())
        } else {
            let shown: String = f.chars().take(60).collect();
            Err(format!(
                "_format {shown:?} is not served: only JSON (application/fhir+json)"
            ))
        };
    }
    let mut ranges = accept
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .peekable();
    if ranges.peek().is_none() {
        return Ok(());
    }
    let mut asked = Vec::new();
    for range in ranges {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let refused = parts.any(|p| {
            p.trim()
                .strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        if !refused && (media == "*/*" || media == "application/*" || is_json(&media)) {
            return Ok(());
        }
        asked.push(media);
    }
    let shown: String = asked.join(", ").chars().take(120).collect();
    Err(format!(
        "Accept {shown} is not served: only JSON (application/fhir+json)"
    ))
}

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

/// Why a request cannot be answered: it accepts no JSON (`406`). The
/// message quotes what was asked, bounded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum NotAcceptable {
    /// `_format` names no JSON media type: its first 60 characters.
    #[error("_format {0:?} is not served: only JSON (application/fhir+json)")]
    Format(String),
    /// No `Accept` range admits JSON: the media types asked, joined, their
    /// first 120 characters.
    #[error("Accept {0} is not served: only JSON (application/fhir+json)")]
    Accept(String),
}

/// Whether the caller accepts JSON, by its `_format` and `Accept`.
pub(crate) fn accepts_json<B>(req: &Request<B>) -> Result<(), NotAcceptable> {
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
pub(crate) fn negotiate(format: Option<&str>, accept: &[&str]) -> Result<(), NotAcceptable> {
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
            Err(NotAcceptable::Format(f.chars().take(60).collect()))
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
    Err(NotAcceptable::Accept(
        asked.join(", ").chars().take(120).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_say_what_was_asked_bounded() {
        assert_eq!(
            negotiate(Some("application/fhir+xml; q=1"), &["*/*"]),
            Err(NotAcceptable::Format("application/fhir+xml; q=1".into()))
        );
        assert_eq!(
            negotiate(Some("application/fhir+xml; q=1"), &[])
                .unwrap_err()
                .to_string(),
            r#"_format "application/fhir+xml; q=1" is not served: only JSON (application/fhir+json)"#
        );
        let long = "x".repeat(100);
        assert_eq!(
            negotiate(Some(&long), &[]),
            Err(NotAcceptable::Format("x".repeat(60)))
        );
        assert_eq!(
            negotiate(None, &["Text/HTML, application/json;q=0", "image/png"]),
            Err(NotAcceptable::Accept(
                "text/html, application/json, image/png".into()
            ))
        );
        assert_eq!(
            negotiate(None, &["text/html"]).unwrap_err().to_string(),
            "Accept text/html is not served: only JSON (application/fhir+json)"
        );
        let many = vec!["text/plain"; 20];
        assert_eq!(
            negotiate(None, &many),
            Err(NotAcceptable::Accept(
                many.join(", ").chars().take(120).collect()
            ))
        );
    }
}

//! The edges of a request, end to end over HTTP: the bearer scheme in any
//! case and the 401 challenge as RFC 6750 writes it, a header sent twice,
//! break-glass reasons in any language (raw UTF-8 or RFC 8187), and NHS
//! numbers that are never issued.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::*;
use reqwest::header::HeaderValue;

/// One source, gwh (RN3), holding the person's penicillin allergy.
fn gwh() -> Vec<(icr_adapter_sdk::SourceSpec, Script)> {
    let m = meta("gwh");
    vec![(
        spec("gwh", "demographics,allergies", 1000, 0),
        Script::Answer(
            record(&m, vec![("AllergyIntolerance/1", penicillin())]),
            Duration::ZERO,
        ),
    )]
}

fn record_url(base: &str) -> String {
    format!("{base}/v1/patients/9990000018/record")
}

fn everything_url(base: &str) -> String {
    format!("{base}/fhir/r4/Patient/9990000018/$everything")
}

/// Sends `method url` with exactly these headers (repeats kept, values as
/// raw bytes); returns the status, the headers and the body as JSON.
async fn send(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    headers: &[(&str, &[u8])],
) -> (u16, reqwest::header::HeaderMap, serde_json::Value) {
    let mut request = client.request(method, url);
    for (name, value) in headers {
        request = request.header(*name, HeaderValue::from_bytes(value).unwrap());
    }
    answer(request.send().await.unwrap()).await
}

async fn get_headers(
    url: &str,
    headers: &[(&str, &[u8])],
) -> (u16, reqwest::header::HeaderMap, serde_json::Value) {
    send(&reqwest::Client::new(), reqwest::Method::GET, url, headers).await
}

/// Headers as sent: name and raw value bytes.
type Headers<'a> = Vec<(&'a str, &'a [u8])>;

fn bearer(token: &str) -> Vec<u8> {
    format!("Bearer {token}").into_bytes()
}

/// Every audit record about the test person, oldest first.
async fn audit_entries(dir: &std::path::Path) -> Vec<icr_audit::AuditRecord> {
    // Every outcome written first: a completion being written is a torn
    // last line to the verifier.
    let records = common::audited(dir, &nhs(), 1000).await;
    icr_audit::verify(&icr_audit::log_files(dir).unwrap()).unwrap();
    records
}

/// The diagnostics of an OperationOutcome's first issue.
fn diagnostics(outcome: &serde_json::Value) -> &str {
    outcome["issue"][0]["diagnostics"].as_str().unwrap_or("")
}

#[tokio::test]
async fn the_bearer_scheme_name_is_accepted_in_any_case() {
    let s = start_with(2000, gwh(), Setup::default()).await;
    let token = token("R8000", "RN3");
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let value = format!("{scheme} {token}");
        let (status, _, body) =
            get_headers(&record_url(&s.base), &[("authorization", value.as_bytes())]).await;
        assert_eq!(status, 200, "{scheme}: {body}");
    }
}

#[tokio::test]
async fn a_401_without_a_token_carries_no_error_code_and_a_bad_token_says_invalid_token() {
    let s = start_with(2000, gwh(), Setup::default()).await;
    let no_error = "Bearer realm=\"icr-gateway\"";
    let audit = format!("{}/v1/audit?patient=9990000018", s.base);
    let sources = format!("{}/v1/sources", s.base);
    for url in [
        record_url(&s.base),
        everything_url(&s.base),
        audit.clone(),
        sources.clone(),
    ] {
        // No credentials, or credentials of a scheme not supported: the
        // client may not know authentication is needed (RFC 6750 §3.1).
        for headers in [vec![], vec![("authorization", &b"Basic dXNlcjpwYXNz"[..])]] {
            let (status, h, _) = get_headers(&url, &headers).await;
            assert_eq!(status, 401, "{url}");
            assert_eq!(h["www-authenticate"], no_error, "{url}");
        }
        let (status, h, _) = get_headers(&url, &[("authorization", b"Bearer not.a.jwt")]).await;
        assert_eq!(status, 401, "{url}");
        assert_eq!(
            h["www-authenticate"],
            "Bearer realm=\"icr-gateway\", error=\"invalid_token\", error_description=\"malformed_token\"",
            "{url}"
        );
    }
    let (_, _, body) = get_headers(&record_url(&s.base), &[]).await;
    assert_eq!(body["reason"], "missing_token");
    assert_eq!(s.calls[0].load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn two_authorization_headers_are_refused_before_authentication_on_every_route() {
    let s = start_with(2000, gwh(), Setup::default()).await;
    let clinician = bearer(&token("R8000", "RN3"));
    let officer = bearer(&token("R0001", "X26"));
    let operator = bearer(&token("R8015", "X26"));
    let audit = format!("{}/v1/audit?patient=9990000018", s.base);
    let audit_events = format!("{}/fhir/r4/AuditEvent?patient=9990000018", s.base);
    let sources = format!("{}/v1/sources", s.base);
    let purge = format!("{}/v1/cache/patients/9990000018", s.base);
    let record = record_url(&s.base);
    let everything = everything_url(&s.base);
    // Each pair would be let in were the first (or the last) to win.
    let routes: Vec<(reqwest::Method, &str, &[u8], bool)> = vec![
        (reqwest::Method::GET, &record, &clinician, false),
        (reqwest::Method::GET, &everything, &clinician, true),
        (reqwest::Method::GET, &audit, &officer, false),
        (reqwest::Method::GET, &audit_events, &officer, true),
        (reqwest::Method::GET, &sources, &operator, false),
        (reqwest::Method::DELETE, &purge, &operator, false),
    ];
    let http1 = reqwest::Client::new();
    let http2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    for client in [&http1, &http2] {
        for (method, url, token, fhir) in &routes {
            let garbage = b"Bearer not.a.jwt";
            for pair in [[*token, *token], [*token, &garbage[..]]] {
                let (status, _, body) = send(
                    client,
                    method.clone(),
                    url,
                    &[("authorization", pair[0]), ("authorization", pair[1])],
                )
                .await;
                assert_eq!(status, 400, "{method} {url}: {body}");
                let message = if *fhir {
                    assert_eq!(body["resourceType"], "OperationOutcome", "{body}");
                    assert_eq!(body["issue"][0]["code"], "invalid", "{body}");
                    diagnostics(&body).to_string()
                } else {
                    assert_eq!(body["error"], "duplicate_header", "{body}");
                    body["message"].as_str().unwrap_or("").to_string()
                };
                assert_eq!(
                    message, "the request has more than one Authorization header; send exactly one",
                    "{method} {url}"
                );
            }
        }
    }
    assert_eq!(s.calls[0].load(Ordering::SeqCst), 0, "no source asked");
    // The record and audit routes audit their refusals: before
    // authentication, so no user; 4 routes x 2 pairs x 2 protocols.
    let entries = audit_entries(&s.audit_dir).await;
    assert_eq!(entries.len(), 16);
    for e in &entries {
        assert_eq!(e.reason.as_str(), "duplicate-header");
        assert_eq!(e.http_status, 400);
        assert_eq!(e.decision, icr_audit::Decision::Refused);
        assert!(e.user.is_none());
    }
    // One header is served as ever.
    let (status, _, _) = get_headers(&record, &[("authorization", &clinician[..])]).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn two_break_glass_reasons_are_refused_before_authentication() {
    let s = start_with(2000, gwh(), Setup::default()).await;
    let stranger = bearer(&token("R8000", "RD1"));
    let other = "Another reason, given twice over in this request";
    for name in ["x-break-glass-reason", "x-break-glass-reason*"] {
        let (first, second) = if name.ends_with('*') {
            (
                format!("UTF-8''{}", pct(GLASS)),
                format!("UTF-8''{}", pct(other)),
            )
        } else {
            (GLASS.to_string(), other.to_string())
        };
        let headers = [
            ("authorization", &stranger[..]),
            (name, first.as_bytes()),
            (name, second.as_bytes()),
        ];
        let (status, _, body) = get_headers(&record_url(&s.base), &headers).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"], "duplicate_header");
        let shown = if name.ends_with('*') {
            "X-Break-Glass-Reason*"
        } else {
            "X-Break-Glass-Reason"
        };
        assert_eq!(
            body["message"],
            format!("the request has more than one {shown} header; send exactly one")
        );
        let (status, _, outcome) = get_headers(&everything_url(&s.base), &headers).await;
        assert_eq!(status, 400, "{outcome}");
        assert_eq!(outcome["resourceType"], "OperationOutcome");
    }
    assert_eq!(s.calls[0].load(Ordering::SeqCst), 0, "no source asked");
    let entries = audit_entries(&s.audit_dir).await;
    assert_eq!(entries.len(), 4);
    assert!(
        entries
            .iter()
            .all(|e| e.reason.as_str() == "duplicate-header" && e.http_status == 400)
    );
}

/// `text` as an RFC 8187 value-chars: attr-chars as they are, every other
/// byte of its UTF-8 percent-encoded.
fn pct(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn a_break_glass_reason_in_any_language_is_accepted_and_audited_exactly() {
    let s = start_with(2000, gwh(), Setup::default()).await;
    let stranger = bearer(&token("R8000", "RD1"));
    let cafe = "Collapsed in the hospital café — unconscious, no records to hand";
    let german = "Bewusstlos nach Sturz, Medikation unklar: Notfall 🚑";
    let french = "Émergence : patient inconscient, allergies inconnues — urgence";
    let extended = format!("UTF-8''{}", pct(french));
    let latin = format!("utf-8'fr'{}", pct(cafe));
    let sent: Vec<(Headers<'_>, &str)> = vec![
        // Raw UTF-8 in the header value.
        (vec![("x-break-glass-reason", cafe.as_bytes())], cafe),
        (vec![("x-break-glass-reason", german.as_bytes())], german),
        // RFC 8187, with and without a language tag.
        (vec![("x-break-glass-reason*", extended.as_bytes())], french),
        (vec![("x-break-glass-reason*", latin.as_bytes())], cafe),
        // Both: the extended form is the one meant (as RFC 6266 reads
        // filename and filename*); the plain one is for older servers.
        (
            vec![
                (
                    "x-break-glass-reason",
                    &b"Unconscious, no records: see the other header"[..],
                ),
                ("x-break-glass-reason*", extended.as_bytes()),
            ],
            french,
        ),
    ];
    for (headers, _) in &sent {
        let mut all = headers.clone();
        all.push(("authorization", &stranger[..]));
        let (status, _, view) = get_headers(&record_url(&s.base), &all).await;
        assert_eq!(status, 200, "{view}");
        assert_eq!(
            view["sections"]["allergies"].as_array().map(Vec::len),
            Some(1)
        );
    }
    let entries = audit_entries(&s.audit_dir).await;
    let recorded: Vec<(Option<&str>, icr_audit::Basis)> = entries
        .iter()
        .map(|e| (e.break_glass_reason.as_deref(), e.basis))
        .collect();
    let expected: Vec<(Option<&str>, icr_audit::Basis)> = sent
        .iter()
        .map(|(_, reason)| (Some(*reason), icr_audit::Basis::BreakGlass))
        .collect();
    assert_eq!(recorded, expected);
}

#[tokio::test]
async fn a_break_glass_reason_with_a_control_character_or_not_text_is_refused() {
    let s = start_with(2000, gwh(), Setup::default()).await;
    let stranger = bearer(&token("R8000", "RD1"));
    let escape = format!(
        "UTF-8''{}",
        pct("Unconscious \u{1b}[2J in resus, no records to hand")
    );
    let nul = format!(
        "UTF-8''{}",
        pct("Unconscious\u{0} in resus, no records to hand")
    );
    // C1 controls are not ASCII: raw UTF-8 bytes carry them through HTTP.
    let csi = "Unconscious \u{9b}2J in resus, no records to hand";
    let control = "the break-glass reason contains control characters";
    let cases: Vec<(&str, &[u8], u16, &str)> = vec![
        ("x-break-glass-reason*", escape.as_bytes(), 403, control),
        ("x-break-glass-reason*", nul.as_bytes(), 403, control),
        ("x-break-glass-reason", csi.as_bytes(), 403, control),
        (
            "x-break-glass-reason",
            &b"Unconscious in the caf\xe9, no records to hand"[..],
            400,
            "X-Break-Glass-Reason is not UTF-8: send UTF-8, or X-Break-Glass-Reason* as RFC 8187 describes",
        ),
        (
            "x-break-glass-reason*",
            &b"UTF-8''caf%C3 unconscious"[..],
            400,
            "X-Break-Glass-Reason* is not an RFC 8187 value: expected UTF-8'language'percent-encoded text",
        ),
        (
            "x-break-glass-reason*",
            &b"UTF-8''caf%C3"[..],
            400,
            "X-Break-Glass-Reason* is not an RFC 8187 value: the percent-encoded bytes are not UTF-8",
        ),
        (
            "x-break-glass-reason*",
            &b"ISO-8859-1''caf%E9"[..],
            400,
            "X-Break-Glass-Reason* is not an RFC 8187 value: only the UTF-8 charset is accepted",
        ),
    ];
    for (name, value, status, message) in &cases {
        let (got, _, body) = get_headers(
            &record_url(&s.base),
            &[("authorization", &stranger[..]), (*name, *value)],
        )
        .await;
        assert_eq!(
            (got, body["message"].as_str()),
            (*status, Some(*message)),
            "{body}"
        );
        let expected = if *status == 403 {
            ("code", "BREAK_GLASS_REASON_INVALID")
        } else {
            ("error", "invalid_header")
        };
        assert_eq!(body[expected.0], expected.1, "{body}");
    }
    assert_eq!(s.calls[0].load(Ordering::SeqCst), 0, "no source asked");
    let entries = audit_entries(&s.audit_dir).await;
    let reasons: Vec<(&str, u16)> = entries
        .iter()
        .map(|e| (e.reason.as_str(), e.http_status))
        .collect();
    assert_eq!(
        reasons,
        [
            ("break-glass-reason-invalid", 403),
            ("break-glass-reason-invalid", 403),
            ("break-glass-reason-invalid", 403),
            ("invalid-header", 400),
            ("invalid-header", 400),
            ("invalid-header", 400),
            ("invalid-header", 400),
        ]
    );
}

#[tokio::test]
async fn an_nhs_number_of_one_repeated_digit_is_refused_before_any_source_is_asked() {
    let s = start_with(2000, gwh(), Setup::default()).await;
    for digit in '0'..='9' {
        let number: String = std::iter::repeat_n(digit, 10).collect();
        let (status, _, body) = get(&format!("{}/v1/patients/{number}/record", s.base)).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_nhs_number")),
            "{number}: {body}"
        );
        assert_eq!(
            body["message"],
            format!(
                "{number:?} is not a valid NHS number: an NHS number of one digit repeated is never issued"
            )
        );
        let (status, _, outcome) =
            get(&format!("{}/fhir/r4/Patient/{number}/$everything", s.base)).await;
        assert_eq!(status, 400, "{number}: {outcome}");
        assert_eq!(outcome["issue"][0]["code"], "invalid");
    }
    assert_eq!(s.calls[0].load(Ordering::SeqCst), 0, "no source asked");
}

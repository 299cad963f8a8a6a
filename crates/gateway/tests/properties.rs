//! The gateway's fuzzing entry points under `cargo test`: the parsers of
//! what a caller sends (`$everything`'s POST body and parameters, the
//! headers the access pipeline and the FHIR face read, page links) run on
//! random bytes and on mutated valid inputs, so CI exercises them without
//! a fuzzer. Each entry point asserts its own round trips (a body read
//! asks what the equivalent GET asks; a page link reads back to where it
//! points), so a broken one fails here.

use icr_gateway::{fuzz_headers, fuzz_page_link, fuzz_parameters};
use proptest::prelude::*;
use proptest::sample::select;

/// Resource types `_type` may name (and some it may not).
const TYPES: &[&str] = &[
    "Patient",
    "AllergyIntolerance",
    "MedicationStatement",
    "Condition",
    "Observation",
    "Immunization",
    "CarePlan",
    "Flag",
    "Appointment",
    "Basic",
    "patient",
    "",
];

const CONTENT_TYPES: &[&str] = &[
    "application/fhir+json",
    "application/json; charset=utf-8",
    "APPLICATION/FHIR+JSON;fhirVersion=4.0",
    "application/x-www-form-urlencoded",
    "application/fhir+xml",
    "",
];

/// Valid `$everything` POSTs: a Parameters resource or a form.
fn valid_post() -> impl Strategy<Value = Vec<u8>> {
    (
        select(CONTENT_TYPES),
        proptest::collection::vec(select(TYPES), 0..4),
        proptest::option::of(0u64..3000),
        "\\PC{0,12}",
        any::<bool>(),
    )
        .prop_map(|(ct, types, count, other, integer)| {
            let mut parameter =
                vec![serde_json::json!({"name": "_type", "valueString": types.join(",")})];
            let mut form = format!("_type={}", types.join(","));
            if let Some(n) = count {
                parameter.push(if integer {
                    serde_json::json!({"name": "_count", "valueInteger": n})
                } else {
                    serde_json::json!({"name": "_count", "valueString": n.to_string()})
                });
                form.push_str(&format!("&_count={n}"));
            }
            parameter.push(serde_json::json!({"name": "_since", "valueInstant": other}));
            let body = if ct.contains("form") {
                form
            } else {
                serde_json::json!({"resourceType": "Parameters", "parameter": parameter})
                    .to_string()
            };
            format!("{ct}\n{body}").into_bytes()
        })
}

/// Valid requests: a target with `_format`, and the headers the gateway
/// reads, sometimes twice.
fn valid_headers() -> impl Strategy<Value = Vec<u8>> {
    (
        select(
            &[
                "/fhir/r4/Patient/9990000018/$everything",
                "/fhir/r4/Patient/9990000018/$everything?_format=json&_count=5",
                "/fhir/r4/Patient/9990000018/$everything?_format=xml",
                "https://gw.example:8443/fhir/r4/metadata",
            ][..],
        ),
        proptest::collection::vec(
            select(
                &[
                    "Authorization: Bearer eyJhbGciOiJFUzI1NiJ9.e30.AAAA",
                    "authorization: bearer x",
                    "X-Break-Glass-Reason: caf\u{e9} \u{2014} emergency",
                    "X-Break-Glass-Reason*: UTF-8''caf%C3%A9%20%E2%80%94%20emergency",
                    "X-Break-Glass-Reason*: ISO-8859-1'en'caf%E9",
                    "Accept: application/fhir+json;q=0.9, application/fhir+xml",
                    "Accept: application/fhir+xml",
                    "Host: localhost:8080",
                    "Host: [::1]:8080",
                    "X-Forwarded-Proto: https",
                    "Prefer: respond-async, wait=2.5",
                    "Prefer: wait=1e300",
                ][..],
            ),
            0..8,
        ),
    )
        .prop_map(|(target, lines)| format!("{target}\n{}", lines.join("\n")).into_bytes())
}

/// An input with a few of its bytes changed, inserted or removed.
fn mutated(valid: impl Strategy<Value = Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    (
        valid,
        proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6),
    )
        .prop_map(|(mut bytes, edits)| {
            for (at, byte, how) in edits {
                if bytes.is_empty() {
                    bytes.push(byte);
                    continue;
                }
                let i = at.index(bytes.len());
                match how {
                    0 => bytes[i] = byte,
                    1 => bytes.insert(i, byte),
                    _ => {
                        bytes.remove(i);
                    }
                }
            }
            bytes
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn everything_post_bodies_random_or_mutated_never_panic_and_ask_as_get_does(
        random in proptest::collection::vec(any::<u8>(), 0..512),
        valid in valid_post(),
        changed in mutated(valid_post()),
    ) {
        fuzz_parameters(&random);
        fuzz_parameters(&valid);
        fuzz_parameters(&changed);
    }

    #[test]
    fn request_headers_random_or_mutated_never_panic_and_keep_their_bounds(
        random in proptest::collection::vec(any::<u8>(), 0..512),
        valid in valid_headers(),
        changed in mutated(valid_headers()),
    ) {
        fuzz_headers(&random);
        fuzz_headers(&valid);
        fuzz_headers(&changed);
    }

    #[test]
    fn page_links_written_for_any_token_read_back_to_their_position(
        random in proptest::collection::vec(any::<u8>(), 0..256),
        token in "[0-9a-f]{32}",
        odd in "\\PC{0,40}",
        head in any::<[u8; 4]>(),
    ) {
        fuzz_page_link(&random);
        fuzz_page_link(&[&head[..], token.as_bytes()].concat());
        fuzz_page_link(&[&head[..], odd.as_bytes()].concat());
        fuzz_page_link(format!("_page_token={token}&_offset=200&_count=200").as_bytes());
    }
}

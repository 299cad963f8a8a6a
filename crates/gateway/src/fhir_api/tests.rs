use super::links::{PageAt, page_at, page_url};
use super::negotiate::negotiate;
use super::parameters::{BodyRefusal, MAX_PARAMETERS, asked, body_pairs, parameters};
use super::{DEFAULT_PAGE, MAX_PAGE};
use crate::request::query_pairs;
use serde_json::Value;

/// Query or body parameters, owned.
pub(super) fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn count_and_types_are_read_and_bounded() {
    let a = asked(&pairs(&[
        ("_count", "7"),
        ("_type", "Patient, Flag"),
        ("_since", "x"),
    ]))
    .unwrap();
    assert_eq!(a.count, Some(7));
    assert_eq!(a.types, Some(vec!["Patient".into(), "Flag".into()]));
    assert_eq!(
        asked(&pairs(&[("_count", "999999999999")])).unwrap().count,
        Some(MAX_PAGE)
    );
    assert_eq!(asked(&pairs(&[("_count", "0")])).unwrap().count, Some(0));
    for bad in ["-1", "ten", "1.5", ""] {
        let e = asked(&pairs(&[("_count", bad)])).err().unwrap();
        assert_eq!(e.family(), "invalid_parameter", "{bad}");
    }
}

#[test]
fn a_parameters_body_is_read_strictly() {
    let body = br#"{"resourceType":"Parameters","parameter":[
        {"name":"_count","valueInteger":25},{"name":"_type","valueString":"Flag"},
        {"name":"_since","valueInstant":"2026-01-01T00:00:00Z"}]}"#;
    assert_eq!(
        parameters(body).unwrap(),
        pairs(&[
            ("_count", "25"),
            ("_type", "Flag"),
            ("_since", "2026-01-01T00:00:00Z")
        ])
    );
    assert_eq!(
        parameters(br#"{"resourceType":"Parameters"}"#).unwrap(),
        pairs(&[])
    );
    for bad in [
        &br#"{"resourceType":"Patient"}"#[..],
        br#"{"resourceType":"Parameters","parameter":{}}"#,
        br#"{"resourceType":"Parameters","parameter":[{"valueInteger":1}]}"#,
        br#"{"resourceType":"Parameters","parameter":[{"name":"_count","part":[]}]}"#,
        b"not json",
    ] {
        assert!(parameters(bad).is_err(), "{}", String::from_utf8_lossy(bad));
    }
    let many = format!(
        r#"{{"resourceType":"Parameters","parameter":[{}]}}"#,
        vec![r#"{"name":"x","valueString":"y"}"#; MAX_PARAMETERS + 1].join(",")
    );
    assert!(parameters(many.as_bytes()).is_err());
}

proptest::proptest! {
    #[test]
    fn any_body_or_parameter_is_read_or_refused_never_a_panic(
        body in proptest::collection::vec(proptest::num::u8::ANY, 0..512),
        key in "[_a-z]{1,8}",
        value in "\\PC{0,24}",
    ) {
        let _ = parameters(&body);
        let _ = negotiate(Some(&value), &[&value]);
        let _ = negotiate(None, &[&value, &key]);
        let _ = asked(&[(key, value.clone()), ("_count".into(), value)]);
    }

    #[test]
    fn any_parameters_resource_is_read_or_refused_never_a_panic(
        names in proptest::collection::vec("\\PC{0,12}", 0..8),
        numbers in proptest::collection::vec(proptest::num::i64::ANY, 0..8),
    ) {
        let parameter: Vec<Value> = names
            .iter()
            .zip(numbers.iter().chain(std::iter::repeat(&0)))
            .map(|(n, x)| serde_json::json!({"name": n, "valueInteger": x}))
            .collect();
        let body = serde_json::json!({"resourceType": "Parameters", "parameter": parameter});
        let read = parameters(body.to_string().as_bytes()).unwrap();
        proptest::prop_assert_eq!(read.len(), names.len());
        let _ = asked(&read);
    }
}

#[test]
fn a_page_link_is_written_as_before_and_reads_back_to_its_position() {
    let token = "0123456789abcdef0123456789abcdef";
    let link = page_url(
        "http://127.0.0.1:8080/fhir/r4",
        "9990000018",
        token,
        400,
        200,
    );
    assert_eq!(
        link,
        "http://127.0.0.1:8080/fhir/r4/Patient/9990000018/$everything\
         ?_page_token=0123456789abcdef0123456789abcdef&_offset=400&_count=200"
    );
    let query = query_pairs(url::Url::parse(&link).unwrap().query());
    assert_eq!(
        page_at(&query),
        PageAt {
            token,
            offset: Some(400),
            count: 200
        }
    );
    // A token that is not the gateway's reads back all the same.
    let odd = "a&_offset=0#x+y%";
    let link = page_url("http://h/fhir/r4", "9990000018", odd, 0, 1);
    let query = query_pairs(url::Url::parse(&link).unwrap().query());
    assert_eq!(page_at(&query).token, odd);
    // The first of each counts; a page size out of range is bounded.
    let query = pairs(&[
        ("_offset", "x"),
        ("_offset", "3"),
        ("_count", "0"),
        ("_page_token", "t"),
    ]);
    assert_eq!(
        page_at(&query),
        PageAt {
            token: "t",
            offset: None,
            count: 1
        }
    );
    assert_eq!(page_at(&pairs(&[("_count", "5000")])).count, MAX_PAGE);
    assert_eq!(page_at(&[]).count, DEFAULT_PAGE);
}

#[test]
fn a_post_body_is_read_by_its_content_type() {
    let form = body_pairs(
        Some("application/x-www-form-urlencoded; charset=utf-8"),
        b"_count=3&_type=Flag%2CPatient",
    );
    assert_eq!(
        form,
        Ok(pairs(&[("_count", "3"), ("_type", "Flag,Patient")]))
    );
    assert_eq!(
        body_pairs(Some("application/fhir+xml"), b" \r\n"),
        Ok(vec![])
    );
    assert_eq!(
        body_pairs(Some("application/fhir+xml"), b"<Parameters/>"),
        Err(BodyRefusal::MediaType)
    );
    assert_eq!(body_pairs(None, b"{}"), Err(BodyRefusal::MediaType));
    assert!(matches!(
        body_pairs(Some("Application/JSON"), b"{}"),
        Err(BodyRefusal::Invalid(_))
    ));
}

#[test]
fn json_is_negotiated_from_format_then_accept() {
    let table: [(Option<&str>, &[&str], bool); 12] = [
        (None, &[], true),
        (None, &["*/*"], true),
        (None, &["application/fhir+json; fhirVersion=4.0"], true),
        (None, &["APPLICATION/JSON"], true),
        (None, &["text/html", "application/*;q=0.2"], true),
        (None, &["application/fhir+xml"], false),
        (None, &["application/fhir+json;q=0"], false),
        (
            None,
            &["application/fhir+json; q=0.0, application/xml"],
            false,
        ),
        (Some("json"), &["application/fhir+xml"], true),
        (Some("application/fhir+json"), &[], true),
        (Some("xml"), &["*/*"], false),
        (Some("application/fhir+xml"), &[], false),
    ];
    for (format, accept, ok) in table {
        assert_eq!(
            negotiate(format, accept).is_ok(),
            ok,
            "{format:?} {accept:?}"
        );
    }
}

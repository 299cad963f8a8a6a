//! The OperationOutcome reader on anything a source may send: it never
//! panics, what it quotes is one bounded line, and the codes it keeps are
//! codes.

use icr_adapter_sdk::outcome::{Outcome, status_error};
use icr_adapter_sdk::{SourceError, quoting_source};
use proptest::prelude::*;

/// An OperationOutcome-like JSON text of arbitrary issues.
fn outcome_json() -> impl Strategy<Value = String> {
    let text = prop_oneof![
        Just(serde_json::Value::Null),
        any::<String>().prop_map(serde_json::Value::String),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        Just(serde_json::json!(["error"])),
    ];
    let issue = (text.clone(), text.clone(), text.clone(), text).prop_map(
        |(severity, code, diagnostics, detail)| {
            serde_json::json!({
                "severity": severity,
                "code": code,
                "diagnostics": diagnostics,
                "details": {"coding": [{"code": detail.clone()}], "text": detail},
            })
        },
    );
    proptest::collection::vec(issue, 0..8).prop_map(|issues| {
        serde_json::json!({"resourceType": "OperationOutcome", "issue": issues}).to_string()
    })
}

proptest! {
    #[test]
    fn any_bytes_are_read_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Some(o) = Outcome::read(&bytes) {
            let _ = (o.summary(), o.said(), o.only_not_found(Some("RESOURCE_NOT_FOUND")));
        }
        let _ = status_error(500, &bytes, "search");
    }

    #[test]
    fn what_is_quoted_is_one_bounded_line_and_codes_are_codes(json in outcome_json()) {
        let o = Outcome::read(json.as_bytes()).expect("an OperationOutcome");
        let said = o.said();
        prop_assert!(said.chars().count() <= 301, "{said}");
        prop_assert!(!said.chars().any(|c| c.is_control()), "{said}");
        let summary = o.summary();
        prop_assert!(!summary.chars().any(|c| c.is_control()), "{summary}");
        for i in &o.issues {
            if let Some(c) = &i.code {
                prop_assert!(c.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'), "{c}");
            }
            for d in &i.details {
                prop_assert!(d.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b)), "{d}");
            }
        }
        let SourceError::HttpStatus { what, .. } = status_error(503, json.as_bytes(), "search") else {
            panic!("not an HTTP status error");
        };
        prop_assert_eq!(what, quoting_source(format!("search ({summary})"), &said));
    }
}

//! What a practice's answer means when it is not a structured record: the
//! HTTP status and the Spine error code of its OperationOutcome, as a
//! [`SourceError`]. Pure; messages name the operation and the Spine code,
//! never anything else from the body.
//!
//! | Spine code | source status |
//! |---|---|
//! | `NO_PATIENT_CONSENT` | `withheld` ([`withheld`]) |
//! | `PATIENT_NOT_FOUND` | `not_found` |
//! | any other code, or none | `error` (HTTP status, operation and code) |

use icr_adapter_sdk::SourceError;
use icr_fhir_stu3::{OperationOutcome, SpineCode, outcome, read};

/// How the operation is named in errors.
pub const WHAT: &str = "GP Connect $gpc.getstructuredrecord";

/// The error for a practice that withholds the record because the patient
/// has dissented from sharing it (`NO_PATIENT_CONSENT`): the source status
/// `withheld`, never "not found" and never an empty record.
pub fn withheld() -> SourceError {
    SourceError::Withheld(format!(
        "the patient has dissented from sharing their GP record ({})",
        SpineCode::NoPatientConsent
    ))
}

/// The error an OperationOutcome body means, if it is one with a Spine
/// error code (`status` is the HTTP status it came with).
pub fn outcome_error(status: u16, body: &[u8]) -> Option<SourceError> {
    let text = std::str::from_utf8(body).ok()?;
    let (oo, _) = read::<OperationOutcome>("OperationOutcome", text).ok()?;
    if s_type(text).as_deref() != Some("OperationOutcome") {
        return None;
    }
    let codes = outcome::error_codes(&oo);
    if codes.contains(&SpineCode::NoPatientConsent) {
        return Some(withheld());
    }
    if codes.contains(&SpineCode::PatientNotFound) {
        return Some(SourceError::PatientNotFound);
    }
    let code = codes.first()?;
    Some(SourceError::HttpStatus {
        status: if (200..300).contains(&status) {
            code.http_status()
        } else {
            status
        },
        what: format!("{WHAT} ({code})"),
    })
}

fn s_type(text: &str) -> Option<String> {
    let raw: &serde_json::value::RawValue = serde_json::from_str(text).ok()?;
    icr_fhir_stu3::peek_resource_type(raw)
}

/// The error for a non-2xx answer.
pub fn status_error(status: u16, body: &[u8]) -> SourceError {
    outcome_error(status, body).unwrap_or_else(|| SourceError::HttpStatus {
        status,
        what: WHAT.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(code: SpineCode) -> Vec<u8> {
        serde_json::to_vec(&icr_fhir_stu3::Resource::OperationOutcome(
            outcome::operation_outcome("error", code, Some("Jane Smith 9990000018")),
        ))
        .unwrap()
    }

    #[test]
    fn spine_codes_become_statuses() {
        assert_eq!(
            status_error(404, &body(SpineCode::PatientNotFound)),
            SourceError::PatientNotFound
        );
        assert_eq!(
            status_error(403, &body(SpineCode::NoPatientConsent)),
            withheld()
        );
        let e = status_error(400, &body(SpineCode::InvalidNhsNumber));
        assert_eq!(
            e,
            SourceError::HttpStatus {
                status: 400,
                what: "GP Connect $gpc.getstructuredrecord (INVALID_NHS_NUMBER)".into()
            }
        );
        assert!(!e.to_string().contains("Jane"));
        assert!(!withheld().to_string().contains("9990000018"));
        assert_eq!(
            status_error(502, b"<html>Bad gateway</html>"),
            SourceError::HttpStatus {
                status: 502,
                what: WHAT.into()
            }
        );
        // A 404 without a Spine code is not "no record": it may be a wrong endpoint.
        assert!(matches!(
            status_error(404, br#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found"}]}"#),
            SourceError::HttpStatus { status: 404, .. }
        ));
    }
}

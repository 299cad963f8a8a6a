//! What a practice's OperationOutcome means — sent instead of the
//! structured record (with any HTTP status), or alone in a Bundle with no
//! Patient — as a [`SourceError`]. Pure. Messages name the operation, the
//! Spine codes of the failing issues (else their severity and issue type)
//! and quote the practice's own words (`diagnostics`, else
//! `details.text`) through [`quoting_source`].
//!
//! | the practice says | HTTP status | source status |
//! |---|---|---|
//! | only `NO_PATIENT_CONSENT` | 2xx or 4xx | `withheld` ([`withheld`]) |
//! | only `PATIENT_NOT_FOUND` | 2xx or 4xx | `not_found` |
//! | anything else, several codes, or no code | 2xx | `error` (`Refused`): the practice says it failed inside a success |
//! | anything at all | 5xx | `error` (`HttpStatus`): the practice says it failed, whatever the code |
//! | anything else, or no OperationOutcome | 4xx | `error` (`HttpStatus`) |

use icr_adapter_sdk::outcome::Outcome;
use icr_adapter_sdk::{SourceError, quoting_source};
use icr_fhir_stu3::SpineCode;

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

/// The error an OperationOutcome body means, if the body is one
/// (`status` is the HTTP status it came with).
pub fn outcome_error(status: u16, body: &[u8]) -> Option<SourceError> {
    let outcome = Outcome::read(body)?;
    Some(meaning(
        status,
        &outcome,
        "an OperationOutcome instead of the structured record",
    ))
}

/// What `outcome`, sent with HTTP `status` as `shape` (how the answer is
/// described in a `Refused` message), means.
pub fn meaning(status: u16, outcome: &Outcome, shape: &str) -> SourceError {
    let codes: Vec<Option<SpineCode>> = outcome
        .failures()
        .map(|i| i.details.iter().find_map(|d| SpineCode::parse(d)))
        .collect();
    let only = |code: SpineCode| !codes.is_empty() && codes.iter().all(|c| *c == Some(code));
    if status < 500 {
        if only(SpineCode::NoPatientConsent) {
            return withheld();
        }
        if only(SpineCode::PatientNotFound) {
            return SourceError::PatientNotFound;
        }
    }
    let named: Vec<&str> = codes.iter().flatten().map(|c| c.as_str()).collect();
    let described = if named.is_empty() {
        outcome.summary()
    } else {
        named.join(", ")
    };
    let said = outcome.said();
    if (200..300).contains(&status) {
        SourceError::Refused(quoting_source(
            format!("{WHAT} answered with {shape} ({described})"),
            &said,
        ))
    } else {
        SourceError::HttpStatus {
            status,
            what: quoting_source(format!("{WHAT} ({described})"), &said),
        }
    }
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

    use icr_fhir_stu3::outcome;

    fn body(code: SpineCode) -> Vec<u8> {
        serde_json::to_vec(&icr_fhir_stu3::Resource::OperationOutcome(
            outcome::operation_outcome("error", code, Some("patientNHSNumber")),
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
                what: "GP Connect $gpc.getstructuredrecord (INVALID_NHS_NUMBER): the source said \"patientNHSNumber\"".into()
            }
        );
        assert_eq!(
            status_error(502, b"<html>Bad gateway</html>"),
            SourceError::HttpStatus {
                status: 502,
                what: WHAT.into()
            }
        );
        // A 404 without a Spine code is not "no record": it may be a wrong endpoint.
        assert_eq!(
            status_error(
                404,
                br#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found"}]}"#
            ),
            SourceError::HttpStatus {
                status: 404,
                what: "GP Connect $gpc.getstructuredrecord (error: not-found)".into()
            }
        );
    }
}

//! GP Connect OperationOutcomes: written with a Spine error or warning
//! code, and read back to that code.

use crate::gpc::{OPERATION_OUTCOME_PROFILE, SPINE_ERROR_SYSTEM, SpineCode};
use crate::resources::{OperationOutcome, OperationOutcomeIssue};
use crate::types::{CodeableConcept, Meta};

/// An OperationOutcome of one issue, as a GP Connect provider writes it:
/// `severity`, the FHIR issue type of `code`, the Spine code in
/// `details.coding`, and `diagnostics` (which names a parameter, never a
/// value, when this crate writes it).
pub fn operation_outcome(
    severity: &str,
    code: SpineCode,
    diagnostics: Option<&str>,
) -> OperationOutcome {
    OperationOutcome {
        id: None,
        meta: Some(Meta {
            profile: vec![OPERATION_OUTCOME_PROFILE.to_string()],
            ..Default::default()
        }),
        issue: vec![issue(severity, code, diagnostics)],
    }
}

/// One issue with a Spine code.
pub fn issue(severity: &str, code: SpineCode, diagnostics: Option<&str>) -> OperationOutcomeIssue {
    OperationOutcomeIssue {
        severity: Some(severity.to_string()),
        code: Some(code.issue_type().to_string()),
        details: Some(CodeableConcept::coded(
            SPINE_ERROR_SYSTEM,
            code.as_str(),
            Some(code.display()),
        )),
        diagnostics: diagnostics.map(str::to_string),
    }
}

/// The Spine code of an issue, read from `details.coding` (any system that
/// names a Spine code is accepted: older providers still send the DSTU2
/// `gpconnect-error-or-warning-code-1` system).
pub fn spine_code(issue: &OperationOutcomeIssue) -> Option<SpineCode> {
    issue
        .details
        .as_ref()?
        .coding
        .iter()
        .find_map(|c| SpineCode::parse(c.code.as_deref()?))
}

/// The issue's severity, trimmed and lower-cased when it is a FHIR severity.
pub fn severity(issue: &OperationOutcomeIssue) -> Option<&'static str> {
    match issue.severity.as_deref().map(str::trim)? {
        "fatal" => Some("fatal"),
        "error" => Some("error"),
        "warning" => Some("warning"),
        "information" => Some("information"),
        _ => None,
    }
}

/// The Spine codes of the error and fatal issues, in order.
pub fn error_codes(oo: &OperationOutcome) -> Vec<SpineCode> {
    oo.issue
        .iter()
        .filter(|i| matches!(severity(i), Some("error" | "fatal")))
        .filter_map(spine_code)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_code() {
        for code in SpineCode::ALL {
            let oo = operation_outcome("error", code, Some("patientNHSNumber"));
            let json = serde_json::to_string(&oo).unwrap();
            let (back, t) =
                crate::lenient::read::<OperationOutcome>("OperationOutcome", &json).unwrap();
            assert!(t.is_clean());
            assert_eq!(error_codes(&back), vec![code]);
        }
    }

    #[test]
    fn reads_the_dstu2_system_and_ignores_warnings() {
        let json = r#"{"resourceType":"OperationOutcome","issue":[
            {"severity":"warning","code":"not-supported","details":{"coding":[{"system":"x","code":"NOT_IMPLEMENTED"}]}},
            {"severity":"error","code":"forbidden","details":{"coding":[{"system":"http://fhir.nhs.net/ValueSet/gpconnect-error-or-warning-code-1","code":"NO_PATIENT_CONSENT"}]}}]}"#;
        let (oo, _) = crate::lenient::read::<OperationOutcome>("OperationOutcome", json).unwrap();
        assert_eq!(error_codes(&oo), vec![SpineCode::NoPatientConsent]);
        assert_eq!(spine_code(&oo.issue[0]), Some(SpineCode::NotImplemented));
    }
}

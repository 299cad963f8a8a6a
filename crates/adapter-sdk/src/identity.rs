//! The wrong-patient guard every source shares: a record whose
//! demographics carry an NHS number other than the one asked for is about
//! someone else, and nothing from it may be shown. Pure.
//!
//! The gateway runs [`check_nhs_number`] on every answer; adapters whose
//! protocol names the person before the record is built (a FHIR Patient
//! search, PDS) run [`is_another_nhs_number`] on it at once, so that an
//! answer about someone else is refused even when demographics were not
//! asked for and before anything else is fetched. Protocol-specific guards
//! (every NHS identifier of a GP Connect Patient, resources about another
//! subject, an HL7 v2 PID) stay in their adapters: they see what the
//! mapped demographics no longer carry.

use icr_model::{NhsNumber, SourceRecord};

use crate::SourceError;

/// True when `found`, the NHS number a record's demographics carry, is
/// someone else's than `asked`. A record carrying none is not judged here.
pub fn is_another_nhs_number(found: Option<NhsNumber>, asked: NhsNumber) -> bool {
    found.is_some_and(|n| n != asked)
}

/// The guard on one answer: `IdentityMismatch` when its demographics
/// carry another NHS number than `asked`.
pub fn check_nhs_number(record: &SourceRecord, asked: NhsNumber) -> Result<(), SourceError> {
    let found = record
        .patient
        .as_ref()
        .and_then(|p| p.demographics.nhs_number);
    if is_another_nhs_number(found, asked) {
        return Err(SourceError::IdentityMismatch(
            "the source answered with a record for another NHS number; nothing from it is shown"
                .into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_number_is_someone_else_and_none_is_not_judged() {
        let asked = NhsNumber::parse("9990000018").unwrap();
        let other = NhsNumber::parse("9990000026").unwrap();
        assert!(!is_another_nhs_number(Some(asked), asked));
        assert!(is_another_nhs_number(Some(other), asked));
        assert!(!is_another_nhs_number(None, asked));
        assert_eq!(check_nhs_number(&SourceRecord::default(), asked), Ok(()));
        let meta = std::sync::Arc::new(icr_model::SourceMeta {
            id: icr_model::SourceId::parse("s").unwrap(),
            organisation: "S".into(),
            ods_code: icr_model::OdsCode::parse("RA1").unwrap(),
            system: "s".into(),
        });
        let record = |n| SourceRecord {
            patient: Some(icr_model::PatientRecord {
                demographics: icr_model::Demographics {
                    nhs_number: Some(n),
                    ..Default::default()
                },
                provenance: meta.provenance("Patient/1", None).unwrap(),
            }),
            ..SourceRecord::default()
        };
        assert_eq!(check_nhs_number(&record(asked), asked), Ok(()));
        assert_eq!(
            check_nhs_number(&record(other), asked),
            Err(SourceError::IdentityMismatch(
                "the source answered with a record for another NHS number; nothing from it is shown"
                    .into()
            ))
        );
    }
}

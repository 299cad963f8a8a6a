//! The JSON view: `GET /v1/patients/{nhs}/record`. Its schema is
//! `docs/record-view.schema.json`.

use std::collections::BTreeMap;

use icr_merge::{MergedItem, MergedPatient, Warning};
use icr_model::{NhsNumber, Section};
use icr_policy::Withheld;
use serde::Serialize;

use crate::{RecordOutcome, SourceStatus};

#[derive(Serialize)]
struct RecordView<'a> {
    nhs_number: NhsNumber,
    patient: Option<&'a MergedPatient>,
    sections: &'a BTreeMap<Section, Vec<MergedItem>>,
    sources: &'a [SourceStatus],
    warnings: &'a [Warning],
    withheld: &'a Withheld,
}

/// Serializes the merged view as JSON, with how many items the caller's
/// role may not see were withheld (never what they were).
pub fn render(outcome: &RecordOutcome, withheld: &Withheld) -> Result<Vec<u8>, serde_json::Error> {
    let view = RecordView {
        nhs_number: outcome.nhs_number,
        patient: outcome.merged.patient.as_ref(),
        sections: &outcome.merged.sections,
        sources: &outcome.sources,
        warnings: &outcome.merged.warnings,
        withheld,
    };
    serde_json::to_vec(&view)
}

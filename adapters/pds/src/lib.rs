//! Source adapter for the Personal Demographics Service (kind `pds`): the
//! national register of who a person is and where they are registered.
//!
//! In the request flow the gateway asks it first, for every person: its
//! answer is the reference the other sources' demographics are checked
//! against, names the GP practice to ask (`generalPractitioner`), and says
//! whether the record is sensitive (a `meta.security` label `R` or `V`,
//! which hides the person's address and contact details from everyone).
//!
//! It speaks the PDS FHIR R4 API: `GET {endpoint}/Patient/{nhs}` with
//! `X-Request-ID` (the request's trace id) and
//! `NHSD-End-User-Organisation-ODS` (the requester's organisation). The
//! Patient is read with the FHIR R4 adapter's mapping. A Patient for a
//! different NHS number (PDS answers with the current record when the one
//! asked for has been superseded) is refused as an identity mismatch.
//!
//! A PDS that failed never looks like one that does not know the person
//! (tested shape by shape in `tests/failure_shapes.rs`):
//!
//! | PDS answers | the source's status |
//! |---|---|
//! | `200` Patient | `ok` |
//! | `200` OperationOutcome (any severity), or a Bundle carrying one, instead of the Patient | `error` (`Refused`), quoting its codes and diagnostics |
//! | `200` anything else that is not a Patient (HTML, empty, another resource) | `error` (`Malformed`) |
//! | `404` OperationOutcome `RESOURCE_NOT_FOUND` (or `not-found` with no Spine code) | `not_found` |
//! | `404` for anything else (`UNSUPPORTED_SERVICE`: a wrong path; `INVALIDATED_RESOURCE`; a proxy's page; no body) | `error` (`HttpStatus`) |
//! | any other status | `error` (`HttpStatus`), quoting its OperationOutcome |
//!
//! PDS's own words (`diagnostics`, else `details.text`) are quoted through
//! [`icr_adapter_sdk::source_said`]; they go to the caller who asked about
//! this person and are never logged.

#![warn(missing_docs)]

use std::sync::Arc;

use async_trait::async_trait;
use icr_adapter_fhir_r4::map::{Content, MapContext, Medications, RecordType, map_as};
use icr_adapter_sdk::fhir_search::{FHIR_JSON, FhirClient};
use icr_adapter_sdk::outcome::{self, Outcome};
use icr_adapter_sdk::{
    AdapterKind, BuildError, Endpoint, FetchRequest, Kind, NoOptions, Offers, Routing,
    SourceAdapter, SourceError, SourceSpec, json_error, quoting_source,
};
use icr_fhir::{BundleIn, peek_resource_type};
use icr_model::{PatientRecord, Section, SourceMeta, SourceRecord};
use serde_json::value::RawValue;
use url::Url;

/// The adapter kind: `kind = "pds"`, an http(s) endpoint, exactly
/// demographics, no options (any key is refused, so that a typo is not
/// silently ignored).
pub static KIND: Kind<NoOptions> = Kind::new(
    "pds",
    Endpoint::HTTP,
    Offers::Only {
        sections: &[Section::Demographics],
        refusal: |_| "a pds source provides exactly [\"demographics\"]".into(),
    },
    |spec, NoOptions {}| Ok(Arc::new(PdsSource::new(spec)?)),
);

/// Checks a `pds` registration and builds its adapter ([`KIND`]).
pub fn build(spec: &SourceSpec) -> Result<Arc<dyn SourceAdapter>, BuildError> {
    KIND.build(spec)
}

/// The Personal Demographics Service as a source.
pub struct PdsSource {
    fhir: FhirClient,
    meta: Arc<SourceMeta>,
}

impl PdsSource {
    /// Builds the adapter for a registration its kind has checked
    /// ([`KIND`]); it must also have `routing = "demographics"`.
    pub fn new(spec: &SourceSpec) -> Result<Self, BuildError> {
        if spec.routing != Routing::Demographics {
            return Err(BuildError::Option {
                key: "routing".into(),
                message: "a pds source has routing = \"demographics\"".into(),
            });
        }
        Ok(Self {
            fhir: FhirClient::new(spec)?,
            meta: spec.meta(),
        })
    }
}

#[async_trait]
impl SourceAdapter for PdsSource {
    async fn fetch(&self, request: &FetchRequest) -> Result<SourceRecord, SourceError> {
        let url = self
            .fhir
            .url(&format!("Patient/{}", request.nhs_number.as_str()));
        let context = &request.context;
        let http_request = self
            .fhir
            .http()
            .client()
            .get(url)
            .header("Accept", FHIR_JSON)
            .header("X-Request-ID", context.trace_id.as_str())
            .header("X-Correlation-ID", context.trace_id.as_str())
            .header(
                "NHSD-End-User-Organisation-ODS",
                context.requester.organisation.as_str(),
            );
        let response = self
            .fhir
            .http()
            .send(http_request, request.deadline, WHAT)
            .await?;
        if response.status != 200 {
            return Err(status_error(response.status, &response.body));
        }
        let mut record = read_patient(&response.body, &self.meta, self.fhir.base())?;
        // Stricter than the gateway's guard on every answer
        // (`identity::check_nhs_number`), which does not judge a record
        // carrying no NHS number: PDS's answer is the reference the other
        // sources are checked against, so a Patient without the number
        // asked for is refused too.
        if record.demographics.nhs_number != Some(request.nhs_number) {
            return Err(SourceError::IdentityMismatch(
                "PDS answered with a record for another NHS number (superseded or merged record)"
                    .into(),
            ));
        }
        // PDS withholds a sensitive person's address and contact details
        // itself; make sure, whatever it sent.
        if record.demographics.sensitive {
            record.demographics.addresses.clear();
            record.demographics.telecom.clear();
        }
        Ok(SourceRecord {
            patient: Some(record),
            items: Vec::new(),
            issues: Vec::new(),
            wire_bytes: response.body.len(),
        })
    }
}

/// How the read is named in errors.
const WHAT: &str = "PDS Patient read";

/// The Spine code with which PDS says it does not know an NHS number.
const RESOURCE_NOT_FOUND: &str = "RESOURCE_NOT_FOUND";

/// The error for an answer other than 200 (pure). Only a 404 whose
/// OperationOutcome says `RESOURCE_NOT_FOUND` (or, with no Spine code,
/// `not-found`) is `PatientNotFound`: a 404 for a wrong path
/// (`UNSUPPORTED_SERVICE`), for an invalidated record, or from a proxy
/// with no OperationOutcome is an HTTP error. The outcome's codes and
/// PDS's own words are quoted.
pub fn status_error(status: u16, body: &[u8]) -> SourceError {
    let outcome = Outcome::read(body);
    if status == 404
        && outcome
            .as_ref()
            .is_some_and(|o| o.only_not_found(Some(RESOURCE_NOT_FOUND)))
    {
        return SourceError::PatientNotFound;
    }
    outcome::status_error(status, body, WHAT)
}

/// Reads a PDS Patient body into demographics with provenance (pure). An
/// OperationOutcome where the Patient should be — alone, or in a Bundle —
/// is PDS saying it failed: `Refused`, quoting it.
pub fn read_patient(
    body: &[u8],
    meta: &Arc<SourceMeta>,
    base: &Url,
) -> Result<PatientRecord, SourceError> {
    let raw: &RawValue = serde_json::from_slice(body)
        .map_err(|e| SourceError::Malformed(json_error("PDS Patient", &e)))?;
    match peek_resource_type(raw).as_deref() {
        Some("Patient") => {}
        Some("OperationOutcome") => {
            let outcome = Outcome::read(body).unwrap_or_default();
            return Err(refused("an OperationOutcome", &outcome));
        }
        Some("Bundle") => {
            let outcome = bundle_outcome(raw).ok_or_else(|| {
                SourceError::Malformed("PDS answered with something other than a Patient".into())
            })?;
            return Err(refused("a Bundle carrying an OperationOutcome", &outcome));
        }
        _ => {
            return Err(SourceError::Malformed(
                "PDS answered with something other than a Patient".into(),
            ));
        }
    }
    let medications = Medications::new();
    let ctx = MapContext {
        source: &meta.id,
        base: Some(base),
        medications: &medications,
    };
    let mapped = map_as(RecordType::Patient, raw, &ctx)
        .map_err(|e| SourceError::Malformed(format!("PDS Patient: {e}")))?;
    let Content::Patient { demographics, .. } = mapped.content else {
        return Err(SourceError::Malformed(
            "PDS answered with something other than a Patient".into(),
        ));
    };
    let local = format!("Patient/{}", mapped.id.as_deref().unwrap_or("unknown"));
    let provenance = meta
        .provenance(&local, mapped.last_updated)
        .map_err(|_| SourceError::Malformed("PDS Patient has an unusable id".into()))?;
    Ok(PatientRecord {
        demographics,
        provenance,
    })
}

/// PDS saying, with `what`, that it failed.
fn refused(what: &str, outcome: &Outcome) -> SourceError {
    SourceError::Refused(quoting_source(
        format!(
            "PDS answered the Patient read with {what} instead of a Patient ({})",
            outcome.summary()
        ),
        &outcome.said(),
    ))
}

/// The issues of every OperationOutcome entry of a Bundle, as one
/// outcome; `None` when it has none.
fn bundle_outcome(raw: &RawValue) -> Option<Outcome> {
    let bundle: BundleIn<'_> = serde_json::from_str(raw.get()).ok()?;
    let issues: Vec<_> = bundle
        .entry
        .iter()
        .filter_map(|e| e.resource)
        .filter(|r| peek_resource_type(r).as_deref() == Some("OperationOutcome"))
        .filter_map(|r| Outcome::read(r.get().as_bytes()))
        .flat_map(|o| o.issues)
        .collect();
    (!issues.is_empty()).then_some(Outcome { issues })
}

/// The fuzzing entry point: reads any bytes as a PDS answer; must never panic.
pub fn fuzz_patient(data: &[u8]) {
    let Ok(id) = icr_model::SourceId::parse("fuzz") else {
        return;
    };
    let Ok(ods) = icr_model::OdsCode::parse("X26") else {
        return;
    };
    let meta = Arc::new(SourceMeta {
        id,
        organisation: "fuzz".into(),
        ods_code: ods,
        system: "fuzz".into(),
    });
    if let Ok(base) = Url::parse("https://pds.example/FHIR/R4/") {
        let _ = read_patient(data, &meta, &base);
    }
    let _ = status_error(404, data);
}

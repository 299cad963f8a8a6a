//! The `[options]` of a `fhir-r4` source.

use icr_adapter_sdk::{BuildError, KindOptions, SourceSpec, within};
use icr_model::{Section, SectionSet};
use serde::Deserialize;

use crate::map::RecordType;

/// Settings of a `fhir-r4` source, read from the `[options]` table of its
/// registration. Every field is optional.
///
/// ```toml
/// [options]
/// page_size = 100
/// max_pages = 20
/// max_concurrent_searches = 8
/// use_medication_statement = true
/// use_medication_request = true
/// include_medications = true
/// searches = "capability"
/// skip = []            # e.g. ["Appointment"]
/// # sort = true        # unset: as the CapabilityStatement says
/// search_plan = "auto" # or "batch", "chained", "revinclude", "patient-first"
/// chains = false       # true: the server takes `patient.identifier` chains
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FhirR4Options {
    /// Entries asked for per page of a search (`_count`), 1 to 1000.
    /// Default 100.
    pub page_size: u32,
    /// Pages read per search, following `next` links, 1 to 1000. A search
    /// with more pages stops there, asks separately for the type's current
    /// items (active medications, allergies, problems, alerts; up to as
    /// many pages again) so that they are never the ones left out, and
    /// reports a `truncated` issue saying what was read. Default 20.
    pub max_pages: u32,
    /// Searches run at the same time against this source, 1 to 64.
    /// Default 8.
    pub max_concurrent_searches: usize,
    /// Read MedicationStatement resources for `medications`. Default true.
    pub use_medication_statement: bool,
    /// Read MedicationRequest resources (prescriptions) for `medications`.
    /// Default true.
    pub use_medication_request: bool,
    /// Ask the server to include the Medication resources that statements
    /// and prescriptions refer to (`_include=…:medication`), so that a
    /// `medicationReference` can be shown as the medicine it names, in the
    /// same answer. Not asked of a type whose CapabilityStatement lists
    /// its `searchInclude`s without it. Turn it off for a server that
    /// refuses `_include`. Default true.
    pub include_medications: bool,
    /// How the searches are chosen. `"capability"` (the default): the
    /// server's CapabilityStatement (`GET [base]/metadata`) is read at start
    /// and on every configuration reload, and a resource type it does not
    /// declare searchable is not searched — the section says so in a note,
    /// and the source is not `partial` for it; until the statement has been
    /// read, every type is searched. `"all"`: every type of the offered
    /// sections is searched and the statement is never read.
    pub searches: Searches,
    /// Resource types never searched, whatever the statement says, e.g.
    /// `["Appointment"]` for a server that answers that search with an
    /// error. Names are FHIR resource types the adapter searches. Default
    /// none.
    pub skip: Vec<String>,
    /// Whether each search asks for the most recent first, by the type's
    /// date search parameter (`_sort=-effective` for MedicationStatement,
    /// `-authoredon` for MedicationRequest, `-recorded-date` for Condition,
    /// `-authored` for ServiceRequest, `-date` for the others), so that a
    /// search cut short by `max_pages` keeps the most recent. `true`:
    /// always; `false`: never; unset (the default): when the server's
    /// CapabilityStatement declares `_sort` (and does not leave out the
    /// type's date parameter).
    pub sort: Option<bool>,
    /// How one request's searches reach the server ([`SearchPlan`]):
    /// `"auto"` (the default) chooses the cheapest the server supports.
    pub search_plan: SearchPlan,
    /// The server is known to take searches chained on the Patient's NHS
    /// number (`Condition?patient.identifier=…`). R4 CapabilityStatements
    /// do not declare chains, so `search_plan = "auto"` chooses `chained`
    /// only when this is true (and the statement, once read, declares
    /// every planned type's `patient` parameter as a reference). Default
    /// false.
    pub chains: bool,
}

/// How one request's searches reach a `fhir-r4` server
/// (`options.search_plan`). Whatever the plan, every resource is checked to
/// be about the Patient found with the NHS number in the same round trip,
/// and no Patient found means no record there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SearchPlan {
    /// The cheapest the server supports: `batch` when its statement
    /// declares the `batch` interaction, else `chained` when `chains` is
    /// set, else `revinclude` when the Patient's `searchRevInclude`s cover
    /// every planned type, else `patient-first`.
    #[default]
    Auto,
    /// One `POST [base]` of a `batch` Bundle: the Patient search and every
    /// section search chained on `patient.identifier`. A server refusing
    /// it (HTTP 405 or 501), or answering it over `max_body_bytes`, is
    /// read `patient-first` for that request, and a note says so.
    Batch,
    /// The Patient search and every section search chained on
    /// `patient.identifier`, sent at once: one wave of concurrent GETs when
    /// `max_concurrent_searches` covers the searches (up to sixteen).
    Chained,
    /// One `Patient?identifier=…&_revinclude={type}:patient…` search. An
    /// answer with a `next` link, with the server's own issues, or with
    /// more of a type than `page_size` × `max_pages`, is read again type
    /// by type with the Patient's id; one over `max_body_bytes` is read
    /// `patient-first`, and a note says so.
    #[serde(rename = "revinclude")]
    RevInclude,
    /// The Patient search, then every section search with the Patient's
    /// id: two round trips (three when the searches outnumber
    /// `max_concurrent_searches`).
    PatientFirst,
}

/// How a `fhir-r4` source's searches are chosen (`options.searches`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Searches {
    /// As the server's CapabilityStatement declares, once read.
    #[default]
    Capability,
    /// Every type of the offered sections; the statement is not read.
    All,
}

impl Default for FhirR4Options {
    fn default() -> Self {
        Self {
            page_size: 100,
            max_pages: 20,
            max_concurrent_searches: 8,
            use_medication_statement: true,
            use_medication_request: true,
            include_medications: true,
            searches: Searches::Capability,
            skip: Vec::new(),
            sort: None,
            search_plan: SearchPlan::Auto,
            chains: false,
        }
    }
}

impl FhirR4Options {
    /// Checks the ranges serde cannot, against the sections the source offers.
    pub fn validate(&self, sections: SectionSet) -> Result<(), BuildError> {
        within("page_size", self.page_size, 1..=1000)?;
        within("max_pages", self.max_pages, 1..=1000)?;
        within(
            "max_concurrent_searches",
            self.max_concurrent_searches,
            1..=64,
        )?;
        if sections.contains(Section::Medications)
            && !self.use_medication_statement
            && !self.use_medication_request
        {
            return Err(BuildError::option(
                "use_medication_request",
                "the source offers medications, so use_medication_statement or use_medication_request must be true",
            ));
        }
        if let Some(bad) = self
            .skip
            .iter()
            .find(|t| RecordType::from_name(t).is_none_or(|t| t == RecordType::Patient))
        {
            let shown: String = bad.chars().take(40).collect();
            let known: Vec<&str> = RecordType::ALL
                .iter()
                .filter(|t| **t != RecordType::Patient)
                .map(|t| t.name())
                .collect();
            return Err(BuildError::option(
                "skip",
                format!(
                    "{shown:?} is not a resource type this adapter searches; it searches {}",
                    known.join(", ")
                ),
            ));
        }
        Ok(())
    }

    /// Whether `ty` is in `skip`.
    pub fn skips(&self, ty: RecordType) -> bool {
        self.skip.iter().any(|s| s == ty.name())
    }
}

impl KindOptions for FhirR4Options {
    type Checked = Self;

    fn check(self, spec: &SourceSpec) -> Result<Self, BuildError> {
        self.validate(spec.sections)?;
        Ok(self)
    }
}

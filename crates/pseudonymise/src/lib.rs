//! Pseudonymisation for the population-health extract: a person's merged
//! record becomes a record that names nobody, before anything is written.
//!
//! In the extract's flow this runs after merge and policy and before any
//! writer (NDJSON, OMOP tables, summaries): the writers only ever see a
//! [`PseudonymisedRecord`]. It is pure — no I/O, no clock: the caller
//! reads the project key's secret file and passes its bytes, and passes
//! the date ages are reckoned on.
//!
//! What it does:
//! - **Pseudonyms** ([`Pseudonym`]): the person's NHS number and each
//!   source record id become HMAC-SHA-256 tags under a [`ProjectKey`] (at
//!   least 32 bytes), written as 64 hex digits, each kind under its own
//!   domain prefix so a person's and a record's never collide. The same key
//!   gives the same pseudonyms on every run and in every dataset; another
//!   key gives unrelated ones. A manifest names the key by
//!   [`ProjectKey::key_id`], never by the key.
//! - **Separation of the key holder** (ISO 25237): the key is held by the
//!   pseudonymisation service — the party that runs the extract — and
//!   never goes into the extract, its manifest or logs (the key has no
//!   Display or Serialize, and its Debug shows only the key id). A
//!   recipient of the extract cannot re-identify anyone or link across
//!   keys; only the key holder, given an NHS number, can recompute its
//!   pseudonym.
//! - **Generalisation** ([`generalise`]): the date of birth becomes year
//!   and month, or a five-year [`AgeBand`] (`0-4` … `85-89`, `90+`) on the
//!   given date, by the [`Spec`]; the home postcode becomes its district
//!   (`SN15 3JD` → `SN15`) or the area code a supplied [`AreaLookup`] gives
//!   that district; anything not shaped like a UK postcode gives nothing.
//!   A person the demographics service marks sensitive gets neither area
//!   nor practice. A date of death keeps its year and month. An event
//!   dated on the person's birthday is kept to its month, so the date of
//!   birth cannot be read off it.
//! - **Allow-listed fields** ([`transform`]): the output is built field by
//!   field; kept are national terminologies' codes (SNOMED CT, dm+d, LOINC,
//!   ICD-10, Read, CTV3, UCUM — only when shaped like one: a SNOMED CT or
//!   dm+d code must be a concept id), dates of clinical events, statuses and kinds, numeric values, the source and
//!   its organisation's ODS code, and the registered practice. Dropped are
//!   names, addresses, telecom, identifiers, every free-text field (notes,
//!   display texts, text values, conclusions, titles, descriptions,
//!   dosage text, care-plan activities), document content, who did what
//!   (as the source displays them), local codes, lot numbers, the merge's
//!   conflict values and warnings, and records' last-updated times.
//!   A code or number that spells the person's own NHS number is
//!   dropped (an identifier misfiled as an observation). Items a source
//!   labels restricted are dropped unless the spec allows them; sections
//!   the spec does not list are dropped.
//!
//! The output shape: one [`PseudonymisedRecord`] per person, a `person`
//! (shaped for OMOP's person table: `year_of_birth`, `month_of_birth`,
//! gender, area, practice, death) and a flat list of items, each tagged
//! with its `section` (which maps to a FHIR resource type for NDJSON and
//! to an OMOP table), carrying its sources as (source, ODS code, record
//! pseudonym). All of it is `Serialize`.

pub mod generalise;
mod key;
mod spec;
pub mod transform;

pub use generalise::{AgeBand, AreaCode, AreaLookup, District, LookupError};
pub use key::{KeyError, MIN_KEY_BYTES, ProjectKey, Pseudonym};
pub use spec::{BirthLevel, PostcodeLevel, Spec, SpecError};
pub use transform::{PseudonymisedRecord, Pseudonymiser, SetupError};

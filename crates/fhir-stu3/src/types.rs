//! The STU3 data types GP Connect uses. Those STU3 shares with R4 are
//! `icr-fhir`'s ([`icr_fhir::datatypes`]), read tolerantly inside the
//! resources of this crate; the two defined here differ from R4's:
//! `Annotation` (its elements are written in another order, and a bare
//! string is read as one) and `Extension` (`valuePeriod` and complex
//! extensions). Dates stay strings: the adapter parses them into the model.

pub use icr_fhir::datatypes::{
    Address, CodeableConcept, Coding, ContactPoint, Dosage, HumanName, Identifier, Meta, Narrative,
    Period, Quantity, Range, Ratio, Reference,
};

use crate::lenient::{Element, element};

element! {
    /// A note.
    pub struct Annotation {
        /// `Annotation.text`.
        text: Option<String> = "text",
        /// `Annotation.time`.
        time: Option<String> = "time",
    }
}

impl Element for Annotation {
    /// A bare string where an Annotation belongs (GP Connect examples write
    /// `"note": "…"`).
    fn from_text(text: &str) -> Option<Self> {
        Some(Annotation {
            text: Some(text.to_string()),
            time: None,
        })
    }
}

element! {
    /// An extension: its URL and the value kinds GP Connect uses.
    pub struct Extension {
        /// `Extension.url`.
        url: Option<String> = "url",
        /// `Extension.valueCode`.
        value_code: Option<String> = "valueCode",
        /// `Extension.valueString`.
        value_string: Option<String> = "valueString",
        /// `Extension.valueBoolean`.
        value_boolean: Option<bool> = "valueBoolean",
        /// `Extension.valueDateTime`.
        value_date_time: Option<String> = "valueDateTime",
        /// `Extension.valuePeriod`.
        value_period: Option<Period> = "valuePeriod",
        /// `Extension.valueCodeableConcept`.
        value_codeable_concept: Option<CodeableConcept> = "valueCodeableConcept",
        /// `Extension.valueReference`.
        value_reference: Option<Reference> = "valueReference",
        /// `Extension.extension` (complex extensions).
        extension: Vec<Extension> = "extension",
    }
}

impl Element for Extension {}

impl Extension {
    /// True when the URL names `name` as its last path segment (GP Connect
    /// publishes the same extension under `fhir.nhs.uk` and `fhir.hl7.org.uk`).
    pub fn is(&self, name: &str) -> bool {
        self.url
            .as_deref()
            .map(str::trim)
            .is_some_and(|u| u.rsplit('/').next() == Some(name))
    }

    /// The sub-extension named `url` of a complex extension.
    pub fn part(&self, url: &str) -> Option<&Extension> {
        self.extension
            .iter()
            .find(|e| e.url.as_deref().map(str::trim) == Some(url))
    }
}

//! The STU3 data types GP Connect uses, read tolerantly (see
//! [`lenient`](crate::lenient)). Dates stay strings: the adapter parses them
//! into the model with its own tolerance.

use crate::lenient::{Element, element};

element! {
    /// A code from a code system.
    pub struct Coding {
        /// `Coding.system`.
        system: Option<String> = "system",
        /// `Coding.version`.
        version: Option<String> = "version",
        /// `Coding.code`.
        code: Option<String> = "code",
        /// `Coding.display`.
        display: Option<String> = "display",
    }
}

impl Element for Coding {
    /// A bare code where a Coding belongs.
    fn from_text(text: &str) -> Option<Self> {
        Some(Coding {
            code: Some(text.to_string()),
            ..Default::default()
        })
    }
}

element! {
    /// A concept as codings and text.
    pub struct CodeableConcept {
        /// `CodeableConcept.coding`.
        coding: Vec<Coding> = "coding",
        /// `CodeableConcept.text`.
        text: Option<String> = "text",
    }
}

impl Element for CodeableConcept {
    /// Text where a concept belongs (GP Connect examples write
    /// `"category": "problem-list-item"`).
    fn from_text(text: &str) -> Option<Self> {
        Some(CodeableConcept {
            coding: Vec::new(),
            text: Some(text.to_string()),
        })
    }
}

impl CodeableConcept {
    /// A concept with one coding.
    pub fn coded(system: &str, code: &str, display: Option<&str>) -> Self {
        CodeableConcept {
            coding: vec![Coding {
                system: Some(system.to_string()),
                code: Some(code.to_string()),
                display: display.map(str::to_string),
                version: None,
            }],
            text: None,
        }
    }

    /// True when one of the codings has `system` and `code`.
    pub fn has_code(&self, system: &str, code: &str) -> bool {
        self.coding.iter().any(|c| {
            c.system.as_deref().map(str::trim) == Some(system)
                && c.code.as_deref().map(str::trim) == Some(code)
        })
    }
}

element! {
    /// An identifier with its system.
    pub struct Identifier {
        /// `Identifier.use`.
        use_: Option<String> = "use",
        /// `Identifier.system`.
        system: Option<String> = "system",
        /// `Identifier.value`.
        value: Option<String> = "value",
    }
}

impl Element for Identifier {}

impl Identifier {
    /// An identifier of `system` with `value`.
    pub fn new(system: &str, value: &str) -> Self {
        Identifier {
            use_: None,
            system: Some(system.to_string()),
            value: Some(value.to_string()),
        }
    }
}

element! {
    /// A reference to another resource, by URL, identifier or display.
    pub struct Reference {
        /// `Reference.reference`.
        reference: Option<String> = "reference",
        /// `Reference.identifier`.
        identifier: Option<Identifier> = "identifier",
        /// `Reference.display`.
        display: Option<String> = "display",
    }
}

impl Element for Reference {
    /// A bare reference string where a Reference belongs.
    fn from_text(text: &str) -> Option<Self> {
        Some(Reference {
            reference: Some(text.to_string()),
            ..Default::default()
        })
    }
}

impl Reference {
    /// A reference to `target` (`Type/id`).
    pub fn to(target: &str) -> Self {
        Reference {
            reference: Some(target.to_string()),
            ..Default::default()
        }
    }
}

element! {
    /// A time range; either end may be open.
    pub struct Period {
        /// `Period.start`.
        start: Option<String> = "start",
        /// `Period.end`.
        end: Option<String> = "end",
    }
}

impl Element for Period {}

element! {
    /// A measured amount.
    pub struct Quantity {
        /// `Quantity.value` (a decimal; GP Connect examples sometimes write it
        /// as a string, which is read).
        value: Option<f64> = "value",
        /// `Quantity.comparator`.
        comparator: Option<String> = "comparator",
        /// `Quantity.unit`.
        unit: Option<String> = "unit",
        /// `Quantity.system`.
        system: Option<String> = "system",
        /// `Quantity.code`.
        code: Option<String> = "code",
    }
}

impl Element for Quantity {}

element! {
    /// A range of quantities.
    pub struct Range {
        /// `Range.low`.
        low: Option<Quantity> = "low",
        /// `Range.high`.
        high: Option<Quantity> = "high",
    }
}

impl Element for Range {}

element! {
    /// A ratio of two quantities.
    pub struct Ratio {
        /// `Ratio.numerator`.
        numerator: Option<Quantity> = "numerator",
        /// `Ratio.denominator`.
        denominator: Option<Quantity> = "denominator",
    }
}

impl Element for Ratio {}

element! {
    /// A person's name.
    pub struct HumanName {
        /// `HumanName.use`.
        use_: Option<String> = "use",
        /// `HumanName.text`.
        text: Option<String> = "text",
        /// `HumanName.family` (a single string in STU3).
        family: Option<String> = "family",
        /// `HumanName.given`.
        given: Vec<String> = "given",
        /// `HumanName.prefix`.
        prefix: Vec<String> = "prefix",
        /// `HumanName.suffix`.
        suffix: Vec<String> = "suffix",
    }
}

impl Element for HumanName {}

element! {
    /// A postal address.
    pub struct Address {
        /// `Address.use`.
        use_: Option<String> = "use",
        /// `Address.type`.
        type_: Option<String> = "type",
        /// `Address.text`.
        text: Option<String> = "text",
        /// `Address.line`.
        line: Vec<String> = "line",
        /// `Address.city`.
        city: Option<String> = "city",
        /// `Address.district`.
        district: Option<String> = "district",
        /// `Address.state`.
        state: Option<String> = "state",
        /// `Address.postalCode`.
        postal_code: Option<String> = "postalCode",
        /// `Address.country`.
        country: Option<String> = "country",
    }
}

impl Element for Address {}

element! {
    /// A phone number, email address or similar.
    pub struct ContactPoint {
        /// `ContactPoint.system`.
        system: Option<String> = "system",
        /// `ContactPoint.value`.
        value: Option<String> = "value",
        /// `ContactPoint.use`.
        use_: Option<String> = "use",
    }
}

impl Element for ContactPoint {}

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

element! {
    /// Metadata about a resource.
    pub struct Meta {
        /// `Meta.versionId`.
        version_id: Option<String> = "versionId",
        /// `Meta.lastUpdated`.
        last_updated: Option<String> = "lastUpdated",
        /// `Meta.profile`.
        profile: Vec<String> = "profile",
        /// `Meta.security`.
        security: Vec<Coding> = "security",
    }
}

impl Element for Meta {}

element! {
    /// How a medication is to be taken.
    pub struct Dosage {
        /// `Dosage.text`.
        text: Option<String> = "text",
        /// `Dosage.patientInstruction`.
        patient_instruction: Option<String> = "patientInstruction",
    }
}

impl Element for Dosage {}

element! {
    /// A human-readable summary of a resource.
    pub struct Narrative {
        /// `Narrative.status`.
        status: Option<String> = "status",
        /// `Narrative.div` (XHTML).
        div: Option<String> = "div",
    }
}

impl Element for Narrative {}

//! What the shared data types ([`datatypes`](crate::datatypes)) are besides
//! their elements: their text forms in a tolerant read, and constructors.

use crate::datatypes::*;
use crate::lenient::Element;

impl Element for Coding {
    /// A bare code where a Coding belongs.
    fn from_text(text: &str) -> Option<Self> {
        Some(Coding {
            code: Some(text.to_string()),
            ..Default::default()
        })
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

impl Element for Reference {
    /// A bare reference string where a Reference belongs.
    fn from_text(text: &str) -> Option<Self> {
        Some(Reference {
            reference: Some(text.to_string()),
            ..Default::default()
        })
    }
}

impl Element for Identifier {}
impl Element for Period {}
impl Element for Quantity {}
impl Element for Range {}
impl Element for Ratio {}
impl Element for HumanName {}
impl Element for Address {}
impl Element for ContactPoint {}
impl Element for Meta {}
impl Element for Dosage {}
impl Element for Narrative {}

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

impl Identifier {
    /// An identifier of `system` with `value`.
    pub fn new(system: &str, value: &str) -> Self {
        Identifier {
            system: Some(system.to_string()),
            value: Some(value.to_string()),
            ..Default::default()
        }
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

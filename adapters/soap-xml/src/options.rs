//! The `[options]` of a `soap-xml` source.

use icr_adapter_sdk::{BuildError, KindOptions, SourceSpec, within};
use serde::Deserialize;

use crate::answer::ReadLimits;
use crate::xml::Limits;

/// The `SOAPAction` of `GetPersonSummary` in the contract.
pub const DEFAULT_SOAP_ACTION: &str = "urn:icr:socialcare:personsummary:1/GetPersonSummary";

/// Settings of a `soap-xml` source, read from the `[options]` table of its
/// registration. Every field is optional.
///
/// ```toml
/// [options]
/// soap_action = "urn:icr:socialcare:personsummary:1/GetPersonSummary"
/// max_items = 5000
/// max_depth = 64
/// max_elements = 200000
/// max_text_bytes = 65536
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SoapXmlOptions {
    /// The `SOAPAction` sent (without the quotes the header puts around
    /// it), for a service published behind a gateway that renames the
    /// operation. Default: the contract's
    /// `urn:icr:socialcare:personsummary:1/GetPersonSummary`.
    pub soap_action: String,
    /// Items read from one answer, 1 to 100000; beyond it the rest is
    /// reported as `truncated`. Default 5000.
    pub max_items: usize,
    /// Deepest nesting of XML elements accepted, 8 to 256. Default 64.
    pub max_depth: usize,
    /// Most XML elements accepted in one answer, 100 to 10000000.
    /// Default 200000.
    pub max_elements: usize,
    /// Longest text value or attribute value accepted, in bytes, 1024 to
    /// 16777216. Default 65536.
    pub max_text_bytes: usize,
}

impl Default for SoapXmlOptions {
    fn default() -> Self {
        let limits = ReadLimits::default();
        Self {
            soap_action: DEFAULT_SOAP_ACTION.to_string(),
            max_items: limits.max_items,
            max_depth: limits.xml.max_depth,
            max_elements: limits.xml.max_elements,
            max_text_bytes: limits.xml.max_text_bytes,
        }
    }
}

impl KindOptions for SoapXmlOptions {
    type Checked = Self;

    /// Checks what serde cannot: the action's characters, the ranges.
    fn check(self, _: &SourceSpec) -> Result<Self, BuildError> {
        let action = self.soap_action.trim();
        if action.is_empty()
            || action.len() > 512
            || !action.chars().all(|c| c.is_ascii_graphic() && c != '"')
        {
            return Err(BuildError::option(
                "soap_action",
                "must be 1 to 512 printable ASCII characters, without spaces or quotes",
            ));
        }
        within("max_items", self.max_items, 1..=100_000)?;
        within("max_depth", self.max_depth, 8..=256)?;
        within("max_elements", self.max_elements, 100..=10_000_000)?;
        within(
            "max_text_bytes",
            self.max_text_bytes,
            1024..=16 * 1024 * 1024,
        )?;
        Ok(self)
    }
}

impl SoapXmlOptions {
    /// The read limits these options set.
    pub fn limits(&self) -> ReadLimits {
        ReadLimits {
            xml: Limits {
                max_depth: self.max_depth,
                max_elements: self.max_elements,
                max_text_bytes: self.max_text_bytes,
                ..Limits::default()
            },
            max_items: self.max_items,
        }
    }
}

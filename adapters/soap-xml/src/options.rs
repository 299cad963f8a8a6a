//! The `[options]` of a `soap-xml` source.

use icr_adapter_sdk::BuildError;
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

impl SoapXmlOptions {
    /// Checks the ranges serde cannot.
    pub fn validate(&self) -> Result<(), BuildError> {
        let invalid = |key: &str, message: &str| {
            Err(BuildError::Option {
                key: format!("options.{key}"),
                message: message.to_string(),
            })
        };
        let action = self.soap_action.trim();
        if action.is_empty()
            || action.len() > 512
            || !action.chars().all(|c| c.is_ascii_graphic() && c != '"')
        {
            return invalid(
                "soap_action",
                "must be 1 to 512 printable ASCII characters, without spaces or quotes",
            );
        }
        if !(1..=100_000).contains(&self.max_items) {
            return invalid("max_items", "must be between 1 and 100000");
        }
        if !(8..=256).contains(&self.max_depth) {
            return invalid("max_depth", "must be between 8 and 256");
        }
        if !(100..=10_000_000).contains(&self.max_elements) {
            return invalid("max_elements", "must be between 100 and 10000000");
        }
        if !(1024..=16 * 1024 * 1024).contains(&self.max_text_bytes) {
            return invalid("max_text_bytes", "must be between 1024 and 16777216");
        }
        Ok(())
    }

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

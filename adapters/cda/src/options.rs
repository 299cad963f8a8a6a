//! The `[options]` of a `cda` source.

use icr_adapter_sdk::BuildError;
use serde::Deserialize;

/// Settings of a `cda` source, read from the `[options]` table of its
/// registration. Every field is optional.
///
/// ```toml
/// [options]
/// page_size = 50
/// max_registry_pages = 4
/// max_documents = 50
/// max_concurrent_fetches = 4
/// max_text_chars = 100000
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CdaOptions {
    /// Entries asked for per page of the registry search (`_count`), 1 to
    /// 1000. Default 50.
    pub page_size: u32,
    /// Registry pages read, following `next` links on the same server, 1
    /// to 100. Default 4.
    pub max_registry_pages: u32,
    /// Documents fetched for one person, 1 to 1000: the most recent by the
    /// registry's date. More are reported as `truncated`. Default 50.
    pub max_documents: usize,
    /// Documents fetched at the same time, 1 to 32. Default 4.
    pub max_concurrent_fetches: usize,
    /// Characters of plain text kept per document, 1000 to 1000000; a
    /// longer text is cut and a note says so. Default 100000.
    pub max_text_chars: usize,
}

impl Default for CdaOptions {
    fn default() -> Self {
        Self {
            page_size: 50,
            max_registry_pages: 4,
            max_documents: 50,
            max_concurrent_fetches: 4,
            max_text_chars: 100_000,
        }
    }
}

impl CdaOptions {
    /// Checks the ranges serde cannot.
    pub fn validate(&self) -> Result<(), BuildError> {
        let invalid = |key: &str, message: &str| {
            Err(BuildError::Option {
                key: format!("options.{key}"),
                message: message.to_string(),
            })
        };
        if !(1..=1000).contains(&self.page_size) {
            return invalid("page_size", "must be between 1 and 1000");
        }
        if !(1..=100).contains(&self.max_registry_pages) {
            return invalid("max_registry_pages", "must be between 1 and 100");
        }
        if !(1..=1000).contains(&self.max_documents) {
            return invalid("max_documents", "must be between 1 and 1000");
        }
        if !(1..=32).contains(&self.max_concurrent_fetches) {
            return invalid("max_concurrent_fetches", "must be between 1 and 32");
        }
        if !(1_000..=1_000_000).contains(&self.max_text_chars) {
            return invalid("max_text_chars", "must be between 1000 and 1000000");
        }
        Ok(())
    }
}

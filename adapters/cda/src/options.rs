//! The `[options]` of a `cda` source.

use icr_adapter_sdk::{BuildError, KindOptions, SourceSpec, within};
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

impl KindOptions for CdaOptions {
    type Checked = Self;

    /// Checks the ranges serde cannot.
    fn check(self, _: &SourceSpec) -> Result<Self, BuildError> {
        within("page_size", self.page_size, 1..=1000)?;
        within("max_registry_pages", self.max_registry_pages, 1..=100)?;
        within("max_documents", self.max_documents, 1..=1000)?;
        within(
            "max_concurrent_fetches",
            self.max_concurrent_fetches,
            1..=32,
        )?;
        within("max_text_chars", self.max_text_chars, 1_000..=1_000_000)?;
        Ok(self)
    }
}

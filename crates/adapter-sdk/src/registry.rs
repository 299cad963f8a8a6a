//! Adapter kinds by name: adding a protocol is one crate and one
//! `register` call.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::{SourceAdapter, SourceSpec};

/// Builds an adapter from a source's registration.
pub type Factory = fn(&SourceSpec) -> Result<Arc<dyn SourceAdapter>, BuildError>;

/// Why a source's registration could not become an adapter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// No adapter is registered for the kind.
    #[error("unknown adapter kind {kind:?}; known kinds: {known}")]
    UnknownKind {
        /// The kind asked for.
        kind: String,
        /// The kinds registered, comma-separated.
        known: String,
    },
    /// A setting has a bad value.
    #[error("{key}: {message}")]
    Option {
        /// The key, as written in the file (`options.page_size`).
        key: String,
        /// What is wrong with it.
        message: String,
    },
}

/// The adapter kinds this build knows.
#[derive(Default, Clone)]
pub struct Registry {
    kinds: BTreeMap<&'static str, Factory>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `factory` for sources of `kind`; a later registration of
    /// the same kind replaces the earlier one.
    pub fn register(&mut self, kind: &'static str, factory: Factory) -> &mut Self {
        self.kinds.insert(kind, factory);
        self
    }

    /// The registered kinds, sorted.
    pub fn kinds(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.kinds.keys().copied()
    }

    /// Validates `spec` and builds its adapter.
    pub fn build(&self, spec: &SourceSpec) -> Result<Arc<dyn SourceAdapter>, BuildError> {
        let factory =
            self.kinds
                .get(spec.kind.as_str())
                .ok_or_else(|| BuildError::UnknownKind {
                    kind: spec.kind.clone(),
                    known: self.kinds().collect::<Vec<_>>().join(", "),
                })?;
        spec.validate()?;
        factory(spec)
    }
}

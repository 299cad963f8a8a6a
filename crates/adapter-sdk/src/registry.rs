//! Adapter kinds by name: adding a protocol is one crate and one
//! `register` call.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::{AdapterKind, SourceAdapter, SourceSpec};

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
    kinds: BTreeMap<&'static str, &'static dyn AdapterKind>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers an adapter kind (`registry.register(&icr_adapter_x::KIND)`);
    /// a later registration of the same name replaces the earlier one.
    pub fn register(&mut self, kind: &'static dyn AdapterKind) -> &mut Self {
        self.kinds.insert(kind.name(), kind);
        self
    }

    /// The registered kinds, sorted.
    pub fn kinds(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.kinds.keys().copied()
    }

    /// Builds `spec`'s adapter with its kind, which checks the
    /// registration first ([`Kind::check`](crate::Kind::check)).
    pub fn build(&self, spec: &SourceSpec) -> Result<Arc<dyn SourceAdapter>, BuildError> {
        let kind = self
            .kinds
            .get(spec.kind.as_str())
            .ok_or_else(|| BuildError::UnknownKind {
                kind: spec.kind.clone(),
                known: self.kinds().collect::<Vec<_>>().join(", "),
            })?;
        kind.build(spec)
    }
}

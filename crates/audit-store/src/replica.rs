//! A replica's name in the store: which chain an entry belongs to.

use std::fmt;

/// A replica's id: 1 to 63 lower-case ASCII letters, digits and hyphens,
/// starting with a letter or digit (a Kubernetes pod name fits).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct ReplicaId(String);

/// Why a replica id was refused.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error(
    "a replica id is 1 to 63 lower-case letters, digits and hyphens, not starting with a hyphen"
)]
pub struct ReplicaError;

impl ReplicaId {
    /// Parses a replica id.
    pub fn parse(s: &str) -> Result<Self, ReplicaError> {
        let ok = (1..=63).contains(&s.len())
            && !s.starts_with('-')
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        ok.then(|| Self(s.to_owned())).ok_or(ReplicaError)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ReplicaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replica_ids_are_dns_labels() {
        for ok in ["a", "icr-0", "gateway-7f9c-2", &"x".repeat(63)] {
            assert_eq!(
                ReplicaId::parse(ok).map(|r| r.to_string()),
                Ok(ok.to_owned())
            );
        }
        for bad in ["", "-a", "A", "a_b", "a.b", "a b", &"x".repeat(64)] {
            assert_eq!(ReplicaId::parse(bad), Err(ReplicaError), "{bad:?}");
        }
    }
}

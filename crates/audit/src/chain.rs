//! The chain's values: sequence numbers, SHA-256 entry hashes, and a point
//! on the chain (the sequence and hash of one entry). Pure, no I/O.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

/// The position of an entry in the log: 1 for the first entry ever written,
/// then one more for each entry, across files and restarts.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sequence(u64);

impl Sequence {
    /// The sequence "before the first entry", at the genesis of a log.
    pub const ZERO: Sequence = Sequence(0);

    /// Wraps a raw sequence number.
    pub const fn new(n: u64) -> Self {
        Self(n)
    }

    /// The raw number.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The next sequence number, or `None` at `u64::MAX` (never reached:
    /// a million entries a second would take 584,000 years).
    pub fn next(self) -> Option<Sequence> {
        self.0.checked_add(1).map(Sequence)
    }
}

impl fmt::Display for Sequence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A SHA-256 hash of one entry, written as 64 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct EntryHash([u8; 32]);

impl EntryHash {
    /// The fixed value the first entry of a log chains from: 32 zero bytes.
    pub const GENESIS: EntryHash = EntryHash([0; 32]);

    /// The SHA-256 of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self::of_parts(&[bytes])
    }

    /// The SHA-256 of the concatenation of `parts`.
    pub fn of_parts(parts: &[&[u8]]) -> Self {
        let mut h = Sha256::new();
        for p in parts {
            h.update(p);
        }
        Self(h.finalize().into())
    }

    /// Parses exactly 64 lower-case hex digits (the only form written).
    pub fn parse_hex(s: &[u8]) -> Option<Self> {
        if s.len() != 64
            || !s
                .iter()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
        {
            return None;
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).ok()?;
        Some(Self(out))
    }

    /// The hash as 64 lower-case hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The hash whose raw bytes are `bytes` (as [`as_bytes`](Self::as_bytes)
    /// gives them, e.g. stored in a database).
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for EntryHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for EntryHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EntryHash({})", self.to_hex())
    }
}

impl Serialize for EntryHash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for EntryHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse_hex(s.as_bytes())
            .ok_or_else(|| serde::de::Error::custom("expected 64 lower-case hex digits"))
    }
}

/// A point on the chain: an entry's sequence number and hash. The next
/// entry has sequence `seq + 1` and `prev` equal to `hash`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct ChainPoint {
    /// The entry's sequence number.
    pub seq: Sequence,
    /// The entry's hash.
    pub hash: EntryHash,
}

impl ChainPoint {
    /// Where every log starts: sequence 0 and the genesis hash.
    pub const GENESIS: ChainPoint = ChainPoint {
        seq: Sequence::ZERO,
        hash: EntryHash::GENESIS,
    };

    /// Parses `SEQ:HASH` (e.g. `1204:9f86…`), the form [`ChainPoint`]'s
    /// `Display` writes and `icr audit verify --head` takes.
    pub fn parse(s: &str) -> Option<Self> {
        let (seq, hash) = s.trim().split_once(':')?;
        Some(Self {
            seq: Sequence(seq.parse().ok()?),
            hash: EntryHash::parse_hex(hash.as_bytes())?,
        })
    }
}

impl fmt::Display for ChainPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.seq, self.hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_strict_lower_case() {
        let h = EntryHash::of(b"abc");
        assert_eq!(
            h.to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(EntryHash::parse_hex(h.to_hex().as_bytes()), Some(h));
        assert_eq!(
            EntryHash::parse_hex(h.to_hex().to_uppercase().as_bytes()),
            None
        );
        assert_eq!(EntryHash::parse_hex(&h.to_hex().as_bytes()[1..]), None);
        assert_eq!(EntryHash::of_parts(&[b"a", b"bc"]), h);
    }

    #[test]
    fn chain_points_round_trip() {
        let p = ChainPoint {
            seq: Sequence::new(42),
            hash: EntryHash::of(b"x"),
        };
        assert_eq!(ChainPoint::parse(&p.to_string()), Some(p));
        assert_eq!(ChainPoint::parse("42"), None);
        assert_eq!(ChainPoint::parse("x:00"), None);
        assert_eq!(Sequence::new(u64::MAX).next(), None);
    }
}

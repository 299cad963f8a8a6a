//! The project key and the pseudonyms it makes.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use icr_model::{NhsNumber, SourceId};
use serde::{Serialize, Serializer};
use sha2::{Digest, Sha256};

/// The fewest key bytes accepted: HMAC-SHA-256's output length, so the key
/// is never the weaker part (RFC 2104 §3).
pub const MIN_KEY_BYTES: usize = 32;

/// Domain prefixes: each pseudonym kind hashes a different message, so a
/// person's and a record's pseudonyms never collide, and the key id is not
/// any pseudonym. `v1` lets a later scheme change without reusing them.
const PERSON_DOMAIN: &[u8] = b"icr-pseudonymise/v1/person\0";
const RECORD_DOMAIN: &[u8] = b"icr-pseudonymise/v1/record\0";
const KEY_ID_DOMAIN: &[u8] = b"icr-pseudonymise/v1/key-id\0";

/// Why a key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The key has fewer than [`MIN_KEY_BYTES`] bytes.
    #[error("the project key has {0} bytes; at least {MIN_KEY_BYTES} are required")]
    TooShort(usize),
}

/// The secret under which an extract's pseudonyms are made. It keeps only
/// HMAC's keyed state, never prints it (Debug shows the [`key_id`]), and
/// has no Display or Serialize.
///
/// [`key_id`]: ProjectKey::key_id
#[derive(Clone)]
pub struct ProjectKey {
    mac: Hmac<Sha256>,
    id: String,
}

impl ProjectKey {
    /// A key from its bytes (as read from the secret file by the caller);
    /// fewer than [`MIN_KEY_BYTES`] is refused.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.len() < MIN_KEY_BYTES {
            return Err(KeyError::TooShort(bytes.len()));
        }
        let mut digest = Sha256::new();
        digest.update(KEY_ID_DOMAIN);
        digest.update(bytes);
        let id = hex::encode(&digest.finalize()[..8]);
        Ok(Self {
            mac: keyed(bytes),
            id,
        })
    }

    /// A public identifier of the key, 16 hex digits (the first 8 bytes of
    /// SHA-256 over a domain prefix and the key): a manifest names the key
    /// with it, so two extracts can be seen to share one, without revealing
    /// it.
    pub fn key_id(&self) -> &str {
        &self.id
    }

    fn tag(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        for p in parts {
            mac.update(p);
        }
        mac.finalize().into_bytes().into()
    }
}

impl fmt::Debug for ProjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProjectKey(id {})", self.id)
    }
}

/// HMAC-SHA-256 keyed with `key` (any length: HMAC accepts all).
fn keyed(key: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of every length (a long one is hashed first), so
    // this cannot fail; the fallback keeps the function total.
    <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| <Hmac<Sha256> as KeyInit>::new(&Default::default()))
}

/// HMAC-SHA-256(key, message) in one call, for the RFC 4231 vectors.
#[cfg(test)]
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = keyed(key);
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// A pseudonym: 64 lower-case hex digits (the whole HMAC-SHA-256 tag).
/// The same input under the same key always gives the same pseudonym;
/// under another key an unrelated one.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Pseudonym(String);

impl Pseudonym {
    /// The person's pseudonym: the tag of `person` domain ‖ the NHS
    /// number's ten digits.
    pub fn person(key: &ProjectKey, nhs: NhsNumber) -> Self {
        Self(hex::encode(
            key.tag(&[PERSON_DOMAIN, nhs.as_str().as_bytes()]),
        ))
    }

    /// A source record's pseudonym: the tag of `record` domain ‖ source
    /// id ‖ NUL ‖ the source's own id. A source id has no NUL, so the
    /// message is unambiguous.
    pub fn record(key: &ProjectKey, source: &SourceId, local_id: &str) -> Self {
        Self(hex::encode(key.tag(&[
            RECORD_DOMAIN,
            source.as_str().as_bytes(),
            b"\0",
            local_id.as_bytes(),
        ])))
    }

    /// The pseudonym as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Pseudonym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Pseudonym {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nhs(s: &str) -> NhsNumber {
        NhsNumber::parse(s).unwrap()
    }

    fn key(byte: u8) -> ProjectKey {
        ProjectKey::from_bytes(&[byte; 32]).unwrap()
    }

    /// RFC 4231 §4.2, test case 1.
    #[test]
    fn rfc4231_test_case_1() {
        assert_eq!(
            hex::encode(hmac_sha256(&[0x0b; 20], b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
    }

    /// RFC 4231 §4.3, test case 2 (a key shorter than the output).
    #[test]
    fn rfc4231_test_case_2() {
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    /// RFC 4231 §4.7, test case 6 (a key longer than a block, hashed
    /// first), through a [`ProjectKey`] as well as the primitive.
    #[test]
    fn rfc4231_test_case_6_through_a_project_key() {
        let expected = "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54";
        let msg = b"Test Using Larger Than Block-Size Key - Hash Key First";
        assert_eq!(hex::encode(hmac_sha256(&[0xaa; 131], msg)), expected);
        let key = ProjectKey::from_bytes(&[0xaa; 131]).unwrap();
        assert_eq!(hex::encode(key.tag(&[&msg[..10], &msg[10..]])), expected);
    }

    /// Fixed answers: a change of scheme must be deliberate (a new domain
    /// version), since it unlinks every earlier extract.
    #[test]
    fn known_pseudonyms() {
        let k = key(0x42);
        assert_eq!(
            Pseudonym::person(&k, nhs("9434765919")).as_str(),
            hex::encode(hmac_sha256(
                &[0x42; 32],
                b"icr-pseudonymise/v1/person\x009434765919"
            ))
        );
        assert_eq!(
            Pseudonym::person(&k, nhs("9434765919")).as_str(),
            "a580e0621a7dc82e25d3afd919d1f258c3a8d3fa04b65aac65c8868d20f400de"
        );
        assert_eq!(
            Pseudonym::record(&k, &SourceId::parse("gwh").unwrap(), "Condition/1").as_str(),
            "2b4be607f61e29a62ae731130ef040b323600ae4ed6b910197de216d87d42806"
        );
        assert_eq!(k.key_id(), "ece6b2686489a809");
    }

    #[test]
    fn same_key_same_pseudonym_other_key_other() {
        let n = nhs("9434765919");
        assert_eq!(Pseudonym::person(&key(1), n), Pseudonym::person(&key(1), n));
        assert_ne!(Pseudonym::person(&key(1), n), Pseudonym::person(&key(2), n));
        assert_ne!(
            Pseudonym::person(&key(1), n),
            Pseudonym::person(&key(1), nhs("9999999468"))
        );
        assert_ne!(key(1).key_id(), key(2).key_id());
        assert_eq!(key(1).key_id().len(), 16);
    }

    #[test]
    fn two_keys_share_no_pseudonym_over_a_population() {
        use std::collections::HashSet;
        let people: Vec<NhsNumber> = (999_000_000..999_002_000)
            .filter_map(NhsNumber::from_first_nine)
            .collect();
        assert!(people.len() > 1500, "{}", people.len());
        let under = |k: &ProjectKey| -> HashSet<Pseudonym> {
            people.iter().map(|n| Pseudonym::person(k, *n)).collect()
        };
        let (a, again, b) = (under(&key(1)), under(&key(1)), under(&key(2)));
        // No collisions within a key; identical under the same key.
        assert_eq!(a.len(), people.len());
        assert_eq!(a, again);
        assert_eq!(a.intersection(&b).count(), 0);
    }

    #[test]
    fn person_and_record_domains_differ() {
        let k = key(7);
        let n = nhs("9434765919");
        let src = SourceId::parse("gwh").unwrap();
        // Even when a record id is spelt like the NHS number.
        assert_ne!(
            Pseudonym::person(&k, n).as_str(),
            Pseudonym::record(&k, &src, "9434765919").as_str()
        );
        assert_ne!(
            Pseudonym::person(&k, n).as_str(),
            hex::encode(hmac_sha256(&[7; 32], b"9434765919"))
        );
        // Source and local parts cannot be shifted into one another.
        let a = Pseudonym::record(&k, &SourceId::parse("ab").unwrap(), "c");
        let b = Pseudonym::record(&k, &SourceId::parse("a").unwrap(), "bc");
        assert_ne!(a, b);
    }

    #[test]
    fn short_keys_are_refused() {
        assert_eq!(
            ProjectKey::from_bytes(&[1; 31]).unwrap_err(),
            KeyError::TooShort(31)
        );
        assert_eq!(
            ProjectKey::from_bytes(&[]).unwrap_err(),
            KeyError::TooShort(0)
        );
        assert!(ProjectKey::from_bytes(&[1; 32]).is_ok());
    }

    #[test]
    fn debug_never_shows_the_key() {
        let bytes: Vec<u8> = (b'a'..=b'z').chain(b'A'..=b'F').collect();
        let k = ProjectKey::from_bytes(&bytes).unwrap();
        let debug = format!("{k:?} {:#?}", k);
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(!debug.contains(&text[..8]), "{debug}");
        assert!(!debug.contains(&hex::encode(&bytes[..8])), "{debug}");
        assert_eq!(format!("{k:?}"), format!("ProjectKey(id {})", k.key_id()));
    }
}

//! SNOMED CT concept identifiers, checked as the standard defines them: 6 to
//! 18 digits, no leading zero, a concept partition, and a Verhoeff check
//! digit. A typo in a sensitive-code list is caught when the policy loads
//! instead of silently never matching.

use std::fmt;

/// A well-formed SNOMED CT concept id (international or extension).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct SctId(Box<str>);

/// Why a text is not a SNOMED CT concept id.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SctIdError {
    /// Not 6 to 18 ASCII digits without a leading zero.
    #[error("a SNOMED CT id has 6 to 18 digits and does not start with 0")]
    Shape,
    /// The partition digits do not say "concept" (00 or 10).
    #[error(
        "the partition digits (second and third from the end) are not 00 or 10, so this is not a concept id"
    )]
    NotAConcept,
    /// The Verhoeff check digit is wrong.
    #[error("the check digit is wrong (Verhoeff): probably a typo")]
    CheckDigit,
}

impl SctId {
    /// Parses a concept id.
    pub fn parse(s: &str) -> Result<Self, SctIdError> {
        let b = s.as_bytes();
        if !(6..=18).contains(&b.len()) || !b.iter().all(u8::is_ascii_digit) || b[0] == b'0' {
            return Err(SctIdError::Shape);
        }
        let n = b.len();
        match (b[n - 3], b[n - 2]) {
            (b'0' | b'1', b'0') => {}
            _ => return Err(SctIdError::NotAConcept),
        }
        if !verhoeff_valid(b) {
            return Err(SctIdError::CheckDigit);
        }
        Ok(Self(s.into()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SctId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

const D: [[u8; 10]; 10] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];

const P: [[u8; 10]; 8] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];

/// True when the ASCII digits `b` (check digit last) pass the Verhoeff check.
fn verhoeff_valid(b: &[u8]) -> bool {
    let mut c = 0u8;
    for (i, digit) in b.iter().rev().enumerate() {
        let d = usize::from(digit.wrapping_sub(b'0') % 10);
        c = D[usize::from(c)][usize::from(P[i % 8][d])];
    }
    c == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_concept_ids_pass() {
        for id in [
            "86406008",        // HIV infection
            "22298006",        // Myocardial infarction
            "44054006",        // Type 2 diabetes mellitus
            "446131000124102", // extension concept (long form, partition 10)
        ] {
            assert_eq!(SctId::parse(id).map(|s| s.to_string()), Ok(id.to_string()));
        }
    }

    #[test]
    fn typos_and_non_concepts_fail() {
        assert_eq!(SctId::parse("86406009"), Err(SctIdError::CheckDigit));
        assert_eq!(SctId::parse("84606008"), Err(SctIdError::CheckDigit));
        assert_eq!(SctId::parse("12345"), Err(SctIdError::Shape));
        assert_eq!(SctId::parse("086406008"), Err(SctIdError::Shape));
        assert_eq!(SctId::parse("8640600x"), Err(SctIdError::Shape));
        assert_eq!(SctId::parse(""), Err(SctIdError::Shape));
        assert_eq!(SctId::parse("1234567890123456789"), Err(SctIdError::Shape));
        // A description id (partition 01) is not a concept.
        assert_eq!(SctId::parse("123456011"), Err(SctIdError::NotAConcept));
    }
}

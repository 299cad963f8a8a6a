//! Break-glass: access without a recorded relationship, on a stated reason
//! of real substance, always recorded as such. The reason is text in any
//! language: it arrives in `X-Break-Glass-Reason` as UTF-8 bytes, or in
//! `X-Break-Glass-Reason*` as an RFC 8187 value ([`reason_from_bytes`],
//! [`reason_from_ext_value`]); only control characters are refused.

use std::collections::HashSet;
use std::fmt;

/// How a break-glass reason is judged, from `[break_glass]` in the policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BreakGlassRules {
    /// Fewest characters, after trimming and collapsing whitespace.
    pub min_chars: usize,
    /// Most characters, after trimming and collapsing whitespace.
    pub max_chars: usize,
    /// Fewest distinct letters and digits (case-insensitive): rejects
    /// `aaaaaaaaaaaaaaaaaaaaaa` and `asdfasdfasdfasdfasdf`.
    pub min_distinct: usize,
    /// Fewest different words of two or more letters: rejects
    /// `1234567890 1234567890` and `unconscious unconscious unconscious`.
    pub min_words: usize,
    /// Whether a valid break-glass overrides the person's objection.
    pub overrides_objections: bool,
}

impl Default for BreakGlassRules {
    fn default() -> Self {
        Self {
            min_chars: 20,
            max_chars: 500,
            min_distinct: 8,
            min_words: 3,
            overrides_objections: false,
        }
    }
}

/// Why a break-glass reason was not accepted. The message describes the
/// rule and never repeats the reason.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReasonProblem {
    /// Contains control characters.
    #[error("the break-glass reason contains control characters")]
    ControlCharacters,
    /// Shorter than the minimum.
    #[error("the break-glass reason is shorter than {min} characters")]
    TooShort {
        /// The minimum.
        min: usize,
    },
    /// Longer than the maximum.
    #[error("the break-glass reason is longer than {max} characters")]
    TooLong {
        /// The maximum.
        max: usize,
    },
    /// Too few distinct letters and digits: repeated characters.
    #[error(
        "the break-glass reason has fewer than {min} different letters or digits: state the clinical reason"
    )]
    Repetitive {
        /// The minimum.
        min: usize,
    },
    /// Too few different words.
    #[error(
        "the break-glass reason has fewer than {min} different words: state the clinical reason"
    )]
    TooFewWords {
        /// The minimum.
        min: usize,
    },
}

/// A break-glass reason the policy accepted: trimmed, whitespace collapsed
/// to single spaces, within the configured length. It is the caller's own
/// text and goes to the audit record.
#[derive(Clone, PartialEq, Eq)]
pub struct BreakGlassReason(Box<str>);

impl BreakGlassReason {
    /// The reason as recorded.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for BreakGlassReason {
    // Free text the caller wrote may name the patient: not for logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BreakGlassReason({} chars)", self.0.chars().count())
    }
}

/// Why a break-glass header's value is not text. The messages never
/// repeat the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReasonEncodingError {
    /// The raw bytes are not UTF-8.
    #[error("not UTF-8")]
    NotUtf8,
    /// Not `charset'language'value-chars` (RFC 8187 §3.2.1).
    #[error("expected UTF-8'language'percent-encoded text")]
    NotExtValue,
    /// A charset other than UTF-8.
    #[error("only the UTF-8 charset is accepted")]
    Charset,
    /// The percent-encoded bytes are not UTF-8.
    #[error("the percent-encoded bytes are not UTF-8")]
    ExtNotUtf8,
}

/// The reason as a header value's own bytes. HTTP carries bytes beyond
/// ASCII in a header value (RFC 9110 §5.5, obs-text), and clients send
/// text as UTF-8: that is what is accepted; anything else is refused
/// rather than guessed (a Latin-1 `é` is not the same bytes).
pub fn reason_from_bytes(value: &[u8]) -> Result<&str, ReasonEncodingError> {
    std::str::from_utf8(value).map_err(|_| ReasonEncodingError::NotUtf8)
}

/// The reason as an RFC 8187 `ext-value` (`UTF-8'en'Patient%20caf%C3%A9`):
/// the charset UTF-8 (in any case), an optional language tag (ignored),
/// then attr-chars and percent-encoded bytes that together are UTF-8.
pub fn reason_from_ext_value(value: &[u8]) -> Result<String, ReasonEncodingError> {
    let mut parts = value.splitn(3, |b| *b == b'\'');
    let (Some(charset), Some(language), Some(chars)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(ReasonEncodingError::NotExtValue);
    };
    if language.len() > 64
        || !language
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
    {
        return Err(ReasonEncodingError::NotExtValue);
    }
    if !charset.eq_ignore_ascii_case(b"UTF-8") {
        return Err(
            if !charset.is_empty() && charset.iter().all(|b| is_attr_char(*b)) {
                ReasonEncodingError::Charset
            } else {
                ReasonEncodingError::NotExtValue
            },
        );
    }
    let mut bytes = Vec::with_capacity(chars.len());
    let mut rest = chars;
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'%' {
            let (Some(hi), Some(lo)) = (
                tail.first().and_then(|h| hex(*h)),
                tail.get(1).and_then(|l| hex(*l)),
            ) else {
                return Err(ReasonEncodingError::NotExtValue);
            };
            bytes.push(hi << 4 | lo);
            rest = tail.get(2..).unwrap_or_default();
        } else if is_attr_char(b) {
            bytes.push(b);
            rest = tail;
        } else {
            return Err(ReasonEncodingError::NotExtValue);
        }
    }
    String::from_utf8(bytes).map_err(|_| ReasonEncodingError::ExtNotUtf8)
}

/// RFC 8187 attr-char: ALPHA / DIGIT / "!" / "#" / "$" / "&" / "+" / "-"
/// / "." / "^" / "_" / "`" / "|" / "~".
fn is_attr_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b)
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

impl BreakGlassRules {
    /// Judges `raw`: no control characters; after trimming and collapsing
    /// whitespace, between `min_chars` and `max_chars` characters, at
    /// least `min_distinct` different letters or digits and at least
    /// `min_words` different words of two or more letters.
    pub fn judge(&self, raw: &str) -> Result<BreakGlassReason, ReasonProblem> {
        // Tab and newline are whitespace here; anything else below U+0020
        // (and DEL, C1) is refused.
        if raw
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        {
            return Err(ReasonProblem::ControlCharacters);
        }
        let mut text = String::with_capacity(raw.len().min(4 * self.max_chars + 4));
        let mut chars = 0usize;
        for word in raw.split_whitespace() {
            if !text.is_empty() {
                text.push(' ');
                chars += 1;
            }
            text.push_str(word);
            chars += word.chars().count();
            if chars > self.max_chars {
                return Err(ReasonProblem::TooLong {
                    max: self.max_chars,
                });
            }
        }
        if chars < self.min_chars {
            return Err(ReasonProblem::TooShort {
                min: self.min_chars,
            });
        }
        let distinct: HashSet<char> = text
            .chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect();
        if distinct.len() < self.min_distinct {
            return Err(ReasonProblem::Repetitive {
                min: self.min_distinct,
            });
        }
        let words: HashSet<String> = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.chars().filter(|c| c.is_alphabetic()).count() >= 2)
            .map(str::to_lowercase)
            .collect();
        let words = words.len();
        if words < self.min_words {
            return Err(ReasonProblem::TooFewWords {
                min: self.min_words,
            });
        }
        Ok(BreakGlassReason(text.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_reasons_pass_and_are_normalised() {
        let r = BreakGlassRules::default();
        let ok = r
            .judge("  Patient unconscious in resus,\n\tno GP record available  ")
            .unwrap();
        assert_eq!(
            ok.as_str(),
            "Patient unconscious in resus, no GP record available"
        );
        assert!(r.judge("Bewusstlos nach Sturz, Medikation unklar").is_ok());
        assert!(
            r.judge("Émergence : patient inconscient, allergies?")
                .is_ok()
        );
        assert!(!format!("{ok:?}").contains("unconscious"));
    }

    #[test]
    fn each_rule_refuses() {
        let r = BreakGlassRules::default();
        assert_eq!(r.judge(""), Err(ReasonProblem::TooShort { min: 20 }));
        assert_eq!(
            r.judge("                          "),
            Err(ReasonProblem::TooShort { min: 20 })
        );
        assert_eq!(
            r.judge("emergency"),
            Err(ReasonProblem::TooShort { min: 20 })
        );
        // 20 characters only when the padding is counted: collapsed, 19.
        assert_eq!(
            r.judge("emergency   care  now"),
            Err(ReasonProblem::TooShort { min: 20 })
        );
        assert_eq!(
            r.judge("aaaaaaaaaaaaaaaaaaaaaaaaa"),
            Err(ReasonProblem::Repetitive { min: 8 })
        );
        assert_eq!(
            r.judge("asdf asdf asdf asdf asdf asdf"),
            Err(ReasonProblem::Repetitive { min: 8 })
        );
        assert_eq!(
            r.judge("1234567890 1234567890 12"),
            Err(ReasonProblem::TooFewWords { min: 3 })
        );
        assert_eq!(
            r.judge("Unconsciousness-observed 1234"),
            Err(ReasonProblem::TooFewWords { min: 3 })
        );
        assert_eq!(
            r.judge("patient unconscious Patient UNCONSCIOUS"),
            Err(ReasonProblem::TooFewWords { min: 3 })
        );
        assert_eq!(
            r.judge(&"Patient unconscious ".repeat(30)),
            Err(ReasonProblem::TooLong { max: 500 })
        );
        assert_eq!(
            r.judge("Patient unconscious\u{0}, no record"),
            Err(ReasonProblem::ControlCharacters)
        );
        assert_eq!(
            r.judge("Patient unconscious\u{1b}[2J no record"),
            Err(ReasonProblem::ControlCharacters)
        );
    }

    #[test]
    fn reasons_arrive_as_utf8_bytes_or_rfc_8187_values() {
        assert_eq!(reason_from_bytes("café — 🚑".as_bytes()), Ok("café — 🚑"));
        assert_eq!(
            reason_from_bytes(b"caf\xe9"),
            Err(ReasonEncodingError::NotUtf8)
        );
        // RFC 8187's own examples, and a language tag ignored.
        assert_eq!(
            reason_from_ext_value(b"UTF-8'en'%C2%A3%20rates").as_deref(),
            Ok("£ rates")
        );
        assert_eq!(
            reason_from_ext_value(b"utf-8''%c2%a3%20and%20%e2%82%ac%20rates").as_deref(),
            Ok("£ and € rates")
        );
        assert_eq!(reason_from_ext_value(b"UTF-8''").as_deref(), Ok(""));
        let refused: [(&[u8], ReasonEncodingError); 9] = [
            (b"ISO-8859-1'en'%A3%20rates", ReasonEncodingError::Charset),
            (b"'en'%C2%A3", ReasonEncodingError::NotExtValue),
            (b"UTF-8'%C2%A3", ReasonEncodingError::NotExtValue),
            (b"%C2%A3", ReasonEncodingError::NotExtValue),
            (b"UTF-8''a b", ReasonEncodingError::NotExtValue),
            (b"UTF-8''100%", ReasonEncodingError::NotExtValue),
            (b"UTF-8''%4", ReasonEncodingError::NotExtValue),
            (b"UTF-8''%zz", ReasonEncodingError::NotExtValue),
            (b"UTF-8''caf%C3", ReasonEncodingError::ExtNotUtf8),
        ];
        for (value, expected) in refused {
            assert_eq!(
                reason_from_ext_value(value),
                Err(expected),
                "{}",
                String::from_utf8_lossy(value)
            );
        }
        // Decoded control characters reach the rules, which refuse them.
        let escape =
            reason_from_ext_value(b"UTF-8''Unconscious%1B%5B2J%20in%20resus%2C%20no%20record")
                .unwrap();
        assert_eq!(
            BreakGlassRules::default().judge(&escape),
            Err(ReasonProblem::ControlCharacters)
        );
    }

    proptest::proptest! {
        #[test]
        fn any_text_percent_encoded_decodes_to_itself(text in "\\PC{0,200}") {
            let encoded: String = text
                .bytes()
                .map(|b| if is_attr_char(b) { char::from(b).to_string() } else { format!("%{b:02X}") })
                .collect();
            let value = format!("UTF-8''{encoded}");
            proptest::prop_assert_eq!(reason_from_ext_value(value.as_bytes()), Ok(text));
        }

        #[test]
        fn any_bytes_decode_or_are_refused_without_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let _ = reason_from_ext_value(&bytes);
            if let Ok(text) = reason_from_bytes(&bytes) {
                proptest::prop_assert_eq!(text.as_bytes(), &bytes[..]);
            }
        }
    }

    #[test]
    fn messages_never_repeat_the_reason() {
        let r = BreakGlassRules::default();
        for bad in [
            "secretname",
            "secretname secretname secretname",
            "secretname\u{0} is ill today ok",
        ] {
            let e = r.judge(bad).unwrap_err().to_string();
            assert!(!e.contains("secretname"), "{e}");
        }
    }
}

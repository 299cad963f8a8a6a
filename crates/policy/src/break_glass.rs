//! Break-glass: access without a recorded relationship, on a stated reason
//! of real substance, always recorded as such.

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

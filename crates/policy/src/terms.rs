//! Sensitive terms in free text: whether a document's text names a
//! sensitive condition, treatment or test in words.
//!
//! Text is read as a sequence of words (runs of letters and digits; every
//! other character separates words). A term matches where its words occur
//! one after another as whole words: `HIV` matches "Known HIV, on ART" but
//! not "archive"; `human immunodeficiency virus` matches across line
//! breaks and punctuation. A term written in capitals (an acronym such as
//! `HIV` or `STI`) matches only in capitals, so that `AIDS` does not match
//! "hearing aids"; any other term matches in any case.

use std::fmt;

/// Longest term, in characters.
pub const MAX_TERM_CHARS: usize = 100;

/// A phrase whose appearance in free text makes the text sensitive.
#[derive(Clone, PartialEq, Eq)]
pub struct Term {
    /// The term as written, for messages.
    text: Box<str>,
    /// Its words, lower-cased unless `exact_case`.
    words: Vec<Box<str>>,
    /// An acronym: matched in capitals only.
    exact_case: bool,
}

impl fmt::Debug for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Term({:?})", self.text)
    }
}

/// Why a text is not a usable term.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TermError {
    /// No letters or digits at all.
    #[error("a term needs at least one letter or digit")]
    Empty,
    /// Over the length limit.
    #[error("a term has at most {MAX_TERM_CHARS} characters")]
    TooLong,
    /// One letter or digit would match far too much.
    #[error("a term needs at least two letters or digits")]
    TooShort,
}

fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

impl Term {
    /// Parses a term as a policy writes it.
    pub fn parse(text: &str) -> Result<Self, TermError> {
        let text = text.trim();
        if text.chars().count() > MAX_TERM_CHARS {
            return Err(TermError::TooLong);
        }
        let raw: Vec<&str> = words(text).collect();
        if raw.is_empty() {
            return Err(TermError::Empty);
        }
        if raw.iter().map(|w| w.chars().count()).sum::<usize>() < 2 {
            return Err(TermError::TooShort);
        }
        let letters = || text.chars().filter(|c| c.is_alphabetic());
        let exact_case = letters().count() >= 2 && letters().all(char::is_uppercase);
        let words = raw
            .into_iter()
            .map(|w| {
                if exact_case {
                    Box::from(w)
                } else {
                    w.to_lowercase().into_boxed_str()
                }
            })
            .collect();
        Ok(Self {
            text: text.into(),
            words,
            exact_case,
        })
    }

    /// The term as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// A text read as words, once, to be matched against many terms.
pub struct Words<'a> {
    exact: Vec<&'a str>,
    lower: Vec<String>,
}

impl<'a> Words<'a> {
    /// Reads `texts` (a document's title, text, …) as one run of words;
    /// the texts are kept apart, so that no term spans two of them.
    pub fn read(texts: &[&'a str]) -> Self {
        let mut exact = Vec::new();
        for (i, t) in texts.iter().enumerate() {
            if i > 0 {
                // An empty word never equals a term's word: a boundary.
                exact.push("");
            }
            exact.extend(words(t));
        }
        let lower = exact.iter().map(|w| w.to_lowercase()).collect();
        Self { exact, lower }
    }

    /// Whether `term` occurs.
    pub fn contain(&self, term: &Term) -> bool {
        let n = term.words.len();
        if n == 0 || n > self.exact.len() {
            return false;
        }
        let matches = |at: usize| {
            term.words.iter().enumerate().all(|(k, w)| {
                if term.exact_case {
                    self.exact[at + k] == &**w
                } else {
                    self.lower[at + k] == **w
                }
            })
        };
        (0..=self.exact.len() - n).any(matches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has(text: &str, term: &str) -> bool {
        Words::read(&[text]).contain(&Term::parse(term).unwrap())
    }

    #[test]
    fn whole_words_only_and_acronyms_in_capitals() {
        assert!(has("Known HIV, on ART.", "HIV"));
        assert!(!has("Letter filed in the archive.", "HIV"));
        assert!(
            !has("Known hiv", "HIV"),
            "an acronym is matched in capitals"
        );
        assert!(!has("Wears hearing aids.", "AIDS"));
        assert!(has("PMH: AIDS-defining illness", "AIDS"));
        // A word between the term's words breaks the phrase.
        assert!(!has(
            "PMH: Human\nImmunodeficiency   virus (HIV) infection",
            "human immunodeficiency virus infection"
        ));
        assert!(has(
            "PMH: Human\nImmunodeficiency   virus infection, treated",
            "human immunodeficiency virus infection"
        ));
        assert!(has("Chlamydia trachomatis: positive", "chlamydia"));
        assert!(!has("chlamydial", "chlamydia"));
        assert!(has("Gonorrhœa — treated", "gonorrhœa"));
    }

    #[test]
    fn a_term_does_not_span_two_texts() {
        let words = Words::read(&["Report: human", "immunodeficiency virus"]);
        assert!(!words.contain(&Term::parse("human immunodeficiency virus").unwrap()));
        assert!(words.contain(&Term::parse("immunodeficiency virus").unwrap()));
    }

    #[test]
    fn terms_are_checked() {
        assert_eq!(Term::parse("  "), Err(TermError::Empty));
        assert_eq!(Term::parse("--"), Err(TermError::Empty));
        assert_eq!(Term::parse("a"), Err(TermError::TooShort));
        assert_eq!(Term::parse(&"x".repeat(101)), Err(TermError::TooLong));
        assert_eq!(Term::parse(" IVF ").unwrap().as_str(), "IVF");
    }
}

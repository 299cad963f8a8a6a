//! Typed source failures.

use icr_model::SourceStatus;

/// Why a source gave no usable answer. The gateway's own words never carry
/// patient data; a source's own diagnostics, quoted through
/// [`source_said`], may, and so messages go only to the caller who asked
/// about that person — never to logs, metrics, traces or the audit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// The source did not answer before the deadline.
    #[error("no answer within {after_ms} ms")]
    Timeout {
        /// How long the gateway waited.
        after_ms: u64,
    },
    /// The source could not be reached (connection refused, reset, DNS, TLS).
    #[error("unreachable: {0}")]
    Unavailable(String),
    /// The source answered with an HTTP error status.
    #[error("HTTP {status} from {what}")]
    HttpStatus {
        /// The status code.
        status: u16,
        /// Which request (e.g. `Patient search`), never a URL with
        /// identifiers; it may end with what the source said in the body
        /// (an OperationOutcome's codes and words, a SOAP fault), quoted
        /// through [`quoting_source`].
        what: String,
    },
    /// The source sent more than the configured limit.
    #[error("response over the {limit} byte limit")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The source sent something that could not be read.
    #[error("malformed response: {0}")]
    Malformed(String),
    /// The source answered and does not know the person.
    #[error("the source holds no record for this person")]
    PatientNotFound,
    /// The source understood the request and refused it or failed to
    /// answer it, saying so inside an answer that is otherwise a success:
    /// an HL7 v2 AE/AR, an OperationOutcome where the resource should be, a
    /// SOAP fault other than "not known" sent with HTTP 2xx. The message
    /// quotes the source's own words through [`quoting_source`].
    #[error("the source refused or failed the request: {0}")]
    Refused(String),
    /// The source holds a record but withholds it (for example the
    /// person's dissent to sharing, GP Connect `NO_PATIENT_CONSENT`).
    #[error("withheld by the source: {0}")]
    Withheld(String),
    /// The answer is about someone else, or mixes people: nothing from it
    /// may be shown. The most dangerous failure an integrated record can
    /// have; the message says how it was detected, never whose it was.
    #[error("identity mismatch: {0}")]
    IdentityMismatch(String),
}

impl SourceError {
    /// Of several failures of one source's requests, the one that best
    /// explains the source failing: unreachable, then too slow, then an
    /// HTTP error, then too much, then unreadable, refused or about
    /// someone else, then
    /// withheld, then not known. `None` when there were none.
    pub fn most_telling(errors: impl IntoIterator<Item = SourceError>) -> Option<SourceError> {
        let rank = |e: &SourceError| match e {
            SourceError::Unavailable(_) => 0,
            SourceError::Timeout { .. } => 1,
            SourceError::HttpStatus { .. } => 2,
            SourceError::TooLarge { .. } => 3,
            SourceError::IdentityMismatch(_) => 4,
            SourceError::Malformed(_) | SourceError::Refused(_) => 4,
            SourceError::Withheld(_) => 5,
            SourceError::PatientNotFound => 6,
        };
        errors.into_iter().min_by_key(rank)
    }

    /// The status the gateway reports for a source that failed so.
    pub fn status(&self) -> SourceStatus {
        match self {
            SourceError::Timeout { .. } => SourceStatus::Timeout,
            SourceError::Unavailable(_) => SourceStatus::Unavailable,
            SourceError::PatientNotFound => SourceStatus::NotFound,
            SourceError::Withheld(_) => SourceStatus::Withheld,
            SourceError::HttpStatus { .. }
            | SourceError::TooLarge { .. }
            | SourceError::Malformed(_)
            | SourceError::Refused(_)
            | SourceError::IdentityMismatch(_) => SourceStatus::Error,
        }
    }

    /// The name of [`SourceError::status`], as written in responses.
    pub fn status_name(&self) -> &'static str {
        self.status().as_str()
    }
}

/// Longest source diagnostic quoted in a message, in characters.
const MAX_SAID: usize = 300;

/// A source's own explanation of a failure (an OperationOutcome's
/// `diagnostics`, an HL7 v2 `ERR`/`MSA-3` text, a SOAP `faultstring`),
/// made fit to quote to the caller: control characters and runs of white
/// space become one space, and it is cut at 300 characters with `…`.
/// Empty when nothing readable is left.
pub fn source_said(text: &str) -> String {
    let mut out = String::new();
    let mut chars = 0;
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() || c.is_control() {
            space = !out.is_empty();
            continue;
        }
        if chars == MAX_SAID {
            out.push('…');
            return out;
        }
        if space {
            out.push(' ');
            chars += 1;
            space = false;
            if chars == MAX_SAID {
                out.push('…');
                return out;
            }
        }
        out.push(c);
        chars += 1;
    }
    out
}

/// `message`, then the source's own words about it when it gave any,
/// made fit to quote by [`source_said`]: `message: the source said "…"`.
pub fn quoting_source(message: impl Into<String>, text: &str) -> String {
    let message = message.into();
    let said = source_said(text);
    if said.is_empty() {
        message
    } else {
        format!("{message}: the source said \"{said}\"")
    }
}

/// Describes a JSON error by its kind and position only, so that no value
/// from the body (which may be patient data) reaches a message or a log.
pub fn json_error(what: &str, e: &serde_json::Error) -> String {
    let kind = match e.classify() {
        serde_json::error::Category::Io => "I/O error",
        serde_json::error::Category::Syntax => "invalid JSON",
        serde_json::error::Category::Data => "unexpected JSON structure",
        serde_json::error::Category::Eof => "truncated JSON",
    };
    format!("{what}: {kind} at line {} column {}", e.line(), e.column())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failure_has_one_typed_status_and_its_name() {
        let cases = [
            (SourceError::Timeout { after_ms: 1 }, SourceStatus::Timeout),
            (
                SourceError::Unavailable("x".into()),
                SourceStatus::Unavailable,
            ),
            (SourceError::PatientNotFound, SourceStatus::NotFound),
            (SourceError::Withheld("x".into()), SourceStatus::Withheld),
            (
                SourceError::HttpStatus {
                    status: 500,
                    what: "x".into(),
                },
                SourceStatus::Error,
            ),
            (SourceError::TooLarge { limit: 1 }, SourceStatus::Error),
            (SourceError::Malformed("x".into()), SourceStatus::Error),
            (SourceError::Refused("x".into()), SourceStatus::Error),
            (
                SourceError::IdentityMismatch("x".into()),
                SourceStatus::Error,
            ),
        ];
        for (e, status) in cases {
            assert_eq!(e.status(), status, "{e:?}");
            assert_eq!(e.status_name(), status.as_str());
        }
    }

    #[test]
    fn source_said_is_one_bounded_line() {
        assert_eq!(
            source_said("  Unable to\r\n process\t\u{7}request  "),
            "Unable to process request"
        );
        assert_eq!(
            source_said("Données invalides — café"),
            "Données invalides — café"
        );
        assert_eq!(source_said("\u{0}\n "), "");
        let long = "é".repeat(400);
        let said = source_said(&long);
        assert_eq!(said.chars().count(), 301);
        assert!(said.ends_with('…'));
        let words = "ab ".repeat(200);
        assert_eq!(source_said(&words).chars().count(), 301);
    }

    #[test]
    fn quoting_source_adds_only_what_was_said() {
        assert_eq!(
            quoting_source("the source failed", " Database\r\noffline "),
            "the source failed: the source said \"Database offline\""
        );
        assert_eq!(
            quoting_source("the source failed", "\n"),
            "the source failed"
        );
    }

    #[test]
    fn json_errors_carry_no_values() {
        let e = serde_json::from_str::<u32>("\"Jane Smith\"").unwrap_err();
        let msg = json_error("Patient", &e);
        assert_eq!(
            msg,
            "Patient: unexpected JSON structure at line 1 column 12"
        );
        assert!(!msg.contains("Jane"));
    }
}

//! What a FHIR OperationOutcome says: how a FHIR source (STU3 or R4, the
//! JSON is the same) says "I failed" — as its whole answer, or as an entry
//! beside the data. Pure; every FHIR-speaking adapter reads them so.
//!
//! The codes of an issue (`severity`, `code`, the codes in `details`) are
//! kept only when they look like codes, so they can be put in any message;
//! the source's own words (`diagnostics`, else `details.text`) are kept as
//! sent and are quoted only through [`source_said`](crate::source_said).

use serde::Deserialize;

use crate::{SourceError, quoting_source, source_said};

/// An issue's `severity`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// `fatal`: the action failed.
    Fatal,
    /// `error`: the action failed.
    Error,
    /// `warning`: the action succeeded, with a problem.
    Warning,
    /// `information`: the action succeeded.
    Information,
}

impl Severity {
    fn parse(s: &str) -> Option<Self> {
        Some(match s.trim() {
            "fatal" => Severity::Fatal,
            "error" => Severity::Error,
            "warning" => Severity::Warning,
            "information" => Severity::Information,
            _ => return None,
        })
    }

    /// The severity as FHIR spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Fatal => "fatal",
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Information => "information",
        }
    }

    /// True for `error` and `fatal`: the source says the action failed.
    pub fn is_failure(self) -> bool {
        matches!(self, Severity::Fatal | Severity::Error)
    }
}

/// One issue of an OperationOutcome.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Issue {
    /// `severity`, when it is one FHIR defines.
    pub severity: Option<Severity>,
    /// `code` (the FHIR issue type: `processing`, `not-found`, …), when it
    /// looks like one.
    pub code: Option<String>,
    /// The codes of `details.coding` that look like codes (a Spine error
    /// code such as `RESOURCE_NOT_FOUND`).
    pub details: Vec<String>,
    /// The source's own words: `diagnostics`, else `details.text`, as sent.
    pub text: Option<String>,
}

impl Issue {
    /// True when the source says the action failed (`error`, `fatal`).
    pub fn is_failure(&self) -> bool {
        self.severity.is_some_and(Severity::is_failure)
    }

    /// True when `code` is the FHIR issue type `code`.
    pub fn has_code(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    /// True when `details` carries `code`.
    pub fn has_detail(&self, code: &str) -> bool {
        self.details.iter().any(|d| d == code)
    }

    /// `severity: code (DETAIL)`, with no free text.
    fn describe(&self) -> String {
        let severity = self.severity.map_or("no severity", Severity::as_str);
        let code = self.code.as_deref().unwrap_or("no issue code");
        match self.details.first() {
            Some(d) => format!("{severity}: {code} ({d})"),
            None => format!("{severity}: {code}"),
        }
    }
}

/// An OperationOutcome, read leniently: elements of the wrong type are
/// read as absent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Its issues, in order.
    pub issues: Vec<Issue>,
}

/// The most issues read of one OperationOutcome.
const MAX_ISSUES: usize = 100;

impl Outcome {
    /// Reads `json` as an OperationOutcome; `None` when it is not one (not
    /// JSON, or another `resourceType`).
    pub fn read(json: &[u8]) -> Option<Self> {
        let raw: Raw = serde_json::from_slice(json).ok()?;
        (raw.resource_type.as_deref() == Some("OperationOutcome")).then(|| Self::from_raw(raw))
    }

    fn from_raw(raw: Raw) -> Self {
        let issues = raw
            .issue
            .into_iter()
            .take(MAX_ISSUES)
            .map(|i| {
                let i = i.0.unwrap_or_default();
                let details = i.details.0.unwrap_or_default();
                Issue {
                    severity: i.severity.0.as_deref().and_then(Severity::parse),
                    code: i.code.0.and_then(issue_type),
                    details: details
                        .coding
                        .into_iter()
                        .filter_map(|c| c.0.and_then(|c| c.code.0))
                        .filter_map(detail_code)
                        .collect(),
                    text: i
                        .diagnostics
                        .0
                        .filter(|t| !t.trim().is_empty())
                        .or(details.text.0)
                        .filter(|t| !t.trim().is_empty()),
                }
            })
            .collect();
        Self { issues }
    }

    /// The issues saying the action failed (`error`, `fatal`).
    pub fn failures(&self) -> impl Iterator<Item = &Issue> {
        self.issues.iter().filter(|i| i.is_failure())
    }

    /// True when some issue says the action failed.
    pub fn is_failure(&self) -> bool {
        self.failures().next().is_some()
    }

    /// True when the outcome clearly says "not found": some issue says so
    /// and no failing issue says anything else. An issue says so by the
    /// detail code `detail` (a Spine `RESOURCE_NOT_FOUND`) when it carries
    /// detail codes and `detail` is given — a `not-found` issue whose
    /// detail is another code (`UNSUPPORTED_SERVICE`: a wrong path) does
    /// not — else by the issue type `not-found`.
    pub fn only_not_found(&self, detail: Option<&str>) -> bool {
        let not_found = |i: &Issue| match detail {
            Some(d) if !i.details.is_empty() => i.has_detail(d),
            _ => i.has_code("not-found"),
        };
        self.issues.iter().any(not_found) && self.failures().all(not_found)
    }

    /// The failing issues as `severity: code (DETAIL)`, joined (the first
    /// five), or of every issue when none fails; no free text.
    pub fn summary(&self) -> String {
        let mut shown: Vec<String> = self.failures().map(Issue::describe).collect();
        if shown.is_empty() {
            shown = self.issues.iter().map(Issue::describe).collect();
        }
        if shown.is_empty() {
            return "no issue".into();
        }
        let more = shown.len().saturating_sub(5);
        shown.truncate(5);
        let mut out = shown.join(", ");
        if more > 0 {
            out.push_str(&format!(" and {more} more"));
        }
        out
    }

    /// What the source said: the words of its failing issues (of every
    /// issue when none fails), joined with `; `, through
    /// [`source_said`]. Empty when it said nothing.
    pub fn said(&self) -> String {
        let failing = self.is_failure();
        let words: Vec<&str> = self
            .issues
            .iter()
            .filter(|i| !failing || i.is_failure())
            .filter_map(|i| i.text.as_deref().map(str::trim))
            .collect();
        source_said(&words.join("; "))
    }
}

/// The error for an HTTP answer of `status` that is not a success:
/// `HttpStatus` naming `what` and, when the body is an OperationOutcome,
/// its codes and the source's own words (`HTTP 503 from Patient search
/// (fatal: exception): the source said "…"`).
pub fn status_error(status: u16, body: &[u8], what: &str) -> SourceError {
    let what = match Outcome::read(body) {
        Some(o) => quoting_source(format!("{what} ({})", o.summary()), &o.said()),
        None => what.to_string(),
    };
    SourceError::HttpStatus { status, what }
}

/// A FHIR issue type: lower-case letters and `-`, at most 40.
fn issue_type(code: String) -> Option<String> {
    let c = code.trim();
    ((1..=40).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'))
        .then(|| c.to_string())
}

/// A code of `details.coding`: letters, digits, `_ - .`, at most 64.
fn detail_code(code: String) -> Option<String> {
    let c = code.trim();
    ((1..=64).contains(&c.len())
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')))
    .then(|| c.to_string())
}

/// Any JSON value, read as `T` when it is one and as absent otherwise, so
/// that one odd element does not hide the rest of an outcome.
struct Lenient<T>(Option<T>);

impl<T> Default for Lenient<T> {
    fn default() -> Self {
        Self(None)
    }
}

impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        Ok(Self(serde_json::from_value(value).ok()))
    }
}

#[derive(Deserialize)]
struct Raw {
    #[serde(rename = "resourceType")]
    resource_type: Option<String>,
    #[serde(default, deserialize_with = "lenient_list")]
    issue: Vec<Lenient<RawIssue>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawIssue {
    severity: Lenient<String>,
    code: Lenient<String>,
    details: Lenient<RawConcept>,
    diagnostics: Lenient<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawConcept {
    #[serde(deserialize_with = "lenient_list")]
    coding: Vec<Lenient<RawCoding>>,
    text: Lenient<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawCoding {
    code: Lenient<String>,
}

/// A list, or nothing when the element is not one.
fn lenient_list<'de, D, T>(d: D) -> Result<Vec<Lenient<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let value = serde_json::Value::deserialize(d)?;
    Ok(match value {
        serde_json::Value::Array(items) => items
            .into_iter()
            .map(|v| Lenient(serde_json::from_value(v).ok()))
            .collect(),
        _ => Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_codes_and_words_of_failing_issues() {
        let oo = Outcome::read(
            br#"{"resourceType":"OperationOutcome","issue":[
                {"severity":"information","code":"informational","diagnostics":"fine"},
                {"severity":"error","code":"processing","details":{"coding":[{"system":"https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode","code":"SERVICE_UNAVAILABLE"}],"text":"Spine down"},"diagnostics":"  Unable to\r\nreach Spine "},
                {"severity":"fatal","code":"Not A Code","details":{"text":"the database is offline"}}]}"#,
        )
        .unwrap();
        assert!(oo.is_failure());
        assert_eq!(
            oo.summary(),
            "error: processing (SERVICE_UNAVAILABLE), fatal: no issue code"
        );
        assert_eq!(oo.said(), "Unable to reach Spine; the database is offline");
        assert!(!oo.only_not_found(None));
    }

    #[test]
    fn not_found_only_when_nothing_else_failed() {
        let read = |json: &str| Outcome::read(json.as_bytes()).unwrap();
        let nf = read(
            r#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found"},{"severity":"information","code":"informational"}]}"#,
        );
        assert!(nf.only_not_found(None));
        let spine = read(
            r#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"processing","details":{"coding":[{"code":"RESOURCE_NOT_FOUND"}]}}]}"#,
        );
        assert!(spine.only_not_found(Some("RESOURCE_NOT_FOUND")));
        assert!(!spine.only_not_found(None));
        let wrong_path = read(
            r#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found","details":{"coding":[{"code":"UNSUPPORTED_SERVICE"}]}}]}"#,
        );
        assert!(!wrong_path.only_not_found(Some("RESOURCE_NOT_FOUND")));
        assert!(wrong_path.only_not_found(None));
        let mixed = read(
            r#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found"},{"severity":"fatal","code":"exception"}]}"#,
        );
        assert!(!mixed.only_not_found(None));
        assert!(!read(r#"{"resourceType":"OperationOutcome"}"#).only_not_found(None));
    }

    #[test]
    fn odd_elements_are_absent_and_other_resources_are_not_outcomes() {
        let oo = Outcome::read(
            br#"{"resourceType":"OperationOutcome","issue":[7,{"severity":["error"],"code":"processing","diagnostics":12},{"severity":"error","details":{"coding":"x","text":"words"}}]}"#,
        )
        .unwrap();
        assert_eq!(oo.issues.len(), 3);
        assert_eq!(oo.issues[0], Issue::default());
        assert_eq!(oo.issues[1].severity, None);
        assert_eq!(oo.issues[1].code.as_deref(), Some("processing"));
        assert_eq!(oo.said(), "words");
        assert_eq!(
            Outcome::read(br#"{"resourceType":"OperationOutcome","issue":"x"}"#),
            Some(Outcome::default())
        );
        assert_eq!(Outcome::read(br#"{"resourceType":"Patient"}"#), None);
        assert_eq!(Outcome::read(b"<html>"), None);
        assert_eq!(Outcome::default().summary(), "no issue");
        assert_eq!(Outcome::default().said(), "");
    }

    #[test]
    fn status_errors_name_the_outcome() {
        assert_eq!(
            status_error(
                503,
                br#"{"resourceType":"OperationOutcome","issue":[{"severity":"fatal","code":"transient","diagnostics":"Try later"}]}"#,
                "Patient search"
            ),
            SourceError::HttpStatus {
                status: 503,
                what: "Patient search (fatal: transient): the source said \"Try later\"".into()
            }
        );
        assert_eq!(
            status_error(502, b"<html>Bad gateway</html>", "Patient search"),
            SourceError::HttpStatus {
                status: 502,
                what: "Patient search".into()
            }
        );
    }
}

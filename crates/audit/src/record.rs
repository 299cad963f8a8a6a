//! What one access attempt is recorded as: [`AuditRecord`] and its parts.
//! Pure types (serde), no I/O.

use std::fmt;

/// How one source asked went: the model's one vocabulary, re-exported so
/// the record's readers need not name the model.
pub use icr_model::SourceStatus;
use icr_model::time::format_description::well_known::Rfc3339;
use icr_model::time::{OffsetDateTime, UtcOffset};
use icr_model::{NhsNumber, OdsCode, SectionSet, SourceId};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::shown::ReleasedRecords;

/// A moment in UTC, written in RFC 3339 with a `Z` offset
/// (`2026-11-26T09:14:03.120512Z`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// Now, to the microsecond.
    pub fn now() -> Self {
        Self::from_offset(OffsetDateTime::now_utc())
    }

    /// `t` converted to UTC and truncated to the microsecond.
    /// For a time that may be out of range in UTC (one from outside,
    /// with an offset), use [`Timestamp::checked_from_offset`]; this one
    /// keeps such a time at its own offset rather than panic.
    pub fn from_offset(t: OffsetDateTime) -> Self {
        Self::checked_from_offset(t).unwrap_or(Self(t))
    }

    /// `t` converted to UTC and truncated to the microsecond, or `None`
    /// when UTC takes it outside the years the calendar holds (9999-12-31
    /// at 20:00 at −04:00 is in year 10000 in UTC).
    pub fn checked_from_offset(t: OffsetDateTime) -> Option<Self> {
        let t = t.checked_to_offset(UtcOffset::UTC)?;
        let micros = t.nanosecond() / 1_000 * 1_000;
        Some(Self(t.replace_nanosecond(micros).unwrap_or(t)))
    }

    /// The moment as a `time` value (in UTC).
    pub fn as_offset(&self) -> OffsetDateTime {
        self.0
    }

    /// Microseconds since the Unix epoch (negative before 1970).
    pub fn unix_micros(&self) -> i64 {
        // Years 0 to 9999 are within ±2^58 microseconds: the fallback is
        // never taken.
        i64::try_from(self.0.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
    }

    /// The moment `micros` microseconds after the Unix epoch, if it is
    /// within the years 0 to 9999.
    pub fn from_unix_micros(micros: i64) -> Option<Self> {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
            .ok()
            .map(Self)
    }

    /// Parses RFC 3339 in UTC (`Z`), the only form written.
    pub fn parse(s: &str) -> Option<Self> {
        let t = OffsetDateTime::parse(s, &Rfc3339).ok()?;
        (t.offset() == UtcOffset::UTC && t.nanosecond() % 1_000 == 0).then_some(Self(t))
    }

    /// RFC 3339 text.
    pub fn to_rfc3339(&self) -> String {
        // Formatting a UTC time between years 0 and 9999 cannot fail; the
        // fallback keeps the type total.
        self.0
            .format(&Rfc3339)
            .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| {
            serde::de::Error::custom("expected an RFC 3339 time in UTC (Z), to the microsecond")
        })
    }
}

/// A request's correlation id (the gateway's trace id, a UUID): 1 to 128
/// visible ASCII characters.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize)]
#[serde(transparent)]
pub struct RequestId(String);

impl RequestId {
    /// Parses a request id.
    pub fn parse(s: &str) -> Option<Self> {
        ((1..=128).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic()))
            .then(|| Self(s.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for RequestId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s)
            .ok_or_else(|| serde::de::Error::custom("expected 1 to 128 visible ASCII characters"))
    }
}

/// Why a request was allowed or refused, as the policy names it
/// (`involved`, `break-glass`, `not-involved`, `objection`,
/// `invalid-nhs-number`, …): 1 to 64 lower-case letters, digits and hyphens.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize)]
#[serde(transparent)]
pub struct ReasonCode(String);

impl ReasonCode {
    /// Parses a reason code.
    pub fn parse(s: &str) -> Option<Self> {
        let ok = (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-');
        ok.then(|| Self(s.to_owned()))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ReasonCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| {
            serde::de::Error::custom("expected 1 to 64 lower-case letters, digits or hyphens")
        })
    }
}

/// The person who asked, as their verified token says.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// The token's issuer, when the gateway trusts several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Their user id (`sub`: SDS user id or the identity provider's subject).
    pub sub: String,
    /// Their name.
    pub name: String,
    /// Their national RBAC job role code (e.g. `R8000`), or `patient`.
    pub role: String,
    /// The organisation the request comes from.
    pub org: OdsCode,
}

/// On what grounds the person may see this patient's record.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Basis {
    /// Their organisation is involved in the patient's care.
    Involved,
    /// They declared a care relationship themselves.
    SelfDeclared,
    /// They broke the glass, giving a reason.
    BreakGlass,
    /// The patient looking at their own record.
    OwnRecord,
    /// A privacy officer reviewing who accessed a record (the audit itself,
    /// never the clinical record).
    Oversight,
    /// A population-health extract under the policy's `[population_health]`
    /// (no care relationship; pseudonymised before anything is written).
    PopulationHealth,
    /// No relationship was established (the request was refused, or never
    /// reached the check).
    None,
}

impl Basis {
    /// The basis as written in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Involved => "involved",
            Basis::SelfDeclared => "self-declared",
            Basis::BreakGlass => "break-glass",
            Basis::OwnRecord => "own-record",
            Basis::Oversight => "oversight",
            Basis::PopulationHealth => "population-health",
            Basis::None => "none",
        }
    }
}

/// Whether anything of the record was released.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    /// The request was allowed (possibly with items withheld).
    Allowed,
    /// The request was refused: nothing of the record was released.
    Refused,
}

/// One source asked for the record, and how it went.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceAsked {
    /// The source's registered id.
    pub source: SourceId,
    /// How it went.
    pub status: SourceStatus,
}

/// Which interface the access came through.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Interaction {
    /// The JSON record view (`GET /v1/patients/{nhs}/record`).
    Record,
    /// The FHIR R4 record (`GET /fhir/r4/Patient/{nhs}/$everything`).
    FhirEverything,
    /// Reading the audit trail of a patient (`GET /v1/audit?patient=…`).
    AuditRead,
    /// A privacy officer's break-glass review: the list of break-glass
    /// accesses (`GET /v1/audit/break-glass`), or recording a review's
    /// outcome (`POST /v1/audit/break-glass/{replica}/{seq}/review`).
    BreakGlassReview,
    /// A page of the browser viewer showing the record (`GET /patients/{nhs}`
    /// and its tabs, or a break-glass form's answer).
    Viewer,
    /// One person's record read for a population-health extract (`icr
    /// extract`, or a run started through `/v1/extracts`), pseudonymised
    /// before anything is written; the request id names the run.
    Extract,
}

/// One access attempt, allowed or refused, as the gateway records it before
/// answering. The log adds the sequence number and the chain hashes.
///
/// This is the one place where patient identifiers are written to disk, by
/// design: see `docs/audit.md`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRecord {
    /// When the access was recorded (UTC): the log sets it as it writes
    /// the entry (the wall clock then, never before the previous entry's
    /// time), replacing the value given to `append`.
    pub time: Timestamp,
    /// The request's correlation id (its trace id).
    pub request_id: RequestId,
    /// Which interface was used.
    pub interaction: Interaction,
    /// Who asked; `None` only for a request refused before its caller was
    /// identified.
    pub user: Option<User>,
    /// The calling system: the identity in its TLS client certificate,
    /// when it presented one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calling_system: Option<String>,
    /// Whose record; `None` only for a request refused because it named no
    /// valid NHS number.
    pub nhs_number: Option<NhsNumber>,
    /// Why they asked (`directcare`, …), as their token says.
    pub purpose: String,
    /// The reason given for breaking the glass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub break_glass_reason: Option<String>,
    /// On what grounds they may see the record.
    pub basis: Basis,
    /// The sections asked for.
    pub sections_requested: SectionSet,
    /// The sections released (empty when refused).
    pub sections_released: SectionSet,
    /// Every source asked, and how it went.
    pub sources: Vec<SourceAsked>,
    /// Items released.
    pub items_released: u32,
    /// Items withheld from this person (sensitive items their role may not
    /// see).
    pub items_withheld: u32,
    /// The source records released, by source (ids only; see
    /// [`ReleasedRecords`]): what the person was shown, for an
    /// investigation to ask the sources for. Absent from the line when
    /// nothing was released, and in lines written before it existed.
    #[serde(default, skip_serializing_if = "ReleasedRecords::is_empty")]
    pub shown: ReleasedRecords,
    /// Allowed or refused.
    pub decision: Decision,
    /// Why, as the policy names it.
    pub reason: ReasonCode,
    /// The HTTP status the gateway answers with, if the append succeeds.
    pub http_status: u16,
}

/// The first of an access's two entries, appended once the caller is
/// authenticated and the policy has let them ask (before any source is
/// asked), and synced while the sources answer: who is accessing whose
/// record, why, for which sections. Its completion is an [`AuditRecord`]
/// naming it ([`Entry::completes`](crate::Entry::completes)); an access begun
/// whose completion never came (the process died in between) is read as
/// one whose outcome was not recorded.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessBegun {
    /// When the entry was written (set by the log, as for [`AuditRecord`]).
    pub time: Timestamp,
    /// The request's correlation id (its trace id).
    pub request_id: RequestId,
    /// Which interface is used.
    pub interaction: Interaction,
    /// Who is asking.
    pub user: User,
    /// The calling system's TLS client certificate identity, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calling_system: Option<String>,
    /// Whose record.
    pub nhs_number: NhsNumber,
    /// Why they ask, as their token says.
    pub purpose: String,
    /// The reason given for breaking the glass, if they gave one, as given
    /// (whether the policy grants break-glass is decided later, and
    /// recorded in the completion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub break_glass_reason: Option<String>,
    /// The sections asked for.
    pub sections_requested: SectionSet,
}

impl AuditRecord {
    /// Checks that the record is coherent, so that the log can never say
    /// something self-contradictory: a refused request released nothing; an
    /// allowed one names its user and patient; released sections were asked
    /// for; a break-glass basis carries its reason; the status is an HTTP
    /// status. Returns what is wrong.
    pub fn check(&self) -> Result<(), &'static str> {
        if !(100..=599).contains(&self.http_status) {
            return Err("http_status is not an HTTP status (100-599)");
        }
        if self.sections_released.intersection(self.sections_requested) != self.sections_released {
            return Err("sections_released includes sections that were not requested");
        }
        match self.decision {
            Decision::Refused => {
                if self.items_released != 0
                    || !self.sections_released.is_empty()
                    || !self.shown.is_empty()
                {
                    return Err(
                        "a refused request cannot have released items, sections or records",
                    );
                }
            }
            Decision::Allowed => {
                // The break-glass review spans people: it names none.
                let spans_people = self.interaction == Interaction::BreakGlassReview;
                if self.user.is_none() || (self.nhs_number.is_none() && !spans_people) {
                    return Err("an allowed request must name its user and its patient");
                }
                if self.basis == Basis::None {
                    return Err("an allowed request must have a relationship basis");
                }
            }
        }
        if self.basis == Basis::BreakGlass
            && self
                .break_glass_reason
                .as_deref()
                .is_none_or(|r| r.trim().is_empty())
        {
            return Err("a break-glass access must carry its reason");
        }
        Ok(())
    }

    /// What of this record was known when the access began: its begun
    /// entry. `None` when it names no user or no patient (a refusal before
    /// either was known, which is recorded as one entry).
    pub fn begun(&self) -> Option<AccessBegun> {
        Some(AccessBegun {
            time: self.time,
            request_id: self.request_id.clone(),
            interaction: self.interaction,
            user: self.user.clone()?,
            calling_system: self.calling_system.clone(),
            nhs_number: self.nhs_number?,
            purpose: self.purpose.clone(),
            break_glass_reason: self.break_glass_reason.clone(),
            sections_requested: self.sections_requested,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_microseconds() {
        let t = Timestamp::parse("2026-11-26T09:14:03.120512Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-26T09:14:03.120512Z");
        assert_eq!(
            Timestamp::parse("2026-11-26T09:14:03Z")
                .unwrap()
                .to_rfc3339(),
            "2026-11-26T09:14:03Z"
        );
        assert!(Timestamp::parse("2026-11-26T09:14:03+01:00").is_none());
        assert!(Timestamp::parse("2026-11-26T09:14:03.1234567Z").is_none());
        let now = Timestamp::now();
        assert_eq!(Timestamp::parse(&now.to_rfc3339()), Some(now));
        let local = OffsetDateTime::parse("2026-11-26T10:14:03.5+01:00", &Rfc3339).unwrap();
        assert_eq!(
            Timestamp::from_offset(local).to_rfc3339(),
            "2026-11-26T09:14:03.5Z"
        );
    }

    #[test]
    fn codes_and_ids() {
        assert!(ReasonCode::parse("not-involved").is_some());
        for bad in ["", "Not", "a b", "-x", &"a".repeat(65)] {
            assert!(ReasonCode::parse(bad).is_none(), "{bad}");
        }
        assert!(RequestId::parse("6f1c-aa").is_some());
        for bad in ["", "a b", "é", &"a".repeat(129)] {
            assert!(RequestId::parse(bad).is_none(), "{bad}");
        }
    }
}

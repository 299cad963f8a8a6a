//! Who is asking: built from the authenticated token's claims, parsed at
//! the edge so the decisions only see valid values.

use std::fmt;

use icr_model::{NhsNumber, OdsCode};

/// A national RBAC job role code as a token carries it (e.g. `R8000`):
/// 1 to 32 letters, digits, `-` or `_`, held upper-cased. `patient` is not
/// a role code (see [`Caller::from_claims`]).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoleCode(Box<str>);

/// Why a caller could not be built from its claims. Messages name the claim
/// and never echo a value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CallerError {
    /// The role claim is not a role code.
    #[error("the role claim is not a role code: expected 1 to 32 letters, digits, '-' or '_'")]
    Role,
    /// `patient` was used where a staff role code is needed.
    #[error("\"patient\" is not a staff role code")]
    PatientIsNotARoleCode,
    /// A patient's token has no NHS number claim.
    #[error("a patient's token must carry their own NHS number (claim nhs_number)")]
    PatientWithoutNhsNumber,
    /// The purpose claim is empty, too long or has control characters.
    #[error("the purpose claim must be 1 to 64 printable characters")]
    Purpose,
}

impl RoleCode {
    /// Parses a role code; lower case is accepted and upper-cased.
    pub fn parse(s: &str) -> Result<Self, CallerError> {
        let t = s.trim();
        if t.eq_ignore_ascii_case(PATIENT) {
            return Err(CallerError::PatientIsNotARoleCode);
        }
        let ok = (1..=32).contains(&t.len())
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(t.to_ascii_uppercase().into()))
        } else {
            Err(CallerError::Role)
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RoleCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RoleCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RoleCode({})", self.0)
    }
}

/// The role claim value that marks a patient reading their own record.
pub const PATIENT: &str = "patient";

/// The longest break-glass text kept from a request; anything longer is
/// refused by every policy (whose maximum is at most 2,000 characters).
const MAX_RAW_REASON_BYTES: usize = 8 * 1024;

/// Who the caller is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Who {
    /// A member of staff with a national RBAC job role.
    Staff(RoleCode),
    /// A patient, identified by the NHS number their token carries.
    Patient(NhsNumber),
}

/// The person asking, as their verified token (and request headers) say.
///
/// Built with [`Caller::from_claims`] (or [`Caller::staff`] /
/// [`Caller::patient`]); the break-glass reason, from the
/// `X-Break-Glass-Reason` header, is added with
/// [`Caller::with_break_glass`] and judged by the policy.
#[derive(Clone, PartialEq, Eq)]
pub struct Caller {
    who: Who,
    organisation: OdsCode,
    purpose: Box<str>,
    break_glass: Option<Box<str>>,
}

impl Caller {
    /// A member of staff with `role`, working for `organisation`, asking for
    /// `purpose` (e.g. `directcare`).
    pub fn staff(
        role: RoleCode,
        organisation: OdsCode,
        purpose: &str,
    ) -> Result<Self, CallerError> {
        Ok(Self {
            who: Who::Staff(role),
            organisation,
            purpose: purpose_of(purpose)?,
            break_glass: None,
        })
    }

    /// A patient reading through a patient-facing service run by
    /// `organisation`; `nhs_number` is the one in their token.
    pub fn patient(
        nhs_number: NhsNumber,
        organisation: OdsCode,
        purpose: &str,
    ) -> Result<Self, CallerError> {
        Ok(Self {
            who: Who::Patient(nhs_number),
            organisation,
            purpose: purpose_of(purpose)?,
            break_glass: None,
        })
    }

    /// From the token's claims: `role` (an RBAC job role code, or
    /// `patient`), `org`, `purpose` and, for a patient, `nhs_number`. A
    /// staff token's `nhs_number` claim is ignored: it grants nothing.
    pub fn from_claims(
        role: &str,
        organisation: OdsCode,
        purpose: &str,
        nhs_number: Option<NhsNumber>,
    ) -> Result<Self, CallerError> {
        if role.trim().eq_ignore_ascii_case(PATIENT) {
            let nhs = nhs_number.ok_or(CallerError::PatientWithoutNhsNumber)?;
            Self::patient(nhs, organisation, purpose)
        } else {
            Self::staff(RoleCode::parse(role)?, organisation, purpose)
        }
    }

    /// Adds the break-glass reason the request gives (the
    /// `X-Break-Glass-Reason` header), if any. It is judged by
    /// [`crate::Policy::before_fetch`]; text beyond 8 KiB is cut (and then
    /// refused as too long).
    pub fn with_break_glass(mut self, reason: Option<&str>) -> Self {
        self.break_glass = reason.map(|r| {
            let mut end = r.len().min(MAX_RAW_REASON_BYTES);
            while !r.is_char_boundary(end) {
                end -= 1;
            }
            r.get(..end).unwrap_or_default().into()
        });
        self
    }

    /// Staff member or patient.
    pub fn who(&self) -> &Who {
        &self.who
    }

    /// The staff role, if the caller is staff.
    pub fn role(&self) -> Option<&RoleCode> {
        match &self.who {
            Who::Staff(r) => Some(r),
            Who::Patient(_) => None,
        }
    }

    /// The organisation the request comes from.
    pub fn organisation(&self) -> &OdsCode {
        &self.organisation
    }

    /// Why they are asking.
    pub fn purpose(&self) -> &str {
        &self.purpose
    }

    /// The break-glass text as given, if any (not yet judged).
    pub fn break_glass(&self) -> Option<&str> {
        self.break_glass.as_deref()
    }
}

impl fmt::Debug for Caller {
    // The break-glass text and a patient's NHS number stay out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let who = match &self.who {
            Who::Staff(r) => r.to_string(),
            Who::Patient(_) => PATIENT.to_string(),
        };
        f.debug_struct("Caller")
            .field("role", &who)
            .field("organisation", &self.organisation)
            .field("purpose", &self.purpose)
            .field("break_glass", &self.break_glass.is_some())
            .finish()
    }
}

fn purpose_of(p: &str) -> Result<Box<str>, CallerError> {
    let t = p.trim();
    if (1..=64).contains(&t.chars().count()) && !t.chars().any(char::is_control) {
        Ok(t.into())
    } else {
        Err(CallerError::Purpose)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ods(s: &str) -> OdsCode {
        OdsCode::parse(s).unwrap()
    }

    #[test]
    fn role_codes() {
        assert_eq!(RoleCode::parse("r8000").unwrap().as_str(), "R8000");
        assert_eq!(RoleCode::parse(" R8000 ").unwrap().as_str(), "R8000");
        assert_eq!(
            RoleCode::parse("Patient"),
            Err(CallerError::PatientIsNotARoleCode)
        );
        for bad in ["", "R 8000", "R8000:S1", &"R".repeat(33)] {
            assert_eq!(RoleCode::parse(bad), Err(CallerError::Role), "{bad}");
        }
    }

    #[test]
    fn claims() {
        let nhs = NhsNumber::parse("9990000018").unwrap();
        let p = Caller::from_claims("patient", ods("X26"), "directcare", Some(nhs)).unwrap();
        assert_eq!(p.who(), &Who::Patient(nhs));
        assert_eq!(p.role(), None);
        assert_eq!(
            Caller::from_claims("patient", ods("X26"), "directcare", None),
            Err(CallerError::PatientWithoutNhsNumber)
        );
        let s = Caller::from_claims("R8000", ods("RN3"), "directcare", Some(nhs)).unwrap();
        assert_eq!(s.who(), &Who::Staff(RoleCode::parse("R8000").unwrap()));
        assert_eq!(
            Caller::from_claims("R8000", ods("RN3"), "", None),
            Err(CallerError::Purpose)
        );
        assert_eq!(
            Caller::from_claims("R8000", ods("RN3"), "a\u{7}", None),
            Err(CallerError::Purpose)
        );
    }

    #[test]
    fn break_glass_text_is_bounded_and_kept_out_of_debug() {
        let long = "é".repeat(10_000);
        let c = Caller::staff(RoleCode::parse("R8000").unwrap(), ods("RN3"), "directcare")
            .unwrap()
            .with_break_glass(Some(&long));
        let kept = c.break_glass().unwrap();
        assert!(kept.len() <= MAX_RAW_REASON_BYTES && long.starts_with(kept));
        let c = c.with_break_glass(Some("Patient collapsed, unconscious"));
        assert!(!format!("{c:?}").contains("unconscious"));
        let nhs = NhsNumber::parse("9990000018").unwrap();
        let p = Caller::patient(nhs, ods("X26"), "directcare").unwrap();
        assert!(!format!("{p:?}").contains("9990000018"));
    }
}

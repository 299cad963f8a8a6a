//! The decision table: every combination of
//!
//! - role: each configured class (clinical cleared for sensitive items,
//!   clinical not cleared, social care, administrative, pharmacist), a
//!   patient asking for their own record and for someone else's, and a role
//!   in no class;
//! - relationship: the caller's organisation holds a record (involved), is
//!   a setting that may self-declare, or neither;
//! - break-glass: none, a reason too short, a valid reason;
//! - objection: none, to all sharing, to sharing the caller's own
//!   organisation's records, to sharing another organisation's (RVN);
//! - sensitivity of two extra items (a condition and an appointment):
//!   labelled restricted by the source, coded sensitive, ordinary;
//!
//! with the outcome written out per row: refused before or after fetching
//! (and why), or granted on a basis, with the source filter, the items left
//! and the items withheld. The rows were enumerated by a throwaway script
//! encoding the rules as docs/policy.md states them (not this crate's code)
//! and reviewed; this test holds the Rust implementation to them.
//!
//! The scenario. The person is 999 000 0018. Two sources hold a record:
//! gwh (RN3) with an ordinary condition C1, an ordinary appointment A1 and
//! the two extra items CX, AX; awp (RVN) with an ordinary condition C2.
//! Involved callers work at RN3, self-declaring ones at Y9U01 (out of
//! hours), others at RD1. The gateway is simulated: it asks only the
//! sources the filter permits, passes the organisations that answered as
//! holders, merges the allowed sections and applies the policy.
//!
//! What each class sees of the five items: clinical all (C2 only when RVN
//! is not excluded); social care and administrative A1 and AX
//! (appointments); pharmacist C1, C2 and CX (conditions); a patient all
//! five (objections do not apply to a patient's own access). Only R8000 is
//! cleared for sensitive items, so for everyone else the extra items are
//! withheld unless ordinary.

mod common;

use common::*;
use icr_model::{Section, SectionSet, SourceRecord};
use icr_policy::{Basis, Caller, Objection, Objections, RefusalCode, SourceFilter};

use B::*;
use Bg::*;
use Exp::*;
use F::*;
use Obj::*;
use RefusalCode::*;
use Rel::*;
use Role::*;
use Sens::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Clinical,
    Nurse,
    Social,
    Admin,
    Pharmacist,
    PatientOwn,
    PatientOther,
    Unknown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)] // NoBg, ShortBg, ValidBg read best in the table
enum Rel {
    Involved,
    SelfDecl,
    NoRel,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)] // NoBg, ShortBg, ValidBg read best in the table
enum Bg {
    NoBg,
    ShortBg,
    ValidBg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)] // NoBg, ShortBg, ValidBg read best in the table
enum Obj {
    NoObj,
    Whole,
    OwnOrg,
    OtherOrg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sens {
    Restricted,
    Coded,
    Ordinary,
}

/// The basis of a granted access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum B {
    Own,
    Inv,
    SelfD,
    Glass,
}

/// The source filter of a granted access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum F {
    All,
    NoRvn,
}

/// The expected outcome of a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Exp {
    /// Refused by `before_fetch`.
    Before(RefusalCode),
    /// Refused by `after_fetch`.
    After(RefusalCode),
    /// Granted: basis, source filter, items left, items withheld.
    Ok(B, F, usize, usize),
}

const POLICY: &str = r#"
purposes = ["directcare"]
[classes.clinical]
roles = ["R8000", "R8001"]
sections = ["demographics", "contacts", "care_team", "medications", "allergies", "conditions",
            "results", "documents", "procedures", "referrals", "appointments", "alerts"]
break_glass = true
[classes.social_care]
roles = ["R8014"]
sections = ["demographics", "contacts", "care_team", "alerts", "documents", "appointments"]
[classes.admin]
roles = ["R8008"]
sections = ["demographics", "appointments", "care_team"]
[classes.pharmacist]
roles = ["TESTPHARM"]   # a code this test gives the class
sections = ["demographics", "medications", "allergies", "conditions"]
break_glass = true
[patient]
sections = ["demographics", "contacts", "care_team", "medications", "allergies", "conditions",
            "results", "documents", "procedures", "referrals", "appointments"]
[[relationship.self_declare]]
setting = "Out-of-hours GP service"
organisations = ["Y9U01"]
[sensitive]
cleared_roles = ["R8000"]
[sensitive.codes]
hiv = ["86406008"]
sexual_health = ["8098009"]
"#;

const PERSON: &str = "9990000018";
const SOMEONE_ELSE: &str = "9990000026";
const SHORT_REASON: &str = "Emergency";
const VALID_REASON: &str = "Patient unconscious in resus, no GP record available";

#[rustfmt::skip]
const TABLE: &[(Role, Rel, Bg, Obj, Sens, Exp)] = &[
    // Clinical: R8000, clinical class, cleared for sensitive items
    (Clinical, Involved, NoBg, NoObj, Restricted, Ok(Inv, All, 5, 0)),
    (Clinical, Involved, NoBg, NoObj, Coded, Ok(Inv, All, 5, 0)),
    (Clinical, Involved, NoBg, NoObj, Ordinary, Ok(Inv, All, 5, 0)),
    (Clinical, Involved, NoBg, Whole, Restricted, Before(NoPatientConsent)),
    (Clinical, Involved, NoBg, Whole, Coded, Before(NoPatientConsent)),
    (Clinical, Involved, NoBg, Whole, Ordinary, Before(NoPatientConsent)),
    (Clinical, Involved, NoBg, OwnOrg, Restricted, Ok(Inv, All, 5, 0)),
    (Clinical, Involved, NoBg, OwnOrg, Coded, Ok(Inv, All, 5, 0)),
    (Clinical, Involved, NoBg, OwnOrg, Ordinary, Ok(Inv, All, 5, 0)),
    (Clinical, Involved, NoBg, OtherOrg, Restricted, Ok(Inv, NoRvn, 4, 0)),
    (Clinical, Involved, NoBg, OtherOrg, Coded, Ok(Inv, NoRvn, 4, 0)),
    (Clinical, Involved, NoBg, OtherOrg, Ordinary, Ok(Inv, NoRvn, 4, 0)),
    (Clinical, Involved, ShortBg, NoObj, Restricted, Before(BreakGlassReasonInvalid)),
    (Clinical, Involved, ShortBg, NoObj, Coded, Before(BreakGlassReasonInvalid)),
    (Clinical, Involved, ShortBg, NoObj, Ordinary, Before(BreakGlassReasonInvalid)),
    (Clinical, Involved, ShortBg, Whole, Restricted, Before(BreakGlassReasonInvalid)),
    (Clinical, Involved, ShortBg, Whole, Coded, Before(BreakGlassReasonInvalid)),
    (Clinical, Involved, ShortBg, Whole, Ordinary, Before(BreakGlassReasonInvalid)),
    (Clinical, Involved, ShortBg, OwnOrg, Restricted, Before(BreakGlassReasonInvalid)),
    (Clinical, Involved, ShortBg, OwnOrg, Coded, Before(BreakGlassReasonInvalid)),
    (Clinical, Involved, ShortBg, OwnOrg, Ordinary, Before(BreakGlassReasonInvalid)),
    (Clinical, Involved, ShortBg, OtherOrg, Restricted, Before(BreakGlassReasonInvalid)),
    (Clinical, Involved, ShortBg, OtherOrg, Coded, Before(BreakGlassReasonInvalid)),
    (Clinical, Involved, ShortBg, OtherOrg, Ordinary, Before(BreakGlassReasonInvalid)),
    (Clinical, Involved, ValidBg, NoObj, Restricted, Ok(Inv, All, 5, 0)),
    (Clinical, Involved, ValidBg, NoObj, Coded, Ok(Inv, All, 5, 0)),
    (Clinical, Involved, ValidBg, NoObj, Ordinary, Ok(Inv, All, 5, 0)),
    (Clinical, Involved, ValidBg, Whole, Restricted, Before(NoPatientConsent)),
    (Clinical, Involved, ValidBg, Whole, Coded, Before(NoPatientConsent)),
    (Clinical, Involved, ValidBg, Whole, Ordinary, Before(NoPatientConsent)),
    (Clinical, Involved, ValidBg, OwnOrg, Restricted, Ok(Inv, All, 5, 0)),
    (Clinical, Involved, ValidBg, OwnOrg, Coded, Ok(Inv, All, 5, 0)),
    (Clinical, Involved, ValidBg, OwnOrg, Ordinary, Ok(Inv, All, 5, 0)),
    (Clinical, Involved, ValidBg, OtherOrg, Restricted, Ok(Inv, NoRvn, 4, 0)),
    (Clinical, Involved, ValidBg, OtherOrg, Coded, Ok(Inv, NoRvn, 4, 0)),
    (Clinical, Involved, ValidBg, OtherOrg, Ordinary, Ok(Inv, NoRvn, 4, 0)),
    (Clinical, SelfDecl, NoBg, NoObj, Restricted, Ok(SelfD, All, 5, 0)),
    (Clinical, SelfDecl, NoBg, NoObj, Coded, Ok(SelfD, All, 5, 0)),
    (Clinical, SelfDecl, NoBg, NoObj, Ordinary, Ok(SelfD, All, 5, 0)),
    (Clinical, SelfDecl, NoBg, Whole, Restricted, Before(NoPatientConsent)),
    (Clinical, SelfDecl, NoBg, Whole, Coded, Before(NoPatientConsent)),
    (Clinical, SelfDecl, NoBg, Whole, Ordinary, Before(NoPatientConsent)),
    (Clinical, SelfDecl, NoBg, OwnOrg, Restricted, Ok(SelfD, All, 5, 0)),
    (Clinical, SelfDecl, NoBg, OwnOrg, Coded, Ok(SelfD, All, 5, 0)),
    (Clinical, SelfDecl, NoBg, OwnOrg, Ordinary, Ok(SelfD, All, 5, 0)),
    (Clinical, SelfDecl, NoBg, OtherOrg, Restricted, Ok(SelfD, NoRvn, 4, 0)),
    (Clinical, SelfDecl, NoBg, OtherOrg, Coded, Ok(SelfD, NoRvn, 4, 0)),
    (Clinical, SelfDecl, NoBg, OtherOrg, Ordinary, Ok(SelfD, NoRvn, 4, 0)),
    (Clinical, SelfDecl, ShortBg, NoObj, Restricted, Before(BreakGlassReasonInvalid)),
    (Clinical, SelfDecl, ShortBg, NoObj, Coded, Before(BreakGlassReasonInvalid)),
    (Clinical, SelfDecl, ShortBg, NoObj, Ordinary, Before(BreakGlassReasonInvalid)),
    (Clinical, SelfDecl, ShortBg, Whole, Restricted, Before(BreakGlassReasonInvalid)),
    (Clinical, SelfDecl, ShortBg, Whole, Coded, Before(BreakGlassReasonInvalid)),
    (Clinical, SelfDecl, ShortBg, Whole, Ordinary, Before(BreakGlassReasonInvalid)),
    (Clinical, SelfDecl, ShortBg, OwnOrg, Restricted, Before(BreakGlassReasonInvalid)),
    (Clinical, SelfDecl, ShortBg, OwnOrg, Coded, Before(BreakGlassReasonInvalid)),
    (Clinical, SelfDecl, ShortBg, OwnOrg, Ordinary, Before(BreakGlassReasonInvalid)),
    (Clinical, SelfDecl, ShortBg, OtherOrg, Restricted, Before(BreakGlassReasonInvalid)),
    (Clinical, SelfDecl, ShortBg, OtherOrg, Coded, Before(BreakGlassReasonInvalid)),
    (Clinical, SelfDecl, ShortBg, OtherOrg, Ordinary, Before(BreakGlassReasonInvalid)),
    (Clinical, SelfDecl, ValidBg, NoObj, Restricted, Ok(SelfD, All, 5, 0)),
    (Clinical, SelfDecl, ValidBg, NoObj, Coded, Ok(SelfD, All, 5, 0)),
    (Clinical, SelfDecl, ValidBg, NoObj, Ordinary, Ok(SelfD, All, 5, 0)),
    (Clinical, SelfDecl, ValidBg, Whole, Restricted, Before(NoPatientConsent)),
    (Clinical, SelfDecl, ValidBg, Whole, Coded, Before(NoPatientConsent)),
    (Clinical, SelfDecl, ValidBg, Whole, Ordinary, Before(NoPatientConsent)),
    (Clinical, SelfDecl, ValidBg, OwnOrg, Restricted, Ok(SelfD, All, 5, 0)),
    (Clinical, SelfDecl, ValidBg, OwnOrg, Coded, Ok(SelfD, All, 5, 0)),
    (Clinical, SelfDecl, ValidBg, OwnOrg, Ordinary, Ok(SelfD, All, 5, 0)),
    (Clinical, SelfDecl, ValidBg, OtherOrg, Restricted, Ok(SelfD, NoRvn, 4, 0)),
    (Clinical, SelfDecl, ValidBg, OtherOrg, Coded, Ok(SelfD, NoRvn, 4, 0)),
    (Clinical, SelfDecl, ValidBg, OtherOrg, Ordinary, Ok(SelfD, NoRvn, 4, 0)),
    (Clinical, NoRel, NoBg, NoObj, Restricted, After(NoRelationship)),
    (Clinical, NoRel, NoBg, NoObj, Coded, After(NoRelationship)),
    (Clinical, NoRel, NoBg, NoObj, Ordinary, After(NoRelationship)),
    (Clinical, NoRel, NoBg, Whole, Restricted, Before(NoPatientConsent)),
    (Clinical, NoRel, NoBg, Whole, Coded, Before(NoPatientConsent)),
    (Clinical, NoRel, NoBg, Whole, Ordinary, Before(NoPatientConsent)),
    (Clinical, NoRel, NoBg, OwnOrg, Restricted, After(NoRelationship)),
    (Clinical, NoRel, NoBg, OwnOrg, Coded, After(NoRelationship)),
    (Clinical, NoRel, NoBg, OwnOrg, Ordinary, After(NoRelationship)),
    (Clinical, NoRel, NoBg, OtherOrg, Restricted, After(NoRelationship)),
    (Clinical, NoRel, NoBg, OtherOrg, Coded, After(NoRelationship)),
    (Clinical, NoRel, NoBg, OtherOrg, Ordinary, After(NoRelationship)),
    (Clinical, NoRel, ShortBg, NoObj, Restricted, Before(BreakGlassReasonInvalid)),
    (Clinical, NoRel, ShortBg, NoObj, Coded, Before(BreakGlassReasonInvalid)),
    (Clinical, NoRel, ShortBg, NoObj, Ordinary, Before(BreakGlassReasonInvalid)),
    (Clinical, NoRel, ShortBg, Whole, Restricted, Before(BreakGlassReasonInvalid)),
    (Clinical, NoRel, ShortBg, Whole, Coded, Before(BreakGlassReasonInvalid)),
    (Clinical, NoRel, ShortBg, Whole, Ordinary, Before(BreakGlassReasonInvalid)),
    (Clinical, NoRel, ShortBg, OwnOrg, Restricted, Before(BreakGlassReasonInvalid)),
    (Clinical, NoRel, ShortBg, OwnOrg, Coded, Before(BreakGlassReasonInvalid)),
    (Clinical, NoRel, ShortBg, OwnOrg, Ordinary, Before(BreakGlassReasonInvalid)),
    (Clinical, NoRel, ShortBg, OtherOrg, Restricted, Before(BreakGlassReasonInvalid)),
    (Clinical, NoRel, ShortBg, OtherOrg, Coded, Before(BreakGlassReasonInvalid)),
    (Clinical, NoRel, ShortBg, OtherOrg, Ordinary, Before(BreakGlassReasonInvalid)),
    (Clinical, NoRel, ValidBg, NoObj, Restricted, Ok(Glass, All, 5, 0)),
    (Clinical, NoRel, ValidBg, NoObj, Coded, Ok(Glass, All, 5, 0)),
    (Clinical, NoRel, ValidBg, NoObj, Ordinary, Ok(Glass, All, 5, 0)),
    (Clinical, NoRel, ValidBg, Whole, Restricted, Before(NoPatientConsent)),
    (Clinical, NoRel, ValidBg, Whole, Coded, Before(NoPatientConsent)),
    (Clinical, NoRel, ValidBg, Whole, Ordinary, Before(NoPatientConsent)),
    (Clinical, NoRel, ValidBg, OwnOrg, Restricted, Ok(Glass, All, 5, 0)),
    (Clinical, NoRel, ValidBg, OwnOrg, Coded, Ok(Glass, All, 5, 0)),
    (Clinical, NoRel, ValidBg, OwnOrg, Ordinary, Ok(Glass, All, 5, 0)),
    (Clinical, NoRel, ValidBg, OtherOrg, Restricted, Ok(Glass, NoRvn, 4, 0)),
    (Clinical, NoRel, ValidBg, OtherOrg, Coded, Ok(Glass, NoRvn, 4, 0)),
    (Clinical, NoRel, ValidBg, OtherOrg, Ordinary, Ok(Glass, NoRvn, 4, 0)),
    // Nurse: R8001, clinical class, not cleared
    (Nurse, Involved, NoBg, NoObj, Restricted, Ok(Inv, All, 3, 2)),
    (Nurse, Involved, NoBg, NoObj, Coded, Ok(Inv, All, 3, 2)),
    (Nurse, Involved, NoBg, NoObj, Ordinary, Ok(Inv, All, 5, 0)),
    (Nurse, Involved, NoBg, Whole, Restricted, Before(NoPatientConsent)),
    (Nurse, Involved, NoBg, Whole, Coded, Before(NoPatientConsent)),
    (Nurse, Involved, NoBg, Whole, Ordinary, Before(NoPatientConsent)),
    (Nurse, Involved, NoBg, OwnOrg, Restricted, Ok(Inv, All, 3, 2)),
    (Nurse, Involved, NoBg, OwnOrg, Coded, Ok(Inv, All, 3, 2)),
    (Nurse, Involved, NoBg, OwnOrg, Ordinary, Ok(Inv, All, 5, 0)),
    (Nurse, Involved, NoBg, OtherOrg, Restricted, Ok(Inv, NoRvn, 2, 2)),
    (Nurse, Involved, NoBg, OtherOrg, Coded, Ok(Inv, NoRvn, 2, 2)),
    (Nurse, Involved, NoBg, OtherOrg, Ordinary, Ok(Inv, NoRvn, 4, 0)),
    (Nurse, Involved, ShortBg, NoObj, Restricted, Before(BreakGlassReasonInvalid)),
    (Nurse, Involved, ShortBg, NoObj, Coded, Before(BreakGlassReasonInvalid)),
    (Nurse, Involved, ShortBg, NoObj, Ordinary, Before(BreakGlassReasonInvalid)),
    (Nurse, Involved, ShortBg, Whole, Restricted, Before(BreakGlassReasonInvalid)),
    (Nurse, Involved, ShortBg, Whole, Coded, Before(BreakGlassReasonInvalid)),
    (Nurse, Involved, ShortBg, Whole, Ordinary, Before(BreakGlassReasonInvalid)),
    (Nurse, Involved, ShortBg, OwnOrg, Restricted, Before(BreakGlassReasonInvalid)),
    (Nurse, Involved, ShortBg, OwnOrg, Coded, Before(BreakGlassReasonInvalid)),
    (Nurse, Involved, ShortBg, OwnOrg, Ordinary, Before(BreakGlassReasonInvalid)),
    (Nurse, Involved, ShortBg, OtherOrg, Restricted, Before(BreakGlassReasonInvalid)),
    (Nurse, Involved, ShortBg, OtherOrg, Coded, Before(BreakGlassReasonInvalid)),
    (Nurse, Involved, ShortBg, OtherOrg, Ordinary, Before(BreakGlassReasonInvalid)),
    (Nurse, Involved, ValidBg, NoObj, Restricted, Ok(Inv, All, 3, 2)),
    (Nurse, Involved, ValidBg, NoObj, Coded, Ok(Inv, All, 3, 2)),
    (Nurse, Involved, ValidBg, NoObj, Ordinary, Ok(Inv, All, 5, 0)),
    (Nurse, Involved, ValidBg, Whole, Restricted, Before(NoPatientConsent)),
    (Nurse, Involved, ValidBg, Whole, Coded, Before(NoPatientConsent)),
    (Nurse, Involved, ValidBg, Whole, Ordinary, Before(NoPatientConsent)),
    (Nurse, Involved, ValidBg, OwnOrg, Restricted, Ok(Inv, All, 3, 2)),
    (Nurse, Involved, ValidBg, OwnOrg, Coded, Ok(Inv, All, 3, 2)),
    (Nurse, Involved, ValidBg, OwnOrg, Ordinary, Ok(Inv, All, 5, 0)),
    (Nurse, Involved, ValidBg, OtherOrg, Restricted, Ok(Inv, NoRvn, 2, 2)),
    (Nurse, Involved, ValidBg, OtherOrg, Coded, Ok(Inv, NoRvn, 2, 2)),
    (Nurse, Involved, ValidBg, OtherOrg, Ordinary, Ok(Inv, NoRvn, 4, 0)),
    (Nurse, SelfDecl, NoBg, NoObj, Restricted, Ok(SelfD, All, 3, 2)),
    (Nurse, SelfDecl, NoBg, NoObj, Coded, Ok(SelfD, All, 3, 2)),
    (Nurse, SelfDecl, NoBg, NoObj, Ordinary, Ok(SelfD, All, 5, 0)),
    (Nurse, SelfDecl, NoBg, Whole, Restricted, Before(NoPatientConsent)),
    (Nurse, SelfDecl, NoBg, Whole, Coded, Before(NoPatientConsent)),
    (Nurse, SelfDecl, NoBg, Whole, Ordinary, Before(NoPatientConsent)),
    (Nurse, SelfDecl, NoBg, OwnOrg, Restricted, Ok(SelfD, All, 3, 2)),
    (Nurse, SelfDecl, NoBg, OwnOrg, Coded, Ok(SelfD, All, 3, 2)),
    (Nurse, SelfDecl, NoBg, OwnOrg, Ordinary, Ok(SelfD, All, 5, 0)),
    (Nurse, SelfDecl, NoBg, OtherOrg, Restricted, Ok(SelfD, NoRvn, 2, 2)),
    (Nurse, SelfDecl, NoBg, OtherOrg, Coded, Ok(SelfD, NoRvn, 2, 2)),
    (Nurse, SelfDecl, NoBg, OtherOrg, Ordinary, Ok(SelfD, NoRvn, 4, 0)),
    (Nurse, SelfDecl, ShortBg, NoObj, Restricted, Before(BreakGlassReasonInvalid)),
    (Nurse, SelfDecl, ShortBg, NoObj, Coded, Before(BreakGlassReasonInvalid)),
    (Nurse, SelfDecl, ShortBg, NoObj, Ordinary, Before(BreakGlassReasonInvalid)),
    (Nurse, SelfDecl, ShortBg, Whole, Restricted, Before(BreakGlassReasonInvalid)),
    (Nurse, SelfDecl, ShortBg, Whole, Coded, Before(BreakGlassReasonInvalid)),
    (Nurse, SelfDecl, ShortBg, Whole, Ordinary, Before(BreakGlassReasonInvalid)),
    (Nurse, SelfDecl, ShortBg, OwnOrg, Restricted, Before(BreakGlassReasonInvalid)),
    (Nurse, SelfDecl, ShortBg, OwnOrg, Coded, Before(BreakGlassReasonInvalid)),
    (Nurse, SelfDecl, ShortBg, OwnOrg, Ordinary, Before(BreakGlassReasonInvalid)),
    (Nurse, SelfDecl, ShortBg, OtherOrg, Restricted, Before(BreakGlassReasonInvalid)),
    (Nurse, SelfDecl, ShortBg, OtherOrg, Coded, Before(BreakGlassReasonInvalid)),
    (Nurse, SelfDecl, ShortBg, OtherOrg, Ordinary, Before(BreakGlassReasonInvalid)),
    (Nurse, SelfDecl, ValidBg, NoObj, Restricted, Ok(SelfD, All, 3, 2)),
    (Nurse, SelfDecl, ValidBg, NoObj, Coded, Ok(SelfD, All, 3, 2)),
    (Nurse, SelfDecl, ValidBg, NoObj, Ordinary, Ok(SelfD, All, 5, 0)),
    (Nurse, SelfDecl, ValidBg, Whole, Restricted, Before(NoPatientConsent)),
    (Nurse, SelfDecl, ValidBg, Whole, Coded, Before(NoPatientConsent)),
    (Nurse, SelfDecl, ValidBg, Whole, Ordinary, Before(NoPatientConsent)),
    (Nurse, SelfDecl, ValidBg, OwnOrg, Restricted, Ok(SelfD, All, 3, 2)),
    (Nurse, SelfDecl, ValidBg, OwnOrg, Coded, Ok(SelfD, All, 3, 2)),
    (Nurse, SelfDecl, ValidBg, OwnOrg, Ordinary, Ok(SelfD, All, 5, 0)),
    (Nurse, SelfDecl, ValidBg, OtherOrg, Restricted, Ok(SelfD, NoRvn, 2, 2)),
    (Nurse, SelfDecl, ValidBg, OtherOrg, Coded, Ok(SelfD, NoRvn, 2, 2)),
    (Nurse, SelfDecl, ValidBg, OtherOrg, Ordinary, Ok(SelfD, NoRvn, 4, 0)),
    (Nurse, NoRel, NoBg, NoObj, Restricted, After(NoRelationship)),
    (Nurse, NoRel, NoBg, NoObj, Coded, After(NoRelationship)),
    (Nurse, NoRel, NoBg, NoObj, Ordinary, After(NoRelationship)),
    (Nurse, NoRel, NoBg, Whole, Restricted, Before(NoPatientConsent)),
    (Nurse, NoRel, NoBg, Whole, Coded, Before(NoPatientConsent)),
    (Nurse, NoRel, NoBg, Whole, Ordinary, Before(NoPatientConsent)),
    (Nurse, NoRel, NoBg, OwnOrg, Restricted, After(NoRelationship)),
    (Nurse, NoRel, NoBg, OwnOrg, Coded, After(NoRelationship)),
    (Nurse, NoRel, NoBg, OwnOrg, Ordinary, After(NoRelationship)),
    (Nurse, NoRel, NoBg, OtherOrg, Restricted, After(NoRelationship)),
    (Nurse, NoRel, NoBg, OtherOrg, Coded, After(NoRelationship)),
    (Nurse, NoRel, NoBg, OtherOrg, Ordinary, After(NoRelationship)),
    (Nurse, NoRel, ShortBg, NoObj, Restricted, Before(BreakGlassReasonInvalid)),
    (Nurse, NoRel, ShortBg, NoObj, Coded, Before(BreakGlassReasonInvalid)),
    (Nurse, NoRel, ShortBg, NoObj, Ordinary, Before(BreakGlassReasonInvalid)),
    (Nurse, NoRel, ShortBg, Whole, Restricted, Before(BreakGlassReasonInvalid)),
    (Nurse, NoRel, ShortBg, Whole, Coded, Before(BreakGlassReasonInvalid)),
    (Nurse, NoRel, ShortBg, Whole, Ordinary, Before(BreakGlassReasonInvalid)),
    (Nurse, NoRel, ShortBg, OwnOrg, Restricted, Before(BreakGlassReasonInvalid)),
    (Nurse, NoRel, ShortBg, OwnOrg, Coded, Before(BreakGlassReasonInvalid)),
    (Nurse, NoRel, ShortBg, OwnOrg, Ordinary, Before(BreakGlassReasonInvalid)),
    (Nurse, NoRel, ShortBg, OtherOrg, Restricted, Before(BreakGlassReasonInvalid)),
    (Nurse, NoRel, ShortBg, OtherOrg, Coded, Before(BreakGlassReasonInvalid)),
    (Nurse, NoRel, ShortBg, OtherOrg, Ordinary, Before(BreakGlassReasonInvalid)),
    (Nurse, NoRel, ValidBg, NoObj, Restricted, Ok(Glass, All, 3, 2)),
    (Nurse, NoRel, ValidBg, NoObj, Coded, Ok(Glass, All, 3, 2)),
    (Nurse, NoRel, ValidBg, NoObj, Ordinary, Ok(Glass, All, 5, 0)),
    (Nurse, NoRel, ValidBg, Whole, Restricted, Before(NoPatientConsent)),
    (Nurse, NoRel, ValidBg, Whole, Coded, Before(NoPatientConsent)),
    (Nurse, NoRel, ValidBg, Whole, Ordinary, Before(NoPatientConsent)),
    (Nurse, NoRel, ValidBg, OwnOrg, Restricted, Ok(Glass, All, 3, 2)),
    (Nurse, NoRel, ValidBg, OwnOrg, Coded, Ok(Glass, All, 3, 2)),
    (Nurse, NoRel, ValidBg, OwnOrg, Ordinary, Ok(Glass, All, 5, 0)),
    (Nurse, NoRel, ValidBg, OtherOrg, Restricted, Ok(Glass, NoRvn, 2, 2)),
    (Nurse, NoRel, ValidBg, OtherOrg, Coded, Ok(Glass, NoRvn, 2, 2)),
    (Nurse, NoRel, ValidBg, OtherOrg, Ordinary, Ok(Glass, NoRvn, 4, 0)),
    // Social: R8014, social care class
    (Social, Involved, NoBg, NoObj, Restricted, Ok(Inv, All, 1, 1)),
    (Social, Involved, NoBg, NoObj, Coded, Ok(Inv, All, 1, 1)),
    (Social, Involved, NoBg, NoObj, Ordinary, Ok(Inv, All, 2, 0)),
    (Social, Involved, NoBg, Whole, Restricted, Before(NoPatientConsent)),
    (Social, Involved, NoBg, Whole, Coded, Before(NoPatientConsent)),
    (Social, Involved, NoBg, Whole, Ordinary, Before(NoPatientConsent)),
    (Social, Involved, NoBg, OwnOrg, Restricted, Ok(Inv, All, 1, 1)),
    (Social, Involved, NoBg, OwnOrg, Coded, Ok(Inv, All, 1, 1)),
    (Social, Involved, NoBg, OwnOrg, Ordinary, Ok(Inv, All, 2, 0)),
    (Social, Involved, NoBg, OtherOrg, Restricted, Ok(Inv, NoRvn, 1, 1)),
    (Social, Involved, NoBg, OtherOrg, Coded, Ok(Inv, NoRvn, 1, 1)),
    (Social, Involved, NoBg, OtherOrg, Ordinary, Ok(Inv, NoRvn, 2, 0)),
    (Social, Involved, ShortBg, NoObj, Restricted, Before(BreakGlassNotPermitted)),
    (Social, Involved, ShortBg, NoObj, Coded, Before(BreakGlassNotPermitted)),
    (Social, Involved, ShortBg, NoObj, Ordinary, Before(BreakGlassNotPermitted)),
    (Social, Involved, ShortBg, Whole, Restricted, Before(BreakGlassNotPermitted)),
    (Social, Involved, ShortBg, Whole, Coded, Before(BreakGlassNotPermitted)),
    (Social, Involved, ShortBg, Whole, Ordinary, Before(BreakGlassNotPermitted)),
    (Social, Involved, ShortBg, OwnOrg, Restricted, Before(BreakGlassNotPermitted)),
    (Social, Involved, ShortBg, OwnOrg, Coded, Before(BreakGlassNotPermitted)),
    (Social, Involved, ShortBg, OwnOrg, Ordinary, Before(BreakGlassNotPermitted)),
    (Social, Involved, ShortBg, OtherOrg, Restricted, Before(BreakGlassNotPermitted)),
    (Social, Involved, ShortBg, OtherOrg, Coded, Before(BreakGlassNotPermitted)),
    (Social, Involved, ShortBg, OtherOrg, Ordinary, Before(BreakGlassNotPermitted)),
    (Social, Involved, ValidBg, NoObj, Restricted, Before(BreakGlassNotPermitted)),
    (Social, Involved, ValidBg, NoObj, Coded, Before(BreakGlassNotPermitted)),
    (Social, Involved, ValidBg, NoObj, Ordinary, Before(BreakGlassNotPermitted)),
    (Social, Involved, ValidBg, Whole, Restricted, Before(BreakGlassNotPermitted)),
    (Social, Involved, ValidBg, Whole, Coded, Before(BreakGlassNotPermitted)),
    (Social, Involved, ValidBg, Whole, Ordinary, Before(BreakGlassNotPermitted)),
    (Social, Involved, ValidBg, OwnOrg, Restricted, Before(BreakGlassNotPermitted)),
    (Social, Involved, ValidBg, OwnOrg, Coded, Before(BreakGlassNotPermitted)),
    (Social, Involved, ValidBg, OwnOrg, Ordinary, Before(BreakGlassNotPermitted)),
    (Social, Involved, ValidBg, OtherOrg, Restricted, Before(BreakGlassNotPermitted)),
    (Social, Involved, ValidBg, OtherOrg, Coded, Before(BreakGlassNotPermitted)),
    (Social, Involved, ValidBg, OtherOrg, Ordinary, Before(BreakGlassNotPermitted)),
    (Social, SelfDecl, NoBg, NoObj, Restricted, Ok(SelfD, All, 1, 1)),
    (Social, SelfDecl, NoBg, NoObj, Coded, Ok(SelfD, All, 1, 1)),
    (Social, SelfDecl, NoBg, NoObj, Ordinary, Ok(SelfD, All, 2, 0)),
    (Social, SelfDecl, NoBg, Whole, Restricted, Before(NoPatientConsent)),
    (Social, SelfDecl, NoBg, Whole, Coded, Before(NoPatientConsent)),
    (Social, SelfDecl, NoBg, Whole, Ordinary, Before(NoPatientConsent)),
    (Social, SelfDecl, NoBg, OwnOrg, Restricted, Ok(SelfD, All, 1, 1)),
    (Social, SelfDecl, NoBg, OwnOrg, Coded, Ok(SelfD, All, 1, 1)),
    (Social, SelfDecl, NoBg, OwnOrg, Ordinary, Ok(SelfD, All, 2, 0)),
    (Social, SelfDecl, NoBg, OtherOrg, Restricted, Ok(SelfD, NoRvn, 1, 1)),
    (Social, SelfDecl, NoBg, OtherOrg, Coded, Ok(SelfD, NoRvn, 1, 1)),
    (Social, SelfDecl, NoBg, OtherOrg, Ordinary, Ok(SelfD, NoRvn, 2, 0)),
    (Social, SelfDecl, ShortBg, NoObj, Restricted, Before(BreakGlassNotPermitted)),
    (Social, SelfDecl, ShortBg, NoObj, Coded, Before(BreakGlassNotPermitted)),
    (Social, SelfDecl, ShortBg, NoObj, Ordinary, Before(BreakGlassNotPermitted)),
    (Social, SelfDecl, ShortBg, Whole, Restricted, Before(BreakGlassNotPermitted)),
    (Social, SelfDecl, ShortBg, Whole, Coded, Before(BreakGlassNotPermitted)),
    (Social, SelfDecl, ShortBg, Whole, Ordinary, Before(BreakGlassNotPermitted)),
    (Social, SelfDecl, ShortBg, OwnOrg, Restricted, Before(BreakGlassNotPermitted)),
    (Social, SelfDecl, ShortBg, OwnOrg, Coded, Before(BreakGlassNotPermitted)),
    (Social, SelfDecl, ShortBg, OwnOrg, Ordinary, Before(BreakGlassNotPermitted)),
    (Social, SelfDecl, ShortBg, OtherOrg, Restricted, Before(BreakGlassNotPermitted)),
    (Social, SelfDecl, ShortBg, OtherOrg, Coded, Before(BreakGlassNotPermitted)),
    (Social, SelfDecl, ShortBg, OtherOrg, Ordinary, Before(BreakGlassNotPermitted)),
    (Social, SelfDecl, ValidBg, NoObj, Restricted, Before(BreakGlassNotPermitted)),
    (Social, SelfDecl, ValidBg, NoObj, Coded, Before(BreakGlassNotPermitted)),
    (Social, SelfDecl, ValidBg, NoObj, Ordinary, Before(BreakGlassNotPermitted)),
    (Social, SelfDecl, ValidBg, Whole, Restricted, Before(BreakGlassNotPermitted)),
    (Social, SelfDecl, ValidBg, Whole, Coded, Before(BreakGlassNotPermitted)),
    (Social, SelfDecl, ValidBg, Whole, Ordinary, Before(BreakGlassNotPermitted)),
    (Social, SelfDecl, ValidBg, OwnOrg, Restricted, Before(BreakGlassNotPermitted)),
    (Social, SelfDecl, ValidBg, OwnOrg, Coded, Before(BreakGlassNotPermitted)),
    (Social, SelfDecl, ValidBg, OwnOrg, Ordinary, Before(BreakGlassNotPermitted)),
    (Social, SelfDecl, ValidBg, OtherOrg, Restricted, Before(BreakGlassNotPermitted)),
    (Social, SelfDecl, ValidBg, OtherOrg, Coded, Before(BreakGlassNotPermitted)),
    (Social, SelfDecl, ValidBg, OtherOrg, Ordinary, Before(BreakGlassNotPermitted)),
    (Social, NoRel, NoBg, NoObj, Restricted, After(NoRelationship)),
    (Social, NoRel, NoBg, NoObj, Coded, After(NoRelationship)),
    (Social, NoRel, NoBg, NoObj, Ordinary, After(NoRelationship)),
    (Social, NoRel, NoBg, Whole, Restricted, Before(NoPatientConsent)),
    (Social, NoRel, NoBg, Whole, Coded, Before(NoPatientConsent)),
    (Social, NoRel, NoBg, Whole, Ordinary, Before(NoPatientConsent)),
    (Social, NoRel, NoBg, OwnOrg, Restricted, After(NoRelationship)),
    (Social, NoRel, NoBg, OwnOrg, Coded, After(NoRelationship)),
    (Social, NoRel, NoBg, OwnOrg, Ordinary, After(NoRelationship)),
    (Social, NoRel, NoBg, OtherOrg, Restricted, After(NoRelationship)),
    (Social, NoRel, NoBg, OtherOrg, Coded, After(NoRelationship)),
    (Social, NoRel, NoBg, OtherOrg, Ordinary, After(NoRelationship)),
    (Social, NoRel, ShortBg, NoObj, Restricted, Before(BreakGlassNotPermitted)),
    (Social, NoRel, ShortBg, NoObj, Coded, Before(BreakGlassNotPermitted)),
    (Social, NoRel, ShortBg, NoObj, Ordinary, Before(BreakGlassNotPermitted)),
    (Social, NoRel, ShortBg, Whole, Restricted, Before(BreakGlassNotPermitted)),
    (Social, NoRel, ShortBg, Whole, Coded, Before(BreakGlassNotPermitted)),
    (Social, NoRel, ShortBg, Whole, Ordinary, Before(BreakGlassNotPermitted)),
    (Social, NoRel, ShortBg, OwnOrg, Restricted, Before(BreakGlassNotPermitted)),
    (Social, NoRel, ShortBg, OwnOrg, Coded, Before(BreakGlassNotPermitted)),
    (Social, NoRel, ShortBg, OwnOrg, Ordinary, Before(BreakGlassNotPermitted)),
    (Social, NoRel, ShortBg, OtherOrg, Restricted, Before(BreakGlassNotPermitted)),
    (Social, NoRel, ShortBg, OtherOrg, Coded, Before(BreakGlassNotPermitted)),
    (Social, NoRel, ShortBg, OtherOrg, Ordinary, Before(BreakGlassNotPermitted)),
    (Social, NoRel, ValidBg, NoObj, Restricted, Before(BreakGlassNotPermitted)),
    (Social, NoRel, ValidBg, NoObj, Coded, Before(BreakGlassNotPermitted)),
    (Social, NoRel, ValidBg, NoObj, Ordinary, Before(BreakGlassNotPermitted)),
    (Social, NoRel, ValidBg, Whole, Restricted, Before(BreakGlassNotPermitted)),
    (Social, NoRel, ValidBg, Whole, Coded, Before(BreakGlassNotPermitted)),
    (Social, NoRel, ValidBg, Whole, Ordinary, Before(BreakGlassNotPermitted)),
    (Social, NoRel, ValidBg, OwnOrg, Restricted, Before(BreakGlassNotPermitted)),
    (Social, NoRel, ValidBg, OwnOrg, Coded, Before(BreakGlassNotPermitted)),
    (Social, NoRel, ValidBg, OwnOrg, Ordinary, Before(BreakGlassNotPermitted)),
    (Social, NoRel, ValidBg, OtherOrg, Restricted, Before(BreakGlassNotPermitted)),
    (Social, NoRel, ValidBg, OtherOrg, Coded, Before(BreakGlassNotPermitted)),
    (Social, NoRel, ValidBg, OtherOrg, Ordinary, Before(BreakGlassNotPermitted)),
    // Admin: R8008, administrative class
    (Admin, Involved, NoBg, NoObj, Restricted, Ok(Inv, All, 1, 1)),
    (Admin, Involved, NoBg, NoObj, Coded, Ok(Inv, All, 1, 1)),
    (Admin, Involved, NoBg, NoObj, Ordinary, Ok(Inv, All, 2, 0)),
    (Admin, Involved, NoBg, Whole, Restricted, Before(NoPatientConsent)),
    (Admin, Involved, NoBg, Whole, Coded, Before(NoPatientConsent)),
    (Admin, Involved, NoBg, Whole, Ordinary, Before(NoPatientConsent)),
    (Admin, Involved, NoBg, OwnOrg, Restricted, Ok(Inv, All, 1, 1)),
    (Admin, Involved, NoBg, OwnOrg, Coded, Ok(Inv, All, 1, 1)),
    (Admin, Involved, NoBg, OwnOrg, Ordinary, Ok(Inv, All, 2, 0)),
    (Admin, Involved, NoBg, OtherOrg, Restricted, Ok(Inv, NoRvn, 1, 1)),
    (Admin, Involved, NoBg, OtherOrg, Coded, Ok(Inv, NoRvn, 1, 1)),
    (Admin, Involved, NoBg, OtherOrg, Ordinary, Ok(Inv, NoRvn, 2, 0)),
    (Admin, Involved, ShortBg, NoObj, Restricted, Before(BreakGlassNotPermitted)),
    (Admin, Involved, ShortBg, NoObj, Coded, Before(BreakGlassNotPermitted)),
    (Admin, Involved, ShortBg, NoObj, Ordinary, Before(BreakGlassNotPermitted)),
    (Admin, Involved, ShortBg, Whole, Restricted, Before(BreakGlassNotPermitted)),
    (Admin, Involved, ShortBg, Whole, Coded, Before(BreakGlassNotPermitted)),
    (Admin, Involved, ShortBg, Whole, Ordinary, Before(BreakGlassNotPermitted)),
    (Admin, Involved, ShortBg, OwnOrg, Restricted, Before(BreakGlassNotPermitted)),
    (Admin, Involved, ShortBg, OwnOrg, Coded, Before(BreakGlassNotPermitted)),
    (Admin, Involved, ShortBg, OwnOrg, Ordinary, Before(BreakGlassNotPermitted)),
    (Admin, Involved, ShortBg, OtherOrg, Restricted, Before(BreakGlassNotPermitted)),
    (Admin, Involved, ShortBg, OtherOrg, Coded, Before(BreakGlassNotPermitted)),
    (Admin, Involved, ShortBg, OtherOrg, Ordinary, Before(BreakGlassNotPermitted)),
    (Admin, Involved, ValidBg, NoObj, Restricted, Before(BreakGlassNotPermitted)),
    (Admin, Involved, ValidBg, NoObj, Coded, Before(BreakGlassNotPermitted)),
    (Admin, Involved, ValidBg, NoObj, Ordinary, Before(BreakGlassNotPermitted)),
    (Admin, Involved, ValidBg, Whole, Restricted, Before(BreakGlassNotPermitted)),
    (Admin, Involved, ValidBg, Whole, Coded, Before(BreakGlassNotPermitted)),
    (Admin, Involved, ValidBg, Whole, Ordinary, Before(BreakGlassNotPermitted)),
    (Admin, Involved, ValidBg, OwnOrg, Restricted, Before(BreakGlassNotPermitted)),
    (Admin, Involved, ValidBg, OwnOrg, Coded, Before(BreakGlassNotPermitted)),
    (Admin, Involved, ValidBg, OwnOrg, Ordinary, Before(BreakGlassNotPermitted)),
    (Admin, Involved, ValidBg, OtherOrg, Restricted, Before(BreakGlassNotPermitted)),
    (Admin, Involved, ValidBg, OtherOrg, Coded, Before(BreakGlassNotPermitted)),
    (Admin, Involved, ValidBg, OtherOrg, Ordinary, Before(BreakGlassNotPermitted)),
    (Admin, SelfDecl, NoBg, NoObj, Restricted, Ok(SelfD, All, 1, 1)),
    (Admin, SelfDecl, NoBg, NoObj, Coded, Ok(SelfD, All, 1, 1)),
    (Admin, SelfDecl, NoBg, NoObj, Ordinary, Ok(SelfD, All, 2, 0)),
    (Admin, SelfDecl, NoBg, Whole, Restricted, Before(NoPatientConsent)),
    (Admin, SelfDecl, NoBg, Whole, Coded, Before(NoPatientConsent)),
    (Admin, SelfDecl, NoBg, Whole, Ordinary, Before(NoPatientConsent)),
    (Admin, SelfDecl, NoBg, OwnOrg, Restricted, Ok(SelfD, All, 1, 1)),
    (Admin, SelfDecl, NoBg, OwnOrg, Coded, Ok(SelfD, All, 1, 1)),
    (Admin, SelfDecl, NoBg, OwnOrg, Ordinary, Ok(SelfD, All, 2, 0)),
    (Admin, SelfDecl, NoBg, OtherOrg, Restricted, Ok(SelfD, NoRvn, 1, 1)),
    (Admin, SelfDecl, NoBg, OtherOrg, Coded, Ok(SelfD, NoRvn, 1, 1)),
    (Admin, SelfDecl, NoBg, OtherOrg, Ordinary, Ok(SelfD, NoRvn, 2, 0)),
    (Admin, SelfDecl, ShortBg, NoObj, Restricted, Before(BreakGlassNotPermitted)),
    (Admin, SelfDecl, ShortBg, NoObj, Coded, Before(BreakGlassNotPermitted)),
    (Admin, SelfDecl, ShortBg, NoObj, Ordinary, Before(BreakGlassNotPermitted)),
    (Admin, SelfDecl, ShortBg, Whole, Restricted, Before(BreakGlassNotPermitted)),
    (Admin, SelfDecl, ShortBg, Whole, Coded, Before(BreakGlassNotPermitted)),
    (Admin, SelfDecl, ShortBg, Whole, Ordinary, Before(BreakGlassNotPermitted)),
    (Admin, SelfDecl, ShortBg, OwnOrg, Restricted, Before(BreakGlassNotPermitted)),
    (Admin, SelfDecl, ShortBg, OwnOrg, Coded, Before(BreakGlassNotPermitted)),
    (Admin, SelfDecl, ShortBg, OwnOrg, Ordinary, Before(BreakGlassNotPermitted)),
    (Admin, SelfDecl, ShortBg, OtherOrg, Restricted, Before(BreakGlassNotPermitted)),
    (Admin, SelfDecl, ShortBg, OtherOrg, Coded, Before(BreakGlassNotPermitted)),
    (Admin, SelfDecl, ShortBg, OtherOrg, Ordinary, Before(BreakGlassNotPermitted)),
    (Admin, SelfDecl, ValidBg, NoObj, Restricted, Before(BreakGlassNotPermitted)),
    (Admin, SelfDecl, ValidBg, NoObj, Coded, Before(BreakGlassNotPermitted)),
    (Admin, SelfDecl, ValidBg, NoObj, Ordinary, Before(BreakGlassNotPermitted)),
    (Admin, SelfDecl, ValidBg, Whole, Restricted, Before(BreakGlassNotPermitted)),
    (Admin, SelfDecl, ValidBg, Whole, Coded, Before(BreakGlassNotPermitted)),
    (Admin, SelfDecl, ValidBg, Whole, Ordinary, Before(BreakGlassNotPermitted)),
    (Admin, SelfDecl, ValidBg, OwnOrg, Restricted, Before(BreakGlassNotPermitted)),
    (Admin, SelfDecl, ValidBg, OwnOrg, Coded, Before(BreakGlassNotPermitted)),
    (Admin, SelfDecl, ValidBg, OwnOrg, Ordinary, Before(BreakGlassNotPermitted)),
    (Admin, SelfDecl, ValidBg, OtherOrg, Restricted, Before(BreakGlassNotPermitted)),
    (Admin, SelfDecl, ValidBg, OtherOrg, Coded, Before(BreakGlassNotPermitted)),
    (Admin, SelfDecl, ValidBg, OtherOrg, Ordinary, Before(BreakGlassNotPermitted)),
    (Admin, NoRel, NoBg, NoObj, Restricted, After(NoRelationship)),
    (Admin, NoRel, NoBg, NoObj, Coded, After(NoRelationship)),
    (Admin, NoRel, NoBg, NoObj, Ordinary, After(NoRelationship)),
    (Admin, NoRel, NoBg, Whole, Restricted, Before(NoPatientConsent)),
    (Admin, NoRel, NoBg, Whole, Coded, Before(NoPatientConsent)),
    (Admin, NoRel, NoBg, Whole, Ordinary, Before(NoPatientConsent)),
    (Admin, NoRel, NoBg, OwnOrg, Restricted, After(NoRelationship)),
    (Admin, NoRel, NoBg, OwnOrg, Coded, After(NoRelationship)),
    (Admin, NoRel, NoBg, OwnOrg, Ordinary, After(NoRelationship)),
    (Admin, NoRel, NoBg, OtherOrg, Restricted, After(NoRelationship)),
    (Admin, NoRel, NoBg, OtherOrg, Coded, After(NoRelationship)),
    (Admin, NoRel, NoBg, OtherOrg, Ordinary, After(NoRelationship)),
    (Admin, NoRel, ShortBg, NoObj, Restricted, Before(BreakGlassNotPermitted)),
    (Admin, NoRel, ShortBg, NoObj, Coded, Before(BreakGlassNotPermitted)),
    (Admin, NoRel, ShortBg, NoObj, Ordinary, Before(BreakGlassNotPermitted)),
    (Admin, NoRel, ShortBg, Whole, Restricted, Before(BreakGlassNotPermitted)),
    (Admin, NoRel, ShortBg, Whole, Coded, Before(BreakGlassNotPermitted)),
    (Admin, NoRel, ShortBg, Whole, Ordinary, Before(BreakGlassNotPermitted)),
    (Admin, NoRel, ShortBg, OwnOrg, Restricted, Before(BreakGlassNotPermitted)),
    (Admin, NoRel, ShortBg, OwnOrg, Coded, Before(BreakGlassNotPermitted)),
    (Admin, NoRel, ShortBg, OwnOrg, Ordinary, Before(BreakGlassNotPermitted)),
    (Admin, NoRel, ShortBg, OtherOrg, Restricted, Before(BreakGlassNotPermitted)),
    (Admin, NoRel, ShortBg, OtherOrg, Coded, Before(BreakGlassNotPermitted)),
    (Admin, NoRel, ShortBg, OtherOrg, Ordinary, Before(BreakGlassNotPermitted)),
    (Admin, NoRel, ValidBg, NoObj, Restricted, Before(BreakGlassNotPermitted)),
    (Admin, NoRel, ValidBg, NoObj, Coded, Before(BreakGlassNotPermitted)),
    (Admin, NoRel, ValidBg, NoObj, Ordinary, Before(BreakGlassNotPermitted)),
    (Admin, NoRel, ValidBg, Whole, Restricted, Before(BreakGlassNotPermitted)),
    (Admin, NoRel, ValidBg, Whole, Coded, Before(BreakGlassNotPermitted)),
    (Admin, NoRel, ValidBg, Whole, Ordinary, Before(BreakGlassNotPermitted)),
    (Admin, NoRel, ValidBg, OwnOrg, Restricted, Before(BreakGlassNotPermitted)),
    (Admin, NoRel, ValidBg, OwnOrg, Coded, Before(BreakGlassNotPermitted)),
    (Admin, NoRel, ValidBg, OwnOrg, Ordinary, Before(BreakGlassNotPermitted)),
    (Admin, NoRel, ValidBg, OtherOrg, Restricted, Before(BreakGlassNotPermitted)),
    (Admin, NoRel, ValidBg, OtherOrg, Coded, Before(BreakGlassNotPermitted)),
    (Admin, NoRel, ValidBg, OtherOrg, Ordinary, Before(BreakGlassNotPermitted)),
    // Pharmacist: TESTPHARM, pharmacist class
    (Pharmacist, Involved, NoBg, NoObj, Restricted, Ok(Inv, All, 2, 1)),
    (Pharmacist, Involved, NoBg, NoObj, Coded, Ok(Inv, All, 2, 1)),
    (Pharmacist, Involved, NoBg, NoObj, Ordinary, Ok(Inv, All, 3, 0)),
    (Pharmacist, Involved, NoBg, Whole, Restricted, Before(NoPatientConsent)),
    (Pharmacist, Involved, NoBg, Whole, Coded, Before(NoPatientConsent)),
    (Pharmacist, Involved, NoBg, Whole, Ordinary, Before(NoPatientConsent)),
    (Pharmacist, Involved, NoBg, OwnOrg, Restricted, Ok(Inv, All, 2, 1)),
    (Pharmacist, Involved, NoBg, OwnOrg, Coded, Ok(Inv, All, 2, 1)),
    (Pharmacist, Involved, NoBg, OwnOrg, Ordinary, Ok(Inv, All, 3, 0)),
    (Pharmacist, Involved, NoBg, OtherOrg, Restricted, Ok(Inv, NoRvn, 1, 1)),
    (Pharmacist, Involved, NoBg, OtherOrg, Coded, Ok(Inv, NoRvn, 1, 1)),
    (Pharmacist, Involved, NoBg, OtherOrg, Ordinary, Ok(Inv, NoRvn, 2, 0)),
    (Pharmacist, Involved, ShortBg, NoObj, Restricted, Before(BreakGlassReasonInvalid)),
    (Pharmacist, Involved, ShortBg, NoObj, Coded, Before(BreakGlassReasonInvalid)),
    (Pharmacist, Involved, ShortBg, NoObj, Ordinary, Before(BreakGlassReasonInvalid)),
    (Pharmacist, Involved, ShortBg, Whole, Restricted, Before(BreakGlassReasonInvalid)),
    (Pharmacist, Involved, ShortBg, Whole, Coded, Before(BreakGlassReasonInvalid)),
    (Pharmacist, Involved, ShortBg, Whole, Ordinary, Before(BreakGlassReasonInvalid)),
    (Pharmacist, Involved, ShortBg, OwnOrg, Restricted, Before(BreakGlassReasonInvalid)),
    (Pharmacist, Involved, ShortBg, OwnOrg, Coded, Before(BreakGlassReasonInvalid)),
    (Pharmacist, Involved, ShortBg, OwnOrg, Ordinary, Before(BreakGlassReasonInvalid)),
    (Pharmacist, Involved, ShortBg, OtherOrg, Restricted, Before(BreakGlassReasonInvalid)),
    (Pharmacist, Involved, ShortBg, OtherOrg, Coded, Before(BreakGlassReasonInvalid)),
    (Pharmacist, Involved, ShortBg, OtherOrg, Ordinary, Before(BreakGlassReasonInvalid)),
    (Pharmacist, Involved, ValidBg, NoObj, Restricted, Ok(Inv, All, 2, 1)),
    (Pharmacist, Involved, ValidBg, NoObj, Coded, Ok(Inv, All, 2, 1)),
    (Pharmacist, Involved, ValidBg, NoObj, Ordinary, Ok(Inv, All, 3, 0)),
    (Pharmacist, Involved, ValidBg, Whole, Restricted, Before(NoPatientConsent)),
    (Pharmacist, Involved, ValidBg, Whole, Coded, Before(NoPatientConsent)),
    (Pharmacist, Involved, ValidBg, Whole, Ordinary, Before(NoPatientConsent)),
    (Pharmacist, Involved, ValidBg, OwnOrg, Restricted, Ok(Inv, All, 2, 1)),
    (Pharmacist, Involved, ValidBg, OwnOrg, Coded, Ok(Inv, All, 2, 1)),
    (Pharmacist, Involved, ValidBg, OwnOrg, Ordinary, Ok(Inv, All, 3, 0)),
    (Pharmacist, Involved, ValidBg, OtherOrg, Restricted, Ok(Inv, NoRvn, 1, 1)),
    (Pharmacist, Involved, ValidBg, OtherOrg, Coded, Ok(Inv, NoRvn, 1, 1)),
    (Pharmacist, Involved, ValidBg, OtherOrg, Ordinary, Ok(Inv, NoRvn, 2, 0)),
    (Pharmacist, SelfDecl, NoBg, NoObj, Restricted, Ok(SelfD, All, 2, 1)),
    (Pharmacist, SelfDecl, NoBg, NoObj, Coded, Ok(SelfD, All, 2, 1)),
    (Pharmacist, SelfDecl, NoBg, NoObj, Ordinary, Ok(SelfD, All, 3, 0)),
    (Pharmacist, SelfDecl, NoBg, Whole, Restricted, Before(NoPatientConsent)),
    (Pharmacist, SelfDecl, NoBg, Whole, Coded, Before(NoPatientConsent)),
    (Pharmacist, SelfDecl, NoBg, Whole, Ordinary, Before(NoPatientConsent)),
    (Pharmacist, SelfDecl, NoBg, OwnOrg, Restricted, Ok(SelfD, All, 2, 1)),
    (Pharmacist, SelfDecl, NoBg, OwnOrg, Coded, Ok(SelfD, All, 2, 1)),
    (Pharmacist, SelfDecl, NoBg, OwnOrg, Ordinary, Ok(SelfD, All, 3, 0)),
    (Pharmacist, SelfDecl, NoBg, OtherOrg, Restricted, Ok(SelfD, NoRvn, 1, 1)),
    (Pharmacist, SelfDecl, NoBg, OtherOrg, Coded, Ok(SelfD, NoRvn, 1, 1)),
    (Pharmacist, SelfDecl, NoBg, OtherOrg, Ordinary, Ok(SelfD, NoRvn, 2, 0)),
    (Pharmacist, SelfDecl, ShortBg, NoObj, Restricted, Before(BreakGlassReasonInvalid)),
    (Pharmacist, SelfDecl, ShortBg, NoObj, Coded, Before(BreakGlassReasonInvalid)),
    (Pharmacist, SelfDecl, ShortBg, NoObj, Ordinary, Before(BreakGlassReasonInvalid)),
    (Pharmacist, SelfDecl, ShortBg, Whole, Restricted, Before(BreakGlassReasonInvalid)),
    (Pharmacist, SelfDecl, ShortBg, Whole, Coded, Before(BreakGlassReasonInvalid)),
    (Pharmacist, SelfDecl, ShortBg, Whole, Ordinary, Before(BreakGlassReasonInvalid)),
    (Pharmacist, SelfDecl, ShortBg, OwnOrg, Restricted, Before(BreakGlassReasonInvalid)),
    (Pharmacist, SelfDecl, ShortBg, OwnOrg, Coded, Before(BreakGlassReasonInvalid)),
    (Pharmacist, SelfDecl, ShortBg, OwnOrg, Ordinary, Before(BreakGlassReasonInvalid)),
    (Pharmacist, SelfDecl, ShortBg, OtherOrg, Restricted, Before(BreakGlassReasonInvalid)),
    (Pharmacist, SelfDecl, ShortBg, OtherOrg, Coded, Before(BreakGlassReasonInvalid)),
    (Pharmacist, SelfDecl, ShortBg, OtherOrg, Ordinary, Before(BreakGlassReasonInvalid)),
    (Pharmacist, SelfDecl, ValidBg, NoObj, Restricted, Ok(SelfD, All, 2, 1)),
    (Pharmacist, SelfDecl, ValidBg, NoObj, Coded, Ok(SelfD, All, 2, 1)),
    (Pharmacist, SelfDecl, ValidBg, NoObj, Ordinary, Ok(SelfD, All, 3, 0)),
    (Pharmacist, SelfDecl, ValidBg, Whole, Restricted, Before(NoPatientConsent)),
    (Pharmacist, SelfDecl, ValidBg, Whole, Coded, Before(NoPatientConsent)),
    (Pharmacist, SelfDecl, ValidBg, Whole, Ordinary, Before(NoPatientConsent)),
    (Pharmacist, SelfDecl, ValidBg, OwnOrg, Restricted, Ok(SelfD, All, 2, 1)),
    (Pharmacist, SelfDecl, ValidBg, OwnOrg, Coded, Ok(SelfD, All, 2, 1)),
    (Pharmacist, SelfDecl, ValidBg, OwnOrg, Ordinary, Ok(SelfD, All, 3, 0)),
    (Pharmacist, SelfDecl, ValidBg, OtherOrg, Restricted, Ok(SelfD, NoRvn, 1, 1)),
    (Pharmacist, SelfDecl, ValidBg, OtherOrg, Coded, Ok(SelfD, NoRvn, 1, 1)),
    (Pharmacist, SelfDecl, ValidBg, OtherOrg, Ordinary, Ok(SelfD, NoRvn, 2, 0)),
    (Pharmacist, NoRel, NoBg, NoObj, Restricted, After(NoRelationship)),
    (Pharmacist, NoRel, NoBg, NoObj, Coded, After(NoRelationship)),
    (Pharmacist, NoRel, NoBg, NoObj, Ordinary, After(NoRelationship)),
    (Pharmacist, NoRel, NoBg, Whole, Restricted, Before(NoPatientConsent)),
    (Pharmacist, NoRel, NoBg, Whole, Coded, Before(NoPatientConsent)),
    (Pharmacist, NoRel, NoBg, Whole, Ordinary, Before(NoPatientConsent)),
    (Pharmacist, NoRel, NoBg, OwnOrg, Restricted, After(NoRelationship)),
    (Pharmacist, NoRel, NoBg, OwnOrg, Coded, After(NoRelationship)),
    (Pharmacist, NoRel, NoBg, OwnOrg, Ordinary, After(NoRelationship)),
    (Pharmacist, NoRel, NoBg, OtherOrg, Restricted, After(NoRelationship)),
    (Pharmacist, NoRel, NoBg, OtherOrg, Coded, After(NoRelationship)),
    (Pharmacist, NoRel, NoBg, OtherOrg, Ordinary, After(NoRelationship)),
    (Pharmacist, NoRel, ShortBg, NoObj, Restricted, Before(BreakGlassReasonInvalid)),
    (Pharmacist, NoRel, ShortBg, NoObj, Coded, Before(BreakGlassReasonInvalid)),
    (Pharmacist, NoRel, ShortBg, NoObj, Ordinary, Before(BreakGlassReasonInvalid)),
    (Pharmacist, NoRel, ShortBg, Whole, Restricted, Before(BreakGlassReasonInvalid)),
    (Pharmacist, NoRel, ShortBg, Whole, Coded, Before(BreakGlassReasonInvalid)),
    (Pharmacist, NoRel, ShortBg, Whole, Ordinary, Before(BreakGlassReasonInvalid)),
    (Pharmacist, NoRel, ShortBg, OwnOrg, Restricted, Before(BreakGlassReasonInvalid)),
    (Pharmacist, NoRel, ShortBg, OwnOrg, Coded, Before(BreakGlassReasonInvalid)),
    (Pharmacist, NoRel, ShortBg, OwnOrg, Ordinary, Before(BreakGlassReasonInvalid)),
    (Pharmacist, NoRel, ShortBg, OtherOrg, Restricted, Before(BreakGlassReasonInvalid)),
    (Pharmacist, NoRel, ShortBg, OtherOrg, Coded, Before(BreakGlassReasonInvalid)),
    (Pharmacist, NoRel, ShortBg, OtherOrg, Ordinary, Before(BreakGlassReasonInvalid)),
    (Pharmacist, NoRel, ValidBg, NoObj, Restricted, Ok(Glass, All, 2, 1)),
    (Pharmacist, NoRel, ValidBg, NoObj, Coded, Ok(Glass, All, 2, 1)),
    (Pharmacist, NoRel, ValidBg, NoObj, Ordinary, Ok(Glass, All, 3, 0)),
    (Pharmacist, NoRel, ValidBg, Whole, Restricted, Before(NoPatientConsent)),
    (Pharmacist, NoRel, ValidBg, Whole, Coded, Before(NoPatientConsent)),
    (Pharmacist, NoRel, ValidBg, Whole, Ordinary, Before(NoPatientConsent)),
    (Pharmacist, NoRel, ValidBg, OwnOrg, Restricted, Ok(Glass, All, 2, 1)),
    (Pharmacist, NoRel, ValidBg, OwnOrg, Coded, Ok(Glass, All, 2, 1)),
    (Pharmacist, NoRel, ValidBg, OwnOrg, Ordinary, Ok(Glass, All, 3, 0)),
    (Pharmacist, NoRel, ValidBg, OtherOrg, Restricted, Ok(Glass, NoRvn, 1, 1)),
    (Pharmacist, NoRel, ValidBg, OtherOrg, Coded, Ok(Glass, NoRvn, 1, 1)),
    (Pharmacist, NoRel, ValidBg, OtherOrg, Ordinary, Ok(Glass, NoRvn, 2, 0)),
    // PatientOwn: a patient asking for their own record
    (PatientOwn, Involved, NoBg, NoObj, Restricted, Ok(Own, All, 3, 2)),
    (PatientOwn, Involved, NoBg, NoObj, Coded, Ok(Own, All, 3, 2)),
    (PatientOwn, Involved, NoBg, NoObj, Ordinary, Ok(Own, All, 5, 0)),
    (PatientOwn, Involved, NoBg, Whole, Restricted, Ok(Own, All, 3, 2)),
    (PatientOwn, Involved, NoBg, Whole, Coded, Ok(Own, All, 3, 2)),
    (PatientOwn, Involved, NoBg, Whole, Ordinary, Ok(Own, All, 5, 0)),
    (PatientOwn, Involved, NoBg, OwnOrg, Restricted, Ok(Own, All, 3, 2)),
    (PatientOwn, Involved, NoBg, OwnOrg, Coded, Ok(Own, All, 3, 2)),
    (PatientOwn, Involved, NoBg, OwnOrg, Ordinary, Ok(Own, All, 5, 0)),
    (PatientOwn, Involved, NoBg, OtherOrg, Restricted, Ok(Own, All, 3, 2)),
    (PatientOwn, Involved, NoBg, OtherOrg, Coded, Ok(Own, All, 3, 2)),
    (PatientOwn, Involved, NoBg, OtherOrg, Ordinary, Ok(Own, All, 5, 0)),
    (PatientOwn, Involved, ShortBg, NoObj, Restricted, Before(BreakGlassNotPermitted)),
    (PatientOwn, Involved, ShortBg, NoObj, Coded, Before(BreakGlassNotPermitted)),
    (PatientOwn, Involved, ShortBg, NoObj, Ordinary, Before(BreakGlassNotPermitted)),
    (PatientOwn, Involved, ShortBg, Whole, Restricted, Before(BreakGlassNotPermitted)),
    (PatientOwn, Involved, ShortBg, Whole, Coded, Before(BreakGlassNotPermitted)),
    (PatientOwn, Involved, ShortBg, Whole, Ordinary, Before(BreakGlassNotPermitted)),
    (PatientOwn, Involved, ShortBg, OwnOrg, Restricted, Before(BreakGlassNotPermitted)),
    (PatientOwn, Involved, ShortBg, OwnOrg, Coded, Before(BreakGlassNotPermitted)),
    (PatientOwn, Involved, ShortBg, OwnOrg, Ordinary, Before(BreakGlassNotPermitted)),
    (PatientOwn, Involved, ShortBg, OtherOrg, Restricted, Before(BreakGlassNotPermitted)),
    (PatientOwn, Involved, ShortBg, OtherOrg, Coded, Before(BreakGlassNotPermitted)),
    (PatientOwn, Involved, ShortBg, OtherOrg, Ordinary, Before(BreakGlassNotPermitted)),
    (PatientOwn, Involved, ValidBg, NoObj, Restricted, Before(BreakGlassNotPermitted)),
    (PatientOwn, Involved, ValidBg, NoObj, Coded, Before(BreakGlassNotPermitted)),
    (PatientOwn, Involved, ValidBg, NoObj, Ordinary, Before(BreakGlassNotPermitted)),
    (PatientOwn, Involved, ValidBg, Whole, Restricted, Before(BreakGlassNotPermitted)),
    (PatientOwn, Involved, ValidBg, Whole, Coded, Before(BreakGlassNotPermitted)),
    (PatientOwn, Involved, ValidBg, Whole, Ordinary, Before(BreakGlassNotPermitted)),
    (PatientOwn, Involved, ValidBg, OwnOrg, Restricted, Before(BreakGlassNotPermitted)),
    (PatientOwn, Involved, ValidBg, OwnOrg, Coded, Before(BreakGlassNotPermitted)),
    (PatientOwn, Involved, ValidBg, OwnOrg, Ordinary, Before(BreakGlassNotPermitted)),
    (PatientOwn, Involved, ValidBg, OtherOrg, Restricted, Before(BreakGlassNotPermitted)),
    (PatientOwn, Involved, ValidBg, OtherOrg, Coded, Before(BreakGlassNotPermitted)),
    (PatientOwn, Involved, ValidBg, OtherOrg, Ordinary, Before(BreakGlassNotPermitted)),
    (PatientOwn, SelfDecl, NoBg, NoObj, Restricted, Ok(Own, All, 3, 2)),
    (PatientOwn, SelfDecl, NoBg, NoObj, Coded, Ok(Own, All, 3, 2)),
    (PatientOwn, SelfDecl, NoBg, NoObj, Ordinary, Ok(Own, All, 5, 0)),
    (PatientOwn, SelfDecl, NoBg, Whole, Restricted, Ok(Own, All, 3, 2)),
    (PatientOwn, SelfDecl, NoBg, Whole, Coded, Ok(Own, All, 3, 2)),
    (PatientOwn, SelfDecl, NoBg, Whole, Ordinary, Ok(Own, All, 5, 0)),
    (PatientOwn, SelfDecl, NoBg, OwnOrg, Restricted, Ok(Own, All, 3, 2)),
    (PatientOwn, SelfDecl, NoBg, OwnOrg, Coded, Ok(Own, All, 3, 2)),
    (PatientOwn, SelfDecl, NoBg, OwnOrg, Ordinary, Ok(Own, All, 5, 0)),
    (PatientOwn, SelfDecl, NoBg, OtherOrg, Restricted, Ok(Own, All, 3, 2)),
    (PatientOwn, SelfDecl, NoBg, OtherOrg, Coded, Ok(Own, All, 3, 2)),
    (PatientOwn, SelfDecl, NoBg, OtherOrg, Ordinary, Ok(Own, All, 5, 0)),
    (PatientOwn, SelfDecl, ShortBg, NoObj, Restricted, Before(BreakGlassNotPermitted)),
    (PatientOwn, SelfDecl, ShortBg, NoObj, Coded, Before(BreakGlassNotPermitted)),
    (PatientOwn, SelfDecl, ShortBg, NoObj, Ordinary, Before(BreakGlassNotPermitted)),
    (PatientOwn, SelfDecl, ShortBg, Whole, Restricted, Before(BreakGlassNotPermitted)),
    (PatientOwn, SelfDecl, ShortBg, Whole, Coded, Before(BreakGlassNotPermitted)),
    (PatientOwn, SelfDecl, ShortBg, Whole, Ordinary, Before(BreakGlassNotPermitted)),
    (PatientOwn, SelfDecl, ShortBg, OwnOrg, Restricted, Before(BreakGlassNotPermitted)),
    (PatientOwn, SelfDecl, ShortBg, OwnOrg, Coded, Before(BreakGlassNotPermitted)),
    (PatientOwn, SelfDecl, ShortBg, OwnOrg, Ordinary, Before(BreakGlassNotPermitted)),
    (PatientOwn, SelfDecl, ShortBg, OtherOrg, Restricted, Before(BreakGlassNotPermitted)),
    (PatientOwn, SelfDecl, ShortBg, OtherOrg, Coded, Before(BreakGlassNotPermitted)),
    (PatientOwn, SelfDecl, ShortBg, OtherOrg, Ordinary, Before(BreakGlassNotPermitted)),
    (PatientOwn, SelfDecl, ValidBg, NoObj, Restricted, Before(BreakGlassNotPermitted)),
    (PatientOwn, SelfDecl, ValidBg, NoObj, Coded, Before(BreakGlassNotPermitted)),
    (PatientOwn, SelfDecl, ValidBg, NoObj, Ordinary, Before(BreakGlassNotPermitted)),
    (PatientOwn, SelfDecl, ValidBg, Whole, Restricted, Before(BreakGlassNotPermitted)),
    (PatientOwn, SelfDecl, ValidBg, Whole, Coded, Before(BreakGlassNotPermitted)),
    (PatientOwn, SelfDecl, ValidBg, Whole, Ordinary, Before(BreakGlassNotPermitted)),
    (PatientOwn, SelfDecl, ValidBg, OwnOrg, Restricted, Before(BreakGlassNotPermitted)),
    (PatientOwn, SelfDecl, ValidBg, OwnOrg, Coded, Before(BreakGlassNotPermitted)),
    (PatientOwn, SelfDecl, ValidBg, OwnOrg, Ordinary, Before(BreakGlassNotPermitted)),
    (PatientOwn, SelfDecl, ValidBg, OtherOrg, Restricted, Before(BreakGlassNotPermitted)),
    (PatientOwn, SelfDecl, ValidBg, OtherOrg, Coded, Before(BreakGlassNotPermitted)),
    (PatientOwn, SelfDecl, ValidBg, OtherOrg, Ordinary, Before(BreakGlassNotPermitted)),
    (PatientOwn, NoRel, NoBg, NoObj, Restricted, Ok(Own, All, 3, 2)),
    (PatientOwn, NoRel, NoBg, NoObj, Coded, Ok(Own, All, 3, 2)),
    (PatientOwn, NoRel, NoBg, NoObj, Ordinary, Ok(Own, All, 5, 0)),
    (PatientOwn, NoRel, NoBg, Whole, Restricted, Ok(Own, All, 3, 2)),
    (PatientOwn, NoRel, NoBg, Whole, Coded, Ok(Own, All, 3, 2)),
    (PatientOwn, NoRel, NoBg, Whole, Ordinary, Ok(Own, All, 5, 0)),
    (PatientOwn, NoRel, NoBg, OwnOrg, Restricted, Ok(Own, All, 3, 2)),
    (PatientOwn, NoRel, NoBg, OwnOrg, Coded, Ok(Own, All, 3, 2)),
    (PatientOwn, NoRel, NoBg, OwnOrg, Ordinary, Ok(Own, All, 5, 0)),
    (PatientOwn, NoRel, NoBg, OtherOrg, Restricted, Ok(Own, All, 3, 2)),
    (PatientOwn, NoRel, NoBg, OtherOrg, Coded, Ok(Own, All, 3, 2)),
    (PatientOwn, NoRel, NoBg, OtherOrg, Ordinary, Ok(Own, All, 5, 0)),
    (PatientOwn, NoRel, ShortBg, NoObj, Restricted, Before(BreakGlassNotPermitted)),
    (PatientOwn, NoRel, ShortBg, NoObj, Coded, Before(BreakGlassNotPermitted)),
    (PatientOwn, NoRel, ShortBg, NoObj, Ordinary, Before(BreakGlassNotPermitted)),
    (PatientOwn, NoRel, ShortBg, Whole, Restricted, Before(BreakGlassNotPermitted)),
    (PatientOwn, NoRel, ShortBg, Whole, Coded, Before(BreakGlassNotPermitted)),
    (PatientOwn, NoRel, ShortBg, Whole, Ordinary, Before(BreakGlassNotPermitted)),
    (PatientOwn, NoRel, ShortBg, OwnOrg, Restricted, Before(BreakGlassNotPermitted)),
    (PatientOwn, NoRel, ShortBg, OwnOrg, Coded, Before(BreakGlassNotPermitted)),
    (PatientOwn, NoRel, ShortBg, OwnOrg, Ordinary, Before(BreakGlassNotPermitted)),
    (PatientOwn, NoRel, ShortBg, OtherOrg, Restricted, Before(BreakGlassNotPermitted)),
    (PatientOwn, NoRel, ShortBg, OtherOrg, Coded, Before(BreakGlassNotPermitted)),
    (PatientOwn, NoRel, ShortBg, OtherOrg, Ordinary, Before(BreakGlassNotPermitted)),
    (PatientOwn, NoRel, ValidBg, NoObj, Restricted, Before(BreakGlassNotPermitted)),
    (PatientOwn, NoRel, ValidBg, NoObj, Coded, Before(BreakGlassNotPermitted)),
    (PatientOwn, NoRel, ValidBg, NoObj, Ordinary, Before(BreakGlassNotPermitted)),
    (PatientOwn, NoRel, ValidBg, Whole, Restricted, Before(BreakGlassNotPermitted)),
    (PatientOwn, NoRel, ValidBg, Whole, Coded, Before(BreakGlassNotPermitted)),
    (PatientOwn, NoRel, ValidBg, Whole, Ordinary, Before(BreakGlassNotPermitted)),
    (PatientOwn, NoRel, ValidBg, OwnOrg, Restricted, Before(BreakGlassNotPermitted)),
    (PatientOwn, NoRel, ValidBg, OwnOrg, Coded, Before(BreakGlassNotPermitted)),
    (PatientOwn, NoRel, ValidBg, OwnOrg, Ordinary, Before(BreakGlassNotPermitted)),
    (PatientOwn, NoRel, ValidBg, OtherOrg, Restricted, Before(BreakGlassNotPermitted)),
    (PatientOwn, NoRel, ValidBg, OtherOrg, Coded, Before(BreakGlassNotPermitted)),
    (PatientOwn, NoRel, ValidBg, OtherOrg, Ordinary, Before(BreakGlassNotPermitted)),
    // PatientOther: a patient asking for someone else's record
    (PatientOther, Involved, NoBg, NoObj, Restricted, Before(NotOwnRecord)),
    (PatientOther, Involved, NoBg, NoObj, Coded, Before(NotOwnRecord)),
    (PatientOther, Involved, NoBg, NoObj, Ordinary, Before(NotOwnRecord)),
    (PatientOther, Involved, NoBg, Whole, Restricted, Before(NotOwnRecord)),
    (PatientOther, Involved, NoBg, Whole, Coded, Before(NotOwnRecord)),
    (PatientOther, Involved, NoBg, Whole, Ordinary, Before(NotOwnRecord)),
    (PatientOther, Involved, NoBg, OwnOrg, Restricted, Before(NotOwnRecord)),
    (PatientOther, Involved, NoBg, OwnOrg, Coded, Before(NotOwnRecord)),
    (PatientOther, Involved, NoBg, OwnOrg, Ordinary, Before(NotOwnRecord)),
    (PatientOther, Involved, NoBg, OtherOrg, Restricted, Before(NotOwnRecord)),
    (PatientOther, Involved, NoBg, OtherOrg, Coded, Before(NotOwnRecord)),
    (PatientOther, Involved, NoBg, OtherOrg, Ordinary, Before(NotOwnRecord)),
    (PatientOther, Involved, ShortBg, NoObj, Restricted, Before(NotOwnRecord)),
    (PatientOther, Involved, ShortBg, NoObj, Coded, Before(NotOwnRecord)),
    (PatientOther, Involved, ShortBg, NoObj, Ordinary, Before(NotOwnRecord)),
    (PatientOther, Involved, ShortBg, Whole, Restricted, Before(NotOwnRecord)),
    (PatientOther, Involved, ShortBg, Whole, Coded, Before(NotOwnRecord)),
    (PatientOther, Involved, ShortBg, Whole, Ordinary, Before(NotOwnRecord)),
    (PatientOther, Involved, ShortBg, OwnOrg, Restricted, Before(NotOwnRecord)),
    (PatientOther, Involved, ShortBg, OwnOrg, Coded, Before(NotOwnRecord)),
    (PatientOther, Involved, ShortBg, OwnOrg, Ordinary, Before(NotOwnRecord)),
    (PatientOther, Involved, ShortBg, OtherOrg, Restricted, Before(NotOwnRecord)),
    (PatientOther, Involved, ShortBg, OtherOrg, Coded, Before(NotOwnRecord)),
    (PatientOther, Involved, ShortBg, OtherOrg, Ordinary, Before(NotOwnRecord)),
    (PatientOther, Involved, ValidBg, NoObj, Restricted, Before(NotOwnRecord)),
    (PatientOther, Involved, ValidBg, NoObj, Coded, Before(NotOwnRecord)),
    (PatientOther, Involved, ValidBg, NoObj, Ordinary, Before(NotOwnRecord)),
    (PatientOther, Involved, ValidBg, Whole, Restricted, Before(NotOwnRecord)),
    (PatientOther, Involved, ValidBg, Whole, Coded, Before(NotOwnRecord)),
    (PatientOther, Involved, ValidBg, Whole, Ordinary, Before(NotOwnRecord)),
    (PatientOther, Involved, ValidBg, OwnOrg, Restricted, Before(NotOwnRecord)),
    (PatientOther, Involved, ValidBg, OwnOrg, Coded, Before(NotOwnRecord)),
    (PatientOther, Involved, ValidBg, OwnOrg, Ordinary, Before(NotOwnRecord)),
    (PatientOther, Involved, ValidBg, OtherOrg, Restricted, Before(NotOwnRecord)),
    (PatientOther, Involved, ValidBg, OtherOrg, Coded, Before(NotOwnRecord)),
    (PatientOther, Involved, ValidBg, OtherOrg, Ordinary, Before(NotOwnRecord)),
    (PatientOther, SelfDecl, NoBg, NoObj, Restricted, Before(NotOwnRecord)),
    (PatientOther, SelfDecl, NoBg, NoObj, Coded, Before(NotOwnRecord)),
    (PatientOther, SelfDecl, NoBg, NoObj, Ordinary, Before(NotOwnRecord)),
    (PatientOther, SelfDecl, NoBg, Whole, Restricted, Before(NotOwnRecord)),
    (PatientOther, SelfDecl, NoBg, Whole, Coded, Before(NotOwnRecord)),
    (PatientOther, SelfDecl, NoBg, Whole, Ordinary, Before(NotOwnRecord)),
    (PatientOther, SelfDecl, NoBg, OwnOrg, Restricted, Before(NotOwnRecord)),
    (PatientOther, SelfDecl, NoBg, OwnOrg, Coded, Before(NotOwnRecord)),
    (PatientOther, SelfDecl, NoBg, OwnOrg, Ordinary, Before(NotOwnRecord)),
    (PatientOther, SelfDecl, NoBg, OtherOrg, Restricted, Before(NotOwnRecord)),
    (PatientOther, SelfDecl, NoBg, OtherOrg, Coded, Before(NotOwnRecord)),
    (PatientOther, SelfDecl, NoBg, OtherOrg, Ordinary, Before(NotOwnRecord)),
    (PatientOther, SelfDecl, ShortBg, NoObj, Restricted, Before(NotOwnRecord)),
    (PatientOther, SelfDecl, ShortBg, NoObj, Coded, Before(NotOwnRecord)),
    (PatientOther, SelfDecl, ShortBg, NoObj, Ordinary, Before(NotOwnRecord)),
    (PatientOther, SelfDecl, ShortBg, Whole, Restricted, Before(NotOwnRecord)),
    (PatientOther, SelfDecl, ShortBg, Whole, Coded, Before(NotOwnRecord)),
    (PatientOther, SelfDecl, ShortBg, Whole, Ordinary, Before(NotOwnRecord)),
    (PatientOther, SelfDecl, ShortBg, OwnOrg, Restricted, Before(NotOwnRecord)),
    (PatientOther, SelfDecl, ShortBg, OwnOrg, Coded, Before(NotOwnRecord)),
    (PatientOther, SelfDecl, ShortBg, OwnOrg, Ordinary, Before(NotOwnRecord)),
    (PatientOther, SelfDecl, ShortBg, OtherOrg, Restricted, Before(NotOwnRecord)),
    (PatientOther, SelfDecl, ShortBg, OtherOrg, Coded, Before(NotOwnRecord)),
    (PatientOther, SelfDecl, ShortBg, OtherOrg, Ordinary, Before(NotOwnRecord)),
    (PatientOther, SelfDecl, ValidBg, NoObj, Restricted, Before(NotOwnRecord)),
    (PatientOther, SelfDecl, ValidBg, NoObj, Coded, Before(NotOwnRecord)),
    (PatientOther, SelfDecl, ValidBg, NoObj, Ordinary, Before(NotOwnRecord)),
    (PatientOther, SelfDecl, ValidBg, Whole, Restricted, Before(NotOwnRecord)),
    (PatientOther, SelfDecl, ValidBg, Whole, Coded, Before(NotOwnRecord)),
    (PatientOther, SelfDecl, ValidBg, Whole, Ordinary, Before(NotOwnRecord)),
    (PatientOther, SelfDecl, ValidBg, OwnOrg, Restricted, Before(NotOwnRecord)),
    (PatientOther, SelfDecl, ValidBg, OwnOrg, Coded, Before(NotOwnRecord)),
    (PatientOther, SelfDecl, ValidBg, OwnOrg, Ordinary, Before(NotOwnRecord)),
    (PatientOther, SelfDecl, ValidBg, OtherOrg, Restricted, Before(NotOwnRecord)),
    (PatientOther, SelfDecl, ValidBg, OtherOrg, Coded, Before(NotOwnRecord)),
    (PatientOther, SelfDecl, ValidBg, OtherOrg, Ordinary, Before(NotOwnRecord)),
    (PatientOther, NoRel, NoBg, NoObj, Restricted, Before(NotOwnRecord)),
    (PatientOther, NoRel, NoBg, NoObj, Coded, Before(NotOwnRecord)),
    (PatientOther, NoRel, NoBg, NoObj, Ordinary, Before(NotOwnRecord)),
    (PatientOther, NoRel, NoBg, Whole, Restricted, Before(NotOwnRecord)),
    (PatientOther, NoRel, NoBg, Whole, Coded, Before(NotOwnRecord)),
    (PatientOther, NoRel, NoBg, Whole, Ordinary, Before(NotOwnRecord)),
    (PatientOther, NoRel, NoBg, OwnOrg, Restricted, Before(NotOwnRecord)),
    (PatientOther, NoRel, NoBg, OwnOrg, Coded, Before(NotOwnRecord)),
    (PatientOther, NoRel, NoBg, OwnOrg, Ordinary, Before(NotOwnRecord)),
    (PatientOther, NoRel, NoBg, OtherOrg, Restricted, Before(NotOwnRecord)),
    (PatientOther, NoRel, NoBg, OtherOrg, Coded, Before(NotOwnRecord)),
    (PatientOther, NoRel, NoBg, OtherOrg, Ordinary, Before(NotOwnRecord)),
    (PatientOther, NoRel, ShortBg, NoObj, Restricted, Before(NotOwnRecord)),
    (PatientOther, NoRel, ShortBg, NoObj, Coded, Before(NotOwnRecord)),
    (PatientOther, NoRel, ShortBg, NoObj, Ordinary, Before(NotOwnRecord)),
    (PatientOther, NoRel, ShortBg, Whole, Restricted, Before(NotOwnRecord)),
    (PatientOther, NoRel, ShortBg, Whole, Coded, Before(NotOwnRecord)),
    (PatientOther, NoRel, ShortBg, Whole, Ordinary, Before(NotOwnRecord)),
    (PatientOther, NoRel, ShortBg, OwnOrg, Restricted, Before(NotOwnRecord)),
    (PatientOther, NoRel, ShortBg, OwnOrg, Coded, Before(NotOwnRecord)),
    (PatientOther, NoRel, ShortBg, OwnOrg, Ordinary, Before(NotOwnRecord)),
    (PatientOther, NoRel, ShortBg, OtherOrg, Restricted, Before(NotOwnRecord)),
    (PatientOther, NoRel, ShortBg, OtherOrg, Coded, Before(NotOwnRecord)),
    (PatientOther, NoRel, ShortBg, OtherOrg, Ordinary, Before(NotOwnRecord)),
    (PatientOther, NoRel, ValidBg, NoObj, Restricted, Before(NotOwnRecord)),
    (PatientOther, NoRel, ValidBg, NoObj, Coded, Before(NotOwnRecord)),
    (PatientOther, NoRel, ValidBg, NoObj, Ordinary, Before(NotOwnRecord)),
    (PatientOther, NoRel, ValidBg, Whole, Restricted, Before(NotOwnRecord)),
    (PatientOther, NoRel, ValidBg, Whole, Coded, Before(NotOwnRecord)),
    (PatientOther, NoRel, ValidBg, Whole, Ordinary, Before(NotOwnRecord)),
    (PatientOther, NoRel, ValidBg, OwnOrg, Restricted, Before(NotOwnRecord)),
    (PatientOther, NoRel, ValidBg, OwnOrg, Coded, Before(NotOwnRecord)),
    (PatientOther, NoRel, ValidBg, OwnOrg, Ordinary, Before(NotOwnRecord)),
    (PatientOther, NoRel, ValidBg, OtherOrg, Restricted, Before(NotOwnRecord)),
    (PatientOther, NoRel, ValidBg, OtherOrg, Coded, Before(NotOwnRecord)),
    (PatientOther, NoRel, ValidBg, OtherOrg, Ordinary, Before(NotOwnRecord)),
    // Unknown: R9999, in no class
    (Unknown, Involved, NoBg, NoObj, Restricted, Before(UnknownRole)),
    (Unknown, Involved, NoBg, NoObj, Coded, Before(UnknownRole)),
    (Unknown, Involved, NoBg, NoObj, Ordinary, Before(UnknownRole)),
    (Unknown, Involved, NoBg, Whole, Restricted, Before(UnknownRole)),
    (Unknown, Involved, NoBg, Whole, Coded, Before(UnknownRole)),
    (Unknown, Involved, NoBg, Whole, Ordinary, Before(UnknownRole)),
    (Unknown, Involved, NoBg, OwnOrg, Restricted, Before(UnknownRole)),
    (Unknown, Involved, NoBg, OwnOrg, Coded, Before(UnknownRole)),
    (Unknown, Involved, NoBg, OwnOrg, Ordinary, Before(UnknownRole)),
    (Unknown, Involved, NoBg, OtherOrg, Restricted, Before(UnknownRole)),
    (Unknown, Involved, NoBg, OtherOrg, Coded, Before(UnknownRole)),
    (Unknown, Involved, NoBg, OtherOrg, Ordinary, Before(UnknownRole)),
    (Unknown, Involved, ShortBg, NoObj, Restricted, Before(UnknownRole)),
    (Unknown, Involved, ShortBg, NoObj, Coded, Before(UnknownRole)),
    (Unknown, Involved, ShortBg, NoObj, Ordinary, Before(UnknownRole)),
    (Unknown, Involved, ShortBg, Whole, Restricted, Before(UnknownRole)),
    (Unknown, Involved, ShortBg, Whole, Coded, Before(UnknownRole)),
    (Unknown, Involved, ShortBg, Whole, Ordinary, Before(UnknownRole)),
    (Unknown, Involved, ShortBg, OwnOrg, Restricted, Before(UnknownRole)),
    (Unknown, Involved, ShortBg, OwnOrg, Coded, Before(UnknownRole)),
    (Unknown, Involved, ShortBg, OwnOrg, Ordinary, Before(UnknownRole)),
    (Unknown, Involved, ShortBg, OtherOrg, Restricted, Before(UnknownRole)),
    (Unknown, Involved, ShortBg, OtherOrg, Coded, Before(UnknownRole)),
    (Unknown, Involved, ShortBg, OtherOrg, Ordinary, Before(UnknownRole)),
    (Unknown, Involved, ValidBg, NoObj, Restricted, Before(UnknownRole)),
    (Unknown, Involved, ValidBg, NoObj, Coded, Before(UnknownRole)),
    (Unknown, Involved, ValidBg, NoObj, Ordinary, Before(UnknownRole)),
    (Unknown, Involved, ValidBg, Whole, Restricted, Before(UnknownRole)),
    (Unknown, Involved, ValidBg, Whole, Coded, Before(UnknownRole)),
    (Unknown, Involved, ValidBg, Whole, Ordinary, Before(UnknownRole)),
    (Unknown, Involved, ValidBg, OwnOrg, Restricted, Before(UnknownRole)),
    (Unknown, Involved, ValidBg, OwnOrg, Coded, Before(UnknownRole)),
    (Unknown, Involved, ValidBg, OwnOrg, Ordinary, Before(UnknownRole)),
    (Unknown, Involved, ValidBg, OtherOrg, Restricted, Before(UnknownRole)),
    (Unknown, Involved, ValidBg, OtherOrg, Coded, Before(UnknownRole)),
    (Unknown, Involved, ValidBg, OtherOrg, Ordinary, Before(UnknownRole)),
    (Unknown, SelfDecl, NoBg, NoObj, Restricted, Before(UnknownRole)),
    (Unknown, SelfDecl, NoBg, NoObj, Coded, Before(UnknownRole)),
    (Unknown, SelfDecl, NoBg, NoObj, Ordinary, Before(UnknownRole)),
    (Unknown, SelfDecl, NoBg, Whole, Restricted, Before(UnknownRole)),
    (Unknown, SelfDecl, NoBg, Whole, Coded, Before(UnknownRole)),
    (Unknown, SelfDecl, NoBg, Whole, Ordinary, Before(UnknownRole)),
    (Unknown, SelfDecl, NoBg, OwnOrg, Restricted, Before(UnknownRole)),
    (Unknown, SelfDecl, NoBg, OwnOrg, Coded, Before(UnknownRole)),
    (Unknown, SelfDecl, NoBg, OwnOrg, Ordinary, Before(UnknownRole)),
    (Unknown, SelfDecl, NoBg, OtherOrg, Restricted, Before(UnknownRole)),
    (Unknown, SelfDecl, NoBg, OtherOrg, Coded, Before(UnknownRole)),
    (Unknown, SelfDecl, NoBg, OtherOrg, Ordinary, Before(UnknownRole)),
    (Unknown, SelfDecl, ShortBg, NoObj, Restricted, Before(UnknownRole)),
    (Unknown, SelfDecl, ShortBg, NoObj, Coded, Before(UnknownRole)),
    (Unknown, SelfDecl, ShortBg, NoObj, Ordinary, Before(UnknownRole)),
    (Unknown, SelfDecl, ShortBg, Whole, Restricted, Before(UnknownRole)),
    (Unknown, SelfDecl, ShortBg, Whole, Coded, Before(UnknownRole)),
    (Unknown, SelfDecl, ShortBg, Whole, Ordinary, Before(UnknownRole)),
    (Unknown, SelfDecl, ShortBg, OwnOrg, Restricted, Before(UnknownRole)),
    (Unknown, SelfDecl, ShortBg, OwnOrg, Coded, Before(UnknownRole)),
    (Unknown, SelfDecl, ShortBg, OwnOrg, Ordinary, Before(UnknownRole)),
    (Unknown, SelfDecl, ShortBg, OtherOrg, Restricted, Before(UnknownRole)),
    (Unknown, SelfDecl, ShortBg, OtherOrg, Coded, Before(UnknownRole)),
    (Unknown, SelfDecl, ShortBg, OtherOrg, Ordinary, Before(UnknownRole)),
    (Unknown, SelfDecl, ValidBg, NoObj, Restricted, Before(UnknownRole)),
    (Unknown, SelfDecl, ValidBg, NoObj, Coded, Before(UnknownRole)),
    (Unknown, SelfDecl, ValidBg, NoObj, Ordinary, Before(UnknownRole)),
    (Unknown, SelfDecl, ValidBg, Whole, Restricted, Before(UnknownRole)),
    (Unknown, SelfDecl, ValidBg, Whole, Coded, Before(UnknownRole)),
    (Unknown, SelfDecl, ValidBg, Whole, Ordinary, Before(UnknownRole)),
    (Unknown, SelfDecl, ValidBg, OwnOrg, Restricted, Before(UnknownRole)),
    (Unknown, SelfDecl, ValidBg, OwnOrg, Coded, Before(UnknownRole)),
    (Unknown, SelfDecl, ValidBg, OwnOrg, Ordinary, Before(UnknownRole)),
    (Unknown, SelfDecl, ValidBg, OtherOrg, Restricted, Before(UnknownRole)),
    (Unknown, SelfDecl, ValidBg, OtherOrg, Coded, Before(UnknownRole)),
    (Unknown, SelfDecl, ValidBg, OtherOrg, Ordinary, Before(UnknownRole)),
    (Unknown, NoRel, NoBg, NoObj, Restricted, Before(UnknownRole)),
    (Unknown, NoRel, NoBg, NoObj, Coded, Before(UnknownRole)),
    (Unknown, NoRel, NoBg, NoObj, Ordinary, Before(UnknownRole)),
    (Unknown, NoRel, NoBg, Whole, Restricted, Before(UnknownRole)),
    (Unknown, NoRel, NoBg, Whole, Coded, Before(UnknownRole)),
    (Unknown, NoRel, NoBg, Whole, Ordinary, Before(UnknownRole)),
    (Unknown, NoRel, NoBg, OwnOrg, Restricted, Before(UnknownRole)),
    (Unknown, NoRel, NoBg, OwnOrg, Coded, Before(UnknownRole)),
    (Unknown, NoRel, NoBg, OwnOrg, Ordinary, Before(UnknownRole)),
    (Unknown, NoRel, NoBg, OtherOrg, Restricted, Before(UnknownRole)),
    (Unknown, NoRel, NoBg, OtherOrg, Coded, Before(UnknownRole)),
    (Unknown, NoRel, NoBg, OtherOrg, Ordinary, Before(UnknownRole)),
    (Unknown, NoRel, ShortBg, NoObj, Restricted, Before(UnknownRole)),
    (Unknown, NoRel, ShortBg, NoObj, Coded, Before(UnknownRole)),
    (Unknown, NoRel, ShortBg, NoObj, Ordinary, Before(UnknownRole)),
    (Unknown, NoRel, ShortBg, Whole, Restricted, Before(UnknownRole)),
    (Unknown, NoRel, ShortBg, Whole, Coded, Before(UnknownRole)),
    (Unknown, NoRel, ShortBg, Whole, Ordinary, Before(UnknownRole)),
    (Unknown, NoRel, ShortBg, OwnOrg, Restricted, Before(UnknownRole)),
    (Unknown, NoRel, ShortBg, OwnOrg, Coded, Before(UnknownRole)),
    (Unknown, NoRel, ShortBg, OwnOrg, Ordinary, Before(UnknownRole)),
    (Unknown, NoRel, ShortBg, OtherOrg, Restricted, Before(UnknownRole)),
    (Unknown, NoRel, ShortBg, OtherOrg, Coded, Before(UnknownRole)),
    (Unknown, NoRel, ShortBg, OtherOrg, Ordinary, Before(UnknownRole)),
    (Unknown, NoRel, ValidBg, NoObj, Restricted, Before(UnknownRole)),
    (Unknown, NoRel, ValidBg, NoObj, Coded, Before(UnknownRole)),
    (Unknown, NoRel, ValidBg, NoObj, Ordinary, Before(UnknownRole)),
    (Unknown, NoRel, ValidBg, Whole, Restricted, Before(UnknownRole)),
    (Unknown, NoRel, ValidBg, Whole, Coded, Before(UnknownRole)),
    (Unknown, NoRel, ValidBg, Whole, Ordinary, Before(UnknownRole)),
    (Unknown, NoRel, ValidBg, OwnOrg, Restricted, Before(UnknownRole)),
    (Unknown, NoRel, ValidBg, OwnOrg, Coded, Before(UnknownRole)),
    (Unknown, NoRel, ValidBg, OwnOrg, Ordinary, Before(UnknownRole)),
    (Unknown, NoRel, ValidBg, OtherOrg, Restricted, Before(UnknownRole)),
    (Unknown, NoRel, ValidBg, OtherOrg, Coded, Before(UnknownRole)),
    (Unknown, NoRel, ValidBg, OtherOrg, Ordinary, Before(UnknownRole)),
];

fn org_of(rel: Rel) -> &'static str {
    match rel {
        Involved => "RN3",
        SelfDecl => "Y9U01",
        NoRel => "RD1",
    }
}

fn caller(role: Role, rel: Rel, bg: Bg) -> Caller {
    let org = org_of(rel);
    let c = match role {
        Clinical => staff("R8000", org),
        Nurse => staff("R8001", org),
        Social => staff("R8014", org),
        Admin => staff("R8008", org),
        Pharmacist => staff("TESTPHARM", org),
        Unknown => staff("R9999", org),
        PatientOwn => patient(PERSON),
        PatientOther => patient(SOMEONE_ELSE),
    };
    c.with_break_glass(match bg {
        NoBg => None,
        ShortBg => Some(SHORT_REASON),
        ValidBg => Some(VALID_REASON),
    })
}

fn objections(obj: Obj, rel: Rel) -> Objections {
    let mut o = Objections::empty();
    let one = |org: &str| Objection::Organisations {
        organisations: [ods(org)].into_iter().collect(),
        allow_own_organisation: true,
    };
    match obj {
        NoObj => {}
        Whole => o.insert(nhs(PERSON), Objection::All),
        OwnOrg => o.insert(nhs(PERSON), one(org_of(rel))),
        OtherOrg => o.insert(nhs(PERSON), one("RVN")),
    }
    o
}

/// What the two sources hold for the person.
fn sources(sens: Sens) -> Vec<SourceRecord> {
    let gwh = source("gwh", "RN3");
    let awp = source("awp", "RVN");
    let (restricted, cx, ax) = match sens {
        Restricted => (true, "22298006", "195967001"),
        Coded => (false, "86406008", "8098009"),
        Ordinary => (false, "22298006", "195967001"),
    };
    vec![
        SourceRecord {
            items: vec![
                condition(&gwh, "Condition/C1", "195967001", false),
                appointment(&gwh, "Appointment/A1", "38341003", false),
                condition(&gwh, "Condition/CX-extra", cx, restricted),
                appointment(&gwh, "Appointment/AX-extra", ax, restricted),
            ],
            ..Default::default()
        },
        SourceRecord {
            items: vec![condition(&awp, "Condition/C2", "35489007", false)],
            ..Default::default()
        },
    ]
}

/// Runs one row through the policy as the gateway would; the outcome.
fn run(policy: &icr_policy::Policy, role: Role, rel: Rel, bg: Bg, obj: Obj, sens: Sens) -> Exp {
    let caller = caller(role, rel, bg);
    let allowed = match policy.before_fetch(
        &caller,
        nhs(PERSON),
        SectionSet::all(),
        &objections(obj, rel),
    ) {
        Err(r) => return Before(r.code),
        Result::Ok(a) => a,
    };
    let filter = match allowed.sources() {
        SourceFilter::All => All,
        SourceFilter::AllExcept(out) => {
            assert_eq!(out.iter().map(|o| o.as_str()).collect::<Vec<_>>(), ["RVN"]);
            NoRvn
        }
    };
    // The gateway asks only permitted sources; those that answer hold a record.
    let held = sources(sens);
    let asked: Vec<&SourceRecord> = held
        .iter()
        .filter(|r| {
            allowed
                .sources()
                .permits(&r.items[0].provenance.origin.ods_code)
        })
        .collect();
    let holders: Vec<_> = asked
        .iter()
        .map(|r| r.items[0].provenance.origin.ods_code.clone())
        .collect();
    let sections = allowed.sections();
    let granted = match policy.after_fetch(allowed, &holders) {
        Err(r) => return After(r.code),
        Result::Ok(g) => g,
    };
    let basis = match granted.basis() {
        Basis::OwnRecord => Own,
        Basis::Involved => Inv,
        Basis::SelfDeclared { setting } => {
            assert_eq!(setting, "Out-of-hours GP service");
            SelfD
        }
        Basis::BreakGlass { reason } => {
            assert_eq!(reason.as_str(), VALID_REASON);
            Glass
        }
        Basis::PopulationHealth => panic!("a caller's access is never a population-health one"),
    };
    let mut merged = icr_merge::merge(&asked, sections);
    let before = item_count(&merged);
    let withheld = policy.apply(&granted, &mut merged);
    let left = item_count(&merged);
    assert_eq!(
        before,
        left + withheld.count,
        "withheld count is what was removed"
    );
    assert_eq!(withheld.outside_sections, 0);
    assert_eq!(withheld.by_section.values().sum::<usize>(), withheld.count);
    for s in withheld.by_section.keys() {
        assert!(matches!(s, Section::Conditions | Section::Appointments));
    }
    Ok(basis, filter, left, withheld.count)
}

#[test]
fn the_table_has_every_combination_once() {
    let mut seen = std::collections::HashSet::new();
    for (role, rel, bg, obj, sens, _) in TABLE {
        assert!(
            seen.insert((*role as u8, *rel as u8, *bg as u8, *obj as u8, *sens as u8)),
            "duplicate row {role:?} {rel:?} {bg:?} {obj:?} {sens:?}"
        );
    }
    assert_eq!(seen.len(), 8 * 3 * 3 * 4 * 3);
}

#[test]
fn every_row_holds() {
    let policy = policy(POLICY);
    let mut failures = Vec::new();
    for (role, rel, bg, obj, sens, expected) in TABLE {
        let got = run(&policy, *role, *rel, *bg, *obj, *sens);
        if got != *expected {
            failures.push(format!(
                "({role:?}, {rel:?}, {bg:?}, {obj:?}, {sens:?}): expected {expected:?}, got {got:?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} rows fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

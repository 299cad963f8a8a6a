//! Who may see what: the ICR's access policy, as pure decisions — no I/O,
//! no clock, no file reading. The gateway reads `policy.toml` and the
//! objection register and hands over their text; this crate judges.
//!
//! An ICR is acceptable to patients because only those directly involved in
//! their care and authorised to use it see their record, what staff see is
//! linked to the job they do, and objections are honoured. In the request
//! flow:
//!
//! ```text
//! authenticate (JWT) ─► Caller::from_claims(role, org, purpose, nhs_number)
//!                        .with_break_glass(X-Break-Glass-Reason header)
//!   ─► Policy::before_fetch(&caller, nhs, requested, &objections)
//!        → Allowed { sections, sources: SourceFilter, … }   or Refusal (403)
//!   ─► plan and fan out: only allowed.sections(), only sources whose
//!      organisation allowed.sources().permits(); a source left out is
//!      reported `withheld`
//!   ─► Policy::after_fetch(allowed, &holders)   holders: organisations whose
//!        → Granted { basis, … }   or Refusal    sources answered holding a record
//!   ─► merge (icr-merge) the allowed sections
//!   ─► Policy::mark(&granted, &merged, &sensitivity) → (Shown, Withheld { count, by_section })
//!        the record is not edited: Shown is what this caller may see of it,
//!        sensitivity (Policy::sensitivity) is read once per merged record;
//!        Policy::apply edits a copy instead, with the same result
//!   ─► audit (caller, basis, break-glass reason, objection effect, withheld
//!      count) ─► render, with the withheld counts
//! ```
//!
//! A refusal after fetching releases nothing; the gateway still audits the
//! attempt. The audit endpoint asks [`Policy::may_read_audit`].
//!
//! ```
//! use icr_model::{NhsNumber, OdsCode, Section, SectionSet};
//! use icr_policy::{Basis, Caller, Objections, Policy};
//!
//! let policy = Policy::from_toml_str(r#"
//!     [classes.clinical]
//!     roles = ["R8000"]
//!     sections = ["allergies", "medications"]
//!     break_glass = true
//!     [patient]
//!     sections = ["allergies"]
//! "#, "policy.toml").unwrap();
//! let objections = Objections::from_toml_str("", "objections.toml").unwrap();
//!
//! let gwh = OdsCode::parse("RN3").unwrap();
//! let caller = Caller::from_claims("R8000", gwh.clone(), "directcare", None).unwrap();
//! let nhs = NhsNumber::parse("9990000018").unwrap();
//! let allowed = policy
//!     .before_fetch(&caller, nhs, SectionSet::all(), &objections)
//!     .unwrap();
//! assert_eq!(allowed.sections().len(), 2);
//! assert!(allowed.sources().permits(&gwh));
//!
//! let granted = policy.after_fetch(allowed, &[gwh]).unwrap();
//! assert_eq!(granted.basis(), &Basis::Involved);
//!
//! let mut merged = icr_merge::merge(&[], granted.allowed().sections());
//! let withheld = policy.apply(&granted, &mut merged);
//! assert_eq!(withheld.count, 0);
//! ```
//!
//! The rules, the configuration format and the defaults are described in
//! `docs/policy.md` and `config/example/policy.toml`.

#![warn(missing_docs)]

mod break_glass;
mod caller;
mod config;
mod decision;
mod error;
mod objection;
mod policy;
pub mod sensitive;
pub mod shown;
mod snomed;
pub mod terms;

pub use break_glass::{
    BreakGlassReason, BreakGlassRules, ReasonEncodingError, ReasonProblem, reason_from_bytes,
    reason_from_ext_value,
};
pub use caller::{Caller, CallerError, PATIENT, RoleCode, Who};
pub use decision::{
    Allowed, Basis, Granted, ObjectionEffect, POPULATION_HEALTH, Refusal, RefusalCode, SourceFilter,
};
pub use error::{ConfigError, ConfigErrors};
pub use objection::{MAX_OBJECTIONS, MAX_ORGANISATIONS_PER_OBJECTION, Objection, Objections};
pub use policy::{Policy, RoleClass, SelfDeclare};
pub use sensitive::{SensitiveCodes, Withheld};
pub use shown::{Marks, Sensitivity, Shown, ShownItems};
pub use snomed::{SctId, SctIdError};
pub use terms::{Term, TermError};

/// Any bytes as a policy file: parsing must never panic. The entry point
/// for fuzzing.
pub fn fuzz_policy_toml(data: &[u8]) {
    let _ = Policy::from_toml_str(&String::from_utf8_lossy(data), "fuzz");
}

/// Any bytes as an objection register: parsing must never panic. The entry
/// point for fuzzing.
pub fn fuzz_objections_toml(data: &[u8]) {
    let _ = Objections::from_toml_str(&String::from_utf8_lossy(data), "fuzz");
}

/// Any bytes as one request — caller, break-glass text, sections,
/// objection, holders and record contents chosen by the bytes — through
/// every decision: must never panic. The entry point for fuzzing.
pub fn fuzz_decision(data: &[u8]) {
    fuzz::decision(data);
}

/// Any bytes as a break-glass header's value, in both forms (raw UTF-8
/// and RFC 8187), and what decodes judged by the default rules: must never
/// panic. The entry point for fuzzing.
pub fn fuzz_break_glass_header(data: &[u8]) {
    let rules = BreakGlassRules::default();
    if let Ok(text) = reason_from_bytes(data) {
        let _ = rules.judge(text);
    }
    if let Ok(text) = reason_from_ext_value(data) {
        let _ = rules.judge(&text);
    }
}

#[doc(hidden)]
pub mod fuzz;

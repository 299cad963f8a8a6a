//! The policy and its decisions.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use icr_merge::{MergedItem, MergedRecord};
use icr_model::{NhsNumber, OdsCode, SectionSet};

use crate::break_glass::BreakGlassRules;
use crate::caller::{Caller, RoleCode, Who};
use crate::decision::{
    Access, Allowed, Basis, Granted, ObjectionEffect, Refusal, RefusalCode, SourceFilter,
};
use crate::error::ConfigErrors;
use crate::objection::{Objection, Objections};
use crate::sensitive::{SensitiveCodes, Withheld, withhold};
use crate::shown::{Marks, Sensitivity, Shown};

/// A class of roles that see the same sections (clinical, social care,
/// administrative, pharmacist, …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleClass {
    /// The class name, as in the policy file (`clinical`).
    pub name: String,
    /// What the class is, for the reader.
    pub description: String,
    /// The RBAC job role codes in the class.
    pub roles: BTreeSet<RoleCode>,
    /// The sections the class may see.
    pub sections: SectionSet,
    /// Whether the class may break glass.
    pub break_glass: bool,
}

/// A care setting allowed to self-declare a relationship with anyone it
/// treats (out-of-hours, ambulance, emergency department).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelfDeclare {
    /// The setting's name, recorded as the basis.
    pub setting: String,
    /// The organisations of the setting (empty: any organisation).
    pub organisations: BTreeSet<OdsCode>,
    /// The roles of the setting (empty: any role the policy knows).
    pub roles: BTreeSet<RoleCode>,
}

impl SelfDeclare {
    fn covers(&self, organisation: &OdsCode, role: &RoleCode) -> bool {
        (self.organisations.is_empty() || self.organisations.contains(organisation))
            && (self.roles.is_empty() || self.roles.contains(role))
    }
}

/// Who may see what, as configured in `policy.toml`. Pure: no I/O, no
/// clock; the gateway reads the file and hands over its text.
#[derive(Clone, Debug)]
pub struct Policy {
    pub(crate) origin: String,
    pub(crate) purposes: BTreeSet<String>,
    pub(crate) classes: BTreeMap<String, RoleClass>,
    pub(crate) roles: HashMap<RoleCode, String>,
    pub(crate) patient_sections: SectionSet,
    pub(crate) self_declare: Vec<SelfDeclare>,
    pub(crate) break_glass: BreakGlassRules,
    pub(crate) privacy_officers: BTreeSet<RoleCode>,
    pub(crate) cleared_roles: BTreeSet<RoleCode>,
    pub(crate) patient_cleared: bool,
    pub(crate) population_health: Option<SectionSet>,
    pub(crate) sensitive: SensitiveCodes,
}

impl Policy {
    /// Parses a policy from TOML `text`; `origin` (usually the file's path)
    /// names it in errors. Every problem is reported with its key.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self, ConfigErrors> {
        crate::config::parse(text, origin)
    }

    /// Where the policy was read from, as given to [`Policy::from_toml_str`].
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The class a staff role belongs to, if any.
    pub fn class_of(&self, role: &RoleCode) -> Option<&RoleClass> {
        self.roles.get(role).and_then(|c| self.classes.get(c))
    }

    /// Every class, by name.
    pub fn classes(&self) -> &BTreeMap<String, RoleClass> {
        &self.classes
    }

    /// The sections a patient may see of their own record.
    pub fn patient_sections(&self) -> SectionSet {
        self.patient_sections
    }

    /// The settings allowed to self-declare a relationship.
    pub fn self_declaring_settings(&self) -> &[SelfDeclare] {
        &self.self_declare
    }

    /// How break-glass reasons are judged.
    pub fn break_glass_rules(&self) -> &BreakGlassRules {
        &self.break_glass
    }

    /// The sensitive code lists.
    pub fn sensitive_codes(&self) -> &SensitiveCodes {
        &self.sensitive
    }

    /// Step 1, before fetching: may this caller ask for this person's
    /// record at all, which sections, and from which sources?
    ///
    /// Checked in this order, the first failure refusing:
    /// 1. a patient may ask only for the record whose NHS number is in their
    ///    token (`NOT_OWN_RECORD`); a staff role must be in a class
    ///    (`UNKNOWN_ROLE`) and the purpose one the policy serves
    ///    (`PURPOSE_NOT_PERMITTED`);
    /// 2. a break-glass reason, when given: patients and classes without
    ///    `break_glass` may not break glass (`BREAK_GLASS_NOT_PERMITTED`);
    ///    the reason must meet the rules (`BREAK_GLASS_REASON_INVALID`);
    /// 3. the sections are those requested that the role (or a patient) may
    ///    see; none left is a refusal (`NO_SECTIONS`), so that an empty
    ///    answer never stands for "no data";
    /// 4. the objection register (staff only): an objection to all sharing
    ///    refuses (`NO_PATIENT_CONSENT`); an objection to sharing particular
    ///    organisations' records excludes their sources — except, when the
    ///    objection allows it, the caller's own organisation's, whose own
    ///    records its staff still see. The caller's organisation being one
    ///    of those named changes nothing about the other organisations'
    ///    records. When the policy lets break-glass override objections, a
    ///    valid break-glass lifts either kind (recorded as such).
    pub fn before_fetch(
        &self,
        caller: &Caller,
        patient: NhsNumber,
        requested: SectionSet,
        objections: &Objections,
    ) -> Result<Allowed, Refusal> {
        match caller.who() {
            Who::Patient(own) => {
                if *own != patient {
                    return Err(Refusal::new(
                        RefusalCode::NotOwnRecord,
                        "a patient may read only their own record",
                    ));
                }
                if caller.break_glass().is_some() {
                    return Err(Refusal::new(
                        RefusalCode::BreakGlassNotPermitted,
                        "break-glass is for staff: a patient reads their own record without it",
                    ));
                }
                let sections = requested.intersection(self.patient_sections);
                if sections.is_empty() {
                    return Err(no_sections(requested, "patients"));
                }
                Ok(Allowed {
                    nhs_number: patient,
                    access: Access::Patient,
                    sections,
                    sources: SourceFilter::All,
                    objection: ObjectionEffect::None,
                    sensitive_cleared: self.patient_cleared,
                    break_glass: None,
                })
            }
            Who::Staff(role) => {
                let class = self.class_of(role).ok_or_else(|| {
                    Refusal::new(
                        RefusalCode::UnknownRole,
                        format!("role {role} is not one this ICR gives access to"),
                    )
                })?;
                if !self.purposes.contains(caller.purpose()) {
                    return Err(Refusal::new(
                        RefusalCode::PurposeNotPermitted,
                        format!(
                            "this ICR serves only these purposes: {}",
                            self.purposes.iter().cloned().collect::<Vec<_>>().join(", ")
                        ),
                    ));
                }
                let break_glass = match caller.break_glass() {
                    None => None,
                    Some(_) if !class.break_glass => {
                        return Err(Refusal::new(
                            RefusalCode::BreakGlassNotPermitted,
                            format!("roles of class {} may not break glass", class.name),
                        ));
                    }
                    Some(raw) => Some(self.break_glass.judge(raw).map_err(|why| {
                        Refusal::new(RefusalCode::BreakGlassReasonInvalid, why.to_string())
                    })?),
                };
                let sections = requested.intersection(class.sections);
                if sections.is_empty() {
                    return Err(no_sections(requested, &format!("class {}", class.name)));
                }
                let overriding = break_glass.is_some() && self.break_glass.overrides_objections;
                let (sources, objection) = match objections.get(&patient) {
                    None => (SourceFilter::All, ObjectionEffect::None),
                    Some(o) if overriding => (
                        SourceFilter::All,
                        ObjectionEffect::OverriddenByBreakGlass {
                            whole: matches!(o, Objection::All),
                        },
                    ),
                    Some(Objection::All) => {
                        return Err(Refusal::new(
                            RefusalCode::NoPatientConsent,
                            "the person has objected to their record being shared through the ICR",
                        ));
                    }
                    Some(Objection::Organisations {
                        organisations,
                        allow_own_organisation,
                    }) => {
                        let excluded: BTreeSet<OdsCode> = organisations
                            .iter()
                            .filter(|o| !(*allow_own_organisation && *o == caller.organisation()))
                            .cloned()
                            .collect();
                        let filter = if excluded.is_empty() {
                            SourceFilter::All
                        } else {
                            SourceFilter::AllExcept(excluded.clone())
                        };
                        (filter, ObjectionEffect::Organisations { excluded })
                    }
                };
                Ok(Allowed {
                    nhs_number: patient,
                    access: Access::Staff {
                        role: role.clone(),
                        class: class.name.clone(),
                        organisation: caller.organisation().clone(),
                    },
                    sections,
                    sources,
                    objection,
                    sensitive_cleared: self.cleared_roles.contains(role),
                    break_glass,
                })
            }
        }
    }

    /// The population-health extract's decision for one person, in place of
    /// [`Policy::before_fetch`] and [`Policy::after_fetch`]: no caller and
    /// no care relationship, but the policy's `[population_health]`
    /// sections. Refused when the policy allows no extract
    /// (`PURPOSE_NOT_PERMITTED`), when none of the `requested` sections is
    /// allowed (`NO_SECTIONS`), and for anyone with any objection in the
    /// register, whole or per organisation (`NO_PATIENT_CONSENT`): an
    /// objector is left out of an extract entirely. Sensitive items are
    /// always withheld (no extract is cleared for them).
    pub fn population_health(
        &self,
        patient: NhsNumber,
        requested: SectionSet,
        objections: &Objections,
    ) -> Result<Granted, Refusal> {
        let sections = self.population_health_allows(requested)?;
        if objections.get(&patient).is_some() {
            return Err(Refusal::new(
                RefusalCode::NoPatientConsent,
                "the person has objected to their record being shared through the ICR, so it is left out of every extract",
            ));
        }
        Ok(Granted {
            allowed: Allowed {
                nhs_number: patient,
                access: Access::PopulationHealth,
                sections,
                sources: SourceFilter::All,
                objection: ObjectionEffect::None,
                sensitive_cleared: false,
                break_glass: None,
            },
            basis: Basis::PopulationHealth,
        })
    }

    /// The sections a population-health extract may hold, if any may run.
    pub fn population_health_sections(&self) -> Option<SectionSet> {
        self.population_health
    }

    /// The sections of `requested` an extract may hold: refused when the
    /// policy allows no extract (`PURPOSE_NOT_PERMITTED`) or none of them
    /// (`NO_SECTIONS`). What [`Policy::population_health`] decides first
    /// for each person, and what a run is checked against before it starts.
    pub fn population_health_allows(&self, requested: SectionSet) -> Result<SectionSet, Refusal> {
        let Some(allowed) = self.population_health else {
            return Err(Refusal::new(
                RefusalCode::PurposeNotPermitted,
                "this ICR's policy allows no population-health extract (no [population_health])",
            ));
        };
        let sections = requested.intersection(allowed);
        if sections.is_empty() {
            return Err(no_sections(requested, "population health"));
        }
        Ok(sections)
    }

    /// Step 2, after fetching: is there a legitimate relationship?
    /// `holders` are the organisations whose sources answered holding a
    /// record for the person.
    ///
    /// The basis, in this order: a patient's own record (`OwnRecord`); an
    /// objection overridden by break-glass (`BreakGlass`: the access relies
    /// on it); the caller's organisation among the holders (`Involved`); a
    /// self-declaring setting covering the caller's organisation and role
    /// (`SelfDeclared`); a valid break-glass (`BreakGlass`). Otherwise
    /// refused (`NO_RELATIONSHIP`). When some organisations' systems did
    /// not answer, use [`Policy::after_fetch_unanswered`].
    pub fn after_fetch(&self, allowed: Allowed, holders: &[OdsCode]) -> Result<Granted, Refusal> {
        self.after_fetch_unanswered(allowed, holders, &[])
    }

    /// As [`Policy::after_fetch`], knowing which organisations' systems
    /// were asked and did not answer (`unanswered`: timed out, unreachable,
    /// failed, or never asked because the service that routes to them
    /// failed). When the caller would be refused for want of a
    /// relationship and their own organisation is among them, their
    /// involvement is not disproved but unknown: `RELATIONSHIP_UNDECIDED`,
    /// which the gateway answers as a retryable 503, never as a refusal.
    pub fn after_fetch_unanswered(
        &self,
        allowed: Allowed,
        holders: &[OdsCode],
        unanswered: &[OdsCode],
    ) -> Result<Granted, Refusal> {
        let basis = match &allowed.access {
            Access::Patient => Basis::OwnRecord,
            Access::PopulationHealth => Basis::PopulationHealth,
            Access::Staff {
                role, organisation, ..
            } => {
                let glass = || {
                    allowed
                        .break_glass
                        .clone()
                        .map(|reason| Basis::BreakGlass { reason })
                };
                if let (ObjectionEffect::OverriddenByBreakGlass { .. }, Some(b)) =
                    (&allowed.objection, glass())
                {
                    b
                } else if holders.contains(organisation) {
                    Basis::Involved
                } else if let Some(s) = self
                    .self_declare
                    .iter()
                    .find(|s| s.covers(organisation, role))
                {
                    Basis::SelfDeclared {
                        setting: s.setting.clone(),
                    }
                } else if let Some(b) = glass() {
                    b
                } else if unanswered.contains(organisation) {
                    return Err(Refusal::new(
                        RefusalCode::RelationshipUndecided,
                        "whether the caller's organisation is involved in this person's care cannot be told now: its system did not answer; try again shortly (or give a break-glass reason)",
                    ));
                } else {
                    return Err(Refusal::new(
                        RefusalCode::NoRelationship,
                        "no legitimate relationship: the caller's organisation holds no record for this person (or its system did not answer), is not a setting that may self-declare one, and no break-glass reason was given",
                    ));
                }
            }
        };
        Ok(Granted { allowed, basis })
    }

    /// Step 3, before rendering: takes out of the merged record every item
    /// the caller may not see — sensitive items (see [`crate::sensitive`])
    /// unless their role is cleared, and anything outside the allowed
    /// sections — and says how many sensitive items were withheld per
    /// section, never which.
    pub fn apply(&self, granted: &Granted, record: &mut MergedRecord) -> Withheld {
        let a = &granted.allowed;
        withhold(&self.sensitive, a.sections, a.sensitive_cleared, record)
    }

    /// Which items of `record` are sensitive, read for `sections` (the
    /// sections the record was merged for): the same for every caller, so
    /// worked out once per merged record (see [`crate::shown`]).
    pub fn sensitivity(&self, record: &MergedRecord, sections: SectionSet) -> Sensitivity {
        Sensitivity::read(&self.sensitive, record, sections)
    }

    /// What the caller may see, as marks to apply to a merged record
    /// ([`Marks::show`]) instead of editing it.
    pub fn marks(&self, granted: &Granted) -> Marks {
        let a = &granted.allowed;
        Marks::new(a.sections, a.sensitive_cleared)
    }

    /// Step 3, before rendering, without editing the record: what of
    /// `record` the caller may see, with `sensitivity` read from it by
    /// [`Policy::sensitivity`] for the allowed sections, and how many
    /// items were withheld. Shows exactly what [`Policy::apply`] leaves.
    pub fn mark<'a>(
        &self,
        granted: &Granted,
        record: &'a MergedRecord,
        sensitivity: &'a Sensitivity,
    ) -> (Shown<'a>, Withheld) {
        self.marks(granted).show(record, sensitivity)
    }

    /// Whether `item` is withheld from this caller (as [`Policy::apply`]
    /// decides it for sensitivity).
    pub fn withholds(&self, granted: &Granted, item: &MergedItem) -> bool {
        !granted.allowed.sensitive_cleared && self.sensitive.item_is_sensitive(item)
    }

    /// Whether `caller` is a privacy officer (a role in
    /// `audit.privacy_officer_roles`): they review the audit across people,
    /// break-glass accesses included.
    pub fn is_privacy_officer(&self, caller: &Caller) -> bool {
        matches!(caller.who(), Who::Staff(role) if self.privacy_officers.contains(role))
    }

    /// Whether the caller may read the audit of accesses to `patient`'s
    /// record: privacy officers (roles in `audit.privacy_officer_roles`)
    /// any person's; a patient their own; nobody else.
    pub fn may_read_audit(&self, caller: &Caller, patient: NhsNumber) -> bool {
        match caller.who() {
            Who::Patient(own) => *own == patient,
            Who::Staff(role) => self.privacy_officers.contains(role),
        }
    }
}

fn no_sections(requested: SectionSet, who: &str) -> Refusal {
    let message = if requested.is_empty() {
        "no sections were requested".to_string()
    } else {
        format!("none of the requested sections ({requested}) may be seen by {who}")
    };
    Refusal::new(RefusalCode::NoSections, message)
}

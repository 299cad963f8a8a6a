//! Sensitive items: what makes an item sensitive, and taking sensitive
//! items out of a merged record for a caller not cleared to see them.
//!
//! An item is sensitive when
//! - any source holding it labels it restricted ([`Provenance::restricted`]
//!   on any of its provenances), or
//! - any coding of one of its *describing concepts* (below) is a SNOMED CT
//!   or dm+d code whose id is in the policy's sensitive lists, or
//! - a value another source holds for it (its [`Conflict`]s) carries such a
//!   coding.
//!
//! Matching is exact: the lists are concept ids, with no subsumption (a
//! child concept of a listed one is not matched unless listed itself).
//! Free text (notes, titles, conclusions, display text) is not read.
//!
//! The describing concepts of each kind of item:
//!
//! | item | concepts |
//! |---|---|
//! | contact | none (a relationship says nothing clinical) |
//! | care team | its categories and members' roles (e.g. a sexual health team) |
//! | medication | the medicine and the reasons for it |
//! | allergy | the substance or allergy |
//! | condition | the condition |
//! | result | what was tested, a coded value, each component's code and coded value |
//! | document | its type and categories |
//! | procedure | the procedure |
//! | referral | what is requested, its categories and reasons |
//! | appointment | service types and reasons |
//! | alert | what it says and its categories |
//!
//! [`Provenance::restricted`]: icr_model::Provenance::restricted
//! [`Conflict`]: icr_merge::Conflict

use std::collections::{BTreeMap, HashSet};

use icr_merge::{MergedItem, MergedRecord};
use icr_model::{CodeSystem, Coding, Concept, Entry, ResultValue, Section};
use serde::Serialize;

use crate::snomed::SctId;

/// Deepest JSON nesting read in a conflict value; deeper values are treated
/// as sensitive (the check fails closed).
const MAX_VALUE_DEPTH: usize = 32;

/// The sensitive SNOMED CT concept ids, by category (the categories are
/// for the reader of the policy; decisions use the union).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SensitiveCodes {
    categories: BTreeMap<String, Vec<SctId>>,
    ids: HashSet<Box<str>>,
}

impl SensitiveCodes {
    /// Builds the lists from categories of concept ids.
    pub fn new(categories: BTreeMap<String, Vec<SctId>>) -> Self {
        let ids = categories
            .values()
            .flatten()
            .map(|id| Box::from(id.as_str()))
            .collect();
        Self { categories, ids }
    }

    /// The categories and their ids, as configured.
    pub fn categories(&self) -> &BTreeMap<String, Vec<SctId>> {
        &self.categories
    }

    /// Whether `coding` is a SNOMED CT (or dm+d, whose ids are SNOMED CT
    /// ids) code in the lists.
    pub fn matches(&self, coding: &Coding) -> bool {
        matches!(coding.system, CodeSystem::Snomed | CodeSystem::Dmd)
            && self.ids.contains(coding.code.trim())
    }

    fn concept(&self, c: &Concept) -> bool {
        c.codings.iter().any(|k| self.matches(k))
    }

    /// Whether any describing concept of `entry` (see the module
    /// documentation) has a sensitive coding.
    pub fn entry_is_sensitive(&self, entry: &Entry) -> bool {
        let any = |cs: &[Concept]| cs.iter().any(|c| self.concept(c));
        match entry {
            Entry::Contact(_) => false,
            Entry::CareTeam(t) => any(&t.category) || t.participants.iter().any(|p| any(&p.roles)),
            Entry::Medication(m) => self.concept(&m.medication) || any(&m.reasons),
            Entry::Allergy(a) => self.concept(&a.code),
            Entry::Condition(c) => self.concept(&c.code),
            Entry::Result(r) => {
                self.concept(&r.code)
                    || matches!(&r.value, Some(ResultValue::Coded(v)) if self.concept(v))
                    || r.components.iter().any(|p| {
                        self.concept(&p.code)
                            || matches!(&p.value, Some(ResultValue::Coded(v)) if self.concept(v))
                    })
            }
            Entry::Document(d) => self.concept(&d.doc_type) || any(&d.category),
            Entry::Procedure(p) => self.concept(&p.code),
            Entry::Referral(r) => self.concept(&r.code) || any(&r.category) || any(&r.reasons),
            Entry::Appointment(a) => any(&a.service_type) || any(&a.reasons),
            Entry::Alert(a) => self.concept(&a.code) || any(&a.category),
        }
    }

    /// Whether a merged item is sensitive: labelled restricted by any
    /// source, a sensitive describing concept, or a sensitive coding in a
    /// value another source holds for it.
    pub fn item_is_sensitive(&self, item: &MergedItem) -> bool {
        item.provenance.iter().any(|p| p.restricted)
            || self.entry_is_sensitive(&item.entry)
            || item.conflicts.iter().any(|c| {
                c.values
                    .iter()
                    .filter_map(|v| v.value.as_ref())
                    .any(|v| self.value_is_sensitive(v, 0))
            })
    }

    /// Looks for a sensitive coding (`{"system": …, "code": …}`) anywhere in
    /// a JSON value; too deep counts as sensitive.
    fn value_is_sensitive(&self, v: &serde_json::Value, depth: usize) -> bool {
        if depth > MAX_VALUE_DEPTH {
            return true;
        }
        match v {
            serde_json::Value::Array(a) => a.iter().any(|x| self.value_is_sensitive(x, depth + 1)),
            serde_json::Value::Object(o) => {
                let coding = match (o.get("system"), o.get("code")) {
                    (Some(serde_json::Value::String(s)), Some(serde_json::Value::String(c))) => {
                        self.matches(&Coding {
                            system: CodeSystem::from_uri(s),
                            code: c.clone(),
                            display: None,
                        })
                    }
                    _ => false,
                };
                coding || o.values().any(|x| self.value_is_sensitive(x, depth + 1))
            }
            _ => false,
        }
    }
}

/// What was taken out of a record for the caller: how many items, and how
/// many per section — never what they were.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Withheld {
    /// Items withheld as sensitive.
    pub count: usize,
    /// Items withheld as sensitive, per section (sections with none are
    /// left out).
    pub by_section: BTreeMap<Section, usize>,
    /// Items removed because their section is not one the caller may see.
    /// Always 0 when the gateway merged only the allowed sections; anything
    /// else is a bug upstream worth logging. Not part of the response.
    #[serde(skip)]
    pub outside_sections: usize,
}

impl Withheld {
    /// True when nothing was withheld.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// Removes what `cleared`/`sections` do not allow from `record`.
pub(crate) fn withhold(
    codes: &SensitiveCodes,
    sections: icr_model::SectionSet,
    cleared: bool,
    record: &mut MergedRecord,
) -> Withheld {
    let mut out = Withheld::default();
    record.sections.retain(|section, items| {
        if sections.contains(*section) && *section != Section::Demographics {
            true
        } else {
            out.outside_sections += items.len();
            false
        }
    });
    if !sections.contains(Section::Demographics) {
        record.patient = None;
        record
            .warnings
            .retain(|w| !w.code.starts_with("demographics"));
    }
    if !cleared {
        for (section, items) in record.sections.iter_mut() {
            let before = items.len();
            items.retain(|item| !codes.item_is_sensitive(item));
            let removed = before - items.len();
            if removed > 0 {
                out.count += removed;
                out.by_section.insert(*section, removed);
            }
        }
    }
    out
}

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
//!
//! Free text is read for documents only: a document is also sensitive when
//! its title, description or text names ([`crate::terms`]) one of the
//! policy's sensitive terms, or the display text of a sensitive coding
//! anywhere in the same record (an out-of-hours report that lists a
//! diagnosis withheld by its code). Other free text (notes, conclusions)
//! is not read — the residual risk is written down in docs/policy.md.
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
use crate::terms::{Term, Words};

/// Deepest JSON nesting read in a conflict value; deeper values are treated
/// as sensitive (the check fails closed).
const MAX_VALUE_DEPTH: usize = 32;

/// The sensitive SNOMED CT concept ids, by category (the categories are
/// for the reader of the policy; decisions use the union).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SensitiveCodes {
    categories: BTreeMap<String, Vec<SctId>>,
    ids: HashSet<Box<str>>,
    terms: BTreeMap<String, Vec<Term>>,
}

impl SensitiveCodes {
    /// Builds the lists from categories of concept ids.
    pub fn new(categories: BTreeMap<String, Vec<SctId>>) -> Self {
        let ids = categories
            .values()
            .flatten()
            .map(|id| Box::from(id.as_str()))
            .collect();
        Self {
            categories,
            ids,
            terms: BTreeMap::new(),
        }
    }

    /// The same lists, with sensitive terms in free text, by category.
    pub fn with_terms(mut self, terms: BTreeMap<String, Vec<Term>>) -> Self {
        self.terms = terms;
        self
    }

    /// The terms, by category, as configured.
    pub fn terms(&self) -> &BTreeMap<String, Vec<Term>> {
        &self.terms
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
        describing_concepts(entry, &mut |c| self.concept(c))
    }

    /// The words a record uses for the sensitive concepts in it: the
    /// display text of every sensitive coding, and the text of every
    /// concept that has one, among the items' describing concepts.
    pub fn named_in(&self, record: &MergedRecord) -> Vec<Term> {
        self.named_in_sections(record, &|_| true)
    }

    /// [`SensitiveCodes::named_in`], reading only the sections `read` keeps.
    pub(crate) fn named_in_sections(
        &self,
        record: &MergedRecord,
        read: &dyn Fn(&Section) -> bool,
    ) -> Vec<Term> {
        let mut found: Vec<Term> = Vec::new();
        let mut add = |text: &str| {
            if let Ok(t) = Term::parse(text)
                && !found.contains(&t)
            {
                found.push(t);
            }
        };
        let items = record
            .sections
            .iter()
            .filter(|(s, _)| read(s))
            .flat_map(|(_, items)| items);
        for item in items {
            describing_concepts(&item.entry, &mut |c| {
                let sensitive: Vec<&Coding> =
                    c.codings.iter().filter(|k| self.matches(k)).collect();
                for k in &sensitive {
                    if let Some(d) = &k.display {
                        add(d);
                    }
                }
                if !sensitive.is_empty()
                    && let Some(t) = &c.text
                {
                    add(t);
                }
                false
            });
        }
        found
    }

    /// Whether a merged document's free text — its title, text and
    /// attachments' titles, and the texts other sources hold for it (its
    /// conflicts) — names a configured sensitive term or one of `named`
    /// (see [`SensitiveCodes::named_in`]). Other items: false.
    pub fn text_is_sensitive(&self, item: &MergedItem, named: &[Term]) -> bool {
        let Entry::Document(d) = &item.entry else {
            return false;
        };
        let mut texts: Vec<&str> = Vec::new();
        texts.extend(d.title.as_deref());
        texts.extend(d.text.as_deref());
        texts.extend(d.content.iter().filter_map(|a| a.title.as_deref()));
        let mut other = Vec::new();
        for c in &item.conflicts {
            for v in c.values.iter().filter_map(|v| v.value.as_ref()) {
                strings(v, 0, &mut other);
            }
        }
        texts.extend(other);
        if texts.is_empty() {
            return false;
        }
        let words = Words::read(&texts);
        self.terms.values().flatten().any(|t| words.contain(t))
            || named.iter().any(|t| words.contain(t))
    }
}

/// Every string in a JSON value (to `MAX_VALUE_DEPTH`).
fn strings<'v>(v: &'v serde_json::Value, depth: usize, out: &mut Vec<&'v str>) {
    if depth > MAX_VALUE_DEPTH {
        return;
    }
    match v {
        serde_json::Value::String(s) => out.push(s),
        serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, depth + 1, out)),
        serde_json::Value::Object(o) => o.values().for_each(|x| strings(x, depth + 1, out)),
        _ => {}
    }
}

/// Calls `f` on each describing concept of `entry` (see the module
/// documentation) until it returns true; whether it did.
fn describing_concepts(entry: &Entry, f: &mut dyn FnMut(&Concept) -> bool) -> bool {
    {
        let mut any = |cs: &[Concept]| cs.iter().any(&mut *f);
        match entry {
            Entry::Contact(_) => false,
            Entry::CareTeam(t) => {
                any(&t.category) || t.participants.iter().any(|p| any(&p.roles))
            }
            Entry::Medication(m) => any(std::slice::from_ref(&m.medication)) || any(&m.reasons),
            Entry::Allergy(a) => any(std::slice::from_ref(&a.code)),
            Entry::Condition(c) => any(std::slice::from_ref(&c.code)),
            Entry::Result(r) => {
                any(std::slice::from_ref(&r.code))
                    || matches!(&r.value, Some(ResultValue::Coded(v)) if any(std::slice::from_ref(v)))
                    || r.components.iter().any(|p| {
                        any(std::slice::from_ref(&p.code))
                            || matches!(&p.value, Some(ResultValue::Coded(v)) if any(std::slice::from_ref(v)))
                    })
            }
            Entry::Document(d) => any(std::slice::from_ref(&d.doc_type)) || any(&d.category),
            Entry::Procedure(p) => any(std::slice::from_ref(&p.code)),
            Entry::Referral(r) => {
                any(std::slice::from_ref(&r.code)) || any(&r.category) || any(&r.reasons)
            }
            Entry::Appointment(a) => any(&a.service_type) || any(&a.reasons),
            Entry::Alert(a) => any(std::slice::from_ref(&a.code)) || any(&a.category),
        }
    }
}

impl SensitiveCodes {
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
        // The words this record uses for what it withholds by code, read
        // before anything is removed.
        let named = codes.named_in(record);
        for (section, items) in record.sections.iter_mut() {
            let before = items.len();
            items.retain(|item| {
                !codes.item_is_sensitive(item) && !codes.text_is_sensitive(item, &named)
            });
            let removed = before - items.len();
            if removed > 0 {
                out.count += removed;
                out.by_section.insert(*section, removed);
            }
        }
    }
    out
}

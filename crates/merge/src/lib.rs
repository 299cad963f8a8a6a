//! Merge: the records several sources hold for one person become one view.
//!
//! In the request flow this runs after every source has answered (or been
//! given up on) and before rendering. It is pure — no I/O, no clock — so it
//! is tested and benchmarked alone.
//!
//! What it does:
//! - items that are the same clinical fact (same section, same primary code,
//!   same date — see [`key`]) become one item carrying every source's
//!   provenance; where the sources' copies differ in any field, the item
//!   lists each differing field and every source's value as a conflict
//!   instead of silently picking one; two records one source keeps apart
//!   are never made one item (a merged item holds at most one record of
//!   each source);
//! - each section is ordered most recent first, undated items last;
//! - demographics: one source's copy is shown (the most recently updated),
//!   and every field another source disagrees on becomes a warning.
//!
//! The result does not depend on the order the sources answered in.

mod demographics;
mod key;
#[doc(hidden)]
pub mod testdata;

use std::collections::{BTreeMap, HashMap};

use icr_model::{Entry, Item, Provenance, Section, SectionSet, SourceId, SourceRecord};
use serde::Serialize;
use serde_json::value::RawValue;

pub use demographics::{MergedPatient, merge_demographics};
pub use key::{MergeKey, key};

/// One item of the merged view, with every source that holds it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MergedItem {
    /// The item, as the most recently updated source holds it.
    #[serde(flatten)]
    pub entry: Entry,
    /// Every source record this item stands for, sorted by source then id.
    pub provenance: Vec<Provenance>,
    /// Fields on which the sources' copies differ.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<Conflict>,
}

/// A field on which sources holding the same item disagree.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Conflict {
    /// The field name, as in the JSON view.
    pub field: String,
    /// Each distinct value and the sources that hold it.
    pub values: Vec<ConflictValue>,
}

/// One of the values sources hold for a conflicting field.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConflictValue {
    /// The sources holding this value.
    pub sources: Vec<SourceId>,
    /// The value (absent when these sources leave the field empty).
    pub value: Option<serde_json::Value>,
}

/// A note about the merged view as a whole.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// Machine-readable code, e.g. `demographics-differ`.
    pub code: &'static str,
    /// What a reader should know.
    pub message: String,
    /// The sources concerned.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<SourceId>,
}

/// The merged view of one person.
#[derive(Clone, Debug, PartialEq, Default, Serialize)]
pub struct MergedRecord {
    /// Demographics, if any source gave them.
    pub patient: Option<MergedPatient>,
    /// Items by section, most recent first (demographics excepted).
    pub sections: BTreeMap<Section, Vec<MergedItem>>,
    /// Notes about the view as a whole.
    pub warnings: Vec<Warning>,
}

/// Merges what the sources answered, keeping only items of `sections`.
/// Every requested section but demographics (which is the `patient`)
/// appears in the result, empty if no source has anything for it.
pub fn merge(records: &[&SourceRecord], sections: SectionSet) -> MergedRecord {
    merge_with(records, sections, None)
}

/// As [`merge`], with `reference` the source whose demographics are shown
/// and the others checked against (the demographics service).
pub fn merge_with(
    records: &[&SourceRecord],
    sections: SectionSet,
    reference: Option<&SourceId>,
) -> MergedRecord {
    let mut by_section: BTreeMap<Section, Vec<MergedItem>> = sections
        .iter()
        .filter(|s| *s != Section::Demographics)
        .map(|s| (s, Vec::new()))
        .collect();

    let items: Vec<&Item> = records
        .iter()
        .flat_map(|r| r.items.iter())
        .filter(|i| sections.contains(i.entry.section()))
        .collect();
    let groups = group_items(&items);
    // Each section's list sized once: a merged item is several hundred
    // bytes, and growing by doubling copied every one of them again.
    let mut counts: BTreeMap<Section, usize> = BTreeMap::new();
    for group in &groups {
        *counts.entry(group.items()[0].entry.section()).or_default() += 1;
    }
    for (section, count) in counts {
        if let Some(list) = by_section.get_mut(&section) {
            list.reserve_exact(count);
        }
    }
    for group in &groups {
        let merged = merge_group(group.items());
        if let Some(list) = by_section.get_mut(&merged.entry.section()) {
            list.push(merged);
        }
    }
    for list in by_section.values_mut() {
        list.sort_by(order);
    }

    let (patient, warnings) = if sections.contains(Section::Demographics) {
        merge_demographics(records.iter().filter_map(|r| r.patient.as_ref()), reference)
    } else {
        (None, Vec::new())
    };
    MergedRecord {
        patient,
        sections: by_section,
        warnings,
    }
}

/// Items that are the same fact. Most facts are held once, so a group of
/// one allocates nothing.
enum Group<'a> {
    One(&'a Item),
    Many(Vec<&'a Item>),
}

impl<'a> Group<'a> {
    fn push(&mut self, item: &'a Item) {
        match self {
            Group::One(first) => *self = Group::Many(vec![*first, item]),
            Group::Many(items) => items.push(item),
        }
    }

    fn items(&self) -> &[&'a Item] {
        match self {
            Group::One(item) => std::slice::from_ref(item),
            Group::Many(items) => items,
        }
    }
}

/// Groups items that are the same fact; items without a key stand alone.
/// Exact repeats of one record (same record id) collapse. A group holds at
/// most one record of each source: two records a source keeps apart are
/// two facts, however alike (two reports of one day, two prescriptions of
/// one medicine on one date). Where a source holds several records with
/// one key, each other source's copy joins the one it matches exactly, else
/// the first (by record id) that has no copy from that source yet.
fn group_items<'a>(items: &[&'a Item]) -> Vec<Group<'a>> {
    // foldhash: several times faster than SipHash on these short keys, and
    // seeded per process, so a source cannot choose colliding keys.
    let hasher = foldhash::fast::RandomState::default();
    let mut groups: Vec<Group<'a>> = Vec::with_capacity(items.len());
    let mut index: HashMap<MergeKey<'a>, usize, _> =
        HashMap::with_capacity_and_hasher(items.len(), hasher.clone());
    // Unkeyed items that are exact repeats of one record also collapse
    // (keyed repeats meet in their group and are removed there).
    let mut unkeyed: std::collections::HashSet<&'a icr_model::RecordId, _> =
        std::collections::HashSet::with_hasher(hasher);
    for item in items {
        match key(&item.entry) {
            Some(k) => match index.get(&k) {
                Some(&g) => groups[g].push(item),
                None => {
                    index.insert(k, groups.len());
                    groups.push(Group::One(item));
                }
            },
            None => {
                if unkeyed.insert(&item.provenance.record) {
                    groups.push(Group::One(item));
                }
            }
        }
    }
    let mut split = Vec::new();
    for group in &mut groups {
        if let Group::Many(items) = group {
            items.sort_by(|a, b| a.provenance.record.cmp(&b.provenance.record));
            items.dedup_by(|a, b| a.provenance.record == b.provenance.record);
            split.extend(one_per_source(items));
        }
    }
    groups.extend(split);
    groups
}

/// Leaves in `items` (sorted by record id, so by source) at most one
/// record of each source, and returns the others as groups of their own,
/// each with the other sources' copies that match it.
fn one_per_source<'a>(items: &mut Vec<&'a Item>) -> Vec<Group<'a>> {
    let repeated = items
        .windows(2)
        .any(|w| w[0].provenance.origin.id == w[1].provenance.origin.id);
    if !repeated {
        return Vec::new();
    }
    // The records of the source holding the most copies (ties: the first
    // source by id) each found a group; every other source's copies join
    // them, an exact match first.
    let mut counts: Vec<(icr_model::SourceId, usize)> = Vec::new();
    for i in items.iter() {
        match counts
            .iter_mut()
            .find(|(s, _)| *s == i.provenance.origin.id)
        {
            Some((_, n)) => *n += 1,
            None => counts.push((i.provenance.origin.id.clone(), 1)),
        }
    }
    let widest = counts
        .iter()
        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
        .map(|(s, _)| s.clone());
    let (seeds, others): (Vec<&'a Item>, Vec<&'a Item>) = items
        .iter()
        .partition(|i| Some(&i.provenance.origin.id) == widest.as_ref());
    let mut out: Vec<Vec<&'a Item>> = seeds.into_iter().map(|s| vec![s]).collect();
    for item in others {
        let free: Vec<usize> = (0..out.len())
            .filter(|&g| {
                !out[g]
                    .iter()
                    .any(|i| i.provenance.origin.id == item.provenance.origin.id)
            })
            .collect();
        let target = free
            .iter()
            .copied()
            .find(|&g| same_but_members(&out[g][0].entry, &item.entry))
            .or(free.first().copied());
        match target {
            Some(g) => out[g].push(item),
            None => out.push(vec![item]),
        }
    }
    for g in &mut out {
        g.sort_by(|a, b| a.provenance.record.cmp(&b.provenance.record));
    }
    let mut groups = out.into_iter().map(|g| match g.as_slice() {
        [one] => Group::One(one),
        _ => Group::Many(g),
    });
    match groups.next() {
        Some(Group::Many(first)) => *items = first,
        Some(Group::One(first)) => *items = vec![first],
        None => items.clear(),
    }
    groups.collect()
}

fn merge_group(group: &[&Item]) -> MergedItem {
    // The representative: most recently updated; ties go to the smallest
    // record id (the group is sorted by record id, so the first wins).
    let mut rep = group[0];
    for item in &group[1..] {
        if item.provenance.last_updated > rep.provenance.last_updated {
            rep = item;
        }
    }
    let conflicts = if group.iter().all(|i| same_but_members(&i.entry, &rep.entry)) {
        Vec::new()
    } else {
        conflicts(group)
    };
    MergedItem {
        entry: rep.entry.clone(),
        provenance: group.iter().map(|i| i.provenance.clone()).collect(),
        conflicts,
    }
}

/// Equal, ignoring a report's member ids (source-local, never comparable).
fn same_but_members(a: &Entry, b: &Entry) -> bool {
    match (a, b) {
        (Entry::Result(x), Entry::Result(y)) if x.members != y.members => {
            let mut y = y.clone();
            y.members = x.members.clone();
            *x == y
        }
        _ => a == b,
    }
}

fn conflicts(group: &[&Item]) -> Vec<Conflict> {
    // Each copy is written out once as JSON and its top-level fields read
    // back as borrowed raw text: values compare as bytes (a type always
    // writes one value the same way), and only the fields that differ are
    // turned into JSON values for the answer.
    let written: Vec<(SourceId, Vec<u8>)> = group
        .iter()
        .map(|i| {
            (
                i.provenance.origin.id.clone(),
                serde_json::to_vec(&i.entry).unwrap_or_default(),
            )
        })
        .collect();
    let fields: Vec<(&SourceId, BTreeMap<&str, &RawValue>)> = written
        .iter()
        .map(|(source, json)| {
            let map = serde_json::from_slice(json).unwrap_or_default();
            (source, map)
        })
        .collect();
    let mut names: Vec<&str> = fields.iter().flat_map(|(_, m)| m.keys().copied()).collect();
    names.sort_unstable();
    names.dedup();
    let mut out = Vec::new();
    for field in names {
        // A report's members are each source's own record ids: they always
        // differ between sources and say nothing about the report.
        if field == "members" {
            continue;
        }
        let first = field_text(&fields[0].1, field);
        if fields.iter().all(|(_, m)| field_text(m, field) == first) {
            continue;
        }
        let mut distinct: Vec<(Option<&str>, ConflictValue)> = Vec::new();
        for (source, m) in &fields {
            let raw = field_text(m, field);
            match distinct.iter_mut().find(|(t, _)| *t == raw) {
                Some((_, d)) => {
                    if !d.sources.contains(source) {
                        d.sources.push((*source).clone());
                    }
                }
                None => distinct.push((
                    raw,
                    ConflictValue {
                        sources: vec![(*source).clone()],
                        value: raw.and_then(|t| serde_json::from_str(t).ok()),
                    },
                )),
            }
        }
        out.push(Conflict {
            field: field.to_string(),
            values: distinct.into_iter().map(|(_, v)| v).collect(),
        });
    }
    out
}

/// A top-level field's JSON text in one copy, if the copy has it.
fn field_text<'a>(fields: &BTreeMap<&str, &'a RawValue>, name: &str) -> Option<&'a str> {
    fields.get(name).map(|v| v.get())
}

/// Most recent first; undated last; ties by first record id, so the order
/// is total and does not depend on input order.
fn order(a: &MergedItem, b: &MergedItem) -> std::cmp::Ordering {
    let da = a.entry.sort_date();
    let db = b.entry.sort_date();
    match (da, db) {
        (Some(x), Some(y)) => y.cmp(x),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    }
    .then_with(|| a.provenance[0].record.cmp(&b.provenance[0].record))
}

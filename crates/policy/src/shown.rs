//! What one caller is shown of a merged record. The policy *marks* what it
//! withholds rather than editing the record, so that one merged record —
//! merged once, shared between requests while its sources' answers are
//! cached — serves every caller, each seeing only what their role may.
//!
//! Two steps:
//!
//! - [`Sensitivity`]: which items of a merged record are sensitive, as the
//!   policy's codes and terms read it. It does not depend on the caller,
//!   only on the record and the sections it is read for, so it is worked
//!   out once per merged record ([`Policy::sensitivity`](crate::Policy::sensitivity)).
//! - [`Shown`]: the record as one caller may see it
//!   ([`Policy::mark`](crate::Policy::mark)): the sections they may see, the
//!   items of those sections that are not withheld from them, the patient
//!   only with demographics. Renderers read the record only through it.
//!
//! What a caller is shown is exactly what [`Policy::apply`](crate::Policy::apply)
//! leaves in an edited copy: the property tests hold the two to the same
//! answer for every record and grant.

use std::collections::BTreeMap;

use icr_merge::{MergedItem, MergedPatient, MergedRecord, Warning};
use icr_model::{Section, SectionSet};

use crate::sensitive::{SensitiveCodes, Withheld};

/// Which items of a merged record are sensitive, read for a set of
/// sections (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sensitivity {
    /// The sections it was read for.
    sections: SectionSet,
    /// Per section read, one flag per item, in the record's order.
    flags: BTreeMap<Section, Vec<bool>>,
}

impl Sensitivity {
    /// Reads `record` as `codes` do, for `sections`: the words the record
    /// uses for its sensitive concepts are taken from those sections only,
    /// as [`Policy::apply`](crate::Policy::apply) takes them after removing
    /// the others.
    pub(crate) fn read(
        codes: &SensitiveCodes,
        record: &MergedRecord,
        sections: SectionSet,
    ) -> Self {
        let kept = |s: &Section| sections.contains(*s) && *s != Section::Demographics;
        let named = codes.named_in_sections(record, &kept);
        let flags = record
            .sections
            .iter()
            .filter(|(s, _)| kept(s))
            .map(|(s, items)| {
                let flags = items
                    .iter()
                    .map(|item| {
                        codes.item_is_sensitive(item) || codes.text_is_sensitive(item, &named)
                    })
                    .collect();
                (*s, flags)
            })
            .collect();
        Sensitivity { sections, flags }
    }

    /// The sections it was read for.
    pub fn sections(&self) -> SectionSet {
        self.sections
    }

    /// How many items are sensitive.
    pub fn count(&self) -> usize {
        self.flags.values().flatten().filter(|f| **f).count()
    }
}

/// What one caller may see, apart from any record: the sections allowed
/// and whether their role is cleared for sensitive items. Small and
/// `Copy`, so that it can be kept with a released record and applied to
/// the shared merged record whenever it is rendered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Marks {
    sections: SectionSet,
    cleared: bool,
}

impl Marks {
    pub(crate) fn new(sections: SectionSet, cleared: bool) -> Self {
        Marks { sections, cleared }
    }

    /// `record` as this caller may see it, `sensitivity` having been read
    /// from it by [`Policy::sensitivity`](crate::Policy::sensitivity) for
    /// the allowed sections, and how many items are withheld. A reading
    /// for other sections (a bug: the gateway reads for the allowed ones)
    /// withholds every item of the sections shown, and counts them: marks
    /// fail closed.
    pub fn show<'a>(
        self,
        record: &'a MergedRecord,
        sensitivity: &'a Sensitivity,
    ) -> (Shown<'a>, Withheld) {
        let shown = Shown {
            record,
            sensitivity,
            matches: sensitivity.sections == self.sections,
            sections: self.sections,
            cleared: self.cleared,
        };
        let mut withheld = Withheld::default();
        for (section, items) in &record.sections {
            if !shown.section_shown(*section) {
                withheld.outside_sections += items.len();
            }
        }
        // Counted from what is shown, so that the counts always say what
        // the marks hide.
        for (section, items) in shown.sections() {
            let all = record.sections.get(&section).map_or(0, Vec::len);
            let n = all - items.count();
            if n > 0 {
                withheld.count += n;
                withheld.by_section.insert(section, n);
            }
        }
        (shown, withheld)
    }
}

/// A merged record as one caller may see it: what the policy withholds is
/// marked, not removed.
#[derive(Clone, Debug)]
pub struct Shown<'a> {
    record: &'a MergedRecord,
    sensitivity: &'a Sensitivity,
    /// Whether `sensitivity` was read for `sections`.
    matches: bool,
    sections: SectionSet,
    cleared: bool,
}

impl<'a> Shown<'a> {
    fn section_shown(&self, section: Section) -> bool {
        self.sections.contains(section) && section != Section::Demographics
    }

    /// The merged record underneath, whole: for what is not shown to the
    /// caller but about it (its size, its provenance for the audit).
    pub fn record(&self) -> &'a MergedRecord {
        self.record
    }

    /// The person's merged demographics, when the caller may see them.
    pub fn patient(&self) -> Option<&'a MergedPatient> {
        if self.sections.contains(Section::Demographics) {
            self.record.patient.as_ref()
        } else {
            None
        }
    }

    /// The merge's warnings the caller may see (those about demographics
    /// only with demographics).
    pub fn warnings(&self) -> impl Iterator<Item = &'a Warning> + '_ {
        self.record
            .warnings
            .iter()
            .filter(|w| self.shows_warning(w))
    }

    /// Whether the caller may see `warning` (one about demographics only
    /// with demographics), for warnings added beside the merge's.
    pub fn shows_warning(&self, warning: &Warning) -> bool {
        self.sections.contains(Section::Demographics) || !warning.code.starts_with("demographics")
    }

    /// The sections the caller may see, in order, each with the items
    /// shown to them (a section may be shown with none).
    pub fn sections(&self) -> impl Iterator<Item = (Section, ShownItems<'a, '_>)> + '_ {
        self.record
            .sections
            .iter()
            .filter(|(s, _)| self.section_shown(**s))
            .map(|(s, items)| {
                // Without flags for the section, or with a reading for
                // other sections (never, in the gateway), every item is
                // withheld: marks fail closed.
                let flags = if self.cleared {
                    None
                } else if self.matches {
                    Some(self.sensitivity.flags.get(s).map_or(&[][..], Vec::as_slice))
                } else {
                    Some(&[][..])
                };
                (
                    *s,
                    ShownItems {
                        items,
                        flags,
                        at: 0,
                    },
                )
            })
    }

    /// Every item shown, section by section.
    pub fn items(&self) -> impl Iterator<Item = &'a MergedItem> + '_ {
        self.sections().flat_map(|(_, items)| items)
    }

    /// Whether the item at `index` of `section` is shown.
    pub fn is_shown(&self, section: Section, index: usize) -> bool {
        self.section_shown(section)
            && (self.cleared
                || (self.matches
                    && !self
                        .sensitivity
                        .flags
                        .get(&section)
                        .and_then(|f| f.get(index))
                        .copied()
                        .unwrap_or(true)))
    }

    /// How many items are shown, the patient counted as one.
    pub fn item_count(&self) -> usize {
        self.items().count() + usize::from(self.patient().is_some())
    }

    /// The record as the caller may see it, as an edited copy (what
    /// [`Policy::apply`](crate::Policy::apply) leaves).
    pub fn to_record(&self) -> MergedRecord {
        MergedRecord {
            patient: self.patient().cloned(),
            sections: self
                .sections()
                .map(|(s, items)| (s, items.cloned().collect()))
                .collect(),
            warnings: self.warnings().cloned().collect(),
        }
    }
}

/// The items of one section shown to a caller, with their index in the
/// merged record's section.
#[derive(Clone, Debug)]
pub struct ShownItems<'a, 's> {
    items: &'a [MergedItem],
    flags: Option<&'s [bool]>,
    at: usize,
}

impl<'a> ShownItems<'a, '_> {
    /// The shown items with their index in the merged record's section.
    pub fn indexed(self) -> impl Iterator<Item = (usize, &'a MergedItem)> {
        let (items, flags, from) = (self.items, self.flags, self.at);
        items
            .iter()
            .enumerate()
            .skip(from)
            .filter(move |(i, _)| !flags.is_some_and(|f| f.get(*i).copied().unwrap_or(true)))
    }
}

impl<'a> Iterator for ShownItems<'a, '_> {
    type Item = &'a MergedItem;

    fn next(&mut self) -> Option<&'a MergedItem> {
        while self.at < self.items.len() {
            let i = self.at;
            self.at += 1;
            let withheld = self
                .flags
                .is_some_and(|f| f.get(i).copied().unwrap_or(true));
            if !withheld {
                return self.items.get(i);
            }
        }
        None
    }
}

//! When two items are the same fact.

use std::borrow::Cow;

use icr_model::{CodeSystem, Concept, Entry, PartialDateTime, Section};

/// What makes two items the same clinical fact: same section (and kind),
/// same primary code, same date at the same precision, and for some
/// sections one more distinguishing field.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MergeKey<'a> {
    section: Section,
    kind: &'static str,
    system: &'a CodeSystem,
    code: &'a str,
    date: Option<(u8, i128)>,
    extra: Option<Cow<'a, str>>,
}

fn coded<'a>(
    section: Section,
    kind: &'static str,
    concept: &'a Concept,
    date: Option<&PartialDateTime>,
    extra: Option<Cow<'a, str>>,
) -> Option<MergeKey<'a>> {
    let primary = concept.primary()?;
    Some(MergeKey {
        section,
        kind,
        system: &primary.system,
        code: &primary.code,
        date: date.map(PartialDateTime::identity),
        extra,
    })
}

/// The merge key of an item, or `None` for items that are never merged
/// (no usable code, or a kind of item where sameness cannot be told).
///
/// | section | same when |
/// |---|---|
/// | medications | medicine code, start (else recorded) date, statement/prescription |
/// | allergies, conditions | code, onset (else recorded) date |
/// | results | code, effective (else issued) date-time, observation/report |
/// | documents | type code, date, title |
/// | procedures | code, performed date |
/// | referrals | code, date made |
/// | appointments | service code, start, appointment/encounter |
/// | alerts | code, start |
/// | contacts | family and given names, relationship code |
/// | care_team | never merged: each organisation's team is its own |
///
/// Free text alone never makes two items the same, and two records of one
/// source are never one item, whatever their keys (see [`crate::merge`]).
pub fn key(entry: &Entry) -> Option<MergeKey<'_>> {
    let section = entry.section();
    match entry {
        Entry::Medication(m) => coded(
            section,
            m.kind.map_or("", |k| k.as_code()),
            &m.medication,
            m.start.as_ref().or(m.recorded.as_ref()),
            None,
        ),
        Entry::Allergy(a) => coded(
            section,
            "",
            &a.code,
            a.onset.as_ref().or(a.recorded.as_ref()),
            None,
        ),
        Entry::Condition(c) => coded(
            section,
            "",
            &c.code,
            c.onset.as_ref().or(c.recorded.as_ref()),
            None,
        ),
        Entry::Result(r) => coded(
            section,
            r.kind.map_or("", |k| k.as_code()),
            &r.code,
            r.effective.as_ref().or(r.issued.as_ref()),
            None,
        ),
        Entry::Document(d) => coded(
            section,
            "",
            &d.doc_type,
            d.date.as_ref(),
            d.title
                .as_deref()
                .map(|t| Cow::Owned(t.trim().to_lowercase())),
        ),
        Entry::Procedure(p) => coded(section, "", &p.code, p.performed.as_ref(), None),
        Entry::Referral(r) => coded(section, "", &r.code, r.authored.as_ref(), None),
        Entry::Appointment(a) => coded(
            section,
            a.kind.map_or("", |k| k.as_code()),
            a.service_type.first()?,
            Some(a.start.as_ref()?),
            None,
        ),
        Entry::Alert(a) => coded(section, "", &a.code, a.period_start.as_ref(), None),
        Entry::Contact(c) => {
            let family = c.name.family.as_deref()?.trim().to_lowercase();
            let given = c.name.given.join(" ").trim().to_lowercase();
            if family.is_empty() {
                return None;
            }
            static NONE: CodeSystem = CodeSystem::Ucum;
            let (system, code) = c
                .relationship
                .first()
                .and_then(Concept::primary)
                .map_or((&NONE, ""), |p| (&p.system, p.code.as_str()));
            Some(MergeKey {
                section,
                kind: "",
                system,
                code,
                date: None,
                extra: Some(Cow::Owned(format!("{family}\u{1f}{given}"))),
            })
        }
        Entry::CareTeam(_) => None,
    }
}

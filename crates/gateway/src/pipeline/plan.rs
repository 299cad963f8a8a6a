//! Plan: which registered sources to ask, for which sections, before
//! anything leaves — sources × sections × routing × the person's
//! objections. Pure: no I/O, no clock, no adapter.
//!
//! Sources routed to everyone are asked for the wanted sections they
//! offer; the demographics service is always asked (it names the
//! registered practice and is the reference for everyone's
//! demographics); a registered-practice source is asked once the
//! demographics service has named it ([`route_to_practice`]) — or at once,
//! with the demographics service, when the practice is remembered for the
//! person ([`Hints::practice`]); the demographics service then confirms
//! it. A source the person's objection excludes is planned but marked
//! `objected`: it is never asked and is reported as withheld.
//!
//! What the gateway knows of where the person's records are comes in as
//! data ([`Hints`]): a source routed to everyone that answered lately that
//! it holds no record for the person, or that the record-location index
//! does not name while naming others (for sources registered `located`),
//! is planned but marked [`Skip`]ped: not asked, and reported `skipped`
//! with the reason. The demographics service and the registered practice
//! are never skipped so. A refresh ([`Hints::fresh`]) skips nothing.

use std::time::Duration;

use icr_adapter_sdk::{Routing, SourceError};
use icr_merge::Warning;
use icr_model::time::OffsetDateTime;
use icr_model::time::format_description::well_known::Rfc3339;
use icr_model::{OdsCode, SectionSet, SourceRecord};
use icr_policy::SourceFilter;

/// What planning needs to know of a registered source.
pub(crate) trait Registered {
    /// Whose records it is asked for.
    fn routing(&self) -> Routing;
    /// The sections it offers.
    fn sections(&self) -> SectionSet;
    /// Its organisation.
    fn ods_code(&self) -> &OdsCode;
    /// Whether the record-location index may skip it.
    fn located(&self) -> bool;
}

/// Why a planned source is not asked this time (or, for a remembered
/// practice, why its answer is not shown); the words are [`Skip::reason`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Skip {
    /// It answered `ago` that it holds no record for the person; it is not
    /// asked again for them until `until`.
    NotFoundLately {
        /// How long ago.
        ago: Duration,
        /// When the memory of it ends.
        until: OffsetDateTime,
    },
    /// The record-location index knows the person and names other
    /// organisations as holding their records.
    NotLocated,
    /// Asked as the practice remembered for the person, but the
    /// demographics service now names another practice.
    NoLongerPractice,
    /// Asked as the practice remembered for the person, but the
    /// demographics service did not confirm it (it failed, did not answer
    /// in time, or names no practice).
    PracticeUnconfirmed,
}

impl Skip {
    /// The reason, in words, as the response states it.
    pub(crate) fn reason(self) -> String {
        match self {
            Skip::NotFoundLately { ago, until } => format!(
                "answered that it holds no record for this person {} ago; not asked again until {} (a refresh, Cache-Control: no-cache, asks it now)",
                spoken(ago),
                until.format(&Rfc3339).unwrap_or_default()
            ),
            Skip::NotLocated => "not asked: the record-location index names other organisations as holding this person's records (a refresh, Cache-Control: no-cache, asks it)".into(),
            Skip::NoLongerPractice => "no longer the registered practice: the demographics service now names another practice, which was asked; this practice's answer is not shown".into(),
            Skip::PracticeUnconfirmed => "asked as the registered practice remembered for this person, but the demographics service did not confirm it this time; its answer is not shown".into(),
        }
    }
}

/// A duration as said: "40 seconds", "1 minute", "4 minutes", "2 hours".
fn spoken(d: Duration) -> String {
    let s = d.as_secs();
    let (n, unit) = match s {
        0..60 => (s, "second"),
        60..3600 => (s / 60, "minute"),
        _ => (s / 3600, "hour"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// What the gateway knows, before asking, of where the person's records
/// are: from its memories and the record-location index, read by the
/// pipeline (the plan stays pure).
#[derive(Debug, Default)]
pub(crate) struct Hints<'a> {
    /// By registration index: when the source answered lately that it
    /// holds no record for the person (`ago`, `until`), if remembered.
    pub not_found: Vec<Option<(Duration, OffsetDateTime)>>,
    /// The organisations the record-location index names as holding the
    /// person's records; `None` when unknown (no index, the person not in
    /// it, or the lookup failed).
    pub located: Option<&'a [OdsCode]>,
    /// The practice remembered as the person's registered one.
    pub practice: Option<&'a OdsCode>,
    /// A clinician's refresh: ask the sources themselves, not the cache.
    pub fresh: bool,
}

/// One source to ask (by its index in registration order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ask {
    /// The source's index among the registered sources.
    pub index: usize,
    /// The sections to ask it for.
    pub sections: SectionSet,
    /// The person objects to this organisation sharing their record: it is
    /// not asked, and is reported as withheld.
    pub objected: bool,
    /// Not asked (or its answer not shown), and why: reported `skipped`.
    pub skip: Option<Skip>,
}

/// The sources to ask at once, and whether the registered practice is
/// wanted once the demographics service names it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Plan {
    /// The sources asked at once, in registration order.
    pub asks: Vec<Ask>,
    /// Some practice source offers a wanted section.
    pub practices_wanted: bool,
    /// The remembered practice asked at once (its index), to be confirmed
    /// by the demographics service.
    pub remembered_practice: Option<usize>,
    /// Ask the sources themselves, not the cache (a refresh).
    pub fresh: bool,
}

/// Why no practice was asked: a warning for the view, and whether that
/// leaves the practice unknown (the demographics service failed, so any
/// practice might hold a record) rather than known to be none of the
/// directory's.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct NotAsked {
    /// The warning shown with the record.
    pub warning: Warning,
    /// Whether the practice is unknown.
    pub unknown: bool,
}

/// Why the practice was not asked when the demographics service was too slow.
const PDS_TOO_SLOW: &str = "the GP practice was not asked: the demographics service, which names it, did not answer in time";

fn not_asked(message: String, unknown: bool) -> NotAsked {
    NotAsked {
        warning: Warning {
            code: "practice-not-asked",
            message,
            sources: Vec::new(),
        },
        unknown,
    }
}

/// The practice could not be asked because the demographics service did
/// not answer in time (or was still pending at the deadline).
pub(crate) fn demographics_too_slow() -> NotAsked {
    not_asked(PDS_TOO_SLOW.into(), true)
}

/// One source asked for `sections`, marked if the person objects to it.
pub(crate) fn ask<S: Registered>(
    sources: &[S],
    index: usize,
    sections: SectionSet,
    permitted: &SourceFilter,
) -> Ask {
    Ask {
        index,
        sections,
        objected: !permitted.permits(sources[index].ods_code()),
        skip: None,
    }
}

/// Why a source routed to everyone need not be asked, from the hints: a
/// remembered "no record" first, then the index (only for a `located`
/// source, and only when the index knows the person).
fn skip<S: Registered>(source: &S, index: usize, hints: &Hints<'_>) -> Option<Skip> {
    if source.routing() != Routing::All || hints.fresh {
        return None;
    }
    if let Some(&Some((ago, until))) = hints.not_found.get(index) {
        return Some(Skip::NotFoundLately { ago, until });
    }
    match hints.located {
        Some(holders) if source.located() && !holders.contains(source.ods_code()) => {
            Some(Skip::NotLocated)
        }
        _ => None,
    }
}

/// The sources to ask at once for `sections`, given what is known of
/// where the person's records are.
pub(crate) fn plan<S: Registered>(
    sources: &[S],
    sections: SectionSet,
    permitted: &SourceFilter,
    hints: &Hints<'_>,
) -> Plan {
    let remembered = |s: &S| !hints.fresh && hints.practice == Some(s.ods_code());
    let mut remembered_practice = None;
    let asks = sources
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let wanted = match s.routing() {
                Routing::All => s.sections().intersection(sections),
                Routing::Demographics => s.sections(),
                Routing::RegisteredPractice if remembered(s) && remembered_practice.is_none() => {
                    s.sections().intersection(sections)
                }
                Routing::RegisteredPractice => return None,
            };
            if wanted.is_empty() {
                return None;
            }
            if s.routing() == Routing::RegisteredPractice {
                remembered_practice = Some(i);
            }
            let mut ask = ask(sources, i, wanted, permitted);
            if !ask.objected {
                ask.skip = skip(s, i, hints);
            }
            Some(ask)
        })
        .collect();
    let practices_wanted = sources.iter().any(|s| {
        s.routing() == Routing::RegisteredPractice
            && !s.sections().intersection(sections).is_empty()
    });
    Plan {
        asks,
        practices_wanted,
        remembered_practice,
        fresh: hints.fresh,
    }
}

/// The registered practice to ask, from the demographics service's
/// answer: `Ok(None)` when the practice offers none of the wanted
/// sections; when the practice cannot be asked, why.
pub(crate) fn route_to_practice<S: Registered>(
    sources: &[S],
    demographics: Result<&SourceRecord, &SourceError>,
    sections: SectionSet,
    permitted: &SourceFilter,
) -> Result<Option<Ask>, NotAsked> {
    let record = match demographics {
        Ok(record) => record,
        Err(SourceError::Timeout { .. }) => return Err(demographics_too_slow()),
        Err(SourceError::PatientNotFound) => {
            return Err(not_asked(
                "the GP practice was not asked: the demographics service holds no record for this NHS number".into(),
                false,
            ));
        }
        Err(e) => {
            return Err(not_asked(
                format!(
                    "the GP practice was not asked: the demographics service, which names it, failed ({})",
                    e.status().as_str()
                ),
                true,
            ));
        }
    };
    let Some(ods) = record
        .patient
        .as_ref()
        .and_then(|p| p.demographics.registered_practice.as_ref())
    else {
        return Err(not_asked(
            "no GP practice was asked: the demographics service records no registered practice"
                .into(),
            false,
        ));
    };
    let Some((index, source)) = sources
        .iter()
        .enumerate()
        .find(|(_, s)| s.routing() == Routing::RegisteredPractice && s.ods_code() == ods)
    else {
        return Err(not_asked(
            format!(
                "the registered GP practice ({ods}) was not asked: it has no endpoint in the practice directory"
            ),
            false,
        ));
    };
    let wanted = source.sections().intersection(sections);
    Ok((!wanted.is_empty()).then(|| ask(sources, index, wanted, permitted)))
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;

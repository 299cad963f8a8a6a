//! Plan: which registered sources to ask, for which sections, before
//! anything leaves — sources × sections × routing × the person's
//! objections. Pure: no I/O, no clock, no adapter.
//!
//! Sources routed to everyone are asked for the wanted sections they
//! offer; the demographics service is always asked (it names the
//! registered practice and is the reference for everyone's
//! demographics); a registered-practice source is asked only once the
//! demographics service has named it ([`route_to_practice`]). A source the
//! person's objection excludes is planned but marked `objected`: it is
//! never asked and is reported as withheld.

use icr_adapter_sdk::{Routing, SourceError};
use icr_merge::Warning;
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
}

/// The sources to ask at once, and whether the registered practice is
/// wanted once the demographics service names it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Plan {
    /// The sources asked at once, in registration order.
    pub asks: Vec<Ask>,
    /// Some practice source offers a wanted section.
    pub practices_wanted: bool,
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
    }
}

/// The sources to ask at once for `sections`.
pub(crate) fn plan<S: Registered>(
    sources: &[S],
    sections: SectionSet,
    permitted: &SourceFilter,
) -> Plan {
    let asks = sources
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let wanted = match s.routing() {
                Routing::All => s.sections().intersection(sections),
                Routing::Demographics => s.sections(),
                Routing::RegisteredPractice => return None,
            };
            (!wanted.is_empty()).then(|| ask(sources, i, wanted, permitted))
        })
        .collect();
    let practices_wanted = sources.iter().any(|s| {
        s.routing() == Routing::RegisteredPractice
            && !s.sections().intersection(sections).is_empty()
    });
    Plan {
        asks,
        practices_wanted,
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

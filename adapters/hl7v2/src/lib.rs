//! Source adapter for pathology labs and radiology systems that answer
//! HL7 v2 queries over MLLP (kind `hl7v2`).
//!
//! In the request flow it is one of the adapters the gateway fans out to:
//! for one person it sends a QBP^Q11 query by NHS number ([`query`]) over
//! a pooled TCP connection framed with MLLP (endpoint `mllp://host:port`,
//! `tcp://host:port` accepted as the same), reads the RSP^K11 answer,
//! checks that it answers this query, that the source succeeded and that
//! it is about this person ([`answer`]), and maps its ORC/OBR/OBX/NTE
//! groups into `results` ([`map`]): each OBR a report, each OBX an
//! observation, a radiology report's text lines its conclusion.
//!
//! Failures are typed: no answer by the deadline is `timeout`; a refused,
//! reset or half-sent connection `unavailable`; an answer over
//! `max_message_bytes` `TooLarge`; an AE/AR/CE/CR acknowledgment, a
//! QAK-2 `AE`/`AR` or an ERR of severity `E` `error` (`Refused`, with the
//! HL7 error codes and the source's own words from MSA-3 and ERR, which
//! go only to the caller); an unreadable or misdirected answer, or a
//! QAK-2 `NF` that carries results, `error` (`Malformed`); one about
//! another person `error` (`IdentityMismatch`); only a query answered
//! `NF` is `not_found` ([`answer`] has the whole table). Anything read
//! only in part is reported as an issue.
//!
//! Times without an offset take MSH-7's offset (the HL7 rule), else the
//! source's `local_time_zone` (Europe/London by default, with UK summer
//! time). The adapter provides `results` only; a request for other
//! sections alone is answered empty without a query.
//!
//! The parsing and mapping are pure ([`answer`], [`map`], [`query`]) and
//! [`fuzz_answer`] is the fuzzing entry point; the settings are
//! [`Hl7v2Options`].

#![warn(missing_docs)]

pub mod answer;
pub mod map;
mod options;
mod pool;
pub mod query;
mod source;

use std::sync::Arc;

use icr_adapter_sdk::{AdapterKind, BuildError, Endpoint, Kind, Offers, SourceAdapter, SourceSpec};
use icr_hl7v2::dtm::LocalZone;
use icr_hl7v2::{Limits, Message};
use icr_model::{NhsNumber, OdsCode, SectionSet, SourceId, SourceMeta};

pub use options::{Hl7v2Options, ProcessingId, Settings, TimeZoneName};
pub use source::Hl7v2Source;

/// The adapter kind: `kind = "hl7v2"`, an `mllp://host:port` (or
/// `tcp://`) endpoint; a lab holds results only, but a registration
/// listing other sections has always been accepted (they are never
/// asked), so any is.
pub static KIND: Kind<Hl7v2Options> = Kind::new(
    "hl7v2",
    Endpoint {
        schemes: &["mllp", "tcp"],
        must_be: "must be mllp://host:port (or tcp://host:port); MLLP over TLS is not supported",
        no_host: "must name a host: mllp://host:port",
    },
    Offers::Any,
    |spec, settings| Ok(Arc::new(Hl7v2Source::new(spec, settings)?)),
);

/// Checks an `hl7v2` registration and builds its adapter ([`KIND`]).
pub fn build(spec: &SourceSpec) -> Result<Arc<dyn SourceAdapter>, BuildError> {
    KIND.build(spec)
}

/// Reads `data` as an answer from a source, twice: through every check of
/// [`answer::read_answer`], and straight into [`map::map_results`] from
/// its first segment, so that the mapping is reached whatever the header
/// says. The entry point for fuzzing; it must never panic.
pub fn fuzz_answer(data: &[u8]) {
    let (Ok(id), Ok(ods), Ok(nhs)) = (
        SourceId::parse("fuzz"),
        OdsCode::parse("RD1"),
        NhsNumber::parse("9990000018"),
    ) else {
        return;
    };
    let meta = Arc::new(SourceMeta {
        id,
        organisation: "Fuzz".into(),
        ods_code: ods,
        system: "fuzz".into(),
    });
    let limits = Limits {
        max_message_bytes: 1 << 20,
        ..Limits::default()
    };
    let expected = answer::Expected {
        control_id: "Q1",
        query_tag: "T1",
        nhs_number: nhs,
    };
    let ctx = answer::ReadContext {
        meta: &meta,
        local_zone: LocalZone::EuropeLondon,
        limits,
        sections: SectionSet::all(),
    };
    let _ = answer::read_answer(data, &expected, &ctx);
    if let Ok(message) = Message::parse(data, &limits) {
        let zone = LocalZone::for_message(&message.msh().field(7).text(), LocalZone::EuropeLondon);
        let _ = map::map_results(&message, 0, &map::MapContext { meta: &meta, zone });
    }
}

//! Source adapter for council social care person-summary services over
//! SOAP 1.1 (kind `soap-xml`), as Wiltshire, Swindon and Bath and North
//! East Somerset councils publish them.
//!
//! In the request flow it is one of the adapters the gateway fans out to:
//! for one [`FetchRequest`](icr_adapter_sdk::FetchRequest) it `POST`s one
//! `GetPersonSummary` envelope (the NHS number, the requester and their
//! organisation, the trace id as correlation id, and the lists wanted) to
//! the source's endpoint, and reads the `GetPersonSummaryResponse` into the
//! unified model:
//!
//! | section | from |
//! |---|---|
//! | demographics | `Person` |
//! | care_team | `Allocations` (allocated worker and team), `Services` (home care, reablement, day care, respite, …) |
//! | contacts | `Contacts` (carers, next of kin, key holders, …) |
//! | alerts | `Alerts` (safeguarding and other alerts) |
//! | documents | `Documents` (care plans and assessments) |
//! | appointments | `Visits` (planned visits) |
//!
//! A council that failed never looks like one with nothing to say: every
//! SOAP fault — with HTTP 200 or 500, with or without the contract's
//! detail, bare in the Body or inside the answer, SOAP 1.2 — is a failure
//! quoting the service's `faultstring`, and only a `soap:Client` fault
//! coded `PersonNotKnown` for this request is `not_found` ([`soap`],
//! [`answer`]; the README's fault tables, run in `tests/failure_shapes.rs`).
//!
//! The service contract (prose WSDL, XSD and example messages) is in the
//! crate's `README.md` and `schema/`. The read is pure and in layers:
//! [`xml`] (bytes to a bounded, namespace-resolved tree by the shared
//! hardened reader in `icr-xml`, through the contract's codec `icr-soap`;
//! DOCTYPEs and unknown entities refused), [`soap`] (the envelope and faults), [`map`]
//! (the summary to the model) and [`answer`] (one HTTP answer to a
//! [`SourceRecord`](icr_model::SourceRecord) or a
//! [`SourceError`](icr_adapter_sdk::SourceError)); [`request`] writes the
//! request; only `source` does I/O. [`fuzz_answer`] is the fuzzing entry
//! point. The adapter's settings are [`SoapXmlOptions`].

#![warn(missing_docs)]

pub mod answer;
pub mod codes;
pub mod map;
mod options;
pub mod request;
pub mod soap;
mod source;

pub use icr_soap::xml;

use std::sync::{Arc, LazyLock};

use icr_adapter_sdk::{AdapterKind, BuildError, Endpoint, Kind, Offers, SourceAdapter, SourceSpec};
use icr_model::{NhsNumber, OdsCode, Section, SectionSet, SourceId, SourceMeta};

pub use options::{DEFAULT_SOAP_ACTION, SoapXmlOptions};
pub use source::{CONTENT_TYPE, SoapXmlSource};
pub use xml::PERSON_SUMMARY_NS;

/// The adapter kind: `kind = "soap-xml"`, an http(s) endpoint, the
/// sections of the person summary ([`map::provided_sections`]).
pub static KIND: Kind<SoapXmlOptions> = Kind::new(
    "soap-xml",
    Endpoint::HTTP,
    Offers::Only {
        sections: &[
            Section::Demographics,
            Section::CareTeam,
            Section::Contacts,
            Section::Alerts,
            Section::Documents,
            Section::Appointments,
        ],
        refusal: |_| {
            format!(
                "a soap-xml person summary provides only {}; remove the others",
                map::provided_sections()
            )
        },
    },
    |spec, options| Ok(Arc::new(SoapXmlSource::new(spec, options)?)),
);

/// Checks a `soap-xml` registration and builds its adapter ([`KIND`]).
pub fn build(spec: &SourceSpec) -> Result<Arc<dyn SourceAdapter>, BuildError> {
    KIND.build(spec)
}

/// The NHS number the fuzzing entry point expects answers to be about.
pub const FUZZ_NHS_NUMBER: &str = "9990000018";
/// The correlation id the fuzzing entry point expects answers to echo.
pub const FUZZ_CORRELATION_ID: &str = "00000000-0000-0000-0000-000000000000";

static FUZZ_META: LazyLock<Option<Arc<SourceMeta>>> = LazyLock::new(|| {
    Some(Arc::new(SourceMeta {
        id: SourceId::parse("fuzz").ok()?,
        organisation: "Fuzz Council".into(),
        ods_code: OdsCode::parse("X26").ok()?,
        system: KIND.name.into(),
    }))
});

/// Reads `data` as an answer to a request for [`FUZZ_NHS_NUMBER`], both as
/// an HTTP 200 and as an HTTP 500 answer, ignoring the results: the entry
/// point for fuzzing. It must never panic.
pub fn fuzz_answer(data: &[u8]) {
    let (Some(meta), Ok(nhs_number)) = (FUZZ_META.as_ref(), NhsNumber::parse(FUZZ_NHS_NUMBER))
    else {
        return;
    };
    let expected = answer::Expected {
        nhs_number,
        correlation_id: FUZZ_CORRELATION_ID,
        sections: SectionSet::all(),
    };
    let limits = answer::ReadLimits::default();
    for status in [200, 500] {
        let _ = answer::read_answer(status, data, &expected, &limits, meta);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_kind_offers_what_the_summary_provides() {
        assert_eq!(
            super::KIND.offers.sections(),
            super::map::provided_sections()
        );
    }
}

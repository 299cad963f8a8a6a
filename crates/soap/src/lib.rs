//! The council person-summary contract over SOAP 1.1
//! (`urn:icr:socialcare:personsummary:1`), as bytes: read and written.
//!
//! In the request flow this is the codec under the `soap-xml` adapter (and
//! the simulated councils): the adapter writes its `GetPersonSummary` and
//! reads the answer's envelope with it; the simulator reads the request and
//! writes answers and faults with it; the tests build their fixtures with
//! it. Mapping the contract to the model stays in the adapter. Everything
//! here is pure: no I/O, no clock.
//!
//! Reading goes through the shared hardened reader ([`icr_xml`]): [`xml`]
//! tells the contract's namespaces apart; [`list`] names the summary's
//! lists; [`request`] reads and writes the
//! `GetPersonSummary` envelope; [`envelope`] reads an answer's envelope
//! and faults; [`fault`] writes faults. Writing answers is behind the
//! cargo feature `render` (off by default: only the simulator and tests
//! write answers; the adapter only reads them): `response` writes the
//! envelope around an answer and `summary` the person summary in it, from
//! model values. Writing goes through [`icr_xml::Writer`], which escapes
//! every value.

#![warn(missing_docs)]

pub mod envelope;
pub mod fault;
pub mod list;
pub mod request;
#[cfg(feature = "render")]
pub mod response;
#[cfg(feature = "render")]
pub mod summary;
pub mod xml;

pub use fault::FaultMessage;
pub use list::List;
pub use request::{GetPersonSummary, LISTS, REQUEST_LIMITS, RequestError, SOAP_ACTION};
#[cfg(feature = "render")]
pub use response::{ResponseWriter, Style};
#[cfg(feature = "render")]
pub use summary::SummaryWriter;
pub use xml::{Element, Ns, PERSON_SUMMARY_NS, SOAP11_ENVELOPE_NS, SOAP12_ENVELOPE_NS};

/// Reads `data` as a `GetPersonSummary` request; when it reads, writes it
/// and reads that back, which must give the same request: the entry point
/// for fuzzing. It must never panic except on a disagreement, which is a
/// bug.
pub fn fuzz_request(data: &[u8]) {
    let limits = xml::Limits::default();
    if let Ok(request) = GetPersonSummary::read(data, &limits) {
        // The writer writes every part, present or not: room for them.
        let roomy = xml::Limits {
            max_elements: limits.max_elements + 16,
            ..limits
        };
        let again = GetPersonSummary::read(&request.write(), &roomy);
        // Values are read trimmed and written as they are: a round trip.
        assert_eq!(again.as_ref(), Ok(&request), "write → read disagrees");
    }
}

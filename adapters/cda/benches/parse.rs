//! Parser throughput of the CDA adapter, in bytes of answer per second.
//! Benchmarks:
//!
//! - `document/…`: what the adapter runs on every CDA document it fetches:
//!   `cda::read` (the bounded XML reader, the `ClinicalDocument` header,
//!   encounter and body as plain text, with the adapter's default 100,000
//!   characters of text), then for a simulated document
//!   `map::check_identity` and `map::map_document` with the registry
//!   entry that listed it, exactly as the source does; the corpus documents
//!   are US documents without NHS numbers, which the identity check would
//!   refuse before mapping, so they are read and mapped without it, as
//!   `tests/corpus.rs` does. Payloads:
//!   - `document/sim-ooh-report`: the largest report the simulated
//!     out-of-hours service (Medvivo) writes for the demo population (seed
//!     20261101, 1,200 people);
//!   - `document/ccda-transfer-summary`: the largest structured C-CDA
//!     example of the shared corpus (`Documents_Transfer_Summary_Transfer_Summary.xml`);
//!   - `document/ccda-embedded-pdf`: a C-CDA with a base64 PDF as its
//!     non-XML body (`Unstructured_CDA_with_Embedded_PDF_1_Unstructured_Document_embed.xml`);
//!   - `document/corpus-all-documents`: all 51 CDA documents of the shared
//!     corpus (C-CDA examples and FHIR-Converter samples), one after the other;
//! - `registry/sim-document-references`: `registry::read_registry`, what
//!   the adapter runs on the registry's DocumentReference searchset, on the
//!   simulated registry's first page (the demo's `page_size` of 50) for the
//!   person with the most documents.
//!
//! Payload sizes are printed to stderr before the runs.
//!
//!     cargo bench -p icr-adapter-cda --bench parse
//!     cargo bench -p icr-adapter-cda --bench parse -- --warm-up-time 1 --measurement-time 2

/// The allocator the `icr` binary ships with, so that the figures are the
/// gateway's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use icr_adapter_cda::CdaOptions;
use icr_adapter_cda::cda::{self, ReadLimits};
use icr_adapter_cda::map::{Mapped, Origin, check_identity, map_document};
use icr_adapter_cda::registry::{Listed, RegistryContext, read_registry};
use icr_adapter_sdk::SourceSpec;
use icr_model::NhsNumber;
use icr_sim::org::Org;
use icr_sim::{Population, cda as sim_cda};

/// The demo region's population (`config/demo/sim.toml`).
const SEED: u64 = 20261101;
const SIZE: usize = 1200;
/// Where the simulated service is pretended to be (its demo registration's
/// origin).
const ORIGIN: &str = "http://127.0.0.1:9501";

/// One document, and the registry entry that listed it (for a simulated one).
struct Doc {
    bytes: Vec<u8>,
    url: String,
    listed: Option<(NhsNumber, Listed)>,
}

impl Doc {
    /// Reads and maps the document as the source does; `None` when it is
    /// unreadable or refused.
    fn read(&self, limits: &ReadLimits) -> Option<Mapped> {
        let doc = cda::read(&self.bytes, limits).ok()?;
        if let Some((nhs, listed)) = &self.listed {
            check_identity(&doc, *nhs, listed.vouched).ok()?;
        }
        Some(map_document(
            &doc,
            &Origin {
                url: &self.url,
                size: Some(self.bytes.len() as u64),
                listed: self.listed.as_ref().map(|(_, l)| l),
            },
        ))
    }
}

/// The demo registration of the out-of-hours service.
fn registration() -> (SourceSpec, CdaOptions) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../config/demo/sources.d/medvivo.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let spec: SourceSpec = toml::from_str(&text).expect("a valid registration");
    let options: CdaOptions = spec.options().expect("valid options");
    (spec, options)
}

fn bench(c: &mut Criterion) {
    let (spec, options) = registration();
    let limits = ReadLimits {
        max_text_chars: options.max_text_chars,
        ..ReadLimits::default()
    };
    let mut base = spec.endpoint.clone();
    base.set_path(&format!("{}/", spec.endpoint.path().trim_end_matches('/')));
    let org = Org::MEDVIVO;
    let pop = Population::generate(SEED, SIZE);

    // The registry page for the person with the most documents.
    let (reg_person, reg_holding) = pop
        .iter()
        .filter_map(|p| Some((p, p.holding(org)?)))
        .max_by_key(|(_, h)| h.records_of("DocumentReference").count())
        .expect("the out-of-hours service holds someone");
    let query = format!(
        "patient.identifier=https://fhir.nhs.uk/Id/nhs-number|{}&_count={}",
        reg_person.nhs_number.as_str(),
        options.page_size
    );
    let answer = sim_cda::respond(
        &pop,
        &[org],
        "GET",
        &format!("{}/DocumentReference", sim_cda::base_path(org)),
        Some(&query),
        ORIGIN,
    );
    assert_eq!(answer.status, 200, "the simulated registry refused");
    let registry_body = answer.body;
    let origins = icr_adapter_sdk::Origins::new(&base, &[]);
    let registry_ctx = RegistryContext {
        origins: &origins,
        nhs_number: reg_person.nhs_number,
    };

    // The largest report the service writes, with the registry entry that
    // lists it.
    let (person, holding, record, bytes) = pop
        .iter()
        .filter_map(|p| Some((p, p.holding(org)?)))
        .flat_map(|(p, h)| {
            h.records_of("DocumentReference").filter_map(move |r| {
                let xml = sim_cda::document_for(org, p, h, r)?;
                Some((p, h, r, xml.into_bytes()))
            })
        })
        .max_by_key(|(_, _, _, xml)| xml.len())
        .expect("the out-of-hours service writes reports");
    let page = sim_cda::respond(
        &pop,
        &[org],
        "GET",
        &format!("{}/DocumentReference", sim_cda::base_path(org)),
        Some(&format!(
            "patient.identifier=https://fhir.nhs.uk/Id/nhs-number|{}&_count=1000",
            person.nhs_number.as_str()
        )),
        ORIGIN,
    );
    let listed = read_registry(
        &page.body,
        &RegistryContext {
            origins: &icr_adapter_sdk::Origins::new(&base, &[]),
            nhs_number: person.nhs_number,
        },
    )
    .expect("the registry answer reads")
    .listed
    .into_iter()
    .find(|l| l.id.as_deref() == Some(record.id.as_str()))
    .expect("the registry lists the report");
    let sim_doc = Doc {
        bytes,
        url: listed.url.to_string(),
        listed: Some((person.nhs_number, listed)),
    };
    let sim_what = format!(
        "{} of {} reports about that person",
        record.id,
        holding.records_of("DocumentReference").count()
    );

    let mut corpus = icr_testkit::corpus_files("cda/ccda-examples", "xml");
    corpus.extend(icr_testkit::corpus_files("cda/converter-samples", "ccda"));
    let corpus: Vec<(String, Doc)> = corpus
        .into_iter()
        .map(|(name, bytes)| {
            let doc = Doc {
                bytes,
                url: "https://ooh.example.nhs.uk/fhir/Binary/1".into(),
                listed: None,
            };
            (name, doc)
        })
        .collect();
    let named = |name: &str| {
        corpus
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, d)| d)
            .unwrap_or_else(|| panic!("{name} is not in the corpus"))
    };

    let payloads: [(&str, Vec<&Doc>, String); 4] = [
        ("sim-ooh-report", vec![&sim_doc], sim_what),
        (
            "ccda-transfer-summary",
            vec![named("Documents_Transfer_Summary_Transfer_Summary.xml")],
            "C-CDA example".into(),
        ),
        (
            "ccda-embedded-pdf",
            vec![named(
                "Unstructured_CDA_with_Embedded_PDF_1_Unstructured_Document_embed.xml",
            )],
            "C-CDA example, base64 PDF body".into(),
        ),
        (
            "corpus-all-documents",
            corpus.iter().map(|(_, d)| d).collect(),
            "C-CDA examples and FHIR-Converter samples".into(),
        ),
    ];

    let mut group = c.benchmark_group("cda");
    for (id, docs, what) in &payloads {
        let bytes: usize = docs.iter().map(|d| d.bytes.len()).sum();
        // Every document must read, or the figure would be an error path's.
        let mut chars = 0;
        for d in docs {
            let mapped = d.read(&limits).expect("the document reads");
            chars += mapped.document.text.map_or(0, |t| t.chars().count());
        }
        eprintln!(
            "cda/document/{id}: {bytes} bytes in {} document(s), {chars} characters of text ({what})",
            docs.len()
        );
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_function(format!("document/{id}"), |b| {
            b.iter(|| {
                for d in docs {
                    black_box(black_box(d).read(&limits));
                }
            })
        });
    }

    let page = read_registry(&registry_body, &registry_ctx).expect("the registry answer reads");
    eprintln!(
        "cda/registry/sim-document-references: {} bytes, {} documents listed ({} held about that person)",
        registry_body.len(),
        page.listed.len(),
        reg_holding.records_of("DocumentReference").count()
    );
    group.throughput(Throughput::Bytes(registry_body.len() as u64));
    group.bench_function("registry/sim-document-references", |b| {
        b.iter(|| black_box(read_registry(black_box(&registry_body), &registry_ctx).ok()))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

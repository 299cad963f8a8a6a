//! The adapter's round-trip plans (`options.search_plan`) against the
//! simulator's own FHIR R4 server on loopback: every plan reads the same
//! record from the same data, exactly, and each makes the requests it
//! promises, counted by the server.

use std::sync::Arc;
use std::time::Duration;

use icr_adapter_fhir_r4::KIND;
use icr_adapter_sdk::{FetchRequest, Registry, SourceAdapter, SourceError, SourceSpec};
use icr_model::{NhsNumber, SectionSet, SourceRecord};
use icr_sim::fhir::{self, BASE_PATH, FhirSearch};
use icr_sim::{Org, Population};
use icr_testkit::serve::{self, Canned, Scripted};
use tokio::time::Instant;

const PLANS: [&str; 4] = ["batch", "chained", "revinclude", "patient-first"];

/// The simulated server of GWH, taking what `search` lets it.
async fn simulator(pop: Arc<Population>, search: FhirSearch) -> Scripted {
    gated_simulator(pop, search, 0).await
}

/// The simulated server of GWH, holding its answers until `gate` requests
/// have arrived (or four seconds have passed: [`Scripted::late`]).
async fn gated_simulator(pop: Arc<Population>, search: FhirSearch, gate: usize) -> Scripted {
    serve::http_gated(gate, Duration::from_secs(4), move |a| {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&a.query)
            .finish();
        let answer = fhir::serve(
            &pop,
            Org::GWH,
            &format!("{}{BASE_PATH}", a.origin),
            search,
            fhir::Request {
                method: &a.method,
                path: &a.path,
                query: Some(&query),
                body: &a.body,
            },
        );
        Canned::new(answer.status, &answer.content_type, answer.body)
    })
    .await
}

fn spec(server: &Scripted, options: &str) -> SourceSpec {
    toml::from_str(&format!(
        r#"id = "gwh"
organisation = "Great Western Hospitals NHS Foundation Trust"
ods_code = "RN3"
kind = "fhir-r4"
endpoint = "http://{}{BASE_PATH}"
sections = ["demographics", "contacts", "care_team", "medications", "allergies", "conditions",
            "results", "documents", "procedures", "referrals", "appointments", "alerts"]
timeout_ms = 10000
[options]
max_concurrent_searches = 16
{options}
"#,
        server.addr
    ))
    .unwrap()
}

/// The adapter for `spec`, its CapabilityStatement read.
async fn adapter(spec: &SourceSpec) -> Arc<dyn SourceAdapter> {
    let mut registry = Registry::new();
    registry.register(&KIND);
    let adapter = registry.build(spec).unwrap();
    adapter
        .prepare(Instant::now() + Duration::from_secs(5))
        .await;
    adapter
}

fn request(nhs: NhsNumber) -> FetchRequest {
    FetchRequest::system(
        nhs,
        SectionSet::all(),
        Instant::now() + Duration::from_secs(10),
    )
}

/// The requests the server saw, but for the CapabilityStatement, as
/// `METHOD path?query`.
fn requests(server: &Scripted) -> Vec<String> {
    server
        .asked()
        .iter()
        .filter(|a| !a.path.ends_with("/metadata"))
        .map(|a| {
            let query: Vec<String> = a.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("{} {}?{}", a.method, a.path, query.join("&"))
        })
        .collect()
}

/// The GWH patient holding records of the most types.
fn richest(pop: &Population) -> NhsNumber {
    pop.iter()
        .filter_map(|p| p.holding(Org::GWH).map(|h| (p.nhs_number, h)))
        .max_by_key(|(_, h)| {
            fhir::SEARCH_TYPES
                .iter()
                .filter(|t| h.records_of(t).next().is_some())
                .count()
        })
        .map(|(nhs, _)| nhs)
        .unwrap()
}

/// A person GWH does not know.
fn unknown(pop: &Population) -> NhsNumber {
    (999_000_001..)
        .filter_map(NhsNumber::from_first_nine)
        .find(|n| pop.get(n).is_none_or(|p| p.holding(Org::GWH).is_none()))
        .unwrap()
}

/// What each plan read for `nhs`, with `options`, and the requests it
/// made; the bytes received, which differ by plan, left out.
async fn read_by_every_plan(
    pop: &Arc<Population>,
    nhs: NhsNumber,
    options: &str,
) -> Vec<(Result<SourceRecord, SourceError>, Vec<String>)> {
    let mut out = Vec::new();
    for plan in PLANS {
        let server = simulator(Arc::clone(pop), FhirSearch::ALL).await;
        let adapter = adapter(&spec(
            &server,
            &format!("search_plan = \"{plan}\"\n{options}"),
        ))
        .await;
        let read = adapter.fetch(&request(nhs)).await.map(|mut r| {
            r.wire_bytes = 0;
            r
        });
        out.push((read, requests(&server)));
    }
    out
}

#[tokio::test]
async fn every_plan_reads_the_same_record_in_the_round_trips_it_promises() {
    let pop = Arc::new(Population::generate(20261101, 60));
    let nhs = richest(&pop);
    let read = read_by_every_plan(&pop, nhs, "").await;
    let patient_first = read[3].0.clone().unwrap();
    assert!(patient_first.patient.is_some());
    assert!(
        patient_first.items.len() >= 20,
        "{}",
        patient_first.items.len()
    );
    for (plan, (record, _)) in PLANS.iter().zip(&read) {
        assert_eq!(record.as_ref(), Ok(&patient_first), "{plan}");
    }
    // Every type of the twelve sections is searched: sixteen searches.
    let searches = 16;
    let counted: Vec<(&str, usize)> = PLANS
        .iter()
        .zip(&read)
        .map(|(plan, (_, asked))| (*plan, asked.len()))
        .collect();
    assert_eq!(
        counted,
        [
            ("batch", 1),
            ("chained", 1 + searches),
            ("revinclude", 1),
            ("patient-first", 1 + searches),
        ]
    );
    let (batch, chained, revinclude, first) = (&read[0].1, &read[1].1, &read[2].1, &read[3].1);
    assert_eq!(batch[0], format!("POST {BASE_PATH}?"));
    assert!(revinclude[0].starts_with(&format!("GET {BASE_PATH}/Patient?identifier=")));
    assert!(revinclude[0].contains("&_revinclude=Condition:patient&"));
    // Chained: no request needs another's answer, so they go in one wave.
    assert!(chained[0].starts_with(&format!("GET {BASE_PATH}/Patient?identifier=")));
    assert!(
        chained[1..]
            .iter()
            .all(|r| r.contains("?patient.identifier=https://fhir.nhs.uk/Id/nhs-number|")),
        "{chained:?}"
    );
    // Patient first: every search names the Patient's id.
    assert!(
        first[1..].iter().all(|r| r.contains("?patient=")),
        "{first:?}"
    );
}

#[tokio::test]
async fn every_plan_reads_the_same_record_when_searches_are_paged_and_cut_short() {
    let pop = Arc::new(Population::generate(20261101, 60));
    let nhs = richest(&pop);
    for options in ["page_size = 2", "page_size = 2\nmax_pages = 1"] {
        let read = read_by_every_plan(&pop, nhs, options).await;
        let patient_first = read[3].0.clone().unwrap();
        for (plan, (record, _)) in PLANS.iter().zip(&read) {
            assert_eq!(record.as_ref(), Ok(&patient_first), "{plan} with {options}");
        }
        let truncated = patient_first
            .issues
            .iter()
            .filter(|i| i.kind == icr_model::IssueKind::Truncated)
            .count();
        if options.contains("max_pages") {
            assert!(truncated > 0, "{options}");
        }
        // Big records cost more round trips: the next pages of a batch's
        // searches; a revinclude answer bigger than the bounds is read
        // again type by type.
        assert!(read[0].1.len() > 1, "{options}");
        if options.contains("max_pages") {
            assert!(read[2].1.len() > 1, "{options}");
        }
    }
}

#[tokio::test]
async fn no_patient_is_no_record_whatever_the_plan() {
    let pop = Arc::new(Population::generate(20261101, 60));
    let read = read_by_every_plan(&pop, unknown(&pop), "").await;
    for (plan, (record, asked)) in PLANS.iter().zip(&read) {
        assert_eq!(record, &Err(SourceError::PatientNotFound), "{plan}");
        let expected = match *plan {
            "chained" => 17,
            _ => 1,
        };
        assert_eq!(asked.len(), expected, "{plan}");
    }
}

#[tokio::test]
async fn auto_chooses_the_cheapest_plan_the_server_declares() {
    let pop = Arc::new(Population::generate(20261101, 60));
    let nhs = richest(&pop);
    let no_batch = FhirSearch {
        batch: false,
        ..FhirSearch::ALL
    };
    let cases = [
        (FhirSearch::ALL, "", 1, "POST"),
        (no_batch, "chains = true", 17, "GET"),
        (no_batch, "", 1, "GET"),
        (FhirSearch::NONE, "", 17, "GET"),
        (FhirSearch::NONE, "searches = \"all\"", 17, "GET"),
    ];
    for (search, options, requests_made, method) in cases {
        let server = simulator(Arc::clone(&pop), search).await;
        let adapter = adapter(&spec(&server, options)).await;
        let record = adapter.fetch(&request(nhs)).await.unwrap();
        assert!(
            record.issues.iter().all(|i| !i.loses_data()),
            "{:?}",
            record.issues
        );
        let asked = requests(&server);
        assert_eq!(asked.len(), requests_made, "{search:?} {options}");
        assert!(asked[0].starts_with(method), "{search:?} {options}");
        if search == no_batch && options.is_empty() {
            assert!(asked[0].contains("_revinclude"));
        }
    }
}

#[tokio::test]
async fn chained_searches_go_in_one_wave() {
    let pop = Arc::new(Population::generate(20261101, 60));
    let nhs = richest(&pop);
    // The Patient search and sixteen searches: answered only once all
    // seventeen have arrived. Patient first cannot send its searches
    // before the Patient's answer, which is therefore late.
    for (plan, late) in [("chained", 0), ("patient-first", 1)] {
        let server = gated_simulator(Arc::clone(&pop), FhirSearch::ALL, 17).await;
        let spec = spec(
            &server,
            &format!("searches = \"all\"\nsearch_plan = \"{plan}\""),
        );
        let record = adapter(&spec).await.fetch(&request(nhs)).await.unwrap();
        assert!(record.issues.iter().all(|i| !i.loses_data()), "{plan}");
        assert_eq!(requests(&server).len(), 17, "{plan}");
        assert_eq!(server.late(), late, "{plan}");
    }
}

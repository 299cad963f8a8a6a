//! The adapter against the simulated councils (`icr_sim::soap`) over real
//! HTTP: what a council holds comes through as the contract says, an
//! unknown person is `not_found`, and the simulator's shared faults
//! (error rate, latency, down) become the right source statuses.

use std::sync::Arc;
use std::time::Duration;

use icr_adapter_sdk::{FetchRequest, Registry, SourceAdapter, SourceError, SourceSpec};
use icr_adapter_soap_xml::KIND;
use icr_model::*;
use icr_sim::population::Holding;
use icr_sim::protocol::{Module, module};
use icr_sim::{Fault, Kind, Latency, Org, Sim, SimConfig};
use tokio::time::Instant;

const SEED: u64 = 20261101;
const SIZE: usize = 400;
const COUNCILS: [Org; 3] = [
    Org::WILTSHIRE_COUNCIL,
    Org::SWINDON_COUNCIL,
    Org::BANES_COUNCIL,
];

/// The simulator's modules, with the SOAP one whether or not it is
/// registered yet.
fn with_soap(kind: Kind) -> Option<Module> {
    match kind {
        Kind::SoapXml => Some(Module::Http(&icr_sim::soap::Soap)),
        other => module(other),
    }
}

async fn start() -> Sim {
    Sim::start_with(SimConfig::only(SEED, SIZE, &COUNCILS), with_soap)
        .await
        .unwrap()
}

fn adapter(sim: &Sim, org: Org, timeout_ms: u64) -> Arc<dyn SourceAdapter> {
    let spec: SourceSpec = toml::from_str(&format!(
        r#"id = "{id}"
organisation = "{name}"
ods_code = "{ods}"
kind = "soap-xml"
endpoint = "{endpoint}"
sections = ["demographics", "contacts", "care_team", "alerts", "documents", "appointments"]
timeout_ms = {timeout_ms}
"#,
        id = org.id(),
        name = org.name(),
        ods = org.ods_code(),
        endpoint = sim.endpoint(org.id()).unwrap(),
    ))
    .unwrap();
    let mut registry = Registry::new();
    registry.register(&KIND);
    registry.build(&spec).unwrap()
}

fn request(nhs: NhsNumber, within: Duration) -> FetchRequest {
    FetchRequest::system(nhs, SectionSet::all(), Instant::now() + within)
}

/// The ids the adapter must give a holding's records, in the contract's
/// list order.
fn expected_ids(h: &Holding) -> Vec<String> {
    let is_service = |c: &CareTeam| {
        c.participants.is_empty()
            || c.participants
                .iter()
                .any(|m| m.roles.iter().any(|r| r.label() == Some("Care provider")))
    };
    let mut out = Vec::new();
    type List = (&'static str, fn(&Entry) -> bool);
    let lists: [List; 6] = [
        ("Allocation", |e| matches!(e, Entry::CareTeam(_))),
        ("Service", |e| matches!(e, Entry::CareTeam(_))),
        ("Contact", |e| matches!(e, Entry::Contact(_))),
        ("Alert", |e| matches!(e, Entry::Alert(_))),
        ("Document", |e| matches!(e, Entry::Document(_))),
        (
            "Visit",
            |e| matches!(e, Entry::Appointment(a) if a.kind != Some(AppointmentKind::Encounter) && a.start.is_some()),
        ),
    ];
    for (name, keep) in lists {
        for r in h.records.iter().filter(|r| keep(&r.entry)) {
            let wanted = match (&r.entry, name) {
                (Entry::CareTeam(c), "Allocation") => !is_service(c),
                (Entry::CareTeam(c), "Service") => is_service(c),
                _ => true,
            };
            if wanted {
                out.push(format!("{name}/{}", r.id));
            }
        }
    }
    out
}

#[tokio::test]
async fn council_holdings_come_through_the_adapter() {
    let sim = start().await;
    let mut checked = 0;
    for org in COUNCILS {
        let source = adapter(&sim, org, 5000);
        let held: Vec<(NhsNumber, Holding)> = sim
            .population()
            .iter()
            .filter_map(|p| p.holding(org).map(|h| (p.nhs_number, h.clone())))
            .take(3)
            .collect();
        for (nhs, h) in held {
            let record = source
                .fetch(&request(nhs, Duration::from_secs(5)))
                .await
                .unwrap_or_else(|e| panic!("{org} {nhs}: {e}"));
            let patient = record.patient.as_ref().unwrap();
            assert_eq!(patient.demographics.nhs_number, Some(nhs));
            assert_eq!(patient.demographics.names, h.demographics.names);
            assert_eq!(patient.demographics.birth_date, h.demographics.birth_date);
            assert_eq!(patient.demographics.addresses, h.demographics.addresses);
            assert_eq!(patient.demographics.sensitive, h.demographics.sensitive);
            assert_eq!(
                patient.provenance.record.to_string(),
                format!("{}:Person/{}", org.id(), h.patient_id)
            );
            assert_eq!(patient.provenance.last_updated, Some(h.last_updated));
            let ids: Vec<String> = record
                .items
                .iter()
                .map(|i| i.provenance.record.local().to_string())
                .collect();
            assert_eq!(ids, expected_ids(&h), "{org} {nhs}");
            // every record's last update, and its content where the
            // contract carries it whole
            for item in &record.items {
                let (_, id) = item.provenance.record.local().split_once('/').unwrap();
                let held = h.records.iter().find(|r| r.id == id).unwrap();
                assert_eq!(item.provenance.last_updated, Some(held.last_updated));
                match (&item.entry, &held.entry) {
                    (Entry::Contact(got), Entry::Contact(want)) => {
                        assert_eq!(got.name, want.name);
                        assert_eq!(got.telecom, want.telecom);
                        assert_eq!(got.address, want.address);
                        // one concept with several codings comes back as
                        // one concept per coding, relationship first
                        let flat = |v: &[Concept]| -> Vec<Coding> {
                            v.iter().flat_map(|c| c.codings.clone()).collect()
                        };
                        assert_eq!(flat(&got.relationship), flat(&want.relationship));
                    }
                    (Entry::Document(got), Entry::Document(want)) => {
                        assert_eq!(got.doc_type, want.doc_type);
                        assert_eq!(got.title, want.title);
                        assert_eq!(got.date, want.date);
                        assert_eq!(got.authors, want.authors);
                        assert_eq!(got.content[0].url, want.content[0].url);
                    }
                    (Entry::Appointment(got), Entry::Appointment(want)) => {
                        assert_eq!(got.start, want.start);
                        assert_eq!(got.end, want.end);
                        assert_eq!(got.service_type, want.service_type);
                        assert_eq!(got.participants, want.participants);
                        assert_eq!(got.description, want.description);
                        assert_eq!(got.status, want.status);
                    }
                    (Entry::Alert(got), Entry::Alert(want)) => {
                        assert_eq!(got.code, want.code);
                        assert_eq!(got.status, want.status);
                        assert_eq!(got.period_start, want.period_start);
                        assert_eq!(got.author, want.author);
                    }
                    (Entry::CareTeam(got), Entry::CareTeam(want)) => {
                        assert_eq!(got.name, want.name);
                        assert_eq!(got.status, want.status);
                        assert_eq!(got.period_start, want.period_start);
                    }
                    (got, want) => panic!("{got:?} from {want:?}"),
                }
            }
            assert_eq!(record.issues, vec![], "{org} {nhs}");
            checked += 1;
        }
    }
    // The population gives the councils people to hold; when it does, every
    // one checked came through.
    let councils_hold_anyone = sim
        .population()
        .iter()
        .any(|p| COUNCILS.iter().any(|o| p.holding(*o).is_some()));
    assert_eq!(checked > 0, councils_hold_anyone);
    sim.shutdown().await;
}

#[tokio::test]
async fn unknown_people_and_shared_faults_are_statuses() {
    let sim = start().await;
    let org = Org::SWINDON_COUNCIL;
    let stranger = sim
        .population()
        .iter()
        .find(|p| p.holding(org).is_none())
        .map(|p| p.nhs_number)
        .unwrap();
    let source = adapter(&sim, org, 3000);
    let unknown = request(stranger, Duration::from_secs(3));
    assert_eq!(
        source.fetch(&unknown).await,
        Err(SourceError::PatientNotFound)
    );

    // every request failing: the simulator's Server fault
    let failing = Fault {
        error_rate: 1.0,
        ..Fault::default()
    };
    sim.set_fault(org.id(), failing).await.unwrap();
    assert_eq!(
        source
            .fetch(&request(stranger, Duration::from_secs(3)))
            .await,
        Err(SourceError::HttpStatus {
            status: 500,
            what: "GetPersonSummary (SOAP fault Server/InternalError): the source said \"simulated failure (error_rate fault); try again\"".into()
        })
    );

    // slower than the deadline
    let slow = Fault {
        latency_ms: Some(Latency::Fixed(2000)),
        ..Fault::default()
    };
    sim.set_fault(org.id(), slow).await.unwrap();
    let err = source
        .fetch(&request(stranger, Duration::from_millis(300)))
        .await
        .unwrap_err();
    assert!(matches!(err, SourceError::Timeout { .. }), "{err:?}");

    // down: connection refused
    let down = Fault {
        down: true,
        ..Fault::default()
    };
    sim.set_fault(org.id(), down).await.unwrap();
    let err = source
        .fetch(&request(stranger, Duration::from_secs(3)))
        .await
        .unwrap_err();
    assert_eq!(err.status_name(), "unavailable", "{err:?}");
    sim.shutdown().await;
}

//! The FHIR R4 resources the gateway answers with: a record as the pages
//! of a searchset Bundle (`Patient/{nhs}/$everything`), the
//! CapabilityStatement, the SMART configuration, and OperationOutcomes.
//! The HTTP side (routes, paging, negotiation) is [`crate::fhir_api`].
//!
//! A record holds the Patient and every merged item as its R4 resource
//! (search mode `match`), one Provenance per source record behind each item
//! naming the organisation by ODS code (mode `include`, following its
//! match on the same page), and an OperationOutcome (mode `outcome`, on the
//! first page) for every source that did not answer in full, plus one for
//! the view's warnings and conflicts. Full URLs are `urn:uuid:` values
//! derived from the source record ids, so the same item keeps the same id
//! across requests and pages.

use std::collections::HashMap;

use icr_fhir::render::{self, RenderContext};
use icr_fhir::{
    BundleEntry, BundleLink, BundleSearch, CodeableConcept, Coding, Identifier, Meta,
    ODS_ORGANISATION_SYSTEM, Provenance, ProvenanceAgent, ProvenanceEntity, RecordType, Reference,
    Resource,
};
use icr_merge::MergedItem;
use icr_model::time::OffsetDateTime;
use icr_model::time::format_description::well_known::Rfc3339;
use icr_model::{RecordId, Section, SectionSet, SourceId};
use icr_policy::{Shown, Withheld};
use serde::Serialize;
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::fhir_pages::Group;
use icr_model::SourceStatus;

use crate::RecordOutcome;

mod discovery;
mod outcomes;

pub use self::discovery::{TrustedIssuer, capability_statement, smart_configuration};
pub use self::outcomes::{outcome_error, outcome_error_coded, record_not_shown};
use self::outcomes::{source_outcome, warnings_outcome};

/// Namespace of the gateway's name-based (v5) UUIDs.
pub(crate) const NAMESPACE: Uuid = Uuid::from_u128(0x6f1c_2b7e_9a4d_4c1e_8f3a_5d2b_7c9e_0a41);

/// The code system of source statuses in OperationOutcomes.
pub(crate) const STATUS_SYSTEM: &str = "urn:icr:source-status";

pub(crate) fn uuid_for(kind: &str, id: &str) -> Uuid {
    let mut name = String::with_capacity(kind.len() + id.len() + 1);
    name.push_str(kind);
    name.push('/');
    name.push_str(id);
    Uuid::new_v5(&NAMESPACE, name.as_bytes())
}

pub(crate) fn now() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

/// The sections that the FHIR resource types in `_type` live in.
pub fn sections_for_types(types: &[String]) -> Result<SectionSet, String> {
    let mut set = SectionSet::EMPTY;
    for t in types {
        match RecordType::from_name(t) {
            Some(r) => set.insert(r.section()),
            None => {
                let shown: String = t.chars().take(40).collect();
                let served: Vec<&str> = RecordType::ALL.iter().map(|r| r.name()).collect();
                return Err(format!(
                    "_type {shown:?} is not served; served types: {}",
                    served.join(", ")
                ));
            }
        }
    }
    Ok(set)
}

pub(crate) fn search(mode: &str) -> Option<BundleSearch> {
    Some(BundleSearch {
        mode: Some(mode.into()),
    })
}

pub(crate) fn type_allowed(types: Option<&[String]>, name: &str) -> bool {
    types.is_none_or(|t| t.iter().any(|x| x == name))
}

/// A record rendered for its pages: the outcome entries (first page) and
/// every match with its includes, each entry serialised once.
pub struct RenderedRecord {
    /// OperationOutcome entries: sources that did not answer in full, and
    /// the record's warnings.
    pub outcomes: Vec<Box<RawValue>>,
    /// Every match, with its Provenances.
    pub groups: Vec<Group>,
}

/// Renders the record's entries; `types` narrows the resource types (the
/// FHIR `_type` parameter).
pub fn render_record(
    outcome: &RecordOutcome,
    shown: &Shown<'_>,
    types: Option<&[String]>,
    withheld: &Withheld,
) -> Result<RenderedRecord, serde_json::Error> {
    let nhs = outcome.nhs_number.as_str();
    let patient_url = format!("urn:uuid:{}", uuid_for("Patient", nhs));

    // Every source record id of every item maps to the item's full URL, so
    // that references between items (a report's results) resolve.
    let mut urls: HashMap<&RecordId, String> = HashMap::new();
    for item in shown.items() {
        let url = format!("urn:uuid:{}", item_uuid(item));
        for p in &item.provenance {
            urls.insert(&p.record, url.clone());
        }
    }
    let resolve = |id: &RecordId| urls.get(id).cloned();
    // When each source's answer was fetched: a Provenance's `recorded`
    // when the source gives no last-updated time of its own.
    let fetched: HashMap<&SourceId, String> = outcome
        .sources
        .iter()
        .filter_map(|s| Some((&s.source, s.fetched_at?.format(&Rfc3339).ok()?)))
        .collect();
    let ctx = RenderContext {
        patient: &patient_url,
        resolve: &resolve,
    };
    let raw = |e: &BundleEntry| serde_json::value::to_raw_value(e);
    let group = |first: BundleEntry,
                 rest: Vec<BundleEntry>,
                 provenance: &[icr_model::Provenance]|
     -> Result<Group, serde_json::Error> {
        Ok(Group {
            entries: std::iter::once(&first)
                .chain(&rest)
                .map(raw)
                .collect::<Result<_, _>>()?,
            records: provenance.iter().map(|p| p.record.clone()).collect(),
        })
    };

    let mut groups = Vec::new();
    if let Some(p) = shown.patient()
        && outcome.sections.contains(Section::Demographics)
        && type_allowed(types, "Patient")
    {
        let patient = BundleEntry {
            full_url: Some(patient_url.clone()),
            resource: Resource::Patient(render::patient(nhs, outcome.nhs_number, &p.demographics)),
            search: search("match"),
        };
        groups.push(group(
            patient,
            provenances("Patient", &patient_url, &p.provenance, &fetched).collect(),
            &p.provenance,
        )?);
    }
    for item in shown.items() {
        let uuid = item_uuid(item).to_string();
        let resource = render::entry(&item.entry, &uuid, &ctx);
        if !type_allowed(types, resource.type_name()) {
            continue;
        }
        let full_url = format!("urn:uuid:{uuid}");
        let matched = BundleEntry {
            full_url: Some(full_url.clone()),
            resource,
            search: search("match"),
        };
        groups.push(group(
            matched,
            provenances(&uuid, &full_url, &item.provenance, &fetched).collect(),
            &item.provenance,
        )?);
    }
    let mut outcomes = Vec::new();
    for s in &outcome.sources {
        if s.status != SourceStatus::Ok || s.cached {
            outcomes.push(raw(&source_outcome(s))?);
        }
    }
    if let Some(w) = warnings_outcome(outcome, shown, withheld) {
        outcomes.push(raw(&w)?);
    }
    Ok(RenderedRecord { outcomes, groups })
}

/// One page of a record: a searchset Bundle with `total` matches in all,
/// these entries, and these links (`self`, `next`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PageOut<'a> {
    resource_type: &'static str,
    id: String,
    meta: Meta,
    #[serde(rename = "type")]
    type_: &'static str,
    timestamp: &'a str,
    total: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    link: Vec<BundleLink>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    entry: Vec<&'a RawValue>,
}

/// Writes one page: the outcome entries given (the first page's), then the
/// groups given, with `self` and (when there is one) `next` links.
pub fn page_bundle(
    nhs: &str,
    total: u64,
    outcomes: &[Box<RawValue>],
    groups: &[Group],
    self_url: &str,
    next_url: Option<&str>,
) -> Result<Vec<u8>, serde_json::Error> {
    let timestamp = now();
    let entry: Vec<&RawValue> = groups
        .iter()
        .flat_map(|g| &g.entries)
        .chain(outcomes)
        .map(AsRef::as_ref)
        .collect();
    let mut link = vec![BundleLink {
        relation: Some("self".into()),
        url: Some(self_url.into()),
    }];
    link.extend(next_url.map(|n| BundleLink {
        relation: Some("next".into()),
        url: Some(n.into()),
    }));
    let page = PageOut {
        resource_type: "Bundle",
        id: Uuid::new_v5(
            &NAMESPACE,
            format!("bundle/{nhs}/{timestamp}/{self_url}").as_bytes(),
        )
        .to_string(),
        meta: Meta {
            last_updated: Some(timestamp.clone()),
            ..Default::default()
        },
        type_: "searchset",
        timestamp: &timestamp,
        total,
        link,
        entry,
    };
    serde_json::to_vec(&page)
}

pub(crate) fn item_uuid(item: &MergedItem) -> Uuid {
    // The first (smallest) source record id names the merged item.
    uuid_for("item", &item.provenance[0].record.to_string())
}

/// One Provenance per source record behind a resource: the organisation
/// (by ODS code) as custodian, the source's own record id as the entity,
/// and the source's last-updated time as `recorded` — when the source
/// gives none, the time its answer was fetched (`fetched`, by source; for
/// a cached answer, not the time of this request), else the gateway's
/// clock.
pub(crate) fn provenances<'a>(
    key: &'a str,
    target: &'a str,
    provenance: &'a [icr_model::Provenance],
    fetched: &'a HashMap<&SourceId, String>,
) -> impl Iterator<Item = BundleEntry> + 'a {
    provenance.iter().map(move |p| {
        let id = uuid_for("provenance", &format!("{key}/{}", p.record)).to_string();
        let recorded = p
            .last_updated
            .and_then(|t| t.format(&Rfc3339).ok())
            .or_else(|| fetched.get(&p.origin.id).cloned())
            .unwrap_or_else(now);
        BundleEntry {
            full_url: Some(format!("urn:uuid:{id}")),
            resource: Resource::Provenance(Provenance {
                id: Some(id),
                target: vec![Reference {
                    reference: Some(target.to_string()),
                    ..Default::default()
                }],
                recorded: Some(recorded),
                agent: vec![ProvenanceAgent {
                    type_: Some(CodeableConcept {
                        coding: vec![Coding {
                            system: Some(
                                "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
                                    .into(),
                            ),
                            code: Some("custodian".into()),
                            display: Some("Custodian".into()),
                            ..Default::default()
                        }],
                        text: None,
                    }),
                    who: Some(Reference {
                        identifier: Some(Identifier {
                            system: Some(ODS_ORGANISATION_SYSTEM.into()),
                            value: Some(p.origin.ods_code.to_string()),
                            ..Default::default()
                        }),
                        display: Some(p.origin.organisation.clone()),
                        ..Default::default()
                    }),
                    on_behalf_of: None,
                }],
                entity: vec![ProvenanceEntity {
                    role: Some("source".into()),
                    what: Some(Reference {
                        identifier: Some(Identifier {
                            system: Some(format!("urn:icr:source:{}", p.origin.id)),
                            value: Some(p.record.local().to_string()),
                            ..Default::default()
                        }),
                        display: Some(format!("{} ({})", p.record, p.origin.system)),
                        ..Default::default()
                    }),
                }],
                ..Default::default()
            }),
            search: search("include"),
        }
    })
}

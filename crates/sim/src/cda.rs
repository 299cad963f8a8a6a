//! The out-of-hours document service module (kind `cda`): an out-of-hours
//! service's document registry and its HL7 CDA R2 documents, generated
//! from what the population says the service (Medvivo) holds. The gateway
//! reads it with the `cda` adapter.
//!
//! Under `{base}` = `/{ODS code}/fhir/R4` (e.g. `/Y9U01/fhir/R4`):
//!
//! - `GET {base}/DocumentReference?patient.identifier=https://fhir.nhs.uk/Id/nhs-number|{nhs}`
//!   (with `_count`, default 50, at most 200, and `_offset`) answers a
//!   FHIR R4 searchset of DocumentReferences, newest first, each naming the
//!   patient by NHS number and pointing at its document,
//!   `{origin}{base}/Binary/{id}` (`application/hl7-v3+xml`), with
//!   `next` links when more remain. A person the service has never seen
//!   gets `404` with an OperationOutcome `not-found`; a missing or invalid
//!   `patient.identifier`, `400`.
//! - `GET {base}/Binary/{id}` answers the CDA document: an out-of-hours
//!   encounter report with its header (type, title, time, the patient by
//!   NHS number, the author and the service as custodian), the encounter
//!   (`componentOf/encompassingEncounter`: setting, times, clinician,
//!   location) and sections — presenting complaint, history, examination
//!   (a table of observations after a face-to-face contact) and plan (a
//!   numbered list). An unknown id gets `404`.
//!
//! Documents are written by [`write`], through the shared XML writer
//! (`icr-xml`), which escapes every text and attribute value; element
//! names are constants. Everything is
//! deterministic: the same population gives the same bytes. Faults
//! (latency, error rate, down) are the shared ones, applied before
//! [`HttpModule::respond`] is called; errors are OperationOutcomes whose
//! diagnostics never carry patient data.

use icr_model::{
    Appointment, CodeSystem, Coding, Concept, Document, Entry, NhsNumber, PartialDateTime,
};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::fhir::FHIR_JSON;
use crate::org::Org;
use crate::population::{Holding, OrgRecord, Patient, Population};
use crate::protocol::{Answer, HttpModule, HttpRequest, SourceCtx};

/// The media type of a CDA document.
pub const CDA_XML: &str = "application/hl7-v3+xml";

/// The identifier system of NHS numbers, as the registry is searched by.
pub const NHS_NUMBER_SYSTEM: &str = "https://fhir.nhs.uk/Id/nhs-number";

/// The OID of NHS numbers in CDA.
pub use icr_cda::document::NHS_NUMBER_OID;

/// The OID of SDS (ODS) organisation codes in CDA.
pub use icr_cda::writer::ODS_OID;

/// The root of this simulator's own document and patient ids: under the
/// OID HL7 reserves for examples, so no real system's ids are imitated.
pub const LOCAL_ID_ROOT: &str = "2.16.840.1.113883.19.5";

/// Registry page size when the request gives no `_count`.
pub const DEFAULT_COUNT: usize = 50;

/// Largest registry page; a larger `_count` is lowered to this.
pub const MAX_COUNT: usize = 200;

/// Most query parameters a request may have.
pub const MAX_PARAMS: usize = 32;

/// The CDA protocol module.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cda;

impl HttpModule for Cda {
    fn base_path(&self, org: Org) -> String {
        base_path(org)
    }

    fn respond(&self, ctx: &SourceCtx, req: &HttpRequest<'_>) -> Answer {
        respond(
            ctx.population(),
            ctx.orgs(),
            req.method,
            req.path,
            req.query,
            req.origin,
        )
    }

    fn error(&self, status: u16, message: &str) -> Answer {
        let code = match status {
            408 => "timeout",
            413 => "too-costly",
            400..=499 => "invalid",
            _ => "transient",
        };
        outcome(status, code, message)
    }
}

/// Where `org`'s registry and documents live on the listener.
pub fn base_path(org: Org) -> String {
    format!("/{}/fhir/R4", org.ods_code())
}

/// An OperationOutcome answer with one issue. `diagnostics` never contains
/// patient data.
pub fn outcome(status: u16, code: &str, diagnostics: &str) -> Answer {
    json_answer(
        status,
        &json!({
            "resourceType": "OperationOutcome",
            "issue": [{
                "severity": if status >= 500 { "fatal" } else { "error" },
                "code": code,
                "diagnostics": diagnostics,
            }]
        }),
    )
}

fn json_answer(status: u16, value: &Value) -> Answer {
    match serde_json::to_vec(value) {
        Ok(body) => Answer::new(status, FHIR_JSON, body),
        Err(_) => Answer::new(
            500,
            FHIR_JSON,
            br#"{"resourceType":"OperationOutcome","issue":[{"severity":"fatal","code":"exception","diagnostics":"could not write the answer"}]}"#.to_vec(),
        ),
    }
}

/// Answers one request (pure) for the organisations `orgs` a listener
/// serves. `origin` is `http://host:port` as the client addressed it.
pub fn respond(
    pop: &Population,
    orgs: &[Org],
    method: &str,
    path: &str,
    query: Option<&str>,
    origin: &str,
) -> Answer {
    let found = orgs.iter().find_map(|o| {
        let base = base_path(*o);
        path.strip_prefix(base.as_str())
            .filter(|rest| rest.starts_with('/'))
            .map(|rest| (*o, base, rest))
    });
    let Some((org, base, rest)) = found else {
        return outcome(
            404,
            "not-found",
            "unknown path; this server answers {base}/DocumentReference?patient.identifier=... and {base}/Binary/{id}, with {base} = /{ODS code}/fhir/R4",
        );
    };
    let known = rest == "/DocumentReference" || rest.starts_with("/Binary/");
    if !known {
        return outcome(
            404,
            "not-found",
            &format!(
                "unknown path; this server answers {base}/DocumentReference and {base}/Binary/{{id}}"
            ),
        );
    }
    if method != "GET" {
        return outcome(
            405,
            "not-supported",
            "this simulated server only answers GET",
        );
    }
    let link_base = format!("{origin}{base}");
    match rest.strip_prefix("/Binary/") {
        Some(id) => binary(pop, org, id),
        None => registry(pop, org, &link_base, query.unwrap_or("")),
    }
}

/// The query parameters, decoded and bounded.
fn params(query: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        if out.len() == MAX_PARAMS {
            return Err(format!("too many query parameters (at most {MAX_PARAMS})"));
        }
        out.push((k.into_owned(), v.into_owned()));
    }
    Ok(out)
}

/// The one value of `name`; an error if it is given twice.
fn one<'a>(params: &'a [(String, String)], name: &str) -> Result<Option<&'a str>, String> {
    let mut found = params.iter().filter(|(k, _)| k == name).map(|(_, v)| v);
    let first = found.next();
    if found.next().is_some() {
        return Err(format!("{name} is given more than once"));
    }
    Ok(first.map(String::as_str))
}

fn encode(v: &str) -> String {
    url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

/// The registry search.
fn registry(pop: &Population, org: Org, link_base: &str, query: &str) -> Answer {
    let params = match params(query) {
        Ok(p) => p,
        Err(m) => return outcome(400, "invalid", &m),
    };
    let identifier = match one(&params, "patient.identifier") {
        Ok(Some(v)) => v,
        Ok(None) => {
            return outcome(
                400,
                "required",
                &format!(
                    "DocumentReference search needs patient.identifier={NHS_NUMBER_SYSTEM}|{{NHS number}}"
                ),
            );
        }
        Err(m) => return outcome(400, "invalid", &m),
    };
    let (system, value) = match identifier.split_once('|') {
        Some((s, v)) => (Some(s), v),
        None => (None, identifier),
    };
    if system.is_some_and(|s| !s.is_empty() && s != NHS_NUMBER_SYSTEM) {
        return outcome(
            400,
            "invalid",
            &format!("patients are searched by {NHS_NUMBER_SYSTEM} only"),
        );
    }
    let Ok(nhs) = NhsNumber::parse(value) else {
        return outcome(
            400,
            "invalid",
            "patient.identifier is not an NHS number: expected 10 digits with a valid check digit",
        );
    };
    let count = match one(&params, "_count") {
        Ok(None) => DEFAULT_COUNT,
        Ok(Some(v)) => match v.parse::<usize>() {
            Ok(n) if n > 0 => n.min(MAX_COUNT),
            _ => {
                return outcome(
                    400,
                    "invalid",
                    &format!("_count must be a whole number from 1 to {MAX_COUNT}"),
                );
            }
        },
        Err(m) => return outcome(400, "invalid", &m),
    };
    let offset = match one(&params, "_offset") {
        Ok(None) => 0,
        Ok(Some(v)) => match v.parse::<usize>() {
            Ok(n) => n,
            Err(_) => return outcome(400, "invalid", "_offset must be a whole number, 0 or more"),
        },
        Err(m) => return outcome(400, "invalid", &m),
    };
    let Some((patient, holding)) = pop.get(&nhs).and_then(|p| p.holding(org).map(|h| (p, h)))
    else {
        return outcome(
            404,
            "not-found",
            "this service holds no record of the patient",
        );
    };
    let mut documents: Vec<&OrgRecord> = holding.records_of("DocumentReference").collect();
    documents.sort_by(|a, b| doc_date(b).cmp(&doc_date(a)).then(a.id.cmp(&b.id)));
    let total = documents.len();
    let entries: Vec<Value> = documents
        .iter()
        .skip(offset)
        .take(count)
        .filter_map(|r| document_reference(org, patient, holding, r, link_base))
        .collect();
    let search = format!(
        "{link_base}/DocumentReference?patient.identifier={}",
        encode(identifier)
    );
    let link = |relation: &str, at: usize| json!({"relation": relation, "url": format!("{search}&_count={count}&_offset={at}")});
    let mut links = vec![link("self", offset)];
    if offset.saturating_add(count) < total {
        links.push(link("next", offset + count));
    }
    json_answer(
        200,
        &json!({
            "resourceType": "Bundle",
            "type": "searchset",
            "total": total,
            "link": links,
            "entry": entries,
        }),
    )
}

fn doc_date(r: &OrgRecord) -> Option<PartialDateTime> {
    match &r.entry {
        Entry::Document(d) => d.date,
        _ => None,
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    PartialDateTime::DateTime(t).to_string()
}

/// One registry entry: the document's metadata and where it is.
fn document_reference(
    org: Org,
    patient: &Patient,
    holding: &Holding,
    r: &OrgRecord,
    link_base: &str,
) -> Option<Value> {
    let Entry::Document(d) = &r.entry else {
        return None;
    };
    let size = document_for(org, patient, holding, r).map(|x| x.len());
    let url = format!("{link_base}/Binary/{}", r.id);
    let codings: Vec<Value> = d
        .doc_type
        .codings
        .iter()
        .map(|c| json!({"system": c.system.uri(), "code": c.code, "display": c.display}))
        .collect();
    Some(json!({
        "fullUrl": format!("{link_base}/DocumentReference/{}", r.id),
        "search": {"mode": "match"},
        "resource": {
            "resourceType": "DocumentReference",
            "id": r.id,
            "meta": {"lastUpdated": rfc3339(r.last_updated)},
            "status": "current",
            "type": {"coding": codings},
            "subject": {"identifier": {"system": NHS_NUMBER_SYSTEM, "value": patient.nhs_number.as_str()}},
            "date": d.date.map(|x| x.to_string()),
            "author": d.authors.iter().map(|a| json!({"display": a})).collect::<Vec<_>>(),
            "custodian": {"identifier": {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": org.ods_code()}, "display": org.name()},
            "description": d.title,
            "content": [{
                "attachment": {"contentType": CDA_XML, "url": url, "size": size, "title": d.title},
                "format": {"system": "https://fhir.nhs.uk/England/CodeSystem/England-NRLFormatCode", "code": "urn:nhs-ic:unstructured", "display": "Unstructured Document"}
            }]
        }
    }))
}

/// A document by id.
fn binary(pop: &Population, org: Org, id: &str) -> Answer {
    let valid = (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if !valid {
        return outcome(
            400,
            "invalid",
            "a Binary id is 1 to 64 letters, digits, '-' or '.'",
        );
    }
    let found = pop.iter().find_map(|p| {
        let h = p.holding(org)?;
        let r = h.record("DocumentReference", id)?;
        document_for(org, p, h, r)
    });
    match found {
        Some(xml) => Answer::new(200, CDA_XML, xml.into_bytes()),
        None => outcome(404, "not-found", "no document with this id"),
    }
}

/// The CDA document for one of `org`'s document records about `patient`.
pub fn document_for(
    org: Org,
    patient: &Patient,
    holding: &Holding,
    r: &OrgRecord,
) -> Option<String> {
    let Entry::Document(document) = &r.entry else {
        return None;
    };
    let encounter = encounter_for(holding, document);
    let sections = sections(patient, encounter, &r.id);
    let root = local_id_root(org);
    Some(write(&Report {
        organisation: organisation(org, &root),
        id: &r.id,
        nhs_number: patient.nhs_number,
        demographics: &holding.demographics,
        document,
        encounter,
        sections: &sections,
    }))
}

/// The encounter a report is about: the holding's latest encounter that
/// began before the report was written.
pub fn encounter_for<'a>(holding: &'a Holding, document: &Document) -> Option<&'a Appointment> {
    let written = document.date?;
    holding
        .records
        .iter()
        .filter_map(|r| match &r.entry {
            Entry::Appointment(a) if a.start.is_some_and(|s| s <= written) => Some(a),
            _ => None,
        })
        .max_by_key(|a| a.start)
}

/// A small deterministic hash of a record id, for variety without state.
fn hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn loinc(code: &str, display: &str) -> Option<Coding> {
    Some(Coding::new(CodeSystem::Loinc, code, display))
}

/// The sections of an out-of-hours report: what the person called about,
/// their history as the summary record gives it, what was found and the
/// plan.
pub fn sections(
    patient: &Patient,
    encounter: Option<&Appointment>,
    id: &str,
) -> Vec<ReportSection> {
    let h = hash(id);
    let setting = encounter
        .and_then(|e| e.class.as_ref())
        .and_then(|c| c.codings.first())
        .map(|c| c.code.as_str());
    let reason = encounter
        .and_then(|e| e.reasons.first())
        .and_then(Concept::label);
    let complaint = match reason {
        Some(r) => format!("Contacted the out-of-hours service about {r}."),
        None => "Contacted the out-of-hours service for advice.".to_string(),
    };
    let how = match setting {
        Some("VR") => "Telephone assessment by the clinical assessment service.",
        Some("HH") => "Home visit.",
        _ => "Seen at the out-of-hours base.",
    };
    let conditions: Vec<String> = patient
        .truth
        .conditions
        .iter()
        .filter(|c| c.abatement.is_none())
        .filter_map(|c| c.code.label().map(str::to_string))
        .collect();
    let allergies: Vec<String> = patient
        .truth
        .allergies
        .iter()
        .filter_map(|a| a.code.label().map(str::to_string))
        .collect();
    let mut history = vec![Block::Paragraph("Summary Care Record reviewed.".into())];
    if conditions.is_empty() {
        history.push(Block::Paragraph("No long-term conditions recorded.".into()));
    } else {
        history.push(Block::Paragraph("Long-term conditions:".into()));
        history.push(Block::List {
            ordered: false,
            items: conditions,
        });
    }
    history.push(Block::Paragraph(if allergies.is_empty() {
        "No known allergies.".to_string()
    } else {
        format!("Allergies: {}.", allergies.join(", "))
    }));
    let examination = if setting == Some("VR") {
        vec![Block::Paragraph(
            "Not examined: telephone assessment.".into(),
        )]
    } else {
        let temperature = 365 + (h % 20) as u32;
        let pulse = 64 + (h / 20 % 40) as u32;
        let respiration = 12 + (h / 800 % 10) as u32;
        let saturation = 94 + (h / 8000 % 6) as u32;
        vec![
            Block::Table {
                head: vec!["Observation".into(), "Value".into()],
                rows: vec![
                    vec![
                        "Temperature".into(),
                        format!("{}.{} \u{b0}C", temperature / 10, temperature % 10),
                    ],
                    vec!["Pulse".into(), format!("{pulse} beats/min")],
                    vec![
                        "Respiratory rate".into(),
                        format!("{respiration} breaths/min"),
                    ],
                    vec!["Oxygen saturation".into(), format!("{saturation} % on air")],
                ],
            },
            Block::Paragraph("Alert, comfortable at rest.".into()),
        ]
    };
    let practice = patient
        .registered_practice()
        .map(|o| o.name())
        .unwrap_or("the registered GP practice");
    let plan = vec![Block::List {
        ordered: true,
        items: vec![
            "Advice given; the patient and carers understood it.".into(),
            "Safety netting: call 111, or 999 in an emergency, if symptoms worsen.".into(),
            format!("Report sent to {practice} for follow-up if not improving."),
        ],
    }];
    vec![
        ReportSection {
            code: loinc("10154-3", "Chief complaint"),
            title: "Presenting complaint".into(),
            blocks: vec![Block::Paragraph(complaint), Block::Paragraph(how.into())],
        },
        ReportSection {
            code: loinc("10164-2", "History of present illness"),
            title: "History".into(),
            blocks: history,
        },
        ReportSection {
            code: loinc("29545-1", "Physical findings"),
            title: "Examination".into(),
            blocks: examination,
        },
        ReportSection {
            code: loinc("18776-5", "Plan of care"),
            title: "Plan".into(),
            blocks: plan,
        },
    ]
}

pub use icr_cda::writer::{Block, Report, ReportSection, code_system_oid, ts, write};

/// The OID a simulated organisation issues its local document ids under
/// (`id/@root`), for [`organisation`].
pub fn local_id_root(org: Org) -> String {
    format!("{LOCAL_ID_ROOT}.{}", org_number(org))
}

/// A simulated organisation as the CDA writer names it (author
/// organisation and custodian); `local_id_root` is [`local_id_root`]'s.
pub fn organisation(org: Org, local_id_root: &str) -> icr_cda::writer::Organisation<'_> {
    icr_cda::writer::Organisation {
        ods_code: org.ods_code(),
        name: org.name(),
        local_id_root,
    }
}

/// The organisation's position in the table, as an OID arc.
fn org_number(org: Org) -> usize {
    Org::ALL.iter().position(|o| *o == org).unwrap_or(0) + 1
}

#[cfg(test)]
mod tests {
    use std::sync::LazyLock;

    use proptest::prelude::*;

    use super::*;
    use crate::{Fault, Sim, SimConfig};
    use icr_model::{Demographics, HumanName};

    const SEED: u64 = 20261101;
    const SIZE: usize = 300;

    static POP: LazyLock<Population> = LazyLock::new(|| Population::generate(SEED, SIZE));

    const ORIGIN: &str = "http://127.0.0.1:9501";

    fn held() -> Vec<&'static Patient> {
        POP.iter()
            .filter(|p| p.holding(Org::MEDVIVO).is_some())
            .collect()
    }

    fn get(path: &str, query: Option<&str>) -> Answer {
        respond(&POP, &[Org::MEDVIVO], "GET", path, query, ORIGIN)
    }

    fn search(nhs: &str, extra: &str) -> Answer {
        let q = format!(
            "patient.identifier={}{extra}",
            encode(&format!("{NHS_NUMBER_SYSTEM}|{nhs}"))
        );
        get("/Y9U01/fhir/R4/DocumentReference", Some(&q))
    }

    fn body(a: &Answer) -> Value {
        serde_json::from_slice(&a.body).unwrap()
    }

    #[test]
    fn the_registry_lists_each_document_with_its_url() {
        let patients = held();
        assert!(patients.len() > 10, "{}", patients.len());
        for p in patients.iter().take(20) {
            let h = p.holding(Org::MEDVIVO).unwrap();
            let docs = h.records_of("DocumentReference").count();
            assert!(docs >= 1);
            let a = search(p.nhs_number.as_str(), "");
            assert_eq!((a.status, a.content_type.as_str()), (200, FHIR_JSON));
            let b = body(&a);
            assert_eq!(b["resourceType"], "Bundle");
            assert_eq!(b["total"], docs);
            let entries = b["entry"].as_array().unwrap();
            assert_eq!(entries.len(), docs);
            let mut last: Option<String> = None;
            for e in entries {
                let r = &e["resource"];
                assert_eq!(r["status"], "current");
                assert_eq!(r["subject"]["identifier"]["value"], p.nhs_number.as_str());
                let id = r["id"].as_str().unwrap();
                let att = &r["content"][0]["attachment"];
                assert_eq!(att["contentType"], CDA_XML);
                assert_eq!(att["url"], format!("{ORIGIN}/Y9U01/fhir/R4/Binary/{id}"));
                // the size given is the document's
                let doc = get(&format!("/Y9U01/fhir/R4/Binary/{id}"), None);
                assert_eq!(doc.status, 200);
                assert_eq!(doc.content_type, CDA_XML);
                assert_eq!(att["size"], doc.body.len());
                // newest first
                let date = r["date"].as_str().unwrap().to_string();
                if let Some(l) = &last {
                    assert!(*l >= date, "{l} < {date}");
                }
                last = Some(date);
            }
        }
    }

    #[test]
    fn registry_pages_and_refusals() {
        let p = held()
            .into_iter()
            .find(|p| {
                p.holding(Org::MEDVIVO)
                    .unwrap()
                    .records_of("DocumentReference")
                    .count()
                    >= 2
            })
            .unwrap();
        let first = body(&search(p.nhs_number.as_str(), "&_count=1"));
        assert_eq!(first["entry"].as_array().unwrap().len(), 1);
        let next = first["link"][1]["url"].as_str().unwrap();
        assert_eq!(first["link"][1]["relation"], "next");
        assert!(next.starts_with(&format!("{ORIGIN}/Y9U01/fhir/R4/DocumentReference?")));
        let query = next.split_once('?').unwrap().1;
        let second = body(&get("/Y9U01/fhir/R4/DocumentReference", Some(query)));
        assert_ne!(
            second["entry"][0]["resource"]["id"],
            first["entry"][0]["resource"]["id"]
        );

        // a person the service has never seen
        let unknown = POP
            .iter()
            .find(|p| p.holding(Org::MEDVIVO).is_none())
            .unwrap();
        let a = search(unknown.nhs_number.as_str(), "");
        assert_eq!(a.status, 404);
        assert_eq!(body(&a)["issue"][0]["code"], "not-found");
        // bad requests
        assert_eq!(search("9990000019", "").status, 400);
        assert_eq!(get("/Y9U01/fhir/R4/DocumentReference", None).status, 400);
        assert_eq!(search(p.nhs_number.as_str(), "&_count=0").status, 400);
        assert_eq!(get("/Y9U01/fhir/R4/Binary/nope", None).status, 404);
        assert_eq!(get("/Y9U01/fhir/R4/Binary/a%20b", None).status, 400);
        assert_eq!(get("/Y9U01/fhir/R4/Patient", None).status, 404);
        assert_eq!(get("/RN3/fhir/R4/DocumentReference", None).status, 404);
        assert_eq!(
            respond(
                &POP,
                &[Org::MEDVIVO],
                "POST",
                "/Y9U01/fhir/R4/Binary/x",
                None,
                ORIGIN
            )
            .status,
            405
        );
        // no diagnostics carry the number asked for
        for a in [
            search(unknown.nhs_number.as_str(), ""),
            search("9990000019", ""),
        ] {
            let text = String::from_utf8(a.body).unwrap();
            assert!(
                !text.contains(unknown.nhs_number.as_str()) && !text.contains("9990000019"),
                "{text}"
            );
        }
    }

    #[test]
    fn documents_are_out_of_hours_reports() {
        let p = held()[0];
        let h = p.holding(Org::MEDVIVO).unwrap();
        let r = h.records_of("DocumentReference").next().unwrap();
        let xml = document_for(Org::MEDVIVO, p, h, r).unwrap();
        assert!(xml.starts_with(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ClinicalDocument xmlns=\"urn:hl7-org:v3\""
        ));
        for part in [
            format!("<id root=\"{NHS_NUMBER_OID}\" extension=\"{}\"/>", p.nhs_number),
            "<code code=\"371531000\" codeSystem=\"2.16.840.1.113883.2.1.3.2.4.15\" displayName=\"Report of clinical encounter\"/>".to_string(),
            "<title>Out-of-hours consultation report</title>".to_string(),
            format!("<id root=\"{ODS_OID}\" extension=\"Y9U01\"/>"),
            "<encompassingEncounter>".to_string(),
            "codeSystem=\"2.16.840.1.113883.5.4\"".to_string(),
            "<title>Presenting complaint</title>".to_string(),
            "<title>History</title>".to_string(),
            "<title>Examination</title>".to_string(),
            "<title>Plan</title>".to_string(),
            "<list listType=\"ordered\">".to_string(),
        ] {
            assert!(xml.contains(&part), "{part} not in\n{xml}");
        }
        // deterministic
        assert_eq!(document_for(Org::MEDVIVO, p, h, r).unwrap(), xml);
    }

    #[test]
    fn values_are_escaped() {
        let demographics = Demographics {
            names: vec![HumanName {
                given: vec!["A<l>\"ex\"".into()],
                family: Some("O'Brien & Sons".into()),
                ..Default::default()
            }],
            ..Default::default()
        };
        let document = Document {
            doc_type: Concept::coded(Coding::new(CodeSystem::Snomed, "1\"2", "x<y")),
            title: Some("</title><script>alert(1)</script>".into()),
            authors: vec!["Dr \u{1} Null\u{0}".into()],
            ..Default::default()
        };
        let sections = [ReportSection {
            code: None,
            title: "T]]>".into(),
            blocks: vec![Block::Paragraph("a & b < c > d".into())],
        }];
        let root = local_id_root(Org::MEDVIVO);
        let xml = write(&Report {
            organisation: organisation(Org::MEDVIVO, &root),
            id: "x\"y",
            nhs_number: NhsNumber::from_first_nine(999_000_001).unwrap(),
            demographics: &demographics,
            document: &document,
            encounter: None,
            sections: &sections,
        });
        assert!(
            xml.contains("<title>&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;</title>"),
            "{xml}"
        );
        assert!(xml.contains("<given>A&lt;l&gt;\"ex\"</given>"));
        assert!(xml.contains("<family>O'Brien &amp; Sons</family>"));
        assert!(xml.contains(
            "code=\"1&quot;2\" codeSystem=\"2.16.840.1.113883.2.1.3.2.4.15\" displayName=\"x&lt;y\""
        ));
        assert!(xml.contains("extension=\"x&quot;y\""));
        assert!(xml.contains("<name>Dr  Null</name>"));
        assert!(xml.contains("<paragraph>a &amp; b &lt; c &gt; d</paragraph>"));
        assert!(!xml.contains('\u{0}') && !xml.contains('\u{1}'));
    }

    #[test]
    fn timestamps() {
        let p = |s: &str| ts(&PartialDateTime::parse(s).unwrap());
        assert_eq!(p("2024"), "2024");
        assert_eq!(p("2024-03"), "202403");
        assert_eq!(p("2024-03-05"), "20240305");
        assert_eq!(p("2024-03-05T21:40:09Z"), "20240305214009+0000");
        assert_eq!(p("2024-03-05T21:40:09-05:30"), "20240305214009-0530");
    }

    #[tokio::test]
    async fn served_over_http_with_faults() {
        let sim = Sim::start(SimConfig::only(SEED, SIZE, &[Org::MEDVIVO]))
            .await
            .unwrap();
        let endpoint = sim.endpoint("medvivo").unwrap();
        assert!(endpoint.ends_with("/Y9U01/fhir/R4"), "{endpoint}");
        let client = reqwest::Client::new();
        let p = held()[0];
        let url = format!(
            "{endpoint}/DocumentReference?patient.identifier={}",
            encode(&format!("{NHS_NUMBER_SYSTEM}|{}", p.nhs_number))
        );
        let r = client.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["cache-control"], "no-store");
        let b: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
        let doc_url = b["entry"][0]["resource"]["content"][0]["attachment"]["url"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(doc_url.starts_with(&endpoint), "{doc_url}");
        let d = client.get(&doc_url).send().await.unwrap();
        assert_eq!(d.status(), 200);
        assert_eq!(d.headers()["content-type"], CDA_XML);
        assert!(d.text().await.unwrap().contains("<ClinicalDocument"));

        // every request fails
        sim.set_fault(
            "medvivo",
            Fault {
                error_rate: 1.0,
                ..Fault::default()
            },
        )
        .await
        .unwrap();
        let r = client.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 500);
        let b: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
        assert_eq!(b["resourceType"], "OperationOutcome");
        // down: the connection is refused
        sim.set_fault(
            "medvivo",
            Fault {
                down: true,
                ..Fault::default()
            },
        )
        .await
        .unwrap();
        assert!(client.get(&url).send().await.is_err());
        // back
        sim.set_fault("medvivo", Fault::default()).await.unwrap();
        assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
        // latency
        sim.set_fault(
            "medvivo",
            Fault {
                latency_ms: Some(crate::Latency::Fixed(300)),
                ..Fault::default()
            },
        )
        .await
        .unwrap();
        let started = std::time::Instant::now();
        assert_eq!(client.get(&doc_url).send().await.unwrap().status(), 200);
        assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    }

    proptest! {
        #[test]
        fn respond_never_panics(
            method in prop::sample::select(vec!["GET", "POST", "DELETE"]),
            path in "(/Y9U01/fhir/R4)?(/DocumentReference|/Binary/[a-z0-9.%-]{0,70}|/[ -~]{0,20})",
            query in proptest::option::of("[ -~]{0,120}"),
        ) {
            let a = respond(&POP, &[Org::MEDVIVO], method, &path, query.as_deref(), ORIGIN);
            prop_assert!([200, 400, 404, 405].contains(&a.status), "{}", a.status);
        }
    }
}

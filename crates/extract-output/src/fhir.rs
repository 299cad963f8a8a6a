//! A pseudonymised record as FHIR R4 resources, one per item plus the
//! Patient, for the FHIR Bulk Data style NDJSON files (pure).
//!
//! Every resource's `id` is a pseudonym (the Patient's the person's, an
//! item's its first source record's), every reference to the person is
//! `Patient/<person pseudonym>`, and each source holding the item is an
//! `identifier`: system `urn:icr:source:<source id>`, value the record's
//! pseudonym, assigner the holder's ODS code. Nothing else identifies
//! anyone: the input has no names, addresses or free text to write.
//!
//! Elements R4 requires are always written; where the record has no value
//! the value that claims least is used, as the gateway's own renderer does
//! (`crates/fhir/src/render.rs`): a status `unknown` where its value set
//! has one, a CodeableConcept or Coding the `data-absent-reason#unknown`
//! coding, a document's content an attachment marked
//! `data-absent-reason#masked` (the extract never carries content).

use icr_fhir::ODS_ORGANISATION_SYSTEM;
use icr_fhir::from_model::{date, date_time, instant};
use icr_fhir::render::{
    ALLERGY_CLINICAL_SYSTEM, ALLERGY_VERIFICATION_SYSTEM, CONDITION_CLINICAL_SYSTEM,
    CONDITION_VERIFICATION_SYSTEM, DATA_ABSENT_REASON_EXTENSION, DATA_ABSENT_REASON_SYSTEM,
    UCUM_SYSTEM,
};
use icr_model::{
    AppointmentKind, AppointmentStatus, MedicationKind, MedicationStatus, PartialDateTime,
    ProcedureStatus, ResultKind, ResultStatus,
};
use icr_pseudonymise::PseudonymisedRecord;
use icr_pseudonymise::transform::{
    AlertItem, AllergyItem, AppointmentItem, CareTeamItem, Code, ConditionItem, ContactItem,
    DocumentItem, MedicationItem, PseudoEntry, PseudoItem, Range, ReferralItem, ResultItem, Value,
};
use serde_json::{Map, Value as Json, json};
use sha2::{Digest, Sha256};

/// The FHIR resource types the extract writes, one NDJSON file each
/// (`fhir/<type>.ndjson`), in the order the files are listed.
pub const RESOURCE_TYPES: [&str; 17] = [
    "Patient",
    "AllergyIntolerance",
    "Appointment",
    "CarePlan",
    "CareTeam",
    "Condition",
    "DiagnosticReport",
    "DocumentReference",
    "Encounter",
    "Flag",
    "Immunization",
    "MedicationRequest",
    "MedicationStatement",
    "Observation",
    "Procedure",
    "RelatedPerson",
    "ServiceRequest",
];

/// The tag on an item whose sources' copies differ in some field.
pub const SOURCES_DIFFER_TAG: &str = "urn:icr:extract:sources-differ";

/// The extension on a Patient giving the age band on the extract's date,
/// when the specification generalises the date of birth to one (`0-4` …
/// `85-89`, `90+`).
pub const AGE_BAND_EXTENSION: &str = "urn:icr:extract:age-band";

/// The identifier system of a source's records: this prefix and the source id.
pub const SOURCE_SYSTEM_PREFIX: &str = "urn:icr:source:";

/// Every resource of one record, in the record's order: the Patient first.
/// Made one at a time, so a large record is never held whole as JSON.
pub fn resources(r: &PseudonymisedRecord) -> impl Iterator<Item = Json> + '_ {
    let patient_ref = format!("Patient/{}", r.person.person_id);
    std::iter::once(patient(r)).chain(
        r.items
            .iter()
            .enumerate()
            .map(move |(i, item)| item_resource(r, &patient_ref, i, item)),
    )
}

/// The resource type of a resource built here.
pub fn resource_type(resource: &Json) -> &str {
    resource["resourceType"].as_str().unwrap_or_default()
}

fn patient(r: &PseudonymisedRecord) -> Json {
    let p = &r.person;
    let mut o = obj([
        ("resourceType", json!("Patient")),
        ("id", json!(p.person_id.as_str())),
    ]);
    put(&mut o, "gender", p.gender.map(|g| json!(g.as_code())));
    if let Some(band) = p.age_band {
        o.insert(
            "extension".into(),
            json!([{ "url": AGE_BAND_EXTENSION, "valueString": band.to_string() }]),
        );
    }
    if let Some(y) = p.year_of_birth {
        let birth = match p.month_of_birth.and_then(month) {
            Some(m) => PartialDateTime::YearMonth(y, m),
            None => PartialDateTime::Year(y),
        };
        put(&mut o, "birthDate", date(&birth).map(Json::from));
    }
    let death = p
        .year_of_death
        .map(|y| match p.month_of_death.and_then(month) {
            Some(m) => PartialDateTime::YearMonth(y, m),
            None => PartialDateTime::Year(y),
        });
    match death.as_ref().and_then(date) {
        Some(d) => put(&mut o, "deceasedDateTime", Some(json!(d))),
        None if p.deceased => put(&mut o, "deceasedBoolean", Some(json!(true))),
        None => {}
    }
    let mut address = Map::new();
    put(
        &mut address,
        "postalCode",
        p.postcode_district.as_ref().map(|d| json!(d)),
    );
    put(&mut address, "district", p.area.as_ref().map(|a| json!(a)));
    if !address.is_empty() {
        o.insert("address".into(), json!([address]));
    }
    if let Some(ods) = &p.registered_practice {
        o.insert(
            "generalPractitioner".into(),
            json!([{ "type": "Organization", "identifier": ods_identifier(ods.as_str()) }]),
        );
    }
    Json::Object(o)
}

fn month(m: u8) -> Option<icr_model::time::Month> {
    icr_model::time::Month::try_from(m).ok()
}

/// The id of an item's resource: its first source record's pseudonym, or
/// (an item with no source) a digest of the person's and its position.
pub fn item_id(r: &PseudonymisedRecord, index: usize, item: &PseudoItem) -> String {
    match item.sources.first() {
        Some(s) => s.record_id.to_string(),
        None => {
            let mut d = Sha256::new();
            d.update(r.person.person_id.as_str());
            d.update(b"/");
            d.update(index.to_string());
            hex::encode(d.finalize())
        }
    }
}

fn item_resource(r: &PseudonymisedRecord, patient_ref: &str, i: usize, item: &PseudoItem) -> Json {
    let subject = json!({ "reference": patient_ref });
    let (ty, mut o) = match &item.entry {
        PseudoEntry::Contacts(c) => ("RelatedPerson", contact(c, subject)),
        PseudoEntry::CareTeam(c) => ("CareTeam", care_team(c, subject)),
        PseudoEntry::Medications(m) => medication(m, subject),
        PseudoEntry::Allergies(a) => ("AllergyIntolerance", allergy(a, subject)),
        PseudoEntry::Conditions(c) => ("Condition", condition(c, subject)),
        PseudoEntry::Results(res) => result(res, subject),
        PseudoEntry::Documents(d) => document(d, subject),
        PseudoEntry::Procedures(p) if p.immunisation => ("Immunization", immunisation(p, subject)),
        PseudoEntry::Procedures(p) => ("Procedure", procedure(p, subject)),
        PseudoEntry::Referrals(x) => ("ServiceRequest", referral(x, subject)),
        PseudoEntry::Appointments(a) => appointment(a, subject),
        PseudoEntry::Alerts(a) => ("Flag", alert(a, subject)),
    };
    o.insert("resourceType".into(), json!(ty));
    o.insert("id".into(), json!(item_id(r, i, item)));
    if item.sources_differ {
        o.insert(
            "meta".into(),
            json!({ "tag": [{ "system": SOURCES_DIFFER_TAG, "code": "true" }] }),
        );
    }
    let ids: Vec<Json> = item
        .sources
        .iter()
        .map(|s| {
            json!({
                "system": format!("{SOURCE_SYSTEM_PREFIX}{}", s.source.as_str()),
                "value": s.record_id.as_str(),
                "assigner": { "identifier": ods_identifier(s.ods_code.as_str()) },
            })
        })
        .collect();
    if !ids.is_empty() {
        o.insert("identifier".into(), Json::Array(ids));
    }
    Json::Object(o)
}

fn ods_identifier(ods: &str) -> Json {
    json!({ "system": ODS_ORGANISATION_SYSTEM, "value": ods })
}

fn obj<const N: usize>(pairs: [(&str, Json); N]) -> Map<String, Json> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Sets `key` when there is a value (an empty list is no value).
fn put(o: &mut Map<String, Json>, key: &str, v: Option<Json>) {
    match v {
        Some(Json::Array(a)) if a.is_empty() => {}
        Some(v) => {
            o.insert(key.to_string(), v);
        }
        None => {}
    }
}

fn coding(c: &Code) -> Json {
    json!({ "system": c.system.uri(), "code": c.code })
}

/// A CodeableConcept of the codes, or `None` when there are none.
fn concept(codes: &[Code]) -> Option<Json> {
    (!codes.is_empty()).then(|| json!({ "coding": codes.iter().map(coding).collect::<Vec<_>>() }))
}

/// Each code as its own CodeableConcept (for repeating elements).
fn concepts(codes: &[Code]) -> Option<Json> {
    Some(Json::Array(
        codes
            .iter()
            .map(|c| json!({ "coding": [coding(c)] }))
            .collect(),
    ))
}

fn absent_coding() -> Json {
    json!({ "system": DATA_ABSENT_REASON_SYSTEM, "code": "unknown" })
}

/// A required CodeableConcept: the codes, or data-absent-reason#unknown.
fn required_concept(codes: &[Code]) -> Json {
    concept(codes).unwrap_or_else(|| json!({ "coding": [absent_coding()] }))
}

fn status_concept(system: &str, code: &str) -> Json {
    json!({ "coding": [{ "system": system, "code": code }] })
}

fn dt(d: &Option<PartialDateTime>) -> Option<Json> {
    d.as_ref().and_then(date_time).map(Json::from)
}

fn inst(d: &Option<PartialDateTime>) -> Option<Json> {
    d.as_ref().and_then(instant).map(Json::from)
}

fn period(start: &Option<PartialDateTime>, end: &Option<PartialDateTime>) -> Option<Json> {
    let mut p = Map::new();
    put(&mut p, "start", dt(start));
    put(&mut p, "end", dt(end));
    (!p.is_empty()).then_some(Json::Object(p))
}

fn contact(c: &ContactItem, subject: Json) -> Map<String, Json> {
    let mut o = obj([("patient", subject)]);
    put(&mut o, "active", c.active.map(Json::from));
    put(&mut o, "relationship", concepts(&c.relationship));
    put(&mut o, "period", period(&c.period_start, &None));
    o
}

fn care_team(c: &CareTeamItem, subject: Json) -> Map<String, Json> {
    let mut o = obj([("subject", subject)]);
    put(&mut o, "status", c.status.map(|s| json!(s.as_code())));
    put(&mut o, "category", concepts(&c.category));
    put(&mut o, "period", period(&c.period_start, &c.period_end));
    let roles: Vec<Json> = c
        .member_roles
        .iter()
        .map(|r| json!({ "role": [{ "coding": [coding(r)] }] }))
        .collect();
    put(&mut o, "participant", Some(Json::Array(roles)));
    o
}

/// A statement (or an item of unknown kind) is a MedicationStatement, a
/// prescription a MedicationRequest (intent `order`); a status the
/// resource's value set lacks becomes `unknown`.
fn medication(m: &MedicationItem, subject: Json) -> (&'static str, Map<String, Json>) {
    use MedicationStatus as S;
    let request = m.kind == Some(MedicationKind::Prescription);
    let status = match (request, m.status) {
        (_, None) => "unknown",
        (false, Some(S::Cancelled | S::Draft)) => "unknown",
        (true, Some(S::Intended | S::NotTaken)) => "unknown",
        (_, Some(s)) => s.as_code(),
    };
    let mut o = obj([
        ("subject", subject),
        ("status", json!(status)),
        ("medicationCodeableConcept", required_concept(&m.medication)),
    ]);
    put(&mut o, "reasonCode", concepts(&m.reasons));
    if request {
        o.insert("intent".into(), json!("order"));
        put(
            &mut o,
            "authoredOn",
            dt(&m.recorded).or_else(|| dt(&m.start)),
        );
        if let Some(p) = period(&m.start, &m.end) {
            o.insert("dispenseRequest".into(), json!({ "validityPeriod": p }));
        }
        ("MedicationRequest", o)
    } else {
        put(&mut o, "effectivePeriod", period(&m.start, &m.end));
        put(&mut o, "dateAsserted", dt(&m.recorded));
        ("MedicationStatement", o)
    }
}

fn allergy(a: &AllergyItem, subject: Json) -> Map<String, Json> {
    let mut o = obj([("patient", subject)]);
    put(&mut o, "code", concept(&a.code));
    put(
        &mut o,
        "clinicalStatus",
        a.clinical_status
            .map(|s| status_concept(ALLERGY_CLINICAL_SYSTEM, s.as_code())),
    );
    // AllergyIntolerance's verification value set has no differential or
    // provisional: those are unconfirmed.
    put(
        &mut o,
        "verificationStatus",
        a.verification.map(|v| {
            let code = match v.as_code() {
                "provisional" | "differential" => "unconfirmed",
                c => c,
            };
            status_concept(ALLERGY_VERIFICATION_SYSTEM, code)
        }),
    );
    put(
        &mut o,
        "category",
        Some(a.category.iter().map(|c| json!(c.as_code())).collect()),
    );
    put(
        &mut o,
        "criticality",
        a.criticality.map(|c| json!(c.as_code())),
    );
    put(&mut o, "onsetDateTime", dt(&a.onset));
    put(&mut o, "recordedDate", dt(&a.recorded));
    if !a.manifestations.is_empty() || a.severity.is_some() {
        let mut reaction = obj([(
            "manifestation",
            concepts(&a.manifestations)
                .filter(|m| m.as_array().is_some_and(|a| !a.is_empty()))
                .unwrap_or_else(|| json!([{ "coding": [absent_coding()] }])),
        )]);
        put(
            &mut reaction,
            "severity",
            a.severity.map(|s| json!(s.as_code())),
        );
        o.insert("reaction".into(), json!([reaction]));
    }
    o
}

fn condition(c: &ConditionItem, subject: Json) -> Map<String, Json> {
    let mut o = obj([("subject", subject)]);
    put(&mut o, "code", concept(&c.code));
    put(
        &mut o,
        "clinicalStatus",
        c.clinical_status
            .map(|s| status_concept(CONDITION_CLINICAL_SYSTEM, s.as_code())),
    );
    put(
        &mut o,
        "verificationStatus",
        c.verification
            .map(|v| status_concept(CONDITION_VERIFICATION_SYSTEM, v.as_code())),
    );
    put(&mut o, "category", concepts(&c.category));
    put(&mut o, "severity", concept(&c.severity));
    put(&mut o, "onsetDateTime", dt(&c.onset));
    put(&mut o, "abatementDateTime", dt(&c.abatement));
    put(&mut o, "recordedDate", dt(&c.recorded));
    o
}

/// An observation (or a result of unknown kind) is an Observation, a
/// report a DiagnosticReport whose `result`s are its members' pseudonyms.
fn result(r: &ResultItem, subject: Json) -> (&'static str, Map<String, Json>) {
    use ResultStatus as S;
    let report = r.kind == Some(ResultKind::Report);
    let status = match (report, r.status) {
        (_, None) => "unknown",
        // Observation's value set has neither.
        (false, Some(S::Partial)) => "preliminary",
        (false, Some(S::Appended)) => "amended",
        (_, Some(s)) => s.as_code(),
    };
    let mut o = obj([
        ("subject", subject),
        ("status", json!(status)),
        ("code", required_concept(&r.code)),
    ]);
    put(&mut o, "category", concepts(&r.category));
    put(&mut o, "effectiveDateTime", dt(&r.effective));
    put(&mut o, "issued", inst(&r.issued));
    let members: Vec<Json> = r
        .members
        .iter()
        .map(|m| json!({ "reference": format!("Observation/{m}") }))
        .collect();
    if report {
        put(&mut o, "result", Some(Json::Array(members)));
        return ("DiagnosticReport", o);
    }
    put(&mut o, "hasMember", Some(Json::Array(members)));
    if let Some(v) = &r.value {
        value_into(&mut o, v);
    }
    put(&mut o, "dataAbsentReason", concept(&r.absent_reason));
    put(&mut o, "interpretation", concepts(&r.interpretation));
    put(&mut o, "referenceRange", ranges(&r.reference_range));
    let components: Vec<Json> = r
        .components
        .iter()
        .map(|c| {
            let mut co = obj([("code", required_concept(&c.code))]);
            if let Some(v) = &c.value {
                value_into(&mut co, v);
            }
            put(&mut co, "interpretation", concepts(&c.interpretation));
            put(&mut co, "referenceRange", ranges(&c.reference_range));
            Json::Object(co)
        })
        .collect();
    put(&mut o, "component", Some(Json::Array(components)));
    ("Observation", o)
}

fn quantity(a: &icr_pseudonymise::transform::Amount) -> Option<Json> {
    let mut q = Map::new();
    put(
        &mut q,
        "value",
        a.value
            .and_then(serde_json::Number::from_f64)
            .map(Json::Number),
    );
    put(&mut q, "comparator", a.comparator.map(Json::from));
    put(&mut q, "unit", a.unit.clone().map(Json::from));
    if let Some(code) = &a.unit_code {
        q.insert("system".into(), json!(UCUM_SYSTEM));
        q.insert("code".into(), json!(code));
    }
    (!q.is_empty()).then_some(Json::Object(q))
}

fn range(r: &Range) -> Option<Json> {
    let mut o = Map::new();
    put(&mut o, "low", r.low.as_ref().and_then(quantity));
    put(&mut o, "high", r.high.as_ref().and_then(quantity));
    (!o.is_empty()).then_some(Json::Object(o))
}

fn ranges(rs: &[Range]) -> Option<Json> {
    Some(Json::Array(rs.iter().filter_map(range).collect()))
}

fn value_into(o: &mut Map<String, Json>, v: &Value) {
    let (key, val) = match v {
        Value::Quantity(a) => ("valueQuantity", quantity(a)),
        Value::Coded(c) => ("valueCodeableConcept", concept(c)),
        Value::Boolean(b) => ("valueBoolean", Some(json!(b))),
        Value::Integer(i) => match i32::try_from(*i) {
            Ok(n) => ("valueInteger", Some(json!(n))),
            // FHIR's integer is 32-bit: a larger one is a quantity (as
            // OMOP's value_as_number holds it).
            Err(_) => (
                "valueQuantity",
                serde_json::Number::from_f64(*i as f64).map(|n| json!({ "value": n })),
            ),
        },
        Value::Range(r) => ("valueRange", range(r)),
        Value::DateTime(d) => ("valueDateTime", date_time(d).map(Json::from)),
    };
    put(o, key, val);
}

/// A care plan (an item with a care plan's status or period) is a CarePlan
/// (intent `plan`); any other document a DocumentReference whose content
/// is marked masked: the extract never carries document content.
fn document(d: &DocumentItem, subject: Json) -> (&'static str, Map<String, Json>) {
    let care_plan =
        d.care_plan_status.is_some() || d.care_plan_start.is_some() || d.care_plan_end.is_some();
    if care_plan {
        let mut o = obj([
            ("subject", subject),
            (
                "status",
                json!(d.care_plan_status.map_or("unknown", |s| s.as_code())),
            ),
            ("intent", json!("plan")),
        ]);
        put(&mut o, "category", concepts(&d.category));
        put(
            &mut o,
            "period",
            period(&d.care_plan_start, &d.care_plan_end),
        );
        put(&mut o, "created", dt(&d.date));
        return ("CarePlan", o);
    }
    let masked = json!({
        "attachment": { "extension": [{ "url": DATA_ABSENT_REASON_EXTENSION, "valueCode": "masked" }] }
    });
    let mut o = obj([
        ("subject", subject),
        // A document's status has no `unknown`: `current` claims least.
        ("status", json!(d.status.map_or("current", |s| s.as_code()))),
        ("content", json!([masked])),
    ]);
    put(&mut o, "type", concept(&d.doc_type));
    put(&mut o, "category", concepts(&d.category));
    put(&mut o, "date", inst(&d.date));
    ("DocumentReference", o)
}

fn procedure(p: &icr_pseudonymise::transform::ProcedureItem, subject: Json) -> Map<String, Json> {
    let mut o = obj([
        ("subject", subject),
        ("status", json!(p.status.map_or("unknown", |s| s.as_code()))),
    ]);
    put(&mut o, "code", concept(&p.code));
    if p.performed_end.is_some() {
        put(
            &mut o,
            "performedPeriod",
            period(&p.performed, &p.performed_end),
        );
    } else {
        put(&mut o, "performedDateTime", dt(&p.performed));
    }
    put(&mut o, "bodySite", concepts(&p.body_site));
    put(&mut o, "outcome", concept(&p.outcome));
    o
}

/// Immunization's status value set has only `completed`, `not-done` and
/// `entered-in-error`: any other status is `completed` (the record says it
/// was given). An unknown date is an occurrence marked data-absent.
fn immunisation(
    p: &icr_pseudonymise::transform::ProcedureItem,
    subject: Json,
) -> Map<String, Json> {
    let status = match p.status {
        Some(ProcedureStatus::NotDone) => "not-done",
        Some(ProcedureStatus::EnteredInError) => "entered-in-error",
        _ => "completed",
    };
    let mut o = obj([
        ("patient", subject),
        ("status", json!(status)),
        ("vaccineCode", required_concept(&p.vaccine)),
    ]);
    match dt(&p.performed) {
        Some(d) => put(&mut o, "occurrenceDateTime", Some(d)),
        None => put(
            &mut o,
            "_occurrenceDateTime",
            Some(
                json!({ "extension": [{ "url": DATA_ABSENT_REASON_EXTENSION, "valueCode": "unknown" }] }),
            ),
        ),
    }
    put(&mut o, "statusReason", concept(&p.reason_not_given));
    put(&mut o, "site", concept(&p.body_site));
    if let Some(n) = p.dose_number.filter(|n| *n > 0) {
        o.insert(
            "protocolApplied".into(),
            json!([{ "doseNumberPositiveInt": n }]),
        );
    }
    o
}

fn referral(r: &ReferralItem, subject: Json) -> Map<String, Json> {
    let mut o = obj([
        ("subject", subject),
        ("status", json!(r.status.map_or("unknown", |s| s.as_code()))),
        ("intent", json!("order")),
    ]);
    put(&mut o, "code", concept(&r.code));
    put(&mut o, "category", concepts(&r.category));
    put(&mut o, "priority", r.priority.map(|p| json!(p.as_code())));
    put(&mut o, "authoredOn", dt(&r.authored));
    put(&mut o, "reasonCode", concepts(&r.reasons));
    o
}

/// An encounter is an Encounter, an appointment (or one of unknown kind)
/// an Appointment with the person as its one participant; each status is
/// mapped into its resource's value set (`unknown` for Encounter, `pending`
/// for Appointment, which has no `unknown`, where none fits).
fn appointment(a: &AppointmentItem, subject: Json) -> (&'static str, Map<String, Json>) {
    use AppointmentStatus as S;
    if a.kind == Some(AppointmentKind::Encounter) {
        let status = match a.status {
            Some(S::Fulfilled | S::Finished) => "finished",
            Some(S::Arrived | S::CheckedIn) => "arrived",
            Some(S::Proposed | S::Pending | S::Booked | S::Waitlist | S::Planned) => "planned",
            Some(S::Cancelled | S::Noshow) => "cancelled",
            Some(S::EnteredInError) => "entered-in-error",
            Some(S::Triaged) => "triaged",
            Some(S::InProgress) => "in-progress",
            Some(S::Onleave) => "onleave",
            Some(S::Unknown) | None => "unknown",
        };
        let class = a.class.first().map_or_else(absent_coding, coding);
        let mut o = obj([
            ("subject", subject),
            ("status", json!(status)),
            ("class", class),
        ]);
        put(&mut o, "type", concepts(&a.service_type));
        put(&mut o, "period", period(&a.start, &a.end));
        put(&mut o, "reasonCode", concepts(&a.reasons));
        return ("Encounter", o);
    }
    let status = match a.status {
        Some(S::Finished) => "fulfilled",
        Some(S::InProgress | S::Triaged | S::Onleave) => "arrived",
        Some(S::Planned) => "booked",
        Some(S::Unknown) | None => "pending",
        Some(s) => s.as_code(),
    };
    let confirmed = !matches!(status, "proposed" | "pending" | "waitlist");
    let participant = json!([{
        "actor": subject,
        "status": if confirmed { "accepted" } else { "needs-action" },
    }]);
    let mut o = obj([("status", json!(status)), ("participant", participant)]);
    put(&mut o, "serviceType", concepts(&a.service_type));
    put(&mut o, "start", inst(&a.start));
    put(&mut o, "end", inst(&a.end));
    put(&mut o, "reasonCode", concepts(&a.reasons));
    ("Appointment", o)
}

/// An alert is a Flag; with no status, `active`, so that it is heeded.
fn alert(a: &AlertItem, subject: Json) -> Map<String, Json> {
    let mut o = obj([
        ("subject", subject),
        ("status", json!(a.status.map_or("active", |s| s.as_code()))),
        ("code", required_concept(&a.code)),
    ]);
    put(&mut o, "category", concepts(&a.category));
    put(&mut o, "period", period(&a.period_start, &a.period_end));
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use icr_pseudonymise::transform::ProcedureItem;

    fn subject() -> Json {
        json!({ "reference": "Patient/p" })
    }

    #[test]
    fn a_required_code_without_codes_is_data_absent() {
        assert_eq!(
            required_concept(&[]),
            json!({ "coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                "code": "unknown"
            }] })
        );
    }

    #[test]
    fn statuses_are_mapped_into_each_resources_value_set() {
        let med = |kind, status| MedicationItem {
            medication: vec![],
            kind,
            status,
            start: None,
            end: None,
            recorded: None,
            reasons: vec![],
        };
        let status = |(ty, o): (&str, Map<String, Json>)| (ty.to_string(), o["status"].clone());
        let s = MedicationKind::Statement;
        let p = MedicationKind::Prescription;
        assert_eq!(
            status(medication(
                &med(Some(s), Some(MedicationStatus::Cancelled)),
                subject()
            )),
            ("MedicationStatement".into(), json!("unknown"))
        );
        assert_eq!(
            status(medication(
                &med(Some(p), Some(MedicationStatus::Cancelled)),
                subject()
            )),
            ("MedicationRequest".into(), json!("cancelled"))
        );
        assert_eq!(
            status(medication(
                &med(Some(p), Some(MedicationStatus::NotTaken)),
                subject()
            )),
            ("MedicationRequest".into(), json!("unknown"))
        );
        assert_eq!(
            status(medication(&med(None, None), subject())),
            ("MedicationStatement".into(), json!("unknown"))
        );

        let imm = |status| ProcedureItem {
            code: vec![],
            status,
            performed: None,
            performed_end: None,
            body_site: vec![],
            outcome: vec![],
            vaccine: vec![],
            dose_number: Some(0),
            reason_not_given: vec![],
            immunisation: true,
        };
        let given = immunisation(&imm(Some(ProcedureStatus::InProgress)), subject());
        assert_eq!(given["status"], "completed");
        // no date: the occurrence is marked data-absent; dose 0 is no dose
        assert_eq!(
            given["_occurrenceDateTime"]["extension"][0]["valueCode"],
            "unknown"
        );
        assert!(!given.contains_key("protocolApplied"));
        let not_done = immunisation(&imm(Some(ProcedureStatus::NotDone)), subject());
        assert_eq!(not_done["status"], "not-done");

        let appt = |kind, status| AppointmentItem {
            kind,
            status,
            class: vec![],
            service_type: vec![],
            start: None,
            end: None,
            reasons: vec![],
        };
        let enc = Some(AppointmentKind::Encounter);
        let (ty, o) = appointment(&appt(enc, Some(AppointmentStatus::Fulfilled)), subject());
        assert_eq!((ty, &o["status"]), ("Encounter", &json!("finished")));
        assert_eq!(o["class"]["code"], "unknown");
        let (ty, o) = appointment(&appt(None, None), subject());
        assert_eq!((ty, &o["status"]), ("Appointment", &json!("pending")));
        assert_eq!(o["participant"][0]["status"], "needs-action");
        let (_, o) = appointment(&appt(None, Some(AppointmentStatus::Finished)), subject());
        assert_eq!(o["status"], "fulfilled");
        assert_eq!(o["participant"][0]["status"], "accepted");
    }
}

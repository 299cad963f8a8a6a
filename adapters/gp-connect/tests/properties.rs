//! Properties: a practice's record, written as a GP Connect structured
//! Bundle by the renderer and read back by the adapter, gives back the
//! same demographics and items (with their ids and last updates) and no
//! issue; the rendered Bundle is valid STU3; reading and the fuzzing entry
//! points never panic, whatever they are given.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use icr_adapter_gp_connect::record::{RecordContext, read_record, supported_sections};
use icr_adapter_gp_connect::{fuzz_request, fuzz_structured_record};
use icr_fhir_stu3::params::{
    AllergiesQuery, ConsultationsQuery, ImmunisationsQuery, MedicationQuery, ProblemsQuery,
};
use icr_fhir_stu3::render::{Practice, RecordInput, RecordItem, structured_record};
use icr_fhir_stu3::{ClinicalArea, StructuredRequest, WarningCode};
use icr_model::time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};
use icr_model::*;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::Value;

mod common;

static CORPUS_FILES: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
    icr_testkit::corpus_files("gpconnect-stu3", "json")
        .into_iter()
        .map(|(_, bytes)| bytes)
        .collect()
});

/// The official STU3 schema, as validators of each resource type the
/// renderer writes (the schema has no root `oneOf`).
///
/// One defect of the published schema is corrected: array elements whose
/// value set is required (e.g. `AllergyIntolerance.category`) carry their
/// `enum` on the array itself, which no array can satisfy; it is moved to
/// the items.
static STU3: LazyLock<std::collections::HashMap<&'static str, jsonschema::Validator>> =
    LazyLock::new(|| {
        let path = icr_testkit::corpus_path(icr_testkit::Corpus::Stu3Schema);
        let mut schema: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        fix_array_enums(&mut schema);
        [
            "Patient",
            "Organization",
            "List",
            "AllergyIntolerance",
            "Condition",
            "Medication",
            "MedicationStatement",
            "MedicationRequest",
            "Encounter",
            "Observation",
            "DiagnosticReport",
            "Immunization",
            "ReferralRequest",
            "OperationOutcome",
            "Parameters",
        ]
        .into_iter()
        .map(|ty| {
            let mut s = schema.clone();
            s["$ref"] = Value::String(format!("#/definitions/{ty}"));
            (
                ty,
                jsonschema::draft4::new(&s).expect("the STU3 schema compiles"),
            )
        })
        .collect()
    });

fn fix_array_enums(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if m.get("type").and_then(Value::as_str) == Some("array")
                && let Some(e) = m.remove("enum")
                && let Some(items) = m.get_mut("items").and_then(Value::as_object_mut)
            {
                items.insert("enum".into(), e);
            }
            m.values_mut().for_each(fix_array_enums);
        }
        Value::Array(a) => a.iter_mut().for_each(fix_array_enums),
        _ => {}
    }
}

/// Why `resource` is not valid STU3. Contained resources are checked
/// against their own type: the schema's `ResourceList` cannot tell one
/// resource type from another (draft-04 has no `const`), so a small
/// contained resource matches several and fails its `oneOf`.
fn stu3_errors(resource: &Value) -> Vec<String> {
    let mut resource = resource.clone();
    let contained = resource
        .as_object_mut()
        .and_then(|o| o.remove("contained"))
        .and_then(|c| c.as_array().cloned())
        .unwrap_or_default();
    let mut errors: Vec<String> = contained.iter().flat_map(stu3_errors).collect();
    errors.extend(stu3_errors_of(&resource));
    errors
}

fn stu3_errors_of(resource: &Value) -> Vec<String> {
    let ty = resource["resourceType"].as_str().unwrap_or_default();
    let Some(v) = STU3.get(ty) else {
        return vec![format!("no validator for {ty}")];
    };
    v.iter_errors(resource)
        .take(5)
        .map(|e| format!("{ty}: {e} at {}", e.instance_path()))
        .collect()
}

fn source() -> SourceId {
    SourceId::parse("gp-y90001").unwrap()
}

fn nhs() -> NhsNumber {
    NhsNumber::parse("9990000018").unwrap()
}

fn ods() -> OdsCode {
    OdsCode::parse("Y90001").unwrap()
}

// ---- generators of model values GP Connect's STU3 can carry exactly ----

fn word() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9]{0,7}"
}

fn phrase() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9 ,.'()-]{0,15}"
}

fn code_text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9.-]{0,9}"
}

fn system() -> impl Strategy<Value = CodeSystem> {
    select(vec![
        CodeSystem::Snomed,
        CodeSystem::Dmd,
        CodeSystem::ReadV2,
        CodeSystem::Ctv3,
        CodeSystem::Other("https://fhir.example.org/CodeSystem/local".into()),
    ])
}

fn coding() -> impl Strategy<Value = Coding> {
    (system(), code_text(), proptest::option::of(phrase())).prop_map(|(system, code, display)| {
        Coding {
            system,
            code,
            display,
        }
    })
}

fn concept() -> impl Strategy<Value = Concept> {
    (
        proptest::collection::vec(coding(), 0..3),
        proptest::option::of(phrase()),
    )
        .prop_filter("not empty", |(c, t)| !c.is_empty() || t.is_some())
        .prop_map(|(codings, text)| Concept { codings, text })
}

fn concepts(max: usize) -> impl Strategy<Value = Vec<Concept>> {
    proptest::collection::vec(concept(), 0..=max)
}

fn date() -> impl Strategy<Value = Date> {
    (1900i32..2100, 1u8..=12, 1u8..=28)
        .prop_map(|(y, m, d)| Date::from_calendar_date(y, Month::try_from(m).unwrap(), d).unwrap())
}

fn date_time() -> impl Strategy<Value = OffsetDateTime> {
    (date(), 0u8..24, 0u8..60, 0u8..60, -12i8..=14).prop_map(|(d, h, mi, s, off)| {
        PrimitiveDateTime::new(d, Time::from_hms(h, mi, s).unwrap())
            .assume_offset(UtcOffset::from_hms(off, 0, 0).unwrap())
    })
}

fn instant() -> impl Strategy<Value = PartialDateTime> {
    date_time().prop_map(PartialDateTime::DateTime)
}

fn partial_date() -> impl Strategy<Value = PartialDateTime> {
    prop_oneof![
        (1900i32..2100).prop_map(PartialDateTime::Year),
        (1900i32..2100, 1u8..=12)
            .prop_map(|(y, m)| PartialDateTime::YearMonth(y, Month::try_from(m).unwrap())),
        date().prop_map(PartialDateTime::Date),
    ]
}

fn any_date() -> impl Strategy<Value = PartialDateTime> {
    prop_oneof![partial_date(), instant()]
}

fn opt<T: std::fmt::Debug>(s: impl Strategy<Value = T>) -> impl Strategy<Value = Option<T>> {
    proptest::option::of(s)
}

fn notes(max: usize) -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(phrase(), 0..=max)
}

fn distinct_names() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::btree_set(phrase(), 0..3).prop_map(|s| s.into_iter().collect())
}

fn decimal() -> impl Strategy<Value = f64> {
    (-40_000i32..40_000).prop_map(|n| f64::from(n) / 8.0)
}

fn quantity(comparator: bool) -> impl Strategy<Value = Quantity> {
    let comparators = if comparator {
        vec![None, Some("<"), Some("<="), Some(">="), Some(">")]
    } else {
        vec![None]
    };
    (
        opt(decimal()),
        select(comparators),
        opt(phrase()),
        opt(code_text()),
    )
        .prop_filter("not empty", |(v, _, u, c)| {
            v.is_some() || u.is_some() || c.is_some()
        })
        .prop_map(|(value, comparator, unit, code)| Quantity {
            value,
            comparator: comparator.map(str::to_string),
            unit,
            code,
        })
}

/// A value STU3 Observation can hold exactly (no integer: STU3 has no
/// `valueInteger`).
fn result_value(boolean: bool) -> impl Strategy<Value = ResultValue> {
    let b = if boolean { 1 } else { 0 };
    prop_oneof![
        3 => quantity(true).prop_map(ResultValue::Quantity),
        1 => concept().prop_map(ResultValue::Coded),
        1 => phrase().prop_map(ResultValue::Text),
        b => any::<bool>().prop_map(ResultValue::Boolean),
        1 => (opt(quantity(false)), opt(quantity(false)))
            .prop_filter("a bound", |(l, h)| l.is_some() || h.is_some())
            .prop_map(|(low, high)| ResultValue::Range { low, high }),
        1 => any_date().prop_map(ResultValue::DateTime),
    ]
}

fn reference_ranges() -> impl Strategy<Value = Vec<ReferenceRange>> {
    proptest::collection::vec(
        (opt(quantity(false)), opt(quantity(false)), opt(phrase()))
            .prop_filter("not empty", |(l, h, t)| {
                l.is_some() || h.is_some() || t.is_some()
            })
            .prop_map(|(low, high, text)| ReferenceRange { low, high, text }),
        0..2,
    )
}

fn allergy() -> impl Strategy<Value = Entry> {
    (
        concept(),
        opt(select(AllergyClinicalStatus::ALL.to_vec())),
        select(vec![
            Verification::Unconfirmed,
            Verification::Confirmed,
            Verification::Refuted,
            Verification::EnteredInError,
        ]),
        proptest::collection::btree_set(select(AllergyCategory::ALL.to_vec()), 0..3),
        opt(select(Criticality::ALL.to_vec())),
        proptest::collection::vec(
            (
                proptest::collection::vec(concept(), 1..3),
                opt(select(Severity::ALL.to_vec())),
                opt(phrase()),
            )
                .prop_map(|(manifestations, severity, description)| Reaction {
                    manifestations,
                    severity,
                    description,
                }),
            0..2,
        ),
        (opt(any_date()), opt(any_date()), notes(2)),
    )
        .prop_map(
            |(
                code,
                clinical_status,
                v,
                category,
                criticality,
                reactions,
                (onset, recorded, notes),
            )| {
                Entry::Allergy(Allergy {
                    code,
                    clinical_status,
                    verification: Some(v),
                    category: category.into_iter().collect(),
                    criticality,
                    reactions,
                    onset,
                    recorded,
                    notes,
                })
            },
        )
}

fn condition() -> impl Strategy<Value = Entry> {
    use ConditionClinicalStatus as C;
    (
        concept(),
        opt(select(vec![
            C::Active,
            C::Recurrence,
            C::Inactive,
            C::Remission,
            C::Resolved,
        ])),
        opt(select(vec![
            Verification::Provisional,
            Verification::Differential,
            Verification::Confirmed,
            Verification::Refuted,
            Verification::EnteredInError,
        ])),
        concepts(2),
        opt(concept()),
        (opt(any_date()), opt(any_date()), opt(any_date()), notes(2)),
    )
        .prop_map(
            |(
                code,
                clinical_status,
                verification,
                category,
                severity,
                (onset, abatement, recorded, notes),
            )| {
                Entry::Condition(Condition {
                    code,
                    clinical_status,
                    verification,
                    category,
                    severity,
                    onset,
                    abatement,
                    recorded,
                    notes,
                })
            },
        )
}

fn statement() -> impl Strategy<Value = Medication> {
    use MedicationStatus as M;
    (
        concept(),
        select(vec![
            M::Active,
            M::Completed,
            M::EnteredInError,
            M::Intended,
            M::Stopped,
            M::OnHold,
        ]),
        opt(phrase()),
        (opt(any_date()), opt(any_date()), opt(any_date())),
        concepts(2),
        opt(phrase()),
        notes(2),
    )
        .prop_map(
            |(medication, status, dosage, (start, end, recorded), reasons, prescriber, notes)| {
                Medication {
                    medication,
                    kind: Some(MedicationKind::Statement),
                    status: Some(status),
                    dosage,
                    start,
                    end,
                    recorded,
                    reasons,
                    prescriber,
                    notes,
                }
            },
        )
}

/// An issue of `medicine` (prescriptions exist only under a statement).
fn issue_of(medicine: Concept) -> impl Strategy<Value = Medication> {
    use MedicationStatus as M;
    (
        select(vec![
            M::Active,
            M::OnHold,
            M::Cancelled,
            M::Completed,
            M::EnteredInError,
            M::Stopped,
            M::Draft,
            M::Unknown,
        ]),
        opt(phrase()),
        (opt(any_date()), opt(any_date())),
        concepts(2),
        opt(phrase()),
        notes(2),
    )
        .prop_map(
            move |(status, dosage, (start, end), reasons, prescriber, notes)| Medication {
                medication: medicine.clone(),
                kind: Some(MedicationKind::Prescription),
                status: Some(status),
                dosage,
                start,
                end,
                recorded: None,
                reasons,
                prescriber,
                notes,
            },
        )
}

fn observation() -> impl Strategy<Value = TestResult> {
    use ResultStatus as R;
    (
        concepts(2),
        concept(),
        select(vec![
            R::Registered,
            R::Preliminary,
            R::Final,
            R::Amended,
            R::Corrected,
            R::Cancelled,
            R::EnteredInError,
            R::Unknown,
        ]),
        (opt(any_date()), opt(instant())),
        opt(result_value(true)),
        opt(concept()),
        opt(concept()),
        reference_ranges(),
        proptest::collection::vec(
            (
                concept(),
                opt(result_value(false)),
                opt(concept()),
                reference_ranges(),
            )
                .prop_map(|(code, value, interpretation, reference_range)| {
                    ResultComponent {
                        code,
                        value,
                        interpretation: interpretation.into_iter().collect(),
                        reference_range,
                    }
                }),
            0..2,
        ),
        (opt(phrase()), notes(1)),
    )
        .prop_map(
            |(
                category,
                code,
                status,
                (effective, issued),
                value,
                absent_reason,
                interpretation,
                reference_range,
                components,
                (performer, notes),
            )| {
                TestResult {
                    kind: Some(ResultKind::Observation),
                    category,
                    code,
                    status: Some(status),
                    effective,
                    issued,
                    value,
                    absent_reason,
                    interpretation: interpretation.into_iter().collect(),
                    reference_range,
                    components,
                    conclusion: None,
                    members: Vec::new(),
                    performer,
                    notes,
                }
            },
        )
}

fn report() -> impl Strategy<Value = TestResult> {
    (
        opt(concept()),
        concept(),
        select(ResultStatus::ALL.to_vec()),
        (opt(any_date()), opt(instant())),
        opt(phrase()),
        opt(phrase()),
    )
        .prop_map(
            |(category, code, status, (effective, issued), conclusion, performer)| TestResult {
                kind: Some(ResultKind::Report),
                category: category.into_iter().collect(),
                code,
                status: Some(status),
                effective,
                issued,
                conclusion,
                performer,
                ..Default::default()
            },
        )
}

fn immunisation() -> impl Strategy<Value = Entry> {
    (
        concept(),
        select(vec![
            ProcedureStatus::Completed,
            ProcedureStatus::NotDone,
            ProcedureStatus::EnteredInError,
        ]),
        opt(any_date()),
        opt(concept()),
        distinct_names(),
        notes(2),
        (opt(concept()), opt(word()), opt(concept())),
    )
        .prop_map(
            |(code, status, performed, site, performers, notes, (vaccine, lot, reason))| {
                Entry::Procedure(Procedure {
                    code,
                    status: Some(status),
                    performed,
                    performed_end: None,
                    body_site: site.into_iter().collect(),
                    outcome: None,
                    performers,
                    notes,
                    immunisation: Some(Immunisation {
                        vaccine: vaccine.unwrap_or_default(),
                        dose: None,
                        lot_number: lot,
                        reason_not_given: reason,
                    }),
                })
            },
        )
}

fn referral() -> impl Strategy<Value = Entry> {
    (
        concept(),
        opt(concept()),
        select(ReferralStatus::ALL.to_vec()),
        opt(select(Priority::ALL.to_vec())),
        opt(any_date()),
        opt(phrase()),
        distinct_names(),
        concepts(2),
        notes(2),
    )
        .prop_map(
            |(
                code,
                category,
                status,
                priority,
                authored,
                requester,
                performers,
                reasons,
                notes,
            )| {
                Entry::Referral(Referral {
                    code,
                    category: category.into_iter().collect(),
                    status: Some(status),
                    priority,
                    authored,
                    requester,
                    performers,
                    reasons,
                    notes,
                })
            },
        )
}

fn encounter() -> impl Strategy<Value = Entry> {
    use AppointmentStatus as A;
    (
        select(vec![
            A::Planned,
            A::Arrived,
            A::Triaged,
            A::InProgress,
            A::Onleave,
            A::Finished,
            A::Cancelled,
            A::EnteredInError,
            A::Unknown,
        ]),
        opt(coding().prop_map(Concept::coded)),
        concepts(2),
        (opt(any_date()), opt(any_date())),
        opt(phrase()),
        distinct_names(),
        concepts(2),
    )
        .prop_map(
            |(status, class, service_type, (start, end), location, participants, reasons)| {
                Entry::Appointment(Appointment {
                    kind: Some(AppointmentKind::Encounter),
                    status: Some(status),
                    class,
                    service_type,
                    description: None,
                    start,
                    end,
                    location,
                    participants,
                    reasons,
                })
            },
        )
}

fn human_name() -> impl Strategy<Value = HumanName> {
    (
        opt(select(NameUse::ALL.to_vec())),
        proptest::collection::vec(word(), 0..2),
        proptest::collection::vec(word(), 0..3),
        opt(word()),
        opt(phrase()),
    )
        .prop_map(|(use_, prefix, given, family, text)| HumanName {
            use_,
            prefix,
            given,
            family,
            text,
        })
        .prop_filter("a name", |n| {
            n.family.is_some() || n.text.is_some() || !n.given.is_empty() || !n.prefix.is_empty()
        })
}

fn address() -> impl Strategy<Value = Address> {
    let uses: Vec<ContactUse> = ContactUse::ALL
        .iter()
        .copied()
        .filter(|u| !matches!(u, ContactUse::Mobile | ContactUse::Billing))
        .collect();
    (
        opt(select(uses)),
        proptest::collection::vec(phrase(), 0..3),
        opt(word()),
        opt(word()),
        opt("[A-Z]{1,2}[0-9] [0-9][A-Z]{2}"),
        opt(word()),
    )
        .prop_filter("not empty", |(_, l, c, d, p, k)| {
            !l.is_empty() || c.is_some() || d.is_some() || p.is_some() || k.is_some()
        })
        .prop_map(|(use_, lines, city, district, postcode, country)| Address {
            use_,
            lines,
            city,
            district,
            postcode,
            country,
        })
}

fn telecom() -> impl Strategy<Value = Telecom> {
    let systems: Vec<TelecomSystem> = TelecomSystem::ALL
        .iter()
        .copied()
        .filter(|s| *s != TelecomSystem::Sms)
        .collect();
    let uses: Vec<ContactUse> = ContactUse::ALL
        .iter()
        .copied()
        .filter(|u| *u != ContactUse::Billing)
        .collect();
    (select(systems), phrase(), opt(select(uses))).prop_map(|(system, value, use_)| Telecom {
        system,
        value,
        use_,
    })
}

fn demographics() -> impl Strategy<Value = Demographics> {
    (
        proptest::collection::vec(human_name(), 0..3),
        opt(partial_date()),
        opt(select(Gender::ALL.to_vec())),
        proptest::collection::vec(address(), 0..2),
        proptest::collection::vec(telecom(), 0..3),
        opt(prop_oneof![
            Just(Deceased::Yes),
            any_date().prop_map(Deceased::At)
        ]),
        any::<bool>(),
    )
        .prop_map(
            |(names, birth_date, gender, addresses, telecom, deceased, sensitive)| Demographics {
                nhs_number: Some(nhs()),
                names,
                birth_date,
                gender,
                addresses,
                telecom,
                deceased,
                registered_practice: Some(ods()),
                sensitive,
            },
        )
}

/// A practice's record: items with ids, last updates, and the local ids
/// the adapter gives them.
#[derive(Debug, Clone)]
struct Held {
    demographics: Demographics,
    patient_updated: Option<OffsetDateTime>,
    /// (id, local id as read back, entry, last updated)
    items: Vec<(String, String, Entry, Option<OffsetDateTime>)>,
}

fn held() -> impl Strategy<Value = Held> {
    let statements = proptest::collection::vec(statement(), 0..3).prop_flat_map(|stmts| {
        let issues: Vec<_> = stmts
            .iter()
            .map(|s| proptest::collection::vec(issue_of(s.medication.clone()), 0..2))
            .collect();
        (Just(stmts), issues)
    });
    let results = (
        proptest::collection::vec(observation(), 0..4),
        opt(report()),
    );
    (
        demographics(),
        opt(date_time()),
        proptest::collection::vec(allergy(), 0..3),
        proptest::collection::vec(condition(), 0..3),
        statements,
        results,
        proptest::collection::vec(immunisation(), 0..3),
        proptest::collection::vec(referral(), 0..3),
        proptest::collection::vec(encounter(), 0..3),
        proptest::collection::vec(opt(date_time()), 24),
    )
        .prop_map(
            |(
                demographics,
                patient_updated,
                allergies,
                conditions,
                (stmts, issues),
                (obs, rep),
                imms,
                refs,
                encs,
                updates,
            )| {
                let mut items = Vec::new();
                let mut updates = updates.into_iter().cycle();
                let mut push = |ty: &str, id: String, e: Entry| {
                    let local = format!("{ty}/{id}");
                    items.push((id, local, e, updates.next().flatten()));
                };
                for (i, a) in allergies.into_iter().enumerate() {
                    push("AllergyIntolerance", format!("a{i}"), a);
                }
                for (i, c) in conditions.into_iter().enumerate() {
                    push("Condition", format!("c{i}"), c);
                }
                for (i, (s, issues)) in stmts.into_iter().zip(issues).enumerate() {
                    push("MedicationStatement", format!("m{i}"), Entry::Medication(s));
                    for (j, p) in issues.into_iter().enumerate() {
                        push(
                            "MedicationRequest",
                            format!("m{i}i{j}"),
                            Entry::Medication(p),
                        );
                    }
                }
                let member_ids: Vec<String> = (0..obs.len()).map(|i| format!("o{i}")).collect();
                for (i, o) in obs.into_iter().enumerate() {
                    push("Observation", format!("o{i}"), Entry::Result(o));
                }
                if let Some(mut r) = rep {
                    r.members = member_ids
                        .iter()
                        .step_by(2)
                        .map(|id| RecordId::new(source(), &format!("Observation/{id}")).unwrap())
                        .collect();
                    push("DiagnosticReport", "r0".into(), Entry::Result(r));
                }
                for (i, p) in imms.into_iter().enumerate() {
                    push("Immunization", format!("i{i}"), p);
                }
                for (i, r) in refs.into_iter().enumerate() {
                    push("ReferralRequest", format!("f{i}"), r);
                }
                for (i, e) in encs.into_iter().enumerate() {
                    push("Encounter", format!("e{i}"), e);
                }
                Held {
                    demographics,
                    patient_updated,
                    items,
                }
            },
        )
}

/// The request the adapter makes for every section, with ended allergies
/// and prescription issues.
fn full_request() -> StructuredRequest {
    let mut r = StructuredRequest::new(nhs());
    r.allergies = Some(AllergiesQuery {
        include_resolved: true,
    });
    r.medication = Some(MedicationQuery {
        include_prescription_issues: Some(true),
        search_from: None,
    });
    r.problems = Some(ProblemsQuery::default());
    r.consultations = Some(ConsultationsQuery::default());
    r.immunisations = Some(ImmunisationsQuery::default());
    r.investigations = Some(None);
    r.referrals = Some(None);
    r
}

fn render(h: &Held, warnings: Vec<(ClinicalArea, WarningCode)>) -> Value {
    let ods = ods();
    let input = RecordInput {
        patient_id: "p1",
        demographics: &h.demographics,
        patient_last_updated: h.patient_updated,
        practice: Practice {
            ods: &ods,
            name: "Test Surgery",
        },
        items: h
            .items
            .iter()
            .map(|(id, _, entry, last_updated)| RecordItem {
                id,
                entry,
                last_updated: *last_updated,
            })
            .collect(),
        warnings,
    };
    serde_json::to_value(structured_record(&input, &full_request())).unwrap()
}

fn read_back(bundle: &Value) -> SourceRecord {
    let meta = common::meta();
    let ctx = RecordContext {
        meta: &meta,
        nhs_number: nhs(),
        wanted: supported_sections(),
        include_resolved_allergies: true,
        include_prescription_issues: true,
        max_entries: 10_000,
    };
    read_record(bundle.to_string().as_bytes(), &ctx).unwrap()
}

fn instant_eq(a: Option<OffsetDateTime>, b: Option<OffsetDateTime>) -> bool {
    a.map(OffsetDateTime::unix_timestamp) == b.map(OffsetDateTime::unix_timestamp)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn a_record_round_trips_through_a_structured_bundle(h in held()) {
        let bundle = render(&h, Vec::new());
        let back = read_back(&bundle);
        prop_assert!(back.issues.is_empty(), "{:?}\nvia {bundle:#}", back.issues);
        let patient = back.patient.clone().unwrap();
        prop_assert_eq!(&patient.demographics, &h.demographics);
        prop_assert_eq!(patient.provenance.record.local(), "Patient/p1");
        prop_assert!(instant_eq(patient.provenance.last_updated, h.patient_updated));
        let got: BTreeMap<String, (&Entry, Option<OffsetDateTime>)> = back
            .items
            .iter()
            .map(|i| (i.provenance.record.local().to_string(), (&i.entry, i.provenance.last_updated)))
            .collect();
        prop_assert_eq!(got.len(), h.items.len(), "{:?}", got.keys().collect::<Vec<_>>());
        for (_, local, entry, updated) in &h.items {
            let Some((e, u)) = got.get(local) else {
                return Err(TestCaseError::fail(format!("{local} was not read back\nvia {bundle:#}")));
            };
            prop_assert_eq!(*e, entry, "{}", local);
            prop_assert!(instant_eq(*u, *updated), "{}", local);
        }
    }

    #[test]
    fn fuzz_entry_points_survive_random_bytes(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        fuzz_structured_record(&data);
        fuzz_request(&data);
    }

    #[test]
    fn fuzz_entry_points_survive_mutated_corpus_files(
        file in 0usize..38,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
    ) {
        icr_testkit::require_corpora!(GpConnect; return Ok(()));
        let mut data = CORPUS_FILES[file % CORPUS_FILES.len()].clone();
        for (at, byte, op) in edits {
            if data.is_empty() { break; }
            let i = at.index(data.len());
            match op {
                0 => data[i] = byte,
                1 => data.insert(i, byte),
                _ => { data.remove(i); }
            }
        }
        fuzz_structured_record(&data);
        fuzz_request(&data);
    }

    #[test]
    fn reading_survives_corpus_files_with_replaced_values(
        file in 0usize..38,
        at in any::<prop::sample::Index>(),
        replacement in json_value(),
    ) {
        icr_testkit::require_corpora!(GpConnect; return Ok(()));
        let mut doc: Value = serde_json::from_slice(&CORPUS_FILES[file % CORPUS_FILES.len()]).unwrap();
        let mut all = Vec::new();
        pointers(&doc, String::new(), &mut all);
        if !all.is_empty() {
            let p = &all[at.index(all.len())];
            if let Some(slot) = doc.pointer_mut(p) {
                *slot = replacement;
            }
        }
        let text = doc.to_string();
        fuzz_structured_record(text.as_bytes());
        fuzz_request(text.as_bytes());
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn rendered_bundles_are_valid_stu3(h in held()) {
        icr_testkit::require_corpora!(Stu3Schema; return Ok(()));
        let bundle = render(&h, vec![(ClinicalArea::Allergies, WarningCode::ConfidentialItems)]);
        for entry in bundle["entry"].as_array().unwrap() {
            let errors = stu3_errors(&entry["resource"]);
            prop_assert!(errors.is_empty(), "{errors:#?}\n{:#}", entry["resource"]);
        }
    }

}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::String),
        select(vec![
            "2021",
            "2021-02-30",
            "2021-02-15T13:50:00+01:00",
            "#Resolved-1",
            "Patient/04603d77-1a4e-4d63-b246-d7504f8bd833",
            "MedicationRequest/7e68abae-a50a-4dd2-8445-7a2aa9936bee",
            "confidential-items",
            "886921000000105",
            "http://snomed.info/sct",
            "https://fhir.nhs.uk/Id/nhs-number",
            "9990000026",
            "order",
            "has-member",
        ])
        .prop_map(|s| Value::String(s.into())),
    ]
}

const KEYS: &[&str] = &[
    "resourceType",
    "id",
    "meta",
    "lastUpdated",
    "entry",
    "resource",
    "fullUrl",
    "item",
    "reference",
    "code",
    "coding",
    "system",
    "display",
    "text",
    "subject",
    "patient",
    "extension",
    "url",
    "valueCode",
    "contained",
    "emptyReason",
    "basedOn",
    "intent",
    "medicationReference",
    "result",
    "related",
    "target",
    "type",
    "specimen",
    "collection",
    "collectedDateTime",
    "identifier",
    "value",
    "parameter",
    "name",
    "part",
    "valueBoolean",
    "valueIdentifier",
    "issue",
    "details",
    "severity",
    "notGiven",
    "date",
];

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec((select(KEYS.to_vec()), inner), 0..6).prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

/// Every JSON pointer into `v`.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                pointers(x, p, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                pointers(x, p, out);
            }
        }
        _ => {}
    }
}

#[test]
fn deep_nesting_is_refused_not_a_crash() {
    let deep = format!(
        "{{\"resourceType\":\"Bundle\",\"entry\":[{{\"resource\":{{\"resourceType\":\"List\",\"note\":{}1{}}}}}]}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    fuzz_structured_record(deep.as_bytes());
    // Nested within serde_json's limit but past the per-resource one.
    let nested = format!(
        "{{\"resourceType\":\"Bundle\",\"entry\":[{{\"resource\":{{\"resourceType\":\"Patient\",\"id\":\"p\",\"extension\":{}{{}}{}}}}}]}}",
        "[{\"extension\":".repeat(40),
        "}]".repeat(40)
    );
    let meta = common::meta();
    let ctx = RecordContext {
        meta: &meta,
        nhs_number: nhs(),
        wanted: supported_sections(),
        include_resolved_allergies: true,
        include_prescription_issues: true,
        max_entries: 10_000,
    };
    let e = read_record(nested.as_bytes(), &ctx).unwrap_err();
    assert_eq!(
        e.to_string(),
        "malformed response: the Patient cannot be read: Patient: nested too deeply"
    );
}

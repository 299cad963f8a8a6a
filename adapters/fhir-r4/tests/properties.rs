//! Properties: model → FHIR R4 (the renderer) → model gives the item back,
//! and what is rendered is valid R4; mapping and the fuzzing entry point
//! never panic, whatever they are given.

use std::sync::LazyLock;

use icr_adapter_fhir_r4::fuzz_bundle;
use icr_adapter_fhir_r4::map::{Content, MapContext, Medications, map_resource};
use icr_fhir::Resource;
use icr_fhir::render::{self, RenderContext};
use icr_model::time::{Date, Month, PrimitiveDateTime, Time, UtcOffset};
use icr_model::*;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::Value;
use serde_json::value::RawValue;

static CORPUS_FILES: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
    icr_testkit::corpus_files("fhir-r4-ukcore", "json")
        .into_iter()
        .map(|(_, bytes)| bytes)
        .collect()
});

fn source() -> SourceId {
    SourceId::parse("gwh").unwrap()
}

// ---- generators of model values FHIR R4 can carry exactly ----

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
        CodeSystem::Loinc,
        CodeSystem::Icd10,
        CodeSystem::ReadV2,
        CodeSystem::Other("urn:oid:2.16.840.1.113883.2.1.3.2.4.15".into()),
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

/// A concept with something in it.
fn concept() -> impl Strategy<Value = Concept> {
    (
        proptest::collection::vec(coding(), 0..3),
        proptest::option::of(phrase()),
    )
        .prop_filter("not empty", |(c, t)| !c.is_empty() || t.is_some())
        .prop_map(|(codings, text)| Concept { codings, text })
}

/// A concept that may be empty (for the elements FHIR requires).
fn concept_any() -> impl Strategy<Value = Concept> {
    prop_oneof![1 => Just(Concept::default()), 4 => concept()]
}

fn concepts() -> impl Strategy<Value = Vec<Concept>> {
    proptest::collection::vec(concept(), 0..3)
}

fn date() -> impl Strategy<Value = Date> {
    (1900i32..2100, 1u8..=12, 1u8..=28)
        .prop_map(|(y, m, d)| Date::from_calendar_date(y, Month::try_from(m).unwrap(), d).unwrap())
}

fn instant() -> impl Strategy<Value = PartialDateTime> {
    (date(), 0u8..24, 0u8..60, 0u8..60, -12i8..=14).prop_map(|(d, h, mi, s, off)| {
        PartialDateTime::DateTime(
            PrimitiveDateTime::new(d, Time::from_hms(h, mi, s).unwrap())
                .assume_offset(UtcOffset::from_hms(off, 0, 0).unwrap()),
        )
    })
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

fn notes() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(phrase(), 0..3)
}

fn names() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(phrase(), 0..3)
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

fn result_value() -> impl Strategy<Value = ResultValue> {
    prop_oneof![
        quantity(true).prop_map(ResultValue::Quantity),
        concept().prop_map(ResultValue::Coded),
        phrase().prop_map(ResultValue::Text),
        any::<bool>().prop_map(ResultValue::Boolean),
        any::<i32>().prop_map(|i| ResultValue::Integer(i64::from(i))),
        (opt(quantity(false)), opt(quantity(false)))
            .prop_filter("a bound", |(l, h)| l.is_some() || h.is_some())
            .prop_map(|(low, high)| ResultValue::Range { low, high }),
        any_date().prop_map(ResultValue::DateTime),
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

fn members() -> impl Strategy<Value = Vec<RecordId>> {
    proptest::collection::vec(
        word().prop_map(|w| RecordId::new(source(), &format!("Observation/{w}")).unwrap()),
        0..3,
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
}

fn named() -> impl Strategy<Value = HumanName> {
    human_name().prop_filter("a name", |n| {
        n.family.is_some() || n.text.is_some() || !n.given.is_empty() || !n.prefix.is_empty()
    })
}

fn address() -> impl Strategy<Value = Address> {
    let uses: Vec<ContactUse> = ContactUse::ALL
        .iter()
        .copied()
        .filter(|u| *u != ContactUse::Mobile)
        .collect();
    (
        opt(select(uses)),
        names(),
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
    let uses: Vec<ContactUse> = ContactUse::ALL
        .iter()
        .copied()
        .filter(|u| *u != ContactUse::Billing)
        .collect();
    (
        select(TelecomSystem::ALL.to_vec()),
        phrase(),
        opt(select(uses)),
    )
        .prop_map(|(system, value, use_)| Telecom {
            system,
            value,
            use_,
        })
}

fn telecoms() -> impl Strategy<Value = Vec<Telecom>> {
    proptest::collection::vec(telecom(), 0..3)
}

/// The values of `codes` (each must be one of the model's).
fn codes<T>(codes: &[&str], from: fn(&str) -> Option<T>) -> Vec<T> {
    let v: Vec<T> = codes.iter().filter_map(|c| from(c)).collect();
    assert_eq!(v.len(), codes.len());
    v
}

fn contact() -> impl Strategy<Value = Entry> {
    (
        prop_oneof![Just(HumanName::default()), named()],
        concepts(),
        telecoms(),
        opt(address()),
        opt(any::<bool>()),
        opt(any_date()),
    )
        .prop_map(
            |(name, relationship, telecom, address, active, period_start)| {
                Entry::Contact(Contact {
                    name,
                    relationship,
                    telecom,
                    address,
                    active,
                    period_start,
                })
            },
        )
}

fn care_team() -> impl Strategy<Value = Entry> {
    let member = (concepts(), opt(phrase()))
        .prop_filter("not empty", |(r, n)| !r.is_empty() || n.is_some())
        .prop_map(|(roles, name)| CareTeamMember { roles, name });
    (
        opt(phrase()),
        opt(select(CareTeamStatus::ALL.to_vec())),
        concepts(),
        opt(any_date()),
        opt(any_date()),
        proptest::collection::vec(member, 0..3),
        names(),
        telecoms(),
    )
        .prop_map(
            |(name, status, category, period_start, period_end, participants, orgs, telecom)| {
                Entry::CareTeam(CareTeam {
                    name,
                    status,
                    category,
                    period_start,
                    period_end,
                    participants,
                    managing_organisations: orgs,
                    telecom,
                })
            },
        )
}

fn medication() -> impl Strategy<Value = Entry> {
    let statement = codes(
        &[
            "active",
            "completed",
            "entered-in-error",
            "intended",
            "stopped",
            "on-hold",
            "unknown",
            "not-taken",
        ],
        MedicationStatus::from_code,
    );
    let request = codes(
        &[
            "active",
            "on-hold",
            "cancelled",
            "completed",
            "entered-in-error",
            "stopped",
            "draft",
            "unknown",
        ],
        MedicationStatus::from_code,
    );
    let common = || {
        (
            concept_any(),
            opt(phrase()),
            opt(any_date()),
            opt(any_date()),
            concepts(),
            opt(phrase()),
            notes(),
        )
    };
    prop_oneof![
        (
            common(),
            opt(select(statement)),
            opt(any_date()),
            any::<bool>()
        )
            .prop_map(
                |(
                    (medication, dosage, start, end, reasons, prescriber, notes),
                    status,
                    recorded,
                    no_kind,
                )| {
                    Entry::Medication(Medication {
                        medication,
                        kind: (!no_kind).then_some(MedicationKind::Statement),
                        status,
                        dosage,
                        start,
                        end,
                        recorded,
                        reasons,
                        prescriber,
                        notes,
                    })
                }
            ),
        (common(), opt(select(request))).prop_map(
            |((medication, dosage, start, end, reasons, prescriber, notes), status)| {
                Entry::Medication(Medication {
                    medication,
                    kind: Some(MedicationKind::Prescription),
                    status,
                    dosage,
                    start,
                    end,
                    recorded: None,
                    reasons,
                    prescriber,
                    notes,
                })
            }
        ),
    ]
}

fn allergy() -> impl Strategy<Value = Entry> {
    let verification = codes(
        &["unconfirmed", "confirmed", "refuted", "entered-in-error"],
        Verification::from_code,
    );
    let reaction = (
        concepts(),
        opt(select(Severity::ALL.to_vec())),
        opt(phrase()),
    )
        .prop_map(|(manifestations, severity, description)| Reaction {
            manifestations,
            severity,
            description,
        });
    (
        concept_any(),
        opt(select(AllergyClinicalStatus::ALL.to_vec())),
        opt(select(verification)),
        proptest::collection::vec(select(AllergyCategory::ALL.to_vec()), 0..3),
        opt(select(Criticality::ALL.to_vec())),
        proptest::collection::vec(reaction, 0..3),
        opt(any_date()),
        opt(any_date()),
        notes(),
    )
        .prop_map(
            |(
                code,
                clinical_status,
                verification,
                category,
                criticality,
                reactions,
                onset,
                recorded,
                notes,
            )| {
                Entry::Allergy(Allergy {
                    code,
                    clinical_status,
                    verification,
                    category,
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
    (
        concept_any(),
        opt(select(ConditionClinicalStatus::ALL.to_vec())),
        opt(select(Verification::ALL.to_vec())),
        concepts(),
        opt(concept()),
        opt(any_date()),
        opt(any_date()),
        opt(any_date()),
        notes(),
    )
        .prop_map(
            |(
                code,
                clinical_status,
                verification,
                category,
                severity,
                onset,
                abatement,
                recorded,
                notes,
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

fn result() -> impl Strategy<Value = Entry> {
    let observation_status = codes(
        &[
            "registered",
            "preliminary",
            "final",
            "amended",
            "corrected",
            "cancelled",
            "entered-in-error",
            "unknown",
        ],
        ResultStatus::from_code,
    );
    let component = (
        concept_any(),
        opt(result_value()),
        concepts(),
        reference_ranges(),
    )
        .prop_map(
            |(code, value, interpretation, reference_range)| ResultComponent {
                code,
                value,
                interpretation,
                reference_range,
            },
        );
    let observation = (
        (
            any::<bool>(),
            concepts(),
            concept_any(),
            opt(select(observation_status)),
            opt(any_date()),
            opt(instant()),
            opt(result_value()),
        ),
        (
            opt(concept()),
            concepts(),
            reference_ranges(),
            proptest::collection::vec(component, 0..3),
            members(),
            opt(phrase()),
            notes(),
        ),
    )
        .prop_map(
            |(
                (no_kind, category, code, status, effective, issued, value),
                (
                    absent_reason,
                    interpretation,
                    reference_range,
                    components,
                    members,
                    performer,
                    notes,
                ),
            )| {
                Entry::Result(TestResult {
                    kind: (!no_kind).then_some(ResultKind::Observation),
                    category,
                    code,
                    status,
                    effective,
                    issued,
                    // FHIR has a reason for a missing value only when it is missing
                    absent_reason: if value.is_none() { absent_reason } else { None },
                    value,
                    interpretation,
                    reference_range,
                    components,
                    conclusion: None,
                    members,
                    performer,
                    notes,
                })
            },
        );
    let report = (
        concepts(),
        concept_any(),
        opt(select(ResultStatus::ALL.to_vec())),
        opt(any_date()),
        opt(instant()),
        opt(phrase()),
        members(),
        opt(phrase()),
    )
        .prop_map(
            |(category, code, status, effective, issued, conclusion, members, performer)| {
                Entry::Result(TestResult {
                    kind: Some(ResultKind::Report),
                    category,
                    code,
                    status,
                    effective,
                    issued,
                    conclusion,
                    members,
                    performer,
                    ..Default::default()
                })
            },
        );
    prop_oneof![observation, report]
}

fn document() -> impl Strategy<Value = Entry> {
    let attachment = (
        opt("[a-z]{2,8}/[a-z0-9.+-]{2,12}"),
        opt("https://docs\\.example\\.org/[a-z0-9]{1,8}"),
        opt(phrase()),
        opt(0u64..=i32::MAX as u64),
    )
        .prop_filter("not empty", |(c, u, t, s)| {
            c.is_some() || u.is_some() || t.is_some() || s.is_some()
        })
        .prop_map(|(content_type, url, title, size)| Attachment {
            content_type,
            url,
            title,
            size,
            inline_content_omitted: false,
        });
    (
        concept_any(),
        concepts(),
        opt(phrase()),
        opt(select(DocumentStatus::ALL.to_vec())),
        opt(any_date()),
        names(),
        proptest::collection::vec(attachment, 0..3),
    )
        .prop_map(
            |(doc_type, category, title, status, date, authors, content)| {
                Entry::Document(Document {
                    doc_type,
                    category,
                    title,
                    status,
                    date,
                    authors,
                    content,
                    // Rendered as an inline text/plain attachment, which the
                    // adapter does not read back: not part of the round trip.
                    text: None,
                    care_plan: None,
                })
            },
        )
}

fn procedure() -> impl Strategy<Value = Entry> {
    (
        concept_any(),
        opt(select(ProcedureStatus::ALL.to_vec())),
        opt(any_date()),
        opt(any_date()),
        concepts(),
        opt(concept()),
        names(),
        notes(),
    )
        .prop_map(
            |(code, status, performed, performed_end, body_site, outcome, performers, notes)| {
                Entry::Procedure(Procedure {
                    code,
                    status,
                    performed,
                    performed_end,
                    body_site,
                    outcome,
                    performers,
                    notes,
                    immunisation: None,
                })
            },
        )
}

/// An immunisation: the statuses an R4 Immunization has, one body site,
/// a date or none, a dose as a number or as text.
fn immunisation() -> impl Strategy<Value = Entry> {
    let dose = prop_oneof![(1u32..100).prop_map(|n| n.to_string()), phrase()];
    (
        (
            concept_any(),
            select(vec![
                ProcedureStatus::Completed,
                ProcedureStatus::NotDone,
                ProcedureStatus::EnteredInError,
            ]),
            opt(any_date()),
            opt(concept()),
            names(),
            notes(),
        ),
        (concept_any(), opt(dose), opt(word()), opt(concept())),
    )
        .prop_map(
            |((code, status, performed, site, performers, notes), (vaccine, dose, lot, reason))| {
                Entry::Procedure(Procedure {
                    // A procedure code that says no more than the vaccine
                    // is the vaccine, as the adapter reads it.
                    code: if code.is_empty() {
                        vaccine.clone()
                    } else {
                        code
                    },
                    status: Some(status),
                    performed,
                    performed_end: None,
                    body_site: site.into_iter().collect(),
                    outcome: None,
                    performers,
                    notes,
                    immunisation: Some(Immunisation {
                        vaccine,
                        dose,
                        lot_number: lot,
                        reason_not_given: reason,
                    }),
                })
            },
        )
}

/// A care plan: a document whose type is the care plan type, with no
/// document status or attachments (a CarePlan has neither).
fn care_plan() -> impl Strategy<Value = Entry> {
    (
        (
            concepts(),
            opt(phrase()),
            opt(any_date()),
            names(),
            opt(phrase()),
        ),
        (
            opt(select(CarePlanStatus::ALL.to_vec())),
            opt(any_date()),
            opt(any_date()),
            proptest::collection::vec(phrase(), 0..3),
        ),
    )
        .prop_map(
            |((category, title, date, authors, text), (status, start, end, activities))| {
                Entry::Document(Document {
                    doc_type: Concept::coded(Coding::new(
                        CodeSystem::Snomed,
                        icr_adapter_fhir_r4::map::CARE_PLAN_CODE,
                        "Care plan",
                    )),
                    category,
                    title,
                    status: None,
                    date,
                    authors,
                    content: Vec::new(),
                    text,
                    care_plan: Some(CarePlan {
                        status,
                        period_start: start,
                        period_end: end,
                        activities,
                    }),
                })
            },
        )
}

fn referral() -> impl Strategy<Value = Entry> {
    (
        concept_any(),
        concepts(),
        opt(select(ReferralStatus::ALL.to_vec())),
        opt(select(Priority::ALL.to_vec())),
        opt(any_date()),
        opt(phrase()),
        names(),
        concepts(),
        notes(),
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
                    category,
                    status,
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

fn appointment() -> impl Strategy<Value = Entry> {
    let booked = codes(
        &[
            "proposed",
            "pending",
            "booked",
            "arrived",
            "fulfilled",
            "cancelled",
            "noshow",
            "entered-in-error",
            "checked-in",
            "waitlist",
        ],
        AppointmentStatus::from_code,
    );
    let attended = codes(
        &[
            "planned",
            "arrived",
            "triaged",
            "in-progress",
            "onleave",
            "finished",
            "cancelled",
            "entered-in-error",
            "unknown",
        ],
        AppointmentStatus::from_code,
    );
    let class = prop_oneof![
        coding()
            .prop_filter("a code", |c| !c.code.is_empty())
            .prop_map(Concept::coded),
        phrase().prop_map(Concept::text),
    ];
    let appt = (
        any::<bool>(),
        opt(select(booked)),
        concepts(),
        opt(phrase()),
        opt(instant()),
        opt(instant()),
        opt(phrase()),
        names(),
        concepts(),
    )
        .prop_map(
            |(
                no_kind,
                status,
                service_type,
                description,
                start,
                end,
                location,
                participants,
                reasons,
            )| {
                Entry::Appointment(Appointment {
                    kind: (!no_kind).then_some(AppointmentKind::Appointment),
                    status,
                    class: None,
                    service_type,
                    description,
                    start,
                    end,
                    location,
                    participants,
                    reasons,
                })
            },
        );
    let encounter = (
        opt(select(attended)),
        opt(class),
        proptest::collection::vec(concept(), 0..2),
        opt(any_date()),
        opt(any_date()),
        opt(phrase()),
        names(),
        concepts(),
    )
        .prop_map(
            |(status, class, service_type, start, end, location, participants, reasons)| {
                Entry::Appointment(Appointment {
                    kind: Some(AppointmentKind::Encounter),
                    status,
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
        );
    prop_oneof![appt, encounter]
}

fn alert() -> impl Strategy<Value = Entry> {
    (
        concept_any(),
        opt(select(AlertStatus::ALL.to_vec())),
        concepts(),
        opt(any_date()),
        opt(any_date()),
        opt(phrase()),
    )
        .prop_map(
            |(code, status, category, period_start, period_end, author)| {
                Entry::Alert(Alert {
                    code,
                    status,
                    category,
                    period_start,
                    period_end,
                    author,
                })
            },
        )
}

fn item() -> impl Strategy<Value = Entry> {
    prop_oneof![
        contact(),
        care_team(),
        medication(),
        allergy(),
        condition(),
        result(),
        document(),
        care_plan(),
        procedure(),
        immunisation(),
        referral(),
        appointment(),
        alert(),
    ]
}

/// What the adapter reads back: the kind is always said; a status FHIR
/// requires is `unknown` when the model had none, or where its value set
/// has no `unknown`, the code the renderer writes instead (alert `active`,
/// document `current`, appointment `pending`); an attachment's link (the
/// source's address) is never written, so an attachment that was only a
/// link is gone.
fn read_back_form(e: Entry) -> Entry {
    match e {
        Entry::Medication(mut m) => {
            m.kind = m.kind.or(Some(MedicationKind::Statement));
            m.status = m.status.or(Some(MedicationStatus::Unknown));
            Entry::Medication(m)
        }
        Entry::Result(mut r) => {
            r.kind = r.kind.or(Some(ResultKind::Observation));
            r.status = r.status.or(Some(ResultStatus::Unknown));
            Entry::Result(r)
        }
        Entry::Procedure(mut p) => {
            p.status = p.status.or(Some(ProcedureStatus::Unknown));
            Entry::Procedure(p)
        }
        Entry::Referral(mut r) => {
            r.status = r.status.or(Some(ReferralStatus::Unknown));
            Entry::Referral(r)
        }
        Entry::Appointment(mut a) => {
            a.kind = a.kind.or(Some(AppointmentKind::Appointment));
            if a.kind == Some(AppointmentKind::Encounter) {
                a.status = a.status.or(Some(AppointmentStatus::Unknown));
            } else if matches!(a.status, None | Some(AppointmentStatus::Unknown)) {
                a.status = Some(AppointmentStatus::Pending);
            }
            Entry::Appointment(a)
        }
        Entry::Alert(mut a) => {
            a.status = a.status.or(Some(AlertStatus::Active));
            Entry::Alert(a)
        }
        Entry::Document(mut d) => {
            if let Some(plan) = d.care_plan.as_mut() {
                // A care plan is a CarePlan, whose only status is its own.
                plan.status = plan.status.or(Some(CarePlanStatus::Unknown));
                return Entry::Document(d);
            }
            d.status = d.status.or(Some(DocumentStatus::Current));
            for a in &mut d.content {
                a.url = None;
            }
            d.content
                .retain(|a| a.content_type.is_some() || a.title.is_some() || a.size.is_some());
            Entry::Document(d)
        }
        other => other,
    }
}

fn resolve(id: &RecordId) -> Option<String> {
    Some(id.local().to_string())
}

fn map_back(json: &Value) -> Content {
    let raw = RawValue::from_string(json.to_string()).unwrap();
    let source = source();
    let meds = Medications::new();
    let ctx = MapContext {
        source: &source,
        base: None,
        medications: &meds,
    };
    let mapped = map_resource(&raw, &ctx).unwrap();
    assert_eq!(mapped.bad_dates, 0);
    assert_eq!(mapped.id.as_deref(), Some("x1"));
    assert_eq!(mapped.subject.as_deref(), Some("Patient/p1"));
    mapped.content
}

fn demographics() -> impl Strategy<Value = Demographics> {
    (
        proptest::collection::vec(named(), 0..3),
        opt(partial_date()),
        opt(select(Gender::ALL.to_vec())),
        proptest::collection::vec(address(), 0..2),
        telecoms(),
        opt(prop_oneof![
            Just(Deceased::Yes),
            any_date().prop_map(Deceased::At)
        ]),
        opt("[A-Z][0-9]{5}"),
        any::<bool>(),
    )
        .prop_map(
            |(names, birth_date, gender, addresses, telecom, deceased, practice, sensitive)| {
                Demographics {
                    nhs_number: Some(NhsNumber::parse("9990000018").unwrap()),
                    names,
                    birth_date,
                    gender,
                    addresses,
                    telecom,
                    deceased,
                    registered_practice: practice.and_then(|p| OdsCode::parse(&p).ok()),
                    sensitive,
                }
            },
        )
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
            "final",
            "#m1",
            "Patient/p1",
            "Medication/m1",
            "http://snomed.info/sct"
        ])
        .prop_map(|s| Value::String(s.into())),
    ]
}

const KEYS: &[&str] = &[
    "id",
    "meta",
    "lastUpdated",
    "status",
    "code",
    "coding",
    "system",
    "display",
    "text",
    "subject",
    "reference",
    "patient",
    "valueQuantity",
    "value",
    "unit",
    "component",
    "referenceRange",
    "low",
    "high",
    "effectiveDateTime",
    "effectivePeriod",
    "start",
    "end",
    "name",
    "given",
    "family",
    "identifier",
    "telecom",
    "address",
    "line",
    "contact",
    "medicationReference",
    "medicationCodeableConcept",
    "contained",
    "resourceType",
    "participant",
    "actor",
    "type",
    "content",
    "attachment",
    "data",
    "creation",
    "performer",
    "hasMember",
    "result",
    "reaction",
    "manifestation",
    "category",
    "clinicalStatus",
    "verificationStatus",
    "note",
    "dosage",
    "dosageInstruction",
    "class",
    "period",
    "deceasedDateTime",
    "deceasedBoolean",
    "generalPractitioner",
    "valueRange",
    "valueInteger",
    "valueRatio",
    "numerator",
    "size",
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

const TYPES: &[&str] = &[
    "Patient",
    "RelatedPerson",
    "CareTeam",
    "MedicationStatement",
    "MedicationRequest",
    "AllergyIntolerance",
    "Condition",
    "Observation",
    "DiagnosticReport",
    "DocumentReference",
    "Procedure",
    "ServiceRequest",
    "Appointment",
    "Encounter",
    "Flag",
    "Immunization",
    "CarePlan",
    "Medication",
    "OperationOutcome",
    "Bundle",
];

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

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn items_round_trip_through_valid_r4(e in item()) {
        icr_testkit::require_corpora!(R4Schema; return Ok(()));
        let ctx = RenderContext { patient: "Patient/p1", resolve: &resolve };
        let resource = render::entry(&e, "x1", &ctx);
        let json = serde_json::to_value(&resource).unwrap();
        prop_assert!(icr_testkit::fhir_r4().is_valid(&json), "not valid R4: {json:#}");
        let back = map_back(&json);
        prop_assert_eq!(back, Content::Entry(read_back_form(e)), "via {:#}", json);
    }

    #[test]
    fn demographics_round_trip_through_valid_r4(d in demographics()) {
        icr_testkit::require_corpora!(R4Schema; return Ok(()));
        let nhs = NhsNumber::parse("9990000018").unwrap();
        let json = serde_json::to_value(Resource::Patient(render::patient("x1", nhs, &d))).unwrap();
        prop_assert!(icr_testkit::fhir_r4().is_valid(&json), "not valid R4: {json:#}");
        let raw = RawValue::from_string(json.to_string()).unwrap();
        let source = source();
        let meds = Medications::new();
        let ctx = MapContext { source: &source, base: None, medications: &meds };
        let mapped = map_resource(&raw, &ctx).unwrap();
        prop_assert_eq!(mapped.content, Content::Patient { demographics: d, contacts: vec![] });
    }

    #[test]
    fn mapping_arbitrary_json_never_panics(ty in select(TYPES.to_vec()), body in json_value()) {
        let mut v = body;
        if let Value::Object(m) = &mut v {
            m.insert("resourceType".into(), Value::String(ty.into()));
        }
        let text = v.to_string();
        let raw = RawValue::from_string(text.clone()).unwrap();
        let source = source();
        let meds = Medications::new();
        let base = url::Url::parse("https://fhir.example.org/R4/").unwrap();
        let ctx = MapContext { source: &source, base: Some(&base), medications: &meds };
        let _ = map_resource(&raw, &ctx);
        let bundle = serde_json::json!({"resourceType": "Bundle", "type": "searchset", "entry": [
            {"fullUrl": "urn:uuid:1", "resource": v, "search": {"mode": "match"}},
            {"resource": {"resourceType": "Medication", "id": "m1"}},
        ]});
        fuzz_bundle(bundle.to_string().as_bytes());
        fuzz_bundle(text.as_bytes());
    }

    #[test]
    fn fuzz_entry_point_survives_random_bytes(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        fuzz_bundle(&data);
    }

    #[test]
    fn fuzz_entry_point_survives_mutated_corpus_files(
        file in 0usize..211,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
    ) {
        icr_testkit::require_corpora!(UkCore; return Ok(()));
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
        fuzz_bundle(&data);
    }

    #[test]
    fn fuzz_entry_point_survives_corpus_files_with_replaced_values(
        file in 0usize..211,
        at in any::<prop::sample::Index>(),
        replacement in json_value(),
    ) {
        icr_testkit::require_corpora!(UkCore; return Ok(()));
        let bytes = &CORPUS_FILES[file % CORPUS_FILES.len()];
        let mut doc: Value = serde_json::from_slice(bytes).unwrap();
        let mut all = Vec::new();
        pointers(&doc, String::new(), &mut all);
        if !all.is_empty() {
            let p = &all[at.index(all.len())];
            if let Some(slot) = doc.pointer_mut(p) {
                *slot = replacement;
            }
        }
        // wrap single resources so that the page reader sees them too
        let wrapped = serde_json::json!({"resourceType": "Bundle", "type": "searchset",
            "entry": [{"resource": doc.clone()}]});
        fuzz_bundle(doc.to_string().as_bytes());
        fuzz_bundle(wrapped.to_string().as_bytes());
    }
}

proptest! {
    /// A CapabilityStatement whose parts are anything: reading it never
    /// panics, and a well-formed search-type declaration among them is
    /// always seen.
    #[test]
    fn capability_statements_of_any_shape_are_read_without_panicking(
        ty in select(TYPES.to_vec()),
        mode in json_value(),
        interaction in json_value(),
        params in json_value(),
        rest_params in json_value(),
    ) {
        use icr_adapter_fhir_r4::capability::Capability;
        let odd = serde_json::json!({"resourceType": "CapabilityStatement", "rest": [
            {"mode": mode, "searchParam": rest_params, "resource": [
                {"type": ty, "interaction": interaction, "searchParam": params}
            ]}
        ]});
        let _ = Capability::read(odd.to_string().as_bytes());
        fuzz_bundle(odd.to_string().as_bytes());
        let good = serde_json::json!({"resourceType": "CapabilityStatement", "rest": [
            {"mode": "server", "resource": [
                {"type": ty, "interaction": [{"code": "search-type"}], "searchParam": [{"name": "_sort"}]}
            ]}
        ]});
        let read = Capability::read(good.to_string().as_bytes()).unwrap();
        let record_type = icr_fhir::RecordType::from_name(ty);
        prop_assert!(record_type.is_none_or(|t| read.searches(t)));
        prop_assert!(record_type.is_none() || read.sorts());
    }
}

#[test]
fn deep_nesting_is_refused_not_a_crash() {
    let deep = format!(
        "{{\"resourceType\":\"Bundle\",\"entry\":[{{\"resource\":{{\"resourceType\":\"Observation\",\"note\":{}1{}}}}}]}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    fuzz_bundle(deep.as_bytes());
    let deep_object = format!(
        "{{\"resourceType\":\"Observation\",\"contained\":[{}]}}",
        "{\"a\":".repeat(50_000) + "1" + &"}".repeat(50_000)
    );
    fuzz_bundle(deep_object.as_bytes());
}

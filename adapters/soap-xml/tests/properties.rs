//! Properties: the reader never panics, whatever bytes it is given or
//! however the example answer is mangled; and holdings written as the
//! contract's XML (by a test writer) read back as exactly the same model.

mod writer;

use std::sync::{Arc, LazyLock};

use icr_adapter_soap_xml::answer::{Expected, ReadLimits, read_answer};
use icr_adapter_soap_xml::codes::ContactRole;
use icr_adapter_soap_xml::fuzz_answer;
use icr_model::time::{Date, Month, PrimitiveDateTime, Time, UtcOffset};
use icr_model::*;
use proptest::prelude::*;
use proptest::sample::select;
use writer::{Holdings, Rec, Style, write};

const NHS: &str = "9990000018";
const CORRELATION: &str = "7d1e3c5a-0b8f-4e2a-9c6d-3f1a2b4c5d6e";

static EXAMPLE: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schema")
        .join("GetPersonSummary-response.xml");
    std::fs::read(path).unwrap()
});

/// Pieces that make a mutation land on XML's structure.
const SNIPPETS: &[&str] = &[
    "<",
    ">",
    "&",
    "&amp;",
    "&#0;",
    "&#x110000;",
    "&lol;",
    "]]>",
    "<![CDATA[",
    "<!DOCTYPE a [<!ENTITY b \"c\">]>",
    "<?xml version=\"1.0\" encoding=\"UTF-16\"?>",
    "</ps:Person>",
    "<ps:Alert id=\"x\">",
    "xmlns:ps=\"urn:other\"",
    "xmlns=\"\"",
    "<soap:Fault>",
    "\u{0}",
    "\u{FEFF}",
    "é",
    "\"",
];

#[derive(Clone, Debug)]
enum Mutation {
    Flip(usize, u8),
    Delete(usize, usize),
    Insert(usize, &'static str),
    Duplicate(usize, usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<usize>(), 0usize..200).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (any::<usize>(), select(SNIPPETS)).prop_map(|(i, s)| Mutation::Insert(i, s)),
        (any::<usize>(), 0usize..400).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(mut data: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = data.len().max(1);
        match *m {
            Mutation::Flip(i, b) => {
                if let Some(x) = data.get_mut(i % len) {
                    *x ^= b;
                }
            }
            Mutation::Delete(i, n) => {
                let start = (i % len).min(data.len());
                let end = (start + n).min(data.len());
                data.drain(start..end);
            }
            Mutation::Insert(i, s) => {
                let at = (i % len).min(data.len());
                data.splice(at..at, s.bytes());
            }
            Mutation::Duplicate(i, n) => {
                let start = (i % len).min(data.len());
                let end = (start + n).min(data.len());
                let copy = data[start..end].to_vec();
                data.splice(end..end, copy);
            }
            Mutation::Truncate(i) => data.truncate(i % len),
        }
    }
    data
}

// ---- generators of holdings the contract can carry exactly ----

/// Text with XML's special characters and non-ASCII, no outer whitespace.
fn text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9&<>'\"é€—][A-Za-z0-9 &<>'\"é€—,.()-]{0,14}"
        .prop_map(|s| s.trim().to_string())
        .prop_filter("not blank", |s| !s.is_empty())
}

fn opt<T: std::fmt::Debug + Clone>(
    s: impl Strategy<Value = T>,
) -> impl Strategy<Value = Option<T>> {
    proptest::option::of(s)
}

fn system() -> impl Strategy<Value = CodeSystem> {
    select(vec![
        CodeSystem::Snomed,
        CodeSystem::Other("urn:icr:socialcare:personsummary:1:service-type".into()),
        CodeSystem::Other("urn:icr:socialcare:personsummary:1:alert-category".into()),
        CodeSystem::Other("https://council.example/CodeSystem/local?v=1&x=2".into()),
    ])
}

fn coded() -> impl Strategy<Value = Concept> {
    (system(), "[A-Za-z0-9][A-Za-z0-9.-]{0,9}", opt(text())).prop_map(|(system, code, display)| {
        Concept::coded(Coding {
            system,
            code,
            display,
        })
    })
}

/// A coded value or free text (one `ps:Coded` element).
fn concept() -> impl Strategy<Value = Concept> {
    prop_oneof![coded(), text().prop_map(Concept::text)]
}

fn date() -> impl Strategy<Value = PartialDateTime> {
    (1900i32..2100, 1u8..=12, 1u8..=28, 0u8..3).prop_map(|(y, m, d, precision)| {
        let month = Month::try_from(m).unwrap();
        match precision {
            0 => PartialDateTime::Year(y),
            1 => PartialDateTime::YearMonth(y, month),
            _ => PartialDateTime::Date(Date::from_calendar_date(y, month, d).unwrap()),
        }
    })
}

fn instant() -> impl Strategy<Value = icr_model::time::OffsetDateTime> {
    (
        1990i32..2040,
        1u8..=12,
        1u8..=28,
        0u8..24,
        0u8..60,
        0u8..60,
        -12i8..=12,
    )
        .prop_map(|(y, m, d, h, mi, s, off)| {
            let date = Date::from_calendar_date(y, Month::try_from(m).unwrap(), d).unwrap();
            PrimitiveDateTime::new(date, Time::from_hms(h, mi, s).unwrap())
                .assume_offset(UtcOffset::from_hms(off, 0, 0).unwrap())
        })
}

fn date_or_instant() -> impl Strategy<Value = PartialDateTime> {
    prop_oneof![date(), instant().prop_map(PartialDateTime::DateTime)]
}

fn contact_use() -> impl Strategy<Value = ContactUse> {
    select(vec![
        ContactUse::Home,
        ContactUse::Work,
        ContactUse::Mobile,
        ContactUse::Temp,
        ContactUse::Old,
    ])
}

fn phone() -> impl Strategy<Value = Telecom> {
    ("0[0-9 ]{9,12}[0-9]", opt(contact_use())).prop_map(|(value, use_)| Telecom {
        system: TelecomSystem::Phone,
        value,
        use_,
    })
}

fn email() -> impl Strategy<Value = Telecom> {
    ("[a-z]{1,8}@[a-z]{1,8}\\.example", opt(contact_use())).prop_map(|(value, use_)| Telecom {
        system: TelecomSystem::Email,
        value,
        use_,
    })
}

/// Phones first, then emails, as the contract orders them.
fn telecoms() -> impl Strategy<Value = Vec<Telecom>> {
    (
        proptest::collection::vec(phone(), 0..3),
        proptest::collection::vec(email(), 0..2),
    )
        .prop_map(|(mut p, e)| {
            p.extend(e);
            p
        })
}

fn human_name() -> impl Strategy<Value = HumanName> {
    (
        opt(select(NameUse::ALL.to_vec())),
        proptest::collection::vec(text(), 0..2),
        proptest::collection::vec(text(), 0..3),
        opt(text()),
    )
        .prop_map(|(use_, prefix, given, family)| HumanName {
            use_,
            prefix,
            given,
            family,
            text: None,
        })
}

fn address() -> impl Strategy<Value = Address> {
    (
        opt(contact_use()),
        proptest::collection::vec(text(), 0..3),
        opt(text()),
        opt(text()),
        opt(text()),
        opt(text()),
    )
        .prop_map(|(use_, lines, city, district, postcode, country)| Address {
            use_,
            lines,
            city,
            district,
            postcode,
            country,
        })
}

fn demographics() -> impl Strategy<Value = Demographics> {
    (
        proptest::collection::vec(human_name(), 1..3),
        opt(date()),
        opt(select(Gender::ALL.to_vec())),
        proptest::collection::vec(address(), 0..3),
        telecoms(),
        opt(date()),
        any::<bool>(),
    )
        .prop_map(
            |(names, birth_date, gender, addresses, telecom, death, sensitive)| Demographics {
                nhs_number: NhsNumber::parse(NHS).ok(),
                names,
                birth_date,
                gender,
                addresses,
                telecom,
                deceased: death.map(Deceased::At),
                registered_practice: None,
                sensitive,
            },
        )
}

fn work_phones(n: usize) -> impl Strategy<Value = Vec<Telecom>> {
    proptest::collection::vec(
        "0[0-9]{10}".prop_map(|value| Telecom {
            system: TelecomSystem::Phone,
            value,
            use_: Some(ContactUse::Work),
        }),
        0..=n,
    )
}

fn allocation() -> impl Strategy<Value = CareTeam> {
    (
        opt(text()),
        opt(select(vec![
            CareTeamStatus::Active,
            CareTeamStatus::Inactive,
        ])),
        opt(concept()),
        opt(date()),
        opt(date()),
        (opt(concept()), opt(text())),
        work_phones(2),
    )
        .prop_map(
            |(name, status, category, start, end, (role, worker), telecom)| CareTeam {
                name,
                status,
                category: category.into_iter().collect(),
                period_start: start,
                period_end: end,
                participants: vec![CareTeamMember {
                    roles: role.into_iter().collect(),
                    name: worker,
                }],
                managing_organisations: vec![],
                telecom,
            },
        )
}

fn service() -> impl Strategy<Value = CareTeam> {
    (
        opt(text()),
        opt(select(CareTeamStatus::ALL.to_vec())),
        concept(),
        opt(date()),
        opt(date()),
        opt(text()),
        work_phones(1),
    )
        .prop_map(
            |(name, status, kind, start, end, provider, telecom)| CareTeam {
                name,
                status,
                category: vec![kind],
                period_start: start,
                period_end: end,
                participants: vec![],
                managing_organisations: provider.into_iter().collect(),
                telecom,
            },
        )
}

fn contact() -> impl Strategy<Value = Contact> {
    (
        human_name().prop_filter("named", |n| !n.given.is_empty() || n.family.is_some()),
        opt(concept()),
        proptest::collection::vec(select(ContactRole::ALL.to_vec()), 0..3),
        telecoms(),
        opt(address()),
        opt(any::<bool>()),
        opt(date()),
    )
        .prop_map(
            |(name, relationship, roles, telecom, address, active, start)| Contact {
                name,
                relationship: relationship
                    .into_iter()
                    .chain(roles.into_iter().map(ContactRole::concept))
                    .collect(),
                telecom,
                address,
                active,
                period_start: start,
            },
        )
}

fn alert() -> impl Strategy<Value = Alert> {
    (
        prop_oneof![
            (coded(), opt(text())).prop_map(|(mut c, t)| {
                c.text = t;
                c
            }),
            text().prop_map(Concept::text),
        ],
        opt(select(AlertStatus::ALL.to_vec())),
        opt(concept()),
        opt(date()),
        opt(date()),
        opt(text()),
    )
        .prop_map(|(code, status, category, start, end, author)| Alert {
            code,
            status,
            category: category.into_iter().collect(),
            period_start: start,
            period_end: end,
            author,
        })
}

fn document() -> impl Strategy<Value = Document> {
    (
        concept(),
        opt(text()),
        opt(select(DocumentStatus::ALL.to_vec())),
        opt(date()),
        proptest::collection::vec(text(), 0..3),
        opt((
            "https://[a-z]{1,8}\\.example/documents/[A-Za-z0-9-]{1,12}(\\?a=1&b=2)?",
            opt(select(vec!["application/pdf", "text/html"])),
        )),
    )
        .prop_map(|(doc_type, title, status, date, authors, link)| Document {
            doc_type,
            category: vec![],
            title,
            status,
            date,
            authors,
            content: link
                .map(|(url, ct)| Attachment {
                    content_type: ct.map(str::to_string),
                    url: Some(url),
                    ..Attachment::default()
                })
                .into_iter()
                .collect(),
            text: None,
            care_plan: None,
        })
}

fn visit() -> impl Strategy<Value = Appointment> {
    (
        opt(select(vec![
            AppointmentStatus::Booked,
            AppointmentStatus::Fulfilled,
            AppointmentStatus::Cancelled,
            AppointmentStatus::Noshow,
        ])),
        opt(concept()),
        opt(text()),
        date_or_instant(),
        opt(date_or_instant()),
        opt(text()),
        proptest::collection::vec(text(), 0..3),
    )
        .prop_map(
            |(status, service, description, start, end, location, participants)| Appointment {
                kind: Some(AppointmentKind::Appointment),
                status,
                class: None,
                service_type: service.into_iter().collect(),
                description,
                start: Some(start),
                end,
                location,
                participants,
                reasons: vec![],
            },
        )
}

/// Records with unique ids that carry XML's special characters.
fn records<T: std::fmt::Debug + Clone>(
    value: impl Strategy<Value = T>,
) -> impl Strategy<Value = Vec<Rec<T>>> {
    let record = (
        value,
        "[A-Za-z0-9&<>'\" é-]{0,6}",
        opt(instant()),
        any::<bool>(),
    );
    proptest::collection::vec(record, 0..4).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(n, (value, suffix, last_updated, restricted))| Rec {
                id: format!("{n}{}", suffix.trim()),
                last_updated,
                restricted,
                value,
            })
            .collect()
    })
}

fn holdings() -> impl Strategy<Value = Holdings> {
    (
        (demographics(), "[A-Z0-9-]{1,10}", opt(instant())),
        records(allocation()),
        records(service()),
        records(contact()),
        records(alert()),
        records(document()),
        records(visit()),
    )
        .prop_map(
            |((d, id, lu), allocations, services, contacts, alerts, documents, visits)| Holdings {
                person: Rec {
                    id,
                    last_updated: lu,
                    restricted: false,
                    value: d,
                },
                allocations,
                services,
                contacts,
                alerts,
                documents,
                visits,
            },
        )
}

fn style() -> impl Strategy<Value = Style> {
    select(vec![
        Style::Prefix("ps"),
        Style::Prefix("x1"),
        Style::Default,
    ])
}

fn meta() -> Arc<SourceMeta> {
    Arc::new(SourceMeta {
        id: SourceId::parse("swindon-asc").unwrap(),
        organisation: "Swindon Borough Council".into(),
        ods_code: OdsCode::parse("E06000030").unwrap(),
        system: "soap-xml".into(),
    })
}

/// One item as compared: (id, last updated, restricted, entry).
type Got = (String, Option<i128>, bool, Entry);

/// What the adapter must give back for every record.
fn expected_items(h: &Holdings) -> Vec<Got> {
    fn add<T: Clone>(out: &mut Vec<Got>, part: &str, recs: &[Rec<T>], f: fn(T) -> Entry) {
        for r in recs {
            out.push((
                format!("{part}/{}", r.id),
                r.last_updated.map(|t| t.unix_timestamp_nanos()),
                r.restricted,
                f(r.value.clone()),
            ));
        }
    }
    let mut out = Vec::new();
    add(&mut out, "Allocation", &h.allocations, Entry::CareTeam);
    add(&mut out, "Service", &h.services, Entry::CareTeam);
    add(&mut out, "Contact", &h.contacts, Entry::Contact);
    add(&mut out, "Alert", &h.alerts, Entry::Alert);
    add(&mut out, "Document", &h.documents, Entry::Document);
    add(&mut out, "Visit", &h.visits, Entry::Appointment);
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_on_bytes(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        fuzz_answer(&data);
    }

    #[test]
    fn never_panics_on_text(data in "\\PC{0,512}") {
        fuzz_answer(data.as_bytes());
    }

    #[test]
    fn never_panics_on_mangled_answers(mutations in proptest::collection::vec(mutation(), 1..8)) {
        let data = apply(EXAMPLE.clone(), &mutations);
        fuzz_answer(&data);
    }

    #[test]
    fn holdings_round_trip(h in holdings(), style in style()) {
        let xml = write(&h, CORRELATION, style).unwrap();
        let expected = Expected {
            nhs_number: NhsNumber::parse(NHS).unwrap(),
            correlation_id: CORRELATION,
            sections: SectionSet::all(),
        };
        let record = read_answer(200, &xml, &expected, &ReadLimits::default(), &meta())
            .unwrap_or_else(|e| panic!("{e}\n{}", String::from_utf8_lossy(&xml)));
        prop_assert_eq!(&record.issues, &vec![], "{}", String::from_utf8_lossy(&xml));
        let patient = record.patient.unwrap();
        prop_assert_eq!(&patient.demographics, &h.person.value);
        prop_assert_eq!(patient.provenance.record.local(), format!("Person/{}", h.person.id));
        prop_assert_eq!(patient.provenance.last_updated, h.person.last_updated);
        let got: Vec<Got> = record
            .items
            .into_iter()
            .map(|i| {
                (
                    i.provenance.record.local().to_string(),
                    i.provenance.last_updated.map(|t| t.unix_timestamp_nanos()),
                    i.provenance.restricted,
                    i.entry,
                )
            })
            .collect();
        prop_assert_eq!(got, expected_items(&h));
    }
}

#[test]
fn mutations_reach_the_mapping() {
    // Sanity for the mutation property: the unmangled example is read in
    // full, and a mangled one is still refused or read without panicking.
    let expected = Expected {
        nhs_number: NhsNumber::parse(NHS).unwrap(),
        correlation_id: "5f0c8a52-4d1e-4b7a-9a53-2f9a8c1d7e01",
        sections: SectionSet::all(),
    };
    let record = read_answer(200, &EXAMPLE, &expected, &ReadLimits::default(), &meta()).unwrap();
    assert_eq!(record.items.len(), 15);
    let mangled = apply(EXAMPLE.clone(), &[Mutation::Insert(400, "&lol;")]);
    assert!(read_answer(200, &mangled, &expected, &ReadLimits::default(), &meta()).is_err());
}

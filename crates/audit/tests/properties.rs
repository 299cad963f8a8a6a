//! Property tests of the pure parts: any record seals into a line that
//! parses back to it and re-seals to the same bytes; no input makes the
//! line parser or the chain check panic; a random change to a valid log is
//! always detected; the audit search's parameters and anchor files never
//! make their parsers panic, and an accepted search writes back to itself.

use std::path::PathBuf;

use icr_audit::{
    AuditRecord, Basis, ChainPoint, Decision, Entry, Event, Interaction, ReasonCode,
    ReleasedRecords, RequestId, SourceAsked, SourceStatus, Timestamp, User, VerifyOptions,
    fuzz_log, fuzz_search, parse_line, seal, verify_streams,
};
use icr_model::time::OffsetDateTime;
use icr_model::{NhsNumber, OdsCode, RecordId, Section, SectionSet, SourceId};
use proptest::prelude::*;

fn sections() -> impl Strategy<Value = SectionSet> {
    any::<u16>().prop_map(|mask| {
        Section::ALL
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, s)| *s)
            .collect()
    })
}

fn user() -> impl Strategy<Value = User> {
    (
        proptest::option::of(".{0,20}"),
        ".{0,20}",
        ".{0,30}",
        ".{0,10}",
        "[A-Z0-9]{3,10}",
    )
        .prop_map(|(issuer, sub, name, role, org)| User {
            issuer,
            sub,
            name,
            role,
            org: OdsCode::parse(&org).unwrap(),
        })
}

fn status() -> impl Strategy<Value = SourceStatus> {
    prop_oneof![
        Just(SourceStatus::Ok),
        Just(SourceStatus::Partial),
        Just(SourceStatus::NotFound),
        Just(SourceStatus::Timeout),
        Just(SourceStatus::Unavailable),
        Just(SourceStatus::Error),
        Just(SourceStatus::Withheld),
        Just(SourceStatus::Skipped),
    ]
}

fn record() -> impl Strategy<Value = AuditRecord> {
    (
        (
            0i64..253_402_300_799,
            0u32..1_000_000,
            "[!-~]{1,40}",
            prop_oneof![
                Just(Interaction::Record),
                Just(Interaction::FhirEverything),
                Just(Interaction::AuditRead),
                Just(Interaction::BreakGlassReview),
                Just(Interaction::Viewer),
                Just(Interaction::Extract)
            ],
            proptest::option::of(user()),
            proptest::option::of(".{0,30}"),
            proptest::option::of(0u32..999_999_999),
            ".{0,20}",
        ),
        (
            proptest::option::of(".{0,60}"),
            prop_oneof![
                Just(Basis::Involved),
                Just(Basis::SelfDeclared),
                Just(Basis::BreakGlass),
                Just(Basis::Oversight),
                Just(Basis::OwnRecord),
                Just(Basis::PopulationHealth),
                Just(Basis::None)
            ],
            sections(),
            sections(),
            proptest::collection::vec(("[a-z0-9][a-z0-9-]{0,12}", status()), 0..6),
            any::<u32>(),
            any::<u32>(),
            any::<bool>(),
            "[a-z0-9][a-z0-9-]{0,20}",
            100u16..600,
            proptest::collection::vec(("[a-z0-9][a-z0-9-]{0,12}", ".{1,20}"), 0..8),
        ),
    )
        .prop_map(
            |(
                (secs, micros, request_id, interaction, user, calling_system, nhs, purpose),
                (
                    break_glass_reason,
                    basis,
                    requested,
                    released,
                    sources,
                    items_released,
                    items_withheld,
                    allowed,
                    reason,
                    http_status,
                    shown,
                ),
            )| {
                let shown: Vec<RecordId> = shown
                    .iter()
                    .filter_map(|(s, id)| RecordId::new(SourceId::parse(s).ok()?, id).ok())
                    .collect();
                let time = OffsetDateTime::from_unix_timestamp(secs)
                    .unwrap()
                    .replace_microsecond(micros)
                    .unwrap();
                AuditRecord {
                    time: Timestamp::from_offset(time),
                    request_id: RequestId::parse(&request_id).unwrap(),
                    interaction,
                    user,
                    calling_system,
                    nhs_number: nhs.and_then(NhsNumber::from_first_nine),
                    purpose,
                    break_glass_reason,
                    basis,
                    sections_requested: requested,
                    sections_released: released,
                    sources: sources
                        .into_iter()
                        .map(|(s, status)| SourceAsked {
                            source: SourceId::parse(&s).unwrap(),
                            status,
                        })
                        .collect(),
                    items_released,
                    items_withheld,
                    shown: ReleasedRecords::of(&shown),
                    decision: if allowed {
                        Decision::Allowed
                    } else {
                        Decision::Refused
                    },
                    reason: ReasonCode::parse(&reason).unwrap(),
                    http_status,
                }
            },
        )
}

/// A valid log of `records`, in time order (as the log writes them).
fn build_log(records: &[AuditRecord]) -> (Vec<u8>, ChainPoint) {
    let mut out = Vec::new();
    let mut head = ChainPoint::GENESIS;
    let mut records = records.to_vec();
    records.sort_by_key(|r| r.time);
    for r in &records {
        let (line, next) = seal(head, &Event::Access(Box::new(r.clone()))).unwrap();
        out.extend_from_slice(&line);
        head = next;
    }
    (out, head)
}

fn verifies(bytes: &[u8], anchor: Option<ChainPoint>) -> bool {
    verify_streams(
        vec![(PathBuf::from("audit-000001.jsonl"), bytes)],
        &VerifyOptions {
            anchors: anchor.into_iter().collect(),
            ..Default::default()
        },
        |_, _, _| {},
    )
    .is_ok()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_record_renders_as_a_valid_audit_event(r in record(), seq in 1u64..u64::MAX) {
        icr_testkit::require_corpora!(R4Schema; return Ok(()));
        let access = icr_audit::LoggedAccess::whole(icr_audit::Sequence::new(seq), r);
        let observer = icr_audit::Observer {
            name: "ICR gateway".into(),
            organisation: OdsCode::parse("QOX").ok(),
        };
        let event = icr_fhir::Resource::AuditEvent(icr_audit::audit_event(&access, &observer));
        let json = serde_json::to_value(&event).unwrap();
        let errors = icr_testkit::fhir_r4_errors(&json);
        prop_assert!(errors.is_empty(), "{errors:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_record_round_trips_through_a_line(r in record(), seq in 0u64..u64::MAX - 1) {
        let after = ChainPoint { seq: icr_audit::Sequence::new(seq), hash: icr_audit::EntryHash::of(&seq.to_le_bytes()) };
        let event = Event::Access(Box::new(r.clone()));
        let (line, head) = seal(after, &event).unwrap();
        prop_assert_eq!(line.last(), Some(&b'\n'));
        prop_assert_eq!(line.iter().filter(|b| **b == b'\n').count(), 1);
        let entry: Entry = parse_line(&line[..line.len() - 1]).unwrap();
        prop_assert_eq!(entry.point(), head);
        prop_assert_eq!(entry.prev, after.hash);
        prop_assert_eq!(entry.access(), Some(&r));
        let (again, _) = seal(after, &entry.event).unwrap();
        prop_assert_eq!(again, line);
    }

    #[test]
    fn search_parameters_and_anchor_files_never_panic(
        data in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        prop_assert!(fuzz_search(&data));
    }

    #[test]
    fn an_accepted_search_writes_back_to_itself(
        params in proptest::collection::vec(
            (
                "_count|before|date|patient|x",
                "(eq|ge|gt|le|lt|ne|)(19[0-9]{2}|20[0-9]{2}|9999)(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01])(T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,9})?(Z|[+-]0[0-9]:[0-5][0-9]))?)?)?|[0-9]{1,4}",
            ),
            0..5,
        ),
    ) {
        let query: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        prop_assert!(fuzz_search(query.join("&").as_bytes()), "{:?}", query);
    }

    #[test]
    fn the_parser_never_panics(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse_line(&data);
        fuzz_log(&data);
    }

    #[test]
    fn json_shaped_input_never_panics(
        head in "\\{\"seq\":[0-9]{1,3},\"prev\":\"[0-9a-f]{64}\",\"(access|recovery)\":\\{",
        body in ".{0,200}",
    ) {
        let line = format!("{head}{body}}},\"hash\":\"{}\"}}", "0".repeat(64));
        prop_assert!(parse_line(line.as_bytes()).is_err());
        fuzz_log(line.as_bytes());
    }

    #[test]
    fn a_random_change_to_a_valid_log_is_detected(
        records in proptest::collection::vec(record(), 1..4),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        kind in 0u8..3,
    ) {
        let (log, head) = build_log(&records);
        prop_assert!(verifies(&log, Some(head)));
        let i = at.index(log.len());
        let mut changed = log.clone();
        match kind {
            0 => {
                prop_assume!(changed[i] != byte);
                changed[i] = byte;
            }
            1 => changed.insert(i, byte),
            _ => {
                changed.remove(i);
            }
        }
        prop_assert!(!verifies(&changed, Some(head)));
    }
}

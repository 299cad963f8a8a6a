//! Properties: answers written with the codec's writer (so every text is
//! escaped as a real sender would) read back value for value; another
//! person's answer is always refused; reading never panics, whatever the
//! bytes.

mod common;

use std::sync::LazyLock;

use common::*;
use icr_adapter_hl7v2::answer::read_answer;
use icr_adapter_hl7v2::fuzz_answer;
use icr_adapter_sdk::SourceError;
use icr_hl7v2::{Delimiters, FieldValue, MessageWriter};
use icr_model::*;
use proptest::prelude::*;

static CORPUS: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
    icr_testkit::corpus_files_if_present("hl7v2", "hl7")
        .into_iter()
        .map(|(_, b)| b)
        .collect()
});

/// One generated observation: its value as written, and as it must read.
#[derive(Clone, Debug)]
enum Obs {
    Number(f64, String),
    Text(String),
    Coded(String, String),
}

fn obs() -> impl Strategy<Value = Obs> {
    prop_oneof![
        (
            -1.0e6f64..1.0e6,
            prop::sample::select(vec!["mmol/L", "g/L", "%", "10*9/L"])
        )
            .prop_map(|(v, u)| Obs::Number(v, u.to_string())),
        "[^\\x00-\\x1f]{1,40}"
            .prop_filter("text with something to show", |s| !s.trim().is_empty()
                && s != "\"\"")
            .prop_map(Obs::Text),
        ("[0-9]{5,9}", "[A-Za-z &|^~\\\\]{1,20}")
            .prop_filter("a display", |(_, d)| !d.trim().is_empty())
            .prop_map(|(c, d)| Obs::Coded(c, d)),
    ]
}

/// An answer for `nhs` with `groups` of observations, written with the
/// codec's writer.
fn write_answer(nhs: &str, groups: &[Vec<Obs>]) -> Vec<u8> {
    let mut w = MessageWriter::new(
        Delimiters::default(),
        &[
            "WINPATH".into(),
            "RD1".into(),
            "ICR".into(),
            "ICR".into(),
            "20240501101500+0100".into(),
            FieldValue::empty(),
            FieldValue::components(["RSP", "K11", "RSP_K11"]),
            "A1".into(),
            "P".into(),
            "2.5.1".into(),
        ],
    );
    w.segment("MSA", &["AA".into(), CONTROL_ID.into()]).unwrap();
    w.segment("QAK", &[QUERY_TAG.into(), "OK".into()]).unwrap();
    w.segment(
        "PID",
        &[
            "1".into(),
            FieldValue::empty(),
            FieldValue::components([nhs, "", "", "NHS", "NH"]),
        ],
    )
    .unwrap();
    for (g, group) in groups.iter().enumerate() {
        let mut obr = vec![FieldValue::empty(); 25];
        obr[0] = (g + 1).to_string().into();
        obr[2] = format!("F{g}").into();
        obr[3] = FieldValue::components(["PANEL", "Panel", "L"]);
        obr[24] = "F".into();
        w.segment("OBR", &obr).unwrap();
        for (n, o) in group.iter().enumerate() {
            let (vt, value, units) = match o {
                Obs::Number(v, u) => (
                    "NM",
                    FieldValue::text(v.to_string()),
                    FieldValue::text(u.clone()),
                ),
                Obs::Text(t) => ("ST", FieldValue::text(t.clone()), FieldValue::empty()),
                Obs::Coded(c, d) => (
                    "CWE",
                    FieldValue::components([c.as_str(), d.as_str(), "SCT"]),
                    FieldValue::empty(),
                ),
            };
            w.segment(
                "OBX",
                &[
                    (n + 1).to_string().into(),
                    vt.into(),
                    FieldValue::components([format!("C{n}"), "Test".into(), "L".into()]),
                    FieldValue::empty(),
                    value,
                    units,
                ],
            )
            .unwrap();
        }
    }
    w.finish().into_bytes()
}

fn mutated() -> impl Strategy<Value = Vec<u8>> {
    let answer = write_answer(
        "9990000018",
        &[vec![
            Obs::Number(4.5, "mmol/L".into()),
            Obs::Text("a \\ b | c".into()),
            Obs::Coded("260415000".into(), "Not detected".into()),
        ]],
    );
    let mut seeds: Vec<Vec<u8>> = CORPUS.clone();
    seeds.push(answer);
    (
        prop::sample::select(seeds),
        proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 1..8),
    )
        .prop_map(|(mut bytes, edits)| {
            for (at, byte, op) in edits {
                if bytes.is_empty() {
                    break;
                }
                let at = at.index(bytes.len());
                match op {
                    0 => bytes[at] = byte,
                    1 => bytes.insert(at, byte),
                    2 => {
                        bytes.remove(at);
                    }
                    _ => bytes.truncate(at),
                }
            }
            bytes
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn written_answers_read_back_value_for_value(
        groups in proptest::collection::vec(proptest::collection::vec(obs(), 2..6), 1..4),
    ) {
        let meta = meta();
        let bytes = write_answer("9990000018", &groups);
        let record = read_answer(&bytes, &expected(), &read_context(&meta)).unwrap();
        prop_assert!(record.issues.is_empty(), "{:?}", record.issues);
        let total: usize = groups.iter().map(|g| g.len() + 1).sum();
        prop_assert_eq!(record.items.len(), total);
        let mut items = record.items.iter();
        for (g, group) in groups.iter().enumerate() {
            let Entry::Result(report) = &items.next().unwrap().entry else { unreachable!() };
            prop_assert_eq!(report.kind, Some(ResultKind::Report));
            prop_assert_eq!(report.members.len(), group.len());
            prop_assert_eq!(report.status, Some(ResultStatus::Final));
            for (n, o) in group.iter().enumerate() {
                let item = items.next().unwrap();
                let want_id = format!("report/F{g}/obx/{}", n + 1);
                prop_assert_eq!(item.provenance.record.local(), want_id.as_str());
                let Entry::Result(r) = &item.entry else { unreachable!() };
                match o {
                    Obs::Number(v, u) => {
                        let Some(ResultValue::Quantity(q)) = &r.value else {
                            return Err(TestCaseError::fail(format!("{:?}", r.value)));
                        };
                        prop_assert_eq!(q.value, Some(*v));
                        prop_assert_eq!(q.unit.as_deref(), Some(u.as_str()));
                    }
                    Obs::Text(t) => prop_assert_eq!(&r.value, &Some(ResultValue::Text(t.clone()))),
                    Obs::Coded(c, d) => {
                        let Some(ResultValue::Coded(concept)) = &r.value else {
                            return Err(TestCaseError::fail(format!("{:?}", r.value)));
                        };
                        prop_assert_eq!(&concept.codings[0].code, c);
                        prop_assert_eq!(concept.codings[0].display.as_deref(), Some(d.trim()));
                        prop_assert_eq!(&concept.codings[0].system, &CodeSystem::Snomed);
                    }
                }
            }
        }
    }

    #[test]
    fn another_persons_answer_is_always_refused(
        first_nine in 999_000_000u32..999_999_999,
        groups in proptest::collection::vec(proptest::collection::vec(obs(), 1..3), 0..3),
    ) {
        let Some(other) = NhsNumber::from_first_nine(first_nine) else { return Ok(()) };
        prop_assume!(other != nhs());
        let meta = meta();
        let bytes = write_answer(other.as_str(), &groups);
        let err = read_answer(&bytes, &expected(), &read_context(&meta)).unwrap_err();
        prop_assert_eq!(err, SourceError::IdentityMismatch("the answer's PID is about another NHS number".into()));
    }

    #[test]
    fn reading_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        fuzz_answer(&bytes);
        let mut framed = b"MSH|^~\\&|A|B|C|D|20240101||RSP^K11|1|P|2.5.1\rMSA|AA|Q1\rQAK|T1|OK\rPID|1||9990000018^^^NHS^NH\r".to_vec();
        framed.extend_from_slice(&bytes);
        fuzz_answer(&framed);
    }

    #[test]
    fn reading_never_panics_on_mutated_answers(bytes in mutated()) {
        icr_testkit::require_corpora!(Hl7v2; return Ok(()));
        fuzz_answer(&bytes);
    }
}

//! Properties: what the writer writes, the tokenizer reads back exactly,
//! whatever the delimiters and text; the tokenizer, the MLLP deframer and
//! the date reader never panic, whatever bytes they are given.

use std::sync::LazyLock;

use icr_hl7v2::dtm::{LocalZone, format_dtm, parse_dtm};
use icr_hl7v2::mllp::{Deframer, MllpError, encode_frame};
use icr_hl7v2::{
    Delimiters, FieldValue, Limits, Message, MessageWriter, escape, fuzz_message, leaves,
};
use icr_model::PartialDateTime;
use icr_model::time::{Date, Month, PrimitiveDateTime, Time, UtcOffset};
use proptest::prelude::*;
use proptest::sample::{select, subsequence};

static CORPUS: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
    icr_testkit::corpus_files_if_present("hl7v2", "hl7")
        .into_iter()
        .map(|(_, b)| b)
        .collect()
});

/// Characters a sender may pick as delimiters.
const SYMBOLS: &[char] = &[
    '|', '^', '~', '\\', '&', '#', '!', '@', '$', '%', '*', '+', '=', ':', ';', '/', '?', '.', ',',
    '-', '_', '<', '>', '"', '{', '}', '[', ']', '(', ')', '`', '\'',
];

/// A delimiter set with an escape character: four or five distinct symbols
/// after the field separator, shuffled.
fn delimiters() -> impl Strategy<Value = Delimiters> {
    prop_oneof![
        Just(Delimiters::default()),
        (
            subsequence(SYMBOLS.to_vec(), 5..=6).prop_shuffle(),
            any::<bool>()
        )
            .prop_map(|(mut chars, five)| {
                if !five {
                    chars.truncate(5);
                }
                let bytes: Vec<u8> = chars.iter().map(|&c| c as u8).collect();
                Delimiters::from_msh(bytes[0], &bytes[1..]).unwrap()
            }),
    ]
}

/// Text of any characters, with the delimiters, escapes and line breaks
/// that a writer has to escape often among them.
fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            3 => any::<char>(),
            2 => select(SYMBOLS.to_vec()),
            1 => select(vec!['\r', '\n', '\t', '\u{0b}', '\u{1c}', '\u{0}', 'é', '日', '\u{feff}']),
        ],
        0..10,
    )
    .prop_map(String::from_iter)
}

fn field() -> impl Strategy<Value = FieldValue> {
    proptest::collection::vec(
        proptest::collection::vec(proptest::collection::vec(text(), 0..3), 0..4),
        0..3,
    )
    .prop_map(FieldValue::from_parts)
}

fn segment_id() -> impl Strategy<Value = String> {
    "[A-Z][A-Z0-9]{2}".prop_filter("MSH is written by the writer", |s| s != "MSH")
}

fn segments() -> impl Strategy<Value = (Vec<FieldValue>, Vec<(String, Vec<FieldValue>)>)> {
    (
        proptest::collection::vec(field(), 0..6),
        proptest::collection::vec(
            (segment_id(), proptest::collection::vec(field(), 0..8)),
            0..6,
        ),
    )
}

/// What the tokenizer gives back for a field: trailing empty parts gone.
fn normalise(f: &FieldValue) -> FieldValue {
    let mut reps: Vec<Vec<Vec<String>>> = f
        .parts()
        .iter()
        .map(|r| {
            let mut comps: Vec<Vec<String>> = r
                .iter()
                .map(|c| {
                    let mut subs = c.clone();
                    while subs.last().is_some_and(String::is_empty) {
                        subs.pop();
                    }
                    subs
                })
                .collect();
            while comps.last().is_some_and(Vec::is_empty) {
                comps.pop();
            }
            comps
        })
        .collect();
    while reps.last().is_some_and(Vec::is_empty) {
        reps.pop();
    }
    FieldValue::from_parts(reps)
}

fn normalise_all(fields: &[FieldValue]) -> Vec<FieldValue> {
    let mut v: Vec<FieldValue> = fields.iter().map(normalise).collect();
    while v.last().is_some_and(|f| f.parts().is_empty()) {
        v.pop();
    }
    v
}

/// A corpus message with a few bytes changed, cut or added.
fn mutated() -> impl Strategy<Value = Vec<u8>> {
    (
        0..CORPUS.len().max(1),
        proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 1..8),
    )
        .prop_map(|(i, edits)| {
            let mut bytes = CORPUS.get(i).cloned().unwrap_or_default();
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
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn written_messages_read_back_exactly(d in delimiters(), (msh, body) in segments()) {
        let mut w = MessageWriter::new(d, &msh);
        for (id, fields) in &body {
            w.segment(id, fields).unwrap();
        }
        let text = w.finish();
        // a written message never holds a raw line break or MLLP byte
        // inside a segment, so it frames
        prop_assert!(encode_frame(text.as_bytes()).is_ok());
        let m = Message::parse(text.as_bytes(), &Limits::default()).unwrap();
        prop_assert_eq!(m.delimiters(), &d);
        let read = leaves(&m);
        prop_assert_eq!(read.len(), body.len() + 1);
        prop_assert_eq!(&read[0].1, &normalise_all(&msh));
        for ((id, fields), (rid, rfields)) in body.iter().zip(&read[1..]) {
            prop_assert_eq!(id, rid);
            prop_assert_eq!(&normalise_all(fields), rfields);
        }
        // and by position: every leaf written is the leaf read there
        for ((_, fields), seg) in body.iter().zip(m.segments().skip(1)) {
            for (fi, f) in fields.iter().enumerate() {
                for (ri, r) in f.parts().iter().enumerate() {
                    for (ci, c) in r.iter().enumerate() {
                        for (si, s) in c.iter().enumerate() {
                            let got = seg.field(fi + 1).repetition(ri + 1).component(ci + 1).subcomponent(si + 1).text();
                            prop_assert_eq!(got.as_ref(), s.as_str());
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn escaping_is_undone_by_decoding(d in delimiters(), s in text()) {
        let e = escape::encode(&s, &d);
        prop_assert!(!e.bytes().any(|b| d.field == b || d.component == b || d.repetition == Some(b) || d.subcomponent == Some(b)));
        prop_assert!(!e.bytes().any(|b| b.is_ascii_control()));
        prop_assert_eq!(escape::decode(&e, &d), s);
    }

    #[test]
    fn parse_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = Message::parse(&bytes, &Limits::default());
        fuzz_message(&bytes);
        let mut with_msh = b"MSH|^~\\&|".to_vec();
        with_msh.extend_from_slice(&bytes);
        fuzz_message(&with_msh);
    }

    #[test]
    fn parse_never_panics_on_mutated_corpus(bytes in mutated()) {
        icr_testkit::require_corpora!(Hl7v2; return Ok(()));
        fuzz_message(&bytes);
    }

    #[test]
    fn decoding_never_panics(raw in "[\\\\A-Z0-9.+ -]{0,30}", d in delimiters()) {
        let _ = escape::decode(&raw, &d);
    }

    #[test]
    fn frames_come_back_whatever_the_chunks(
        payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>().prop_filter("no MLLP bytes", |b| *b != 0x0b && *b != 0x1c), 0..50), 1..5),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
        gap in select(vec![&b""[..], b"\r", b"\r\n", b" \n"]),
    ) {
        let mut stream = Vec::new();
        for p in &payloads {
            stream.extend(encode_frame(p).unwrap());
            stream.extend_from_slice(gap);
        }
        let mut at: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
        at.push(0);
        at.push(stream.len());
        at.sort_unstable();
        let mut d = Deframer::new(50);
        let mut got = Vec::new();
        for w in at.windows(2) {
            d.push(&stream[w[0]..w[1]]).unwrap();
            while let Some(f) = d.next_frame() {
                got.push(f);
            }
        }
        d.finish().unwrap();
        prop_assert_eq!(got, payloads);
    }

    #[test]
    fn deframer_never_panics_and_bounds_frames(
        bytes in proptest::collection::vec(prop_oneof![any::<u8>(), Just(0x0b), Just(0x1c), Just(0x0d)], 0..300),
        chunk in 1usize..40,
    ) {
        let mut d = Deframer::new(32);
        let mut failed = false;
        for c in bytes.chunks(chunk) {
            match d.push(c) {
                Ok(()) => {}
                Err(e) => {
                    failed = true;
                    let expected = matches!(e, MllpError::TooLarge { limit: 32 } | MllpError::OutsideFrame | MllpError::NestedStart);
                    prop_assert!(expected, "{:?}", e);
                    // refused from then on
                    prop_assert!(d.push(b"\x0bx\x1c\r").is_err());
                    break;
                }
            }
            while let Some(f) = d.next_frame() {
                prop_assert!(f.len() <= 32);
                prop_assert!(!f.contains(&0x0b) && !f.contains(&0x1c));
            }
        }
        if !failed {
            let pending = d.pending();
            prop_assert_eq!(d.finish().is_err(), pending.is_some());
        }
    }

    #[test]
    fn dtm_never_panics(s in "[0-9+.-]{0,26}", t in "\\PC{0,26}") {
        let _ = parse_dtm(&s, LocalZone::EuropeLondon);
        let _ = parse_dtm(&t, LocalZone::Utc);
    }

    #[test]
    fn dtm_round_trips(y in 1900i32..2100, m in 1u8..=12, d in 1u8..=28, h in 0u8..24, mi in 0u8..60, s in 0u8..60, off in -12i8..=14, precision in 0u8..4) {
        let month = Month::try_from(m).unwrap();
        let date = Date::from_calendar_date(y, month, d).unwrap();
        let v = match precision {
            0 => PartialDateTime::Year(y),
            1 => PartialDateTime::YearMonth(y, month),
            2 => PartialDateTime::Date(date),
            _ => PartialDateTime::DateTime(
                PrimitiveDateTime::new(date, Time::from_hms(h, mi, s).unwrap())
                    .assume_offset(UtcOffset::from_hms(off, 0, 0).unwrap()),
            ),
        };
        let text = format_dtm(&v);
        let back = parse_dtm(&text, LocalZone::EuropeLondon).unwrap();
        prop_assert_eq!(back, v);
        prop_assert_eq!(back.to_string(), v.to_string());
    }
}

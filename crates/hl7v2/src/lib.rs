//! HL7 v2 messages and MLLP framing: tokenizer, escapes, writer.
//!
//! In the request flow this is the codec under the `hl7v2` adapter (and
//! the simulated lab): the adapter writes its QBP^Q11 query with
//! [`MessageWriter`], frames it with [`mllp::encode_frame`], reads the
//! answer's bytes through a [`mllp::Deframer`], tokenizes the RSP^K11 with
//! [`Message::parse`] and reads dates with [`dtm::parse_dtm`]. Everything
//! here is pure: no I/O, no clock, no global state.
//!
//! The tokenizer reads the delimiters a message declares in MSH-1/MSH-2,
//! accepts v2.1 to v2.8, `\r`, `\n` or `\r\n` between segments and a
//! leading byte-order mark, and bounds everything ([`Limits`]): message
//! size, segments, fields, repetitions, components, subcomponents. It does
//! not recurse. Escapes are decoded when a value is read
//! ([`escape::decode`]), so the structure is never confused by an escaped
//! delimiter and text after non-ASCII characters decodes correctly. Errors
//! name positions, never content.
//!
//! ```
//! use icr_hl7v2::{Limits, Message};
//!
//! let m = Message::parse(
//!     b"MSH|^~\\&|LAB|RD1\rOBX|1|ST|x^Comment^L||Fish \\T\\ chips\r",
//!     &Limits::default(),
//! )
//! .unwrap();
//! let obx = m.segment("OBX").unwrap();
//! assert_eq!(obx.field(3).component(2).text(), "Comment");
//! assert_eq!(obx.field(5).text(), "Fish & chips");
//! ```

#![warn(missing_docs)]

mod delimiters;
pub mod dtm;
pub mod escape;
mod limits;
mod message;
pub mod mllp;
mod writer;

pub use delimiters::Delimiters;
pub use limits::{Limits, ParseError};
pub use message::{Component, Field, Message, Repetition, Segment, Subcomponent};
pub use writer::{FieldValue, MessageWriter, WriteError};

/// Tokenizes `data` and reads every value in it (every leaf decoded, every
/// leaf tried as a date), then writes what was read back out and reads that
/// again, checking that the two readings agree: the entry point for
/// fuzzing. It must never panic except on a disagreement, which is a bug.
pub fn fuzz_message(data: &[u8]) {
    let Ok(message) = Message::parse(data, &Limits::default()) else {
        return;
    };
    let zone =
        dtm::LocalZone::for_message(&message.msh().field(7).text(), dtm::LocalZone::EuropeLondon);
    let tree = leaves(&message);
    for segment in &tree {
        for field in &segment.1 {
            for rep in field.parts() {
                for comp in rep {
                    for sub in comp {
                        let _ = dtm::parse_dtm(sub, zone);
                    }
                }
            }
        }
    }
    for s in message.segments() {
        for f in s.fields() {
            for r in f.repetitions() {
                for c in r.components() {
                    let _ = c.full_text();
                }
            }
        }
    }
    let written = write(message.delimiters(), &tree);
    let limits = Limits {
        max_message_bytes: usize::MAX,
        ..Limits::default()
    };
    match Message::parse(written.as_bytes(), &limits) {
        Ok(again) => assert_eq!(leaves(&again), tree, "write → parse changed the message"),
        Err(e) => panic!("a written message does not parse: {e}"),
    }
}

/// Feeds `data` to an MLLP [`mllp::Deframer`] in chunks (the first byte
/// sets the chunk size), taking every frame out, and tokenizes each frame:
/// the entry point for fuzzing the de-framer. It checks that no frame is
/// over the limit or holds a framing byte, and must never panic otherwise.
pub fn fuzz_mllp(data: &[u8]) {
    const MAX: usize = 4096;
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(first % 64) + 1;
    let mut deframer = mllp::Deframer::new(MAX);
    for piece in rest.chunks(chunk) {
        if deframer.push(piece).is_err() {
            assert!(
                deframer.push(b"\x0bx\x1c\r").is_err(),
                "a failed deframer recovered"
            );
            return;
        }
        while let Some(frame) = deframer.next_frame() {
            assert!(frame.len() <= MAX, "a frame over the limit");
            assert!(
                !frame.iter().any(|&b| b == mllp::START || b == mllp::END),
                "a frame holding a framing byte"
            );
            let _ = Message::parse(&frame, &Limits::default());
        }
    }
    let pending = deframer.pending().is_some();
    assert_eq!(
        deframer.finish().is_err(),
        pending,
        "finish disagrees with pending"
    );
}

/// Every segment as (id, fields from MSH-3 or field 1), each field as its
/// decoded leaves with trailing empty parts dropped.
#[doc(hidden)]
pub fn leaves(message: &Message) -> Vec<(String, Vec<FieldValue>)> {
    message
        .segments()
        .map(|s| {
            let skip = if s.id() == "MSH" { 2 } else { 0 };
            let mut fields: Vec<FieldValue> = s
                .fields()
                .skip(skip)
                .map(|f| {
                    let mut reps: Vec<Vec<Vec<String>>> = f
                        .repetitions()
                        .map(|r| {
                            let mut comps: Vec<Vec<String>> = r
                                .components()
                                .map(|c| {
                                    let mut subs: Vec<String> =
                                        c.subcomponents().map(|x| x.text().into_owned()).collect();
                                    trim(&mut subs, String::is_empty);
                                    subs
                                })
                                .collect();
                            trim(&mut comps, Vec::is_empty);
                            comps
                        })
                        .collect();
                    trim(&mut reps, Vec::is_empty);
                    FieldValue::from_parts(reps)
                })
                .collect();
            trim(&mut fields, |f| f.parts().is_empty());
            (s.id().to_string(), fields)
        })
        .collect()
}

fn trim<T>(v: &mut Vec<T>, blank: impl Fn(&T) -> bool) {
    while v.last().is_some_and(&blank) {
        v.pop();
    }
}

/// Writes leaves as read by [`leaves`] back into a message.
#[doc(hidden)]
pub fn write(d: &Delimiters, tree: &[(String, Vec<FieldValue>)]) -> String {
    let mut segments = tree.iter();
    let msh = segments.next().map(|s| s.1.as_slice()).unwrap_or_default();
    let mut w = MessageWriter::new(*d, msh);
    for (id, fields) in segments {
        // Ids come from a parsed message, so they are valid.
        let _ = w.segment(id, fields);
    }
    w.finish()
}

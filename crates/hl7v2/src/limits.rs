//! Bounds on what the tokenizer accepts, and why it refused a message.

/// Bounds on one message. The structure itself is at most five levels deep
/// (segment, field, repetition, component, subcomponent) and is read
/// without recursion; these bound its breadth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest message, in bytes (at most 4 GiB).
    pub max_message_bytes: usize,
    /// Most segments in one message.
    pub max_segments: usize,
    /// Most fields in one segment.
    pub max_fields: usize,
    /// Most repetitions of one field.
    pub max_repetitions: usize,
    /// Most components in one repetition.
    pub max_components: usize,
    /// Most subcomponents in one component.
    pub max_subcomponents: usize,
}

impl Default for Limits {
    /// 16 MiB, 50 000 segments, 300 fields a segment, 1 000 repetitions a
    /// field, 100 components, 100 subcomponents: far beyond any real
    /// message, small enough that a hostile one costs little.
    fn default() -> Self {
        Self {
            max_message_bytes: 16 * 1024 * 1024,
            max_segments: 50_000,
            max_fields: 300,
            max_repetitions: 1_000,
            max_components: 100,
            max_subcomponents: 100,
        }
    }
}

/// Why a message could not be tokenized. Messages name positions and
/// limits only, never content, since a message carries patient data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The message is larger than [`Limits::max_message_bytes`].
    #[error("message over the {limit} byte limit")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// Nothing but whitespace.
    #[error("empty message")]
    Empty,
    /// The first segment is not MSH.
    #[error("not an HL7 v2 message: it does not start with an MSH segment")]
    NoMsh,
    /// MSH-1 or MSH-2 does not declare usable delimiters.
    #[error("bad encoding characters: {0}")]
    BadDelimiters(&'static str),
    /// A segment does not start with a three-character segment id.
    #[error("segment {segment} has no valid segment id")]
    BadSegmentId {
        /// The segment's position, from 1.
        segment: usize,
    },
    /// A second MSH segment: one message is read at a time.
    #[error("segment {segment} is a second MSH: one message is read at a time")]
    SecondMsh {
        /// The segment's position, from 1.
        segment: usize,
    },
    /// More segments, fields, repetitions, components or subcomponents
    /// than the limits allow.
    #[error("segment {segment}: more than {limit} {what}")]
    TooMany {
        /// What there are too many of (`segments`, `fields`, …).
        what: &'static str,
        /// The segment's position, from 1.
        segment: usize,
        /// The limit.
        limit: usize,
    },
}

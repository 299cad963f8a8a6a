//! A JSON text scanned once into a flat tree of spans, and a serde
//! `Deserializer` over that tree.
//!
//! The tolerant reader ([`crate::lenient`]) reads every element from its
//! JSON text and retries it in other shapes when it does not fit. Read
//! straight from the text, each element's text is scanned again by every
//! element that encloses it (a `coding.code` six levels down, six times),
//! and a retry scans it once more. Here a resource's text is scanned once
//! ([`Tree::scan`], which also checks the nesting depth); reading and
//! retrying an element then walk the tree, and skipping an unknown
//! element costs nothing.
//!
//! The scan accepts exactly the JSON `serde_json` accepts (the tolerant
//! reader falls back to `serde_json` for the error of anything it refuses,
//! so the errors are the same as ever), and the deserializer makes the same
//! visitor calls `serde_json` does: numbers and escaped strings are handed
//! to `serde_json` itself, and a node asked for as a `RawValue` is given
//! as its span of the text (through `serde_json`'s `RawValue` protocol).

use std::cell::Cell;

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::forward_to_deserialize_any;

/// The name `serde_json` asks a deserializer for when it reads a
/// `RawValue`: the one key of a map whose value is the raw text.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// What a node holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Null,
    True,
    False,
    Number,
    String,
    Array,
    Object,
}

/// One value of the text: its span, and (for arrays and objects) where its
/// children end. An object's children are its keys and values in turn.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Node {
    /// The first byte of the value.
    pub start: u32,
    /// One past its last byte.
    pub end: u32,
    /// The index of the node after this one and its children.
    pub next: u32,
    pub kind: Kind,
    /// A string with a backslash escape (read through `serde_json`).
    pub escaped: bool,
    /// How deep arrays and objects nest in it (0 for a scalar).
    pub height: u16,
}

/// Why a text could not be scanned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ScanError {
    /// Not JSON (or longer than a `u32` counts).
    Syntax,
    /// Arrays and objects nest deeper than the limit.
    TooDeep,
}

/// A JSON text's values, in document order (so their starts increase).
#[derive(Debug)]
pub(crate) struct Tree {
    pub nodes: Vec<Node>,
}

impl Tree {
    /// Scans `text`, which must be one JSON value with only whitespace
    /// around it, nesting arrays and objects at most `max_depth` deep.
    pub fn scan(text: &str, max_depth: usize) -> Result<Tree, ScanError> {
        // Heights are counted in a u16, the scan recurses once a level.
        let max_depth = max_depth.min(usize::from(u16::MAX));
        if u32::try_from(text.len()).is_err() {
            return Err(ScanError::Syntax);
        }
        let mut s = Scanner {
            b: text.as_bytes(),
            i: 0,
            nodes: Vec::with_capacity(text.len() / 8),
            max_depth,
        };
        s.value(0)?;
        s.ws();
        if s.i != s.b.len() {
            return Err(ScanError::Syntax);
        }
        Ok(Tree { nodes: s.nodes })
    }

    /// The index of the node whose span is `start..start + len`: the node
    /// last handed out as a `RawValue` when it is that one (the usual
    /// case: an element read just after its text was handed out), else
    /// found by its start.
    pub fn find(&self, start: usize, len: usize) -> Option<usize> {
        let spans = |i: usize| {
            self.nodes
                .get(i)
                .is_some_and(|n| n.start as usize == start && (n.end - n.start) as usize == len)
        };
        let hint = LAST_RAW.with(Cell::get);
        if spans(hint) {
            return Some(hint);
        }
        let i = self
            .nodes
            .binary_search_by_key(&start, |n| n.start as usize)
            .ok()?;
        spans(i).then_some(i)
    }
}

thread_local! {
    /// The index of the node last handed out as a `RawValue`: a hint for
    /// [`Tree::find`], checked against the span before it is used.
    static LAST_RAW: Cell<usize> = const { Cell::new(usize::MAX) };
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
    nodes: Vec<Node>,
    max_depth: usize,
}

impl Scanner<'_> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn push(&mut self, kind: Kind, start: usize, escaped: bool) -> usize {
        self.nodes.push(Node {
            start: start as u32,
            end: start as u32,
            next: 0,
            kind,
            escaped,
            height: 0,
        });
        self.nodes.len() - 1
    }

    fn close(&mut self, idx: usize) {
        let next = self.nodes.len() as u32;
        let end = self.i as u32;
        if let Some(n) = self.nodes.get_mut(idx) {
            n.end = end;
            n.next = next;
        }
    }

    /// One value; `depth` is the number of arrays and objects around it.
    fn value(&mut self, depth: usize) -> Result<(), ScanError> {
        self.ws();
        let start = self.i;
        match self.peek().ok_or(ScanError::Syntax)? {
            c @ (b'{' | b'[') => {
                if depth + 1 > self.max_depth {
                    return Err(ScanError::TooDeep);
                }
                let object = c == b'{';
                let closing = if object { b'}' } else { b']' };
                let idx = self.push(
                    if object { Kind::Object } else { Kind::Array },
                    start,
                    false,
                );
                self.i += 1;
                self.ws();
                let mut below = 0u16;
                if self.peek() == Some(closing) {
                    self.i += 1;
                } else {
                    loop {
                        if object {
                            self.ws();
                            if self.peek() != Some(b'"') {
                                return Err(ScanError::Syntax);
                            }
                            self.string()?;
                            self.ws();
                            if self.peek() != Some(b':') {
                                return Err(ScanError::Syntax);
                            }
                            self.i += 1;
                        }
                        let child = self.nodes.len();
                        self.value(depth + 1)?;
                        below = below.max(self.nodes.get(child).map_or(0, |n| n.height));
                        self.ws();
                        match self.peek() {
                            Some(b',') => self.i += 1,
                            Some(c) if c == closing => {
                                self.i += 1;
                                break;
                            }
                            _ => return Err(ScanError::Syntax),
                        }
                    }
                }
                self.close(idx);
                if let Some(n) = self.nodes.get_mut(idx) {
                    n.height = below + 1;
                }
            }
            b'"' => self.string()?,
            b't' => self.literal(b"true", Kind::True)?,
            b'f' => self.literal(b"false", Kind::False)?,
            b'n' => self.literal(b"null", Kind::Null)?,
            b'-' | b'0'..=b'9' => self.number()?,
            _ => return Err(ScanError::Syntax),
        }
        Ok(())
    }

    fn literal(&mut self, word: &[u8], kind: Kind) -> Result<(), ScanError> {
        if !self.b[self.i..].starts_with(word) {
            return Err(ScanError::Syntax);
        }
        let idx = self.push(kind, self.i, false);
        self.i += word.len();
        self.close(idx);
        Ok(())
    }

    fn digits(&mut self) -> usize {
        let from = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        self.i - from
    }

    fn number(&mut self) -> Result<(), ScanError> {
        let idx = self.push(Kind::Number, self.i, false);
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(ScanError::Syntax),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return Err(ScanError::Syntax);
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(ScanError::Syntax);
            }
        }
        self.close(idx);
        Ok(())
    }

    fn string(&mut self) -> Result<(), ScanError> {
        let start = self.i;
        self.i += 1;
        let mut escaped = false;
        loop {
            self.i += special(self.b.get(self.i..).unwrap_or_default()).ok_or(ScanError::Syntax)?;
            match self.b[self.i] {
                b'"' => {
                    self.i += 1;
                    break;
                }
                b'\\' => {
                    escaped = true;
                    self.i += 1;
                    match self.peek() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.i += 1,
                        Some(b'u') => {
                            let hex = self
                                .b
                                .get(self.i + 1..self.i + 5)
                                .ok_or(ScanError::Syntax)?;
                            if !hex.iter().all(u8::is_ascii_hexdigit) {
                                return Err(ScanError::Syntax);
                            }
                            self.i += 5;
                        }
                        _ => return Err(ScanError::Syntax),
                    }
                }
                // A control character.
                _ => return Err(ScanError::Syntax),
            }
        }
        let idx = self.push(Kind::String, start, escaped);
        self.close(idx);
        Ok(())
    }
}

/// The position of the first quote, backslash or control character in
/// `bytes`: eight bytes at a time (as `serde_json` does), then one by one.
fn special(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH: u64 = ONES << 7;
    let mut at = 0;
    for chunk in bytes.chunks_exact(8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let quote = w ^ (ONES * u64::from(b'"'));
        let backslash = w ^ (ONES * u64::from(b'\\'));
        // The lowest flagged byte is exact (borrows only run upwards).
        let found = ((w.wrapping_sub(ONES * 0x20) & !w)
            | (quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash))
            & HIGH;
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    bytes[at..]
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .map(|p| at + p)
}

/// A node of a scanned text, as a serde `Deserializer`. `text` is the
/// node's own span or one that holds it, starting at byte `origin` of the
/// scanned text.
#[derive(Clone, Copy)]
pub(crate) struct NodeDe<'t, 'de> {
    pub text: &'de str,
    pub origin: usize,
    pub nodes: &'t [Node],
    pub idx: usize,
}

fn broken() -> serde_json::Error {
    de::Error::custom("the scanned tree does not match its text")
}

impl<'t, 'de> NodeDe<'t, 'de> {
    pub fn node(&self) -> Result<Node, serde_json::Error> {
        self.nodes.get(self.idx).copied().ok_or_else(broken)
    }

    /// The text of node `n`.
    pub fn span(&self, n: &Node) -> Result<&'de str, serde_json::Error> {
        let from = (n.start as usize)
            .checked_sub(self.origin)
            .ok_or_else(broken)?;
        let to = (n.end as usize)
            .checked_sub(self.origin)
            .ok_or_else(broken)?;
        self.text.get(from..to).ok_or_else(broken)
    }

    fn at(&self, idx: usize) -> Self {
        NodeDe { idx, ..*self }
    }

    /// The children of an array, or the keys and values of an object.
    pub fn children(&self) -> Children<'t, 'de> {
        let (next, end) = match self.nodes.get(self.idx) {
            Some(n) if matches!(n.kind, Kind::Array | Kind::Object) => {
                (self.idx + 1, n.next as usize)
            }
            _ => (0, 0),
        };
        Children {
            de: *self,
            next,
            end,
        }
    }

    /// A string node's value (escapes read by `serde_json`).
    pub fn string(&self) -> Result<std::borrow::Cow<'de, str>, serde_json::Error> {
        let n = self.node()?;
        let span = self.span(&n)?;
        if n.kind != Kind::String {
            return Err(de::Error::invalid_type(
                de::Unexpected::Other("not a string"),
                &"a string",
            ));
        }
        if n.escaped {
            serde_json::from_str::<String>(span).map(std::borrow::Cow::Owned)
        } else {
            Ok(std::borrow::Cow::Borrowed(
                span.get(1..span.len().saturating_sub(1))
                    .ok_or_else(broken)?,
            ))
        }
    }
}

/// The children of a node, in order.
pub(crate) struct Children<'t, 'de> {
    de: NodeDe<'t, 'de>,
    next: usize,
    end: usize,
}

impl<'t, 'de> Iterator for Children<'t, 'de> {
    type Item = NodeDe<'t, 'de>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.end {
            return None;
        }
        let child = self.de.at(self.next);
        self.next = (self.de.nodes.get(self.next)?.next as usize).max(self.next + 1);
        Some(child)
    }
}

impl<'de> de::Deserializer<'de> for NodeDe<'_, 'de> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        let n = self.node()?;
        match n.kind {
            Kind::Null => visitor.visit_unit(),
            Kind::True => visitor.visit_bool(true),
            Kind::False => visitor.visit_bool(false),
            Kind::Number => {
                let number: serde_json::Number = serde_json::from_str(self.span(&n)?)?;
                if let Some(u) = number.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(i) = number.as_i64() {
                    visitor.visit_i64(i)
                } else {
                    visitor.visit_f64(number.as_f64().ok_or_else(broken)?)
                }
            }
            Kind::String => match self.string()? {
                std::borrow::Cow::Borrowed(s) => visitor.visit_borrowed_str(s),
                std::borrow::Cow::Owned(s) => visitor.visit_string(s),
            },
            Kind::Array => {
                let mut seq = Elements(self.children());
                let value = visitor.visit_seq(&mut seq)?;
                match seq.0.next() {
                    None => Ok(value),
                    Some(_) => Err(de::Error::custom("trailing elements")),
                }
            }
            Kind::Object => {
                let mut map = Entries {
                    children: self.children(),
                    value: None,
                };
                let value = visitor.visit_map(&mut map)?;
                match map.children.next() {
                    None => Ok(value),
                    Some(_) => Err(de::Error::custom("trailing entries")),
                }
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        if self.node()?.kind == Kind::Null {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        if name == RAW_VALUE_TOKEN {
            let n = self.node()?;
            LAST_RAW.with(|h| h.set(self.idx));
            visitor.visit_map(RawEntry(Some(self.span(&n)?)))
        } else {
            visitor.visit_newtype_struct(self)
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_unit()
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct
        enum identifier
    }
}

struct Elements<'t, 'de>(Children<'t, 'de>);

impl<'de> SeqAccess<'de> for Elements<'_, 'de> {
    type Error = serde_json::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Self::Error> {
        self.0.next().map(|d| seed.deserialize(d)).transpose()
    }
}

struct Entries<'t, 'de> {
    children: Children<'t, 'de>,
    value: Option<NodeDe<'t, 'de>>,
}

impl<'de> MapAccess<'de> for Entries<'_, 'de> {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        let Some(key) = self.children.next() else {
            return Ok(None);
        };
        self.value = Some(self.children.next().ok_or_else(broken)?);
        seed.deserialize(key).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        seed.deserialize(self.value.take().ok_or_else(broken)?)
    }
}

/// `serde_json`'s `RawValue` protocol: a map of one entry, the token and
/// the raw text.
struct RawEntry<'de>(Option<&'de str>);

impl<'de> MapAccess<'de> for RawEntry<'de> {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        if self.0.is_none() {
            return Ok(None);
        }
        seed.deserialize(BorrowedStrDeserializer::new(RAW_VALUE_TOKEN))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        seed.deserialize(BorrowedStrDeserializer::new(
            self.0.take().ok_or_else(broken)?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::value::RawValue;

    fn read<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, serde_json::Error> {
        let tree = Tree::scan(text, 128).expect("scans");
        T::deserialize(NodeDe {
            text,
            origin: 0,
            nodes: &tree.nodes,
            idx: 0,
        })
    }

    #[test]
    fn accepts_and_refuses_what_serde_json_does() {
        let cases = [
            r#"{"a":[1,-2,3.5e2,"x\"y\u00e9",true,false,null,{}],"b":{"c":[]}}"#,
            " [ 0 , -0.0 , 1E+2 ] ",
            r#""\ud800""#,
            "{}",
            "",
            "{",
            "[1,]",
            r#"{"a":1,}"#,
            "01",
            "1.",
            "-",
            "1e",
            "tru",
            "nul",
            "\"a\u{1}\"",
            r#""\x""#,
            r#""\u12g4""#,
            "{} x",
            "[1 2]",
            r#"{"a" 1}"#,
            r#"{1:2}"#,
        ];
        for case in cases {
            assert_eq!(
                Tree::scan(case, 48).is_ok(),
                serde_json::from_str::<serde::de::IgnoredAny>(case).is_ok(),
                "{case:?}"
            );
        }
        let deep = format!("{}{}", "[".repeat(49), "]".repeat(49));
        assert_eq!(Tree::scan(&deep, 48).unwrap_err(), ScanError::TooDeep);
        assert!(Tree::scan(&deep[1..deep.len() - 1], 48).is_ok());
    }

    #[test]
    fn reads_as_serde_json_reads() {
        let text = r#"{"a":[1,-2,3.5e2,"x\"y\u00e9",true,null],"b":{"c":{"d":"e"}},"z":18446744073709551616}"#;
        let ours: serde_json::Value = read(text).unwrap();
        let theirs: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(ours, theirs);

        #[derive(Deserialize)]
        struct Probe<'a> {
            #[serde(borrow)]
            raw: &'a RawValue,
            boxed: Box<RawValue>,
            opt: Option<u32>,
            none: Option<u32>,
        }
        let text = r#"{"raw": {"x": [1, 2]}, "boxed":"s", "opt": 7, "none": null, "extra": [{}]}"#;
        let p: Probe<'_> = read(text).unwrap();
        assert_eq!(p.raw.get(), r#"{"x": [1, 2]}"#);
        assert_eq!(p.boxed.get(), r#""s""#);
        assert_eq!((p.opt, p.none), (Some(7), None));
        assert!(read::<Probe<'_>>(r#"{"raw":1,"raw":2}"#).is_err());
        assert!(read::<(u32,)>("[1,2]").is_err());
        assert!(read::<String>("1").is_err());
    }

    proptest::proptest! {
        /// Over short texts of JSON's own characters, the scan takes what
        /// `serde_json` takes, and reads it as `serde_json` does.
        #[test]
        fn scans_and_reads_as_serde_json(text in r#"[\[\]{}",: 0-9.eE+\-tfalsenu\\/x\u{1}é]{0,24}"#) {
            let theirs = serde_json::from_str::<serde::de::IgnoredAny>(&text).is_ok();
            proptest::prop_assert_eq!(Tree::scan(&text, 128).is_ok(), theirs);
            if let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) {
                let ours: serde_json::Value = read(&text).map_err(|e| {
                    proptest::test_runner::TestCaseError::fail(e.to_string())
                })?;
                proptest::prop_assert_eq!(ours, value);
            }
        }
    }

    fn json_value() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<u64>().prop_map(serde_json::Value::from),
            (-1e30f64..1e30).prop_map(serde_json::Value::from),
            "[a-z\"\\\u{0}-\u{1f}é😀]{0,12}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(6, 64, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
                proptest::collection::btree_map("[a-z\"é]{0,6}", inner, 0..6)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        /// Any JSON `serde_json` writes, compact or pretty, reads back the
        /// same through the scan.
        #[test]
        fn reads_back_what_serde_json_writes(value in json_value()) {
            for text in [value.to_string(), format!("{value:#}")] {
                let ours: serde_json::Value = read(&text).map_err(|e| {
                    proptest::test_runner::TestCaseError::fail(e.to_string())
                })?;
                proptest::prop_assert_eq!(&ours, &value);
            }
        }
    }

    #[test]
    fn finds_the_first_special_byte() {
        for (text, at) in [
            ("", None),
            ("abc", None),
            ("abcdefgh", None),
            ("abcdefghij\"", Some(10)),
            ("ab\\cdefgh\"", Some(2)),
            ("abcdefg\u{1f}", Some(7)),
            ("\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\"", Some(10)),
            ("abcdefgh\u{7f}\u{20}!\"", Some(11)),
        ] {
            assert_eq!(special(text.as_bytes()), at, "{text:?}");
        }
    }

    #[test]
    fn finds_nodes_by_span() {
        let text = r#"{"a":{"b":"c"}}"#;
        let tree = Tree::scan(text, 48).unwrap();
        assert_eq!(tree.find(5, 9), Some(2));
        assert_eq!(tree.find(5, 8), None);
        assert_eq!(tree.find(6, 3), Some(3));
        assert_eq!(tree.nodes[0].next as usize, tree.nodes.len());
        let heights: Vec<u16> = tree.nodes.iter().map(|n| n.height).collect();
        assert_eq!(heights, [2, 0, 1, 0, 0]);
    }
}

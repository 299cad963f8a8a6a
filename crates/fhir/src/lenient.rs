//! Tolerant reading, element by element.
//!
//! Used by the STU3 types of `icr-fhir-stu3` and by the data types both FHIR
//! versions share ([`datatypes`](crate::datatypes)): a shared data type is
//! read with plain serde in an R4 answer, and tolerantly when it is read
//! inside a tolerant element (a GP Connect answer).
//!
//! GP Connect providers (and the specification's own examples) break STU3 in
//! small ways: a single object where an array belongs, an array where a
//! single code belongs, a number written as a string, a string where a
//! CodeableConcept or an Annotation belongs. Every element of the types in
//! this crate is read through [`field`], which reads what it can:
//!
//! - an array where one value belongs: the first element that reads is
//!   kept (counted as *coerced*; any further elements are *dropped*);
//! - one value where an array belongs: read as an array of one (*coerced*);
//! - a string, number or boolean where another scalar or a type with a
//!   text form belongs: converted when the conversion is unambiguous
//!   ([`Element::from_text`]), e.g. `"28"` as a decimal (*coerced*);
//! - anything else that does not fit: left out (*dropped*).
//!
//! Unknown elements are ignored. Counts of what was coerced and dropped
//! are collected per [`read`] call, so that a caller can report them
//! without ever echoing a value.
//!
//! Elements are read from the JSON text itself (borrowed
//! `RawValue`s), so these types must be read
//! with [`read`] or `serde_json::from_str`/`from_slice`, not from a
//! `serde_json::Value`. [`read`] scans a resource's text once into a tree
//! of spans (refusing JSON nested deeper than [`MAX_DEPTH`]) and reads
//! every element, and every retry of an element in another shape, from
//! that tree, so that nesting does not multiply the reading; an element
//! read by plain `serde_json` is scanned on its own.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use crate::json_tree::{Kind, NodeDe, ScanError, Tree};

/// The deepest nesting of arrays and objects [`read`] accepts in one
/// resource. GP Connect resources nest about 12 deep.
pub const MAX_DEPTH: usize = 48;

/// What a read had to tolerate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tolerated {
    /// Elements read in a shape other than the one STU3 gives them.
    pub coerced: u32,
    /// Elements that could not be read and were left out.
    pub dropped: u32,
}

impl Tolerated {
    /// Adds another count to this one.
    pub fn add(&mut self, other: Tolerated) {
        self.coerced = self.coerced.saturating_add(other.coerced);
        self.dropped = self.dropped.saturating_add(other.dropped);
    }

    /// True when nothing was coerced or dropped.
    pub fn is_clean(&self) -> bool {
        self.coerced == 0 && self.dropped == 0
    }
}

thread_local! {
    static COUNTS: Cell<Tolerated> = const { Cell::new(Tolerated { coerced: 0, dropped: 0 }) };
    /// True while a tolerant element is being read: the shared data types
    /// read under it tolerantly too.
    static TOLERANT: Cell<bool> = const { Cell::new(false) };
}

/// Marks what is read under it as tolerant: entered where a read turns
/// tolerant, it turns it back when dropped (a panic included); inside a
/// tolerant read there is nothing to enter.
struct TolerantScope;

impl TolerantScope {
    fn enter() -> Option<Self> {
        // Not `then_some`: a guard made and dropped would end the read's
        // tolerance.
        if TOLERANT.with(|t| t.replace(true)) {
            None
        } else {
            Some(TolerantScope)
        }
    }
}

impl Drop for TolerantScope {
    fn drop(&mut self) {
        TOLERANT.with(|t| t.set(false));
    }
}

fn is_tolerant() -> bool {
    TOLERANT.with(Cell::get)
}

fn note_coerced(n: u32) {
    COUNTS.with(|c| {
        let mut t = c.get();
        t.coerced = t.coerced.saturating_add(n);
        c.set(t);
    });
}

fn note_dropped(n: u32) {
    COUNTS.with(|c| {
        let mut t = c.get();
        t.dropped = t.dropped.saturating_add(n);
        c.set(t);
    });
}

/// Why a resource could not be read at all. Carries the position and the
/// kind of problem, never a value from the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadError {
    /// What was being read (a resource type name).
    pub what: String,
    /// What went wrong.
    pub kind: ReadErrorKind,
    /// Line of the problem in the text read (1-based; 0 when unknown).
    pub line: usize,
    /// Column of the problem (1-based; 0 when unknown).
    pub column: usize,
}

/// The kinds of [`ReadError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadErrorKind {
    /// The text is not JSON.
    Syntax,
    /// The JSON ends early.
    Truncated,
    /// The JSON is not an object of the expected kind.
    Structure,
    /// Arrays and objects nest deeper than [`MAX_DEPTH`].
    TooDeep,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            ReadErrorKind::Syntax => "invalid JSON",
            ReadErrorKind::Truncated => "truncated JSON",
            ReadErrorKind::Structure => "not a JSON object",
            ReadErrorKind::TooDeep => "nested too deeply",
        };
        if self.line > 0 {
            write!(
                f,
                "{}: {kind} at line {} column {}",
                self.what, self.line, self.column
            )
        } else {
            write!(f, "{}: {kind}", self.what)
        }
    }
}

impl std::error::Error for ReadError {}

impl ReadError {
    /// Describes a serde_json error by kind and position only.
    pub fn from_json(what: &str, e: &serde_json::Error) -> Self {
        let kind = match e.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Io => {
                ReadErrorKind::Syntax
            }
            serde_json::error::Category::Eof => ReadErrorKind::Truncated,
            serde_json::error::Category::Data => ReadErrorKind::Structure,
        };
        ReadError {
            what: what.to_string(),
            kind,
            line: e.line(),
            column: e.column(),
        }
    }
}

/// Restores the enclosing read's counts when a nested read ends.
struct Scope(Tolerated);

impl Drop for Scope {
    fn drop(&mut self) {
        let outer = self.0;
        COUNTS.with(|c| c.set(outer));
    }
}

/// Reads one value of type `T` from JSON text, tolerantly, returning what
/// had to be tolerated. `what` names the value in errors. Fails only when
/// the text is not a JSON object, nests deeper than [`MAX_DEPTH`], or
/// is not the kind of object `T` is.
///
/// The text is scanned once (into a tree of spans) and every element read from
/// the scan; what the scan refuses, and any error, is read again the
/// way it always was, straight from the text, for the error to be the same.
pub fn read<T: DeserializeOwned>(what: &str, json: &str) -> Result<(T, Tolerated), ReadError> {
    // A value of a text already scanned (a resource of a Bundle read with
    // a [`Scan`]) is read from that scan, else the text is scanned now.
    let located = match locate(json) {
        Some(found) => {
            let height = found.0.tree.nodes.get(found.2).map_or(0, |n| n.height);
            if usize::from(height) > MAX_DEPTH {
                return Err(too_deep(what));
            }
            Some(found)
        }
        None => match Tree::scan(json, MAX_DEPTH) {
            Ok(tree) => Some((Scanned::new(json, tree), 0, 0)),
            Err(ScanError::TooDeep) => return Err(too_deep(what)),
            Err(ScanError::Syntax) => None,
        },
    };
    if located.is_none() && depth_exceeds(json.as_bytes(), MAX_DEPTH) {
        return Err(too_deep(what));
    }
    // serde reads a struct from an array too (by position): refuse it.
    if !json.trim_start().starts_with('{') {
        return Err(ReadError {
            what: what.to_string(),
            kind: if json.trim().is_empty() {
                ReadErrorKind::Truncated
            } else {
                ReadErrorKind::Structure
            },
            line: 0,
            column: 0,
        });
    }
    let outer = COUNTS.with(|c| c.replace(Tolerated::default()));
    let _scope = Scope(outer);
    let _tolerant = TolerantScope::enter();
    if let Some((scanned, at, idx)) = located {
        let _current = Current::enter(Rc::clone(&scanned));
        let de = scanned.node(json, at, idx);
        if let Ok(value) = T::deserialize(de) {
            return Ok((value, COUNTS.with(|c| c.get())));
        }
        COUNTS.with(|c| c.set(Tolerated::default()));
    }
    let value = serde_json::from_str::<T>(json).map_err(|e| ReadError::from_json(what, &e))?;
    let counts = COUNTS.with(|c| c.get());
    Ok((value, counts))
}

/// Reads `T` from JSON text with plain serde (no tolerance), as
/// `serde_json::from_str` does and with its errors, but from the current
/// [`Scan`] when the text is a value of it (no scan at all).
pub fn parse<'de, T: Deserialize<'de>>(json: &'de str) -> Result<T, serde_json::Error> {
    if let Some((scanned, at, idx)) = locate(json) {
        let de = scanned.node(json, at, idx);
        if let Ok(value) = T::deserialize(de) {
            return Ok(value);
        }
    }
    serde_json::from_str(json)
}

/// A JSON text scanned once (a Bundle), so that while it is
/// [entered](Scan::enter) its values (the Bundle's entries and resources)
/// are read by [`read`] and [`parse`] from the scan instead of being
/// scanned again. Nested up to `serde_json`'s own limit (128); deeper
/// texts are not scanned ([`Scan::of`] is `None`, and reading falls back
/// to plain `serde_json`).
pub struct Scan<'a>(Rc<Scanned>, std::marker::PhantomData<&'a str>);

impl<'a> Scan<'a> {
    /// Scans `json`; `None` when it is not JSON `serde_json` would read.
    pub fn of(json: &'a str) -> Option<Scan<'a>> {
        let tree = Tree::scan(json, SERDE_JSON_DEPTH).ok()?;
        Some(Scan(Scanned::new(json, tree), std::marker::PhantomData))
    }

    /// Makes this the scan values are looked up in until the guard is
    /// dropped (then the one before it again). The guard may outlive the
    /// `Scan`, not the text.
    pub fn enter(&self) -> ScanGuard<'a> {
        ScanGuard {
            _current: Current::enter(Rc::clone(&self.0)),
            _scan: std::marker::PhantomData,
        }
    }
}

/// A [`Scan`] entered: current until dropped, which must be while the
/// text scanned lives.
pub struct ScanGuard<'a> {
    _current: Current,
    _scan: std::marker::PhantomData<&'a str>,
}

impl Drop for ScanGuard<'_> {
    fn drop(&mut self) {
        // `_current` ends the scan's turn; this impl keeps the text
        // borrowed until then.
    }
}

impl fmt::Debug for Scan<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scan({} values)", self.0.tree.nodes.len())
    }
}

fn too_deep(what: &str) -> ReadError {
    ReadError {
        what: what.to_string(),
        kind: ReadErrorKind::TooDeep,
        line: 0,
        column: 0,
    }
}

/// A text scanned by [`read`], by where it is in memory, so that the
/// elements read from it (handed over as `RawValue`s of that text) are
/// found in its tree.
struct Scanned {
    base: usize,
    len: usize,
    tree: Tree,
}

impl Scanned {
    /// Node `idx`, read from `text`, which starts at byte `origin` of the
    /// scanned text.
    fn node<'t, 'de>(&'t self, text: &'de str, origin: usize, idx: usize) -> NodeDe<'t, 'de> {
        NodeDe {
            text,
            origin,
            nodes: &self.tree.nodes,
            idx,
        }
    }

    fn new(text: &str, tree: Tree) -> Rc<Self> {
        Rc::new(Scanned {
            base: text.as_ptr() as usize,
            len: text.len(),
            tree,
        })
    }
}

/// The current scan, where `text` starts in it, and its node, when `text`
/// is the text of one of its values.
fn locate(text: &str) -> Option<(Rc<Scanned>, usize, usize)> {
    let s = CURRENT.with(|c| c.borrow().clone())?;
    let at = (text.as_ptr() as usize).checked_sub(s.base)?;
    if at >= s.len || at + text.len() > s.len {
        return None;
    }
    let idx = s.tree.find(at, text.len())?;
    Some((s, at, idx))
}

thread_local! {
    /// The text being read and its tree.
    static CURRENT: RefCell<Option<Rc<Scanned>>> = const { RefCell::new(None) };
}

/// Makes a scanned text the one being read until dropped (then the one
/// before it again).
struct Current(Option<Rc<Scanned>>);

impl Current {
    fn enter(scanned: Rc<Scanned>) -> Self {
        Current(CURRENT.with(|c| c.replace(Some(scanned))))
    }
}

impl Drop for Current {
    fn drop(&mut self) {
        let outer = self.0.take();
        CURRENT.with(|c| *c.borrow_mut() = outer);
    }
}

/// Calls `f` with the node `raw` is the text of: found in the text being
/// read, else (an element read by plain `serde_json`) scanned on its own.
/// `None` when it cannot be scanned.
fn with_node<R>(raw: &RawValue, f: impl FnOnce(NodeDe<'_, '_>) -> R) -> Option<R> {
    let text = raw.get();
    if let Some((scanned, origin, idx)) = locate(text) {
        return Some(f(scanned.node(text, origin, idx)));
    }
    let scanned = Scanned::new(text, Tree::scan(text, SERDE_JSON_DEPTH).ok()?);
    let _current = Current::enter(Rc::clone(&scanned));
    Some(f(scanned.node(text, 0, 0)))
}

/// The nesting `serde_json` itself accepts: the bound of an element read
/// outside [`read`].
const SERDE_JSON_DEPTH: usize = 128;

/// True when arrays and objects in `json` nest deeper than `limit`
/// (brackets inside strings are not counted).
pub fn depth_exceeds(json: &[u8], limit: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in json {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// A type that can be an element of a resource read by this crate.
pub trait Element: DeserializeOwned {
    /// The value for a JSON string, number or boolean (given as text) found
    /// where this type belongs, when the conversion is unambiguous.
    fn from_text(_text: &str) -> Option<Self> {
        None
    }
}

impl Element for String {
    fn from_text(text: &str) -> Option<Self> {
        Some(text.to_string())
    }
}

impl Element for f64 {
    fn from_text(text: &str) -> Option<Self> {
        text.trim().parse::<f64>().ok().filter(|v| v.is_finite())
    }
}

impl Element for i64 {
    fn from_text(text: &str) -> Option<Self> {
        text.trim().parse().ok()
    }
}

impl Element for u32 {
    fn from_text(text: &str) -> Option<Self> {
        text.trim().parse().ok()
    }
}

impl Element for bool {
    fn from_text(text: &str) -> Option<Self> {
        match text.trim() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        }
    }
}

/// A JSON value kept as its text (contained resources), compared by text.
#[derive(Clone, Debug, serde::Serialize, Deserialize)]
#[serde(transparent)]
pub struct RawJson(pub Box<RawValue>);

impl RawJson {
    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// The JSON of `value`, or `None` if it cannot be written.
    pub fn of<T: serde::Serialize>(value: &T) -> Option<Self> {
        serde_json::value::to_raw_value(value).ok().map(RawJson)
    }
}

impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Element for RawJson {}

/// The shape of a field: one value or many.
pub trait FieldValue: Sized {
    /// Reads the field from its JSON text, tolerantly.
    fn from_raw(raw: &RawValue) -> Self;
}

impl<T: Element> FieldValue for Option<T> {
    fn from_raw(raw: &RawValue) -> Self {
        with_node(raw, one).unwrap_or_else(|| {
            note_dropped(1);
            None
        })
    }
}

impl<T: Element> FieldValue for Vec<T> {
    fn from_raw(raw: &RawValue) -> Self {
        with_node(raw, many).unwrap_or_else(|| {
            note_dropped(1);
            Vec::new()
        })
    }
}

/// Whether a field is left out when written (an absent value, an empty list).
pub trait Omit {
    /// True when there is nothing to write.
    fn omit(&self) -> bool;
}

impl<T> Omit for Option<T> {
    fn omit(&self) -> bool {
        self.is_none()
    }
}

impl<T> Omit for Vec<T> {
    fn omit(&self) -> bool {
        self.is_empty()
    }
}

/// The `deserialize_with` of every element: reads the element's JSON text
/// and converts it tolerantly (see the module documentation).
pub fn field<'de, D, F>(d: D) -> Result<F, D::Error>
where
    D: Deserializer<'de>,
    F: FieldValue,
{
    let raw = <&'de RawValue>::deserialize(d)?;
    let _tolerant = TolerantScope::enter();
    Ok(F::from_raw(raw))
}

/// The `deserialize_with` of the elements of the shared data types: read
/// tolerantly (as [`field`]) inside a tolerant element, with plain serde
/// otherwise, exactly as a derived `Deserialize` would.
pub fn as_read<'de, D, F>(d: D) -> Result<F, D::Error>
where
    D: Deserializer<'de>,
    F: FieldValue + Deserialize<'de>,
{
    if is_tolerant() {
        // Already inside a tolerant read: nothing to enter.
        let raw = <&'de RawValue>::deserialize(d)?;
        Ok(F::from_raw(raw))
    } else {
        F::deserialize(d)
    }
}

/// The `deserialize_with` of the elements of a shared data type that the
/// STU3 subset does not read (`Reference.type`, `Meta.source`, …): read
/// with plain serde, and ignored as an unknown element inside a tolerant
/// element, so that what a GP Connect answer tolerates is counted as it
/// always was.
pub fn strict_only<'de, D, F>(d: D) -> Result<F, D::Error>
where
    D: Deserializer<'de>,
    F: Default + Deserialize<'de>,
{
    if is_tolerant() {
        serde::de::IgnoredAny::deserialize(d)?;
        Ok(F::default())
    } else {
        F::deserialize(d)
    }
}

/// One scalar or object, not an array.
fn single<T: Element>(node: NodeDe<'_, '_>) -> Option<T> {
    if let Ok(v) = T::deserialize(node) {
        return Some(v);
    }
    let kind = node.node().ok()?.kind;
    let converted = match kind {
        Kind::String => node.string().ok().and_then(|s| T::from_text(&s)),
        Kind::Number | Kind::True | Kind::False => {
            let n = node.node().ok()?;
            node.span(&n).ok().and_then(T::from_text)
        }
        Kind::Null => return None,
        Kind::Array | Kind::Object => None,
    };
    if converted.is_some() {
        note_coerced(1);
    } else {
        note_dropped(1);
    }
    converted
}

fn kind(node: &NodeDe<'_, '_>) -> Kind {
    node.node().map_or(Kind::Null, |n| n.kind)
}

fn one<T: Element>(node: NodeDe<'_, '_>) -> Option<T> {
    if kind(&node) != Kind::Array {
        return single(node);
    }
    let mut out = None;
    let mut extra = 0u32;
    for item in node.children() {
        if out.is_some() {
            extra += 1;
        } else if kind(&item) == Kind::Array {
            note_dropped(1);
        } else {
            out = single(item);
        }
    }
    if out.is_some() {
        note_coerced(1);
    }
    note_dropped(extra);
    out
}

fn many<T: Element>(node: NodeDe<'_, '_>) -> Vec<T> {
    match kind(&node) {
        Kind::Array => node
            .children()
            .filter_map(|item| {
                if kind(&item) == Kind::Array {
                    note_dropped(1);
                    None
                } else {
                    single(item)
                }
            })
            .collect(),
        Kind::Null => Vec::new(),
        _ => {
            let v = single(node);
            if v.is_some() {
                note_coerced(1);
            }
            v.into_iter().collect()
        }
    }
}

/// Declares a FHIR element or resource type read tolerantly: every field
/// optional (an `Option` or a `Vec`), read through [`field`], skipped when
/// empty on output, renamed to its JSON name. The caller needs `serde`.
#[macro_export]
macro_rules! element {
    (
        $(#[$m:meta])*
        pub struct $name:ident {
            $( $(#[$fm:meta])* $field:ident : $ty:ty = $json:literal ),* $(,)?
        }
    ) => {
        $(#[$m])*
        #[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
        pub struct $name {
            $(
                $(#[$fm])*
                #[serde(
                    rename = $json,
                    default,
                    deserialize_with = "::icr_fhir::lenient::field",
                    skip_serializing_if = "::icr_fhir::lenient::Omit::omit"
                )]
                pub $field: $ty,
            )*
        }
    };
}

pub use crate::element;

#[cfg(test)]
mod tests {
    use super::*;

    element! {
        /// A test type.
        pub struct Probe {
            /// A code.
            code: Option<String> = "code",
            /// Some codes.
            codes: Vec<String> = "codes",
            /// A number.
            value: Option<f64> = "value",
            /// A flag.
            flag: Option<bool> = "flag",
            /// Nested.
            inner: Vec<Probe> = "inner",
        }
    }
    impl Element for Probe {}

    fn probe(json: &str) -> (Probe, Tolerated) {
        read::<Probe>("Probe", json).unwrap()
    }

    #[test]
    fn reads_the_right_shapes_without_counting() {
        let (p, t) = probe(r#"{"code":"a","codes":["b","c"],"value":1.5,"flag":true,"x":{"y":1}}"#);
        assert_eq!(p.code.as_deref(), Some("a"));
        assert_eq!(p.codes, vec!["b", "c"]);
        assert_eq!(p.value, Some(1.5));
        assert_eq!(p.flag, Some(true));
        assert!(t.is_clean(), "{t:?}");
    }

    #[test]
    fn tolerates_wrong_cardinality_and_scalar_forms() {
        let (p, t) = probe(r#"{"code":["a","b"],"codes":"c","value":"28","flag":"false"}"#);
        assert_eq!(p.code.as_deref(), Some("a"));
        assert_eq!(p.codes, vec!["c"]);
        assert_eq!(p.value, Some(28.0));
        assert_eq!(p.flag, Some(false));
        assert_eq!(
            t,
            Tolerated {
                coerced: 4,
                dropped: 1
            }
        );
    }

    #[test]
    fn drops_what_cannot_be_read() {
        let (p, t) =
            probe(r#"{"code":{"x":1},"codes":[1,{"a":2},[3]],"value":"NaN","inner":{"code":7}}"#);
        assert_eq!(p.code, None);
        assert_eq!(p.codes, vec!["1"]);
        assert_eq!(p.value, None);
        assert_eq!(p.inner.len(), 1);
        assert_eq!(p.inner[0].code.as_deref(), Some("7"));
        assert_eq!(
            t,
            Tolerated {
                coerced: 3,
                dropped: 4
            }
        );
    }

    element! {
        /// Shared data types inside a tolerant element.
        pub struct Holder {
            /// Concepts.
            concept: Vec<crate::CodeableConcept> = "concept",
            /// A coding.
            coding: Option<crate::Coding> = "coding",
            /// A reference.
            subject: Option<crate::Reference> = "subject",
        }
    }
    impl Element for Holder {}

    #[test]
    fn shared_types_are_plain_serde_alone_and_tolerant_inside_a_tolerant_element() {
        let strict = |json: &str| serde_json::from_str::<crate::Coding>(json).is_err();
        assert!(strict(r#"{"code":5}"#));
        let (h, t) = read::<Holder>(
            "Holder",
            r#"{"concept":[{"coding":{"code":7}},"text"],"coding":{"code":8,"system":9},
                "subject":{"reference":"Patient/1","type":7}}"#,
        )
        .unwrap();
        assert_eq!(h.concept.len(), 2);
        assert_eq!(h.concept[0].coding[0].code.as_deref(), Some("7"));
        assert_eq!(h.concept[1].text.as_deref(), Some("text"));
        // Still tolerant after the nested reads above.
        assert_eq!(h.coding.as_ref().unwrap().system.as_deref(), Some("9"));
        // An element the STU3 subset does not read is ignored, not counted.
        assert_eq!(h.subject.as_ref().unwrap().type_, None);
        assert_eq!(
            t,
            Tolerated {
                coerced: 5,
                dropped: 0
            }
        );
        // And plain serde again once the tolerant read is over.
        assert!(strict(r#"{"code":5}"#));
        assert!(serde_json::from_str::<crate::Reference>(r#"{"type":7}"#).is_err());
    }

    #[test]
    fn nested_reads_keep_their_own_counts() {
        let (_, outer) = probe(r#"{"code":["a","b"]}"#);
        assert_eq!(
            outer,
            Tolerated {
                coerced: 1,
                dropped: 1
            }
        );
        let (_, clean) = probe(r#"{"code":"a"}"#);
        assert!(clean.is_clean());
    }

    #[test]
    fn refuses_non_objects_and_deep_nesting() {
        let e = read::<Probe>("Probe", "[1,2]").unwrap_err();
        assert_eq!(e.kind, ReadErrorKind::Structure);
        let e = read::<Probe>("Probe", "{\"code\": \"Jane").unwrap_err();
        assert_eq!(e.kind, ReadErrorKind::Truncated);
        assert!(!e.to_string().contains("Jane"));
        let deep = format!("{{\"inner\":{}1{}}}", "[".repeat(60), "]".repeat(60));
        let e = read::<Probe>("Probe", &deep).unwrap_err();
        assert_eq!(e.kind, ReadErrorKind::TooDeep);
        assert!(!depth_exceeds(
            br#"{"a":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}"#,
            2
        ));
    }
}

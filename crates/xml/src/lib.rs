//! A small, hardened XML reader: bytes in, a bounded element tree out, every
//! element and attribute name resolved to its namespace. Pure: no I/O.
//!
//! In the request flow it sits under the XML wire formats: the SOAP codec
//! (`icr-soap`, council person summaries) and the CDA codec (`icr-cda`,
//! clinical documents) read every answer a source sends through [`parse`],
//! then walk the tree. Both share one threat model, so they share this
//! reader, built on quick-xml's [`NsReader`](quick_xml::NsReader), which refuses rather than
//! works around everything a hostile source could use against the gateway:
//!
//! - a `<!DOCTYPE …>` is an error, so no entity can be declared and nothing
//!   is ever expanded (no XXE, no billion laughs);
//! - only the five predefined entities and numeric character references are
//!   read; any other `&name;` is an error;
//! - the input must be UTF-8 (a UTF-8 byte-order mark is skipped; a UTF-16
//!   mark or a declaration of another encoding is an error);
//! - characters XML 1.0 does not allow (such as U+0000), raw or as a
//!   character reference, are an error; so is an undeclared prefix;
//! - nesting depth, the number of elements, the number of attributes (and
//!   namespace declarations) on one element and the length of one text value
//!   are bounded ([`Limits`]); every element counts, in any namespace;
//! - input that ends while elements are open is truncated, not accepted;
//!   content outside the root element is an error.
//!
//! Comments and processing instructions are ignored. Writing goes through
//! [`Writer`], which escapes every value and leaves out characters XML
//! cannot carry. Error messages give a
//! byte position and a kind of problem, never text from the document (which
//! may be patient data).
//!
//! ```
//! use icr_xml::{Limits, Namespace, parse};
//!
//! #[derive(Clone, Copy, Debug, PartialEq, Eq)]
//! enum Ns { Mine, Other }
//! impl Namespace for Ns {
//!     fn of_uri(uri: &str) -> Self {
//!         if uri == "urn:mine" { Ns::Mine } else { Ns::Other }
//!     }
//! }
//!
//! let root = parse::<Ns>(br#"<m:a xmlns:m="urn:mine"><m:b>x &amp; y</m:b></m:a>"#, &Limits::default()).unwrap();
//! assert_eq!(root.child(Ns::Mine, "b").and_then(|b| b.value()), Some("x & y"));
//! ```

#![warn(missing_docs)]

mod error;
mod reader;
mod tree;
mod writer;

pub use error::XmlError;
pub use reader::{Root, parse, parse_rooted};
pub use tree::{Attribute, Content, Element};
pub use writer::{Writer, escape};

/// What a document's namespace URIs mean to the format reading it: each
/// format tells apart the namespaces it reads and lumps the rest together.
pub trait Namespace: Copy + Eq + std::fmt::Debug {
    /// The namespace of `uri`; `""` for a name in no namespace.
    fn of_uri(uri: &str) -> Self;

    /// The namespace of a name whose prefix is not declared, when the
    /// format reads such names at all (published CDA examples write
    /// `xsi:type` without declaring `xsi`); `None`, the default, refuses
    /// the document ([`XmlError::UndeclaredPrefix`]).
    fn undeclared() -> Option<Self> {
        None
    }

    /// Whether the format has mixed content (CDA narrative): then every run
    /// of text between child elements, whitespace included, is kept for
    /// [`Element::content`]. Without it (a data format such as SOAP), text
    /// beside child elements is only in [`Element::text`], and layout costs
    /// nothing.
    const MIXED_CONTENT: bool = false;
}

/// Bounds on what one document may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Deepest nesting of elements (the root is at depth 1).
    pub max_depth: usize,
    /// Most elements in the document, in every namespace.
    pub max_elements: usize,
    /// Most attributes on one element, namespace declarations included (and
    /// most namespace bindings in scope).
    pub max_attributes: usize,
    /// Longest run of text between two tags, longest text of one element
    /// (whitespace between its child elements aside) and longest attribute
    /// value, in bytes.
    pub max_text_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 64,
            max_elements: 200_000,
            max_attributes: 64,
            max_text_bytes: 64 * 1024,
        }
    }
}

/// Collapses whitespace runs to one space, drops control characters and
/// trims.
pub fn collapse_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for ch in s.chars() {
        if ch.is_whitespace() {
            space = true;
        } else if ch.is_control() {
            continue;
        } else {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(ch);
        }
    }
    out
}

/// Reads `data` with the default limits and walks all it holds: the entry
/// point for fuzzing. It must never panic.
pub fn fuzz_parse(data: &[u8]) {
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    struct AnyNs(bool);
    impl Namespace for AnyNs {
        fn of_uri(uri: &str) -> Self {
            AnyNs(uri.is_empty())
        }
    }
    if let Ok(root) = parse::<AnyNs>(data, &Limits::default()) {
        let mut stack = vec![&root];
        while let Some(e) = stack.pop() {
            let _ = (e.value(), e.attribute("a"), e.content().count());
            stack.extend(e.children.iter());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collapse_whitespace_collapses_drops_controls_and_trims() {
        assert_eq!(collapse_whitespace("  a \n\t b\u{7}c  "), "a bc");
        assert_eq!(collapse_whitespace(" \n "), "");
    }
}

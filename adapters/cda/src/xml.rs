//! A bounded XML reader: a CDA document as a small tree of its HL7 v3
//! elements, built with quick-xml's [`NsReader`]. No I/O.
//!
//! What it refuses outright: a DOCTYPE (so no DTD, no external or custom
//! entity can ever be expanded), entity references other than the five XML
//! ones and character references, input that is not UTF-8, a root element
//! that is not `ClinicalDocument`, and anything over the [`Limits`] (depth,
//! element count, attributes per element). Elements in other namespaces
//! (`sdtc:` extensions and the like) are dropped with everything inside
//! them; comments and processing instructions are ignored.
//!
//! Error messages name the problem and a byte offset, never a value or a
//! name from the document.

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::{NsReader, XmlVersion};

/// The HL7 v3 namespace CDA R2 elements live in.
pub const CDA_NAMESPACE: &str = "urn:hl7-org:v3";

/// Bounds on what one document may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Deepest element nesting accepted.
    pub max_depth: usize,
    /// Most elements in one document.
    pub max_elements: usize,
    /// Most attributes on one element.
    pub max_attributes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 128,
            max_elements: 250_000,
            max_attributes: 64,
        }
    }
}

/// Why a document could not be read as XML. No message carries content
/// from the document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// Nothing but whitespace, comments or a declaration.
    #[error("the document is empty")]
    Empty,
    /// The bytes are not UTF-8.
    #[error("the document is not UTF-8 (at byte {at})")]
    NotUtf8 {
        /// Offset of the first bad byte.
        at: usize,
    },
    /// The XML declaration names an encoding other than UTF-8.
    #[error("the document declares an encoding other than UTF-8")]
    Encoding,
    /// A `<!DOCTYPE …>`: DTDs and the entities they define are refused.
    #[error("the document has a DOCTYPE; DTDs and entity definitions are refused")]
    Doctype,
    /// Not well-formed XML.
    #[error("malformed XML at byte {at}: {what}")]
    Syntax {
        /// Offset where the problem was found.
        at: u64,
        /// What is wrong.
        what: &'static str,
    },
    /// An entity reference that is neither one of the five XML entities nor
    /// a character reference.
    #[error("undefined entity reference at byte {at}")]
    UnknownEntity {
        /// Offset of the reference.
        at: u64,
    },
    /// The root element is not an HL7 v3 `ClinicalDocument`.
    #[error("the root element is not a CDA ClinicalDocument")]
    NotCda,
    /// Nested deeper than [`Limits::max_depth`].
    #[error("elements are nested deeper than {limit}")]
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// More elements than [`Limits::max_elements`].
    #[error("the document has more than {limit} elements")]
    TooManyElements {
        /// The limit.
        limit: usize,
    },
    /// An element with more than [`Limits::max_attributes`] attributes.
    #[error("an element has more than {limit} attributes")]
    TooManyAttributes {
        /// The limit.
        limit: usize,
    },
    /// The input ends inside the root element.
    #[error("the document ends before its root element is closed")]
    Truncated,
    /// Elements or text after the root element is closed, or text before it.
    #[error("content outside the root element at byte {at}")]
    OutsideRoot {
        /// Offset of the content.
        at: u64,
    },
}

/// One node's place in the tree's arena.
type NodeId = usize;

#[derive(Debug)]
struct Node {
    name: Box<str>,
    attrs: Vec<(Box<str>, Box<str>)>,
    children: Vec<Child>,
}

#[derive(Debug)]
enum Child {
    Element(NodeId),
    Text(String),
}

/// A parsed document: HL7 v3 elements only, text decoded.
#[derive(Debug)]
pub struct Tree {
    nodes: Vec<Node>,
}

/// One element of a [`Tree`].
#[derive(Clone, Copy, Debug)]
pub struct El<'a> {
    tree: &'a Tree,
    id: NodeId,
}

/// A child of an element: an element or a run of text.
#[derive(Clone, Copy, Debug)]
pub enum Content<'a> {
    /// A child element.
    Element(El<'a>),
    /// Decoded character data.
    Text(&'a str),
}

impl Tree {
    /// The root element (`ClinicalDocument`).
    pub fn root(&self) -> El<'_> {
        El { tree: self, id: 0 }
    }

    /// Number of elements kept.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Never true: a tree always has its root.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

impl<'a> El<'a> {
    fn node(&self) -> &'a Node {
        // Ids are only ever made by the tree itself, for nodes it holds.
        &self.tree.nodes[self.id]
    }

    /// The element's local name.
    pub fn name(&self) -> &'a str {
        &self.node().name
    }

    /// An unprefixed attribute's value, entity references decoded.
    pub fn attr(&self, name: &str) -> Option<&'a str> {
        self.node()
            .attrs
            .iter()
            .find(|(k, _)| &**k == name)
            .map(|(_, v)| &**v)
    }

    /// An attribute's value, trimmed, when it is not blank.
    pub fn attr_text(&self, name: &str) -> Option<&'a str> {
        self.attr(name).map(str::trim).filter(|v| !v.is_empty())
    }

    /// Children, elements and text, in document order.
    pub fn content(&self) -> impl Iterator<Item = Content<'a>> + 'a {
        let tree = self.tree;
        self.node().children.iter().map(move |c| match c {
            Child::Element(id) => Content::Element(El { tree, id: *id }),
            Child::Text(t) => Content::Text(t),
        })
    }

    /// Child elements, in order.
    pub fn elements(&self) -> impl Iterator<Item = El<'a>> + 'a {
        self.content().filter_map(|c| match c {
            Content::Element(e) => Some(e),
            Content::Text(_) => None,
        })
    }

    /// Child elements named `name`.
    pub fn all(&self, name: &'a str) -> impl Iterator<Item = El<'a>> + 'a {
        self.elements().filter(move |e| e.name() == name)
    }

    /// The first child element named `name`.
    pub fn child(&self, name: &str) -> Option<El<'a>> {
        self.elements().find(|e| e.name() == name)
    }

    /// The first element reached by following `path` through child
    /// elements, trying every branch in document order.
    pub fn find(&self, path: &[&str]) -> Option<El<'a>> {
        self.find_all(path).into_iter().next()
    }

    /// Every element reached by following `path` through child elements.
    pub fn find_all(&self, path: &[&str]) -> Vec<El<'a>> {
        let mut level = vec![*self];
        for name in path {
            let mut next = Vec::new();
            for e in &level {
                next.extend(e.elements().filter(|c| c.name() == *name));
            }
            level = next;
            if level.is_empty() {
                break;
            }
        }
        level
    }

    /// All text inside the element (descendants included), whitespace
    /// runs collapsed to one space and trimmed, with a space between
    /// child elements; `None` when blank.
    pub fn text(&self) -> Option<String> {
        let mut out = String::new();
        // An explicit stack: the tree's depth is bounded, but no recursion
        // is needed either.
        let mut stack: Vec<Content<'a>> = self.content().collect();
        stack.reverse();
        while let Some(c) = stack.pop() {
            match c {
                Content::Text(t) => out.push_str(t),
                Content::Element(e) => {
                    out.push(' ');
                    let mut children: Vec<Content<'a>> = e.content().collect();
                    children.reverse();
                    stack.push(Content::Text(" "));
                    stack.extend(children);
                }
            }
        }
        let collapsed = collapse_whitespace(&out);
        (!collapsed.is_empty()).then_some(collapsed)
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

/// Describes a quick-xml error without echoing names or values from the
/// document.
fn describe(e: &quick_xml::Error) -> &'static str {
    use quick_xml::errors::IllFormedError;
    match e {
        quick_xml::Error::Io(_) => "read error",
        quick_xml::Error::Syntax(_) => "syntax error",
        quick_xml::Error::IllFormed(IllFormedError::MismatchedEndTag { .. }) => {
            "an end tag does not match its start tag"
        }
        quick_xml::Error::IllFormed(IllFormedError::UnmatchedEndTag(_)) => {
            "an end tag has no start tag"
        }
        quick_xml::Error::IllFormed(IllFormedError::UnclosedReference) => {
            "an entity reference is not closed"
        }
        quick_xml::Error::IllFormed(_) => "ill-formed XML",
        quick_xml::Error::InvalidAttr(_) => "invalid or duplicated attribute",
        quick_xml::Error::Encoding(_) => "invalid text encoding",
        quick_xml::Error::Escape(_) => "invalid entity or character reference",
        quick_xml::Error::Namespace(_) => "invalid or too many namespace declarations",
    }
}

fn is_cda(ns: &ResolveResult<'_>) -> bool {
    match ns {
        ResolveResult::Bound(n) => n.0 == CDA_NAMESPACE,
        // Unprefixed with no default namespace: tolerated, as many
        // published examples and fragments are written that way.
        ResolveResult::Unbound => true,
        ResolveResult::Unknown(_) => false,
    }
}

/// Reads `input` as a CDA document's XML, within `limits`.
pub fn parse(input: &[u8], limits: &Limits) -> Result<Tree, XmlError> {
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let text = std::str::from_utf8(input).map_err(|e| XmlError::NotUtf8 {
        at: e.valid_up_to(),
    })?;
    let mut reader = NsReader::from_str(text);
    {
        let config = reader.config_mut();
        config.expand_empty_elements = true;
        config.check_end_names = true;
        config.trim_text(false);
    }
    let mut nodes: Vec<Node> = Vec::new();
    // Open CDA elements, innermost last.
    let mut open: Vec<NodeId> = Vec::new();
    // Depth inside a dropped (foreign) element; 0 when not in one.
    let mut skipping: usize = 0;
    let mut root_closed = false;
    loop {
        let at = reader.buffer_position();
        let (ns, event) = match reader.read_resolved_event() {
            Ok(x) => x,
            Err(e) => {
                let what = describe(&e);
                return Err(XmlError::Syntax {
                    at: reader.error_position(),
                    what,
                });
            }
        };
        match event {
            Event::DocType(_) => return Err(XmlError::Doctype),
            Event::Decl(d) => {
                if let Some(enc) = d.encoding() {
                    let enc = enc.map_err(|_| XmlError::Syntax {
                        at,
                        what: "invalid XML declaration",
                    })?;
                    let enc = enc.trim();
                    if !enc.eq_ignore_ascii_case("utf-8") && !enc.eq_ignore_ascii_case("utf8") {
                        return Err(XmlError::Encoding);
                    }
                }
            }
            Event::PI(_) | Event::Comment(_) => {}
            Event::Start(start) => {
                let depth = open.len() + skipping + 1;
                if depth > limits.max_depth {
                    return Err(XmlError::TooDeep {
                        limit: limits.max_depth,
                    });
                }
                if skipping > 0 {
                    skipping += 1;
                    continue;
                }
                if root_closed {
                    return Err(XmlError::OutsideRoot { at });
                }
                let cda = is_cda(&ns);
                let name = start.local_name().into_inner();
                if open.is_empty() && !(cda && name == "ClinicalDocument") {
                    return Err(XmlError::NotCda);
                }
                if !cda {
                    skipping = 1;
                    continue;
                }
                if nodes.len() >= limits.max_elements {
                    return Err(XmlError::TooManyElements {
                        limit: limits.max_elements,
                    });
                }
                let mut attrs = Vec::new();
                for (n, attr) in start.attributes().enumerate() {
                    if n >= limits.max_attributes {
                        return Err(XmlError::TooManyAttributes {
                            limit: limits.max_attributes,
                        });
                    }
                    let attr = attr.map_err(|_| XmlError::Syntax {
                        at,
                        what: "invalid or duplicated attribute",
                    })?;
                    if attr.key.prefix().is_some() || attr.key.into_inner() == "xmlns" {
                        continue;
                    }
                    let value = attr
                        .normalized_value(XmlVersion::Implicit1_0)
                        .map_err(|_| XmlError::UnknownEntity { at })?;
                    attrs.push((attr.key.into_inner().into(), value.into_owned().into()));
                }
                let id = nodes.len();
                nodes.push(Node {
                    name: name.into(),
                    attrs,
                    children: Vec::new(),
                });
                if let Some(parent) = open.last().and_then(|p| nodes.get_mut(*p)) {
                    parent.children.push(Child::Element(id));
                }
                open.push(id);
            }
            Event::Empty(_) => {
                // expand_empty_elements turns these into Start + End.
            }
            Event::End(_) => {
                if skipping > 0 {
                    skipping -= 1;
                } else {
                    open.pop();
                    if open.is_empty() {
                        root_closed = true;
                    }
                }
            }
            Event::Text(t) => {
                let content = t.xml10_content();
                push_text(&mut nodes, &open, skipping, &content, at)?;
            }
            Event::CData(c) => {
                let content = c.xml10_content();
                if open.is_empty() && skipping == 0 {
                    return Err(XmlError::OutsideRoot { at });
                }
                push_text(&mut nodes, &open, skipping, &content, at)?;
            }
            Event::GeneralRef(r) => {
                let decoded: String = match r.resolve_char_ref() {
                    Ok(Some(ch)) => ch.to_string(),
                    Ok(None) => quick_xml::escape::resolve_predefined_entity(&r)
                        .ok_or(XmlError::UnknownEntity { at })?
                        .to_string(),
                    Err(_) => return Err(XmlError::UnknownEntity { at }),
                };
                if open.is_empty() && skipping == 0 {
                    return Err(XmlError::OutsideRoot { at });
                }
                push_text(&mut nodes, &open, skipping, &decoded, at)?;
            }
            Event::Eof => {
                if !open.is_empty() || skipping > 0 {
                    return Err(XmlError::Truncated);
                }
                if nodes.is_empty() {
                    return Err(XmlError::Empty);
                }
                return Ok(Tree { nodes });
            }
        }
    }
}

/// Appends text to the innermost open element, merging with a preceding
/// run. Text outside the root must be whitespace.
fn push_text(
    nodes: &mut [Node],
    open: &[NodeId],
    skipping: usize,
    text: &str,
    at: u64,
) -> Result<(), XmlError> {
    if skipping > 0 {
        return Ok(());
    }
    let Some(node) = open.last().and_then(|id| nodes.get_mut(*id)) else {
        if text.trim().is_empty() {
            return Ok(());
        }
        return Err(XmlError::OutsideRoot { at });
    };
    match node.children.last_mut() {
        Some(Child::Text(run)) => run.push_str(text),
        _ => node.children.push(Child::Text(text.to_string())),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> Result<Tree, XmlError> {
        parse(s.as_bytes(), &Limits::default())
    }

    #[test]
    fn reads_cda_elements_and_drops_foreign_ones() {
        let tree = parse_str(
            r#"<?xml version="1.0" encoding="UTF-8"?>
            <?xml-stylesheet type="text/xsl" href="CDA.xsl"?>
            <!-- a comment -->
            <ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:sdtc="urn:hl7-org:sdtc" xmlns:x="urn:other">
              <title>A &amp; B &#x2013; C&#160;<![CDATA[<D>]]></title>
              <code code="1" sdtc:valueSet="x" displayName="a &lt; b"/>
              <sdtc:raceCode code="2"><title>hidden</title></sdtc:raceCode>
              <x:thing>gone</x:thing>
            </ClinicalDocument>"#,
        )
        .unwrap();
        let root = tree.root();
        assert_eq!(root.name(), "ClinicalDocument");
        let names: Vec<&str> = root.elements().map(|e| e.name()).collect();
        assert_eq!(names, ["title", "code"]);
        assert_eq!(
            root.child("title").unwrap().text().as_deref(),
            Some("A & B \u{2013} C <D>")
        );
        let code = root.child("code").unwrap();
        assert_eq!(code.attr("code"), Some("1"));
        assert_eq!(
            code.attr("valueSet"),
            None,
            "prefixed attributes are dropped"
        );
        assert_eq!(code.attr("displayName"), Some("a < b"));
    }

    #[test]
    fn unprefixed_documents_without_namespace_are_read() {
        let tree = parse_str("<ClinicalDocument><title>T</title></ClinicalDocument>").unwrap();
        assert_eq!(
            tree.root().child("title").unwrap().text().as_deref(),
            Some("T")
        );
    }

    #[test]
    fn refuses_what_it_must() {
        let cases: &[(&str, XmlError)] = &[
            ("", XmlError::Empty),
            ("  <!-- c -->  ", XmlError::Empty),
            (
                "<!DOCTYPE x [<!ENTITY a \"b\">]><ClinicalDocument/>",
                XmlError::Doctype,
            ),
            (
                "<ClinicalDocument>&lol;</ClinicalDocument>",
                XmlError::UnknownEntity { at: 18 },
            ),
            ("<Other xmlns=\"urn:hl7-org:v3\"/>", XmlError::NotCda),
            ("<ClinicalDocument xmlns=\"urn:other\"/>", XmlError::NotCda),
            ("<ClinicalDocument><title>", XmlError::Truncated),
            (
                "<ClinicalDocument/><ClinicalDocument/>",
                XmlError::OutsideRoot { at: 19 },
            ),
            ("<ClinicalDocument/>tail", XmlError::OutsideRoot { at: 19 }),
            (
                "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><ClinicalDocument/>",
                XmlError::Encoding,
            ),
        ];
        for (input, want) in cases {
            assert_eq!(parse_str(input).unwrap_err(), *want, "{input}");
        }
        assert!(matches!(
            parse_str("<ClinicalDocument><a></b></ClinicalDocument>").unwrap_err(),
            XmlError::Syntax {
                what: "an end tag does not match its start tag",
                ..
            }
        ));
        assert!(matches!(
            parse_str("<ClinicalDocument a=\"1\" a=\"2\"/>").unwrap_err(),
            XmlError::Syntax { .. }
        ));
        assert_eq!(
            parse(
                b"<ClinicalDocument>\xff</ClinicalDocument>",
                &Limits::default()
            )
            .unwrap_err(),
            XmlError::NotUtf8 { at: 18 }
        );
    }

    #[test]
    fn limits_hold() {
        let limits = Limits {
            max_depth: 3,
            max_elements: 4,
            max_attributes: 2,
        };
        let deep = "<ClinicalDocument><a><b><c/></b></a></ClinicalDocument>";
        assert_eq!(
            parse(deep.as_bytes(), &limits).unwrap_err(),
            XmlError::TooDeep { limit: 3 }
        );
        let many = "<ClinicalDocument><a/><a/><a/><a/></ClinicalDocument>";
        assert_eq!(
            parse(many.as_bytes(), &limits).unwrap_err(),
            XmlError::TooManyElements { limit: 4 }
        );
        let attrs = "<ClinicalDocument a=\"1\" b=\"2\" c=\"3\"/>";
        assert_eq!(
            parse(attrs.as_bytes(), &limits).unwrap_err(),
            XmlError::TooManyAttributes { limit: 2 }
        );
        // foreign elements count towards depth too
        let foreign =
            "<ClinicalDocument xmlns:x=\"u\"><x:a><x:b><x:c/></x:b></x:a></ClinicalDocument>";
        assert_eq!(
            parse(foreign.as_bytes(), &limits).unwrap_err(),
            XmlError::TooDeep { limit: 3 }
        );
    }

    #[test]
    fn messages_carry_no_content() {
        let err = parse_str("<ClinicalDocument><Smith></Jones></ClinicalDocument>").unwrap_err();
        let msg = err.to_string();
        assert!(!msg.contains("Smith") && !msg.contains("Jones"), "{msg}");
    }
}

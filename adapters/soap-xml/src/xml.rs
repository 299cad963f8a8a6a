//! A small, hardened XML reader: bytes in, a bounded element tree out, with
//! every element and attribute name resolved to its namespace. Pure: no I/O.
//!
//! It is built on quick-xml's [`NsReader`] and refuses, rather than works
//! around, everything a hostile source could use against the gateway:
//!
//! - a `<!DOCTYPE …>` is an error, so no entity can be declared and nothing
//!   is ever expanded (no XXE, no billion laughs);
//! - only the five predefined entities and numeric character references are
//!   read; any other `&name;` is an error;
//! - the input must be UTF-8 (a UTF-8 byte-order mark is skipped; a
//!   declaration of another encoding is an error);
//! - nesting depth, the number of elements, the number of attributes on one
//!   element and the length of one text value are bounded ([`Limits`]);
//! - characters XML 1.0 does not allow (such as U+0000), raw or as a
//!   character reference, are an error;
//! - text after the end of the input while elements are open is reported as
//!   truncated, not silently accepted.
//!
//! Error messages give a byte position and a kind of problem, never text
//! from the document (which may be patient data).

use quick_xml::NsReader;
use quick_xml::errors::{Error as QError, IllFormedError, SyntaxError};
use quick_xml::escape::EscapeError;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{NamespaceError, ResolveResult};

/// The SOAP 1.1 envelope namespace.
pub const SOAP11_ENVELOPE_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// The SOAP 1.2 envelope namespace (recognised only to be refused clearly).
pub const SOAP12_ENVELOPE_NS: &str = "http://www.w3.org/2003/05/soap-envelope";
/// The person-summary service's namespace.
pub const PERSON_SUMMARY_NS: &str = "urn:icr:socialcare:personsummary:1";

/// Attributes one element may carry (namespace declarations included).
pub const MAX_ATTRIBUTES: usize = 64;

/// The namespace a name belongs to. Only the namespaces the adapter reads
/// are told apart; every other URI is [`Ns::Other`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Ns {
    /// No namespace (an unprefixed name with no default namespace in scope,
    /// or any unprefixed attribute).
    None,
    /// The SOAP 1.1 envelope namespace.
    Soap11,
    /// The SOAP 1.2 envelope namespace.
    Soap12,
    /// The person-summary service's namespace.
    PersonSummary,
    /// Any other namespace.
    Other,
}

impl Ns {
    fn of_uri(uri: &str) -> Self {
        match uri {
            SOAP11_ENVELOPE_NS => Ns::Soap11,
            SOAP12_ENVELOPE_NS => Ns::Soap12,
            PERSON_SUMMARY_NS => Ns::PersonSummary,
            "" => Ns::None,
            _ => Ns::Other,
        }
    }
}

/// Bounds on what one document may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Deepest nesting of elements (the root is at depth 1).
    pub max_depth: usize,
    /// Most elements in the document.
    pub max_elements: usize,
    /// Longest text of one element or value of one attribute, in bytes.
    pub max_text_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 64,
            max_elements: 200_000,
            max_text_bytes: 64 * 1024,
        }
    }
}

/// Why a document was refused. Messages carry byte positions and kinds of
/// problem only.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// There is no element at all.
    #[error("the body holds no XML element")]
    Empty,
    /// The bytes are not UTF-8.
    #[error("the body is not UTF-8 (at byte {0})")]
    NotUtf8(usize),
    /// The document declares (or starts with the mark of) another encoding.
    #[error("only UTF-8 is accepted, and the document declares another encoding")]
    Encoding,
    /// A document type declaration: refused outright, never processed.
    #[error("a DOCTYPE is not accepted (document type and entity declarations are refused)")]
    Doctype,
    /// An entity reference other than the five predefined ones.
    #[error(
        "an entity reference at byte {0} is not one of the five predefined XML entities, and is refused"
    )]
    UnknownEntity(u64),
    /// A malformed character reference.
    #[error("an invalid character reference at byte {0}")]
    BadCharRef(u64),
    /// A character XML 1.0 does not allow.
    #[error("a character XML does not allow, at byte {0}")]
    IllegalChar(u64),
    /// A namespace prefix used without being declared.
    #[error("an undeclared namespace prefix at byte {0}")]
    UndeclaredPrefix(u64),
    /// Any other breach of XML syntax.
    #[error("invalid XML at byte {at}: {what}")]
    Syntax {
        /// Byte position.
        at: u64,
        /// What is wrong (a fixed description).
        what: &'static str,
    },
    /// The input ends inside the document.
    #[error("the XML ends before the document is complete (truncated)")]
    Truncated,
    /// Text or a second element outside the root element.
    #[error("content outside the root element at byte {0}")]
    OutsideRoot(u64),
    /// Nesting deeper than the limit.
    #[error("elements are nested deeper than the limit of {0}")]
    TooDeep(usize),
    /// More elements than the limit.
    #[error("the document has more than the limit of {0} elements")]
    TooManyElements(usize),
    /// A text value longer than the limit.
    #[error("a text value is longer than the limit of {0} bytes")]
    TextTooLong(usize),
    /// An element with too many attributes.
    #[error("an element has more than the limit of {0} attributes")]
    TooManyAttributes(usize),
}

/// One attribute, its name resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribute {
    /// The namespace (unprefixed attributes have none).
    pub ns: Ns,
    /// The local name.
    pub name: Box<str>,
    /// The value, entities and character references replaced, normalised
    /// as XML requires.
    pub value: String,
}

/// One element, its name resolved, with its attributes, child elements and
/// text (the concatenation of its character data and CDATA sections).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Element {
    /// The namespace.
    pub ns: Ns,
    /// The local name.
    pub name: Box<str>,
    /// Attributes other than namespace declarations.
    pub attributes: Vec<Attribute>,
    /// Namespace prefixes declared on this element (`""` for the default
    /// namespace), to resolve names written inside text (SOAP `faultcode`).
    pub prefixes: Vec<(Box<str>, Ns)>,
    /// Child elements, in document order.
    pub children: Vec<Element>,
    /// The character data directly inside the element. Whitespace between
    /// child elements is not kept.
    pub text: String,
}

impl Element {
    /// True when the element has this namespace and local name.
    pub fn is(&self, ns: Ns, name: &str) -> bool {
        self.ns == ns && &*self.name == name
    }

    /// The child elements with this namespace and local name.
    pub fn children_named<'a>(
        &'a self,
        ns: Ns,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.is(ns, name))
    }

    /// The first child element with this namespace and local name.
    pub fn child(&self, ns: Ns, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is(ns, name))
    }

    /// The value of an unprefixed attribute, trimmed; `None` when absent or
    /// blank.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.ns == Ns::None && &*a.name == name)
            .map(|a| a.value.trim())
            .filter(|v| !v.is_empty())
    }

    /// The element's text, trimmed; `None` when blank.
    pub fn value(&self) -> Option<&str> {
        Some(self.text.trim()).filter(|t| !t.is_empty())
    }

    fn new(ns: Ns, name: &str) -> Self {
        Self {
            ns,
            name: name.into(),
            attributes: Vec::new(),
            prefixes: Vec::new(),
            children: Vec::new(),
            text: String::new(),
        }
    }
}

/// Whether XML 1.0 allows the character in a document.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Reads a whole document into its root element.
pub fn parse(input: &[u8], limits: &Limits) -> Result<Element, XmlError> {
    let text = decode(input)?;
    let mut reader = NsReader::from_str(text);
    {
        let config = reader.config_mut();
        config.check_end_names = true;
        config.expand_empty_elements = false;
        config.trim_text(false);
    }
    reader
        .resolver_mut()
        .set_max_namespace_bindings(MAX_ATTRIBUTES);
    let mut builder = Builder {
        limits,
        stack: Vec::new(),
        root: None,
        elements: 0,
    };
    loop {
        let event = reader
            .read_event()
            .map_err(|e| describe(&e, reader.error_position()))?;
        let at = reader.buffer_position();
        match event {
            Event::Start(start) => {
                let element = open(&reader, &start, limits, at)?;
                builder.push(element, at)?;
            }
            Event::Empty(start) => {
                let element = open(&reader, &start, limits, at)?;
                builder.push(element, at)?;
                builder.pop(at)?;
            }
            Event::End(_) => builder.pop(at)?,
            Event::Text(t) => builder.text(&t.xml10_content(), at)?,
            Event::CData(c) => builder.text(&c.xml10_content(), at)?,
            Event::GeneralRef(r) => {
                let c = if r.is_char_ref() {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => c,
                        _ => return Err(XmlError::BadCharRef(at)),
                    }
                } else {
                    match quick_xml::escape::resolve_predefined_entity(&r) {
                        Some(s) => match s.chars().next() {
                            Some(c) => c,
                            None => return Err(XmlError::UnknownEntity(at)),
                        },
                        None => return Err(XmlError::UnknownEntity(at)),
                    }
                };
                let mut buf = [0u8; 4];
                builder.text(c.encode_utf8(&mut buf), at)?;
            }
            Event::DocType(_) => return Err(XmlError::Doctype),
            Event::Decl(decl) => {
                if let Some(encoding) = decl.encoding() {
                    let encoding = encoding.map_err(|_| XmlError::Syntax {
                        at,
                        what: "an unreadable encoding in the XML declaration",
                    })?;
                    let e = encoding.trim();
                    if !e.eq_ignore_ascii_case("utf-8") && !e.eq_ignore_ascii_case("utf8") {
                        return Err(XmlError::Encoding);
                    }
                }
            }
            Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if !builder.stack.is_empty() {
        return Err(XmlError::Truncated);
    }
    builder.root.ok_or(XmlError::Empty)
}

/// The input as UTF-8 text, without a byte-order mark.
fn decode(input: &[u8]) -> Result<&str, XmlError> {
    if input.starts_with(&[0xFE, 0xFF]) || input.starts_with(&[0xFF, 0xFE]) {
        return Err(XmlError::Encoding);
    }
    let input = input.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(input);
    std::str::from_utf8(input).map_err(|e| XmlError::NotUtf8(e.valid_up_to()))
}

/// A new element from a start tag: its name and attributes resolved.
fn open(
    reader: &NsReader<&[u8]>,
    start: &BytesStart<'_>,
    limits: &Limits,
    at: u64,
) -> Result<Element, XmlError> {
    let resolver = reader.resolver();
    let (ns, local) = resolver.resolve_element(start.name());
    let ns = resolved(ns, at)?;
    let mut element = Element::new(ns, local.as_ref());
    for (n, attr) in start.attributes().enumerate() {
        if n >= MAX_ATTRIBUTES {
            return Err(XmlError::TooManyAttributes(MAX_ATTRIBUTES));
        }
        let attr = attr.map_err(|_| XmlError::Syntax {
            at,
            what: "a malformed attribute",
        })?;
        let key = attr.key;
        if let Some(binding) = key.as_namespace_binding() {
            let prefix: Box<str> = match binding {
                quick_xml::name::PrefixDeclaration::Default => "".into(),
                quick_xml::name::PrefixDeclaration::Named(p) => p.into(),
            };
            let uri = attr.value.trim();
            element.prefixes.push((prefix, Ns::of_uri(uri)));
            continue;
        }
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| describe(&e, at))?;
        if value.len() > limits.max_text_bytes {
            return Err(XmlError::TextTooLong(limits.max_text_bytes));
        }
        if !value.chars().all(is_xml_char) {
            return Err(XmlError::IllegalChar(at));
        }
        let (ans, alocal) = resolver.resolve_attribute(key);
        element.attributes.push(Attribute {
            ns: resolved(ans, at)?,
            name: alocal.as_ref().into(),
            value: value.into_owned(),
        });
    }
    Ok(element)
}

fn resolved(r: ResolveResult<'_>, at: u64) -> Result<Ns, XmlError> {
    match r {
        ResolveResult::Unbound => Ok(Ns::None),
        ResolveResult::Bound(ns) => Ok(Ns::of_uri(ns.0)),
        ResolveResult::Unknown(_) => Err(XmlError::UndeclaredPrefix(at)),
    }
}

/// Builds the tree from events, enforcing the limits.
struct Builder<'l> {
    limits: &'l Limits,
    stack: Vec<Element>,
    root: Option<Element>,
    elements: usize,
}

impl Builder<'_> {
    fn push(&mut self, element: Element, at: u64) -> Result<(), XmlError> {
        if self.root.is_some() {
            return Err(XmlError::OutsideRoot(at));
        }
        self.elements += 1;
        if self.elements > self.limits.max_elements {
            return Err(XmlError::TooManyElements(self.limits.max_elements));
        }
        if self.stack.len() >= self.limits.max_depth {
            return Err(XmlError::TooDeep(self.limits.max_depth));
        }
        if let Some(parent) = self.stack.last_mut()
            && parent.text.trim().is_empty()
        {
            // Whitespace between child elements is layout, not content.
            parent.text.clear();
        }
        self.stack.push(element);
        Ok(())
    }

    fn pop(&mut self, at: u64) -> Result<(), XmlError> {
        let Some(done) = self.stack.pop() else {
            return Err(XmlError::Syntax {
                at,
                what: "an end tag with no open element",
            });
        };
        match self.stack.last_mut() {
            Some(parent) => parent.children.push(done),
            None => self.root = Some(done),
        }
        Ok(())
    }

    fn text(&mut self, text: &str, at: u64) -> Result<(), XmlError> {
        if !text.chars().all(is_xml_char) {
            return Err(XmlError::IllegalChar(at));
        }
        let blank = text.trim().is_empty();
        let Some(current) = self.stack.last_mut() else {
            return if blank {
                Ok(())
            } else {
                Err(XmlError::OutsideRoot(at))
            };
        };
        if blank && !current.children.is_empty() {
            return Ok(());
        }
        if current.text.len() + text.len() > self.limits.max_text_bytes {
            return Err(XmlError::TextTooLong(self.limits.max_text_bytes));
        }
        current.text.push_str(text);
        Ok(())
    }
}

/// A quick-xml error as a fixed description, without the names or text it
/// may quote from the document.
fn describe(e: &QError, at: u64) -> XmlError {
    let syntax = |what: &'static str| XmlError::Syntax { at, what };
    match e {
        QError::Io(_) => syntax("the input could not be read"),
        QError::Syntax(s) => match s {
            SyntaxError::InvalidBangMarkup => syntax("unknown markup after `<!`"),
            SyntaxError::UnclosedPI
            | SyntaxError::UnclosedXmlDecl
            | SyntaxError::UnclosedComment
            | SyntaxError::UnclosedDoctype
            | SyntaxError::UnclosedCData
            | SyntaxError::UnclosedTag
            | SyntaxError::UnclosedSingleQuotedAttributeValue
            | SyntaxError::UnclosedDoubleQuotedAttributeValue => XmlError::Truncated,
        },
        QError::IllFormed(i) => match i {
            IllFormedError::MissingDeclVersion(_) | IllFormedError::UnknownVersion => {
                syntax("an invalid XML declaration")
            }
            IllFormedError::MissingDoctypeName => XmlError::Doctype,
            IllFormedError::MissingEndTag(_) => XmlError::Truncated,
            IllFormedError::UnmatchedEndTag(_) => syntax("an end tag with no open element"),
            IllFormedError::MismatchedEndTag { .. } => {
                syntax("an end tag that does not match its start tag")
            }
            IllFormedError::DoubleHyphenInComment => syntax("`--` inside a comment"),
            IllFormedError::UnclosedReference => syntax("an `&` that starts no reference"),
        },
        QError::InvalidAttr(_) => syntax("a malformed attribute"),
        QError::Encoding(_) => XmlError::NotUtf8(usize::try_from(at).unwrap_or(usize::MAX)),
        QError::Escape(esc) => match esc {
            EscapeError::UnrecognizedEntity(..) | EscapeError::TooManyNestedEntities => {
                XmlError::UnknownEntity(at)
            }
            EscapeError::UnterminatedEntity(_) => syntax("an `&` that starts no reference"),
            EscapeError::InvalidCharRef(_) => XmlError::BadCharRef(at),
        },
        QError::Namespace(ns) => match ns {
            NamespaceError::UnknownPrefix(_) => XmlError::UndeclaredPrefix(at),
            NamespaceError::TooManyBindings(_) => syntax("too many namespace declarations"),
            NamespaceError::TooDeeplyNested(_) => syntax("elements are nested too deeply"),
            NamespaceError::InvalidXmlPrefixBind(_)
            | NamespaceError::InvalidXmlnsPrefixBind(_)
            | NamespaceError::InvalidPrefixForXml(_)
            | NamespaceError::InvalidPrefixForXmlns(_) => {
                syntax("a namespace declaration XML forbids")
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Element, XmlError> {
        parse(s.as_bytes(), &Limits::default())
    }

    #[test]
    fn resolves_prefixes_and_default_namespaces() {
        let doc = p(r#"<?xml version="1.0" encoding="UTF-8"?>
<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/">
  <e:Body><R xmlns="urn:icr:socialcare:personsummary:1" a="1"><x:Y xmlns:x="urn:other"/></R></e:Body>
</e:Envelope>"#)
        .unwrap();
        assert!(doc.is(Ns::Soap11, "Envelope"));
        let body = doc.child(Ns::Soap11, "Body").unwrap();
        let r = body.child(Ns::PersonSummary, "R").unwrap();
        assert_eq!(r.attribute("a"), Some("1"));
        assert_eq!(r.children[0].ns, Ns::Other);
        assert_eq!(r.prefixes, vec![("".into(), Ns::PersonSummary)]);
        assert_eq!(doc.text, "");
    }

    #[test]
    fn text_entities_cdata_and_char_refs() {
        let doc =
            p("<a>x &amp; y &lt;&gt;&quot;&apos; &#65;&#x42; <![CDATA[<b>&amp;</b>]]>\r\nz</a>")
                .unwrap();
        assert_eq!(doc.text, "x & y <>\"' AB <b>&amp;</b>\nz");
        let doc = p(r#"<a v="1 &amp; &#50;&#x33;&lt;"/>"#).unwrap();
        assert_eq!(doc.attribute("v"), Some("1 & 23<"));
    }

    #[test]
    fn refuses_what_a_hostile_source_could_send() {
        let cases: &[(&str, XmlError)] = &[
            ("", XmlError::Empty),
            ("<!-- only -->", XmlError::Empty),
            (
                "<!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><a>&x;</a>",
                XmlError::Doctype,
            ),
            ("<a>&nbsp;</a>", XmlError::UnknownEntity(9)),
            ("<a>&#0;</a>", XmlError::BadCharRef(7)),
            ("<a>\u{1}</a>", XmlError::IllegalChar(4)),
            (
                "<a><b></a>",
                XmlError::Syntax {
                    at: 6,
                    what: "an end tag that does not match its start tag",
                },
            ),
            ("<a><b>", XmlError::Truncated),
            ("<a><b x=\"1", XmlError::Truncated),
            ("<a/><b/>", XmlError::OutsideRoot(8)),
            ("<a/>text", XmlError::OutsideRoot(8)),
            ("<p:a/>", XmlError::UndeclaredPrefix(6)),
            (
                "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a/>",
                XmlError::Encoding,
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(p(input).as_ref().err(), Some(expected), "{input:?}");
        }
        assert_eq!(
            parse(&[0xFF, 0xFE, b'<', 0], &Limits::default()),
            Err(XmlError::Encoding)
        );
        assert_eq!(
            parse(b"<a>\xC3(</a>", &Limits::default()),
            Err(XmlError::NotUtf8(3))
        );
    }

    #[test]
    fn limits_hold() {
        let limits = Limits {
            max_depth: 3,
            max_elements: 5,
            max_text_bytes: 8,
        };
        assert_eq!(
            parse(b"<a><b><c><d/></c></b></a>", &limits),
            Err(XmlError::TooDeep(3))
        );
        assert_eq!(
            parse(b"<a><b/><b/><b/><b/><b/></a>", &limits),
            Err(XmlError::TooManyElements(5))
        );
        assert_eq!(
            parse(b"<a>123456789</a>", &limits),
            Err(XmlError::TextTooLong(8))
        );
        assert_eq!(
            parse(b"<a v=\"123456789\"/>", &limits),
            Err(XmlError::TextTooLong(8))
        );
        // whitespace between children does not count against the text limit
        assert!(parse(b"<a>\n    <b/>\n    <b/>\n    <b/>\n</a>", &limits).is_ok());
    }
}

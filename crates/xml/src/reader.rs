//! Events from quick-xml's [`NsReader`] into a bounded [`Element`] tree.

use quick_xml::errors::{Error as QError, IllFormedError, SyntaxError};
use quick_xml::escape::EscapeError;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{NamespaceError, PrefixDeclaration, ResolveResult};
use quick_xml::{NsReader, XmlVersion};

use crate::{Element, Limits, Namespace, XmlError, tree::Attribute};

/// The root element a format requires, checked as soon as its start tag is
/// read (before the rest of the document is).
#[derive(Clone, Copy, Debug)]
pub struct Root<N> {
    /// The root's namespace.
    pub ns: N,
    /// The root's local name.
    pub name: &'static str,
    /// What to call it in [`XmlError::WrongRoot`].
    pub what: &'static str,
}

/// Reads a whole document into its root element, within `limits`.
pub fn parse<N: Namespace>(input: &[u8], limits: &Limits) -> Result<Element<N>, XmlError> {
    read(input, limits, None)
}

/// [`parse`], refusing a document whose root element is not `root`.
pub fn parse_rooted<N: Namespace>(
    input: &[u8],
    limits: &Limits,
    root: Root<N>,
) -> Result<Element<N>, XmlError> {
    read(input, limits, Some(root))
}

fn read<N: Namespace>(
    input: &[u8],
    limits: &Limits,
    root: Option<Root<N>>,
) -> Result<Element<N>, XmlError> {
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
        .set_max_namespace_bindings(limits.max_attributes);
    let mut builder = Builder {
        limits,
        stack: Vec::new(),
        root: None,
        elements: 0,
        expected_root: root,
    };
    loop {
        // Positions name where the offending event starts.
        let at = reader.buffer_position();
        let event = reader
            .read_event()
            .map_err(|e| describe(&e, reader.error_position()))?;
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
                        _ => return Err(XmlError::BadCharRef { at }),
                    }
                } else {
                    quick_xml::escape::resolve_predefined_entity(&r)
                        .and_then(|s| s.chars().next())
                        .ok_or(XmlError::UnknownEntity { at })?
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
    std::str::from_utf8(input).map_err(|e| XmlError::NotUtf8 {
        at: e.valid_up_to(),
    })
}

/// Whether XML 1.0 allows the character in a document.
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Whether XML 1.0 allows every character of `s`. Text can be megabytes
/// (a base64 `nonXMLBody`), so this looks at bytes: in UTF-8 the only
/// characters refused are the C0 controls other than tab, newline and
/// carriage return (single bytes) and U+FFFE and U+FFFF (which start with
/// 0xEF); only text holding 0xEF is read character by character.
fn all_xml_chars(s: &str) -> bool {
    let bytes = s.as_bytes();
    let controls_ok = bytes
        .iter()
        .all(|&b| b >= 0x20 || b == b'\t' || b == b'\n' || b == b'\r');
    controls_ok && (!bytes.contains(&0xEF) || s.chars().all(is_xml_char))
}

/// A new element from a start tag: its name and attributes resolved.
fn open<N: Namespace>(
    reader: &NsReader<&[u8]>,
    start: &BytesStart<'_>,
    limits: &Limits,
    at: u64,
) -> Result<Element<N>, XmlError> {
    let resolver = reader.resolver();
    let (ns, local) = resolver.resolve_element(start.name());
    let ns = resolved::<N>(ns, at)?;
    let mut element = Element::new(ns, local.as_ref());
    for (n, attr) in start.attributes().enumerate() {
        if n >= limits.max_attributes {
            return Err(XmlError::TooManyAttributes {
                limit: limits.max_attributes,
            });
        }
        let attr = attr.map_err(|_| XmlError::Syntax {
            at,
            what: "a malformed or duplicated attribute",
        })?;
        let key = attr.key;
        if let Some(binding) = key.as_namespace_binding() {
            let prefix: Box<str> = match binding {
                PrefixDeclaration::Default => "".into(),
                PrefixDeclaration::Named(p) => p.into(),
            };
            let uri = attr.value.trim();
            element.prefixes.push((prefix, N::of_uri(uri)));
            continue;
        }
        let value = attr
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| describe(&e, at))?;
        if value.len() > limits.max_text_bytes {
            return Err(XmlError::TextTooLong {
                limit: limits.max_text_bytes,
            });
        }
        if !all_xml_chars(&value) {
            return Err(XmlError::IllegalChar { at });
        }
        let ans = match key.prefix() {
            None => None,
            Some(_) => Some(resolved::<N>(resolver.resolve_attribute(key).0, at)?),
        };
        element.attributes.push(Attribute {
            ns: ans,
            name: key.local_name().as_ref().into(),
            value: value.into_owned(),
        });
    }
    Ok(element)
}

fn resolved<N: Namespace>(r: ResolveResult<'_>, at: u64) -> Result<N, XmlError> {
    match r {
        ResolveResult::Unbound => Ok(N::of_uri("")),
        ResolveResult::Bound(ns) => Ok(N::of_uri(ns.0)),
        ResolveResult::Unknown(_) => N::undeclared().ok_or(XmlError::UndeclaredPrefix { at }),
    }
}

/// An open element and the run of text being read inside it.
struct Open<N> {
    element: Element<N>,
    run: String,
    /// The run so far is whitespace only.
    run_blank: bool,
}

/// Whether `s` is whitespace only (as [`str::trim`] sees whitespace), with
/// a fast path for the ASCII layout between tags.
fn is_blank(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r')) || s.trim().is_empty()
}

impl<N: Namespace> Open<N> {
    /// Ends the current run of text at a tag. Without child elements the
    /// run is the text so far; once there are, a blank run is layout.
    fn close_run(&mut self, limits: &Limits, ending: bool) -> Result<(), XmlError> {
        let e = &mut self.element;
        if e.children.is_empty() && ending {
            // A leaf: its one run is its text.
            e.text = std::mem::take(&mut self.run);
            return Ok(());
        }
        if self.run.is_empty() {
            return Ok(());
        }
        let run = std::mem::take(&mut self.run);
        let blank = std::mem::replace(&mut self.run_blank, true);
        if e.children.is_empty() {
            // Text before the first child: kept in `text` only if not blank.
            if !blank {
                e.text.push_str(&run);
            }
        } else if !blank {
            if e.text.len() + run.len() > limits.max_text_bytes {
                return Err(XmlError::TextTooLong {
                    limit: limits.max_text_bytes,
                });
            }
            e.text.push_str(&run);
        }
        if N::MIXED_CONTENT {
            e.runs.push((e.children.len(), run.into_boxed_str()));
        }
        Ok(())
    }
}

/// Builds the tree from events, enforcing the limits.
struct Builder<'l, N> {
    limits: &'l Limits,
    stack: Vec<Open<N>>,
    root: Option<Element<N>>,
    elements: usize,
    expected_root: Option<Root<N>>,
}

impl<N: Namespace> Builder<'_, N> {
    fn push(&mut self, element: Element<N>, at: u64) -> Result<(), XmlError> {
        if self.root.is_some() {
            return Err(XmlError::OutsideRoot { at });
        }
        if self.stack.is_empty()
            && let Some(root) = &self.expected_root
            && !element.is(root.ns, root.name)
        {
            return Err(XmlError::WrongRoot {
                expected: root.what,
            });
        }
        self.elements += 1;
        if self.elements > self.limits.max_elements {
            return Err(XmlError::TooManyElements {
                limit: self.limits.max_elements,
            });
        }
        if self.stack.len() >= self.limits.max_depth {
            return Err(XmlError::TooDeep {
                limit: self.limits.max_depth,
            });
        }
        if let Some(parent) = self.stack.last_mut() {
            parent.close_run(self.limits, false)?;
        }
        self.stack.push(Open {
            element,
            run: String::new(),
            run_blank: true,
        });
        Ok(())
    }

    fn pop(&mut self, at: u64) -> Result<(), XmlError> {
        let Some(mut done) = self.stack.pop() else {
            return Err(XmlError::Syntax {
                at,
                what: "an end tag with no open element",
            });
        };
        done.close_run(self.limits, true)?;
        match self.stack.last_mut() {
            Some(parent) => parent.element.children.push(done.element),
            None => self.root = Some(done.element),
        }
        Ok(())
    }

    fn text(&mut self, text: &str, at: u64) -> Result<(), XmlError> {
        if !all_xml_chars(text) {
            return Err(XmlError::IllegalChar { at });
        }
        let blank = is_blank(text);
        let Some(current) = self.stack.last_mut() else {
            return if blank {
                Ok(())
            } else {
                Err(XmlError::OutsideRoot { at })
            };
        };
        let limit = self.limits.max_text_bytes;
        current.run_blank &= blank;
        // One run, and the element's text with it, stays within the limit;
        // whitespace between child elements counts only run by run.
        let kept = if current.run_blank {
            0
        } else {
            current.element.text.len()
        };
        if kept + current.run.len() + text.len() > limit {
            return Err(XmlError::TextTooLong { limit });
        }
        current.run.push_str(text);
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
        QError::InvalidAttr(_) => syntax("a malformed or duplicated attribute"),
        QError::Encoding(_) => XmlError::NotUtf8 {
            at: usize::try_from(at).unwrap_or(usize::MAX),
        },
        QError::Escape(esc) => match esc {
            EscapeError::UnrecognizedEntity(..) | EscapeError::TooManyNestedEntities => {
                XmlError::UnknownEntity { at }
            }
            EscapeError::UnterminatedEntity(_) => syntax("an `&` that starts no reference"),
            EscapeError::InvalidCharRef(_) => XmlError::BadCharRef { at },
        },
        QError::Namespace(ns) => match ns {
            NamespaceError::UnknownPrefix(_) => XmlError::UndeclaredPrefix { at },
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

    #[test]
    fn the_byte_check_agrees_with_the_character_check() {
        for s in [
            "",
            "plain",
            "tab\tnl\ncr\r",
            "nul\u{0}",
            "bel\u{7}",
            "del\u{7F} c1\u{85}",
            "é – ✓",
            "\u{FFFD}",
            "\u{FFFE}",
            "x\u{FFFF}",
            "\u{EFFF}\u{E000}",
            "😀",
        ] {
            assert_eq!(all_xml_chars(s), s.chars().all(is_xml_char), "{s:?}");
        }
    }

    #[test]
    fn blank_is_what_trim_leaves_empty() {
        for s in ["", " \t\r\n", "\u{A0}", " \u{2003} ", " x ", "\u{85}y"] {
            assert_eq!(is_blank(s), s.trim().is_empty(), "{s:?}");
        }
    }
}

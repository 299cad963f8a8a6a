//! A CDA document as a tree of its HL7 v3 elements, read by the shared
//! hardened reader ([`icr_xml`]).
//!
//! The document's root must be an HL7 v3 `ClinicalDocument`. Elements in
//! other namespaces (`sdtc:` extensions and the like) are invisible here,
//! with everything inside them (they still count towards the limits);
//! prefixed attributes are not read, and names whose prefix is not
//! declared are foreign rather than an error. Unprefixed names with no default
//! namespace are taken as HL7 v3, as many published examples are written
//! that way.

pub use icr_xml::{Limits, XmlError, collapse_whitespace};

/// The HL7 v3 namespace CDA R2 elements live in.
pub const CDA_NAMESPACE: &str = "urn:hl7-org:v3";

/// What [`XmlError::WrongRoot`] calls the root a CDA document needs.
pub const CDA_ROOT: &str = "CDA ClinicalDocument";

/// HL7 v3, or another namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CdaNs {
    /// `urn:hl7-org:v3`, or no namespace at all.
    Hl7V3,
    /// Anything else.
    Other,
}

impl icr_xml::Namespace for CdaNs {
    fn of_uri(uri: &str) -> Self {
        if uri.is_empty() || uri == CDA_NAMESPACE {
            CdaNs::Hl7V3
        } else {
            CdaNs::Other
        }
    }

    /// Published examples write `xsi:type` without declaring `xsi`: such
    /// names are foreign, as they always were here.
    fn undeclared() -> Option<Self> {
        Some(CdaNs::Other)
    }

    /// Narrative is mixed content.
    const MIXED_CONTENT: bool = true;
}

/// The bounds for CDA documents: deeper and larger than a SOAP answer, and
/// a text value as long as a base64 `nonXMLBody` may be.
pub fn default_limits() -> Limits {
    Limits {
        max_depth: 128,
        max_elements: 250_000,
        max_attributes: 64,
        max_text_bytes: 32 * 1024 * 1024,
    }
}

/// A parsed document.
#[derive(Debug)]
pub struct Tree {
    root: icr_xml::Element<CdaNs>,
}

/// One HL7 v3 element of a [`Tree`].
#[derive(Clone, Copy, Debug)]
pub struct El<'a> {
    el: &'a icr_xml::Element<CdaNs>,
}

/// A child of an element: an HL7 v3 element or a run of text.
#[derive(Clone, Copy, Debug)]
pub enum Content<'a> {
    /// A child element.
    Element(El<'a>),
    /// Decoded character data.
    Text(&'a str),
}

/// Reads `input` as a CDA document's XML, within `limits`.
pub fn parse(input: &[u8], limits: &Limits) -> Result<Tree, XmlError> {
    let root = icr_xml::parse_rooted(
        input,
        limits,
        icr_xml::Root {
            ns: CdaNs::Hl7V3,
            name: "ClinicalDocument",
            what: CDA_ROOT,
        },
    )?;
    Ok(Tree { root })
}

impl Tree {
    /// The root element (`ClinicalDocument`).
    pub fn root(&self) -> El<'_> {
        El { el: &self.root }
    }
}

impl<'a> El<'a> {
    /// The element's local name.
    pub fn name(&self) -> &'a str {
        &self.el.name
    }

    /// An unprefixed attribute's value, entity references decoded.
    pub fn attr(&self, name: &str) -> Option<&'a str> {
        self.el.attr(name)
    }

    /// An attribute's value, trimmed, when it is not blank.
    pub fn attr_text(&self, name: &str) -> Option<&'a str> {
        self.el.attribute(name)
    }

    /// Children, HL7 v3 elements and text, in document order.
    pub fn content(&self) -> impl Iterator<Item = Content<'a>> + 'a {
        self.el.content().filter_map(|c| match c {
            icr_xml::Content::Element(e) if e.ns == CdaNs::Hl7V3 => {
                Some(Content::Element(El { el: e }))
            }
            icr_xml::Content::Element(_) => None,
            icr_xml::Content::Text(t) => Some(Content::Text(t)),
        })
    }

    /// Child HL7 v3 elements, in order.
    pub fn elements(&self) -> impl Iterator<Item = El<'a>> + 'a {
        self.el
            .children
            .iter()
            .filter(|e| e.ns == CdaNs::Hl7V3)
            .map(|el| El { el })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> Result<Tree, XmlError> {
        parse(s.as_bytes(), &default_limits())
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
              <p>a<x:b>hidden</x:b>c</p>
            </ClinicalDocument>"#,
        )
        .unwrap();
        let root = tree.root();
        assert_eq!(root.name(), "ClinicalDocument");
        let names: Vec<&str> = root.elements().map(|e| e.name()).collect();
        assert_eq!(names, ["title", "code", "p"]);
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
        // a foreign element inside text leaves no trace, not even a space
        assert_eq!(root.child("p").unwrap().text().as_deref(), Some("ac"));
        assert_eq!(root.find(&["p"]).map(|p| p.content().count()), Some(2));
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
    fn undeclared_prefixes_are_foreign_not_errors() {
        let tree = parse_str(
            r#"<ClinicalDocument xmlns="urn:hl7-org:v3"><value xsi:type="CD" code="1"/><u:x/></ClinicalDocument>"#,
        )
        .unwrap();
        let names: Vec<&str> = tree.root().elements().map(|e| e.name()).collect();
        assert_eq!(names, ["value"]);
        let value = tree.root().child("value").unwrap();
        assert_eq!((value.attr("code"), value.attr("type")), (Some("1"), None));
    }

    #[test]
    fn the_fuzzing_entry_point_walks_a_document() {
        crate::fuzz_document(
            b"<ClinicalDocument><component><section><text>a<b>c</b></text></section></component></ClinicalDocument>",
        );
        crate::fuzz_document(b"\xff<");
    }

    #[test]
    fn the_root_must_be_a_clinical_document() {
        let wrong = XmlError::WrongRoot { expected: CDA_ROOT };
        for input in [
            "<Other xmlns=\"urn:hl7-org:v3\"/>",
            "<ClinicalDocument xmlns=\"urn:other\"/>",
        ] {
            assert_eq!(parse_str(input).unwrap_err(), wrong, "{input}");
        }
        assert_eq!(
            wrong.to_string(),
            "the root element is not a CDA ClinicalDocument"
        );
    }

    #[test]
    fn find_follows_every_branch() {
        let tree = parse_str(
            "<ClinicalDocument><a><b/></a><a><b><c>1</c></b><b><c>2</c></b></a></ClinicalDocument>",
        )
        .unwrap();
        let cs: Vec<String> = tree
            .root()
            .find_all(&["a", "b", "c"])
            .iter()
            .filter_map(El::text)
            .collect();
        assert_eq!(cs, ["1", "2"]);
        assert_eq!(
            tree.root()
                .find(&["a", "b", "c"])
                .and_then(|c| c.text())
                .as_deref(),
            Some("1")
        );
        assert!(tree.root().find(&["x"]).is_none());
    }
}

//! The tree [`parse`](crate::parse) builds.

/// One attribute, its name resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribute<N> {
    /// The namespace of a prefixed attribute; `None` for an unprefixed one
    /// (which is in no namespace, whatever the default namespace).
    pub ns: Option<N>,
    /// The local name.
    pub name: Box<str>,
    /// The value, entities and character references replaced, normalised
    /// as XML requires.
    pub value: String,
}

/// One element, its name resolved, with its attributes, its child elements
/// and its character data. Built only by [`parse`](crate::parse).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Element<N> {
    /// The namespace.
    pub ns: N,
    /// The local name.
    pub name: Box<str>,
    /// Attributes other than namespace declarations.
    pub attributes: Vec<Attribute<N>>,
    /// Namespace prefixes declared on this element (`""` for the default
    /// namespace), to resolve names written inside text (SOAP `faultcode`).
    pub prefixes: Vec<(Box<str>, N)>,
    /// Child elements, in document order.
    pub children: Vec<Element<N>>,
    /// The character data directly inside the element (CDATA included).
    /// Runs of whitespace alone between child elements are layout, not
    /// content, and are not kept here ([`Element::content`] has them).
    pub text: String,
    /// With child elements, in a format with mixed content
    /// ([`Namespace::MIXED_CONTENT`](crate::Namespace::MIXED_CONTENT)):
    /// every run of text, blank or not, after how many children it comes.
    /// Empty without child elements (`text` is then the one run).
    pub(crate) runs: Vec<(usize, Box<str>)>,
}

/// A child of an element: an element or a run of text, in document order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Content<'a, N> {
    /// A child element.
    Element(&'a Element<N>),
    /// Decoded character data.
    Text(&'a str),
}

impl<N: Copy + Eq> Element<N> {
    pub(crate) fn new(ns: N, name: &str) -> Self {
        Self {
            ns,
            name: name.into(),
            attributes: Vec::new(),
            prefixes: Vec::new(),
            children: Vec::new(),
            text: String::new(),
            runs: Vec::new(),
        }
    }

    /// True when the element has this namespace and local name.
    pub fn is(&self, ns: N, name: &str) -> bool {
        self.ns == ns && &*self.name == name
    }

    /// The child elements with this namespace and local name.
    pub fn children_named<'a>(
        &'a self,
        ns: N,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Element<N>> + 'a {
        self.children.iter().filter(move |c| c.is(ns, name))
    }

    /// The first child element with this namespace and local name.
    pub fn child(&self, ns: N, name: &str) -> Option<&Element<N>> {
        self.children.iter().find(|c| c.is(ns, name))
    }

    /// The value of an unprefixed attribute as written (entities decoded).
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.ns.is_none() && &*a.name == name)
            .map(|a| a.value.as_str())
    }

    /// The value of an unprefixed attribute, trimmed; `None` when absent or
    /// blank.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attr(name).map(str::trim).filter(|v| !v.is_empty())
    }

    /// The element's text, trimmed; `None` when blank.
    pub fn value(&self) -> Option<&str> {
        Some(self.text.trim()).filter(|t| !t.is_empty())
    }

    /// Children, elements and every run of text (whitespace included), in
    /// document order. In a format without mixed content, text beside child
    /// elements is not here, only in [`Element::text`].
    pub fn content(&self) -> impl Iterator<Item = Content<'_, N>> + '_ {
        let leaf = self.children.is_empty() && !self.text.is_empty();
        let leaf = leaf.then_some(Content::Text(self.text.as_str()));
        let mut runs = self.runs.iter().peekable();
        let mut children = self.children.iter().enumerate().peekable();
        let mixed = std::iter::from_fn(move || {
            let next_child = children.peek().map(|(i, _)| *i);
            match (runs.peek(), next_child) {
                (Some((before, _)), Some(i)) if *before > i => {
                    children.next().map(|(_, c)| Content::Element(c))
                }
                (Some(_), _) => runs.next().map(|(_, t)| Content::Text(t)),
                (None, Some(_)) => children.next().map(|(_, c)| Content::Element(c)),
                (None, None) => None,
            }
        });
        leaf.into_iter().chain(mixed)
    }
}

#[cfg(test)]
mod tests {
    use crate::{Content, Limits, Namespace, parse};

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    struct Ns;
    impl Namespace for Ns {
        fn of_uri(_: &str) -> Self {
            Ns
        }
        const MIXED_CONTENT: bool = true;
    }

    fn shape(xml: &str) -> Vec<String> {
        let root = parse::<Ns>(xml.as_bytes(), &Limits::default()).unwrap();
        root.content()
            .map(|c| match c {
                Content::Element(e) => format!("<{}>", e.name),
                Content::Text(t) => format!("{t:?}"),
            })
            .collect()
    }

    #[test]
    fn content_interleaves_text_and_elements_in_order() {
        assert_eq!(
            shape("<a> x <b/> <c>in</c>y &amp; z<d/></a>"),
            [r#"" x ""#, "<b>", r#"" ""#, "<c>", r#""y & z""#, "<d>"]
        );
        assert_eq!(shape("<a>only</a>"), [r#""only""#]);
        assert!(shape("<a/>").is_empty());
        assert_eq!(shape("<a><b/><c/></a>"), ["<b>", "<c>"]);
    }

    #[test]
    fn without_mixed_content_text_is_only_in_text() {
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        struct Data;
        impl Namespace for Data {
            fn of_uri(_: &str) -> Self {
                Data
            }
        }
        let root = parse::<Data>(b"<a> x <b/> <c>in</c>y</a>", &Limits::default()).unwrap();
        let kinds: Vec<bool> = root
            .content()
            .map(|c| matches!(c, Content::Element(_)))
            .collect();
        assert_eq!(kinds, [true, true]);
        assert_eq!(root.text, " x y");
        let leaf = &root.children[1];
        assert!(matches!(leaf.content().next(), Some(Content::Text("in"))));
    }

    #[test]
    fn text_keeps_what_is_not_layout() {
        let root =
            parse::<Ns>(b"<a>\n  <b> v </b>\n  tail <c/>\n</a>", &Limits::default()).unwrap();
        assert_eq!(root.text, "\n  tail ");
        assert_eq!(root.value(), Some("tail"));
        assert_eq!(root.children[0].text, " v ");
        assert_eq!(root.children[0].value(), Some("v"));
        let blank = parse::<Ns>(b"<a>\n  <b/>\n</a>", &Limits::default()).unwrap();
        assert_eq!(blank.text, "");
        assert_eq!(blank.value(), None);
    }

    #[test]
    fn attributes_trimmed_or_as_written() {
        let root = parse::<Ns>(br#"<a v=" 1 " e="  "/>"#, &Limits::default()).unwrap();
        assert_eq!(root.attr("v"), Some(" 1 "));
        assert_eq!(root.attribute("v"), Some("1"));
        assert_eq!(root.attr("e"), Some("  "));
        assert_eq!(root.attribute("e"), None);
        assert_eq!(root.attribute("missing"), None);
    }
}

//! A small XML writer: one element per line, two spaces of indent, every
//! text and attribute value escaped. Names are the caller's constants.

/// Writes an XML document into a string.
#[derive(Debug)]
pub struct Writer {
    out: String,
    depth: usize,
}

impl Default for Writer {
    fn default() -> Self {
        Self::new()
    }
}

impl Writer {
    /// A document starting with `<?xml version="1.0" encoding="utf-8"?>`.
    pub fn new() -> Self {
        Self::with_encoding_label("utf-8")
    }

    /// A document whose declaration spells UTF-8 as `label` (`UTF-8` or
    /// `utf-8`, as the format's examples do).
    pub fn with_encoding_label(label: &str) -> Self {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"");
        escape(&mut out, label, true);
        out.push_str("\"?>\n");
        Self { out, depth: 0 }
    }

    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }

    fn tag(&mut self, name: &str, attrs: &[(&str, &str)], empty: bool) {
        self.out.push('<');
        self.out.push_str(name);
        for (k, v) in attrs {
            self.out.push(' ');
            self.out.push_str(k);
            self.out.push_str("=\"");
            escape(&mut self.out, v, true);
            self.out.push('"');
        }
        self.out.push_str(if empty { "/>" } else { ">" });
    }

    /// A start tag on its own line; what follows is indented one more step.
    pub fn open(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.indent();
        self.tag(name, attrs, false);
        self.out.push('\n');
        self.depth += 1;
    }

    /// The end tag of the element last opened.
    pub fn close(&mut self, name: &str) {
        self.depth = self.depth.saturating_sub(1);
        self.indent();
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    /// `<name attrs>text</name>` on one line.
    pub fn leaf(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) {
        self.indent();
        self.tag(name, attrs, false);
        escape(&mut self.out, text, false);
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    /// `<name attrs/>` on one line.
    pub fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.indent();
        self.tag(name, attrs, true);
        self.out.push('\n');
    }

    /// Text on its own line, between elements (mixed content).
    pub fn text(&mut self, text: &str) {
        self.indent();
        escape(&mut self.out, text, false);
        self.out.push('\n');
    }

    /// A leaf when `text` is present and not blank, its value trimmed.
    pub fn opt(&mut self, name: &str, text: Option<&str>) {
        if let Some(t) = text.map(str::trim).filter(|t| !t.is_empty()) {
            self.leaf(name, &[], t);
        }
    }

    /// The document written.
    pub fn finish(self) -> String {
        self.out
    }
}

/// Appends `s` escaped for element text, or for a double-quoted attribute
/// value; characters XML cannot carry are left out.
pub fn escape(out: &mut String, s: &str, attr: bool) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attr => out.push_str("&quot;"),
            '\r' => out.push_str("&#13;"),
            '\n' if attr => out.push_str("&#10;"),
            '\t' if attr => out.push_str("&#9;"),
            c if crate::reader::is_xml_char(c) => out.push(c),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Limits, Namespace, parse};

    #[test]
    fn writes_indented_and_escaped() {
        let mut w = Writer::new();
        w.open("a", &[("v", "1 \"&\" <2>\n\t\r")]);
        w.leaf("b", &[], "x & <y>\r\n\u{0}z");
        w.opt("c", Some("  "));
        w.opt("d", Some(" d "));
        w.opt("e", None);
        w.empty("f", &[("g", "<")]);
        w.text("t & u");
        w.close("a");
        assert_eq!(
            w.finish(),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<a v=\"1 &quot;&amp;&quot; &lt;2&gt;&#10;&#9;&#13;\">\n  <b>x &amp; &lt;y&gt;&#13;\nz</b>\n  <d>d</d>\n  <f g=\"&lt;\"/>\n  t &amp; u\n</a>\n"
        );
        assert!(
            Writer::with_encoding_label("UTF-8")
                .finish()
                .starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        );
    }

    #[test]
    fn what_it_writes_reads_back_the_same() {
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        struct Any;
        impl Namespace for Any {
            fn of_uri(_: &str) -> Self {
                Any
            }
        }
        let value = "a \"q\" & <t>\r\n\tb";
        let mut w = Writer::new();
        w.open("r", &[("v", value)]);
        w.leaf("t", &[], value);
        w.close("r");
        let root = parse::<Any>(w.finish().as_bytes(), &Limits::default()).unwrap();
        assert_eq!(root.attr("v"), Some(value));
        assert_eq!(root.children[0].text, value);
    }
}

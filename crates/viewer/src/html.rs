//! HTML escaping: the one way text reaches a page.

use std::fmt;

/// Writes `text` to `out` with `&`, `<`, `>`, `"` and `'` escaped, so that
/// it is inert both as element content and inside a quoted attribute. The
/// one escaping function: [`escape_into`], [`escape`] and [`Esc`] use it.
fn escape_to(out: &mut impl fmt::Write, text: &str) -> fmt::Result {
    let mut rest = text;
    while let Some(i) = rest.find(['&', '<', '>', '"', '\'']) {
        out.write_str(&rest[..i])?;
        out.write_str(match rest.as_bytes()[i] {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            _ => "&#39;",
        })?;
        rest = &rest[i + 1..];
    }
    out.write_str(rest)
}

/// Appends `text` to `out`, escaped: `&`, `<`, `>`, `"` and `'` become
/// entities, so it is inert as element content and in a quoted attribute.
pub fn escape_into(out: &mut String, text: &str) {
    // Writing to a String cannot fail.
    let _ = escape_to(out, text);
}

/// `text`, escaped ([`escape_into`]).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_into(&mut out, text);
    out
}

/// Text that is escaped when formatted: `write!(out, "<p>{}</p>", Esc(s))`.
pub(crate) struct Esc<'a>(pub &'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        escape_to(f, self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn escapes_the_five_characters() {
        assert_eq!(
            escape(r#"<a href="x" title='y'>Tom & Jerry</a>"#),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;Tom &amp; Jerry&lt;/a&gt;"
        );
        assert_eq!(escape("Ærø — plain"), "Ærø — plain");
        assert_eq!(Esc("<b>'&'</b>").to_string(), escape("<b>'&'</b>"));
    }

    /// Undoes [`escape`]; for the round-trip property only.
    fn unescape(s: &str) -> String {
        s.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&")
    }

    proptest! {
        #[test]
        fn nothing_survives_unescaped(s in any::<String>()) {
            let e = escape(&s);
            prop_assert!(!e.contains(['<', '>', '"', '\'']), "{e:?}");
            // Every & starts one of the five entities.
            for (i, _) in e.match_indices('&') {
                let tail = &e[i..];
                prop_assert!(
                    ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"].iter().any(|t| tail.starts_with(t)),
                    "{e:?}"
                );
            }
            prop_assert_eq!(&Esc(&s).to_string(), &e);
            prop_assert_eq!(unescape(&e), s);
        }
    }
}

//! CDA narrative blocks (`section/text`) as safe plain text. No I/O.
//!
//! The narrative is a small XHTML-like language. It becomes lines of text:
//! `paragraph`, `caption`, list `item`s and table rows (`tr`) start new
//! lines, `br` breaks a line, list items are bulleted (`- `, or `1. ` in an
//! ordered list) and indented by nesting, table cells are joined with
//! ` | `, and inline markup (`content`, `linkHtml`, `sub`, `sup`,
//! `footnote`) keeps only its text. What must not be shown is dropped with
//! everything inside it: `renderMultiMedia`, `footnoteRef`, `col`,
//! `colgroup`, text marked deleted (`content revised="delete"`), and any
//! element of an executable or embedding kind (`script`, `style`, `object`,
//! `iframe`, `embed`, `applet`, `form`). Attributes, and so links and
//! styles, are never copied. The output has no markup at all; whoever
//! shows it must still escape it as text.
//!
//! Whitespace is collapsed as a browser would, control characters are
//! removed, no more than one blank line is kept, and the output is cut at
//! a character budget.

use crate::xml::{Content, El};

/// Plain text with a character budget.
#[derive(Debug)]
pub struct TextBuilder {
    lines: Vec<String>,
    line: String,
    /// Characters still allowed.
    budget: usize,
    /// True once something was cut for the budget.
    truncated: bool,
    /// A whitespace run is pending before the next visible character.
    space: bool,
    /// Prefix waiting for the first text of the current line.
    prefix: Option<String>,
    /// Indent of continuation lines inside list items, innermost last.
    indents: Vec<String>,
    /// Inside a table cell: blocks do not break the row's line.
    in_cell: usize,
}

impl TextBuilder {
    /// A builder that keeps at most `budget` characters.
    pub fn new(budget: usize) -> Self {
        Self {
            lines: Vec::new(),
            line: String::new(),
            budget,
            truncated: false,
            space: false,
            prefix: None,
            indents: Vec::new(),
            in_cell: 0,
        }
    }

    /// True when some text was not kept for lack of budget.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// Characters still allowed.
    pub fn remaining(&self) -> usize {
        self.budget
    }

    fn spend(&mut self, n: usize) -> bool {
        if self.budget >= n {
            self.budget -= n;
            true
        } else {
            self.budget = 0;
            self.truncated = true;
            false
        }
    }

    /// Adds inline text: whitespace runs collapse to one space, control
    /// characters are dropped.
    pub fn text(&mut self, s: &str) {
        for ch in s.chars() {
            if self.truncated {
                return;
            }
            if ch.is_whitespace() {
                self.space = true;
                continue;
            }
            if ch.is_control() {
                continue;
            }
            if self.line.is_empty() {
                if !self.start_line() {
                    return;
                }
                if let Some(prefix) = self.prefix.take() {
                    if !self.spend(prefix.chars().count()) {
                        return;
                    }
                    self.line.push_str(&prefix);
                }
            } else if self.space && !self.line.ends_with(' ') {
                if !self.spend(1) {
                    return;
                }
                self.line.push(' ');
            }
            self.space = false;
            if !self.spend(1) {
                return;
            }
            self.line.push(ch);
        }
    }

    /// Adds text as it was written, line by line (`text/plain` content,
    /// or text already built): each input line is one output line, with
    /// tabs as spaces, control characters removed, trailing whitespace
    /// trimmed, and no more than one blank line in a row.
    pub fn preformatted(&mut self, s: &str) {
        self.finish_line();
        self.prefix = None;
        for raw in s.split('\n') {
            if self.truncated {
                return;
            }
            let line: String = raw
                .chars()
                .map(|c| if c == '\t' { ' ' } else { c })
                .filter(|c| !c.is_control())
                .collect();
            let line = line.trim_end();
            if line.is_empty() {
                if self.lines.last().is_some_and(|l| !l.is_empty()) {
                    self.push_line(String::new());
                }
                continue;
            }
            let sep = usize::from(!self.lines.is_empty());
            let n = line.chars().count();
            if self.budget >= n + sep {
                self.budget -= n + sep;
                self.lines.push(line.to_string());
            } else {
                let keep = self.budget.saturating_sub(sep);
                if keep > 0 {
                    self.lines.push(line.chars().take(keep).collect());
                }
                self.budget = 0;
                self.truncated = true;
                return;
            }
        }
    }

    /// Records that text was cut elsewhere (a part built on its own).
    pub fn mark_truncated(&mut self) {
        self.truncated = true;
    }

    /// Ends the current line, if anything is on it (a block boundary).
    pub fn block(&mut self) {
        if self.in_cell > 0 {
            self.space = true;
            return;
        }
        self.finish_line();
        self.prefix = self.indents.last().cloned();
    }

    /// Ends the current line even if it is empty (`br`), keeping at most
    /// one blank line in a row.
    pub fn line_break(&mut self) {
        if self.in_cell > 0 {
            self.space = true;
            return;
        }
        if self.line.is_empty() {
            if self.lines.last().is_some_and(|l| !l.is_empty()) {
                self.push_line(String::new());
            }
        } else {
            self.finish_line();
        }
        self.prefix = self.indents.last().cloned();
    }

    /// Starts a list item: its first line gets `bullet`, later lines are
    /// indented to match.
    fn start_item(&mut self, bullet: String) {
        self.block();
        if self.in_cell > 0 {
            return;
        }
        self.indents.push(" ".repeat(bullet.chars().count()));
        self.prefix = Some(bullet);
    }

    /// Ends a list item.
    fn end_item(&mut self) {
        if self.in_cell > 0 {
            self.space = true;
            return;
        }
        self.indents.pop();
        self.block();
    }

    /// A blank line between blocks (sections), at most one.
    pub fn blank_line(&mut self) {
        self.finish_line();
        if self.lines.last().is_some_and(|l| !l.is_empty()) {
            self.push_line(String::new());
        }
    }

    fn finish_line(&mut self) {
        self.space = false;
        if !self.line.is_empty() {
            let mut line = std::mem::take(&mut self.line);
            line.truncate(line.trim_end().len());
            self.push_line(line);
        }
    }

    /// Pays for the line break before a new line, if it is not the first.
    fn start_line(&mut self) -> bool {
        self.lines.is_empty() || self.spend(1)
    }

    /// Pushes a finished line whose break was paid by [`Self::start_line`],
    /// or a blank line, paying for its break now.
    fn push_line(&mut self, line: String) {
        if line.is_empty() && !self.start_line() {
            return;
        }
        self.lines.push(line);
    }

    /// The text so far, lines joined with `\n`, trailing blank lines
    /// removed; `None` when there is none.
    pub fn finish(mut self) -> Option<String> {
        self.finish_line();
        while self.lines.last().is_some_and(String::is_empty) {
            self.lines.pop();
        }
        let out = self.lines.join("\n");
        (!out.is_empty()).then_some(out)
    }
}

/// Elements dropped with their content.
fn dropped(el: &El<'_>) -> bool {
    let name = el.name();
    const NARRATIVE_DROPPED: [&str; 4] = ["renderMultiMedia", "footnoteRef", "col", "colgroup"];
    const EXECUTABLE: [&str; 7] = [
        "script", "style", "object", "iframe", "embed", "applet", "form",
    ];
    NARRATIVE_DROPPED.contains(&name)
        || EXECUTABLE.iter().any(|x| x.eq_ignore_ascii_case(name))
        || (name == "content" && el.attr_text("revised") == Some("delete"))
}

enum Step<'a> {
    Enter(El<'a>),
    Leave(El<'a>),
    Text(&'a str),
}

/// Writes the narrative inside `text` (a `section/text` element) into
/// `out`.
pub fn render(text: El<'_>, out: &mut TextBuilder) {
    // Lists being written: (ordered, next number), innermost last.
    let mut lists: Vec<(bool, u32)> = Vec::new();
    // Cells written in the current row.
    let mut cells_in_row: Vec<usize> = Vec::new();
    let mut stack: Vec<Step<'_>> = Vec::new();
    push_children(text, &mut stack);
    while let Some(step) = stack.pop() {
        if out.truncated() {
            return;
        }
        match step {
            Step::Text(t) => out.text(t),
            Step::Enter(el) => {
                if dropped(&el) {
                    continue;
                }
                match el.name() {
                    "br" => out.line_break(),
                    "paragraph" | "caption" | "table" | "thead" | "tbody" | "tfoot" => out.block(),
                    "list" => {
                        out.block();
                        let ordered = el.attr_text("listType") == Some("ordered");
                        lists.push((ordered, 1));
                    }
                    "item" => {
                        let depth = lists.len().saturating_sub(1);
                        let bullet = match lists.last_mut() {
                            Some((true, n)) => {
                                let b = format!("{n}. ");
                                *n = n.saturating_add(1);
                                b
                            }
                            _ => "- ".to_string(),
                        };
                        out.start_item(format!("{}{bullet}", "  ".repeat(depth.min(8))));
                    }
                    "tr" => {
                        out.block();
                        cells_in_row.push(0);
                    }
                    "td" | "th" => {
                        if let Some(n) = cells_in_row.last_mut() {
                            if *n > 0 {
                                out.space = false;
                                let started = !out.line.is_empty() || out.start_line();
                                if started && out.spend(3) {
                                    out.line.push_str(" | ");
                                }
                            }
                            *n += 1;
                        }
                        out.in_cell += 1;
                    }
                    _ => {}
                }
                stack.push(Step::Leave(el));
                push_children(el, &mut stack);
            }
            Step::Leave(el) => match el.name() {
                "paragraph" | "caption" | "table" | "thead" | "tbody" | "tfoot" => out.block(),
                "item" => out.end_item(),
                "list" => {
                    lists.pop();
                    out.block();
                }
                "tr" => {
                    cells_in_row.pop();
                    out.block();
                }
                "td" | "th" => {
                    out.in_cell = out.in_cell.saturating_sub(1);
                    out.space = true;
                }
                _ => {}
            },
        }
    }
}

fn push_children<'a>(el: El<'a>, stack: &mut Vec<Step<'a>>) {
    let start = stack.len();
    for c in el.content() {
        stack.push(match c {
            Content::Element(e) => Step::Enter(e),
            Content::Text(t) => Step::Text(t),
        });
    }
    stack[start..].reverse();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{default_limits, parse};

    fn render_str(narrative: &str, budget: usize) -> (Option<String>, bool) {
        let doc = format!(
            "<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><text>{narrative}</text></ClinicalDocument>"
        );
        let tree = parse(doc.as_bytes(), &default_limits()).unwrap();
        let text = tree.root().child("text").unwrap();
        let mut out = TextBuilder::new(budget);
        render(text, &mut out);
        let truncated = out.truncated();
        (out.finish(), truncated)
    }

    fn r(narrative: &str) -> String {
        render_str(narrative, 10_000).0.unwrap_or_default()
    }

    #[test]
    fn paragraphs_lines_and_inline_markup() {
        assert_eq!(
            r(
                "<paragraph>Seen  at\n home.</paragraph><paragraph>Chest <content styleCode=\"Bold\">clear</content>; sats 97%<sup>*</sup>.</paragraph>"
            ),
            "Seen at home.\nChest clear; sats 97%*."
        );
        assert_eq!(r("one<br/>two<br/><br/><br/>three"), "one\ntwo\n\nthree");
        assert_eq!(
            r(
                "Was <content revised=\"delete\">not</content> given <content revised=\"insert\">paracetamol</content>."
            ),
            "Was given paracetamol."
        );
    }

    #[test]
    fn lists_are_bulleted_and_numbered() {
        assert_eq!(
            r(
                "<list><item>Rest</item><item>Fluids<list listType=\"ordered\"><item>water</item><item>tea</item></list></item></list>"
            ),
            "- Rest\n- Fluids\n  1. water\n  2. tea"
        );
        assert_eq!(
            r(
                "<list listType=\"ordered\"><item>Ulcer<br/>1cm wide<paragraph>odour</paragraph></item><item>Next</item></list>"
            ),
            "1. Ulcer\n   1cm wide\n   odour\n2. Next"
        );
    }

    #[test]
    fn tables_become_rows() {
        assert_eq!(
            r(
                "<table border=\"1\"><caption>Observations</caption><thead><tr><th>Name</th><th>Value</th></tr></thead>\
               <tbody><tr><td>Pulse</td><td><paragraph>88</paragraph><paragraph>bpm</paragraph></td></tr><tr><td/><td>x</td></tr></tbody></table>After"
            ),
            "Observations\nName | Value\nPulse | 88 bpm\n | x\nAfter"
        );
    }

    #[test]
    fn drops_media_links_and_executable_content() {
        assert_eq!(
            r(
                "<renderMultiMedia referencedObject=\"x\"><caption>img</caption></renderMultiMedia>\
               <linkHtml href=\"javascript:alert(1)\">see notes</linkHtml><footnoteRef IDREF=\"f\"/>\
               <script>alert(1)</script><SCRIPT>x</SCRIPT><object>o</object> &lt;b&gt;text&lt;/b&gt;"
            ),
            "see notes <b>text</b>"
        );
    }

    #[test]
    fn budget_cuts_and_says_so() {
        let (text, truncated) =
            render_str("<paragraph>abcdef</paragraph><paragraph>ghi</paragraph>", 8);
        assert_eq!(text.as_deref(), Some("abcdef\ng"));
        assert!(truncated);
        let (text, truncated) = render_str("<paragraph>abc</paragraph>", 3);
        assert_eq!(text.as_deref(), Some("abc"));
        assert!(!truncated);
    }

    #[test]
    fn control_characters_are_removed() {
        // C1 controls are characters XML allows: the narrative drops them
        assert_eq!(r("a&#x9B;b&#x90;[31mc"), "ab[31mc");
        // C0 controls are not XML: the shared reader refuses the document
        let doc = "<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><text>a&#x7;b&#x1B;[31mc</text></ClinicalDocument>";
        assert!(parse(doc.as_bytes(), &default_limits()).is_err());
        let mut out = TextBuilder::new(100);
        out.text("a\u{7}b\u{1B}[31mc");
        assert_eq!(out.finish().as_deref(), Some("ab[31mc"));
    }
}

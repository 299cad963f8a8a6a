//! The tokenizer: a message split into segments and fields once, checked
//! against the [`Limits`]; repetitions, components and subcomponents split
//! on access, and escapes decoded on access.

use std::borrow::Cow;
use std::ops::Range;

use crate::{Delimiters, Limits, ParseError, escape};

/// The UTF-8 byte-order mark some senders put before `MSH`.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One HL7 v2 message, tokenized.
///
/// Positions are numbered from 1 as HL7 numbers them: `segment.field(3)`
/// is PID-3, `field.repetition(2)` its second repetition,
/// `.component(4)` its fourth component. Asking for a position that is not
/// there gives an empty element, never a panic. For MSH, field 1 is the
/// field separator and field 2 the encoding characters, both taken
/// literally.
#[derive(Clone, Debug)]
pub struct Message {
    text: String,
    delimiters: Delimiters,
    segments: Vec<SegmentSpan>,
}

#[derive(Clone, Debug)]
struct SegmentSpan {
    id: Range<usize>,
    /// Field 1 first; for MSH fields 1 and 2 are literal.
    fields: Vec<Range<usize>>,
    msh: bool,
}

impl Message {
    /// Tokenizes one message.
    ///
    /// Accepts any version from 2.1 to 2.8 (the delimiters are read from
    /// MSH-1 and MSH-2, not assumed); segments ended by `\r`, `\n` or
    /// `\r\n`; blank lines; a leading UTF-8 byte-order mark; trailing empty
    /// fields. Text is UTF-8; a message that is not valid UTF-8 is read as
    /// ISO-8859-1, which every byte sequence is.
    pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Self, ParseError> {
        let limit = limits.max_message_bytes.min(u32::MAX as usize);
        if bytes.len() > limit {
            return Err(ParseError::TooLarge { limit });
        }
        let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
        let text = match std::str::from_utf8(bytes) {
            Ok(s) => s.to_owned(),
            Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
        };
        let start = text
            .bytes()
            .position(|b| !b.is_ascii_whitespace())
            .ok_or(ParseError::Empty)?;
        let head = &text.as_bytes()[start..];
        if !head.starts_with(b"MSH") {
            return Err(ParseError::NoMsh);
        }
        let field = *head.get(3).ok_or(ParseError::BadDelimiters(
            "the message ends before MSH-1, the field separator",
        ))?;
        let encoding: Vec<u8> = head[4..]
            .iter()
            .copied()
            .take_while(|&b| b != field && b != b'\r' && b != b'\n')
            .collect();
        let delimiters = Delimiters::from_msh(field, &encoding)?;

        let mut segments = Vec::new();
        let mut line_start = start;
        let bytes = text.as_bytes();
        while line_start < bytes.len() {
            let line_end = bytes[line_start..]
                .iter()
                .position(|&b| b == b'\r' || b == b'\n')
                .map_or(bytes.len(), |n| line_start + n);
            let line = &bytes[line_start..line_end];
            if !line.iter().all(u8::is_ascii_whitespace) {
                let number = segments.len() + 1;
                if number > limits.max_segments {
                    return Err(ParseError::TooMany {
                        what: "segments",
                        segment: number,
                        limit: limits.max_segments,
                    });
                }
                segments.push(read_segment(line, line_start, number, &delimiters, limits)?);
            }
            line_start = line_end + 1;
        }
        Ok(Self {
            text,
            delimiters,
            segments,
        })
    }

    /// The delimiters the message declared.
    pub fn delimiters(&self) -> &Delimiters {
        &self.delimiters
    }

    /// The segments, in order; the first is MSH.
    pub fn segments(&self) -> impl ExactSizeIterator<Item = Segment<'_>> + '_ {
        self.segments
            .iter()
            .map(move |span| Segment { msg: self, span })
    }

    /// How many segments there are (at least one, MSH).
    pub fn len(&self) -> usize {
        self.segments.len()
    }

    /// Always false: a message has at least its MSH.
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// The first segment with this id.
    pub fn segment(&self, id: &str) -> Option<Segment<'_>> {
        self.segments().find(|s| s.id() == id)
    }

    /// The MSH segment.
    pub fn msh(&self) -> Segment<'_> {
        // `parse` only builds a message whose first segment is MSH.
        match self.segments.first() {
            Some(span) => Segment { msg: self, span },
            None => Segment {
                msg: self,
                span: &EMPTY_SPAN,
            },
        }
    }

    /// MSH-12, the version (`2.5.1`).
    pub fn version(&self) -> Cow<'_, str> {
        self.msh().field(12).text()
    }

    /// MSH-9: message code, trigger event and message structure
    /// (`RSP`, `K11`, `RSP_K11`), each empty when absent.
    pub fn message_type(&self) -> [Cow<'_, str>; 3] {
        let f = self.msh().field(9);
        [
            f.component(1).text(),
            f.component(2).text(),
            f.component(3).text(),
        ]
    }
}

static EMPTY_SPAN: SegmentSpan = SegmentSpan {
    id: 0..0,
    fields: Vec::new(),
    msh: false,
};

/// Splits one line into a segment id and field ranges, checking the id and
/// every field against the limits. `offset` is the line's place in the text.
fn read_segment(
    line: &[u8],
    offset: usize,
    number: usize,
    d: &Delimiters,
    limits: &Limits,
) -> Result<SegmentSpan, ParseError> {
    let id_len = line
        .iter()
        .position(|&b| b == d.field)
        .unwrap_or(line.len());
    let id = &line[..id_len];
    let valid_id = id.len() == 3
        && id[0].is_ascii_uppercase()
        && id[1..]
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if !valid_id {
        return Err(ParseError::BadSegmentId { segment: number });
    }
    let msh = id == b"MSH";
    if msh && number != 1 {
        return Err(ParseError::SecondMsh { segment: number });
    }
    let mut fields = Vec::new();
    let mut literal = 0;
    if msh {
        // MSH-1 is the separator itself; MSH-2 runs to the next separator.
        fields.push(offset + 3..offset + 4);
        literal = 2;
    }
    if id_len < line.len() {
        let mut start = id_len + 1;
        loop {
            let end = line[start..]
                .iter()
                .position(|&b| b == d.field)
                .map_or(line.len(), |n| start + n);
            if fields.len() >= limits.max_fields {
                return Err(ParseError::TooMany {
                    what: "fields",
                    segment: number,
                    limit: limits.max_fields,
                });
            }
            if fields.len() >= literal {
                check_field(&line[start..end], d, limits, number)?;
            }
            fields.push(offset + start..offset + end);
            if end == line.len() {
                break;
            }
            start = end + 1;
        }
    }
    Ok(SegmentSpan {
        id: offset..offset + 3,
        fields,
        msh,
    })
}

/// Counts one field's repetitions, components and subcomponents against
/// the limits, in one pass.
fn check_field(
    raw: &[u8],
    d: &Delimiters,
    limits: &Limits,
    segment: usize,
) -> Result<(), ParseError> {
    let too_many = |what, limit| ParseError::TooMany {
        what,
        segment,
        limit,
    };
    let (mut reps, mut comps, mut subs) = (1usize, 1usize, 1usize);
    for &b in raw {
        if Some(b) == d.repetition {
            reps += 1;
            if reps > limits.max_repetitions {
                return Err(too_many("repetitions in a field", limits.max_repetitions));
            }
            comps = 1;
            subs = 1;
        } else if b == d.component {
            comps += 1;
            if comps > limits.max_components {
                return Err(too_many("components in a field", limits.max_components));
            }
            subs = 1;
        } else if Some(b) == d.subcomponent {
            subs += 1;
            if subs > limits.max_subcomponents {
                return Err(too_many(
                    "subcomponents in a component",
                    limits.max_subcomponents,
                ));
            }
        }
    }
    Ok(())
}

/// The pieces of `raw` between separators: none for an empty `raw`, all of
/// `raw` when there is no separator.
fn split<'a>(raw: &'a str, sep: Option<u8>) -> impl Iterator<Item = &'a str> + 'a {
    let mut rest = (!raw.is_empty()).then_some(raw);
    std::iter::from_fn(move || {
        let r = rest?;
        match sep.and_then(|s| r.find(char::from(s))) {
            Some(i) => {
                rest = Some(&r[i + 1..]);
                Some(&r[..i])
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

/// The `n`th piece (from 1), or `""`.
fn nth(raw: &str, sep: Option<u8>, n: usize) -> &str {
    match n.checked_sub(1) {
        Some(i) => split(raw, sep).nth(i).unwrap_or(""),
        None => "",
    }
}

/// A value is absent when empty, and deleted when it is HL7's null `""`.
fn value(text: Cow<'_, str>) -> Option<Cow<'_, str>> {
    (!text.is_empty() && text != "\"\"").then_some(text)
}

/// One segment of a message.
#[derive(Clone, Copy, Debug)]
pub struct Segment<'a> {
    msg: &'a Message,
    span: &'a SegmentSpan,
}

impl<'a> Segment<'a> {
    /// The segment id (`PID`, `OBX`, `ZXY`).
    pub fn id(&self) -> &'a str {
        self.msg.text.get(self.span.id.clone()).unwrap_or("")
    }

    /// How many fields the segment has (trailing empty ones included).
    pub fn field_count(&self) -> usize {
        self.span.fields.len()
    }

    /// Field `n`, counted from 1 (`PID-3` is `field(3)`); empty when absent.
    pub fn field(&self, n: usize) -> Field<'a> {
        let range = n
            .checked_sub(1)
            .and_then(|i| self.span.fields.get(i))
            .cloned();
        Field {
            raw: range.and_then(|r| self.msg.text.get(r)).unwrap_or_default(),
            d: &self.msg.delimiters,
            literal: self.span.msh && (n == 1 || n == 2),
        }
    }

    /// The fields, from field 1.
    pub fn fields(&self) -> impl Iterator<Item = Field<'a>> + use<'a> {
        let seg = *self;
        (1..=self.field_count()).map(move |n| seg.field(n))
    }
}

/// One field: its repetitions, or (for the common single value) its first
/// repetition's components directly.
#[derive(Clone, Copy, Debug)]
pub struct Field<'a> {
    raw: &'a str,
    d: &'a Delimiters,
    literal: bool,
}

impl<'a> Field<'a> {
    /// The field as written, escapes and separators included.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// True when the field is empty.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// True when the field is HL7's explicit null, `""`.
    pub fn is_null(&self) -> bool {
        self.raw == "\"\""
    }

    /// The repetitions; none for an empty field.
    pub fn repetitions(&self) -> impl Iterator<Item = Repetition<'a>> + use<'a> {
        let (d, literal) = (self.d, self.literal);
        let sep = if literal { None } else { d.repetition };
        split(self.raw, sep).map(move |raw| Repetition { raw, d, literal })
    }

    /// Repetition `n`, from 1; empty when absent.
    pub fn repetition(&self, n: usize) -> Repetition<'a> {
        let sep = if self.literal {
            None
        } else {
            self.d.repetition
        };
        Repetition {
            raw: nth(self.raw, sep, n),
            d: self.d,
            literal: self.literal,
        }
    }

    /// Component `n` of the first repetition.
    pub fn component(&self, n: usize) -> Component<'a> {
        self.repetition(1).component(n)
    }

    /// The first repetition's first component's first subcomponent,
    /// decoded: the value of a field of a simple type.
    pub fn text(&self) -> Cow<'a, str> {
        self.repetition(1).text()
    }

    /// [`text`](Self::text), or `None` when it is empty or `""`.
    pub fn value(&self) -> Option<Cow<'a, str>> {
        value(self.text())
    }
}

/// One repetition of a field.
#[derive(Clone, Copy, Debug)]
pub struct Repetition<'a> {
    raw: &'a str,
    d: &'a Delimiters,
    literal: bool,
}

impl<'a> Repetition<'a> {
    /// The repetition as written.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// True when the repetition is empty.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The components; none for an empty repetition.
    pub fn components(&self) -> impl Iterator<Item = Component<'a>> + use<'a> {
        let (d, literal) = (self.d, self.literal);
        let sep = (!literal).then_some(d.component);
        split(self.raw, sep).map(move |raw| Component { raw, d, literal })
    }

    /// Component `n`, from 1; empty when absent.
    pub fn component(&self, n: usize) -> Component<'a> {
        let sep = (!self.literal).then_some(self.d.component);
        Component {
            raw: nth(self.raw, sep, n),
            d: self.d,
            literal: self.literal,
        }
    }

    /// The first component's first subcomponent, decoded.
    pub fn text(&self) -> Cow<'a, str> {
        self.component(1).text()
    }

    /// [`text`](Self::text), or `None` when it is empty or `""`.
    pub fn value(&self) -> Option<Cow<'a, str>> {
        value(self.text())
    }

    /// The whole repetition decoded, component and subcomponent separators
    /// kept as text: the lenient reading for free text (ST, TX, FT), where
    /// senders often leave `^` and `&` unescaped.
    pub fn full_text(&self) -> Cow<'a, str> {
        if self.literal {
            Cow::Borrowed(self.raw)
        } else {
            escape::decode(self.raw, self.d)
        }
    }
}

/// One component of a repetition.
#[derive(Clone, Copy, Debug)]
pub struct Component<'a> {
    raw: &'a str,
    d: &'a Delimiters,
    literal: bool,
}

impl<'a> Component<'a> {
    /// The component as written.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// True when the component is empty.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The subcomponents; none for an empty component.
    pub fn subcomponents(&self) -> impl Iterator<Item = Subcomponent<'a>> + use<'a> {
        let (d, literal) = (self.d, self.literal);
        let sep = if literal { None } else { d.subcomponent };
        split(self.raw, sep).map(move |raw| Subcomponent { raw, d, literal })
    }

    /// Subcomponent `n`, from 1; empty when absent.
    pub fn subcomponent(&self, n: usize) -> Subcomponent<'a> {
        let sep = if self.literal {
            None
        } else {
            self.d.subcomponent
        };
        Subcomponent {
            raw: nth(self.raw, sep, n),
            d: self.d,
            literal: self.literal,
        }
    }

    /// The first subcomponent, decoded.
    pub fn text(&self) -> Cow<'a, str> {
        self.subcomponent(1).text()
    }

    /// [`text`](Self::text), or `None` when it is empty or `""`.
    pub fn value(&self) -> Option<Cow<'a, str>> {
        value(self.text())
    }

    /// The whole component decoded, subcomponent separators kept as text:
    /// the lenient reading for free text, where senders often leave `&`
    /// unescaped (`Fish & chips`).
    pub fn full_text(&self) -> Cow<'a, str> {
        if self.literal {
            Cow::Borrowed(self.raw)
        } else {
            escape::decode(self.raw, self.d)
        }
    }
}

/// One subcomponent: a leaf of the message.
#[derive(Clone, Copy, Debug)]
pub struct Subcomponent<'a> {
    raw: &'a str,
    d: &'a Delimiters,
    literal: bool,
}

impl<'a> Subcomponent<'a> {
    /// The subcomponent as written, escapes included.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// True when the subcomponent is empty.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The text, escapes decoded (see [`escape::decode`]).
    pub fn text(&self) -> Cow<'a, str> {
        if self.literal {
            Cow::Borrowed(self.raw)
        } else {
            escape::decode(self.raw, self.d)
        }
    }

    /// [`text`](Self::text), or `None` when it is empty or `""`.
    pub fn value(&self) -> Option<Cow<'a, str>> {
        value(self.text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Message {
        Message::parse(s.as_bytes(), &Limits::default()).unwrap()
    }

    #[test]
    fn splits_every_level() {
        let m = parse(
            "MSH|^~\\&|LAB|RD1|ICR|X26|20240501101500+0100||RSP^K11^RSP_K11|42|P|2.5.1\r\
             PID|1||9990000018^^^NHS^NH~A123^^^RD1^MR||Testperson^Alex^J||19800203|F\r\
             OBX|1|NM|2823-3^Potassium^LN||5.9|mmol/L^millimole per litre^UCUM|3.5-5.3|H|||F\r",
        );
        assert_eq!(m.len(), 3);
        let msh = m.msh();
        assert_eq!(msh.id(), "MSH");
        assert_eq!(msh.field(1).text(), "|");
        assert_eq!(msh.field(2).text(), "^~\\&");
        assert_eq!(msh.field(2).component(1).text(), "^~\\&");
        assert_eq!(msh.field(3).text(), "LAB");
        assert_eq!(m.message_type(), ["RSP", "K11", "RSP_K11"]);
        assert_eq!(m.version(), "2.5.1");
        let pid = m.segment("PID").unwrap();
        assert_eq!(pid.field_count(), 8);
        let ids: Vec<_> = pid.field(3).repetitions().collect();
        assert_eq!(ids.len(), 2);
        assert_eq!(ids[0].component(1).text(), "9990000018");
        assert_eq!(ids[0].component(4).text(), "NHS");
        assert_eq!(ids[0].component(5).text(), "NH");
        assert_eq!(pid.field(3).repetition(2).component(5).text(), "MR");
        assert_eq!(pid.field(5).component(2).text(), "Alex");
        assert_eq!(pid.field(99).text(), "");
        assert_eq!(pid.field(0).text(), "");
        assert_eq!(pid.field(3).repetition(0).text(), "");
        assert_eq!(pid.field(3).repetition(3).text(), "");
        let obx = m.segment("OBX").unwrap();
        assert_eq!(obx.field(5).value().as_deref(), Some("5.9"));
        assert_eq!(obx.field(6).component(3).text(), "UCUM");
    }

    #[test]
    fn subcomponents_and_null() {
        let m = parse("MSH|^~\\&|A\nOBR|1||F1^LAB|||||||150^lb&lb&ANSI+|\"\"");
        let obr = m.segment("OBR").unwrap();
        let units = obr.field(10).component(2);
        assert_eq!(units.text(), "lb");
        assert_eq!(units.subcomponent(3).text(), "ANSI+");
        assert_eq!(units.subcomponents().count(), 3);
        assert_eq!(units.full_text(), "lb&lb&ANSI+");
        assert_eq!(obr.field(10).repetition(1).full_text(), "150^lb&lb&ANSI+");
        assert!(obr.field(11).is_null());
        assert_eq!(obr.field(11).value(), None);
        assert_eq!(obr.field(11).text(), "\"\"");
        assert_eq!(obr.field(1).repetitions().count(), 1);
        assert_eq!(obr.field(2).repetitions().count(), 0);
    }

    #[test]
    fn separators_bom_and_blank_lines() {
        for sep in ["\r", "\n", "\r\n", "\r\r\n\n"] {
            let text = format!("\u{feff}MSH|^~\\&|A{sep}PID|1{sep}{sep}OBX|1|ST|x||y{sep}");
            let m = parse(&text);
            let ids: Vec<_> = m.segments().map(|s| s.id()).collect();
            assert_eq!(ids, ["MSH", "PID", "OBX"], "{sep:?}");
            assert_eq!(m.msh().field(3).text(), "A");
        }
        let m = parse("  \r\nMSH|^~\\&|A");
        assert_eq!(m.len(), 1);
    }

    #[test]
    fn declared_delimiters_are_used() {
        let m = parse("MSH!@$%*!APP!FAC\rPID!1!!123@@@NHS@NH$456!!Sm%T%ith*x@Jo");
        let pid = m.segment("PID").unwrap();
        assert_eq!(pid.field(3).component(4).text(), "NHS");
        assert_eq!(pid.field(3).repetition(2).text(), "456");
        assert_eq!(pid.field(5).text(), "Sm*ith");
        assert_eq!(pid.field(5).component(1).subcomponent(2).text(), "x");
        assert_eq!(pid.field(5).component(2).text(), "Jo");
        assert_eq!(m.msh().field(2).text(), "@$%*");
    }

    #[test]
    fn latin1_when_not_utf8() {
        let m = Message::parse(
            b"MSH|^~\\&|Caf\xE9\rNTE|1||na\xEFve \\T\\ ok",
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(m.msh().field(3).text(), "Café");
        assert_eq!(m.segment("NTE").unwrap().field(3).text(), "naïve & ok");
    }

    #[test]
    fn refuses_what_is_not_a_message() {
        let l = Limits::default();
        let err = |s: &[u8]| Message::parse(s, &l).unwrap_err();
        assert_eq!(err(b""), ParseError::Empty);
        assert_eq!(err(b" \r\n"), ParseError::Empty);
        assert_eq!(err(b"PID|1"), ParseError::NoMsh);
        assert!(matches!(err(b"MSH"), ParseError::BadDelimiters(_)));
        assert!(matches!(err(b"MSH|"), ParseError::BadDelimiters(_)));
        assert!(matches!(err(b"MSHA^~\\&"), ParseError::BadDelimiters(_)));
        assert_eq!(
            err(b"MSH|^~\\&|A\rpid|1"),
            ParseError::BadSegmentId { segment: 2 }
        );
        assert_eq!(
            err(b"MSH|^~\\&|A\rPIDX|1"),
            ParseError::BadSegmentId { segment: 2 }
        );
        assert_eq!(
            err(b"MSH|^~\\&|A\rMSH|^~\\&|B"),
            ParseError::SecondMsh { segment: 2 }
        );
    }

    #[test]
    fn limits_are_enforced() {
        let small = Limits {
            max_message_bytes: 64,
            max_segments: 3,
            max_fields: 5,
            max_repetitions: 2,
            max_components: 3,
            max_subcomponents: 2,
        };
        let p = |s: &str| Message::parse(s.as_bytes(), &small);
        assert!(p("MSH|^~\\&|A\rPID|1\rOBX|1").is_ok());
        assert!(matches!(
            p(&"x".repeat(65)),
            Err(ParseError::TooLarge { limit: 64 })
        ));
        let many = |what: &str| match p(what) {
            Err(ParseError::TooMany { what, .. }) => what,
            other => panic!("{other:?}"),
        };
        assert_eq!(many("MSH|^~\\&|A\rPID\rPID\rPID"), "segments");
        assert_eq!(many("MSH|^~\\&|A\rPID|1|2|3|4|5|6"), "fields");
        assert_eq!(many("MSH|^~\\&|A\rPID|1~2~3"), "repetitions in a field");
        assert_eq!(many("MSH|^~\\&|A\rPID|1^2^3^4"), "components in a field");
        assert_eq!(
            many("MSH|^~\\&|A\rPID|1&2&3"),
            "subcomponents in a component"
        );
        // counts restart per repetition and component
        assert!(p("MSH|^~\\&|A\rPID|1^2^3~1^2^3|a&b^c&d").is_ok());
    }
}

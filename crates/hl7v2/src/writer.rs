//! Writing messages: plain text in, escaped and delimited HL7 out.

use crate::{Delimiters, escape};

/// One field to write: repetitions of components of subcomponents, each a
/// plain (unescaped) text. The writer escapes them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldValue {
    repetitions: Vec<Vec<Vec<String>>>,
}

impl FieldValue {
    /// An empty field.
    pub fn empty() -> Self {
        Self::default()
    }

    /// A field holding one text.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            repetitions: vec![vec![vec![text.into()]]],
        }
    }

    /// A field of one repetition with these components.
    pub fn components<I, S>(components: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            repetitions: vec![components.into_iter().map(|c| vec![c.into()]).collect()],
        }
    }

    /// A field from its full structure: repetitions → components →
    /// subcomponents.
    pub fn from_parts(repetitions: Vec<Vec<Vec<String>>>) -> Self {
        Self { repetitions }
    }

    /// This field with `other`'s repetitions appended.
    pub fn repeat(mut self, other: FieldValue) -> Self {
        self.repetitions.extend(other.repetitions);
        self
    }

    /// The structure: repetitions → components → subcomponents.
    pub fn parts(&self) -> &[Vec<Vec<String>>] {
        &self.repetitions
    }
}

impl From<&str> for FieldValue {
    fn from(s: &str) -> Self {
        Self::text(s)
    }
}

impl From<String> for FieldValue {
    fn from(s: String) -> Self {
        Self::text(s)
    }
}

/// Why a segment could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// A segment id must be three upper-case letters or digits, starting
    /// with a letter, and not MSH (which the writer writes itself).
    #[error("{0:?} is not a segment id the writer can write")]
    BadSegmentId(String),
}

/// Writes one message: MSH first, from [`MessageWriter::new`], then each
/// segment, every segment ended by `\r`. Trailing empty fields, repetitions,
/// components and subcomponents are left out.
#[derive(Clone, Debug)]
pub struct MessageWriter {
    d: Delimiters,
    out: String,
}

impl MessageWriter {
    /// Starts a message with `d` as its delimiters and an MSH segment whose
    /// fields from MSH-3 on are `msh_fields` (MSH-1 and MSH-2 come from `d`).
    pub fn new(d: Delimiters, msh_fields: &[FieldValue]) -> Self {
        let mut out = String::from("MSH");
        out.push(char::from(d.field));
        out.push_str(&d.encoding_characters());
        let mut w = Self { d, out };
        w.fields(msh_fields);
        w
    }

    /// Appends a segment with fields from field 1.
    pub fn segment(&mut self, id: &str, fields: &[FieldValue]) -> Result<&mut Self, WriteError> {
        let b = id.as_bytes();
        let valid = b.len() == 3
            && b[0].is_ascii_uppercase()
            && b[1..]
                .iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            && id != "MSH";
        if !valid {
            return Err(WriteError::BadSegmentId(id.chars().take(8).collect()));
        }
        self.out.push_str(id);
        self.fields(fields);
        Ok(self)
    }

    /// The message, each segment ended by `\r`.
    pub fn finish(self) -> String {
        self.out
    }

    /// Writes `fields`, each preceded by the field separator, ending the
    /// segment.
    fn fields(&mut self, fields: &[FieldValue]) {
        let used = fields
            .iter()
            .rposition(|f| !is_blank_field(f))
            .map_or(0, |i| i + 1);
        for f in &fields[..used] {
            self.out.push(char::from(self.d.field));
            self.field(f);
        }
        self.out.push('\r');
    }

    fn field(&mut self, f: &FieldValue) {
        let d = self.d;
        let reps = trimmed(&f.repetitions, |r| r.iter().all(|c| is_blank(c)));
        for (i, rep) in reps.iter().enumerate() {
            if i > 0 {
                // A field that repeats needs a repetition separator; without
                // one only the first repetition can be written.
                match d.repetition {
                    Some(r) => self.out.push(char::from(r)),
                    None => break,
                }
            }
            let comps = trimmed(rep, |c| is_blank(c));
            for (j, comp) in comps.iter().enumerate() {
                if j > 0 {
                    self.out.push(char::from(d.component));
                }
                let subs = trimmed(comp, |s| s.is_empty());
                for (k, sub) in subs.iter().enumerate() {
                    if k > 0 {
                        match d.subcomponent {
                            Some(s) => self.out.push(char::from(s)),
                            None => break,
                        }
                    }
                    escape::encode_into(sub, &d, &mut self.out);
                }
            }
        }
    }
}

fn is_blank(subs: &[String]) -> bool {
    subs.iter().all(String::is_empty)
}

fn is_blank_field(f: &FieldValue) -> bool {
    f.repetitions.iter().all(|r| r.iter().all(|c| is_blank(c)))
}

/// `items` without its trailing blank ones.
fn trimmed<T>(items: &[T], blank: impl Fn(&T) -> bool) -> &[T] {
    let used = items.iter().rposition(|x| !blank(x)).map_or(0, |i| i + 1);
    &items[..used]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_escaped_and_trimmed() {
        let mut w = MessageWriter::new(
            Delimiters::default(),
            &[
                "ICR".into(),
                "X26".into(),
                "LAB".into(),
                "".into(),
                "20240501101500+0000".into(),
                FieldValue::empty(),
                FieldValue::components(["QBP", "Q11", "QBP_Q11"]),
                "Q1".into(),
                "P".into(),
                "2.5.1".into(),
                FieldValue::empty(),
            ],
        );
        w.segment(
            "QPD",
            &[
                FieldValue::components(["ICR_RESULTS", "Results for patient", "ICR"]),
                "T1".into(),
                FieldValue::components(["9990000018", "", "", "NHS", "NH"]),
            ],
        )
        .unwrap();
        w.segment("NTE", &["1".into(), "".into(), "A|B^C&D~E\\ F\rG".into()])
            .unwrap();
        w.segment(
            "OBX",
            &[FieldValue::from_parts(vec![
                vec![vec!["a".into(), "".into()], vec![]],
                vec![vec!["b".into(), "c".into()]],
                vec![],
            ])],
        )
        .unwrap();
        assert_eq!(
            w.finish(),
            "MSH|^~\\&|ICR|X26|LAB||20240501101500+0000||QBP^Q11^QBP_Q11|Q1|P|2.5.1\r\
             QPD|ICR_RESULTS^Results for patient^ICR|T1|9990000018^^^NHS^NH\r\
             NTE|1||A\\F\\B\\S\\C\\T\\D\\R\\E\\E\\ F\\X0D\\G\r\
             OBX|a~b&c\r"
        );
    }

    #[test]
    fn refuses_bad_segment_ids() {
        let mut w = MessageWriter::new(Delimiters::default(), &[]);
        for bad in ["", "PI", "PIDX", "pid", "1AB", "MSH", "P|D"] {
            assert!(w.segment(bad, &[]).is_err(), "{bad}");
        }
        assert!(w.segment("ZX1", &[]).is_ok());
        assert_eq!(w.finish(), "MSH|^~\\&\rZX1\r");
    }
}

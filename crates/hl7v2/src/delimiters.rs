//! The encoding characters a message declares in MSH-1 and MSH-2.

use crate::ParseError;

/// The separators and escape character of one message, as declared in
/// MSH-1 (field separator) and MSH-2 (component, repetition, escape,
/// subcomponent and, from v2.7, truncation characters, in that order).
///
/// Every delimiter is a printable ASCII character that is not a letter or
/// digit, and no two are the same; that is what lets the tokenizer split
/// UTF-8 text on single bytes without ever cutting a character.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Delimiters {
    /// Separates fields (MSH-1), usually `|`.
    pub field: u8,
    /// Separates components, usually `^`.
    pub component: u8,
    /// Separates repetitions of a field, usually `~`; `None` when MSH-2
    /// declares none (fields then never repeat).
    pub repetition: Option<u8>,
    /// Starts and ends an escape sequence, usually `\`; `None` when MSH-2
    /// declares none (text is then taken literally).
    pub escape: Option<u8>,
    /// Separates subcomponents, usually `&`; `None` when MSH-2 declares none.
    pub subcomponent: Option<u8>,
    /// The truncation character of v2.7 and later, usually `#`. It is not a
    /// separator; it is escaped as `\P\`.
    pub truncation: Option<u8>,
}

impl Default for Delimiters {
    /// `|^~\&`, the delimiters nearly every system uses (no truncation
    /// character, as in v2.5.1).
    fn default() -> Self {
        Self {
            field: b'|',
            component: b'^',
            repetition: Some(b'~'),
            escape: Some(b'\\'),
            subcomponent: Some(b'&'),
            truncation: None,
        }
    }
}

/// True for a byte that may serve as a delimiter.
fn usable(b: u8) -> bool {
    b.is_ascii_graphic() && !b.is_ascii_alphanumeric()
}

impl Delimiters {
    /// Reads the delimiters from the field separator (the byte after `MSH`)
    /// and the encoding characters (MSH-2, one to five bytes).
    pub fn from_msh(field: u8, encoding: &[u8]) -> Result<Self, ParseError> {
        if !usable(field) {
            return Err(ParseError::BadDelimiters(
                "MSH-1, the field separator, is not a printable ASCII symbol",
            ));
        }
        let (Some(&component), true) = (encoding.first(), encoding.len() <= 5) else {
            return Err(ParseError::BadDelimiters(
                "MSH-2 must hold one to five encoding characters",
            ));
        };
        if !encoding.iter().all(|&b| usable(b)) {
            return Err(ParseError::BadDelimiters(
                "MSH-2 holds a character that is not a printable ASCII symbol",
            ));
        }
        let mut seen = vec![field];
        for &b in encoding {
            if seen.contains(&b) {
                return Err(ParseError::BadDelimiters(
                    "MSH-1 and MSH-2 declare the same character twice",
                ));
            }
            seen.push(b);
        }
        let at = |i: usize| encoding.get(i).copied();
        Ok(Self {
            field,
            component,
            repetition: at(1),
            escape: at(2),
            subcomponent: at(3),
            truncation: at(4),
        })
    }

    /// MSH-2 as written: the encoding characters in their order.
    pub fn encoding_characters(&self) -> String {
        let mut s = String::new();
        s.push(char::from(self.component));
        for b in [
            self.repetition,
            self.escape,
            self.subcomponent,
            self.truncation,
        ] {
            match b {
                Some(b) => s.push(char::from(b)),
                None => break,
            }
        }
        s
    }

    /// True when `b` is one of the separators or the escape character.
    pub(crate) fn is_special(&self, b: u8) -> bool {
        b == self.field
            || b == self.component
            || Some(b) == self.repetition
            || Some(b) == self.escape
            || Some(b) == self.subcomponent
            || Some(b) == self.truncation
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_usual_and_unusual_delimiters() {
        let d = Delimiters::from_msh(b'|', b"^~\\&").unwrap();
        assert_eq!(d, Delimiters::default());
        assert_eq!(d.encoding_characters(), "^~\\&");
        let d = Delimiters::from_msh(b'|', b"^~\\&#").unwrap();
        assert_eq!(d.truncation, Some(b'#'));
        let d = Delimiters::from_msh(b'!', b"@$%*").unwrap();
        assert_eq!(
            (d.field, d.component, d.repetition, d.escape, d.subcomponent),
            (b'!', b'@', Some(b'$'), Some(b'%'), Some(b'*'))
        );
        let d = Delimiters::from_msh(b'|', b"^").unwrap();
        assert_eq!((d.repetition, d.escape), (None, None));
        assert_eq!(d.encoding_characters(), "^");
    }

    #[test]
    fn refuses_unusable_delimiters() {
        for (f, e) in [
            (b'A', &b"^~\\&"[..]),
            (b'|', b""),
            (b'|', b"^~\\&#!"),
            (b'|', b"^~|&"),
            (b'|', b"^^\\&"),
            (b'|', b"^~ &"),
            (b'|', b"^~1&"),
            (b'\r', b"^~\\&"),
        ] {
            assert!(Delimiters::from_msh(f, e).is_err(), "{f} {e:?}");
        }
    }
}

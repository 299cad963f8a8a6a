//! Escape sequences: decoding what a sender escaped, escaping what we write.
//!
//! Decoding works on `&str` and looks only for the (ASCII) escape
//! character, so it cuts text only on character boundaries: escapes after
//! non-ASCII text decode as they do after ASCII.

use std::borrow::Cow;

use crate::Delimiters;

/// Longest escape sequence read, in bytes between the escape characters.
/// Longer runs are not escape sequences and are kept as text.
const MAX_SEQUENCE: usize = 512;

/// Most line breaks (`\.sp n\`) or spaces (`\.sk n\`) one sequence becomes,
/// so that decoding cannot blow a short input up into a huge text.
const MAX_REPEAT: usize = 10;

/// Decodes the escape sequences in one leaf value (a subcomponent, or a
/// component read whole):
///
/// - `\F\ \S\ \T\ \R\ \E\` become the field, component, subcomponent,
///   repetition and escape characters, `\P\` the truncation character;
/// - `\Xhh…\` becomes the bytes it spells, read as UTF-8 (as ISO-8859-1
///   when they are not valid UTF-8);
/// - `\.br\` is a line break, `\.sp n\` n line breaks, `\.ce\` a line
///   break, `\.sk n\` n spaces (each at most ten); the other formatting
///   commands (`\.in\ \.ti\ \.fi\ \.nf\`), highlighting (`\H\ \N\`),
///   character-set switches (`\C…\ \M…\`) and local escapes (`\Z…\`) are
///   dropped;
/// - anything else between two escape characters, and an escape character
///   with no closing one, is kept as text, as written.
pub fn decode<'a>(raw: &'a str, d: &Delimiters) -> Cow<'a, str> {
    let Some(esc) = d.escape else {
        return Cow::Borrowed(raw);
    };
    let esc = char::from(esc);
    if !raw.contains(esc) {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(start) = rest.find(esc) {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find(esc) {
            None => {
                // No closing escape character: the rest is text.
                out.push_str(&rest[start..]);
                return Cow::Owned(out);
            }
            Some(len) if len <= MAX_SEQUENCE && decode_sequence(&after[..len], d, &mut out) => {
                rest = &after[len + 1..];
            }
            Some(_) => {
                // Not an escape sequence: keep the opening escape character
                // as text and carry on from the one that looked like a
                // close, which may open a real sequence.
                out.push(esc);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Appends what the escape sequence `body` stands for; false when `body`
/// is not a sequence this decoder knows.
fn decode_sequence(body: &str, d: &Delimiters, out: &mut String) -> bool {
    let ch = |b: u8| char::from(b);
    match body {
        "F" => out.push(ch(d.field)),
        "S" => out.push(ch(d.component)),
        "T" => match d.subcomponent {
            Some(b) => out.push(ch(b)),
            None => return false,
        },
        "R" => match d.repetition {
            Some(b) => out.push(ch(b)),
            None => return false,
        },
        "E" => match d.escape {
            Some(b) => out.push(ch(b)),
            None => return false,
        },
        "P" => match d.truncation {
            Some(b) => out.push(ch(b)),
            None => out.push('#'),
        },
        "H" | "N" => {}
        _ => {
            let bytes = body.as_bytes();
            match bytes.first() {
                Some(b'X') => return decode_hex(&body[1..], out),
                Some(b'.') => return decode_format(&body[1..], out),
                Some(b'C' | b'M') => {
                    return body.len() > 1 && body[1..].bytes().all(|b| b.is_ascii_hexdigit());
                }
                Some(b'Z') => return body.len() > 1,
                _ => return false,
            }
        }
    }
    true
}

/// `\Xhh…\`: pairs of hex digits, read as UTF-8 or else ISO-8859-1.
fn decode_hex(hex: &str, out: &mut String) -> bool {
    if !hex.len().is_multiple_of(2) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return false;
    }
    let bytes: Vec<u8> = hex
        .as_bytes()
        .chunks_exact(2)
        .filter_map(|pair| {
            let s = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(s, 16).ok()
        })
        .collect();
    match std::str::from_utf8(&bytes) {
        Ok(s) => out.push_str(s),
        Err(_) => out.extend(bytes.iter().map(|&b| char::from(b))),
    }
    true
}

/// The formatted-text commands of FT: `.br`, `.sp n`, `.ce`, `.sk n`,
/// `.in n`, `.ti n`, `.fi`, `.nf`.
fn decode_format(cmd: &str, out: &mut String) -> bool {
    let split = cmd.len().min(2);
    let (Some(name), Some(arg)) = (cmd.get(..split), cmd.get(split..)) else {
        return false;
    };
    let arg = arg.trim();
    let count = || -> Option<usize> {
        if arg.is_empty() {
            return Some(1);
        }
        let digits = arg.strip_prefix('+').unwrap_or(arg);
        if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse::<usize>().ok().map(|n| n.min(MAX_REPEAT))
    };
    match name {
        "br" | "ce" if arg.is_empty() => out.push('\n'),
        "sp" => match count() {
            Some(n) => out.extend(std::iter::repeat_n('\n', n.max(1))),
            None => return false,
        },
        "sk" => match count() {
            Some(n) => out.extend(std::iter::repeat_n(' ', n.max(1))),
            None => return false,
        },
        "in" | "ti" => {
            let n = arg.strip_prefix(['-', '+']).unwrap_or(arg);
            let number = n.len() <= 4 && n.bytes().all(|b| b.is_ascii_digit());
            if !number {
                return false;
            }
        }
        "fi" | "nf" if arg.is_empty() => {}
        _ => return false,
    }
    true
}

/// Appends `text` escaped for `d`: delimiters and the escape character as
/// `\F\ \S\ \T\ \R\ \E\` (`\P\` for the truncation character), control
/// characters as `\Xhh\`; everything else as is (UTF-8).
///
/// With no escape character declared, delimiters and line breaks cannot be
/// written: they are replaced by spaces.
pub fn encode_into(text: &str, d: &Delimiters, out: &mut String) {
    let Some(esc_byte) = d.escape else {
        for c in text.chars() {
            let breaks = c == '\r' || c == '\n';
            if breaks || (c.is_ascii() && d.is_special(c as u8)) {
                out.push(' ');
            } else {
                out.push(c);
            }
        }
        return;
    };
    let esc = char::from(esc_byte);
    for c in text.chars() {
        let code = if !c.is_ascii() {
            None
        } else {
            let b = c as u8;
            if b == d.field {
                Some("F")
            } else if b == d.component {
                Some("S")
            } else if Some(b) == d.subcomponent {
                Some("T")
            } else if Some(b) == d.repetition {
                Some("R")
            } else if b == esc_byte {
                Some("E")
            } else if Some(b) == d.truncation {
                Some("P")
            } else {
                None
            }
        };
        if let Some(code) = code {
            out.push(esc);
            out.push_str(code);
            out.push(esc);
        } else if c.is_ascii_control() {
            out.push(esc);
            out.push('X');
            out.push_str(&format!("{:02X}", c as u8));
            out.push(esc);
        } else if c.is_control() {
            // C1 controls: their UTF-8 bytes, so they round-trip.
            let mut buf = [0u8; 4];
            out.push(esc);
            out.push('X');
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("{b:02X}"));
            }
            out.push(esc);
        } else {
            out.push(c);
        }
    }
}

/// `text` escaped for `d`; see [`encode_into`].
pub fn encode(text: &str, d: &Delimiters) -> String {
    let mut out = String::with_capacity(text.len());
    encode_into(text, d, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> String {
        decode(s, &Delimiters::default()).into_owned()
    }

    #[test]
    fn decodes_the_delimiter_escapes() {
        assert_eq!(dec(r"A\F\B\S\C\T\D\R\E\E\F"), r"A|B^C&D~E\F");
        assert_eq!(dec(r"Fish \T\ chips"), "Fish & chips");
        assert_eq!(dec("plain"), "plain");
        assert!(matches!(
            decode("plain", &Delimiters::default()),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn decodes_after_non_ascii_text() {
        assert_eq!(dec(r"Zoë \T\ Chloé\F\ß"), "Zoë & Chloé|ß");
        assert_eq!(dec(r"日本語\S\テスト\E\"), "日本語^テスト\\");
        assert_eq!(dec(r"é\XC3A9\é"), "ééé");
    }

    #[test]
    fn decodes_hex_as_utf8_or_latin1() {
        assert_eq!(dec(r"\X41\\X4243\"), "ABC");
        assert_eq!(dec(r"caf\XC3A9\"), "café");
        assert_eq!(dec(r"caf\XE9\"), "café");
        assert_eq!(dec(r"a\X0D0A\b"), "a\r\nb");
        // odd length or not hex: not an escape, kept as text
        assert_eq!(dec(r"\X4\"), r"\X4\");
        assert_eq!(dec(r"\XZZ\"), r"\XZZ\");
    }

    #[test]
    fn formatting_and_highlighting() {
        assert_eq!(dec(r"line one\.br\line two"), "line one\nline two");
        assert_eq!(dec(r"a\.sp 2\b"), "a\n\nb");
        assert_eq!(dec(r"a\.sp\b"), "a\nb");
        assert_eq!(dec(r"a\.sp 99999\b"), r"a\.sp 99999\b");
        assert_eq!(dec(r"a\.sp 500\b"), format!("a{}b", "\n".repeat(10)));
        assert_eq!(dec(r"a\.sk 3\b"), "a   b");
        assert_eq!(dec(r"\.in +4\\.ti -2\\.fi\\.nf\x"), "x");
        assert_eq!(dec(r"\.ce\Title"), "\nTitle");
        assert_eq!(dec(r"\H\IMPORTANT\N\ note"), "IMPORTANT note");
        assert_eq!(dec(r"\C2842\abc\M2442\"), "abc");
        assert_eq!(dec(r"\Zlocal\x"), "x");
    }

    #[test]
    fn keeps_what_is_not_an_escape() {
        assert_eq!(dec(r"C:\path\to"), r"C:\path\to");
        assert_eq!(dec(r"trailing \"), r"trailing \");
        assert_eq!(dec(r"a\\b"), r"a\\b");
        // an unknown sequence keeps its text; the next real one decodes
        assert_eq!(dec(r"\Q\T\x"), r"\Q&x");
        let no_rep = Delimiters::from_msh(b'|', b"^").unwrap();
        assert_eq!(decode(r"a\R\b", &no_rep), r"a\R\b");
    }

    #[test]
    fn encodes_and_decodes_back() {
        let d = Delimiters::default();
        for s in [
            "",
            "plain",
            r"A|B^C&D~E\F",
            "line\r\nbreak\ttab",
            "Zoë & Chloé",
            "\u{85}\u{7f}\u{0}",
            r"\.br\ stays text",
        ] {
            let e = encode(s, &d);
            assert!(!e.bytes().any(|b| b.is_ascii_control()), "{e:?}");
            assert!(!e.contains(['|', '^', '&', '~']), "{e:?}");
            assert_eq!(decode(&e, &d), s);
        }
        assert_eq!(encode("a|b", &d), r"a\F\b");
        assert_eq!(encode("a\rb", &d), r"a\X0D\b");
        let trunc = Delimiters::from_msh(b'|', b"^~\\&#").unwrap();
        assert_eq!(encode("#1", &trunc), r"\P\1");
        assert_eq!(decode(r"\P\1", &trunc), "#1");
    }

    #[test]
    fn without_an_escape_character_delimiters_become_spaces() {
        let d = Delimiters::from_msh(b'|', b"^~").unwrap();
        assert_eq!(encode("a|b^c\rd\te", &d), "a b c d\te");
        assert_eq!(decode(r"a\F\b", &d), r"a\F\b");
    }
}

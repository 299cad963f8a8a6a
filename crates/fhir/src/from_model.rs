//! The unified model written as FHIR primitives and shared data types, the
//! same way by both renderers (the gateway's R4 [`render`](crate::render)
//! and the GP Connect simulator's STU3 one): strings, codes and URIs made
//! schema-safe, codings and concepts without empty parts.

use std::fmt::Write as _;

use icr_model as m;

use crate::datatypes::{CodeableConcept, Coding};

fn is_ws(c: char) -> bool {
    c.is_whitespace() || c == '\u{feff}'
}

/// A FHIR `string`: `None` when blank; whitespace other than space, tab,
/// CR and LF becomes a space (the schema allows no other).
pub fn text(s: &str) -> Option<String> {
    if s.chars().all(is_ws) {
        return None;
    }
    Some(
        s.chars()
            .map(|c| {
                if is_ws(c) && !matches!(c, ' ' | '\t' | '\r' | '\n') {
                    ' '
                } else {
                    c
                }
            })
            .collect(),
    )
}

/// A FHIR `code`: words separated by single spaces; `None` when blank.
pub fn code(s: &str) -> Option<String> {
    let words: Vec<&str> = s.split(is_ws).filter(|w| !w.is_empty()).collect();
    (!words.is_empty()).then(|| words.join(" "))
}

/// A FHIR `uri`: whitespace percent-encoded; `None` when blank.
pub fn uri(s: &str) -> Option<String> {
    let s = s.trim_matches(is_ws);
    if s.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if is_ws(c) {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(out, "%{b:02X}");
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// A coding, or `None` when it has neither code nor display.
pub fn coding(c: &m::Coding) -> Option<Coding> {
    let out = Coding {
        system: uri(c.system.uri()),
        version: None,
        code: code(&c.code),
        display: c.display.as_deref().and_then(text),
    };
    (out.code.is_some() || out.display.is_some()).then_some(out)
}

/// A concept, or `None` when nothing of it survives.
pub fn concept(c: &m::Concept) -> Option<CodeableConcept> {
    let out = CodeableConcept {
        coding: c.codings.iter().filter_map(coding).collect(),
        text: c.text.as_deref().and_then(text),
    };
    (!out.coding.is_empty() || out.text.is_some()).then_some(out)
}

/// The concepts of which something survives.
pub fn concepts(cs: &[m::Concept]) -> Vec<CodeableConcept> {
    cs.iter().filter_map(concept).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitives_are_made_schema_safe() {
        assert_eq!(text(" \u{feff} "), None);
        assert_eq!(text("a\u{a0}b\nc").as_deref(), Some("a b\nc"));
        assert_eq!(code("  a \t b "), Some("a b".to_string()));
        assert_eq!(code("\u{feff}"), None);
        assert_eq!(uri(" http://x/a b "), Some("http://x/a%20b".to_string()));
        assert_eq!(uri("  "), None);
    }

    #[test]
    fn codings_and_concepts_drop_empty_parts() {
        let empty = m::Coding {
            system: m::CodeSystem::from_uri("http://snomed.info/sct"),
            code: " ".into(),
            display: None,
        };
        assert_eq!(coding(&empty), None);
        let c = m::Concept {
            codings: vec![
                empty.clone(),
                m::Coding {
                    code: "22298006".into(),
                    ..empty
                },
            ],
            text: Some(" ".into()),
        };
        let cc = concept(&c).unwrap();
        assert_eq!(cc.coding.len(), 1);
        assert_eq!(
            cc.coding[0].system.as_deref(),
            Some("http://snomed.info/sct")
        );
        assert_eq!(cc.text, None);
        assert!(concepts(&[m::Concept::default()]).is_empty());
    }
}

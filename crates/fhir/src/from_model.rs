//! The unified model written as FHIR primitives and shared data types, the
//! same way by both renderers (the gateway's R4 [`render`](crate::render)
//! and the GP Connect simulator's STU3 one): strings, codes and URIs made
//! schema-safe, dates at the model's precision, codings, concepts, names,
//! periods and dosages without empty parts. What a version's value sets
//! change (address and contact uses, quantities) stays in its renderer.

use std::fmt::Write as _;

use icr_model as m;

use icr_model::time::{OffsetDateTime, UtcOffset};

use crate::datatypes::{CodeableConcept, Coding, Dosage, HumanName, Period, Reference};

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

/// A FHIR `dateTime` at the model's precision, or `None` when the schema
/// cannot hold it (a year outside 1–9999). An offset FHIR cannot write
/// (beyond ±14:00, or with seconds) is written as the same instant in UTC.
pub fn date_time(d: &m::PartialDateTime) -> Option<String> {
    match *d {
        m::PartialDateTime::DateTime(dt) => instant_text(dt),
        _ => date(d),
    }
}

/// A FHIR `date`: the model's date, or a date-time's calendar date.
pub fn date(d: &m::PartialDateTime) -> Option<String> {
    let year_ok = |y: i32| (1..=9999).contains(&y);
    let mut out = String::new();
    let ok = match *d {
        m::PartialDateTime::Year(y) => year_ok(y) && write!(out, "{y:04}").is_ok(),
        m::PartialDateTime::YearMonth(y, mo) => {
            year_ok(y) && write!(out, "{y:04}-{:02}", mo as u8).is_ok()
        }
        m::PartialDateTime::Date(x) => {
            year_ok(x.year())
                && write!(out, "{:04}-{:02}-{:02}", x.year(), x.month() as u8, x.day()).is_ok()
        }
        m::PartialDateTime::DateTime(dt) => {
            let x = dt.date();
            year_ok(x.year())
                && write!(out, "{:04}-{:02}-{:02}", x.year(), x.month() as u8, x.day()).is_ok()
        }
    };
    ok.then_some(out)
}

/// A FHIR `instant`: only a full date-time has one.
pub fn instant(d: &m::PartialDateTime) -> Option<String> {
    match *d {
        m::PartialDateTime::DateTime(dt) => instant_text(dt),
        _ => None,
    }
}

/// A full date-time as a FHIR `instant` (RFC 3339), or `None` outside
/// years 1–9999; an offset FHIR cannot write (beyond ±14:00, or with
/// seconds) is written as the same instant in UTC.
pub fn instant_text(dt: OffsetDateTime) -> Option<String> {
    let off = dt.offset();
    let fits = off.seconds_past_minute() == 0 && off.whole_minutes().unsigned_abs() <= 14 * 60;
    let dt = if fits {
        dt
    } else {
        dt.to_offset(UtcOffset::UTC)
    };
    if !(1..=9999).contains(&dt.year()) {
        return None;
    }
    let mut out = String::new();
    write!(out, "{}", m::PartialDateTime::DateTime(dt)).ok()?;
    Some(out)
}

/// A period, or `None` when neither end can be written.
pub fn period(
    start: Option<&m::PartialDateTime>,
    end: Option<&m::PartialDateTime>,
) -> Option<Period> {
    let out = Period {
        start: start.and_then(date_time),
        end: end.and_then(date_time),
    };
    (out.start.is_some() || out.end.is_some()).then_some(out)
}

/// A name, or `None` when nothing of it survives.
pub fn human_name(n: &m::HumanName) -> Option<HumanName> {
    let out = HumanName {
        use_: n.use_.map(|u| u.as_code().to_string()),
        text: n.text.as_deref().and_then(text),
        family: n.family.as_deref().and_then(text),
        given: n.given.iter().filter_map(|g| text(g)).collect(),
        prefix: n.prefix.iter().filter_map(|p| text(p)).collect(),
        ..Default::default()
    };
    (out.text.is_some() || out.family.is_some() || !out.given.is_empty() || !out.prefix.is_empty())
        .then_some(out)
}

/// A reference by display only.
pub fn display_ref(name: &str) -> Option<Reference> {
    Some(Reference {
        display: Some(text(name)?),
        ..Default::default()
    })
}

/// A dosage of the text, if any.
pub fn dosages(text_: Option<&str>) -> Vec<Dosage> {
    text_
        .and_then(text)
        .map(|t| Dosage {
            text: Some(t),
            ..Default::default()
        })
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pdt(s: &str) -> m::PartialDateTime {
        m::PartialDateTime::parse(s).unwrap()
    }

    #[test]
    fn text_is_made_schema_safe() {
        assert_eq!(text(""), None);
        assert_eq!(text(" \u{a0}\t"), None);
        assert_eq!(text(" \u{feff} "), None);
        assert_eq!(text("a\u{a0}b").as_deref(), Some("a b"));
        assert_eq!(text("a\u{a0}b\nc").as_deref(), Some("a b\nc"));
        assert_eq!(code("  on\u{2003} hold ").as_deref(), Some("on hold"));
        assert_eq!(code(" on  hold ").as_deref(), Some("on hold"));
        assert_eq!(code(" "), None);
        assert_eq!(code("\u{feff}"), None);
        assert_eq!(
            uri(" urn:local system ").as_deref(),
            Some("urn:local%20system")
        );
        assert_eq!(uri("urn:a b").as_deref(), Some("urn:a%20b"));
        assert_eq!(uri("  "), None);
    }

    #[test]
    fn dates_at_every_precision() {
        assert_eq!(date_time(&pdt("2021")).as_deref(), Some("2021"));
        assert_eq!(date_time(&pdt("2021-02")).as_deref(), Some("2021-02"));
        assert_eq!(date_time(&pdt("2021-02-15")).as_deref(), Some("2021-02-15"));
        assert_eq!(
            date_time(&pdt("2021-02-15T13:50+01:00")).as_deref(),
            Some("2021-02-15T13:50:00+01:00")
        );
        assert_eq!(
            date(&pdt("2021-02-15T23:50:00-05:00")).as_deref(),
            Some("2021-02-15")
        );
        assert_eq!(instant(&pdt("2021-02-15")), None);
        assert_eq!(date_time(&pdt("0000")), None);
        // an offset FHIR cannot write becomes UTC
        assert_eq!(
            date_time(&pdt("2021-02-15T13:50:00+15:00")).as_deref(),
            Some("2021-02-14T22:50:00Z")
        );
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

//! A CDA R2 `ClinicalDocument` read into typed values: the header, the
//! encounter it documents, and its body as plain text. No I/O.
//!
//! Reading is tolerant: a value that cannot be read (a date, a code) is
//! left out and counted; only XML that cannot be read at all, or a root
//! that is not a `ClinicalDocument`, is an error ([`XmlError`]).

use base64::Engine;
use icr_model::{CodeSystem, Coding, Concept, PartialDateTime};

use crate::narrative::{self, TextBuilder};
use crate::xml::{self, El, Limits, XmlError};

/// The OID of NHS numbers in `id/@root`.
pub const NHS_NUMBER_OID: &str = "2.16.840.1.113883.2.1.4.1";

/// How much of a document is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadLimits {
    /// Bounds on the XML itself.
    pub xml: Limits,
    /// Characters of plain text kept for the whole document.
    pub max_text_chars: usize,
    /// Sections read (nested ones included); the rest are counted.
    pub max_sections: usize,
    /// Authors and encounter participants kept.
    pub max_people: usize,
}

impl Default for ReadLimits {
    fn default() -> Self {
        Self {
            xml: xml::default_limits(),
            max_text_chars: 100_000,
            max_sections: 200,
            max_people: 20,
        }
    }
}

/// An instance identifier (`II`): an OID or UUID root and an optional
/// extension.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceId {
    /// `@root`.
    pub root: String,
    /// `@extension`.
    pub extension: Option<String>,
}

/// An author of the document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Author {
    /// `assignedAuthor/assignedPerson/name`, as one line.
    pub person: Option<String>,
    /// `assignedAuthor/representedOrganization/name`.
    pub organisation: Option<String>,
    /// `assignedAuthor/assignedAuthoringDevice` software or model name,
    /// when a system wrote the document.
    pub device: Option<String>,
}

impl Author {
    /// The author as shown to a reader: `Person (Organisation)`, or
    /// whichever of person, device and organisation is known.
    pub fn display(&self) -> Option<String> {
        match (&self.person, &self.organisation, &self.device) {
            (Some(p), Some(o), _) => Some(format!("{p} ({o})")),
            (Some(p), None, _) => Some(p.clone()),
            (None, Some(o), Some(d)) => Some(format!("{d} ({o})")),
            (None, Some(o), None) => Some(o.clone()),
            (None, None, Some(d)) => Some(d.clone()),
            (None, None, None) => None,
        }
    }
}

/// The custodian: the organisation that keeps the document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Custodian {
    /// `representedCustodianOrganization/name`.
    pub name: Option<String>,
    /// `representedCustodianOrganization/id`.
    pub ids: Vec<InstanceId>,
}

/// The encounter the document is about (`componentOf/encompassingEncounter`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Encounter {
    /// `id`.
    pub id: Option<InstanceId>,
    /// `code`: the kind of encounter.
    pub code: Option<Concept>,
    /// `effectiveTime` (`low`, or the single value).
    pub start: Option<PartialDateTime>,
    /// `effectiveTime/high`.
    pub end: Option<PartialDateTime>,
    /// `location/healthCareFacility`: the location's or the service
    /// provider's name, or the facility's code.
    pub location: Option<String>,
    /// `responsibleParty/assignedEntity`: person, else organisation.
    pub responsible: Option<String>,
    /// `encounterParticipant/assignedEntity` names.
    pub participants: Vec<String>,
}

/// One section of a structured body, in document order (nested sections
/// follow their parent).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Section {
    /// `code` (LOINC, SNOMED CT, …).
    pub code: Option<Concept>,
    /// `title`.
    pub title: Option<String>,
    /// The narrative `text` as plain text.
    pub text: Option<String>,
    /// 0 for a top-level section, 1 for a section inside it, …
    pub depth: usize,
}

/// A body that is not XML (`nonXMLBody`): a PDF, a word-processor file, text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NonXmlBody {
    /// `text/@mediaType`.
    pub media_type: Option<String>,
    /// Size in bytes of the content sent inline (base64 decoded).
    pub size: Option<u64>,
    /// The content was sent inside the document.
    pub inline: bool,
    /// `text/reference/@value`, when the content is elsewhere.
    pub reference: Option<String>,
}

/// The document's body.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Body {
    /// No body (a header-only document or fragment).
    #[default]
    None,
    /// `structuredBody`: sections with narrative.
    Structured(Vec<Section>),
    /// `nonXMLBody`.
    NonXml(NonXmlBody),
}

/// A CDA document, read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClinicalDocument {
    /// `id`: the document's own identifier.
    pub id: Option<InstanceId>,
    /// `code`: the type of document (LOINC in most realms).
    pub code: Option<Concept>,
    /// `title`.
    pub title: Option<String>,
    /// `effectiveTime`: when the document was created.
    pub effective_time: Option<PartialDateTime>,
    /// `confidentialityCode/@code` (`N`, `R`, `V`).
    pub confidentiality: Option<String>,
    /// How many `recordTarget`s the document has (the people it is about).
    pub record_targets: usize,
    /// `recordTarget/patientRole/id`, every one.
    pub patient_ids: Vec<InstanceId>,
    /// `author`s.
    pub authors: Vec<Author>,
    /// `custodian`.
    pub custodian: Option<Custodian>,
    /// `componentOf/encompassingEncounter`.
    pub encounter: Option<Encounter>,
    /// The body.
    pub body: Body,
    /// The body as plain text: each section's title and narrative, or a
    /// `text/plain` non-XML body; `None` when there is none.
    pub text: Option<String>,
    /// The text was cut at [`ReadLimits::max_text_chars`].
    pub text_truncated: bool,
    /// Sections over [`ReadLimits::max_sections`], not read.
    pub sections_skipped: usize,
    /// Dates present but unreadable, left out.
    pub bad_dates: u32,
}

impl ClinicalDocument {
    /// The NHS numbers the document's patient ids give, as written
    /// (`id[@root = NHS_NUMBER_OID]/@extension`).
    pub fn nhs_number_ids(&self) -> impl Iterator<Item = &str> {
        self.patient_ids
            .iter()
            .filter(|id| id.root == NHS_NUMBER_OID)
            .filter_map(|id| id.extension.as_deref())
    }

    /// True when the document's `confidentialityCode` asks for more than
    /// normal care: `R` (restricted), `V` (very restricted), or any code
    /// other than the unrestricted `N`, `L`, `M` and `U` (an unknown label
    /// is taken as restrictive). No code: not restricted.
    pub fn is_restricted(&self) -> bool {
        self.confidentiality
            .as_deref()
            .is_some_and(|c| !matches!(c, "N" | "L" | "M" | "U"))
    }
}

/// Reads `bytes` as a CDA document.
pub fn read(bytes: &[u8], limits: &ReadLimits) -> Result<ClinicalDocument, XmlError> {
    let tree = xml::parse(bytes, &limits.xml)?;
    let root = tree.root();
    let mut r = Reader {
        bad_dates: 0,
        limits,
    };
    let mut doc = ClinicalDocument {
        id: root.child("id").and_then(instance_id),
        code: root.child("code").and_then(concept),
        title: root.child("title").and_then(|t| t.text()),
        effective_time: r.ts(root.child("effectiveTime")),
        confidentiality: root
            .child("confidentialityCode")
            .and_then(|c| c.attr_text("code"))
            .map(str::to_string),
        record_targets: root.all("recordTarget").count(),
        patient_ids: root
            .find_all(&["recordTarget", "patientRole", "id"])
            .into_iter()
            .filter_map(instance_id)
            .collect(),
        authors: root
            .all("author")
            .filter_map(|a| a.child("assignedAuthor"))
            .map(|a| Author {
                person: a.child("assignedPerson").and_then(person_name),
                organisation: a
                    .child("representedOrganization")
                    .and_then(|o| o.child("name"))
                    .and_then(|n| n.text()),
                device: a.child("assignedAuthoringDevice").and_then(|d| {
                    d.child("softwareName")
                        .or_else(|| d.child("manufacturerModelName"))
                        .and_then(|n| n.text())
                }),
            })
            .filter(|a| a.display().is_some())
            .take(limits.max_people)
            .collect(),
        custodian: root
            .find(&[
                "custodian",
                "assignedCustodian",
                "representedCustodianOrganization",
            ])
            .map(|o| Custodian {
                name: o.child("name").and_then(|n| n.text()),
                ids: o.all("id").filter_map(instance_id).collect(),
            }),
        encounter: None,
        ..Default::default()
    };
    doc.encounter = root
        .find(&["componentOf", "encompassingEncounter"])
        .map(|e| r.encounter(e));
    let mut text = TextBuilder::new(limits.max_text_chars);
    let body = root.child("component");
    if let Some(structured) = body.and_then(|c| c.child("structuredBody")) {
        let (sections, skipped) = r.sections(structured, &mut text);
        doc.body = Body::Structured(sections);
        doc.sections_skipped = skipped;
    } else if let Some(non_xml) = body.and_then(|c| c.child("nonXMLBody")) {
        doc.body = Body::NonXml(non_xml_body(non_xml, &mut text));
    }
    doc.text_truncated = text.truncated();
    doc.text = text.finish();
    doc.bad_dates = r.bad_dates;
    Ok(doc)
}

struct Reader<'l> {
    bad_dates: u32,
    limits: &'l ReadLimits,
}

impl Reader<'_> {
    /// A `TS` element's `@value`; `nullFlavor` or no value is no date.
    fn ts(&mut self, el: Option<El<'_>>) -> Option<PartialDateTime> {
        let value = el?.attr_text("value")?;
        match parse_ts(value) {
            Some(d) => Some(d),
            None => {
                self.bad_dates += 1;
                None
            }
        }
    }

    fn encounter(&mut self, e: El<'_>) -> Encounter {
        let time = e.child("effectiveTime");
        let (start, end) = match time {
            Some(t) if t.attr("value").is_some() => (self.ts(Some(t)), None),
            Some(t) => (self.ts(t.child("low")), self.ts(t.child("high"))),
            None => (None, None),
        };
        let facility = e.find(&["location", "healthCareFacility"]);
        let location = facility.and_then(|f| {
            f.find(&["location", "name"])
                .and_then(|n| n.text())
                .or_else(|| {
                    f.find(&["serviceProviderOrganization", "name"])
                        .and_then(|n| n.text())
                })
                .or_else(|| f.child("code").and_then(concept).and_then(label))
        });
        let responsible = e
            .find(&["responsibleParty", "assignedEntity"])
            .and_then(entity_name);
        let participants = e
            .all("encounterParticipant")
            .filter_map(|p| p.child("assignedEntity"))
            .filter_map(entity_name)
            .take(self.limits.max_people)
            .collect();
        Encounter {
            id: e.child("id").and_then(instance_id),
            code: e.child("code").and_then(concept),
            start,
            end,
            location,
            responsible,
            participants,
        }
    }

    /// Every section under `structuredBody`, depth first, and how many
    /// were over the limit.
    fn sections(&mut self, body: El<'_>, text: &mut TextBuilder) -> (Vec<Section>, usize) {
        let mut out = Vec::new();
        let mut skipped = 0;
        // (section, depth), next to visit last.
        let mut stack: Vec<(El<'_>, usize)> = body
            .all("component")
            .filter_map(|c| c.child("section"))
            .map(|s| (s, 0))
            .collect();
        stack.reverse();
        while let Some((s, depth)) = stack.pop() {
            if out.len() >= self.limits.max_sections {
                skipped += 1;
                continue;
            }
            let title = s.child("title").and_then(|t| t.text());
            text.blank_line();
            if let Some(t) = &title {
                text.text(t);
                text.block();
            }
            let mut own = TextBuilder::new(text.remaining());
            if let Some(n) = s.child("text") {
                narrative::render(n, &mut own);
            }
            let own_truncated = own.truncated();
            let section_text = own.finish();
            if let Some(t) = &section_text {
                text.preformatted(t);
            }
            if own_truncated {
                text.mark_truncated();
            }
            out.push(Section {
                code: s.child("code").and_then(concept),
                title,
                text: section_text,
                depth,
            });
            let mut children: Vec<(El<'_>, usize)> = s
                .all("component")
                .filter_map(|c| c.child("section"))
                .map(|c| (c, depth + 1))
                .collect();
            children.reverse();
            stack.extend(children);
        }
        (out, skipped)
    }
}

/// `nonXMLBody/text`: content type and size; a `text/plain` body is also
/// written to `text`.
fn non_xml_body(body: El<'_>, text: &mut TextBuilder) -> NonXmlBody {
    let Some(t) = body.child("text") else {
        return NonXmlBody::default();
    };
    let media_type = t.attr_text("mediaType").map(str::to_string);
    let reference = t
        .child("reference")
        .and_then(|r| r.attr_text("value"))
        .map(str::to_string);
    let raw: String = t
        .content()
        .filter_map(|c| match c {
            xml::Content::Text(s) => Some(s),
            xml::Content::Element(_) => None,
        })
        .collect();
    let b64 = t.attr_text("representation") == Some("B64");
    let content: Option<Vec<u8>> = if raw.trim().is_empty() {
        None
    } else if b64 {
        let compact: String = raw.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        base64::engine::general_purpose::STANDARD
            .decode(compact.as_bytes())
            .ok()
    } else {
        Some(raw.trim().as_bytes().to_vec())
    };
    let is_plain = media_type
        .as_deref()
        .map(|m| m.split(';').next().unwrap_or("").trim())
        .is_none_or(|m| m.eq_ignore_ascii_case("text/plain"));
    if is_plain && let Some(s) = content.as_deref().and_then(|c| std::str::from_utf8(c).ok()) {
        text.preformatted(&s.replace("\r\n", "\n").replace('\r', "\n"));
    }
    let inline = !raw.trim().is_empty();
    NonXmlBody {
        media_type,
        size: if inline {
            Some(content.as_ref().map_or(raw.trim().len(), Vec::len) as u64)
        } else {
            None
        },
        inline,
        reference,
    }
}

/// `@root` and `@extension`; `None` without a root.
fn instance_id(el: El<'_>) -> Option<InstanceId> {
    Some(InstanceId {
        root: el.attr_text("root")?.to_string(),
        extension: el.attr_text("extension").map(str::to_string),
    })
}

/// HL7 v3 code systems CDA names by OID, with the URI FHIR gives them.
pub const V3_CODE_SYSTEMS: [(&str, &str); 2] = [
    (
        "2.16.840.1.113883.5.4",
        "http://terminology.hl7.org/CodeSystem/v3-ActCode",
    ),
    (
        "2.16.840.1.113883.5.111",
        "http://terminology.hl7.org/CodeSystem/v3-RoleCode",
    ),
];

/// A code system OID as the model knows it: the national terminologies by
/// name, the HL7 v3 systems of [`V3_CODE_SYSTEMS`] by their FHIR URI, any
/// other as `urn:oid:…`.
pub fn code_system(oid: &str) -> CodeSystem {
    match oid {
        "2.16.840.1.113883.6.1" => CodeSystem::Loinc,
        // SNOMED CT, international and as the NHS registers it.
        "2.16.840.1.113883.6.96" | "2.16.840.1.113883.2.1.3.2.4.15" => CodeSystem::Snomed,
        "2.16.840.1.113883.6.3" => CodeSystem::Icd10,
        "2.16.840.1.113883.6.8" => CodeSystem::Ucum,
        other => match V3_CODE_SYSTEMS.iter().find(|(o, _)| *o == other) {
            Some((_, uri)) => CodeSystem::Other((*uri).into()),
            None => CodeSystem::Other(format!("urn:oid:{other}").into()),
        },
    }
}

/// The OID a model code system has in CDA (the inverse of
/// [`code_system`]), when it has one.
pub fn code_system_oid(system: &CodeSystem) -> Option<&str> {
    match system {
        CodeSystem::Loinc => Some("2.16.840.1.113883.6.1"),
        CodeSystem::Snomed => Some("2.16.840.1.113883.6.96"),
        CodeSystem::Icd10 => Some("2.16.840.1.113883.6.3"),
        CodeSystem::Ucum => Some("2.16.840.1.113883.6.8"),
        CodeSystem::Other(uri) => uri.strip_prefix("urn:oid:").or_else(|| {
            V3_CODE_SYSTEMS
                .iter()
                .find(|(_, u)| **u == **uri)
                .map(|(oid, _)| *oid)
        }),
        _ => None,
    }
}

fn coding(el: El<'_>) -> Option<Coding> {
    let code = el.attr_text("code")?;
    let system = el.attr_text("codeSystem")?;
    Some(Coding {
        system: code_system(system),
        code: code.to_string(),
        display: el.attr_text("displayName").map(str::to_string),
    })
}

/// A `CD`/`CE` element: its code and translations, and `originalText`
/// when written out.
fn concept(el: El<'_>) -> Option<Concept> {
    let mut codings: Vec<Coding> = coding(el).into_iter().collect();
    codings.extend(el.all("translation").filter_map(coding).take(10));
    let text = el.child("originalText").and_then(|t| t.text()).or_else(|| {
        // A code with a display name but no system is still worth
        // showing as text.
        (codings.is_empty())
            .then(|| el.attr_text("displayName").map(str::to_string))
            .flatten()
    });
    let c = Concept { codings, text };
    (!c.is_empty()).then_some(c)
}

fn label(c: Concept) -> Option<String> {
    c.label().map(str::to_string)
}

/// A person's `name` as one line: the parts in document order.
fn person_name(person: El<'_>) -> Option<String> {
    person.child("name").and_then(|n| n.text())
}

/// An `assignedEntity`'s person, else its organisation.
fn entity_name(e: El<'_>) -> Option<String> {
    e.child("assignedPerson").and_then(person_name).or_else(|| {
        e.child("representedOrganization")
            .and_then(|o| o.child("name"))
            .and_then(|n| n.text())
    })
}

/// Parses an HL7 v3 `TS`: `YYYY[MM[DD[HH[MM[SS[.S+]]]]]][+|-ZZZZ]`. A time
/// without an offset is read as UTC, as the model reads such times from
/// every source.
pub fn parse_ts(value: &str) -> Option<PartialDateTime> {
    let v = value.trim();
    let (body, offset) = match v.find(['+', '-']) {
        Some(i) => (&v[..i], Some(&v[i..])),
        None => (v, None),
    };
    let (digits, fraction) = match body.split_once('.') {
        Some((d, f)) => (d, Some(f)),
        None => (body, None),
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if fraction.is_some_and(|f| f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let part = |r: std::ops::Range<usize>| digits.get(r);
    let iso = match digits.len() {
        4 if offset.is_none() => digits.to_string(),
        6 if offset.is_none() => format!("{}-{}", part(0..4)?, part(4..6)?),
        8 if offset.is_none() => format!("{}-{}-{}", part(0..4)?, part(4..6)?, part(6..8)?),
        10 | 12 | 14 => {
            let hh = part(8..10)?;
            let mm = part(10..12).unwrap_or("00");
            let ss = part(12..14).unwrap_or("00");
            if fraction.is_some() && digits.len() != 14 {
                return None;
            }
            let frac = fraction.map(|f| format!(".{f}")).unwrap_or_default();
            let zone = match offset {
                None => "Z".to_string(),
                Some(o) => {
                    let (sign, hm) = o.split_at(1);
                    if hm.len() != 4 || !hm.bytes().all(|b| b.is_ascii_digit()) {
                        return None;
                    }
                    format!("{sign}{}:{}", &hm[..2], &hm[2..])
                }
            };
            format!(
                "{}-{}-{}T{hh}:{mm}:{ss}{frac}{zone}",
                part(0..4)?,
                part(4..6)?,
                part(6..8)?
            )
        }
        _ => return None,
    };
    PartialDateTime::parse(&iso).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_systems_round_trip_through_oids() {
        for system in [
            CodeSystem::Loinc,
            CodeSystem::Snomed,
            CodeSystem::Icd10,
            CodeSystem::Ucum,
            CodeSystem::Other("http://terminology.hl7.org/CodeSystem/v3-ActCode".into()),
            CodeSystem::Other("http://terminology.hl7.org/CodeSystem/v3-RoleCode".into()),
            CodeSystem::Other("urn:oid:1.2.3.4".into()),
        ] {
            let oid = code_system_oid(&system).unwrap();
            assert_eq!(code_system(oid), system, "{oid}");
        }
        assert_eq!(
            code_system("2.16.840.1.113883.2.1.3.2.4.15"),
            CodeSystem::Snomed
        );
        assert_eq!(code_system_oid(&CodeSystem::Dmd), None);
    }

    #[test]
    fn hl7_timestamps() {
        let p = |s: &str| parse_ts(s).map(|d| d.to_string());
        assert_eq!(p("2024").as_deref(), Some("2024"));
        assert_eq!(p("202403").as_deref(), Some("2024-03"));
        assert_eq!(p("20240315").as_deref(), Some("2024-03-15"));
        assert_eq!(p("2024031502").as_deref(), Some("2024-03-15T02:00:00Z"));
        assert_eq!(
            p("202403150245+0000").as_deref(),
            Some("2024-03-15T02:45:00Z")
        );
        assert_eq!(
            p("20240315024512-0800").as_deref(),
            Some("2024-03-15T02:45:12-08:00")
        );
        assert_eq!(
            p("20240315024512.25+0100").as_deref(),
            Some("2024-03-15T02:45:12.25+01:00")
        );
        for bad in [
            "",
            "20",
            "2024-03-15",
            "20241315",
            "20240230",
            "2024031525",
            "20240315+0100",
            "2024031502+01",
            "20240315024512.",
            "202403150245.5",
            "2024031502451٢",
            "20240315024512+01:00",
        ] {
            assert_eq!(parse_ts(bad), None, "{bad}");
        }
    }
}

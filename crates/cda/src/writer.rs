//! Writing CDA R2 documents: a report (header, patient, authors,
//! custodian, encounter, narrative sections) as a `ClinicalDocument`,
//! through the shared writer ([`icr_xml::Writer`]), which escapes every
//! value. The simulator writes its documents with it and the adapter's
//! tests build their fixtures with it; [`read`](crate::read) reads back
//! what it writes.

use icr_model::{
    Appointment, CodeSystem, Coding, Demographics, Document, Gender, HumanName, NhsNumber,
    PartialDateTime,
};
use icr_xml::Writer;

use crate::document::NHS_NUMBER_OID;

/// The OID of ODS organisation codes.
pub const ODS_OID: &str = "2.16.840.1.113883.2.1.3.2.4.19.1";

/// The organisation that wrote a report (author organisation and
/// custodian).
#[derive(Clone, Copy, Debug)]
pub struct Organisation<'a> {
    /// Its ODS code.
    pub ods_code: &'a str,
    /// Its name.
    pub name: &'a str,
    /// The OID its local document ids are issued under (`id/@root`).
    pub local_id_root: &'a str,
}

/// A report to write as CDA.
#[derive(Clone, Copy, Debug)]
pub struct Report<'a> {
    /// The service that wrote it.
    pub organisation: Organisation<'a>,
    /// The document's id (`id/@extension`).
    pub id: &'a str,
    /// The patient.
    pub nhs_number: NhsNumber,
    /// The patient's demographics as the service holds them (name, gender,
    /// birth date are written).
    pub demographics: &'a Demographics,
    /// Type, title, date and authors.
    pub document: &'a Document,
    /// The encounter reported on.
    pub encounter: Option<&'a Appointment>,
    /// The body.
    pub sections: &'a [ReportSection],
}

/// One section of a report.
#[derive(Clone, Debug, PartialEq)]
pub struct ReportSection {
    /// The section's code.
    pub code: Option<Coding>,
    /// Its title.
    pub title: String,
    /// Its narrative.
    pub blocks: Vec<Block>,
}

/// A block of narrative.
#[derive(Clone, Debug, PartialEq)]
pub enum Block {
    /// A `paragraph`.
    Paragraph(String),
    /// A `list` (`listType="ordered"` when numbered).
    List {
        /// Numbered.
        ordered: bool,
        /// The items.
        items: Vec<String>,
    },
    /// A `table` with a header row.
    Table {
        /// The header cells.
        head: Vec<String>,
        /// The rows.
        rows: Vec<Vec<String>>,
    },
}

/// The OID a model code system has in CDA.
pub fn code_system_oid(system: &CodeSystem) -> Option<&str> {
    match system {
        CodeSystem::Loinc => Some("2.16.840.1.113883.6.1"),
        // SNOMED CT as the NHS registers it in CDA.
        CodeSystem::Snomed => Some("2.16.840.1.113883.2.1.3.2.4.15"),
        CodeSystem::Icd10 => Some("2.16.840.1.113883.6.3"),
        CodeSystem::Ucum => Some("2.16.840.1.113883.6.8"),
        CodeSystem::Other(uri) => match &**uri {
            "http://terminology.hl7.org/CodeSystem/v3-ActCode" => Some("2.16.840.1.113883.5.4"),
            "http://terminology.hl7.org/CodeSystem/v3-RoleCode" => Some("2.16.840.1.113883.5.111"),
            other => other.strip_prefix("urn:oid:"),
        },
        _ => None,
    }
}

/// An HL7 v3 `TS` value at the date's own precision; an instant keeps its
/// offset (`+HHMM`), whole seconds.
pub fn ts(d: &PartialDateTime) -> String {
    match *d {
        PartialDateTime::Year(y) => format!("{y:04}"),
        PartialDateTime::YearMonth(y, m) => format!("{y:04}{:02}", m as u8),
        PartialDateTime::Date(d) => {
            format!("{:04}{:02}{:02}", d.year(), d.month() as u8, d.day())
        }
        PartialDateTime::DateTime(t) => {
            let o = t.offset();
            let (h, m, _) = o.as_hms();
            let sign = if o.is_negative() { '-' } else { '+' };
            format!(
                "{:04}{:02}{:02}{:02}{:02}{:02}{sign}{:02}{:02}",
                t.year(),
                t.month() as u8,
                t.day(),
                t.hour(),
                t.minute(),
                t.second(),
                h.unsigned_abs(),
                m.unsigned_abs()
            )
        }
    }
}

/// Writes a report as a CDA R2 document.
pub fn write(r: &Report<'_>) -> String {
    let mut x = Writer::with_encoding_label("UTF-8");
    x.open(
        "ClinicalDocument",
        &[
            ("xmlns", "urn:hl7-org:v3"),
            ("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"),
        ],
    );
    x.empty(
        "typeId",
        &[
            ("root", "2.16.840.1.113883.1.3"),
            ("extension", "POCD_HD000040"),
        ],
    );
    x.empty(
        "id",
        &[("root", r.organisation.local_id_root), ("extension", r.id)],
    );
    match r.document.doc_type.codings.first() {
        Some(c) => x.code("code", c),
        None => x.empty("code", &[("nullFlavor", "UNK")]),
    }
    if let Some(t) = &r.document.title {
        x.leaf("title", &[], t);
    }
    match &r.document.date {
        Some(d) => x.empty("effectiveTime", &[("value", &ts(d))]),
        None => x.empty("effectiveTime", &[("nullFlavor", "UNK")]),
    }
    x.empty(
        "confidentialityCode",
        &[
            ("code", "N"),
            ("codeSystem", "2.16.840.1.113883.5.25"),
            ("displayName", "normal"),
        ],
    );
    x.empty("languageCode", &[("code", "en-GB")]);

    x.open("recordTarget", &[("typeCode", "RCT")]);
    x.open("patientRole", &[("classCode", "PAT")]);
    x.empty(
        "id",
        &[
            ("root", NHS_NUMBER_OID),
            ("extension", r.nhs_number.as_str()),
        ],
    );
    x.open("patient", &[("classCode", "PSN")]);
    if let Some(n) = r.demographics.preferred_name() {
        name(&mut x, n);
    }
    if let Some(g) = r.demographics.gender {
        let code = match g {
            Gender::Male => "M",
            Gender::Female => "F",
            _ => "UN",
        };
        x.empty(
            "administrativeGenderCode",
            &[("code", code), ("codeSystem", "2.16.840.1.113883.5.1")],
        );
    }
    if let Some(b) = &r.demographics.birth_date {
        x.empty("birthTime", &[("value", &ts(b))]);
    }
    x.close("patient");
    x.close("patientRole");
    x.close("recordTarget");

    let ods = r.organisation.ods_code;
    for author in &r.document.authors {
        x.open("author", &[("typeCode", "AUT")]);
        match &r.document.date {
            Some(d) => x.empty("time", &[("value", &ts(d))]),
            None => x.empty("time", &[("nullFlavor", "UNK")]),
        }
        x.open("assignedAuthor", &[("classCode", "ASSIGNED")]);
        x.empty("id", &[("nullFlavor", "NI")]);
        x.open("assignedPerson", &[]);
        x.leaf("name", &[], author);
        x.close("assignedPerson");
        x.open("representedOrganization", &[]);
        x.empty("id", &[("root", ODS_OID), ("extension", ods)]);
        x.leaf("name", &[], r.organisation.name);
        x.close("representedOrganization");
        x.close("assignedAuthor");
        x.close("author");
    }

    x.open("custodian", &[("typeCode", "CST")]);
    x.open("assignedCustodian", &[("classCode", "ASSIGNED")]);
    x.open("representedCustodianOrganization", &[]);
    x.empty("id", &[("root", ODS_OID), ("extension", ods)]);
    x.leaf("name", &[], r.organisation.name);
    x.close("representedCustodianOrganization");
    x.close("assignedCustodian");
    x.close("custodian");

    if let Some(e) = r.encounter {
        encounter(&mut x, e);
    }

    x.open("component", &[]);
    x.open("structuredBody", &[]);
    for s in r.sections {
        x.open("component", &[]);
        x.open("section", &[]);
        if let Some(c) = &s.code {
            x.code("code", c);
        }
        x.leaf("title", &[], &s.title);
        x.open("text", &[]);
        for b in &s.blocks {
            block(&mut x, b);
        }
        x.close("text");
        x.close("section");
        x.close("component");
    }
    x.close("structuredBody");
    x.close("component");
    x.close("ClinicalDocument");
    x.finish()
}

fn name(x: &mut Writer, n: &HumanName) {
    x.open("name", &[]);
    for p in &n.prefix {
        x.leaf("prefix", &[], p);
    }
    for g in &n.given {
        x.leaf("given", &[], g);
    }
    if let Some(f) = &n.family {
        x.leaf("family", &[], f);
    }
    if n.prefix.is_empty()
        && n.given.is_empty()
        && n.family.is_none()
        && let Some(t) = &n.text
    {
        x.text(t);
    }
    x.close("name");
}

fn encounter(x: &mut Writer, e: &Appointment) {
    x.open("componentOf", &[("typeCode", "COMP")]);
    x.open("encompassingEncounter", &[]);
    if let Some(c) = e.class.as_ref().and_then(|c| c.codings.first()) {
        x.code("code", c);
    }
    x.open("effectiveTime", &[]);
    match &e.start {
        Some(s) => x.empty("low", &[("value", &ts(s))]),
        None => x.empty("low", &[("nullFlavor", "UNK")]),
    }
    if let Some(end) = &e.end {
        x.empty("high", &[("value", &ts(end))]);
    }
    x.close("effectiveTime");
    let mut people = e.participants.iter();
    if let Some(first) = people.next() {
        x.open("responsibleParty", &[]);
        assigned_entity(x, first);
        x.close("responsibleParty");
    }
    for p in people {
        x.open("encounterParticipant", &[("typeCode", "ATND")]);
        assigned_entity(x, p);
        x.close("encounterParticipant");
    }
    if let Some(l) = &e.location {
        x.open("location", &[]);
        x.open("healthCareFacility", &[]);
        x.open("location", &[]);
        x.leaf("name", &[], l);
        x.close("location");
        x.close("healthCareFacility");
        x.close("location");
    }
    x.close("encompassingEncounter");
    x.close("componentOf");
}

fn assigned_entity(x: &mut Writer, person: &str) {
    x.open("assignedEntity", &[]);
    x.empty("id", &[("nullFlavor", "NI")]);
    x.open("assignedPerson", &[]);
    x.leaf("name", &[], person);
    x.close("assignedPerson");
    x.close("assignedEntity");
}

fn block(x: &mut Writer, b: &Block) {
    match b {
        Block::Paragraph(t) => x.leaf("paragraph", &[], t),
        Block::List { ordered, items } => {
            let attrs: &[(&str, &str)] = if *ordered {
                &[("listType", "ordered")]
            } else {
                &[]
            };
            x.open("list", attrs);
            for i in items {
                x.leaf("item", &[], i);
            }
            x.close("list");
        }
        Block::Table { head, rows } => {
            x.open("table", &[("border", "1")]);
            x.open("thead", &[]);
            x.open("tr", &[]);
            for h in head {
                x.leaf("th", &[], h);
            }
            x.close("tr");
            x.close("thead");
            x.open("tbody", &[]);
            for row in rows {
                x.open("tr", &[]);
                for c in row {
                    x.leaf("td", &[], c);
                }
                x.close("tr");
            }
            x.close("tbody");
            x.close("table");
        }
    }
}

/// A `CD` element: code, code system OID and display name; a coding whose
/// system has no OID is written as its display text only.
trait CodeXml {
    fn code(&mut self, name: &str, c: &Coding);
}

impl CodeXml for Writer {
    fn code(&mut self, name: &str, c: &Coding) {
        match code_system_oid(&c.system) {
            Some(oid) => {
                let mut attrs = vec![("code", c.code.as_str()), ("codeSystem", oid)];
                if let Some(d) = &c.display {
                    attrs.push(("displayName", d.as_str()));
                }
                self.empty(name, &attrs);
            }
            None => {
                self.open(name, &[("nullFlavor", "OTH")]);
                self.leaf("originalText", &[], c.display.as_deref().unwrap_or(&c.code));
                self.close(name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use icr_model::{CodeSystem, Coding, Concept, Demographics, Document, HumanName, NhsNumber};

    use super::*;
    use crate::{ReadLimits, read};

    #[test]
    fn what_it_writes_reads_back() {
        let demographics = Demographics {
            names: vec![HumanName {
                given: vec!["Alex".into()],
                family: Some("Testperson".into()),
                ..Default::default()
            }],
            ..Default::default()
        };
        let document = Document {
            doc_type: Concept {
                codings: vec![Coding {
                    system: CodeSystem::Loinc,
                    code: "34133-9".into(),
                    display: Some("Summary".into()),
                }],
                text: None,
            },
            title: Some("Out of hours <report> & plan".into()),
            authors: vec!["Dr A".into()],
            ..Default::default()
        };
        let sections = [ReportSection {
            code: None,
            title: "Plan".into(),
            blocks: vec![
                Block::Paragraph("Rest & fluids".into()),
                Block::List {
                    ordered: true,
                    items: vec!["one".into(), "two".into()],
                },
            ],
        }];
        let xml = write(&Report {
            organisation: Organisation {
                ods_code: "Y9U01",
                name: "Out of Hours",
                local_id_root: "2.16.840.1.113883.19.5.1",
            },
            id: "doc-1",
            nhs_number: NhsNumber::parse("9990000018").unwrap(),
            demographics: &demographics,
            document: &document,
            encounter: None,
            sections: &sections,
        });
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ClinicalDocument"));
        let doc = read(xml.as_bytes(), &ReadLimits::default()).unwrap();
        assert_eq!(doc.title.as_deref(), Some("Out of hours <report> & plan"));
        assert_eq!(doc.nhs_number_ids().collect::<Vec<_>>(), ["9990000018"]);
        assert_eq!(doc.authors.len(), 1);
        assert_eq!(doc.authors[0].person.as_deref(), Some("Dr A"));
        assert_eq!(
            doc.custodian.and_then(|c| c.name).as_deref(),
            Some("Out of Hours")
        );
        assert_eq!(doc.bad_dates, 0);
        let text = doc.text.unwrap();
        assert!(text.contains("Rest & fluids"), "{text}");
    }

    #[test]
    fn ts_keeps_the_precision_and_the_offset() {
        let p = |s: &str| ts(&PartialDateTime::parse(s).unwrap());
        assert_eq!(p("2026"), "2026");
        assert_eq!(p("2026-03"), "202603");
        assert_eq!(p("2026-03-04"), "20260304");
        assert_eq!(p("2026-03-04T05:06:07+01:00"), "20260304050607+0100");
    }
}

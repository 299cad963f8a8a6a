//! Every document of the shared CDA corpus (HL7 C-CDA examples and the
//! FHIR-Converter samples: 51 files, `.xml` and `.ccda`) is read and
//! mapped; representative ones are checked field by field. These are US
//! documents whose patient ids are not NHS numbers, so the identity check
//! is not applied here (it is tested in `mapping.rs`).

use icr_adapter_cda::cda::{Body, ClinicalDocument, ReadLimits, read};
use icr_adapter_cda::map::{Mapped, Origin, map_document};
use icr_adapter_cda::{fuzz_document, fuzz_registry};
use icr_model::*;

const URL: &str = "https://ooh.example.nhs.uk/fhir/Binary/1";

fn corpus() -> Vec<(String, Vec<u8>)> {
    let mut files = icr_testkit::corpus_files("cda/ccda-examples", "xml");
    files.extend(icr_testkit::corpus_files("cda/converter-samples", "ccda"));
    files
}

fn file(name: &str) -> Vec<u8> {
    corpus()
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("{name} is not in the corpus"))
        .1
}

fn read_file(name: &str) -> (ClinicalDocument, Mapped) {
    let bytes = file(name);
    let doc = read(&bytes, &ReadLimits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mapped = map_document(
        &doc,
        &Origin {
            url: URL,
            size: Some(bytes.len() as u64),
            listed: None,
        },
    );
    (doc, mapped)
}

fn loinc(code: &str, display: &str) -> Concept {
    Concept::coded(Coding::new(CodeSystem::Loinc, code, display))
}

fn d(s: &str) -> PartialDateTime {
    PartialDateTime::parse(s).unwrap()
}

fn cda_attachment(size: usize) -> Attachment {
    Attachment {
        content_type: Some("application/hl7-v3+xml".into()),
        url: Some(URL.into()),
        title: None,
        size: Some(size as u64),
        inline_content_omitted: false,
    }
}

/// Documents with no narrative and no text body: header-only examples and
/// fragments, and structured bodies whose sections have no text.
const NO_NARRATIVE: [&str; 10] = [
    "Guide_Examples_Entry_Reference_2.16.840.1.113883.10.20.22.4.122_Diagnosis_Reference_Example.xml",
    "Guide_Examples_Entry_Reference_2.16.840.1.113883.10.20.22.4.122_Entry_Reference_Example.xml",
    "Guide_Examples_Transfer_Summary_V2_2.16.840.1.113883.10.20.22.1.13_Transfer_Summary_participant_Support_Example.xml",
    "Guide_Examples_US_Realm_Header_V3_2.16.840.1.113883.10.20.22.1.1_Supporting_Person_participant_Example.xml",
    "Guide_Examples_US_Realm_Header_V3_2.16.840.1.113883.10.20.22.1.1_US_Realm_Header_V3_Example.xml",
    "Guide_Examples_US_Realm_Header_for_Patient_Generated_Document_V2_2.16.840.1.113883.10.20.29.1_Patient_Generated_Document_informationRecipient.xml",
    "Header_Direct_Address_Patient_and_Provider_Organization_Direct_Address_C-CDAR2.1_.xml",
    "Referrals_-_Planned_and_Completed_Close_Referral_with_a_Document_Consult_Document_Closing_Referral_C-CDAR2.1_.xml",
    "Consult-Document-Closing-Referral-C-CDAR2.1.ccda",
    "Patient-and-Provider-Organization-Direct-Address-C-CDAR2.1.ccda",
];

/// A `<` followed by a letter or `/`: what a tag would look like.
fn has_markup(text: &str) -> bool {
    text.as_bytes()
        .windows(2)
        .any(|w| w[0] == b'<' && (w[1].is_ascii_alphabetic() || w[1] == b'/'))
}

#[test]
fn every_corpus_document_reads_and_maps() {
    icr_testkit::require_corpora!(CcdaExamples, CdaConverterSamples);
    let files = corpus();
    assert_eq!(files.len(), 51, "the CDA corpus has 51 files");
    let mut with_text = 0;
    let mut pdf = 0;
    let mut no_narrative = 0;
    let mut sections = 0;
    let mut encounters = 0;
    for (name, bytes) in &files {
        let doc = read(bytes, &ReadLimits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mapped = map_document(
            &doc,
            &Origin {
                url: URL,
                size: Some(bytes.len() as u64),
                listed: None,
            },
        );
        assert_eq!(
            mapped.document.content[0].url.as_deref(),
            Some(URL),
            "{name}"
        );
        assert_eq!(mapped.document.status, Some(DocumentStatus::Current));
        assert!(!doc.text_truncated, "{name}");
        if let Body::Structured(s) = &doc.body {
            sections += s.len();
        }
        encounters += usize::from(mapped.encounter.is_some());
        match (&doc.body, &mapped.document.text) {
            (_, Some(text)) => {
                with_text += 1;
                assert!(!text.trim().is_empty(), "{name}");
                assert!(!has_markup(text), "{name}: markup in text");
                assert!(
                    !text.chars().any(|c| c.is_control() && c != '\n'),
                    "{name}: control characters"
                );
                assert_eq!(mapped.document.text, doc.text);
            }
            (Body::NonXml(b), None) => {
                pdf += 1;
                assert!(
                    b.media_type.as_deref() == Some("application/pdf") || b.reference.is_some(),
                    "{name}: {b:?}"
                );
                assert_eq!(mapped.document.content.len(), 2, "{name}");
            }
            (_, None) => {
                no_narrative += 1;
                assert!(NO_NARRATIVE.contains(&name.as_str()), "{name} has no text");
            }
        }
        // the fuzzing entry points take every file too
        fuzz_document(bytes);
        fuzz_registry(bytes);
    }
    assert_eq!((with_text, pdf, no_narrative), (34, 7, 10));
    assert_eq!(sections, 442);
    assert_eq!(encounters, 21);
}

#[test]
fn discharge_summary_field_by_field() {
    icr_testkit::require_corpora!(CcdaExamples, CdaConverterSamples);
    let name = "Documents_Discharge_Summary_Discharge_Summary.xml";
    let (doc, m) = read_file(name);
    assert_eq!(
        m.document,
        Document {
            doc_type: loinc("18842-5", "Discharge summary"),
            category: vec![],
            title: Some("Community Health and Hospitals: Discharge Summary".into()),
            status: Some(DocumentStatus::Current),
            date: Some(d("2014-09-17T19:04:00-05:00")),
            authors: vec![
                "Henry Seven".into(),
                "Generic EHR C-CDA Factory 2.0.0.0.0.0 - C-CDA Transform 2.0.0.0.0 (Community Health and Hospitals)".into(),
            ],
            content: vec![cda_attachment(file(name).len())],
            // The text is checked below.
            text: m.document.text.clone(),
            care_plan: None,
        }
    );
    assert_eq!(
        m.encounter,
        Some(Appointment {
            kind: Some(AppointmentKind::Encounter),
            status: Some(AppointmentStatus::Finished),
            start: Some(d("2014-09-09T19:04:00-05:00")),
            end: Some(d("2014-09-16T19:04:00-05:00")),
            ..Default::default()
        })
    );
    assert_eq!(doc.confidentiality.as_deref(), Some("N"));
    assert_eq!(doc.record_targets, 1);
    assert_eq!(doc.nhs_number_ids().count(), 0);
    assert_eq!(
        doc.custodian.as_ref().and_then(|c| c.name.as_deref()),
        Some("Community Health and Hospitals")
    );
    let Body::Structured(sections) = &doc.body else {
        panic!("{:?}", doc.body)
    };
    assert_eq!(sections.len(), 21);
    assert_eq!(
        sections[0].code,
        Some(loinc("42347-5", "Admission Diagnosis"))
    );
    assert_eq!(sections[0].title.as_deref(), Some("ADMISSION DIAGNOSIS"));
    assert_eq!(sections[0].text.as_deref(), Some("Appendicitis"));
    let text = m.document.text.clone().unwrap();
    assert!(
        text.starts_with(
            "ADMISSION DIAGNOSIS\nAppendicitis\n\n\
             ALLERGIES, ADVERSE REACTIONS, ALERTS\n\
             Substance | Reaction | Severity | Status\n\
             Penicillin | Nausea | Moderate to severe | Active\n\
             Codeine | Wheezing | Moderate | Active\n\
             Eggs | Hives | Moderate | Active\n\n\
             REASON FOR VISIT/CHIEF COMPLAINT\nDark stools.\n\n"
        ),
        "{text}"
    );
    assert_eq!(text.lines().count(), 105, "{text}");
}

#[test]
fn referral_note_with_tables_and_lists() {
    icr_testkit::require_corpora!(CcdaExamples, CdaConverterSamples);
    let name = "Documents_Referral_Note_Referral_Note.xml";
    let (doc, m) = read_file(name);
    assert_eq!(
        m.document,
        Document {
            doc_type: loinc("57113-1", "Referral Note"),
            category: vec![],
            title: Some("Referral Note".into()),
            status: Some(DocumentStatus::Current),
            date: Some(d("2013-09-21T05:00:00-08:00")),
            authors: vec!["Patricia Patty Primary M.D.".into()],
            content: vec![cda_attachment(file(name).len())],
            // The text is checked below.
            text: m.document.text.clone(),
            care_plan: None,
        }
    );
    assert_eq!(m.encounter, None);
    let Body::Structured(sections) = &doc.body else {
        panic!()
    };
    let by_title = |t: &str| {
        sections
            .iter()
            .find(|s| s.title.as_deref() == Some(t))
            .and_then(|s| s.text.clone())
            .unwrap_or_else(|| panic!("no section {t}"))
    };
    assert_eq!(
        by_title("ASSESSMENT"),
        "1. Uncontrolled brittle Type II diabetic.\n2. Obesity.\n3. Shortness of breath, mild wheezing.\n4. Pressure ulder on left knee."
    );
    assert_eq!(
        by_title("PROBLEMS"),
        "Active Concerns\n\
         - Problem #1\n  \
           - Type II diabetes mellitus with ulcer (onset July 3, 2000)[authored Aug 14, 2013]\n\
         - Problem #2\n  \
           - Mixed Asthma (onset Apr 14, 2007) [authored Apr 14, 2007]\n  \
           - Acute Asthma (onset Apr 17, 2007) [authored Apr 17, 2007]\n\
         Resolved Concerns\n\
         - Problem #3\n  \
           - Pneumonia - Left lower lobe (onset Mar 10, 1998; resolution Mar 16, 1998) [authored Mar 16, 1998]"
    );
    assert_eq!(
        by_title("SKIN, PHYSICAL FINDING"),
        "1. Stage 3 Pressure Ulcer anterior aspect of knee\n   \
         Measuring 1\"W X 2\"L Wound Characteristic: Offensive wound odor Three Stage 3 pressure ulcers. Worst pressure ulcer with necrotic eschar."
    );
    assert_eq!(
        by_title("ALLERGIES AND ADVERSE REACTIONS"),
        "Substance | Reaction\nPenicillin | Nausea\nCodeine | Wheezing"
    );
    // the whole text holds every section, each under its title
    let text = m.document.text.clone().unwrap();
    for s in sections {
        if let (Some(t), Some(body)) = (&s.title, &s.text) {
            assert!(text.contains(&format!("{t}\n{body}")), "{t}");
        }
    }
}

#[test]
fn embedded_pdf_is_described_not_inlined() {
    icr_testkit::require_corpora!(CcdaExamples, CdaConverterSamples);
    let name = "Unstructured_CDA_with_Embedded_PDF_1_Unstructured_Document_embed.xml";
    let (doc, m) = read_file(name);
    assert_eq!(
        m.document.title.as_deref(),
        Some("Community Health and Hospitals: Discharge Summary")
    );
    assert_eq!(
        m.document.content,
        vec![
            cda_attachment(file(name).len()),
            Attachment {
                content_type: Some("application/pdf".into()),
                url: None,
                title: None,
                size: Some(173_792),
                inline_content_omitted: true,
            }
        ]
    );
    assert_eq!(m.document.text, None);
    assert!(matches!(doc.body, Body::NonXml(_)));

    // a body by reference: a relative reference is not a usable link
    let (_, m) = read_file("Unstructured_CDA_reference_PDF_Unstructured_Document_reference.xml");
    assert_eq!(
        m.document.content[1],
        Attachment::default(),
        "no type, size or inline content given"
    );
}

#[test]
fn plain_text_body_is_the_text() {
    icr_testkit::require_corpora!(CcdaExamples, CdaConverterSamples);
    let (_, m) = read_file(
        "Unstructured_CDA_with_Embedded_Text_plain_CDA_Embedded_Text_Plain_Surgical_Consult.xml",
    );
    assert_eq!(m.document.doc_type.label(), Some("Surgery Consult note"));
    assert_eq!(m.document.authors, ["Mostafa Balimood"]);
    assert_eq!(
        m.document.content[1],
        Attachment {
            content_type: Some("text/plain".into()),
            url: None,
            title: None,
            size: Some(686),
            inline_content_omitted: true,
        }
    );
    let text = m.document.text.clone().unwrap();
    assert!(text.starts_with("LOCAL TITLE: SURGICAL CONSULT\n\nDICT DATE: APR 20, 2020@17:03     ENTRY DATE: APR 20, 2020@17:04:16\n"), "{text}");
    assert!(
        text.ends_with("Electronically signed by Mostafa BALIMOOD 04/20/2020 17:07"),
        "{text}"
    );
}

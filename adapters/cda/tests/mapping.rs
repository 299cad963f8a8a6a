//! A hand-written NHS out-of-hours encounter report, mapped field by
//! field; the identity check; and what the reader refuses.

use icr_adapter_cda::cda::{Body, ReadLimits, Section as CdaSection, read};
use icr_adapter_cda::map::{
    Identity, IdentityProblem, Mapped, Origin, check_identity, map_document,
};
use icr_adapter_cda::registry::Listed;
use icr_adapter_cda::xml::{CDA_ROOT, XmlError};
use icr_model::*;

fn nhs(first_nine: u32) -> NhsNumber {
    NhsNumber::from_first_nine(first_nine).unwrap()
}

/// The patient of the report.
fn patient() -> NhsNumber {
    nhs(999_000_001)
}

/// An out-of-hours encounter report, as a UK system writes one.
fn report(record_target: &str, confidentiality: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:npfitlc="NPFIT:HL7:Localisation" xmlns:sdtc="urn:hl7-org:sdtc">
  <typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
  <npfitlc:messageType root="2.16.840.1.113883.2.1.3.2.4.18.17" extension="POCD_MT200001GB02"/>
  <id root="A7D3B2A4-6E0C-4C59-9F0B-2B5E0C1D2E3F"/>
  <code code="371531000" codeSystem="2.16.840.1.113883.2.1.3.2.4.15" displayName="Report of clinical encounter"/>
  <title>Out of hours encounter report</title>
  <effectiveTime value="20240315031500+0000"/>
  <confidentialityCode code="{confidentiality}" codeSystem="2.16.840.1.113883.1.11.16926"/>
  <setId root="5C1E0F3A-1111-4A2B-8C3D-4E5F6A7B8C9D"/>
  <versionNumber value="1"/>
  {record_target}
  <author typeCode="AUT">
    <time value="20240315031500+0000"/>
    <assignedAuthor classCode="ASSIGNED">
      <id root="1.2.826.0.1285.0.2.0.65" extension="G1234567"/>
      <assignedPerson>
        <name><prefix>Dr</prefix> <given>Amy</given> <family>Clarke</family></name>
      </assignedPerson>
      <representedOrganization>
        <id root="2.16.840.1.113883.2.1.3.2.4.19.1" extension="NLO"/>
        <name>Medvivo Out of Hours</name>
      </representedOrganization>
    </assignedAuthor>
  </author>
  <custodian typeCode="CST">
    <assignedCustodian classCode="ASSIGNED">
      <representedCustodianOrganization>
        <id root="2.16.840.1.113883.2.1.3.2.4.19.1" extension="NLO"/>
        <name>Medvivo</name>
      </representedCustodianOrganization>
    </assignedCustodian>
  </custodian>
  <componentOf typeCode="COMP">
    <encompassingEncounter>
      <id root="2.16.840.1.113883.2.1.3.2.4.18.24" extension="ENC-0042"/>
      <code code="HH" codeSystem="2.16.840.1.113883.5.4" displayName="home health"/>
      <effectiveTime>
        <low value="20240315020500+0000"/>
        <high value="20240315024000+0000"/>
      </effectiveTime>
      <responsibleParty>
        <assignedEntity>
          <assignedPerson><name>Dr Amy Clarke</name></assignedPerson>
        </assignedEntity>
      </responsibleParty>
      <encounterParticipant typeCode="ATND">
        <assignedEntity>
          <assignedPerson><name><given>Sam</given> <family>Patel</family> <suffix>RN</suffix></name></assignedPerson>
        </assignedEntity>
      </encounterParticipant>
      <location>
        <healthCareFacility>
          <code code="PTRES" codeSystem="2.16.840.1.113883.5.111" displayName="Patient's residence"/>
          <location><name>Patient's home</name></location>
        </healthCareFacility>
      </location>
    </encompassingEncounter>
  </componentOf>
  <component>
    <structuredBody>
      <component>
        <section>
          <code code="10154-3" codeSystem="2.16.840.1.113883.6.1" displayName="Chief complaint"/>
          <title>Presenting complaint</title>
          <text>Fever and cough for 3 days &amp; worse at night.<br/>Carer called 111.</text>
        </section>
      </component>
      <component>
        <section>
          <title>Examination</title>
          <text>
            <table>
              <thead><tr><th>Observation</th><th>Value</th></tr></thead>
              <tbody>
                <tr><td>Temperature</td><td>38.4 &#176;C</td></tr>
                <tr><td>Pulse</td><td>104 bpm</td></tr>
              </tbody>
            </table>
            <paragraph>Chest: <content styleCode="Bold">crackles</content> left base.<sdtc:note>hidden</sdtc:note></paragraph>
            <renderMultiMedia referencedObject="IMG1"/>
          </text>
          <component>
            <section>
              <title>Safety netting</title>
              <text><list><item>Call 999 if breathless</item><item>GP review in 48 hours</item></list></text>
            </section>
          </component>
        </section>
      </component>
      <component>
        <section>
          <code code="18776-5" codeSystem="2.16.840.1.113883.6.1" displayName="Plan of care"/>
          <title>Plan</title>
          <text><list listType="ordered"><item>Amoxicillin 500 mg three times a day for 5 days</item><item>Paracetamol as needed</item></list><script>alert('x')</script><linkHtml href="javascript:alert(1)">Leaflet</linkHtml></text>
        </section>
      </component>
    </structuredBody>
  </component>
</ClinicalDocument>"#
    )
}

fn record_target(ids: &str) -> String {
    format!(
        r#"<recordTarget typeCode="RCT"><patientRole classCode="PAT">{ids}
      <patient classCode="PSN"><name><given>Alex</given><family>Testperson</family></name><birthTime value="19800203"/></patient>
    </patientRole></recordTarget>"#
    )
}

fn nhs_id(number: &str) -> String {
    format!(r#"<id root="2.16.840.1.113883.2.1.4.1" extension="{number}"/>"#)
}

fn ours() -> String {
    record_target(&format!(
        r#"{}<id root="2.16.840.1.113883.2.1.3.2.4.18.24" extension="L-1"/>"#,
        nhs_id(patient().as_str())
    ))
}

fn d(s: &str) -> PartialDateTime {
    PartialDateTime::parse(s).unwrap()
}

fn map(xml: &str) -> Mapped {
    let doc = read(xml.as_bytes(), &ReadLimits::default()).unwrap();
    map_document(
        &doc,
        &Origin {
            url: "https://ooh.example.nhs.uk/fhir/Binary/7",
            size: Some(xml.len() as u64),
            listed: None,
        },
    )
}

#[test]
fn out_of_hours_report_field_by_field() {
    let xml = report(&ours(), "N");
    let doc = read(xml.as_bytes(), &ReadLimits::default()).unwrap();
    assert_eq!(doc.title.as_deref(), Some("Out of hours encounter report"));
    assert_eq!(doc.record_targets, 1);
    assert_eq!(
        doc.nhs_number_ids().collect::<Vec<_>>(),
        [patient().as_str()]
    );
    assert_eq!(
        doc.custodian.as_ref().and_then(|c| c.name.as_deref()),
        Some("Medvivo")
    );
    assert_eq!(
        doc.custodian
            .as_ref()
            .map(|c| c.ids[0].extension.as_deref()),
        Some(Some("NLO"))
    );
    let Body::Structured(sections) = &doc.body else {
        panic!()
    };
    assert_eq!(
        sections,
        &vec![
            CdaSection {
                code: Some(Concept::coded(Coding::new(
                    CodeSystem::Loinc,
                    "10154-3",
                    "Chief complaint"
                ))),
                title: Some("Presenting complaint".into()),
                text: Some("Fever and cough for 3 days & worse at night.\nCarer called 111.".into()),
                depth: 0,
            },
            CdaSection {
                code: None,
                title: Some("Examination".into()),
                text: Some(
                    "Observation | Value\nTemperature | 38.4 \u{b0}C\nPulse | 104 bpm\nChest: crackles left base."
                        .into()
                ),
                depth: 0,
            },
            CdaSection {
                code: None,
                title: Some("Safety netting".into()),
                text: Some("- Call 999 if breathless\n- GP review in 48 hours".into()),
                depth: 1,
            },
            CdaSection {
                code: Some(Concept::coded(Coding::new(
                    CodeSystem::Loinc,
                    "18776-5",
                    "Plan of care"
                ))),
                title: Some("Plan".into()),
                text: Some(
                    "1. Amoxicillin 500 mg three times a day for 5 days\n2. Paracetamol as needed\nLeaflet"
                        .into()
                ),
                depth: 0,
            },
        ]
    );

    let m = map(&xml);
    assert_eq!(
        m.document,
        Document {
            doc_type: Concept::coded(Coding::new(
                CodeSystem::Snomed,
                "371531000",
                "Report of clinical encounter"
            )),
            category: vec![],
            title: Some("Out of hours encounter report".into()),
            status: Some(DocumentStatus::Current),
            date: Some(d("2024-03-15T03:15:00Z")),
            authors: vec!["Dr Amy Clarke (Medvivo Out of Hours)".into()],
            content: vec![Attachment {
                content_type: Some("application/hl7-v3+xml".into()),
                url: Some("https://ooh.example.nhs.uk/fhir/Binary/7".into()),
                title: None,
                size: Some(xml.len() as u64),
                inline_content_omitted: false,
            }],
            // The text is checked below.
            text: m.document.text.clone(),
            care_plan: None,
        }
    );
    let act_code = |code: &str, display: &str| {
        Concept::coded(Coding::new(
            CodeSystem::Other("http://terminology.hl7.org/CodeSystem/v3-ActCode".into()),
            code,
            display,
        ))
    };
    assert_eq!(
        m.encounter,
        Some(Appointment {
            kind: Some(AppointmentKind::Encounter),
            status: Some(AppointmentStatus::Finished),
            class: Some(act_code("HH", "home health")),
            service_type: vec![],
            description: None,
            start: Some(d("2024-03-15T02:05:00Z")),
            end: Some(d("2024-03-15T02:40:00Z")),
            location: Some("Patient's home".into()),
            participants: vec!["Dr Amy Clarke".into(), "Sam Patel RN".into()],
            reasons: vec![],
        })
    );
    assert_eq!(
        m.document.text.as_deref(),
        Some(
            "Presenting complaint\n\
             Fever and cough for 3 days & worse at night.\n\
             Carer called 111.\n\
             \n\
             Examination\n\
             Observation | Value\n\
             Temperature | 38.4 \u{b0}C\n\
             Pulse | 104 bpm\n\
             Chest: crackles left base.\n\
             \n\
             Safety netting\n\
             - Call 999 if breathless\n\
             - GP review in 48 hours\n\
             \n\
             Plan\n\
             1. Amoxicillin 500 mg three times a day for 5 days\n\
             2. Paracetamol as needed\n\
             Leaflet"
        )
    );
}

#[test]
fn the_registry_fills_what_the_header_lacks() {
    let xml = r#"<ClinicalDocument xmlns="urn:hl7-org:v3"><code nullFlavor="UNK"/><effectiveTime nullFlavor="UNK"/></ClinicalDocument>"#;
    let doc = read(xml.as_bytes(), &ReadLimits::default()).unwrap();
    assert_eq!(doc.bad_dates, 0, "a nullFlavor is no date, not a bad one");
    let listed = Listed {
        id: Some("dr-1".into()),
        last_updated: None,
        url: url::Url::parse("https://ooh.example.nhs.uk/fhir/Binary/8").unwrap(),
        content_type: Some("text/xml".into()),
        size: Some(99),
        doc_type: Some(Concept::text("Letter")),
        date: Some(d("2024-01-02")),
        description: Some("Discharge letter".into()),
        vouched: true,
    };
    let m = map_document(
        &doc,
        &Origin {
            url: listed.url.as_str(),
            size: None,
            listed: Some(&listed),
        },
    );
    assert_eq!(
        m.document,
        Document {
            doc_type: Concept::text("Letter"),
            category: vec![],
            title: Some("Discharge letter".into()),
            status: Some(DocumentStatus::Current),
            date: Some(d("2024-01-02")),
            authors: vec![],
            content: vec![Attachment {
                content_type: Some("text/xml".into()),
                url: Some("https://ooh.example.nhs.uk/fhir/Binary/8".into()),
                title: None,
                size: Some(99),
                inline_content_omitted: false,
            }],
            text: None,
            care_plan: None,
        }
    );
    assert_eq!((m.document.text.clone(), m.encounter), (None, None));
}

#[test]
fn identity_is_checked() {
    let check = |target: &str, vouched: bool| {
        let xml = report(target, "N");
        let doc = read(xml.as_bytes(), &ReadLimits::default()).unwrap();
        check_identity(&doc, patient(), vouched)
    };
    assert_eq!(check(&ours(), false), Ok(Identity::Confirmed));
    assert_eq!(check(&ours(), true), Ok(Identity::Confirmed));
    // written with spaces, as people do
    let spaced = patient().formatted();
    assert_eq!(
        check(&record_target(&nhs_id(&spaced)), false),
        Ok(Identity::Confirmed)
    );
    let someone_else = record_target(&nhs_id(nhs(999_000_002).as_str()));
    assert_eq!(
        check(&someone_else, true),
        Err(IdentityProblem::OtherPatient)
    );
    // ours and someone else's in one record target
    let both = record_target(&format!(
        "{}{}",
        nhs_id(patient().as_str()),
        nhs_id(nhs(999_000_002).as_str())
    ));
    assert_eq!(check(&both, true), Err(IdentityProblem::OtherPatient));
    assert_eq!(
        check(&record_target(&nhs_id("9990000019")), true),
        Err(IdentityProblem::InvalidNhsNumber)
    );
    assert_eq!(
        check(&format!("{}{}", ours(), ours()), true),
        Err(IdentityProblem::SeveralPatients)
    );
    // no NHS number: only a local id, or an NHS number withheld
    let local_only =
        record_target(r#"<id root="2.16.840.1.113883.2.1.3.2.4.18.24" extension="L-1"/>"#);
    assert_eq!(check(&local_only, true), Ok(Identity::Vouched));
    assert_eq!(check(&local_only, false), Err(IdentityProblem::Unconfirmed));
    let null = record_target(r#"<id root="2.16.840.1.113883.2.1.4.1" nullFlavor="MSK"/>"#);
    assert_eq!(check(&null, false), Err(IdentityProblem::Unconfirmed));
    assert_eq!(check("", false), Err(IdentityProblem::Unconfirmed));
    // messages name the problem, never the numbers
    for p in [
        IdentityProblem::OtherPatient,
        IdentityProblem::InvalidNhsNumber,
        IdentityProblem::SeveralPatients,
        IdentityProblem::Unconfirmed,
    ] {
        assert!(!p.to_string().chars().any(|c| c.is_ascii_digit()), "{p}");
    }
}

#[test]
fn restricted_documents_are_recognised() {
    for (code, restricted) in [
        ("N", false),
        ("L", false),
        ("R", true),
        ("V", true),
        ("X-UNKNOWN", true),
    ] {
        let xml = report(&ours(), code);
        let doc = read(xml.as_bytes(), &ReadLimits::default()).unwrap();
        assert_eq!(doc.is_restricted(), restricted, "{code}");
    }
}

#[test]
fn what_the_reader_refuses() {
    let limits = ReadLimits::default();
    let refuse = |xml: &str| read(xml.as_bytes(), &limits).unwrap_err();
    // a billion laughs never gets as far as an entity
    let lol = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><ClinicalDocument xmlns="urn:hl7-org:v3"><title>&lol2;</title></ClinicalDocument>"#;
    assert_eq!(refuse(lol), XmlError::Doctype);
    let xxe = r#"<!DOCTYPE ClinicalDocument [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><ClinicalDocument xmlns="urn:hl7-org:v3"><title>&xxe;</title></ClinicalDocument>"#;
    assert_eq!(refuse(xxe), XmlError::Doctype);
    assert_eq!(
        refuse(
            r#"<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&xxe;</title></ClinicalDocument>"#
        ),
        XmlError::UnknownEntity { at: 48 }
    );
    assert_eq!(
        refuse("{\"resourceType\": \"Bundle\"}"),
        XmlError::OutsideRoot { at: 0 }
    );
    assert_eq!(
        refuse("<html><body>Not found</body></html>"),
        XmlError::WrongRoot { expected: CDA_ROOT }
    );
    let whole = report(&ours(), "N");
    let cut = whole.find("<component>").unwrap();
    assert_eq!(refuse(&whole[..cut]), XmlError::Truncated);
    // cut inside a tag
    assert_eq!(refuse(&whole[..cut + 5]), XmlError::Truncated);
    assert!(matches!(
        refuse(&format!("{}</x>", &whole[..cut])),
        XmlError::Syntax {
            what: "an end tag that does not match its start tag",
            ..
        }
    ));
    let deep = format!(
        "<ClinicalDocument xmlns=\"urn:hl7-org:v3\">{}{}</ClinicalDocument>",
        "<x>".repeat(500),
        "</x>".repeat(500)
    );
    assert_eq!(refuse(&deep), XmlError::TooDeep { limit: 128 });
    let wide = format!(
        "<ClinicalDocument xmlns=\"urn:hl7-org:v3\">{}</ClinicalDocument>",
        "<x/>".repeat(250_001)
    );
    assert_eq!(refuse(&wide), XmlError::TooManyElements { limit: 250_000 });
}

#[test]
fn text_is_bounded() {
    let long = "word ".repeat(50_000);
    let xml = format!(
        r#"<ClinicalDocument xmlns="urn:hl7-org:v3"><component><structuredBody>
        <component><section><title>One</title><text>{long}</text></section></component>
        <component><section><title>Two</title><text>after</text></section></component>
        </structuredBody></component></ClinicalDocument>"#
    );
    let limits = ReadLimits {
        max_text_chars: 1_000,
        ..ReadLimits::default()
    };
    let doc = read(xml.as_bytes(), &limits).unwrap();
    assert!(doc.text_truncated);
    let text = doc.text.unwrap();
    assert_eq!(text.chars().count(), 1_000);
    assert!(text.starts_with("One\nword word"));
    assert!(!text.contains("Two"));

    let many: String = (0..300)
        .map(|i| {
            format!("<component><section><title>S{i}</title><text>t</text></section></component>")
        })
        .collect();
    let xml = format!(
        r#"<ClinicalDocument xmlns="urn:hl7-org:v3"><component><structuredBody>{many}</structuredBody></component></ClinicalDocument>"#
    );
    let doc = read(xml.as_bytes(), &ReadLimits::default()).unwrap();
    let Body::Structured(s) = &doc.body else {
        panic!()
    };
    assert_eq!((s.len(), doc.sections_skipped), (200, 100));
}

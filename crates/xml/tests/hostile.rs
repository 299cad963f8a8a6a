//! What the reader refuses, and what it reads: the hostile inputs the SOAP
//! and CDA readers were tested with before they became this one reader.

use icr_xml::{Content, Element, Limits, Namespace, Root, XmlError, parse, parse_rooted};

/// Namespaces as the two formats tell them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ns {
    None,
    Soap11,
    PersonSummary,
    Cda,
    Other,
}

impl Namespace for Ns {
    fn of_uri(uri: &str) -> Self {
        match uri {
            "" => Ns::None,
            "http://schemas.xmlsoap.org/soap/envelope/" => Ns::Soap11,
            "urn:icr:socialcare:personsummary:1" => Ns::PersonSummary,
            "urn:hl7-org:v3" => Ns::Cda,
            _ => Ns::Other,
        }
    }

    const MIXED_CONTENT: bool = true;
}

fn p(s: &str) -> Result<Element<Ns>, XmlError> {
    parse(s.as_bytes(), &Limits::default())
}

#[test]
fn resolves_prefixes_and_default_namespaces() {
    let doc = p(r#"<?xml version="1.0" encoding="UTF-8"?>
<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/">
  <e:Body><R xmlns="urn:icr:socialcare:personsummary:1" a="1"><x:Y xmlns:x="urn:other"/></R></e:Body>
</e:Envelope>"#)
    .unwrap();
    assert!(doc.is(Ns::Soap11, "Envelope"));
    let body = doc.child(Ns::Soap11, "Body").unwrap();
    let r = body.child(Ns::PersonSummary, "R").unwrap();
    assert_eq!(r.attribute("a"), Some("1"));
    assert_eq!(r.children[0].ns, Ns::Other);
    assert_eq!(r.prefixes, vec![("".into(), Ns::PersonSummary)]);
    assert_eq!(doc.text, "");
}

#[test]
fn text_entities_cdata_and_char_refs() {
    let doc = p("<a>x &amp; y &lt;&gt;&quot;&apos; &#65;&#x42; <![CDATA[<b>&amp;</b>]]>\r\nz</a>")
        .unwrap();
    assert_eq!(doc.text, "x & y <>\"' AB <b>&amp;</b>\nz");
    let doc = p(r#"<a v="1 &amp; &#50;&#x33;&lt;"/>"#).unwrap();
    assert_eq!(doc.attribute("v"), Some("1 & 23<"));
}

#[test]
fn reads_a_cda_document_with_foreign_parts_and_prefixed_attributes() {
    let doc = p(r#"<?xml version="1.0" encoding="UTF-8"?>
        <?xml-stylesheet type="text/xsl" href="CDA.xsl"?>
        <!-- a comment -->
        <ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:sdtc="urn:hl7-org:sdtc" xmlns:x="urn:other">
          <title>A &amp; B &#x2013; C&#160;<![CDATA[<D>]]></title>
          <code code="1" sdtc:valueSet="x" displayName="a &lt; b"/>
          <sdtc:raceCode code="2"><title>hidden</title></sdtc:raceCode>
          <x:thing>gone</x:thing>
        </ClinicalDocument>"#)
    .unwrap();
    assert!(doc.is(Ns::Cda, "ClinicalDocument"));
    let names: Vec<(Ns, &str)> = doc.children.iter().map(|e| (e.ns, &*e.name)).collect();
    assert_eq!(
        names,
        [
            (Ns::Cda, "title"),
            (Ns::Cda, "code"),
            (Ns::Other, "raceCode"),
            (Ns::Other, "thing")
        ]
    );
    assert_eq!(doc.children[0].text, "A & B \u{2013} C\u{a0}<D>");
    let code = &doc.children[1];
    assert_eq!(code.attr("code"), Some("1"));
    assert_eq!(code.attr("valueSet"), None, "prefixed attributes are apart");
    assert_eq!(code.attributes[1].ns, Some(Ns::Other));
    assert_eq!(code.attr("displayName"), Some("a < b"));
    // the mixed content keeps the layout between the children
    let runs = doc
        .content()
        .filter(|c| matches!(c, Content::Text(_)))
        .count();
    assert_eq!(runs, 5);
}

#[test]
fn refuses_what_a_hostile_source_could_send() {
    let cases: &[(&str, XmlError)] = &[
        ("", XmlError::Empty),
        ("<!-- only -->", XmlError::Empty),
        ("  <!-- c -->  ", XmlError::Empty),
        (
            "<!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><a>&x;</a>",
            XmlError::Doctype,
        ),
        (
            "<!DOCTYPE x [<!ENTITY a \"b\">]><ClinicalDocument/>",
            XmlError::Doctype,
        ),
        ("<a>&nbsp;</a>", XmlError::UnknownEntity { at: 3 }),
        (
            "<ClinicalDocument>&lol;</ClinicalDocument>",
            XmlError::UnknownEntity { at: 18 },
        ),
        ("<a>&#0;</a>", XmlError::BadCharRef { at: 3 }),
        ("<a>\u{1}</a>", XmlError::IllegalChar { at: 3 }),
        ("<a v=\"&#1;\"/>", XmlError::IllegalChar { at: 0 }),
        (
            "<a><b></a>",
            XmlError::Syntax {
                at: 6,
                what: "an end tag that does not match its start tag",
            },
        ),
        ("<a><b>", XmlError::Truncated),
        ("<ClinicalDocument><title>", XmlError::Truncated),
        ("<a><b x=\"1", XmlError::Truncated),
        ("<a/><b/>", XmlError::OutsideRoot { at: 4 }),
        (
            "<ClinicalDocument/><ClinicalDocument/>",
            XmlError::OutsideRoot { at: 19 },
        ),
        ("<a/>text", XmlError::OutsideRoot { at: 4 }),
        ("text<a/>", XmlError::OutsideRoot { at: 0 }),
        ("<p:a/>", XmlError::UndeclaredPrefix { at: 0 }),
        ("<a p:v=\"1\"/>", XmlError::UndeclaredPrefix { at: 0 }),
        (
            "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a/>",
            XmlError::Encoding,
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(p(input).as_ref().err(), Some(expected), "{input:?}");
    }
    assert!(matches!(
        p("<a x=\"1\" x=\"2\"/>"),
        Err(XmlError::Syntax { .. })
    ));
    assert_eq!(
        parse::<Ns>(&[0xFF, 0xFE, b'<', 0], &Limits::default()),
        Err(XmlError::Encoding)
    );
    assert_eq!(
        parse::<Ns>(b"<a>\xC3(</a>", &Limits::default()),
        Err(XmlError::NotUtf8 { at: 3 })
    );
    assert_eq!(
        parse::<Ns>(
            b"<ClinicalDocument>\xff</ClinicalDocument>",
            &Limits::default()
        ),
        Err(XmlError::NotUtf8 { at: 18 })
    );
    // a byte-order mark is not content
    assert!(parse::<Ns>(b"\xEF\xBB\xBF<a/>", &Limits::default()).is_ok());
}

#[test]
fn the_root_a_format_requires_is_checked() {
    let root = Root {
        ns: Ns::Cda,
        name: "ClinicalDocument",
        what: "CDA ClinicalDocument",
    };
    let rooted = |s: &str| parse_rooted(s.as_bytes(), &Limits::default(), root);
    let wrong = XmlError::WrongRoot {
        expected: "CDA ClinicalDocument",
    };
    assert_eq!(
        rooted("<Other xmlns=\"urn:hl7-org:v3\"/>"),
        Err(wrong.clone())
    );
    assert_eq!(
        rooted("<ClinicalDocument xmlns=\"urn:other\"/>"),
        Err(wrong.clone())
    );
    // checked at the root's start tag, before the rest is read
    assert_eq!(
        rooted("<Other xmlns=\"urn:hl7-org:v3\"><a></b>"),
        Err(wrong)
    );
    assert!(rooted("<ClinicalDocument xmlns=\"urn:hl7-org:v3\"/>").is_ok());
    assert_eq!(
        wrong_message(),
        "the root element is not a CDA ClinicalDocument"
    );
}

fn wrong_message() -> String {
    XmlError::WrongRoot {
        expected: "CDA ClinicalDocument",
    }
    .to_string()
}

#[test]
fn limits_hold() {
    let limits = Limits {
        max_depth: 3,
        max_elements: 5,
        max_attributes: 2,
        max_text_bytes: 8,
    };
    let parse = |s: &str| parse::<Ns>(s.as_bytes(), &limits);
    assert_eq!(
        parse("<a><b><c><d/></c></b></a>"),
        Err(XmlError::TooDeep { limit: 3 })
    );
    // elements in other namespaces count towards depth and number too
    assert_eq!(
        parse("<a xmlns:x=\"u\"><x:b><x:c><x:d/></x:c></x:b></a>"),
        Err(XmlError::TooDeep { limit: 3 })
    );
    assert_eq!(
        parse("<a><b/><b/><b/><b/><b/></a>"),
        Err(XmlError::TooManyElements { limit: 5 })
    );
    assert_eq!(
        parse("<a xmlns:x=\"u\"><x:b/><x:b/><x:b/><x:b/><x:b/></a>"),
        Err(XmlError::TooManyElements { limit: 5 })
    );
    assert_eq!(
        parse("<a x=\"1\" y=\"2\" z=\"3\"/>"),
        Err(XmlError::TooManyAttributes { limit: 2 })
    );
    assert_eq!(
        parse("<a>123456789</a>"),
        Err(XmlError::TextTooLong { limit: 8 })
    );
    assert_eq!(
        parse("<a>1234<b/>56789</a>"),
        Err(XmlError::TextTooLong { limit: 8 })
    );
    assert_eq!(
        parse("<a v=\"123456789\"/>"),
        Err(XmlError::TextTooLong { limit: 8 })
    );
    assert_eq!(
        parse("<a>         <b/></a>"),
        Err(XmlError::TextTooLong { limit: 8 })
    );
    // whitespace between children does not count against the text limit
    assert!(parse("<a>\n    <b/>\n    <b/>\n    <b/>\n</a>").is_ok());
}

#[test]
fn messages_carry_no_content() {
    let err = p("<ClinicalDocument><Smith></Jones></ClinicalDocument>").unwrap_err();
    let msg = err.to_string();
    assert!(!msg.contains("Smith") && !msg.contains("Jones"), "{msg}");
    let err = p("<a>&Smith;</a>").unwrap_err().to_string();
    assert!(!err.contains("Smith"), "{err}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

    /// The fuzzing entry point on random bytes and on mangled documents,
    /// so CI exercises it without a fuzzer.
    #[test]
    fn never_panics_on_any_bytes(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
        icr_xml::fuzz_parse(&data);
    }

    #[test]
    fn never_panics_on_mangled_documents(cut in 0usize..200, byte in proptest::prelude::any::<u8>()) {
        let doc = br#"<?xml version="1.0"?><e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body a="&amp;"><R xmlns="urn:x">t &#65; <![CDATA[c]]><x:Y xmlns:x="urn:y"/></R></e:Body></e:Envelope>"#;
        let mut data = doc.to_vec();
        let at = cut % data.len();
        data[at] = byte;
        icr_xml::fuzz_parse(&data);
        icr_xml::fuzz_parse(&doc[..at]);
    }
}

//! The whole shared HL7 v2 corpus (139 messages, v2.3 to v2.8, `\n`
//! separators, some with a byte-order mark) tokenizes; representative
//! messages are read field by field; every message survives the
//! write → parse round trip of the fuzzing entry point.

use std::collections::BTreeMap;

use icr_hl7v2::{Limits, Message, leaves, write};

fn corpus() -> Vec<(String, Vec<u8>)> {
    icr_testkit::corpus_files("hl7v2", "hl7")
}

fn message(name: &str) -> Message {
    let (_, bytes) = corpus()
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("{name} is not in the corpus"));
    Message::parse(&bytes, &Limits::default()).unwrap()
}

#[test]
fn every_message_tokenizes() {
    icr_testkit::require_corpora!(Hl7v2);
    let files = corpus();
    assert_eq!(files.len(), 139, "the corpus has 139 messages");
    let mut versions: BTreeMap<String, usize> = BTreeMap::new();
    let mut types: BTreeMap<String, usize> = BTreeMap::new();
    let (mut segments, mut fields, mut boms, mut lf_only) = (0, 0, 0, 0);
    for (name, bytes) in &files {
        let m = Message::parse(bytes, &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(m.msh().id(), "MSH", "{name}");
        assert_eq!(m.msh().field(1).text(), "|", "{name}");
        assert_eq!(m.msh().field(2).text(), "^~\\&", "{name}");
        *versions.entry(m.version().into_owned()).or_default() += 1;
        *types.entry(m.message_type()[0].to_string()).or_default() += 1;
        segments += m.len();
        fields += m.segments().map(|s| s.field_count()).sum::<usize>();
        boms += usize::from(bytes.starts_with(b"\xEF\xBB\xBF"));
        lf_only += usize::from(!bytes.contains(&b'\r'));
        // every leaf decodes
        for s in m.segments() {
            assert_eq!(s.id().len(), 3, "{name}");
            for f in s.fields() {
                for r in f.repetitions() {
                    for c in r.components() {
                        for x in c.subcomponents() {
                            let _ = x.text();
                        }
                    }
                }
            }
        }
    }
    let v: Vec<(&str, usize)> = versions.iter().map(|(k, n)| (k.as_str(), *n)).collect();
    assert_eq!(
        v,
        [
            ("2.3", 6),
            ("2.3.1", 3),
            ("2.4", 1),
            ("2.5", 2),
            ("2.5.1", 7),
            ("2.6", 8),
            ("2.8", 112)
        ]
    );
    assert_eq!(types.get("ORU"), Some(&5));
    assert_eq!(types.get("MDM"), Some(&13));
    assert_eq!(types.get("ADT"), Some(&59));
    assert_eq!(boms, 27, "messages starting with a byte-order mark");
    assert_eq!(
        lf_only, 139,
        "every corpus message separates segments with \\n"
    );
    assert_eq!(segments, SEGMENTS);
    assert_eq!(fields, FIELDS);
}

/// Segments and fields in the whole corpus, as counted from the files with
/// awk (`-F'|'`, one non-blank line a segment): a change in either means
/// the tokenizer split differently.
const SEGMENTS: usize = 2252;
const FIELDS: usize = 47850;

#[test]
fn lab_panel_read_field_by_field() {
    icr_testkit::require_corpora!(Hl7v2);
    let m = message("LRI_2.0-NG_CBC_Typ_Message.hl7");
    assert_eq!(m.message_type(), ["ORU", "R01", "ORU_R01"]);
    assert_eq!(m.version(), "2.5.1");
    let obr = m.segment("OBR").unwrap();
    assert_eq!(obr.field(4).component(1).text(), "57021-8");
    assert_eq!(obr.field(4).component(3).text(), "LN");
    assert_eq!(obr.field(7).text(), "20110103143428-0800");
    assert_eq!(obr.field(25).text(), "F");
    let obx: Vec<_> = m.segments().filter(|s| s.id() == "OBX").collect();
    assert_eq!(obx.len(), 28);
    let hb = obx[1];
    assert_eq!(hb.field(2).text(), "NM");
    assert_eq!(hb.field(3).component(1).text(), "718-7");
    assert_eq!(
        hb.field(3).component(2).text(),
        "Hemoglobin [Mass/volume] in Blood"
    );
    assert_eq!(hb.field(5).text(), "12.5");
    assert_eq!(hb.field(6).component(1).text(), "g/mL");
    assert_eq!(hb.field(6).component(3).text(), "UCUM");
    assert_eq!(hb.field(7).text(), "13 to 18");
    assert_eq!(hb.field(8).text(), "L");
    assert_eq!(hb.field(11).text(), "F");
    assert_eq!(hb.field(14).text(), "20110103143428-0800");
    let coded = obx[19];
    assert_eq!(coded.field(2).text(), "CWE");
    assert_eq!(coded.field(5).component(1).text(), "260348001");
    assert_eq!(coded.field(5).component(3).text(), "SCT");
    assert_eq!(coded.field(5).component(9).text(), "Moderate Anisocytosis");
}

#[test]
fn escapes_in_corpus_text() {
    icr_testkit::require_corpora!(Hl7v2);
    let m = message("ORU-R01-01.hl7");
    let nte = m.segment("NTE").unwrap();
    assert_eq!(
        nte.field(3).text(),
        "Enteric culture includes testing for Salmonella, Shigella, Campylobacter, \
         Yersinia, E.coli O157:H7 & other STECs, and Aeromonas"
    );
    assert!(nte.field(3).raw().contains("\\T\\"));
    let pv1 = m.segment("PV1").unwrap();
    assert_eq!(
        pv1.field(14).text(),
        "NHS Provider-General (inc.A&E-this Hosp)"
    );
    // a subcomponent: OBR-9 "150^lb&lb&ANSI+"
    let obr = m.segment("OBR").unwrap();
    assert_eq!(obr.field(9).component(2).subcomponent(3).text(), "ANSI+");
}

#[test]
fn bom_and_newline_separated_messages() {
    icr_testkit::require_corpora!(Hl7v2);
    let m = message("LAB-ORU-1.hl7");
    assert_eq!(m.msh().field(3).text(), "SomeSystem");
    let ids: Vec<&str> = m.segments().map(|s| s.id()).collect();
    assert_eq!(
        ids,
        [
            "MSH", "PID", "OBR", "OBX", "OBX", "OBX", "OBX", "OBX", "SPM", "OBR", "OBX", "OBX",
            "OBX", "OBX", "OBX", "SPM"
        ]
    );
    let obx = m.segments().nth(4).unwrap();
    assert_eq!(obx.field(5).text(), "4.06");
    assert_eq!(obx.field(6).text(), "tera.l-1");
    assert_eq!(obx.field(14).text(), "20141006062700+0700");
}

#[test]
fn every_message_round_trips_through_the_writer() {
    icr_testkit::require_corpora!(Hl7v2);
    for (name, bytes) in corpus() {
        let m = Message::parse(&bytes, &Limits::default()).unwrap();
        let tree = leaves(&m);
        let again = Message::parse(write(m.delimiters(), &tree).as_bytes(), &Limits::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(leaves(&again), tree, "{name}");
        icr_hl7v2::fuzz_message(&bytes);
    }
}

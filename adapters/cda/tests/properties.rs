//! Properties: the reader and the fuzzing entry points never panic,
//! whatever they are given; narrative text keeps every word, in order,
//! with no markup, within its budget.

use std::sync::LazyLock;

use icr_adapter_cda::cda::{ReadLimits, read};
use icr_adapter_cda::{fuzz_document, fuzz_registry};
use proptest::prelude::*;
use proptest::sample::select;

static CORPUS: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
    let mut files = icr_testkit::corpus_files("cda/ccda-examples", "xml");
    files.extend(icr_testkit::corpus_files("cda/converter-samples", "ccda"));
    assert_eq!(files.len(), 51);
    // the small ones, to keep each case fast
    files
        .into_iter()
        .map(|(_, b)| b)
        .filter(|b| b.len() < 100_000)
        .collect()
});

/// One edit to a file: flip, insert or delete bytes, or cut it short.
#[derive(Clone, Debug)]
enum Edit {
    Set(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Truncate(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let interesting = select(vec![
        b"<".to_vec(),
        b">".to_vec(),
        b"&".to_vec(),
        b"&#x0;".to_vec(),
        b"&#xD800;".to_vec(),
        b"&unknown;".to_vec(),
        b"<!DOCTYPE x>".to_vec(),
        b"<![CDATA[".to_vec(),
        b"]]>".to_vec(),
        b"</section>".to_vec(),
        b"<section>".to_vec(),
        b"<text><list><item>".to_vec(),
        b"<td>".to_vec(),
        b"xmlns=\"urn:other\"".to_vec(),
        b"\xff\xfe".to_vec(),
        b"\"".to_vec(),
    ]);
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        (any::<usize>(), interesting).prop_map(|(i, s)| Edit::Insert(i, s)),
        (any::<usize>(), 1usize..64).prop_map(|(i, n)| Edit::Delete(i, n)),
        any::<usize>().prop_map(Edit::Truncate),
    ]
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        if bytes.is_empty() {
            break;
        }
        let len = bytes.len();
        match e {
            Edit::Set(i, b) => bytes[i % len] = *b,
            Edit::Insert(i, s) => {
                let at = i % len;
                bytes.splice(at..at, s.iter().copied());
            }
            Edit::Delete(i, n) => {
                let at = i % len;
                let end = (at + n).min(len);
                bytes.drain(at..end);
            }
            Edit::Truncate(i) => bytes.truncate(i % len),
        }
    }
    bytes
}

/// A word with no markup or whitespace in it.
fn word() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9.,'%()-]{0,9}"
}

/// A narrative fragment holding `words`, wrapped in random markup, and the
/// words in the order they appear.
fn narrative() -> impl Strategy<Value = (String, Vec<String>)> {
    let leaf = proptest::collection::vec(word(), 1..4).prop_map(|w| {
        let xml = w.join(" ");
        (xml, w)
    });
    leaf.prop_recursive(5, 64, 4, |inner| {
        let wrap = select(vec![
            ("<paragraph>", "</paragraph>"),
            ("<content styleCode=\"Bold\">", "</content>"),
            ("<list><item>", "</item></list>"),
            (
                "<list listType=\"ordered\"><item>",
                "</item><item>x</item></list>",
            ),
            (
                "<table><tbody><tr><td>",
                "</td><td>y</td></tr></tbody></table>",
            ),
            ("<caption>", "</caption>"),
            ("<sub>", "</sub>"),
            ("<linkHtml href=\"#a\">", "</linkHtml>"),
            ("", "<br/>"),
        ]);
        (proptest::collection::vec(inner, 1..4), wrap).prop_map(|(parts, (open, close))| {
            let mut xml = String::from(open);
            let mut words = Vec::new();
            for (i, (x, w)) in parts.into_iter().enumerate() {
                if i > 0 {
                    xml.push(' ');
                }
                xml.push_str(&x);
                words.extend(w);
            }
            xml.push_str(close);
            if close.contains("<item>x</item>") {
                words.push("x".into());
            }
            if close.contains("<td>y</td>") {
                words.push("y".into());
            }
            (xml, words)
        })
    })
}

fn document(narrative: &str) -> String {
    format!(
        "<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><component><structuredBody><component><section>\
         <title>T</title><text>{narrative}</text></section></component></structuredBody></component></ClinicalDocument>"
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = read(&data, &ReadLimits::default());
        fuzz_document(&data);
        fuzz_registry(&data);
    }

    #[test]
    fn arbitrary_text_in_a_document_never_panics(s in "\\PC{0,200}") {
        let _ = read(document(&s).as_bytes(), &ReadLimits::default());
        fuzz_registry(s.as_bytes());
    }

    #[test]
    fn mutated_corpus_files_never_panic(
        index in any::<prop::sample::Index>(),
        edits in proptest::collection::vec(edit(), 1..8),
    ) {
        icr_testkit::require_corpora!(CcdaExamples, CdaConverterSamples; return Ok(()));
        let original = index.get(&CORPUS).clone();
        let mutated = apply(original, &edits);
        if let Ok(doc) = read(&mutated, &ReadLimits::default()) {
            let text = doc.text.unwrap_or_default();
            prop_assert!(text.chars().count() <= ReadLimits::default().max_text_chars);
            prop_assert!(!text.chars().any(|c| c.is_control() && c != '\n'));
        }
        fuzz_document(&mutated);
    }

    #[test]
    fn narrative_keeps_every_word_in_order((xml, words) in narrative()) {
        let doc = read(document(&xml).as_bytes(), &ReadLimits::default()).unwrap();
        let text = doc.text.unwrap();
        prop_assert!(text.starts_with("T\n"), "{}", text);
        // every word appears, in order (bullets, numbers and cell
        // separators may sit between)
        let mut at = 2;
        for w in &words {
            let found = text[at..].find(w.as_str());
            prop_assert!(found.is_some(), "{w} missing from {text:?} (xml {xml})");
            at += found.unwrap_or(0) + w.len();
        }
        prop_assert!(!text.contains('<') && !text.contains('>'), "{}", text);
    }

    #[test]
    fn text_respects_any_budget(
        (xml, _) in narrative(),
        budget in 1_000usize..1_200,
        repeat in 1usize..40,
    ) {
        let xml = document(&xml.repeat(repeat));
        let full = read(xml.as_bytes(), &ReadLimits { max_text_chars: 1_000_000, ..ReadLimits::default() })
            .unwrap()
            .text
            .unwrap_or_default();
        let limits = ReadLimits { max_text_chars: budget, ..ReadLimits::default() };
        let doc = read(xml.as_bytes(), &limits).unwrap();
        let text = doc.text.unwrap_or_default();
        let n = text.chars().count();
        prop_assert!(n <= budget, "{n} > {budget}");
        if full.chars().count() <= budget {
            prop_assert!(!doc.text_truncated);
            prop_assert_eq!(text, full);
        } else {
            prop_assert!(doc.text_truncated);
            prop_assert!(full.starts_with(text.trim_end()), "{text:?} is not a prefix");
        }
    }

    #[test]
    fn escaped_text_comes_back_decoded(s in "[ -~]{1,60}") {
        let escaped = s
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        let doc = read(document(&format!("<paragraph>{escaped}</paragraph>")).as_bytes(), &ReadLimits::default()).unwrap();
        let collapsed: Vec<&str> = s.split_whitespace().collect();
        let expected = format!("T\n{}", collapsed.join(" "));
        let text = doc.text.unwrap_or_else(|| "T".into());
        prop_assert_eq!(text.trim_end(), expected.trim_end());
    }
}

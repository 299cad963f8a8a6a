//! `tools/corpora/MANIFEST.sha256` is what `tools/corpora/fetch.sh` checks
//! every fetched file against. It must describe the corpora the tests read,
//! file for file and byte for byte, so that it cannot drift from them: every
//! file it lists is in the corpora folder with that SHA-256, and every file
//! in the corpora folder (but its README) is listed.

use std::collections::BTreeMap;
use std::path::Path;

use sha2::{Digest, Sha256};

/// The manifest: path relative to the corpora folder → SHA-256 (hex).
fn manifest() -> BTreeMap<String, String> {
    let path = icr_testkit::corpora::workspace().join("tools/corpora/MANIFEST.sha256");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut entries = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let (hash, file) = line
            .split_once("  ")
            .unwrap_or_else(|| panic!("line {}: not `HASH  PATH`: {line:?}", n + 1));
        assert!(
            hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
            "line {}: not a SHA-256: {hash:?}",
            n + 1
        );
        let before = entries.insert(file.to_owned(), hash.to_ascii_lowercase());
        assert!(before.is_none(), "line {}: {file} listed twice", n + 1);
    }
    entries
}

/// Every file under `dir`, as paths relative to `root` with `/`, skipping
/// hidden files and folders (the fetch script's cache).
fn files_under(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        {
            continue;
        }
        if path.is_dir() {
            files_under(root, &path, out);
        } else {
            let relative = path.strip_prefix(root).unwrap();
            let parts: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push(parts.join("/"));
        }
    }
}

#[test]
fn the_manifest_names_every_corpus_file_with_its_hash() {
    if !icr_testkit::corpora_present_or_skip(&icr_testkit::Corpus::ALL) {
        return;
    }
    let root = icr_testkit::corpora();
    let manifest = manifest();

    let mut wrong = Vec::new();
    for (file, expected) in &manifest {
        match std::fs::read(root.join(file)) {
            Ok(bytes) => {
                let actual = hex::encode(Sha256::digest(&bytes));
                if &actual != expected {
                    wrong.push(format!("{file}: manifest {expected}, corpora {actual}"));
                }
            }
            Err(e) => wrong.push(format!(
                "{file}: listed but not readable in the corpora: {e}"
            )),
        }
    }

    let mut present = Vec::new();
    files_under(&root, &root, &mut present);
    for file in present {
        if file != "README.md" && !manifest.contains_key(&file) {
            wrong.push(format!("{file}: in the corpora but not in the manifest"));
        }
    }

    assert!(
        wrong.is_empty(),
        "tools/corpora/MANIFEST.sha256 does not match {}:\n{}",
        root.display(),
        wrong.join("\n")
    );
}

#[test]
fn the_manifest_covers_every_corpus_the_tests_name() {
    let manifest = manifest();
    for corpus in icr_testkit::Corpus::ALL {
        let path = corpus.relative_path();
        let listed = manifest
            .keys()
            .filter(|f| *f == path || f.starts_with(&format!("{path}/")))
            .count();
        assert!(listed > 0, "no file of {path} is in the manifest");
    }
}

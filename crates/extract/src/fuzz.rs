//! The bodies of the fuzzing entry points ([`crate::fuzz_list`],
//! [`crate::fuzz_config`], [`crate::fuzz_area_lookup`],
//! [`crate::fuzz_checkpoint`], [`crate::fuzz_manifest`]): the readers of
//! what the extract is given from outside, run on bytes with no I/O, and
//! the properties every input must keep. A broken property panics, for
//! the fuzzer.

use std::collections::BTreeSet;
use std::io::Cursor;
use std::path::Path;
use std::sync::LazyLock;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::{
    MAX_CHECKPOINT_EVERY, MAX_PEOPLE_IN_PARALLEL, Parsed, parse_lookup, spec_hash,
};
use crate::job::{Checkpoint, Identity, parse_checkpoint};
use crate::lists::{LineFormat, MAX_LINE_BYTES, read_from};
use crate::manifest::{Manifest, merge_manifests};
use crate::run::mask_numbers;

/// People in the shard of the fuzzed checkpoints.
const IN_SHARD: u64 = 100;

/// The identity the fuzzed checkpoints are held to.
static IDENTITY: LazyLock<Identity> = LazyLock::new(|| {
    let h = "a".repeat(64);
    let id = serde_json::json!({
        "run_id": "phm-2026-12", "date": "2026-12-01", "purpose": "population-health",
        "spec_hash": h, "key_id": "ece6b2686489a809", "cohort_hash": h,
        "opt_out_hash": h, "area_lookup_hash": null, "shard": "1/4",
    });
    match serde_json::from_value(id) {
        Ok(identity) => identity,
        Err(e) => panic!("the fuzzing identity does not parse: {e}"),
    }
});

/// An error's text names `file` first and holds no NHS number (no run of
/// ten digits, spaced or hyphenated as they are written).
fn error_is_safe(error: &str, file: &str) {
    assert!(error.starts_with(&format!("{file}: ")), "{error}");
    assert_eq!(mask_numbers(error), error, "an error holds a number");
}

/// The bytes without the separators an NHS number may be written with.
fn digits_of(data: &[u8]) -> Vec<u8> {
    data.iter()
        .copied()
        .filter(|b| !matches!(b, b' ' | b'-' | b'\t'))
        .collect()
}

/// The first byte picks the format (even: plain, odd: CSV) and the most
/// people (1 to 128); the rest is the list.
pub(crate) fn list(data: &[u8]) {
    let Some((&first, text)) = data.split_first() else {
        return;
    };
    let format = match first % 2 {
        0 => LineFormat::Plain,
        _ => LineFormat::Csv,
    };
    let max = 1 + usize::from(first >> 1);
    let mut set = BTreeSet::new();
    let file = "fuzz/list.txt";
    match read_from(Cursor::new(text), Path::new(file), format, max, &mut set) {
        Err(e) => {
            error_is_safe(&e.to_string(), file);
            assert!(set.len() <= max + 1, "read on past the bound");
        }
        Ok(()) => {
            assert!(set.len() <= max, "{} people over {max}", set.len());
            let digits = digits_of(text);
            for nhs in &set {
                let found = digits.windows(10).any(|w| w == nhs.as_str().as_bytes());
                assert!(found, "a number read is not in the list");
            }
            for line in text.split(|b| *b == b'\n') {
                assert!(
                    line.len() <= MAX_LINE_BYTES,
                    "a line over the bound was read"
                );
            }
        }
    }
}

/// Any text as `extract.toml`: the pure part (TOML, keys, ranges).
pub(crate) fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let file = "fuzz/extract.toml";
    match Parsed::from_str(&text, Path::new(file)) {
        Err(e) => error_is_safe(&e.to_string(), file),
        Ok(parsed) => {
            let (run, spec) = (&parsed.run, &parsed.spec);
            assert!((1..=MAX_PEOPLE_IN_PARALLEL).contains(&run.people_in_parallel));
            assert!((1..=MAX_CHECKPOINT_EVERY).contains(&run.checkpoint_every));
            assert!(run.threshold >= 1 && run.max_cohort >= 1);
            assert!(!spec.sections.is_empty());
            // The spec's hash (what a resume is held to) is stable through
            // the manifest's JSON.
            let hash = spec_hash(spec);
            assert!(hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()));
            let json = serde_json::to_vec(spec).unwrap_or_default();
            match serde_json::from_slice(&json) {
                Ok(back) => assert_eq!(spec_hash(&back), hash, "the spec's hash changed"),
                Err(e) => panic!("a spec read does not read back from JSON: {e}"),
            }
        }
    }
}

/// Any bytes as an area lookup file.
pub(crate) fn area_lookup(data: &[u8]) {
    let file = "fuzz/areas.csv";
    match parse_lookup(data, file) {
        Err(e) => error_is_safe(&e, file),
        Ok((lookup, hash)) => {
            assert!(lookup.len() <= data.split(|b| *b == b'\n').count());
            assert_eq!(hash.len(), 64);
        }
    }
}

/// Any bytes as `checkpoint.json` of a run whose shard holds
/// [`IN_SHARD`] people, with the sink's offsets `O` and the tally `T`.
pub(crate) fn checkpoint<O, T>(data: &[u8])
where
    O: Serialize + DeserializeOwned,
    T: Serialize + DeserializeOwned,
{
    let file = "fuzz/checkpoint.json";
    match parse_checkpoint::<O, T>(data, Path::new(file), &IDENTITY, IN_SHARD) {
        Err(e) => error_is_safe(&e.to_string(), file),
        Ok(c) => {
            assert_eq!(c.identity, *IDENTITY);
            assert!(c.next_position <= IN_SHARD);
            assert_eq!(c.counts.done(), c.next_position);
            assert_eq!(c.counts.in_shard, IN_SHARD);
            // What a run writes back is read back the same.
            let json = serde_json::to_vec(&c).unwrap_or_default();
            match parse_checkpoint::<O, T>(&json, Path::new(file), &IDENTITY, IN_SHARD) {
                Ok(back) => {
                    let back: Checkpoint<O, T> = back;
                    assert_eq!(back.next_position, c.next_position);
                    assert_eq!(back.counts, c.counts);
                }
                Err(e) => panic!("a checkpoint written does not read back: {e}"),
            }
        }
    }
}

/// Any bytes as up to four shards' `manifest.json`, split at NUL bytes:
/// each read, written back and read again the same, then merged.
pub(crate) fn manifest(data: &[u8]) {
    let mut read = Vec::new();
    for part in data.split(|b| *b == 0).take(4) {
        match Manifest::parse(part) {
            Err(e) => {
                let e = e.to_string();
                assert_eq!(mask_numbers(&e), e, "an error holds a number");
            }
            Ok(m) => {
                let json = serde_json::to_vec(&m).unwrap_or_default();
                match Manifest::parse(&json) {
                    Ok(back) => assert_eq!(back, m, "a manifest does not read back"),
                    Err(e) => panic!("a manifest written does not read back: {e}"),
                }
                read.push(m);
            }
        }
    }
    let files: usize = read.iter().map(|m| m.files.len()).sum();
    let shards = read.len();
    if let Ok(merged) = merge_manifests(read) {
        assert_eq!(merged.shards.len(), shards);
        assert_eq!(merged.files.len(), files);
        assert_eq!(merged.counts.in_shard, merged.counts.in_cohort);
        let first = merged.shards.first().map(|s| s.count());
        assert_eq!(first, Some(u32::try_from(shards).unwrap_or(u32::MAX)));
    }
}

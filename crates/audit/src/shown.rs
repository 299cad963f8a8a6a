//! What a user was shown: the source records an access released, by
//! source, as ids only (no clinical content), so that an investigation can
//! ask each source for exactly those records afterwards. Pure, no I/O.
//!
//! Written in an access record as
//! `"shown":[{"source":"gwh","ids":["Condition/1","Observation/7"]},…]`:
//! sources in order of their id, each source's ids in byte order, none
//! twice. An access that released nothing (a refusal, an empty record)
//! writes no `shown` at all.
//!
//! **Bounded.** The number of records in a view is bounded only by the
//! sources' answers (`max_body_bytes`, 16 MiB by default), which could
//! make a line longer than the log takes ([`MAX_LINE_BYTES`](crate::MAX_LINE_BYTES)),
//! and an access the log cannot take is not released. So the ids are
//! listed within [`MAX_SHOWN_ID_BYTES`] (about 1,400 ids of 20
//! characters), taken one per source in turn so that every source gets its
//! share; a source whose ids do not all fit lists the first of them (in
//! byte order) and says how many more it released, as `"omitted":N`.
//! Nothing is dropped silently: each source's `ids` and `omitted` add up
//! to the records it released.

use std::collections::{BTreeMap, BTreeSet};

use icr_model::{RecordId, SourceId};
use serde::{Deserialize, Deserializer, Serialize};

/// The most bytes of ids (as JSON strings, with their separators) an
/// access record lists; past it, the rest are counted per source as
/// `omitted`. Leaves half of a line for the rest of the record.
pub const MAX_SHOWN_ID_BYTES: usize = 32 * 1024;

/// The source records one source released in an access.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct SourceRecords {
    source: SourceId,
    ids: Vec<Box<str>>,
    #[serde(skip_serializing_if = "is_zero")]
    omitted: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl SourceRecords {
    /// The source.
    pub fn source(&self) -> &SourceId {
        &self.source
    }

    /// The ids listed, as the source knows them, in byte order.
    pub fn ids(&self) -> impl ExactSizeIterator<Item = &str> {
        self.ids.iter().map(|id| &**id)
    }

    /// How many more of its records were released than are listed (after
    /// the listed ones, in byte order): 0 unless the list was capped.
    pub fn omitted(&self) -> u32 {
        self.omitted
    }
}

/// Every source record an access released, by source (see the module
/// documentation). Empty when nothing was released.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize)]
#[serde(transparent)]
pub struct ReleasedRecords(Vec<SourceRecords>);

impl ReleasedRecords {
    /// Nothing released.
    pub const NONE: Self = Self(Vec::new());

    /// The records named by `ids` (in any order, repeats ignored), listed
    /// within [`MAX_SHOWN_ID_BYTES`].
    pub fn of<'a>(ids: impl IntoIterator<Item = &'a RecordId>) -> Self {
        Self::capped(ids, MAX_SHOWN_ID_BYTES)
    }

    /// [`of`](Self::of), within `budget` bytes of ids.
    fn capped<'a>(ids: impl IntoIterator<Item = &'a RecordId>, budget: usize) -> Self {
        let mut by_source: BTreeMap<&SourceId, BTreeSet<&str>> = BTreeMap::new();
        for id in ids {
            by_source.entry(id.source()).or_default().insert(id.local());
        }
        let all: Vec<(&SourceId, Vec<&str>)> = by_source
            .into_iter()
            .map(|(s, ids)| (s, ids.into_iter().collect()))
            .collect();
        // One id per source in turn, while it fits; a source whose next id
        // does not fit lists no more (its list stays a prefix).
        let mut taken = vec![0usize; all.len()];
        let mut open = vec![true; all.len()];
        let mut left = budget;
        while open.iter().any(|o| *o) {
            for (i, (_, ids)) in all.iter().enumerate() {
                if !open[i] {
                    continue;
                }
                let cost = ids.get(taken[i]).map(|id| json_len(id) + 1);
                match cost {
                    Some(cost) if cost <= left => {
                        left -= cost;
                        taken[i] += 1;
                    }
                    _ => open[i] = false,
                }
            }
        }
        Self(
            all.into_iter()
                .zip(taken)
                .map(|((source, ids), n)| SourceRecords {
                    source: source.clone(),
                    omitted: u32::try_from(ids.len() - n).unwrap_or(u32::MAX),
                    ids: ids[..n].iter().map(|id| Box::from(*id)).collect(),
                })
                .collect(),
        )
    }

    /// Whether nothing was released.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Each source that released records, in order of its id.
    pub fn sources(&self) -> &[SourceRecords] {
        &self.0
    }

    /// How many records are not listed (all sources).
    pub fn omitted(&self) -> u64 {
        self.0.iter().map(|s| u64::from(s.omitted)).sum()
    }
}

/// The length of `s` as a JSON string, quotes included, as `serde_json`
/// writes it (counted, not written: this runs for every id released).
fn json_len(s: &str) -> usize {
    2 + s
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..0x20 => 6,
            _ => 1,
        })
        .sum::<usize>()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceRecordsIn {
    source: SourceId,
    ids: Vec<String>,
    #[serde(default)]
    omitted: u32,
}

impl<'de> Deserialize<'de> for ReleasedRecords {
    /// Reads what [`ReleasedRecords::of`] writes, and only that: sources in
    /// order, each with ids in order (valid record ids) or an omitted count.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let raw = Vec::<SourceRecordsIn>::deserialize(d)?;
        if !raw.windows(2).all(|w| w[0].source < w[1].source) {
            return Err(D::Error::custom("shown: sources not in order, or repeated"));
        }
        let mut out = Vec::with_capacity(raw.len());
        for s in raw {
            if s.ids.is_empty() && s.omitted == 0 {
                return Err(D::Error::custom("shown: a source with no records"));
            }
            if !s.ids.windows(2).all(|w| w[0] < w[1]) {
                return Err(D::Error::custom("shown: ids not in order, or repeated"));
            }
            let ids = s
                .ids
                .iter()
                .map(|id| {
                    RecordId::new(s.source.clone(), id)
                        .map(|_| Box::from(id.as_str()))
                        .map_err(D::Error::custom)
                })
                .collect::<Result<_, _>>()?;
            out.push(SourceRecords {
                source: s.source,
                ids,
                omitted: s.omitted,
            });
        }
        Ok(Self(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> RecordId {
        RecordId::parse(s).unwrap()
    }

    fn ids(list: &[&str]) -> Vec<RecordId> {
        list.iter().map(|s| id(s)).collect()
    }

    #[test]
    fn grouped_by_source_in_order_without_repeats() {
        let records = ids(&[
            "ruh:Condition/2",
            "gwh:Observation/7",
            "gwh:Condition/1",
            "ruh:Condition/2",
            "gp:E1",
        ]);
        let shown = ReleasedRecords::of(&records);
        assert_eq!(
            serde_json::to_string(&shown).unwrap(),
            r#"[{"source":"gp","ids":["E1"]},{"source":"gwh","ids":["Condition/1","Observation/7"]},{"source":"ruh","ids":["Condition/2"]}]"#
        );
        assert_eq!(shown.omitted(), 0);
        let back: ReleasedRecords =
            serde_json::from_str(&serde_json::to_string(&shown).unwrap()).unwrap();
        assert_eq!(back, shown);
        assert!(ReleasedRecords::of(&[]).is_empty());
    }

    #[test]
    fn past_the_budget_each_source_lists_a_prefix_and_counts_the_rest() {
        // Each id costs 5 bytes ("a1" quoted, and a comma): 27 bytes take
        // a1, b1, c1, then a2, b2; a3 no longer fits.
        let records = ids(&[
            "a:a1", "a:a2", "a:a3", "a:a4", "b:b1", "b:b2", "b:b3", "c:c1",
        ]);
        let shown = ReleasedRecords::capped(&records, 27);
        assert_eq!(
            serde_json::to_string(&shown).unwrap(),
            r#"[{"source":"a","ids":["a1","a2"],"omitted":2},{"source":"b","ids":["b1","b2"],"omitted":1},{"source":"c","ids":["c1"]}]"#
        );
        assert_eq!(shown.omitted(), 3);
        // Nothing fits: every source is still named, with its count.
        let none = ReleasedRecords::capped(&records, 0);
        assert_eq!(
            serde_json::to_string(&none).unwrap(),
            r#"[{"source":"a","ids":[],"omitted":4},{"source":"b","ids":[],"omitted":3},{"source":"c","ids":[],"omitted":1}]"#
        );
        let back: ReleasedRecords =
            serde_json::from_str(&serde_json::to_string(&none).unwrap()).unwrap();
        assert_eq!(back, none);
    }

    #[test]
    fn a_long_view_stays_within_the_budget() {
        let records: Vec<RecordId> = (0..20_000)
            .map(|i| id(&format!("gwh:Observation/{i:08}")))
            .collect();
        let shown = ReleasedRecords::of(&records);
        let json = serde_json::to_string(&shown).unwrap();
        assert!(json.len() <= MAX_SHOWN_ID_BYTES + 100, "{}", json.len());
        let listed = shown.sources()[0].ids().len();
        assert_eq!(listed, MAX_SHOWN_ID_BYTES / 23);
        assert_eq!(shown.omitted(), 20_000 - listed as u64);
    }

    #[test]
    fn an_id_is_counted_as_long_as_serde_json_writes_it() {
        for s in [
            "Condition/1",
            "a\"b\\c",
            "é/☃",
            "tab\there",
            "\u{1}\u{7f}\u{8}\u{c}\n\r",
        ] {
            assert_eq!(
                json_len(s),
                serde_json::to_string(s).unwrap().len(),
                "{s:?}"
            );
        }
    }

    #[test]
    fn only_what_is_written_is_read() {
        for bad in [
            r#"[{"source":"b","ids":["x"]},{"source":"a","ids":["y"]}]"#,
            r#"[{"source":"a","ids":["x"]},{"source":"a","ids":["y"]}]"#,
            r#"[{"source":"a","ids":["y","x"]}]"#,
            r#"[{"source":"a","ids":["x","x"]}]"#,
            r#"[{"source":"a","ids":[]}]"#,
            r#"[{"source":"a","ids":[""]}]"#,
            r#"[{"source":"a","ids":["x\n"]}]"#,
            r#"[{"source":"A","ids":["x"]}]"#,
            r#"[{"source":"a","ids":["x"],"text":"no"}]"#,
        ] {
            assert!(
                serde_json::from_str::<ReleasedRecords>(bad).is_err(),
                "{bad}"
            );
        }
    }
}

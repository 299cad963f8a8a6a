//! Raw counts, person by person, and their merge across shards.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use icr_model::{CodeSystem, OdsCode, Verification};
use icr_pseudonymise::AgeBand;
use icr_pseudonymise::transform::{PseudoEntry, PseudonymisedRecord};
use serde::{Deserialize, Serialize};

/// Columns of the age-band tables: the bands `0-4` … `85-89`, `90+`, then
/// `Unknown`.
pub const AGE_COLUMNS: usize = (AgeBand::TOP / AgeBand::WIDTH) as usize + 2;
/// Most distinct condition codes [`Counts`] keeps apart; the rest go to `Other codes`.
pub const MAX_TRACKED_CODES: usize = 100_000;
/// Most distinct organisations [`Counts`] keeps apart; the rest go to `Other organisations`.
pub const MAX_TRACKED_ORGANISATIONS: usize = 20_000;

/// Counts by age band, in [`AGE_COLUMNS`] order.
pub(crate) type ByBand = [u64; AGE_COLUMNS];
/// Counts by completeness: complete, incomplete.
pub(crate) type ByCompleteness = [u64; 2];

/// Raw (unsuppressed) counts of an extract or of one shard of it. Built
/// with [`Counts::add`], combined with [`Counts::merge`], published only
/// through [`Counts::report`]. **Never publish these**: they are
/// serialisable only to carry a shard's counts to the merge (see the
/// crate's documentation).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    /// People with a complete record, by age band.
    complete: ByBand,
    /// People with an incomplete record (a source failed), by age band.
    incomplete: ByBand,
    /// People per SNOMED CT condition code, by age band.
    conditions: BTreeMap<ConditionCode, ByBand>,
    /// Person–code pairs of codes beyond [`MAX_TRACKED_CODES`], by age band.
    conditions_untracked: ByBand,
    /// People per organisation, by completeness.
    organisations: BTreeMap<OdsCode, ByCompleteness>,
    /// Person–organisation pairs beyond [`MAX_TRACKED_ORGANISATIONS`], by completeness.
    organisations_untracked: ByCompleteness,
}

impl Counts {
    /// Counts one person: `complete` is false when a source failed for them.
    pub fn add(&mut self, r: &PseudonymisedRecord, complete: bool) {
        let band = band_column(r.person.age_band);
        let people = if complete {
            &mut self.complete
        } else {
            &mut self.incomplete
        };
        bump(&mut people[band], 1);
        for code in condition_codes(r) {
            let row = slot(
                &mut self.conditions,
                &mut self.conditions_untracked,
                MAX_TRACKED_CODES,
                &code,
            );
            bump(&mut row[band], 1);
        }
        let mut organisations: BTreeSet<&OdsCode> = r
            .items
            .iter()
            .flat_map(|i| &i.sources)
            .map(|s| &s.ods_code)
            .collect();
        organisations.extend(r.person.registered_practice.as_ref());
        for ods in organisations {
            let row = slot(
                &mut self.organisations,
                &mut self.organisations_untracked,
                MAX_TRACKED_ORGANISATIONS,
                ods,
            );
            bump(&mut row[usize::from(!complete)], 1);
        }
    }

    /// Adds another shard's counts to these. Merging is commutative and
    /// associative (below the tracking caps): shards merged in any order
    /// give the counts of one run over the whole cohort.
    pub fn merge(&mut self, other: &Counts) {
        add_all(&mut self.complete, &other.complete);
        add_all(&mut self.incomplete, &other.incomplete);
        merge_rows(
            (&mut self.conditions, &mut self.conditions_untracked),
            (&other.conditions, &other.conditions_untracked),
            MAX_TRACKED_CODES,
        );
        merge_rows(
            (&mut self.organisations, &mut self.organisations_untracked),
            (&other.organisations, &other.organisations_untracked),
            MAX_TRACKED_ORGANISATIONS,
        );
    }

    /// Reads `counts.json` as a shard wrote it: its shape only (unknown
    /// fields, keys that are not codes and rows of the wrong length are
    /// refused) and no more rows than [`Counts::add`] keeps apart. The
    /// error says where and what kind of fault, never what is there.
    pub fn from_json(bytes: &[u8]) -> Result<Self, CountsError> {
        let c: Counts = serde_json::from_slice(bytes).map_err(|e| CountsError::Json {
            line: e.line(),
            column: e.column(),
            what: match e.classify() {
                serde_json::error::Category::Io => "unreadable",
                serde_json::error::Category::Syntax => "not JSON",
                serde_json::error::Category::Eof => "cut short",
                serde_json::error::Category::Data => {
                    "not counts (an unknown field, a key that is not a code, or a row of the wrong shape)"
                }
            },
        })?;
        if c.conditions.len() > MAX_TRACKED_CODES
            || c.organisations.len() > MAX_TRACKED_ORGANISATIONS
        {
            return Err(CountsError::TooManyRows);
        }
        Ok(c)
    }

    /// People counted (extracted).
    pub fn people(&self) -> u64 {
        sum(&self.complete).saturating_add(sum(&self.incomplete))
    }

    /// People counted whose record is incomplete.
    pub fn incomplete(&self) -> u64 {
        sum(&self.incomplete)
    }

    pub(crate) fn by_completeness(&self) -> [&ByBand; 2] {
        [&self.complete, &self.incomplete]
    }

    pub(crate) fn conditions(&self) -> (&BTreeMap<ConditionCode, ByBand>, &ByBand) {
        (&self.conditions, &self.conditions_untracked)
    }

    pub(crate) fn organisations(&self) -> (&BTreeMap<OdsCode, ByCompleteness>, &ByCompleteness) {
        (&self.organisations, &self.organisations_untracked)
    }
}

/// Why `counts.json` could not be read (never quoting it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CountsError {
    /// The JSON is not counts.
    #[error("line {line} column {column}: {what}")]
    Json {
        /// The line, from 1.
        line: usize,
        /// The column, from 1.
        column: usize,
        /// What kind of fault.
        what: &'static str,
    },
    /// More codes or organisations than a run keeps apart.
    #[error(
        "more than {MAX_TRACKED_CODES} condition codes or {MAX_TRACKED_ORGANISATIONS} organisations"
    )]
    TooManyRows,
}

/// A SNOMED CT concept id as the summary counts it: 6 to 18 digits, no
/// leading zero (the pseudonymiser keeps no other, and `counts.json` read
/// back is held to the same).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub(crate) struct ConditionCode(String);

impl ConditionCode {
    fn parse(code: &str) -> Option<Self> {
        let b = code.as_bytes();
        ((6..=18).contains(&b.len()) && b[0] != b'0' && b.iter().all(u8::is_ascii_digit))
            .then(|| Self(code.to_owned()))
    }
}

impl TryFrom<String> for ConditionCode {
    type Error = String;
    fn try_from(code: String) -> Result<Self, String> {
        Self::parse(&code).ok_or_else(|| "a key is not a SNOMED CT concept id".to_owned())
    }
}

impl From<ConditionCode> for String {
    fn from(code: ConditionCode) -> String {
        code.0
    }
}

impl fmt::Display for ConditionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The labels of the age-band columns.
pub(crate) fn band_labels() -> Vec<String> {
    let bands = (0..=AgeBand::TOP).step_by(usize::from(AgeBand::WIDTH));
    bands
        .map(|low| AgeBand::of_age(u32::from(low)).to_string())
        .chain(["Unknown".to_owned()])
        .collect()
}

/// The column of an age band; the last for none.
fn band_column(band: Option<AgeBand>) -> usize {
    band.map_or(AGE_COLUMNS - 1, |b| usize::from(b.low() / AgeBand::WIDTH))
}

/// The person's distinct SNOMED CT condition codes, leaving out conditions
/// ruled out or recorded in error.
fn condition_codes(r: &PseudonymisedRecord) -> BTreeSet<ConditionCode> {
    r.items
        .iter()
        .filter_map(|i| match &i.entry {
            PseudoEntry::Conditions(c)
                if !matches!(
                    c.verification,
                    Some(Verification::Refuted | Verification::EnteredInError)
                ) =>
            {
                Some(&c.code)
            }
            _ => None,
        })
        .flatten()
        .filter(|c| c.system == CodeSystem::Snomed)
        .filter_map(|c| ConditionCode::parse(&c.code))
        .collect()
}

/// The row for `key`: its own while it is tracked or there is room to
/// track it, else the untracked row.
fn slot<'a, K: Ord + Clone, V: Default>(
    rows: &'a mut BTreeMap<K, V>,
    untracked: &'a mut V,
    cap: usize,
    key: &K,
) -> &'a mut V {
    if rows.contains_key(key) || rows.len() < cap {
        rows.entry(key.clone()).or_default()
    } else {
        untracked
    }
}

/// Adds `from`'s rows (and its untracked row) to `into`'s, tracking new
/// keys while there is room.
fn merge_rows<K: Ord + Clone, V: Default + AsMut<[u64]> + AsRef<[u64]>>(
    into: (&mut BTreeMap<K, V>, &mut V),
    from: (&BTreeMap<K, V>, &V),
    cap: usize,
) {
    let (rows, untracked) = into;
    add_all(untracked.as_mut(), from.1.as_ref());
    for (key, row) in from.0 {
        add_all(slot(rows, untracked, cap, key).as_mut(), row.as_ref());
    }
}

/// Counts saturate: a table refuses totals that overflow anyway.
fn bump(count: &mut u64, by: u64) {
    *count = count.saturating_add(by);
}

pub(crate) fn add_all(into: &mut [u64], from: &[u64]) {
    for (a, &b) in into.iter_mut().zip(from) {
        bump(a, b);
    }
}

pub(crate) fn sum(counts: &[u64]) -> u64 {
    counts.iter().fold(0u64, |a, &b| a.saturating_add(b))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use icr_model::{NhsNumber, OdsCode, SourceId};
    use icr_pseudonymise::transform::{Code, ConditionItem, ItemSource, Person, PseudoItem};
    use icr_pseudonymise::{ProjectKey, Pseudonym};

    /// A synthetic person: their age, registered practice, and conditions
    /// as (SNOMED CT code, ODS code of the source holding it).
    pub(crate) fn person(
        n: u32,
        age: Option<u32>,
        practice: Option<&str>,
        conditions: &[(&str, &str)],
    ) -> PseudonymisedRecord {
        let key = ProjectKey::from_bytes(&[7; 32]).unwrap();
        let nhs = NhsNumber::from_first_nine(999_000_000 + n * 10)
            .or_else(|| NhsNumber::from_first_nine(999_000_001 + n * 10))
            .unwrap();
        let items = conditions
            .iter()
            .map(|(code, ods)| condition(&key, code, ods, None))
            .collect();
        PseudonymisedRecord {
            person: Person {
                person_id: Pseudonym::person(&key, nhs),
                year_of_birth: None,
                month_of_birth: None,
                age_band: age.map(AgeBand::of_age),
                gender: None,
                postcode_district: None,
                area: None,
                registered_practice: practice.map(|p| OdsCode::parse(p).unwrap()),
                deceased: false,
                year_of_death: None,
                month_of_death: None,
            },
            items,
        }
    }

    pub(crate) fn condition(
        key: &ProjectKey,
        code: &str,
        ods: &str,
        verification: Option<Verification>,
    ) -> PseudoItem {
        let source = SourceId::parse("gp").unwrap();
        PseudoItem {
            sources: vec![ItemSource {
                record_id: Pseudonym::record(key, &source, code),
                source,
                ods_code: OdsCode::parse(ods).unwrap(),
            }],
            sources_differ: false,
            entry: PseudoEntry::Conditions(ConditionItem {
                code: vec![Code {
                    system: CodeSystem::Snomed,
                    code: code.into(),
                }],
                clinical_status: None,
                verification,
                category: vec![],
                severity: vec![],
                onset: None,
                abatement: None,
                recorded: None,
            }),
        }
    }

    #[test]
    fn age_columns_are_the_bands_then_unknown() {
        let labels = band_labels();
        assert_eq!(labels.len(), AGE_COLUMNS);
        assert_eq!(labels[0], "0-4");
        assert_eq!(labels[17], "85-89");
        assert_eq!(labels[18], "90+");
        assert_eq!(labels[19], "Unknown");
        assert_eq!(band_column(Some(AgeBand::of_age(7))), 1);
        assert_eq!(band_column(Some(AgeBand::of_age(104))), 18);
        assert_eq!(band_column(None), 19);
    }

    #[test]
    fn a_person_counts_once_per_code_and_per_organisation() {
        let key = ProjectKey::from_bytes(&[7; 32]).unwrap();
        let mut r = person(
            1,
            Some(42),
            Some("Y00001"),
            &[
                ("44054006", "Y00001"),
                ("44054006", "RN3"),
                ("38341003", "RN3"),
            ],
        );
        // Ruled out and in error: not conditions they have (the source still
        // holds items for them).
        r.items.push(condition(
            &key,
            "195967001",
            "RA7",
            Some(Verification::Refuted),
        ));
        r.items.push(condition(
            &key,
            "73211009",
            "RA7",
            Some(Verification::EnteredInError),
        ));
        let mut c = Counts::default();
        c.add(&r, false);
        assert_eq!(c.people(), 1);
        assert_eq!(c.incomplete(), 1);
        assert_eq!(c.incomplete[8], 1, "42 is in 40-44");
        let codes: Vec<_> = c.conditions.keys().map(|k| k.to_string()).collect();
        assert_eq!(codes, ["38341003", "44054006"]);
        assert_eq!(c.conditions[&code("44054006")][8], 1);
        let organisations: Vec<_> = c
            .organisations
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect();
        assert_eq!(
            organisations,
            [("RA7", [0, 1]), ("RN3", [0, 1]), ("Y00001", [0, 1])]
        );
    }

    #[test]
    fn a_registered_practice_counts_without_items() {
        let mut c = Counts::default();
        c.add(&person(1, None, Some("Y00002"), &[]), true);
        assert_eq!(c.complete[AGE_COLUMNS - 1], 1);
        assert_eq!(c.organisations[&OdsCode::parse("Y00002").unwrap()], [1, 0]);
        assert!(c.conditions.is_empty());
    }

    #[test]
    fn shards_merge_to_the_whole() {
        let people: Vec<_> = (0..30)
            .map(|n| {
                let code = ["44054006", "38341003", "195967001"][n as usize % 3];
                let ods = ["Y00001", "Y00002"][n as usize % 2];
                person(n, Some(n * 3), Some(ods), &[(code, "RN3")])
            })
            .collect();
        let mut whole = Counts::default();
        let mut shards = [Counts::default(), Counts::default(), Counts::default()];
        for (n, p) in people.iter().enumerate() {
            whole.add(p, n % 4 != 0);
            shards[n % 3].add(p, n % 4 != 0);
        }
        let mut merged = Counts::default();
        for s in shards.iter().rev() {
            merged.merge(s);
        }
        assert_eq!(merged, whole);
        assert_eq!(merged.people(), 30);
        assert_eq!(merged.incomplete(), 8);
        // Through counts.json and back.
        let json = serde_json::to_string(&merged).unwrap();
        assert_eq!(serde_json::from_str::<Counts>(&json).unwrap(), whole);
    }

    #[test]
    fn past_the_cap_new_keys_go_to_the_untracked_row() {
        let mut rows: BTreeMap<&str, ByCompleteness> = BTreeMap::new();
        let mut untracked = [0; 2];
        slot(&mut rows, &mut untracked, 2, &"A")[0] += 1;
        slot(&mut rows, &mut untracked, 2, &"B")[0] += 1;
        slot(&mut rows, &mut untracked, 2, &"C")[0] += 1;
        slot(&mut rows, &mut untracked, 2, &"A")[1] += 1;
        assert_eq!(rows.len(), 2);
        assert_eq!(rows["A"], [1, 1]);
        assert_eq!(untracked, [1, 0]);
    }

    fn code(c: &str) -> ConditionCode {
        ConditionCode::parse(c).unwrap()
    }

    #[test]
    fn counts_json_with_unknown_fields_or_unshaped_keys_is_refused() {
        let mut c = Counts::default();
        c.add(
            &person(1, Some(3), Some("Y00001"), &[("44054006", "RN3")]),
            true,
        );
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(serde_json::from_value::<Counts>(json.clone()).unwrap(), c);
        let with = |field: &str, value: serde_json::Value| {
            let mut object = json.as_object().unwrap().clone();
            object.insert(field.into(), value);
            serde_json::from_value::<Counts>(object.into())
        };
        assert!(with("people", 3.into()).is_err());
        let row = serde_json::json!([0, 0]);
        assert!(with("organisations", serde_json::json!({ "=1+1": row })).is_err());
        let bands = serde_json::json!(vec![0; AGE_COLUMNS]);
        for bad in ["Diabetes", "0440540", "12345", "1234567890123456789"] {
            assert!(
                with("conditions", serde_json::json!({ bad: bands })).is_err(),
                "{bad}"
            );
        }
        assert!(with("conditions", serde_json::json!({ "73211009": bands })).is_ok());
    }
}

//! The cohort (who is extracted) and the shard (which of them this run
//! takes).

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use icr_model::{NhsNumber, OdsCode};
use icr_pseudonymise::{ProjectKey, Pseudonym};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::lists::{self, LineFormat, ListError};

/// The default most people in a cohort.
pub const DEFAULT_MAX_COHORT: usize = 10_000_000;

/// Where the cohort comes from, as given on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CohortSource {
    /// A file of NHS numbers, one a line.
    File(PathBuf),
    /// `registered:DIR`: the practices' registered lists, one
    /// `<ODS code>.csv` per practice in DIR.
    Registered(PathBuf),
}

impl FromStr for CohortSource {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.strip_prefix("registered:") {
            Some(dir) => Self::Registered(dir.into()),
            None => Self::File(s.into()),
        })
    }
}

/// Why a cohort could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CohortError {
    /// A list could not be read.
    #[error("cohort: {0}")]
    List(#[from] ListError),
    /// The registered-list directory could not be listed.
    #[error("cohort: {}: cannot list: {source}", dir.display())]
    Dir {
        /// The directory.
        dir: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// A file in the registered-list directory is not named `<ODS>.csv`.
    #[error("cohort: {}: a registered list is named <ODS code>.csv", file.display())]
    NotAPractice {
        /// The file.
        file: PathBuf,
    },
    /// The directory holds no registered list.
    #[error("cohort: {}: holds no <ODS code>.csv registered list", dir.display())]
    NoPractices {
        /// The directory.
        dir: PathBuf,
    },
    /// The cohort holds nobody.
    #[error("cohort: holds no NHS number")]
    Empty,
}

/// The people of an extract: distinct NHS numbers in ascending order, so
/// the same people give the same cohort whatever order they were listed in.
#[derive(Clone, PartialEq, Eq)]
pub struct Cohort(Vec<NhsNumber>);

impl fmt::Debug for Cohort {
    /// The size only: a cohort is a list of NHS numbers.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cohort({} people)", self.0.len())
    }
}

impl Cohort {
    /// Reads a cohort of at most `max` people.
    pub fn read(source: &CohortSource, max: usize) -> Result<Self, CohortError> {
        let mut set = BTreeSet::new();
        match source {
            CohortSource::File(file) => lists::read_into(file, LineFormat::Plain, max, &mut set)?,
            CohortSource::Registered(dir) => {
                for file in practice_files(dir)? {
                    lists::read_into(&file, LineFormat::Csv, max, &mut set)?;
                }
            }
        }
        Self::from_people(set)
    }

    /// A cohort of these people (an empty one is refused).
    pub fn from_people(people: impl IntoIterator<Item = NhsNumber>) -> Result<Self, CohortError> {
        let set: BTreeSet<NhsNumber> = people.into_iter().collect();
        if set.is_empty() {
            return Err(CohortError::Empty);
        }
        Ok(Self(set.into_iter().collect()))
    }

    /// How many people.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never true: an empty cohort is refused.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The people, in cohort order.
    pub fn people(&self) -> &[NhsNumber] {
        &self.0
    }

    /// This shard's people, in cohort order.
    pub fn shard(&self, shard: Shard) -> Vec<NhsNumber> {
        self.positions_in(shard).map(|(_, n)| n).collect()
    }

    /// This shard's people with their positions in the whole cohort (from
    /// 0), in cohort order: a position names one person of a run across
    /// all its shards.
    pub fn positions_in(&self, shard: Shard) -> impl Iterator<Item = (u64, NhsNumber)> + '_ {
        (0u64..)
            .zip(self.0.iter().copied())
            .filter(move |(_, n)| shard.holds(*n))
    }

    /// A hash naming this cohort (64 hex digits) that reveals no NHS
    /// number: SHA-256 over the people's pseudonyms under the project key,
    /// in cohort order. A bare hash of NHS numbers could be reversed by
    /// trying every number when the cohort is small.
    pub fn hash(&self, key: &ProjectKey) -> String {
        keyed_hash(key, b"icr-extract/v1/cohort\0", &self.0)
    }
}

/// SHA-256 over `domain` and the pseudonyms of `people` (64 hex digits).
pub(crate) fn keyed_hash<'a>(
    key: &ProjectKey,
    domain: &[u8],
    people: impl IntoIterator<Item = &'a NhsNumber>,
) -> String {
    let mut h = Sha256::new();
    h.update(domain);
    for n in people {
        h.update(Pseudonym::person(key, *n).as_str().as_bytes());
    }
    hex::encode(h.finalize())
}

/// The `<ODS code>.csv` files of a registered-list directory, sorted.
/// Hidden files are skipped; any other file is refused, so a list named
/// wrongly is not silently left out.
fn practice_files(dir: &Path) -> Result<Vec<PathBuf>, CohortError> {
    let io = |source| CohortError::Dir {
        dir: dir.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') {
            continue;
        }
        let practice = name
            .strip_suffix(".csv")
            .filter(|ods| OdsCode::parse(ods).is_ok() && path.is_file());
        if practice.is_none() {
            return Err(CohortError::NotAPractice { file: path });
        }
        files.push(path);
    }
    if files.is_empty() {
        return Err(CohortError::NoPractices {
            dir: dir.to_path_buf(),
        });
    }
    files.sort();
    Ok(files)
}

/// The most shards a cohort is split into.
pub const MAX_SHARDS: u32 = 10_000;

/// One of `count` shards of a cohort, written `index/count` (`0/1` is the
/// whole cohort). A person belongs to the shard `h mod count`, where `h` is
/// the first 8 bytes (big-endian) of SHA-256 over their NHS number's ten
/// digits: stable, and spread evenly whatever the numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Shard {
    index: u32,
    count: u32,
}

/// Why a shard was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a shard is I/N with 0 ≤ I < N ≤ {MAX_SHARDS}: {0:?} is not")]
pub struct ShardError(String);

impl Shard {
    /// The whole cohort.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Shard `index` of `count`.
    pub fn new(index: u32, count: u32) -> Result<Self, ShardError> {
        if count == 0 || count > MAX_SHARDS || index >= count {
            return Err(ShardError(format!("{index}/{count}")));
        }
        Ok(Self { index, count })
    }

    /// Which shard, from 0.
    pub fn index(self) -> u32 {
        self.index
    }

    /// How many shards.
    pub fn count(self) -> u32 {
        self.count
    }

    /// Whether `nhs` belongs to this shard.
    pub fn holds(self, nhs: NhsNumber) -> bool {
        let digest = Sha256::digest(nhs.as_str().as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_be_bytes(first) % u64::from(self.count) == u64::from(self.index)
    }

    /// The directory a sharded run writes in: `shard-I-of-N`.
    pub fn dir_name(self) -> String {
        format!("shard-{}-of-{}", self.index, self.count)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = ShardError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ShardError(s.chars().take(32).collect());
        let (i, n) = s.split_once('/').ok_or_else(err)?;
        let num = |t: &str| {
            t.parse::<u32>()
                .ok()
                .filter(|_| t.bytes().all(|b| b.is_ascii_digit()))
        };
        let (i, n) = num(i).zip(num(n)).ok_or_else(err)?;
        Self::new(i, n).map_err(|_| err())
    }
}

impl Serialize for Shard {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Shard {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        parse_string(d)
    }
}

/// Deserializes a string and parses it with `T`'s `FromStr`.
pub(crate) fn parse_string<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    T::Err: fmt::Display,
{
    String::deserialize(d)?
        .parse()
        .map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn people(n: u32) -> Vec<NhsNumber> {
        (999_000_000..)
            .filter_map(NhsNumber::from_first_nine)
            .take(n as usize)
            .collect()
    }

    #[test]
    fn shards_parse_and_print() {
        assert_eq!("3/8".parse::<Shard>().unwrap(), Shard::new(3, 8).unwrap());
        assert_eq!(Shard::new(3, 8).unwrap().to_string(), "3/8");
        assert_eq!(Shard::new(3, 8).unwrap().dir_name(), "shard-3-of-8");
        assert_eq!(Shard::WHOLE.to_string(), "0/1");
        for bad in [
            "", "1", "8/8", "0/0", "-1/4", "+1/4", "1/ 4", "a/b", "0/10001", "1/2/3",
        ] {
            let err = bad.parse::<Shard>().unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("a shard is I/N with 0 ≤ I < N ≤ 10000: {bad:?} is not")
            );
        }
        assert_eq!(
            serde_json::to_string(&Shard::new(1, 4).unwrap()).unwrap(),
            "\"1/4\""
        );
        assert_eq!(
            serde_json::from_str::<Shard>("\"1/4\"").unwrap(),
            Shard::new(1, 4).unwrap()
        );
        assert!(serde_json::from_str::<Shard>("\"4/4\"").is_err());
    }

    /// Every person is in exactly one shard, for several shard counts, and
    /// the shards are roughly even.
    #[test]
    fn shards_partition_the_cohort_exactly() {
        let cohort = Cohort::from_people(people(2000)).unwrap();
        for count in [1, 2, 3, 7, 16] {
            let shards: Vec<Vec<NhsNumber>> = (0..count)
                .map(|i| cohort.shard(Shard::new(i, count).unwrap()))
                .collect();
            let mut all: Vec<NhsNumber> = shards.iter().flatten().copied().collect();
            assert_eq!(all.len(), cohort.len(), "{count} shards");
            all.sort();
            assert_eq!(all, cohort.people(), "{count} shards");
            for s in &shards {
                // Each shard keeps cohort order.
                assert!(s.windows(2).all(|w| w[0] < w[1]));
                let even = cohort.len() / count as usize;
                assert!(s.len() > even / 2 && s.len() < even * 3 / 2, "{}", s.len());
            }
        }
    }

    /// The membership hash is fixed: changing it would move people between
    /// the shards of a run being resumed.
    #[test]
    fn shard_membership_is_stable() {
        let n = NhsNumber::parse("9434765919").unwrap();
        let digest = Sha256::digest(b"9434765919");
        let h = u64::from_be_bytes(digest[..8].try_into().unwrap());
        for count in 1..20 {
            let home = (h % u64::from(count)) as u32;
            for index in 0..count {
                assert_eq!(Shard::new(index, count).unwrap().holds(n), index == home);
            }
        }
    }

    #[test]
    fn cohorts_are_sorted_distinct_and_never_empty() {
        let p = people(3);
        let c = Cohort::from_people([p[2], p[0], p[2], p[1]]).unwrap();
        assert_eq!(c.people(), p.as_slice());
        assert_eq!(format!("{c:?}"), "Cohort(3 people)");
        assert!(matches!(Cohort::from_people([]), Err(CohortError::Empty)));
        let key = ProjectKey::from_bytes(&[1; 32]).unwrap();
        let other = ProjectKey::from_bytes(&[2; 32]).unwrap();
        let same = Cohort::from_people([p[0], p[1], p[2]]).unwrap();
        assert_eq!(c.hash(&key), same.hash(&key));
        assert_ne!(c.hash(&key), c.hash(&other));
        let fewer = Cohort::from_people([p[0], p[1]]).unwrap();
        assert_ne!(c.hash(&key), fewer.hash(&key));
        // The hash is not a bare hash of the numbers.
        let one = Cohort::from_people([p[0]]).unwrap();
        assert_ne!(
            one.hash(&key),
            hex::encode(Sha256::digest(p[0].as_str().as_bytes()))
        );
    }

    #[test]
    fn registered_lists_make_one_cohort() {
        let dir = tempfile::tempdir().unwrap();
        let p = people(4);
        let write = |name: &str, rows: &[NhsNumber]| {
            let body: String = rows.iter().map(|n| format!("{},x\n", n.as_str())).collect();
            std::fs::write(dir.path().join(name), format!("nhs_number,other\n{body}")).unwrap();
        };
        write("J83001.csv", &[p[3], p[1]]);
        write("J83002.csv", &[p[1], p[0]]);
        std::fs::write(dir.path().join(".hidden"), "junk").unwrap();
        let source: CohortSource = format!("registered:{}", dir.path().display())
            .parse()
            .unwrap();
        let c = Cohort::read(&source, 10).unwrap();
        assert_eq!(c.people(), [p[0], p[1], p[3]]);
        // The bound counts distinct people across every list.
        let too_many = Cohort::read(&source, 2).unwrap_err().to_string();
        assert!(
            too_many.ends_with("more than 2 different NHS numbers"),
            "{too_many}"
        );
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        let err = Cohort::read(&source, 10).unwrap_err().to_string();
        assert!(
            err.ends_with("notes.txt: a registered list is named <ODS code>.csv"),
            "{err}"
        );
        let empty = tempfile::tempdir().unwrap();
        let err = Cohort::read(&CohortSource::Registered(empty.path().into()), 10).unwrap_err();
        assert!(matches!(err, CohortError::NoPractices { .. }), "{err}");
    }

    #[test]
    fn a_cohort_file_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cohort.txt");
        let p = people(2);
        std::fs::write(
            &file,
            format!("# cohort\n{}\n{}\n", p[1].as_str(), p[0].formatted()),
        )
        .unwrap();
        let source: CohortSource = file.display().to_string().parse().unwrap();
        assert_eq!(source, CohortSource::File(file.clone()));
        assert_eq!(Cohort::read(&source, 10).unwrap().people(), p.as_slice());
        std::fs::write(&file, "# nobody\n").unwrap();
        assert!(matches!(Cohort::read(&source, 10), Err(CohortError::Empty)));
    }
}

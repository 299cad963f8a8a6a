//! `extract.toml`: what an extract run does, and the files it reads (the
//! project key, the national data opt-out list, the area lookup).
//!
//! ```toml
//! [run]
//! purpose = "population-health"     # recorded in the audit and the manifest
//! key_file = "secrets/project.key"  # the project key: the file's bytes, at least 32
//! national_opt_out = "opt-out.txt"  # optional: one NHS number a line
//! area_lookup = "areas.csv"         # optional: `district,area` lines
//! threshold = 10                    # small-number suppression (default 10)
//! people_in_parallel = 4            # people fetched at once (default 4, 1–64)
//! checkpoint_every = 50             # people between checkpoints (default 50)
//! max_cohort = 10000000             # the most people in a cohort (default 10 million)
//! [pseudonymise]                    # icr_pseudonymise::Spec
//! sections = ["demographics", "conditions"]
//! date_of_birth = "age_band"
//! postcode = "district"
//! ```
//! Unknown keys are refused; every error names the file and the key. Paths
//! are relative to the file's directory.

use std::collections::BTreeSet;
use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use icr_model::NhsNumber;
use icr_pseudonymise::{AreaLookup, ProjectKey, Spec};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::cohort::{Cohort, DEFAULT_MAX_COHORT, keyed_hash};
use crate::lists::{self, LineFormat};
use crate::run::mask_numbers;

/// The most people a national data opt-out list may hold (the national
/// list is a few million).
pub const MAX_OPT_OUTS: usize = 50_000_000;
/// The most people fetched at once.
pub const MAX_PEOPLE_IN_PARALLEL: usize = 64;
/// The most people between checkpoints.
pub const MAX_CHECKPOINT_EVERY: u64 = 100_000;

/// A problem in `extract.toml` or a file it names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The configuration file.
    pub file: PathBuf,
    /// The key, as written (`run.threshold`), when one is at fault.
    pub key: Option<String>,
    /// What is wrong (never an NHS number).
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.file.display())?;
        if let Some(key) = &self.key {
            write!(f, "{key}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// The purpose of an extract, recorded in each person's audit entry and
/// in the manifest: 1 to 64 of `a-z`, `0-9` and `-`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Purpose(String);

impl Purpose {
    /// The purpose as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Purpose {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        checked_token(s, "purpose").map(Self)
    }
}

/// `s` when it is 1 to 64 of `a-z 0-9 -` (a purpose, a run id), else why
/// not, naming `what`.
pub(crate) fn checked_token(s: String, what: &str) -> Result<String, String> {
    let ok = (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    match ok {
        true => Ok(s),
        false => Err(format!("a {what} is 1 to 64 of a-z, 0-9 and '-'")),
    }
}

impl From<Purpose> for String {
    fn from(p: Purpose) -> String {
        p.0
    }
}

/// The people on the national data opt-out list (none when no list is
/// configured).
#[derive(Clone, Default)]
pub struct OptOuts(BTreeSet<NhsNumber>);

impl fmt::Debug for OptOuts {
    /// The size only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OptOuts({} people)", self.0.len())
    }
}

impl OptOuts {
    /// A list of these people.
    pub fn new(people: impl IntoIterator<Item = NhsNumber>) -> Self {
        Self(people.into_iter().collect())
    }

    /// Whether `nhs` has opted out.
    pub fn contains(&self, nhs: NhsNumber) -> bool {
        self.0.contains(&nhs)
    }

    /// How many people.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when nobody is listed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A hash naming who of `cohort` the list leaves out, revealing no NHS
    /// number (over their pseudonyms under `key`): a run resumes only when
    /// the list leaves out the same people of its cohort, while changes to
    /// the list outside the cohort do not matter.
    pub fn hash_within(&self, key: &ProjectKey, cohort: &Cohort) -> String {
        let out = cohort.people().iter().filter(|n| self.0.contains(n));
        keyed_hash(key, b"icr-extract/v1/opt-out\0", out)
    }
}

/// An extract run's configuration, read and checked.
#[derive(Debug, Clone)]
pub struct ExtractConfig {
    /// Why the extract is made.
    pub purpose: Purpose,
    /// The project key (never printed: Debug shows its id).
    pub key: ProjectKey,
    /// The national data opt-out list.
    pub opt_outs: OptOuts,
    /// The postcode district → area lookup, when given.
    pub area_lookup: Option<AreaLookup>,
    /// SHA-256 of the area lookup file, when given.
    pub area_lookup_hash: Option<String>,
    /// Counts below this are suppressed in the summary.
    pub threshold: u64,
    /// People fetched at once.
    pub people_in_parallel: usize,
    /// People between checkpoints.
    pub checkpoint_every: u64,
    /// The most people in a cohort.
    pub max_cohort: usize,
    /// What the extract may hold.
    pub spec: Spec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    run: RawRun,
    pseudonymise: Spec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRun {
    pub(crate) purpose: Purpose,
    pub(crate) key_file: PathBuf,
    pub(crate) national_opt_out: Option<PathBuf>,
    pub(crate) area_lookup: Option<PathBuf>,
    #[serde(default = "default_threshold")]
    pub(crate) threshold: u64,
    #[serde(default = "default_parallel")]
    pub(crate) people_in_parallel: usize,
    #[serde(default = "default_checkpoint_every")]
    pub(crate) checkpoint_every: u64,
    #[serde(default = "default_max_cohort")]
    pub(crate) max_cohort: usize,
}

fn default_threshold() -> u64 {
    10
}
fn default_parallel() -> usize {
    4
}
fn default_checkpoint_every() -> u64 {
    50
}
fn default_max_cohort() -> usize {
    DEFAULT_MAX_COHORT
}

/// `extract.toml` parsed and checked, before the files it names are read.
pub(crate) struct Parsed {
    /// `[run]`.
    pub(crate) run: RawRun,
    /// `[pseudonymise]`.
    pub(crate) spec: Spec,
}

/// A [`ConfigError`] about `file` (and `key`); any run of ten digits in
/// `message` (a TOML or serde message may quote a value) is masked.
fn config_error(file: &Path, key: Option<&str>, message: &str) -> ConfigError {
    ConfigError {
        file: file.to_path_buf(),
        key: key.map(mask_numbers),
        message: mask_numbers(message),
    }
}

impl Parsed {
    /// Parses and checks the text of `file`, reading nothing: the TOML,
    /// unknown keys, ranges, and that `postcode = "area"` has a lookup.
    pub(crate) fn from_str(text: &str, file: &Path) -> Result<Self, ConfigError> {
        let err = |key: Option<&str>, message: &str| config_error(file, key, message);
        let de = toml::Deserializer::parse(text).map_err(|e| err(None, e.message().trim()))?;
        let raw: RawFile = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            err((key != ".").then_some(&key), e.inner().message().trim())
        })?;
        let (run, spec) = (raw.run, raw.pseudonymise);
        let range = |key: &str, ok: bool, what: &str| match ok {
            true => Ok(()),
            false => Err(err(Some(key), &format!("must be {what}"))),
        };
        range(
            "run.people_in_parallel",
            (1..=MAX_PEOPLE_IN_PARALLEL).contains(&run.people_in_parallel),
            &format!("1 to {MAX_PEOPLE_IN_PARALLEL}"),
        )?;
        range(
            "run.checkpoint_every",
            (1..=MAX_CHECKPOINT_EVERY).contains(&run.checkpoint_every),
            &format!("1 to {MAX_CHECKPOINT_EVERY}"),
        )?;
        range("run.threshold", run.threshold >= 1, "at least 1")?;
        range("run.max_cohort", run.max_cohort >= 1, "at least 1")?;
        range(
            "pseudonymise.sections",
            !spec.sections.is_empty(),
            "at least one section",
        )?;
        range(
            "pseudonymise.postcode",
            spec.postcode != icr_pseudonymise::PostcodeLevel::Area || run.area_lookup.is_some(),
            "district or none when no run.area_lookup is given",
        )?;
        Ok(Self { run, spec })
    }
}

impl ExtractConfig {
    /// Reads `file` and the files it names.
    pub fn load(file: &Path) -> Result<Self, ConfigError> {
        let err = |key: Option<&str>, message: String| config_error(file, key, &message);
        let text =
            std::fs::read_to_string(file).map_err(|e| err(None, format!("cannot read: {e}")))?;
        let Parsed { run, spec } = Parsed::from_str(&text, file)?;
        let base = file.parent().unwrap_or(Path::new("."));
        let key_path = base.join(&run.key_file);
        let key = read_key(&key_path).map_err(|m| err(Some("run.key_file"), m))?;
        let mut opt_outs = BTreeSet::new();
        if let Some(list) = &run.national_opt_out {
            lists::read_into(
                &base.join(list),
                LineFormat::Plain,
                MAX_OPT_OUTS,
                &mut opt_outs,
            )
            .map_err(|e| err(Some("run.national_opt_out"), e.to_string()))?;
        }
        let (area_lookup, area_lookup_hash) = match &run.area_lookup {
            Some(path) => {
                let (lookup, hash) =
                    read_lookup(&base.join(path)).map_err(|m| err(Some("run.area_lookup"), m))?;
                (Some(lookup), Some(hash))
            }
            None => (None, None),
        };
        Ok(Self {
            purpose: run.purpose,
            key,
            opt_outs: OptOuts(opt_outs),
            area_lookup,
            area_lookup_hash,
            threshold: run.threshold,
            people_in_parallel: run.people_in_parallel,
            checkpoint_every: run.checkpoint_every,
            max_cohort: run.max_cohort,
            spec,
        })
    }

    /// SHA-256 (hex) of the specification as JSON with sorted keys: a run
    /// resumes only under the specification it started with.
    pub fn spec_hash(&self) -> String {
        spec_hash(&self.spec)
    }
}

/// SHA-256 (hex) of `spec` as JSON with sorted keys (see
/// [`ExtractConfig::spec_hash`]; a manifest's spec hashes the same way).
pub(crate) fn spec_hash(spec: &Spec) -> String {
    let json = serde_json::to_value(spec)
        .map(|v| v.to_string())
        .unwrap_or_default();
    hex::encode(Sha256::digest(json.as_bytes()))
}

/// Reads the project key: the file's bytes, all of them. On unix a file
/// others may read, or group may write, is refused, as ssh refuses such a
/// private key; group read is allowed (a Kubernetes secret mounted with
/// `fsGroup` is 0440).
fn read_key(path: &Path) -> Result<ProjectKey, String> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o027 != 0 {
            return Err(format!(
                "{shown} has mode {mode:04o}: others may read it or group write it; make it 0600, 0400 or 0440"
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    ProjectKey::from_bytes(&bytes).map_err(|e| format!("{shown}: {e}"))
}

/// The longest area lookup file read: the UK's ~3,000 postcode districts
/// fit hundreds of times over.
pub const MAX_LOOKUP_BYTES: u64 = 16 * 1024 * 1024;

/// Reads an area lookup (see [`parse_lookup`]), at most
/// [`MAX_LOOKUP_BYTES`].
fn read_lookup(path: &Path) -> Result<(AreaLookup, String), String> {
    let shown = path.display();
    let cannot = |e: std::io::Error| format!("cannot read {shown}: {e}");
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_LOOKUP_BYTES + 1).read_to_end(&mut bytes))
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_LOOKUP_BYTES {
        return Err(format!("{shown}: longer than {MAX_LOOKUP_BYTES} bytes"));
    }
    parse_lookup(&bytes, &shown.to_string())
}

/// Parses an area lookup, the bytes of the file `shown`: `district,area`
/// lines, `#` comments and blank lines skipped, a first line
/// `district,area` a header. Returns it with the SHA-256 of the bytes. A
/// bad line is named by its number, never shown.
pub(crate) fn parse_lookup(bytes: &[u8], shown: &str) -> Result<(AreaLookup, String), String> {
    let text = std::str::from_utf8(bytes).map_err(|_| format!("{shown}: not UTF-8"))?;
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || (i == 0 && line == "district,area") {
            continue;
        }
        let (d, a) = line.split_once(',').unwrap_or((line, ""));
        rows.push((i + 1, d.trim(), a.trim()));
    }
    let lookup = AreaLookup::from_pairs(rows.iter().map(|(_, d, a)| (*d, *a))).map_err(|e| {
        let line = rows.get(e.row - 1).map_or(0, |r| r.0);
        format!("{shown}: line {line}: expected a postcode district and an area code of 1 to 12 letters or digits")
    })?;
    Ok((lookup, hex::encode(Sha256::digest(bytes))))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Dir(tempfile::TempDir);

    impl Dir {
        fn new() -> Self {
            let d = Dir(tempfile::tempdir().unwrap());
            d.write("project.key", &[7; 32]);
            d
        }

        fn write(&self, name: &str, bytes: &[u8]) {
            let path = self.0.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            }
        }

        fn load(&self, toml: &str) -> Result<ExtractConfig, String> {
            self.write("extract.toml", toml.as_bytes());
            ExtractConfig::load(&self.0.path().join("extract.toml")).map_err(|e| {
                e.to_string()
                    .replace(&self.0.path().display().to_string(), "D")
            })
        }
    }

    const SPEC: &str = "[pseudonymise]\nsections = [\"demographics\", \"conditions\"]\ndate_of_birth = \"age_band\"\npostcode = \"district\"\n";

    fn with_run(run: &str) -> String {
        format!("[run]\npurpose = \"population-health\"\nkey_file = \"project.key\"\n{run}{SPEC}")
    }

    #[test]
    fn reads_a_whole_config_with_paths_beside_it() {
        let d = Dir::new();
        d.write(
            "opt-out.txt",
            b"# national data opt-out\n9434765919\n\n943 476 5870\n",
        );
        d.write(
            "areas.csv",
            b"district,area\nSN15,E06000054\n# x\nBA1,E06000022\n",
        );
        let c = d
            .load(&with_run(
                "national_opt_out = \"opt-out.txt\"\narea_lookup = \"areas.csv\"\nthreshold = 5\npeople_in_parallel = 8\ncheckpoint_every = 7\nmax_cohort = 100\n",
            ))
            .unwrap();
        assert_eq!(c.purpose.as_str(), "population-health");
        assert_eq!(
            c.key.key_id(),
            ProjectKey::from_bytes(&[7; 32]).unwrap().key_id()
        );
        assert_eq!(c.opt_outs.len(), 2);
        assert!(c.opt_outs.contains(NhsNumber::parse("9434765870").unwrap()));
        assert_eq!(c.area_lookup.as_ref().map(AreaLookup::len), Some(2));
        assert_eq!(
            c.area_lookup_hash.as_deref(),
            Some(
                hex::encode(Sha256::digest(
                    b"district,area\nSN15,E06000054\n# x\nBA1,E06000022\n"
                ))
                .as_str()
            )
        );
        assert_eq!(
            (
                c.threshold,
                c.people_in_parallel,
                c.checkpoint_every,
                c.max_cohort
            ),
            (5, 8, 7, 100)
        );
        assert_eq!(format!("{:?}", c.opt_outs), "OptOuts(2 people)");
        assert!(!format!("{c:?}").contains("9434765870"));
    }

    #[test]
    fn defaults() {
        let c = Dir::new().load(&with_run("")).unwrap();
        assert_eq!(
            (
                c.threshold,
                c.people_in_parallel,
                c.checkpoint_every,
                c.max_cohort
            ),
            (10, 4, 50, 10_000_000)
        );
        assert!(c.opt_outs.is_empty() && c.area_lookup.is_none() && c.area_lookup_hash.is_none());
        assert_eq!(c.spec_hash().len(), 64);
    }

    /// Each mistake is named by its key (and the file), never echoing an
    /// NHS number.
    #[test]
    fn errors_name_the_key() {
        let d = Dir::new();
        let cases = [
            (
                with_run("colour = 1\n"),
                "D/extract.toml: run.colour: unknown field `colour`",
            ),
            (
                with_run("threshold = \"ten\"\n"),
                "D/extract.toml: run.threshold: invalid type",
            ),
            (
                with_run("people_in_parallel = 0\n"),
                "D/extract.toml: run.people_in_parallel: must be 1 to 64",
            ),
            (
                with_run("checkpoint_every = 0\n"),
                "D/extract.toml: run.checkpoint_every: must be 1 to 100000",
            ),
            (
                with_run("threshold = 0\n"),
                "D/extract.toml: run.threshold: must be at least 1",
            ),
            (
                with_run("max_cohort = 0\n"),
                "D/extract.toml: run.max_cohort: must be at least 1",
            ),
            (
                with_run("national_opt_out = \"none.txt\"\n"),
                "D/extract.toml: run.national_opt_out: D/none.txt: cannot read",
            ),
            (
                format!(
                    "[run]\npurpose = \"Population Health\"\nkey_file = \"project.key\"\n{SPEC}"
                ),
                "D/extract.toml: run.purpose: a purpose is 1 to 64 of a-z, 0-9 and '-'",
            ),
            (
                format!("[run]\npurpose = \"p\"\n{SPEC}"),
                "D/extract.toml: run: missing field `key_file`",
            ),
            (
                format!("[run]\npurpose = \"p\"\nkey_file = \"missing.key\"\n{SPEC}"),
                "D/extract.toml: run.key_file: cannot read D/missing.key",
            ),
            (
                with_run("").replace("postcode = \"district\"", "postcode = \"area\""),
                "D/extract.toml: pseudonymise.postcode: must be district or none when no run.area_lookup is given",
            ),
            (
                with_run("").replace("[\"demographics\", \"conditions\"]", "[]"),
                "D/extract.toml: pseudonymise.sections: must be at least one section",
            ),
            (
                with_run("").replace("date_of_birth = \"age_band\"", "date_of_birth = \"day\""),
                "D/extract.toml: pseudonymise.date_of_birth: unknown variant `day`",
            ),
            (
                format!("{}\nnames = true\n", with_run("")),
                "D/extract.toml: pseudonymise.names: unknown field `names`",
            ),
            ("[run\n".into(), "D/extract.toml: "),
        ];
        let wrong: Vec<String> = cases
            .iter()
            .map(|(toml, want)| (d.load(toml).unwrap_err(), want))
            .filter(|(got, want)| !got.starts_with(*want))
            .map(|(got, want)| format!("{got}\n  wanted {want}"))
            .collect();
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
        d.write("opt-out.txt", b"9434765919\n9434765918\n");
        let got = d
            .load(&with_run("national_opt_out = \"opt-out.txt\"\n"))
            .unwrap_err();
        assert_eq!(
            got,
            "D/extract.toml: run.national_opt_out: D/opt-out.txt: line 2: not an NHS number (wrong check digit)"
        );
        d.write("areas.csv", b"SN15,E06000054\n\nnot a district,x\n");
        let got = d
            .load(&with_run("area_lookup = \"areas.csv\"\n"))
            .unwrap_err();
        assert!(
            got.starts_with("D/extract.toml: run.area_lookup: D/areas.csv: line 3: expected"),
            "{got}"
        );
    }

    #[test]
    fn short_or_exposed_keys_are_refused() {
        let d = Dir::new();
        d.write("project.key", &[7; 31]);
        assert_eq!(
            d.load(&with_run("")).unwrap_err(),
            "D/extract.toml: run.key_file: D/project.key: the project key has 31 bytes; at least 32 are required"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            d.write("project.key", &[7; 32]);
            let key = d.0.path().join("project.key");
            for (mode, ok) in [
                (0o600, true),
                (0o400, true),
                (0o440, true),
                (0o640, true),
                (0o644, false),
                (0o660, false),
                (0o604, false),
            ] {
                std::fs::set_permissions(&key, std::fs::Permissions::from_mode(mode)).unwrap();
                let got = d.load(&with_run(""));
                assert_eq!(got.is_ok(), ok, "{mode:o}: {got:?}");
                if let Err(e) = got {
                    assert_eq!(
                        e,
                        format!(
                            "D/extract.toml: run.key_file: D/project.key has mode {mode:04o}: others may read it or group write it; make it 0600, 0400 or 0440"
                        )
                    );
                }
            }
        }
    }
}

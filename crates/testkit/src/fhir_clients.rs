//! Real FHIR clients, run over what the gateway writes: Python
//! `fhirclient` (a strict parse of every Bundle), FHIR.js (npm `fhir`,
//! validation against the R4 structure definitions) and fhir-kit-client
//! (an application reading `$everything` from a running gateway). They are
//! installed, pinned, by `bash tools/fhir-clients/install.sh` into
//! `tools/fhir-clients/`; nothing is downloaded at test time.
//!
//! When they are not installed, [`installed`] prints loudly that the check
//! is skipped and how to install them, and returns `None` — except under
//! `CI=true`, where a missing client fails the test.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The installed clients.
#[derive(Clone, Debug)]
pub struct FhirClients {
    dir: PathBuf,
    python: PathBuf,
}

/// What one client run said.
#[derive(Debug)]
pub struct Run {
    /// Whether the client found no problem (exit status 0).
    pub ok: bool,
    /// Its output: one line per file or patient, then `N passed, N failed`.
    pub output: String,
}

/// The clients' directory in the workspace.
pub fn tools_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/fhir-clients")
}

fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// The clients, when installed. Otherwise `None`, after saying so loudly on
/// stderr (`what` names the check skipped); under `CI=true`, panics.
pub fn installed(what: &str) -> Option<FhirClients> {
    let dir = tools_dir();
    let python = dir.join(".venv/bin/python");
    let missing: Vec<&str> = [
        (python.is_file(), "Python fhirclient (.venv)"),
        (
            dir.join("node_modules/fhir/package.json").is_file(),
            "FHIR.js (node_modules/fhir)",
        ),
        (
            dir.join("node_modules/fhir-kit-client/package.json")
                .is_file(),
            "fhir-kit-client (node_modules/fhir-kit-client)",
        ),
        (
            Command::new("node").arg("--version").output().is_ok(),
            "node",
        ),
    ]
    .into_iter()
    .filter(|(present, _)| !present)
    .map(|(_, name)| name)
    .collect();
    if missing.is_empty() {
        return Some(FhirClients { dir, python });
    }
    let message = format!(
        "the real FHIR clients are not installed ({}): run `bash tools/fhir-clients/install.sh` \
         (PyPI fhirclient 4.4.0, npm fhir 4.12.0 and fhir-kit-client 2.0.3; python3 and node 20+)",
        missing.join(", ")
    );
    assert!(!under_ci(), "CI=true and {message}");
    eprintln!(
        "\n==================== SKIPPED: {what} ====================\n{message}\n\
         =========================================================\n"
    );
    None
}

impl FhirClients {
    fn run(&self, mut command: Command) -> Run {
        match command.current_dir(&self.dir).output() {
            Ok(out) => Run {
                ok: out.status.success(),
                output: format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ),
            },
            Err(e) => Run {
                ok: false,
                output: format!("could not run {command:?}: {e}"),
            },
        }
    }

    /// Parses every Bundle file with Python `fhirclient`, strictly.
    pub fn fhirclient(&self, files: &[PathBuf]) -> Run {
        let mut c = Command::new(&self.python);
        c.arg("read_bundles.py").args(files);
        self.run(c)
    }

    /// Validates every Bundle file with FHIR.js.
    pub fn fhir_js(&self, files: &[PathBuf]) -> Run {
        let mut c = Command::new("node");
        c.arg("validate_bundles.js").args(files);
        self.run(c)
    }

    /// Reads each patient's `$everything` from the FHIR base `base` with
    /// fhir-kit-client (POST, then every `next` page; `count` asks for
    /// that page size), writing the pages into `out_dir`.
    pub fn fhir_kit_client(
        &self,
        base: &str,
        token: &str,
        out_dir: &Path,
        count: Option<u32>,
        patients: &[&str],
    ) -> Run {
        let mut c = Command::new("node");
        c.arg("kit_everything.mjs")
            .arg(base)
            .arg(out_dir)
            .env("FHIR_TOKEN", token);
        if let Some(n) = count {
            c.args(["--count", &n.to_string()]);
        }
        c.args(patients);
        self.run(c)
    }
}

//! Shared by the end-to-end tests: the demo region run as the `icr` binary
//! on ephemeral ports, tokens from `icr token`, configuration copies.

#![allow(dead_code)]

pub mod store;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The running demo; killed when dropped.
pub struct Demo {
    /// The `icr demo` process.
    pub child: Child,
    /// The gateway's base URL.
    pub gateway: String,
    /// The simulator control API's base URL.
    pub control: String,
    /// The audit log's directory.
    pub audit: String,
}

impl Drop for Demo {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// Stops a child process as an operator would (SIGTERM), so that it cleans
/// up after itself; kills it if it has not stopped within 15 s.
pub fn stop(child: &mut Child) {
    if matches!(child.try_wait(), Ok(None)) {
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let started = std::time::Instant::now();
        while matches!(child.try_wait(), Ok(None)) && started.elapsed() < Duration::from_secs(15) {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Starts `command` with its stdout piped, and the lines it prints: a
/// thread keeps draining them after the test stops listening, so the
/// process never writes to a closed pipe.
pub fn spawn_with_lines(command: &mut Command) -> (Child, mpsc::Receiver<String>) {
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .expect("the icr binary starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (child, rx)
}

pub fn start_demo() -> Demo {
    start_demo_in(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/demo"
    )))
}

/// Starts `icr demo --ephemeral` on the configuration in `config`.
pub fn start_demo_in(config: &std::path::Path) -> Demo {
    start_demo_with_env(config, &[])
}

/// As [`start_demo_in`], with extra environment variables.
pub fn start_demo_with_env(config: &std::path::Path, env: &[(&str, &str)]) -> Demo {
    start_demo_with(config, env, &[])
}

/// As [`start_demo_in`], with extra environment variables and arguments.
pub fn start_demo_with(config: &std::path::Path, env: &[(&str, &str)], args: &[&str]) -> Demo {
    let mut command = Command::new(env!("CARGO_BIN_EXE_icr"));
    command.env("RUST_LOG", "warn").envs(env.iter().copied());
    start_demo_command(command, config, args)
}

/// `icr demo --ephemeral` on `config/demo`, its open-file limit (soft and
/// hard) lowered to `nofile` before it starts, with extra environment
/// variables.
pub fn start_demo_with_nofile(nofile: u32, env: &[(&str, &str)]) -> Demo {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!("ulimit -n {nofile} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_icr"))
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied());
    let config = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config/demo"));
    start_demo_command(command, config, &[])
}

/// Runs `command` (the `icr` binary, or a shell that execs it) with `demo
/// --ephemeral --config {config} {args}` and waits for its addresses.
fn start_demo_command(mut command: Command, config: &std::path::Path, args: &[&str]) -> Demo {
    let (child, rx) = spawn_with_lines(
        command
            .args(["demo", "--ephemeral", "--config"])
            .arg(config)
            .args(args)
            .stderr(Stdio::null()),
    );
    let (mut gateway, mut control, mut audit) = (None, None, None);
    while gateway.is_none() || control.is_none() || audit.is_none() {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the demo prints its addresses within a minute");
        if let Some(rest) = line.strip_prefix("icr gateway listening on ") {
            gateway = rest.split_whitespace().next().map(str::to_owned);
        }
        if let Some(rest) = line.strip_prefix("audit log") {
            audit = Some(rest.trim().to_owned());
        }
        if let Some(rest) = line.strip_prefix("simulator control") {
            control = rest
                .split_whitespace()
                .next()
                .map(|u| u.trim_end_matches("/sources").to_owned());
        }
    }
    Demo {
        child,
        gateway: gateway.unwrap_or_default(),
        control: control.unwrap_or_default(),
        audit: audit.unwrap_or_default(),
    }
}

/// Runs the `icr` binary with `args`, failing the test (with what it
/// said) unless it succeeds; its output.
pub fn icr_succeeds<I, S>(args: I) -> std::process::Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = Command::new(env!("CARGO_BIN_EXE_icr"))
        .args(args)
        .output()
        .expect("the icr binary runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A token minted by `icr token` for `role` at `org`.
pub fn mint(role: &str, org: &str) -> String {
    let out = icr_succeeds([
        "token",
        "--config",
        concat!(env!("CARGO_MANIFEST_DIR"), "/config/demo"),
        "--role",
        role,
        "--org",
        org,
    ]);
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The viewer's accesses (interaction `viewer`) to `nhs` in the demo's
/// audit, as its privacy officer reads them.
pub async fn viewer_accesses(demo: &Demo, nhs: &str) -> Vec<serde_json::Value> {
    let bytes = reqwest::Client::new()
        .get(format!("{}/v1/audit?patient={nhs}", demo.gateway))
        .bearer_auth(mint("R0001", "RN3"))
        .send()
        .await
        .expect("the audit answers")
        .bytes()
        .await
        .expect("a body");
    let mut body: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
    match body["accesses"].take() {
        serde_json::Value::Array(all) => all
            .into_iter()
            .filter(|a| a["interaction"] == "viewer")
            .collect(),
        _ => Vec::new(),
    }
}

/// A copy of `config/{name}` (its files, `sources.d/` and `keys/`) in a
/// fresh temporary directory.
pub fn copy_config(name: &str) -> std::path::PathBuf {
    // Tests run in parallel threads of one process: one copy each.
    static COPIES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = COPIES.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("icr-{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let from = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("config")
        .join(name);
    for sub in ["", "sources.d", "keys"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
        for entry in std::fs::read_dir(from.join(sub)).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                std::fs::copy(&path, dir.join(sub).join(path.file_name().unwrap())).unwrap();
            }
        }
    }
    dir
}

/// A copy of `config/example`, its audit log inside the copy.
pub fn copy_example(name: &str) -> std::path::PathBuf {
    assert_eq!(name, "example");
    let dir = copy_config(name);
    let gateway = std::fs::read_to_string(dir.join("gateway.toml"))
        .unwrap()
        .replace("dir = \"/var/lib/icr/audit\"", "dir = \"audit\"");
    assert!(gateway.contains("dir = \"audit\""));
    std::fs::write(dir.join("gateway.toml"), gateway).unwrap();
    dir
}

/// Copies the directory `from` to `to`, but for any `audit` directory in
/// it (a demo's audit log is its own).
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            if e.file_name() != "audit" {
                copy_dir(&e.path(), &target);
            }
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// The value of an unlabelled metric in a `/metrics` text.
pub fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// Polls `check` every 100 ms until it holds, failing the test after
/// `within`.
pub async fn eventually_within<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = std::time::Instant::now();
    while !check().await {
        assert!(
            started.elapsed() < within,
            "{what}: not within {} s",
            within.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

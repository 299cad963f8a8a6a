//! `icr sim` and `icr demo`: the simulated region's source systems
//! (`icr_sim`) alone, or with the gateway (`icr_service`) configured from
//! the same directory and pointed at them, on loopback, with a banner
//! saying what to try. Not part of what a deployment runs: the `icr`
//! binary links this crate only with its `demo` feature.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use icr_adapter_sdk::Registry;
use icr_config::Config;
use icr_service::{Listening, ServiceError, say};
use icr_sim::Sim;

mod extract;
pub use extract::{ExtractDemoArgs, extract};

/// What `icr sim` is given.
#[derive(Clone, Debug, clap::Args)]
pub struct SimArgs {
    /// Directory holding sim.toml.
    #[arg(long, default_value = "config/demo")]
    pub config: PathBuf,
    /// Bind every simulated source and the control API to a free port.
    #[arg(long)]
    pub ephemeral: bool,
}

/// What `icr demo` is given.
#[derive(Clone, Debug, clap::Args)]
pub struct DemoArgs {
    /// Directory holding sim.toml, gateway.toml and sources.d/.
    #[arg(long, default_value = "config/demo")]
    pub config: PathBuf,
    /// Gateway listen address, overriding gateway.toml.
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Bind everything (sources, control API, gateway) to free ports and
    /// point the gateway's sources at them. The audit log goes to a
    /// private temporary directory, removed when the demo stops, unless
    /// `--audit-dir` names one.
    #[arg(long)]
    pub ephemeral: bool,
    /// Write the audit log here (and keep it), instead of gateway.toml's
    /// directory or, with `--ephemeral`, a temporary one.
    #[arg(long)]
    pub audit_dir: Option<PathBuf>,
}

/// Why the simulated region or the demo could not run.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// sim.toml does not load.
    #[error("{0}")]
    SimConfig(#[from] icr_sim::SimConfigError),
    /// The simulators could not start.
    #[error("{0}")]
    Sim(#[from] icr_sim::SimError),
    /// The gateway could not start or stopped serving.
    #[error("{0}")]
    Gateway(#[from] ServiceError),
    /// A file could not be written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// `icr sim`: the simulated region until SIGINT or SIGTERM.
pub async fn sim(args: &SimArgs) -> Result<(), DemoError> {
    let sim = start_sim(&args.config, args.ephemeral).await?;
    sim_lines(&sim).iter().for_each(|l| say(l));
    icr_service::shutdown_signal().await;
    sim.shutdown().await;
    Ok(())
}

/// `icr demo`: the simulated region, and the gateway on the same
/// configuration directory until SIGINT or SIGTERM. With `--ephemeral`,
/// the gateway's sources point at wherever the simulators were bound, at
/// every load (a reload included, which would otherwise see them as
/// changes to apply).
pub async fn demo(args: &DemoArgs, registry: Registry) -> Result<(), DemoError> {
    let dir = args.config.as_path();
    let ephemeral = args.ephemeral;
    let sim = start_sim(dir, ephemeral).await?;
    let endpoints: HashMap<String, String> = sim
        .sources()
        .into_iter()
        .filter_map(|id| sim.endpoint(&id).map(|e| (id, e)))
        .collect();
    // Declared before everything that writes to it, so that it is removed
    // after the gateway has closed the log.
    let (audit_dir, _private_audit) = audit_dir(args.audit_dir.clone(), ephemeral);
    let load = move |dir: &Path| {
        let mut config = Config::load_with(dir, &registry, |spec| {
            if ephemeral
                && let Some(url) = endpoints.get(spec.id.as_str()).and_then(|e| e.parse().ok())
            {
                spec.endpoint = url;
            }
        })?;
        if let Some(d) = &audit_dir {
            config.gateway.audit.dir = d.clone();
        }
        Ok(config)
    };
    let listen = if ephemeral {
        Some(args.listen.unwrap_or(SocketAddr::from(([127, 0, 0, 1], 0))))
    } else {
        args.listen
    };
    let served = icr_service::run(dir, listen, load, |up| {
        sim_lines(&sim).iter().for_each(|l| say(l));
        say(&up.to_string());
        say(&format!("audit log          {}", up.audit_dir.display()));
        if let Some(viewer) = &up.viewer {
            say(&format!(
                "viewer             {viewer}   (open it in a browser; sign in as the demo's clinician)"
            ));
        }
        banner(&sim, up, dir).iter().for_each(|l| say(l));
    })
    .await;
    sim.shutdown().await;
    Ok(served?)
}

async fn start_sim(dir: &Path, ephemeral: bool) -> Result<Sim, DemoError> {
    let mut config = icr_sim::SimConfig::load(&dir.join("sim.toml"))?;
    if ephemeral {
        config = config.with_ephemeral_ports();
    }
    Ok(Sim::start(config).await?)
}

/// Where the demo's audit log goes: `--audit-dir`, else with
/// `--ephemeral` a private directory (so that runs side by side never
/// share one) removed when the guard is dropped, else gateway.toml's.
fn audit_dir(asked: Option<PathBuf>, ephemeral: bool) -> (Option<PathBuf>, Option<RemoveOnDrop>) {
    match (asked, ephemeral) {
        (Some(d), _) => (Some(d), None),
        (None, true) => {
            let private =
                std::env::temp_dir().join(format!("icr-demo-audit-{}", std::process::id()));
            (Some(private.clone()), Some(RemoveOnDrop(private)))
        }
        (None, false) => (None, None),
    }
}

/// A directory removed when dropped: the ephemeral demo's audit log, which
/// holds (synthetic) NHS numbers and must not outlive the run.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        match std::fs::remove_dir_all(&self.0) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => eprintln!("icr: cannot remove {}: {e}", self.0.display()),
        }
    }
}

/// What the simulated region serves, a line per source.
fn sim_lines(sim: &Sim) -> Vec<String> {
    let endpoints: Vec<(String, String)> = sim
        .sources()
        .into_iter()
        .filter_map(|id| sim.endpoint(&id).map(|e| (id, e)))
        .collect();
    source_lines(&endpoints, sim.control_addr())
}

/// A line per simulated source (`endpoints`: id and endpoint, in order),
/// the GP practices on one line for all of them (they share one
/// simulator), then the control API's.
fn source_lines(endpoints: &[(String, String)], control: Option<SocketAddr>) -> Vec<String> {
    let mut lines = Vec::new();
    let mut practices = Vec::new();
    for (source, endpoint) in endpoints {
        if source.starts_with("gp-") {
            practices.push((source, endpoint));
        } else {
            lines.push(format!("simulated source {source:<4} {endpoint}"));
        }
    }
    if let (Some((first, endpoint)), Some((last, _))) = (practices.first(), practices.last()) {
        let ods = first.trim_start_matches("gp-").to_uppercase();
        let pattern = endpoint.replacen(&format!("/{ods}/"), "/{ODS}/", 1);
        lines.push(format!(
            "simulated practices {first} … {last} ({} GP practices) {pattern}",
            practices.len()
        ));
    }
    if let Some(control) = control {
        lines.push(format!(
            "simulator control  http://{control}/sources  (POST /sources/{{id}}/stop, /start)"
        ));
    }
    lines
}

/// The story patients, a token for a clinician and requests to try.
fn banner(sim: &Sim, up: &Listening, dir: &Path) -> Vec<String> {
    let stories: Vec<(String, &str)> = sim
        .population()
        .stories()
        .into_iter()
        .map(|s| (s.nhs_number.to_string(), s.summary))
        .collect();
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "icr".into());
    let clinician = icr_token::mint(
        dir,
        &icr_auth::MintClaims {
            sub: "demo-clinician".into(),
            name: "Dr Demo Clinician".into(),
            role: "R8000".into(),
            org: "RN3".into(),
            purpose: "directcare".into(),
            nhs_number: None,
        },
        8 * 3600,
    );
    examples(&stories, up.addr, dir, &exe, clinician, sim.control_addr())
}

/// The banner's text: `stories` (NHS number, summary), then, when there is
/// one, requests to try on the first, with `token` (or why there is none).
fn examples(
    stories: &[(String, &str)],
    addr: SocketAddr,
    dir: &Path,
    exe: &str,
    token: Result<String, icr_token::TokenError>,
    control: Option<SocketAddr>,
) -> Vec<String> {
    let base = format!("http://{addr}");
    let mut l = vec![
        String::new(),
        "Story patients (see config/demo/README.md):".to_string(),
    ];
    for (nhs, summary) in stories {
        l.push(format!("  {nhs}  {summary}"));
    }
    let Some((first, _)) = stories.first() else {
        return l;
    };
    l.push(String::new());
    l.push("Every request needs a bearer token. A clinician at Great Western Hospitals (R8000, RN3), valid 8 hours:".into());
    l.push(match token {
        Ok(t) => format!("  export TOKEN={t}"),
        Err(e) => format!("  (cannot mint a demo token: {e})"),
    });
    l.push("Other roles and organisations:".into());
    l.push(format!(
        "  export TOKEN=$({exe} token --config {} --role R8000 --org RD1)",
        dir.display()
    ));
    l.push(String::new());
    l.push("Try:".into());
    let auth = "-H \"Authorization: Bearer $TOKEN\"";
    l.push(format!(
        "  curl -s {auth} {base}/v1/patients/{first}/record | jq"
    ));
    l.push(format!(
        "  curl -s {auth} '{base}/v1/patients/{first}/record?sections=allergies,medications' | jq"
    ));
    l.push(format!(
        "  curl -s {auth} '{base}/fhir/r4/Patient/{first}/$everything' | jq"
    ));
    l.push(format!(
        "  curl -s {auth} {base}/v1/patients/9434765918/record | jq     # invalid NHS number: 400"
    ));
    l.push(format!(
        "  curl -s {base}/v1/patients/{first}/record | jq     # no token: 401"
    ));
    if let Some(control) = control {
        l.push(format!(
            "  curl -s -X POST http://{control}/sources/awp/stop    # then ask for 9990000026: awp is unavailable"
        ));
        l.push(format!(
            "  curl -s -X POST http://{control}/sources/awp/start"
        ));
    }
    l.push(String::new());
    l.push("Ctrl-C stops everything.".into());
    l
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(a: &str, b: &str) -> (String, String) {
        (a.into(), b.into())
    }

    #[test]
    fn practices_share_one_line_with_their_endpoint_pattern() {
        let control = SocketAddr::from(([127, 0, 0, 1], 9100));
        let lines = source_lines(
            &[
                s("gwh", "http://127.0.0.1:9101/fhir"),
                s("gp-a81001", "http://127.0.0.1:9102/A81001/gpc"),
                s("gp-a81002", "http://127.0.0.1:9102/A81002/gpc"),
                s("pds", "http://127.0.0.1:9103/pds"),
            ],
            Some(control),
        );
        assert_eq!(
            lines,
            [
                "simulated source gwh  http://127.0.0.1:9101/fhir",
                "simulated source pds  http://127.0.0.1:9103/pds",
                "simulated practices gp-a81001 … gp-a81002 (2 GP practices) http://127.0.0.1:9102/{ODS}/gpc",
                "simulator control  http://127.0.0.1:9100/sources  (POST /sources/{id}/stop, /start)",
            ]
        );
        assert!(source_lines(&[], None).is_empty());
    }

    #[test]
    fn the_banner_lists_the_stories_and_requests_on_the_first() {
        let addr = SocketAddr::from(([127, 0, 0, 1], 8080));
        let lines = examples(
            &[
                ("9990000018".into(), "two hospitals"),
                ("9990000026".into(), "mental health"),
            ],
            addr,
            Path::new("config/demo"),
            "icr",
            Ok("T".into()),
            None,
        );
        assert_eq!(lines[1], "Story patients (see config/demo/README.md):");
        assert_eq!(lines[2], "  9990000018  two hospitals");
        assert_eq!(lines[3], "  9990000026  mental health");
        assert!(lines.contains(&"  export TOKEN=T".to_string()));
        assert!(lines.contains(
            &"  export TOKEN=$(icr token --config config/demo --role R8000 --org RD1)".to_string()
        ));
        assert!(lines.contains(
            &"  curl -s -H \"Authorization: Bearer $TOKEN\" http://127.0.0.1:8080/v1/patients/9990000018/record | jq".to_string()
        ));
        assert_eq!(lines.last().unwrap(), "Ctrl-C stops everything.");
        assert!(!lines.iter().any(|l| l.contains("/sources/awp/")));
    }

    #[test]
    fn without_stories_the_banner_stops_after_the_heading() {
        let addr = SocketAddr::from(([127, 0, 0, 1], 8080));
        let lines = examples(
            &[],
            addr,
            Path::new("d"),
            "icr",
            Err(icr_token::TokenError::Ttl),
            None,
        );
        assert_eq!(lines, ["", "Story patients (see config/demo/README.md):"]);
    }

    #[test]
    fn an_ephemeral_demo_writes_its_audit_log_to_a_private_directory_removed_after() {
        let (dir, guard) = audit_dir(None, true);
        let dir = dir.unwrap();
        assert!(dir.ends_with(format!("icr-demo-audit-{}", std::process::id())));
        std::fs::create_dir_all(&dir).unwrap();
        drop(guard);
        assert!(!dir.exists());
        let (asked, guard) = audit_dir(Some(PathBuf::from("kept")), true);
        assert_eq!(asked, Some(PathBuf::from("kept")));
        assert!(guard.is_none());
        assert!(matches!(audit_dir(None, false), (None, None)));
    }
}

//! `icr extract demo`: a population-health extract over the simulated
//! region's whole population on one machine — the simulators started on
//! free ports, the gateway of the demo's configuration pointed at them
//! (without a listener), the cohort taken from the practices' registered
//! lists as each simulated practice would export them, and the demo's
//! extract specification (`extract/extract.toml` beside gateway.toml).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use icr_adapter_sdk::Registry;
use icr_config::Config;
use icr_service::extract::{RunRequest, run_with_config};

use crate::{DemoError, RemoveOnDrop, start_sim};

/// What `icr extract demo` is given.
#[derive(Clone, Debug, clap::Args)]
pub struct ExtractDemoArgs {
    /// Directory holding sim.toml, gateway.toml, sources.d/ and extract/.
    #[arg(long, default_value = "config/demo")]
    pub config: PathBuf,
    /// Where the extract is written: a new (or empty) directory, or the
    /// stopped run's with `--resume`.
    #[arg(long, default_value = "target/extract-demo")]
    pub out: PathBuf,
    /// The date ages are reckoned on (YYYY-MM-DD; default today, or the
    /// stopped run's).
    #[arg(long)]
    pub date: Option<icr_extract::RunDate>,
    /// One shard of the cohort (I/N), written below `--out`.
    #[arg(long)]
    pub shard: Option<icr_extract::Shard>,
    /// Continue the run stopped in `--out` from its last checkpoint (with
    /// none: afresh in an empty directory, nothing when finished).
    #[arg(long)]
    pub resume: bool,
    /// Keep the audit log here (one entry per person read); by default a
    /// private temporary directory, removed at the end.
    #[arg(long)]
    pub audit_dir: Option<PathBuf>,
}

/// Runs the demo extract; the manifest's counts are said on stdout.
pub async fn extract(args: &ExtractDemoArgs, registry: Registry) -> Result<(), DemoError> {
    let dir = args.config.as_path();
    let sim = start_sim(dir, true).await?;
    let endpoints: HashMap<String, String> = sim
        .sources()
        .into_iter()
        .filter_map(|id| sim.endpoint(&id).map(|e| (id, e)))
        .collect();
    let private = std::env::temp_dir().join(format!("icr-extract-demo-{}", std::process::id()));
    let _remove = RemoveOnDrop(private.clone());
    let lists = private.join("registered-lists");
    write_registered_lists(sim.population(), &lists).map_err(|source| DemoError::Io {
        path: lists.clone(),
        source,
    })?;
    // The demo's key is committed, so a clone leaves it readable by
    // others, which a real key must never be: the run reads a private copy.
    let spec_dir = private.join("extract");
    private_copy(&dir.join("extract"), &spec_dir).map_err(|source| DemoError::Io {
        path: spec_dir.clone(),
        source,
    })?;
    let mut config = Config::load_with(dir, &registry, |spec| {
        if let Some(url) = endpoints.get(spec.id.as_str()).and_then(|e| e.parse().ok()) {
            spec.endpoint = url;
        }
    })
    .map_err(icr_service::ServiceError::from)?;
    config.gateway.audit.dir = args.audit_dir.clone().unwrap_or(private.join("audit"));
    let request = RunRequest {
        spec: spec_dir.join("extract.toml"),
        cohort: format!("registered:{}", lists.display()),
        out: args.out.clone(),
        shard: args.shard,
        run_id: None,
        date: args.date,
        resume: args.resume,
    };
    let result = run_with_config(&config, &request).await;
    sim.shutdown().await;
    result?;
    Ok(())
}

/// Copies the files of `from` into `to`, readable by the owner only.
fn private_copy(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            let target = to.join(entry.file_name());
            std::fs::copy(entry.path(), &target)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600))?;
            }
        }
    }
    Ok(())
}

/// Each simulated practice's registered list, as it would export it:
/// `<ODS code>.csv`, a header, then one NHS number a line.
fn write_registered_lists(
    population: &icr_sim::population::Population,
    dir: &Path,
) -> std::io::Result<()> {
    let mut lists: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    for person in population.iter() {
        if let Some(practice) = person.registered_practice() {
            lists
                .entry(practice.ods_code())
                .or_default()
                .push(person.nhs_number.to_string());
        }
    }
    std::fs::create_dir_all(dir)?;
    for (ods, people) in lists {
        let mut text = String::from("nhs_number\n");
        for p in people {
            text.push_str(&p);
            text.push('\n');
        }
        std::fs::write(dir.join(format!("{ods}.csv")), text)?;
    }
    Ok(())
}

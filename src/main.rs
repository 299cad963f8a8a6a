//! The `icr` command: run the gateway (`serve`), the simulated region
//! (`sim`), or both together on loopback (`demo`), or a population-health
//! extract (`extract`). Parses the arguments
//! and hands each command to the library crate that does it
//! (`icr_service`, `icr_source_check`, `icr_audit_verify`, `icr_token`,
//! `icr_demo`); says how it ended with the exit code. The simulated region
//! is linked only with the `demo` feature (a default one): a deployment
//! builds with `--no-default-features`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use icr_adapter_sdk::Registry;
use icr_service::say;

#[cfg(feature = "demo")]
use icr_demo::{DemoArgs, ExtractDemoArgs, SimArgs};
#[cfg(not(feature = "demo"))]
use not_built::{
    NOT_BUILT, NotBuilt as DemoArgs, NotBuilt as ExtractDemoArgs, NotBuilt as SimArgs,
};

/// Integrated Care Record gateway: one merged view of a person's records,
/// fetched live from every source that holds them.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the hash chain of audit log files (or of every log file in a
    /// directory): any edited, removed, reordered, inserted or truncated
    /// record, or a time going backwards, is reported with its file and
    /// line; exit code 1 if so. Against heads published earlier (`--head`,
    /// `--anchors`), a log cut at a line boundary is caught too.
    Verify(icr_audit_verify::Args),
}

#[derive(Subcommand)]
enum SourceCommand {
    /// Run one source's adapter against its endpoint for a test patient and
    /// print what the source says it supports, then, section by section,
    /// what it read, what it could not read and why, what the file offers
    /// that the source does not declare, and the time taken; exit code 1
    /// on any problem. For a source organisation getting ready to join the
    /// record.
    Check(icr_source_check::Args),
}

#[derive(Subcommand)]
enum ExtractCommand {
    /// Run a population-health extract with the gateway configured in
    /// --config (no listener): every person of the cohort read through the
    /// sources, merge and policy, audited, pseudonymised before anything is
    /// written; FHIR NDJSON, OMOP Parquet tables, a suppressed summary and
    /// a manifest in --out. SIGINT stops it at a checkpoint; --resume
    /// continues it. See docs/extract.md.
    Run(ExtractRunArgs),
    /// Merge the shards written under --out (shard-I-of-N/) into one
    /// extract: one manifest, and the summary suppressed over everyone.
    Merge {
        /// The directory holding the shards' directories.
        #[arg(long)]
        out: PathBuf,
    },
    /// The extract over the simulated region's whole population, on one
    /// machine (the simulators started on free ports).
    #[cfg_attr(not(feature = "demo"), command(about = NOT_BUILT))]
    Demo(ExtractDemoArgs),
}

/// What `icr extract run` is given.
#[derive(clap::Args)]
struct ExtractRunArgs {
    /// Directory holding gateway.toml and sources.d/.
    #[arg(long)]
    config: PathBuf,
    /// The extract's specification (extract.toml).
    #[arg(long)]
    spec: PathBuf,
    /// Whom it reads: a file of NHS numbers, or registered:DIR for the
    /// practices' registered lists (one <ODS code>.csv each).
    #[arg(long)]
    cohort: String,
    /// Where it writes (a shard in shard-I-of-N/ below).
    #[arg(long)]
    out: PathBuf,
    /// One shard of the cohort, I/N (people by a hash of the NHS number).
    #[arg(long)]
    shard: Option<icr_extract::Shard>,
    /// The run's id (default: derived from its date and inputs, the same
    /// in every shard).
    #[arg(long)]
    run_id: Option<icr_extract::RunId>,
    /// The date ages are reckoned on, YYYY-MM-DD (default today, or the
    /// stopped run's).
    #[arg(long)]
    date: Option<icr_extract::RunDate>,
    /// Continue the run stopped in --out from its last checkpoint; with
    /// none, start afresh in an absent or empty directory, or do nothing
    /// when the run has finished (so it is safe on every attempt).
    #[arg(long)]
    resume: bool,
    /// Write the audit log here instead of gateway.toml's directory (a
    /// serving gateway holds that one).
    #[arg(long)]
    audit_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Check a configuration directory as the gateway would load it: every
    /// file and key, keys and certificates, policy and sources. Prints each
    /// problem with its file and key; exit code 1 if there is any.
    CheckConfig {
        /// Directory holding gateway.toml and sources.d/.
        #[arg(long)]
        config: PathBuf,
    },
    /// Work with one source registration.
    Source {
        #[command(subcommand)]
        command: SourceCommand,
    },
    /// Run the gateway from a configuration directory.
    Serve {
        /// Directory holding gateway.toml and sources.d/ (see config/example).
        #[arg(long)]
        config: PathBuf,
        /// Listen address, overriding gateway.toml.
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Run the simulated region's source systems from DIR/sim.toml.
    #[cfg_attr(not(feature = "demo"), command(about = NOT_BUILT))]
    Sim(SimArgs),
    /// Work with the audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Mint a bearer token with the demo issuer's key (demo config only).
    Token(icr_token::Args),
    /// Run the simulated region and the gateway together on loopback.
    #[cfg_attr(not(feature = "demo"), command(about = NOT_BUILT))]
    Demo(DemoArgs),
    /// Population-health extracts: pseudonymised, opt-outs honoured,
    /// below clinical traffic.
    Extract {
        #[command(subcommand)]
        command: ExtractCommand,
    },
}

/// `sim` and `demo` in a build without the simulated region (no `demo`
/// feature): whatever they are given, they say so.
#[cfg(not(feature = "demo"))]
mod not_built {
    /// What they say, and their help.
    pub const NOT_BUILT: &str = "this build has no simulated region: `icr sim` and `icr demo` \
                                 need the `demo` feature (a default one; build without \
                                 --no-default-features)";

    /// Any arguments, ignored.
    #[derive(clap::Args)]
    pub struct NotBuilt {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        _args: Vec<String>,
    }
}

/// mimalloc rather than the C library's allocator: a request allocates and
/// frees many small values (parsed resources, merged items, JSON), where
/// glibc's malloc took a fifth of a warm request's time and left the
/// process's memory fragmented under sustained load (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Every adapter kind this build knows; a new protocol adds one line here.
fn registry() -> Registry {
    let mut r = Registry::new();
    r.register(&icr_adapter_fhir_r4::KIND);
    r.register(&icr_adapter_pds::KIND);
    r.register(&icr_adapter_gp_connect::KIND);
    r.register(&icr_adapter_hl7v2::KIND);
    r.register(&icr_adapter_soap_xml::KIND);
    r.register(&icr_adapter_cda::KIND);
    r
}

fn main() -> ExitCode {
    let telemetry = icr_telemetry::init();
    let code = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(run(Cli::parse().command)),
        Err(e) => {
            eprintln!("icr: cannot start the async runtime: {e}");
            ExitCode::from(2)
        }
    };
    // Send the spans still batched (outside the runtime: the exporter's
    // HTTP client is a blocking one).
    if let Err(e) = telemetry.shutdown() {
        eprintln!("icr: flushing traces failed: {e}");
    }
    code
}

/// Runs `command`. Exit codes: 0 done (or all checked and in order), 1
/// checked and found wanting (the problems printed), 2 could not be done.
async fn run(command: Command) -> ExitCode {
    match command {
        Command::CheckConfig { config } => match icr_service::check(&config, &registry()) {
            Ok(summary) => {
                say(&summary);
                ExitCode::SUCCESS
            }
            Err(problems) => {
                eprint!("{problems}");
                ExitCode::from(1)
            }
        },
        Command::Source {
            command: SourceCommand::Check(args),
        } => {
            use icr_source_check::{CheckError, Verdict};
            match icr_source_check::run(&args, &registry(), &mut std::io::stdout()).await {
                Ok(Verdict::Passed) => ExitCode::SUCCESS,
                Ok(Verdict::Problems) => ExitCode::from(1),
                Err(e @ CheckError::Registration(_)) => {
                    eprint!("{e}");
                    ExitCode::from(1)
                }
                Err(e @ CheckError::Adapter { .. }) => {
                    eprintln!("{e}");
                    ExitCode::from(1)
                }
                Err(e) => cannot(e),
            }
        }
        Command::Serve { config, listen } => {
            finish(icr_service::serve(&config, listen, registry()).await)
        }
        Command::Audit {
            command: AuditCommand::Verify(args),
        } => match icr_audit_verify::run(&args).await {
            Ok(report) => {
                say(&format!("audit log verified: {report}"));
                ExitCode::SUCCESS
            }
            Err(e @ icr_audit_verify::AuditVerifyError::Fails(_)) => {
                eprintln!("{e}");
                ExitCode::from(1)
            }
            Err(e) => cannot(e),
        },
        Command::Token(args) => {
            finish(icr_token::mint(&args.config, &args.claims(), args.ttl).map(|token| say(&token)))
        }
        #[cfg(feature = "demo")]
        Command::Sim(args) => finish(icr_demo::sim(&args).await),
        #[cfg(feature = "demo")]
        Command::Demo(args) => finish(icr_demo::demo(&args, registry()).await),
        #[cfg(not(feature = "demo"))]
        Command::Sim(_)
        | Command::Demo(_)
        | Command::Extract {
            command: ExtractCommand::Demo(_),
        } => cannot(NOT_BUILT),
        Command::Extract {
            command: ExtractCommand::Run(a),
        } => {
            let request = icr_service::extract::RunRequest {
                spec: a.spec,
                cohort: a.cohort,
                out: a.out,
                shard: a.shard,
                run_id: a.run_id,
                date: a.date,
                resume: a.resume,
            };
            let ran =
                icr_service::extract::run_command(&a.config, a.audit_dir, &request, &registry())
                    .await;
            finish(ran.map(|_| ()))
        }
        Command::Extract {
            command: ExtractCommand::Merge { out },
        } => match icr_service::extract::merge(&out) {
            Ok(m) => {
                say(&format!(
                    "merged {} shards of run {} into {}: {} people extracted",
                    m.shards.len(),
                    m.run_id,
                    out.display(),
                    m.counts.extracted
                ));
                ExitCode::SUCCESS
            }
            Err(e) => cannot(e),
        },
        #[cfg(feature = "demo")]
        Command::Extract {
            command: ExtractCommand::Demo(args),
        } => finish(icr_demo::extract(&args, registry()).await),
    }
}

/// Exit code 0, or 2 with the error said.
fn finish<E: std::fmt::Display>(result: Result<(), E>) -> ExitCode {
    result.map_or_else(cannot, |()| ExitCode::SUCCESS)
}

/// Exit code 2: the command could not be done, and why.
fn cannot(e: impl std::fmt::Display) -> ExitCode {
    use std::io::Write as _;
    // Not `eprintln!`, which panics when standard error is closed.
    let _ = writeln!(std::io::stderr(), "icr: {e}");
    ExitCode::from(2)
}

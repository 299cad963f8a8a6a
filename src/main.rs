//! The `icr` command: run the gateway (`serve`), the simulated region
//! (`sim`), or both together on loopback (`demo`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use icr_adapter_sdk::Registry;
use icr_config::Config;
use icr_gateway::Gateway;
use tokio::net::TcpListener;

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
    Verify {
        /// Log files (`audit-000001.jsonl`, …) or a log directory.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// A head published earlier, SEQ:HASH (the `audit chain head` log
        /// line, `GET /v1/audit/head`): the log must hold entry SEQ with
        /// that hash. Repeatable.
        #[arg(long = "head", value_name = "SEQ:HASH", value_parser = parse_head)]
        heads: Vec<icr_audit::ChainPoint>,
        /// An anchor file (`[audit] anchor_file`): every head in it must
        /// be in the log with its hash. Repeatable.
        #[arg(long = "anchors", value_name = "FILE")]
        anchors: Vec<PathBuf>,
        /// Seconds an entry's time may be before the previous entry's: only
        /// for logs written before the gateway stamped entries' times in
        /// order (those hold request start times; use the request deadline).
        #[arg(long, value_name = "SECONDS", default_value_t = 0)]
        time_tolerance: u64,
    },
}

fn parse_head(s: &str) -> Result<icr_audit::ChainPoint, String> {
    icr_audit::ChainPoint::parse(s).ok_or_else(|| {
        "expected SEQ:HASH, a sequence number, a colon and 64 lower-case hex digits".into()
    })
}

#[derive(Subcommand)]
enum SourceCommand {
    /// Run one source's adapter against its endpoint for a test patient and
    /// print what the source says it supports, then, section by section,
    /// what it read, what it could not read and why, what the file offers
    /// that the source does not declare, and the time taken; exit code 1
    /// on any problem. For a source organisation getting ready to join the
    /// record.
    Check {
        /// The source's registration file (e.g. sources.d/gwh.toml).
        file: PathBuf,
        /// A test patient the source holds (NHS number).
        #[arg(long)]
        nhs: String,
        /// The configuration directory a practice directory is relative to
        /// (default: the directory above the file's).
        #[arg(long)]
        config: Option<PathBuf>,
        /// For a practice-directory registration: the practice to check.
        #[arg(long)]
        practice: Option<String>,
        /// Job role sent to sources that audit their consumers.
        #[arg(long, default_value = "R8000")]
        role: String,
        /// Organisation (ODS code) sent as the requester's.
        #[arg(long, default_value = "X26")]
        org: String,
    },
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
    Sim {
        /// Directory holding sim.toml.
        #[arg(long, default_value = "config/demo")]
        config: PathBuf,
        /// Bind every simulated source and the control API to a free port.
        #[arg(long)]
        ephemeral: bool,
    },
    /// Work with the audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Mint a bearer token with the demo issuer's key (demo config only).
    Token {
        /// Directory holding gateway.toml, whose [[auth.issuer]] has a signing_key.
        #[arg(long, default_value = "config/demo")]
        config: PathBuf,
        /// National RBAC job role code (e.g. R8000), or `patient`.
        #[arg(long)]
        role: String,
        /// ODS code of the caller's organisation (e.g. RN3).
        #[arg(long)]
        org: String,
        /// User id.
        #[arg(long, default_value = "demo-user")]
        sub: String,
        /// User name.
        #[arg(long, default_value = "Demo User")]
        name: String,
        /// Purpose of use.
        #[arg(long, default_value = "directcare")]
        purpose: String,
        /// For role `patient`: their own NHS number.
        #[arg(long)]
        nhs_number: Option<String>,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl: u64,
    },
    /// Run the simulated region and the gateway together on loopback.
    Demo {
        /// Directory holding sim.toml, gateway.toml and sources.d/.
        #[arg(long, default_value = "config/demo")]
        config: PathBuf,
        /// Gateway listen address, overriding gateway.toml.
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Bind everything (sources, control API, gateway) to free ports and
        /// point the gateway's sources at them. The audit log goes to a
        /// private temporary directory, removed when the demo stops, unless
        /// `--audit-dir` names one.
        #[arg(long)]
        ephemeral: bool,
        /// Write the audit log here (and keep it), instead of gateway.toml's
        /// directory or, with `--ephemeral`, a temporary one.
        #[arg(long)]
        audit_dir: Option<PathBuf>,
    },
}

/// Prints a line to stdout, ignoring failure: a closed stdout (`icr demo |
/// head`) must not take the gateway down with it.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
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
    r.register(icr_adapter_fhir_r4::KIND, icr_adapter_fhir_r4::build);
    r.register(icr_adapter_pds::KIND, icr_adapter_pds::build);
    r.register(icr_adapter_gp_connect::KIND, icr_adapter_gp_connect::build);
    r.register(icr_adapter_hl7v2::KIND, icr_adapter_hl7v2::build);
    r.register(icr_adapter_soap_xml::KIND, icr_adapter_soap_xml::build);
    r.register(icr_adapter_cda::KIND, icr_adapter_cda::build);
    r
}

fn main() -> ExitCode {
    let tracer = telemetry();
    let code = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(run()),
        Err(e) => {
            eprintln!("icr: cannot start the async runtime: {e}");
            ExitCode::from(2)
        }
    };
    // Send the spans still batched (outside the runtime: the exporter's
    // HTTP client is a blocking one).
    if let Some(provider) = tracer
        && let Err(e) = provider.shutdown()
    {
        eprintln!("icr: flushing traces failed: {e}");
    }
    code
}

/// Logs and traces. Logs go to stderr: JSON lines with
/// `ICR_LOG_FORMAT=json` (for a log collector), else text, coloured only on
/// a terminal. Traces — a span per request and per source call — are
/// exported over OTLP (HTTP, protobuf) when `OTEL_EXPORTER_OTLP_ENDPOINT`
/// (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, with the other
/// standard `OTEL_` variables; the W3C trace context then goes to HTTP
/// sources. Nothing logged or traced carries patient data.
fn telemetry() -> Option<opentelemetry_sdk::trace::SdkTracerProvider> {
    use opentelemetry::trace::TracerProvider as _;
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = if std::env::var("ICR_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_writer(std::io::stderr)
            .boxed()
    } else {
        use std::io::IsTerminal as _;
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .boxed()
    };
    let wanted = [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    ]
    .iter()
    .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()));
    let provider = if wanted {
        match opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .build()
        {
            Ok(exporter) => {
                let resource = opentelemetry_sdk::Resource::builder()
                    .with_service_name(
                        std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "icr-gateway".into()),
                    )
                    .build();
                Some(
                    opentelemetry_sdk::trace::SdkTracerProvider::builder()
                        .with_batch_exporter(exporter)
                        .with_resource(resource)
                        .build(),
                )
            }
            Err(e) => {
                eprintln!("icr: traces will not be exported: {e}");
                None
            }
        }
    } else {
        None
    };
    // Spans reach the exporter whatever the log level (the level filter
    // applies to the log output only); only the gateway's own spans are
    // exported (the request and its source calls), not the libraries'.
    let otel = provider.as_ref().map(|p| {
        opentelemetry::global::set_text_map_propagator(
            opentelemetry_sdk::propagation::TraceContextPropagator::new(),
        );
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer("icr-gateway"))
            .with_filter(tracing_subscriber::filter::filter_fn(|m| {
                m.target().starts_with("icr")
            }))
    });
    tracing_subscriber::registry()
        .with(logs.with_filter(filter))
        .with(otel)
        .init();
    provider
}

async fn run() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::CheckConfig { config } => return check_config(&config),
        Command::Source {
            command:
                SourceCommand::Check {
                    file,
                    nhs,
                    config,
                    practice,
                    role,
                    org,
                },
        } => {
            return source_check(&file, &nhs, config, practice.as_deref(), &role, &org).await;
        }
        Command::Serve { config, listen } => serve(&config, listen).await,
        Command::Sim { config, ephemeral } => sim(&config, ephemeral).await,
        Command::Audit {
            command:
                AuditCommand::Verify {
                    paths,
                    heads,
                    anchors,
                    time_tolerance,
                },
        } => return audit_verify(&paths, heads, &anchors, time_tolerance),
        Command::Token {
            config,
            role,
            org,
            sub,
            name,
            purpose,
            nhs_number,
            ttl,
        } => token(
            &config,
            &icr_auth::MintClaims {
                sub,
                name,
                role,
                org,
                purpose,
                nhs_number,
            },
            ttl,
        ),
        Command::Demo {
            config,
            listen,
            ephemeral,
            audit_dir,
        } => demo(&config, listen, ephemeral, audit_dir).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("icr: {message}");
            ExitCode::from(2)
        }
    }
}

/// Resolves when the process is asked to stop (Ctrl-C or SIGTERM).
/// `icr check-config`: 0 when the configuration loads, 1 with every
/// problem listed when it does not.
fn check_config(dir: &Path) -> ExitCode {
    match Config::load(dir, &registry()) {
        Ok(config) => {
            let mut kinds: Vec<&str> = config
                .sources
                .iter()
                .map(|s| s.spec.kind.as_str())
                .collect();
            kinds.sort_unstable();
            kinds.dedup();
            say!(
                "{}: configuration OK — {} sources ({}), TLS {}, objection register {}, audit log in {}",
                dir.display(),
                config.sources.len(),
                kinds.join(", "),
                if config.tls.is_some() { "on" } else { "off" },
                match &config.objections_file {
                    Some(f) => format!("{} ({} objections)", f.display(), config.objections.len()),
                    None => "none".into(),
                },
                config.gateway.audit.dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(errors) => {
            eprint!("{errors}");
            ExitCode::from(1)
        }
    }
}

/// `icr source check`: 0 when the source answered in full for the test
/// patient and declares everything its file offers, 1 on any problem (a
/// part of the record not read, or a search the file offers that the
/// source does not declare), 2 when the check could not be run. The
/// source's own statement of what it supports is read first, as the
/// gateway reads it at start, and the fetch is planned from it.
async fn source_check(
    file: &Path,
    nhs: &str,
    config: Option<PathBuf>,
    practice: Option<&str>,
    role: &str,
    org: &str,
) -> ExitCode {
    let fail = |message: String| {
        eprintln!("icr: {message}");
        ExitCode::from(2)
    };
    let Ok(nhs_number) = icr_model::NhsNumber::parse(nhs) else {
        return fail(format!("{nhs:?} is not a valid NHS number"));
    };
    let Ok(organisation) = icr_model::OdsCode::parse(org) else {
        return fail(format!("{org:?} is not an ODS code"));
    };
    let config_dir = config.unwrap_or_else(|| {
        file.parent()
            .and_then(Path::parent)
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    });
    let specs = match icr_config::load_source_file(file, &config_dir) {
        Ok(s) => s,
        Err(errors) => {
            eprint!("{errors}");
            return ExitCode::from(1);
        }
    };
    let spec = match (specs.as_slice(), practice) {
        ([one], _) => one.clone(),
        (many, Some(ods)) => match many
            .iter()
            .find(|s| s.ods_code.as_str().eq_ignore_ascii_case(ods))
        {
            Some(s) => s.clone(),
            None => return fail(format!("no practice {ods} in the directory")),
        },
        (many, None) => {
            return fail(format!(
                "{} expands a practice directory of {} practices: name one with --practice ODS",
                file.display(),
                many.len()
            ));
        }
    };
    let adapter = match registry().build(&spec) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{}: {e}", file.display());
            return ExitCode::from(1);
        }
    };
    let mut request = icr_adapter_sdk::FetchRequest {
        nhs_number,
        sections: spec.sections,
        deadline: tokio::time::Instant::now() + Duration::from_millis(spec.timeout_ms),
        context: std::sync::Arc::new(icr_adapter_sdk::RequestContext {
            trace_id: uuid::Uuid::new_v4().to_string(),
            requester: icr_adapter_sdk::Requester {
                user_id: "icr-source-check".into(),
                name: "ICR source check".into(),
                role: role.into(),
                organisation,
                purpose: "directcare".into(),
            },
        }),
    };
    say!(
        "checking {} ({}, {}) at {} for {} — sections: {}",
        spec.id,
        spec.organisation,
        spec.kind,
        spec.endpoint,
        nhs_number.as_str(),
        spec.sections
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    // What the source says it supports, read as the gateway reads it at
    // start: the fetch below is planned from it.
    let prepared = adapter.prepare(request.deadline).await;
    for note in &prepared.notes {
        say!("  the source says: {note}");
    }
    request.deadline = tokio::time::Instant::now() + Duration::from_millis(spec.timeout_ms);
    let started = std::time::Instant::now();
    let result = adapter.fetch(&request).await;
    let took = started.elapsed();
    let record = match result {
        Ok(r) => r,
        Err(e) => {
            say!(
                "FAILED after {} ms: {} — {e}",
                took.as_millis(),
                e.status_name()
            );
            return ExitCode::from(1);
        }
    };
    say!(
        "answered in {} ms, {} bytes",
        took.as_millis(),
        record.wire_bytes
    );
    let mut problems = 0;
    let mut undeclared = 0;
    for section in spec.sections.iter() {
        let items = record
            .items
            .iter()
            .filter(|i| i.entry.section() == section)
            .count();
        let read = match (section, &record.patient) {
            (icr_model::Section::Demographics, Some(p)) => format!(
                "read: {} name(s), birth date {}, {} address(es), NHS number {}",
                p.demographics.names.len(),
                if p.demographics.birth_date.is_some() {
                    "given"
                } else {
                    "missing"
                },
                p.demographics.addresses.len(),
                match p.demographics.nhs_number {
                    Some(n) if n == nhs_number => "matches",
                    Some(_) => "DIFFERS",
                    None => "missing",
                }
            ),
            (icr_model::Section::Demographics, None) => "nothing read".into(),
            (_, _) if items == 0 => "nothing recorded".into(),
            (_, _) => format!("{items} item(s)"),
        };
        say!("  {:<13} {read}", section.as_str());
        for m in prepared.mismatches.iter().filter(|m| m.section == section) {
            undeclared += 1;
            say!(
                "      PROBLEM (undeclared): the file offers {}, which the source does not declare searchable{}",
                m.undeclared.join(", "),
                if m.whole_section {
                    "; the section is not asked of it"
                } else {
                    ""
                }
            );
        }
        problems += report_issues(&record, Some(section), "      ");
    }
    problems += report_issues(&record, None, "  ");
    let mut reasons = Vec::new();
    if undeclared > 0 {
        reasons.push("the file offers searches the source does not declare");
    }
    if problems > 0 {
        reasons.push("part of the record could not be read");
    }
    if reasons.is_empty() {
        say!("OK: the source answered in full");
        ExitCode::SUCCESS
    } else {
        say!(
            "{} problem(s): {}",
            problems + undeclared,
            reasons.join("; ")
        );
        ExitCode::from(1)
    }
}

/// Prints the source's issues about `section` (or about no one section),
/// each marked PROBLEM when it loses data; returns how many do.
fn report_issues(
    record: &icr_model::SourceRecord,
    section: Option<icr_model::Section>,
    indent: &str,
) -> usize {
    let mut problems = 0;
    for issue in record.issues.iter().filter(|i| i.section == section) {
        let marker = if issue.loses_data() {
            "PROBLEM"
        } else {
            "note"
        };
        problems += usize::from(issue.loses_data());
        say!("{indent}{marker} ({}): {}", issue.kind, issue.message);
    }
    problems
}

/// How often the configuration directory is checked for changes.
const CONFIG_POLL: Duration = Duration::from_secs(2);

/// Applies configuration changes while the gateway runs: when a file of
/// the configuration directory or its sources directory changes, or any
/// other file the configuration was read from (issuers' keys, the policy,
/// the listener's certificates, practice directories) — checked every 2 s
/// — or on SIGHUP, the configuration is read again with `load` and applied
/// whole with [`icr_gateway::Gateway::reload`]: sources, issuers and keys,
/// policy, access, cache, limits and certificates. A configuration that
/// does not load, or that changes a key only a restart can apply, is
/// refused whole: the running one stays, and the problem is logged and
/// shown in `/readyz` and a metric.
fn watch_config(
    gateway: icr_gateway::Gateway,
    dirs: [PathBuf; 2],
    files: Vec<PathBuf>,
    load: impl Fn() -> Result<Config, String> + Send + 'static,
) {
    tokio::spawn(async move {
        let mut files = files;
        let mut seen = fingerprint(&dirs, &files);
        #[cfg(unix)]
        let mut hangup =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        loop {
            #[cfg(unix)]
            let forced = tokio::select! {
                () = tokio::time::sleep(CONFIG_POLL) => false,
                Some(()) = async {
                    match hangup.as_mut() {
                        Some(h) => h.recv().await,
                        None => std::future::pending().await,
                    }
                } => true,
            };
            #[cfg(not(unix))]
            let forced = {
                tokio::time::sleep(CONFIG_POLL).await;
                false
            };
            let now = fingerprint(&dirs, &files);
            if !forced && now == seen {
                continue;
            }
            let refused = |problem: String| {
                tracing::error!(%problem, "configuration change refused; the running configuration stays");
            };
            match load() {
                Ok(config) => match gateway.reload(&config) {
                    Ok(r) => {
                        tracing::info!(
                            added = r.added,
                            removed = r.removed,
                            changed = r.changed,
                            settings = %r.settings.join(" "),
                            sources = gateway.source_count(),
                            "configuration reloaded: sources, issuers and keys, policy, access, cache, limits and certificates as the files now say"
                        );
                        files = config.files();
                    }
                    Err(problem) => refused(problem.to_string()),
                },
                Err(problem) => {
                    refused(problem.clone());
                    gateway.reload_failed(problem);
                }
            }
            seen = fingerprint(&dirs, &files);
        }
    });
}

/// A digest of the files in `dirs` (the configuration directory and its
/// sources directory) and of `files`, to notice changes without a
/// file-watching API.
fn fingerprint(dirs: &[PathBuf], files: &[PathBuf]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    let mut all: Vec<PathBuf> = files.to_vec();
    for sub in dirs {
        all.extend(
            std::fs::read_dir(sub)
                .map(|entries| {
                    entries
                        .filter_map(Result::ok)
                        .map(|e| e.path())
                        .filter(|p| p.is_file())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default(),
        );
    }
    all.sort();
    all.dedup();
    for f in all {
        f.hash(&mut hasher);
        // Configuration files are small; a read error hashes as empty.
        std::fs::read(&f).unwrap_or_default().hash(&mut hasher);
    }
    hasher.finish()
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    eprintln!("icr: stopping");
}

/// `icr audit verify`: 0 when the chain is intact (and holds every anchor
/// given), 1 when it is not, 2 when the files or anchors cannot be read.
fn audit_verify(
    paths: &[PathBuf],
    heads: Vec<icr_audit::ChainPoint>,
    anchor_files: &[PathBuf],
    time_tolerance: u64,
) -> ExitCode {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            match icr_audit::log_files(p) {
                Ok(found) => files.extend(found),
                Err(e) => {
                    eprintln!("icr: cannot list {}: {e}", p.display());
                    return ExitCode::from(2);
                }
            }
        } else {
            files.push(p.clone());
        }
    }
    if files.is_empty() {
        eprintln!("icr: no audit log files found");
        return ExitCode::from(2);
    }
    let mut anchors = heads;
    for f in anchor_files {
        let read = std::fs::File::open(f)
            .map_err(icr_audit::AnchorError::from)
            .and_then(|file| icr_audit::read_anchors(std::io::BufReader::new(file)));
        match read {
            Ok(found) => anchors.extend(found),
            Err(icr_audit::AnchorError::Io(e)) => {
                eprintln!("icr: cannot read {}: {e}", f.display());
                return ExitCode::from(2);
            }
            Err(e) => {
                eprintln!("icr: {}:{e}", f.display());
                return ExitCode::from(2);
            }
        }
    }
    let options = icr_audit::VerifyOptions {
        anchors,
        time_tolerance: Duration::from_secs(time_tolerance),
        ..icr_audit::VerifyOptions::default()
    };
    match icr_audit::verify_with(&files, &options, |_, _, _| {}) {
        Ok(report) => {
            say!("audit log verified: {report}");
            ExitCode::SUCCESS
        }
        Err(icr_audit::VerifyError::Failed(failure)) => {
            eprintln!("audit log FAILS verification: {}", failure.problem);
            eprintln!("verified before the problem: {}", failure.report);
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("icr: {e}");
            ExitCode::from(2)
        }
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The demo issuer's signer, from DIR/gateway.toml.
fn demo_signer(dir: &Path) -> Result<icr_auth::Signer, String> {
    let file = dir.join("gateway.toml");
    let text = std::fs::read_to_string(&file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let gateway: icr_config::GatewayConfig =
        icr_config::parse_toml(&text, &file).map_err(|e| e.to_string())?;
    icr_auth::Signer::load(&gateway.auth, dir)
        .map_err(|e| format!("{}: {e}", file.display()))?
        .ok_or_else(|| format!("{}: no [[auth.issuer]] has a signing_key: tokens can only be minted for the demo issuer", file.display()))
}

fn token(dir: &Path, claims: &icr_auth::MintClaims, ttl: u64) -> Result<(), String> {
    if !(60..=86_400).contains(&ttl) {
        return Err("--ttl must be between 60 and 86400 seconds".into());
    }
    let signer = demo_signer(dir)?;
    let token = signer.mint(claims, now(), ttl)?;
    say!("{token}");
    Ok(())
}

async fn start_gateway(
    config: &Config,
    listen: Option<SocketAddr>,
) -> Result<(TcpListener, Gateway), String> {
    let addr = listen.unwrap_or(config.gateway.listen);
    let listener = icr_gateway::bind(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let gateway = Gateway::new(config).map_err(|e| format!("cannot open the audit log: {e}"))?;
    Ok((listener, gateway))
}

async fn serve(dir: &Path, listen: Option<SocketAddr>) -> Result<(), String> {
    let config = Config::load(dir, &registry()).map_err(|e| e.to_string())?;
    let (listener, gateway) = start_gateway(&config, listen).await?;
    let reload_dir = dir.to_path_buf();
    let watched = [dir.to_path_buf(), dir.join(&config.gateway.sources_dir)];
    watch_config(gateway.clone(), watched, config.files(), move || {
        Config::load(&reload_dir, &registry()).map_err(|e| e.to_string())
    });
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    say!(
        "icr gateway listening on {scheme}://{addr} with {} sources",
        gateway.source_count()
    );
    let served = run_gateway(listener, &gateway, &config).await;
    gateway.close().await;
    served.map_err(|e| e.to_string())
}

/// Serves until SIGINT or SIGTERM, over TLS when `[tls]` is configured,
/// within `[connections]`' limits.
async fn run_gateway(
    listener: TcpListener,
    gateway: &Gateway,
    config: &Config,
) -> std::io::Result<()> {
    let limits = icr_gateway::ConnectionLimits::from_config(&config.gateway.connections);
    match config.tls.clone() {
        Some(tls) => {
            icr_gateway::serve_tls(listener, gateway.clone(), limits, tls, shutdown_signal()).await
        }
        None => icr_gateway::serve(listener, gateway.clone(), limits, shutdown_signal()).await,
    }
}

async fn start_sim(dir: &Path, ephemeral: bool) -> Result<icr_sim::Sim, String> {
    let file = dir.join("sim.toml");
    let mut config = icr_sim::SimConfig::load(&file).map_err(|e| e.to_string())?;
    if ephemeral {
        config = config.with_ephemeral_ports();
    }
    icr_sim::Sim::start(config).await.map_err(|e| e.to_string())
}

async fn sim(dir: &Path, ephemeral: bool) -> Result<(), String> {
    let sim = start_sim(dir, ephemeral).await?;
    print_sim(&sim);
    shutdown_signal().await;
    sim.shutdown().await;
    Ok(())
}

fn print_sim(sim: &icr_sim::Sim) {
    // The practices share one simulator; one line for all of them.
    let mut practices = Vec::new();
    for source in sim.sources() {
        if let Some(endpoint) = sim.endpoint(&source) {
            if source.starts_with("gp-") {
                practices.push((source, endpoint));
            } else {
                say!("simulated source {source:<4} {endpoint}");
            }
        }
    }
    if let (Some((first, endpoint)), Some((last, _))) = (practices.first(), practices.last()) {
        let ods = first.trim_start_matches("gp-").to_uppercase();
        let pattern = endpoint.replacen(&format!("/{ods}/"), "/{ODS}/", 1);
        say!(
            "simulated practices {first} … {last} ({} GP practices) {pattern}",
            practices.len()
        );
    }
    if let Some(control) = sim.control_addr() {
        say!("simulator control  http://{control}/sources  (POST /sources/{{id}}/stop, /start)");
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

async fn demo(
    dir: &Path,
    listen: Option<SocketAddr>,
    ephemeral: bool,
    audit_dir: Option<PathBuf>,
) -> Result<(), String> {
    let sim = start_sim(dir, ephemeral).await?;
    let endpoints: HashMap<String, String> = sim
        .sources()
        .into_iter()
        .filter_map(|id| sim.endpoint(&id).map(|e| (id, e)))
        .collect();
    // Declared before everything that writes to it, so that it is removed
    // after the gateway has closed the log.
    let mut _private_audit = None;
    let audit_dir = match (audit_dir, ephemeral) {
        (Some(d), _) => Some(d),
        (None, true) => {
            // A private audit log, so that runs side by side never share one.
            let private =
                std::env::temp_dir().join(format!("icr-demo-audit-{}", std::process::id()));
            _private_audit = Some(RemoveOnDrop(private.clone()));
            Some(private)
        }
        (None, false) => None,
    };
    // The demo's own settings, applied at every load (a reload included,
    // which would otherwise see them as changes to apply).
    let load = move |dir: &Path| {
        let mut config = Config::load_with(dir, &registry(), |spec| {
            if ephemeral
                && let Some(url) = endpoints.get(spec.id.as_str()).and_then(|e| e.parse().ok())
            {
                spec.endpoint = url;
            }
        })
        .map_err(|e| e.to_string())?;
        if let Some(d) = &audit_dir {
            config.gateway.audit.dir = d.clone();
        }
        Ok::<Config, String>(config)
    };
    let config = load(dir)?;
    let listen = if ephemeral {
        Some(listen.unwrap_or(SocketAddr::from(([127, 0, 0, 1], 0))))
    } else {
        listen
    };
    let (listener, gateway) = start_gateway(&config, listen).await?;
    let reload_dir = dir.to_path_buf();
    let watched = [dir.to_path_buf(), dir.join(&config.gateway.sources_dir)];
    watch_config(gateway.clone(), watched, config.files(), move || {
        load(&reload_dir)
    });
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    print_sim(&sim);
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    say!(
        "icr gateway listening on {scheme}://{addr} with {} sources",
        gateway.source_count()
    );
    say!("audit log          {}", config.gateway.audit.dir.display());
    print_examples(&sim, addr, dir);
    let served = run_gateway(listener, &gateway, &config).await;
    gateway.close().await;
    sim.shutdown().await;
    served.map_err(|e| e.to_string())
}

fn print_examples(sim: &icr_sim::Sim, addr: SocketAddr, dir: &Path) {
    let base = format!("http://{addr}");
    say!();
    say!("Story patients (see config/demo/README.md):");
    for story in sim.population().stories() {
        say!("  {}  {}", story.nhs_number, story.summary);
    }
    let Some(first) = sim.population().stories().first().map(|s| s.nhs_number) else {
        return;
    };
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "icr".into());
    let clinician = demo_signer(dir).and_then(|s| {
        s.mint(
            &icr_auth::MintClaims {
                sub: "demo-clinician".into(),
                name: "Dr Demo Clinician".into(),
                role: "R8000".into(),
                org: "RN3".into(),
                purpose: "directcare".into(),
                nhs_number: None,
            },
            now(),
            8 * 3600,
        )
    });
    say!();
    say!(
        "Every request needs a bearer token. A clinician at Great Western Hospitals (R8000, RN3), valid 8 hours:"
    );
    match clinician {
        Ok(t) => say!("  export TOKEN={t}"),
        Err(e) => say!("  (cannot mint a demo token: {e})"),
    }
    say!("Other roles and organisations:");
    say!(
        "  export TOKEN=$({exe} token --config {} --role R8000 --org RD1)",
        dir.display()
    );
    say!();
    say!("Try:");
    let auth = "-H \"Authorization: Bearer $TOKEN\"";
    say!("  curl -s {auth} {base}/v1/patients/{first}/record | jq");
    say!(
        "  curl -s {auth} '{base}/v1/patients/{first}/record?sections=allergies,medications' | jq"
    );
    say!("  curl -s {auth} '{base}/fhir/r4/Patient/{first}/$everything' | jq");
    say!(
        "  curl -s {auth} {base}/v1/patients/9434765918/record | jq     # invalid NHS number: 400"
    );
    say!("  curl -s {base}/v1/patients/{first}/record | jq     # no token: 401");
    if let Some(control) = sim.control_addr() {
        say!(
            "  curl -s -X POST http://{control}/sources/awp/stop    # then ask for 9990000026: awp is unavailable"
        );
        say!("  curl -s -X POST http://{control}/sources/awp/start");
    }
    say!();
    say!("Ctrl-C stops everything.");
}

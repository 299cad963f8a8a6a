//! `icr audit verify`, for an operator or an auditor after the fact: the
//! log files named (or every log file of a directory) gathered, the heads
//! published earlier, the anchor files and (with `--store`) the heads the
//! shared audit store holds for the replica read, and the hash chain
//! checked by `icr_audit`'s verifier. The gateway writes the log at the
//! end of every request; this reads it back offline. Against the store, a
//! log cut at a line boundary after it was fed in fails, which the log
//! alone cannot show.

use std::path::PathBuf;
use std::time::Duration;

use icr_audit::{AnchorError, ChainPoint, VerifyError, VerifyReport};

/// What `icr audit verify` is given.
#[derive(Clone, Debug, clap::Args)]
pub struct Args {
    /// Log files (`audit-000001.jsonl`, …) or a log directory.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// A head published earlier, SEQ:HASH (the `audit chain head` log
    /// line, `GET /v1/audit/head`): the log must hold entry SEQ with
    /// that hash. Repeatable.
    #[arg(long = "head", value_name = "SEQ:HASH", value_parser = parse_head)]
    pub heads: Vec<ChainPoint>,
    /// An anchor file (`[audit] anchor_file`): every head in it must
    /// be in the log with its hash. Repeatable.
    #[arg(long = "anchors", value_name = "FILE")]
    pub anchors: Vec<PathBuf>,
    /// A file holding the shared audit store's connection URL
    /// (`[audit_store] url_file`): every head recorded there for
    /// `--replica`, and the last entry ingested from it, must be in the
    /// log with its hash.
    #[arg(long = "store", value_name = "URL_FILE", requires = "replica")]
    pub store: Option<PathBuf>,
    /// The replica whose log this is, as the store names it (with
    /// `--store`).
    #[arg(long, value_name = "ID", requires = "store")]
    pub replica: Option<String>,
    /// The CA certificates (PEM) to verify the store's server with, over
    /// TLS (`[audit_store] ca_file`; with `--store`).
    #[arg(long = "store-ca", value_name = "PEM_FILE", requires = "store")]
    pub store_ca: Option<PathBuf>,
    /// Seconds an entry's time may be before the previous entry's: only
    /// for logs written before the gateway stamped entries' times in
    /// order (those hold request start times; use the request deadline).
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub time_tolerance: u64,
}

/// `--head`'s value.
fn parse_head(s: &str) -> Result<ChainPoint, String> {
    ChainPoint::parse(s).ok_or_else(|| {
        "expected SEQ:HASH, a sequence number, a colon and 64 lower-case hex digits".into()
    })
}

/// Why the log was not verified.
#[derive(Debug, thiserror::Error)]
pub enum AuditVerifyError {
    /// A directory could not be listed.
    #[error("cannot list {}: {source}", dir.display())]
    List {
        /// The directory.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// No log file was found.
    #[error("no audit log files found")]
    NoFiles,
    /// An anchor file could not be read.
    #[error("cannot read {}: {source}", file.display())]
    ReadAnchors {
        /// The file.
        file: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// An anchor file holds something that is not an anchor.
    #[error("{}:{source}", file.display())]
    Anchors {
        /// The file.
        file: PathBuf,
        /// Where and what.
        source: AnchorError,
    },
    /// The shared audit store could not be asked for the replica's heads.
    #[error("cannot read the heads the audit store holds: {0}")]
    Store(String),
    /// The log was read and fails verification: the chain is broken, or
    /// does not hold a head it must.
    #[error("audit log FAILS verification: {}\nverified before the problem: {}", .0.problem, .0.report)]
    Fails(Box<icr_audit::Failure>),
    /// The log could not be verified (a file could not be read, …).
    #[error("{0}")]
    Verify(VerifyError),
}

/// The heads the shared audit store holds for the replica `args` name
/// (none without `--store`).
async fn store_heads(args: &Args) -> Result<Vec<ChainPoint>, AuditVerifyError> {
    let (Some(file), Some(replica)) = (&args.store, &args.replica) else {
        return Ok(Vec::new());
    };
    let url = std::fs::read_to_string(file).map_err(|source| AuditVerifyError::ReadAnchors {
        file: file.clone(),
        source,
    })?;
    let replica = icr_audit_store::ReplicaId::parse(replica)
        .map_err(|e| AuditVerifyError::Store(format!("--replica: {e}")))?;
    let tls = args
        .store_ca
        .as_deref()
        .map(icr_audit_store::StoreTls::from_ca_file)
        .transpose()
        .map_err(|e| AuditVerifyError::Store(e.to_string()))?;
    let store = icr_audit_store::AuditStore::connect_with(url.trim(), 1, tls)
        .await
        .map_err(|e| AuditVerifyError::Store(e.to_string()))?;
    store
        .anchors(&replica)
        .await
        .map_err(|e| AuditVerifyError::Store(e.to_string()))
}

/// Verifies the log `args` name; the report of what was verified.
pub async fn run(args: &Args) -> Result<VerifyReport, AuditVerifyError> {
    let mut files = Vec::new();
    for p in &args.paths {
        if p.is_dir() {
            files.extend(
                icr_audit::log_files(p).map_err(|source| AuditVerifyError::List {
                    dir: p.clone(),
                    source,
                })?,
            );
        } else {
            files.push(p.clone());
        }
    }
    if files.is_empty() {
        return Err(AuditVerifyError::NoFiles);
    }
    let mut anchors = args.heads.clone();
    anchors.extend(store_heads(args).await?);
    for f in &args.anchors {
        let read = std::fs::File::open(f)
            .map_err(AnchorError::from)
            .and_then(|file| icr_audit::read_anchors(std::io::BufReader::new(file)));
        match read {
            Ok(found) => anchors.extend(found),
            Err(AnchorError::Io(source)) => {
                return Err(AuditVerifyError::ReadAnchors {
                    file: f.clone(),
                    source,
                });
            }
            Err(source) => {
                return Err(AuditVerifyError::Anchors {
                    file: f.clone(),
                    source,
                });
            }
        }
    }
    let options = icr_audit::VerifyOptions {
        anchors,
        time_tolerance: Duration::from_secs(args.time_tolerance),
        ..icr_audit::VerifyOptions::default()
    };
    icr_audit::verify_with(&files, &options, |_, _, _| {}).map_err(|e| match e {
        VerifyError::Failed(failure) => AuditVerifyError::Fails(failure),
        e => AuditVerifyError::Verify(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(paths: Vec<PathBuf>) -> Args {
        Args {
            paths,
            heads: Vec::new(),
            anchors: Vec::new(),
            store: None,
            replica: None,
            store_ca: None,
            time_tolerance: 0,
        }
    }

    #[test]
    fn a_head_is_seq_colon_hash() {
        let hash = "ab".repeat(32);
        assert!(parse_head(&format!("7:{hash}")).is_ok());
        assert_eq!(
            parse_head("7").unwrap_err(),
            "expected SEQ:HASH, a sequence number, a colon and 64 lower-case hex digits"
        );
    }

    #[tokio::test]
    async fn an_empty_directory_holds_no_log() {
        let dir = std::env::temp_dir().join(format!("icr-audit-verify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let e = run(&args(vec![dir.clone()])).await.unwrap_err();
        assert_eq!(e.to_string(), "no audit log files found");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn an_anchor_file_that_cannot_be_read_is_named() {
        let mut a = args(vec![PathBuf::from("/nonexistent/audit-000001.jsonl")]);
        a.anchors = vec![PathBuf::from("/nonexistent/anchors")];
        let e = run(&a).await.unwrap_err();
        assert!(matches!(e, AuditVerifyError::ReadAnchors { .. }), "{e:?}");
        assert!(
            e.to_string()
                .starts_with("cannot read /nonexistent/anchors: "),
            "{e}"
        );
    }

    #[tokio::test]
    async fn a_store_that_cannot_be_reached_is_an_error_not_a_pass() {
        let dir =
            std::env::temp_dir().join(format!("icr-audit-verify-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = dir.join("store-url");
        std::fs::write(
            &url,
            "host=127.0.0.1 port=1 user=postgres dbname=postgres\n",
        )
        .unwrap();
        let mut a = args(vec![PathBuf::from("/nonexistent/audit-000001.jsonl")]);
        a.store = Some(url);
        a.replica = Some("icr-0".into());
        let e = run(&a).await.unwrap_err();
        assert!(
            e.to_string().starts_with(
                "cannot read the heads the audit store holds: cannot reach the audit store"
            ),
            "{e}"
        );
        a.replica = Some("Not A Label".into());
        let e = run(&a).await.unwrap_err();
        assert!(e.to_string().contains("--replica"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

//! Configuration changes applied while the gateway runs.

use std::path::PathBuf;
use std::time::Duration;

use icr_config::{Config, ConfigErrors};

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
pub(crate) fn watch(
    gateway: icr_gateway::Gateway,
    dirs: [PathBuf; 2],
    files: Vec<PathBuf>,
    load: impl Fn() -> Result<Config, ConfigErrors> + Send + 'static,
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
                Err(problems) => {
                    let problem = problems.to_string();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_changes_with_a_files_content_and_with_files_added_to_a_directory() {
        let dir = std::env::temp_dir().join(format!("icr-fingerprint-{}", std::process::id()));
        let sources = dir.join("sources.d");
        let keys =
            std::env::temp_dir().join(format!("icr-fingerprint-keys-{}", std::process::id()));
        std::fs::create_dir_all(&sources).unwrap();
        std::fs::create_dir_all(&keys).unwrap();
        std::fs::write(dir.join("gateway.toml"), "a").unwrap();
        let key = keys.join("issuer.pem");
        std::fs::write(&key, "k1").unwrap();
        let dirs = [dir.clone(), sources.clone()];
        let files = vec![key.clone()];
        let first = fingerprint(&dirs, &files);
        assert_eq!(fingerprint(&dirs, &files), first, "nothing changed");
        std::fs::write(dir.join("gateway.toml"), "b").unwrap();
        let edited = fingerprint(&dirs, &files);
        assert_ne!(edited, first, "a file of the directory edited");
        std::fs::write(sources.join("new.toml"), "").unwrap();
        let added = fingerprint(&dirs, &files);
        assert_ne!(added, edited, "a file added to the sources directory");
        std::fs::write(&key, "k2").unwrap();
        assert_ne!(fingerprint(&dirs, &files), added, "a file read elsewhere");
        assert_eq!(
            fingerprint(&dirs, &files),
            fingerprint(&dirs, &[key.clone(), key.clone()]),
            "a file named twice counts once"
        );
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(&keys);
    }
}

//! A private PostgreSQL cluster for one test: `initdb` in a temporary
//! directory, `pg_ctl start` on a free loopback port with trust
//! authentication, stopped (immediately) and removed on drop. It can be
//! stopped and started again to test a store that goes away.
//!
//! PostgreSQL's own binaries are used (Debian's `postgresql` package:
//! `pg_config --bindir`, else the newest `/usr/lib/postgresql/*/bin`).
//! `initdb` and `postgres` refuse to run as root, so when the tests run as
//! root they run as the `postgres` user (`runuser -u postgres --`), with the
//! directory given to it. When PostgreSQL is not installed, [`PgCluster::start`]
//! says loudly that the test is skipped and returns `None` — except under
//! `CI=true`, where it panics (`.ci/run` installs it).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::corpora::in_ci;

/// A running (or stopped) private PostgreSQL cluster.
#[derive(Debug)]
pub struct PgCluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    as_postgres: bool,
}

/// Where PostgreSQL's server binaries are, if installed.
pub fn bindir() -> Option<PathBuf> {
    let has_initdb = |d: &Path| d.join("initdb").is_file() && d.join("pg_ctl").is_file();
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if has_initdb(&dir) {
            return Some(dir);
        }
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            has_initdb(&bin).then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("local address").port()
}

impl PgCluster {
    /// A new cluster, started. `None` (after saying so on stderr) when
    /// PostgreSQL is not installed; under `CI=true`, panics instead. Panics
    /// when it is installed but cannot be started (a broken test machine).
    pub fn start(what: &str) -> Option<PgCluster> {
        let cluster = Self::init(what)?;
        cluster.start_again();
        Some(cluster)
    }

    /// [`PgCluster::start`], serving TLS only, with `cert_pem` and
    /// `key_pem` (a server certificate for 127.0.0.1): connections without
    /// TLS are refused (`hostssl` only).
    pub fn start_with_tls(what: &str, cert_pem: &str, key_pem: &str) -> Option<PgCluster> {
        let cluster = Self::init(what)?;
        let data = cluster.data();
        let write = |name: &str, text: &str| {
            let path = data.join(name);
            std::fs::write(&path, text).expect("write a cluster file");
            path
        };
        write("server.crt", cert_pem);
        let key = write("server.key", key_pem);
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))
                .expect("the key's mode");
        }
        let conf = std::fs::read_to_string(data.join("postgresql.conf")).expect("postgresql.conf");
        write("postgresql.conf", &format!("{conf}\nssl = on\n"));
        write(
            "pg_hba.conf",
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostssl all all ::1/128 trust\n",
        );
        if cluster.as_postgres {
            cluster.check(
                Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(&data)
                    .output(),
                "chown",
            );
        }
        cluster.start_again();
        Some(cluster)
    }

    /// A new cluster, initialised and not started.
    fn init(what: &str) -> Option<PgCluster> {
        let Some(bin) = bindir() else {
            let message = "PostgreSQL is not installed (no initdb/pg_ctl from `pg_config --bindir` \
                 or /usr/lib/postgresql/*/bin): `apt-get install postgresql`";
            assert!(!in_ci(), "CI=true and {message}");
            eprintln!(
                "\n==================== SKIPPED: {what} ====================\n{message}\n\
                 =========================================================\n"
            );
            return None;
        };
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "icr-pg-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the cluster's directory");
        let as_postgres = running_as_root();
        let cluster = PgCluster {
            bin,
            dir,
            port: free_port(),
            as_postgres,
        };
        if as_postgres {
            cluster.check(
                Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(&cluster.dir)
                    .output(),
                "chown",
            );
        }
        let data = cluster.data();
        let initdb = cluster.bin.join("initdb");
        cluster.run(
            &initdb,
            &[
                "-D",
                path_str(&data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ],
            "initdb",
        );
        Some(cluster)
    }

    /// The connection string: `host=127.0.0.1 port=… user=postgres dbname=postgres`.
    pub fn url(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres",
            self.port
        )
    }

    /// The loopback port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Starts the server (again), waiting until it accepts connections.
    pub fn start_again(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60",
            self.port,
            path_str(&self.dir)
        );
        let log = self.dir.join("server.log");
        self.run(
            &self.bin.join("pg_ctl"),
            &[
                "-D",
                path_str(&self.data()),
                "-l",
                path_str(&log),
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
            "pg_ctl start",
        );
    }

    /// Stops the server (fast shutdown: connections are closed), waiting
    /// until it has stopped.
    pub fn stop(&self) {
        self.run(
            &self.bin.join("pg_ctl"),
            &[
                "-D",
                path_str(&self.data()),
                "-m",
                "fast",
                "-w",
                "-t",
                "60",
                "stop",
            ],
            "pg_ctl stop",
        );
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn command(&self, program: &Path) -> Command {
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        }
    }

    fn run(&self, program: &Path, args: &[&str], what: &str) {
        let out = self.command(program).args(args).output();
        self.check(out, what);
    }

    fn check(&self, out: std::io::Result<Output>, what: &str) {
        match out {
            Ok(o) if o.status.success() => {}
            Ok(o) => {
                let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
                panic!(
                    "{what} failed ({}): {}{}\nserver log:\n{log}",
                    o.status,
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                )
            }
            Err(e) => panic!("cannot run {what}: {e}"),
        }
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = self
            .command(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

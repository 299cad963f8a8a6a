//! Three replicas, one shared audit store, under faults: the simulated
//! region (`icr sim --ephemeral`), three `icr serve` gateways on loopback,
//! each with its own audit log and replica id, all feeding one private
//! PostgreSQL. Clients ask for records round-robin across the replicas
//! while one replica is killed (kill -9) and restarted on its log, and,
//! separately, PostgreSQL is stopped for 30 s. Once every replica has
//! caught up: every acknowledged access (a 200 received in full) is in the
//! store exactly once, with its replica, patient and status; nothing is
//! lost; only accesses of the killed replica may lack their outcome
//! ("outcome not recorded", never "refused"); every chain verifies against
//! its anchors; and each patient's history from the store is exactly the
//! accesses to them across the three replicas. It prints one summary line
//! (counts, and the largest lag `/metrics` showed) for the issue's
//! closing note: `cargo test --test audit_store_replicas -- --nocapture`.

mod common;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use common::store::person_history;
use common::{copy_config, eventually_within, icr_succeeds, metric, mint, spawn_with_lines, stop};
use icr_audit::{Decision, Logged};
use icr_audit_store::{AuditStore, ReplicaId, log_head};
use icr_testkit::postgres::PgCluster;

/// The replicas' ids in the store.
const REPLICAS: [&str; 3] = ["icr-a", "icr-b", "icr-c"];
/// The replica killed with SIGKILL and restarted.
const KILLED: usize = 1;
/// The story patients asked for (config/demo/README.md).
const PATIENTS: [&str; 4] = ["9990000018", "9990000026", "9990000034", "9990000050"];
/// Concurrent clients.
const CLIENTS: usize = 6;
/// How long PostgreSQL stays down.
const OUTAGE: Duration = Duration::from_secs(30);

/// The simulated region: `icr sim --ephemeral`, and where each source
/// listens. Stopped when dropped.
struct Region {
    child: Child,
    /// Source id -> endpoint.
    endpoints: HashMap<String, String>,
    /// The GP practices' simulator's origin (`http://127.0.0.1:PORT`).
    practices: String,
}

impl Drop for Region {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

fn start_region() -> Region {
    let mut command = Command::new(env!("CARGO_BIN_EXE_icr"));
    command
        .args(["sim", "--ephemeral", "--config"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/config/demo"))
        .env("RUST_LOG", "warn")
        .stderr(Stdio::null());
    let (child, lines) = spawn_with_lines(&mut command);
    let mut region = Region {
        child,
        endpoints: HashMap::new(),
        practices: String::new(),
    };
    loop {
        let line = lines
            .recv_timeout(Duration::from_secs(60))
            .expect("the simulated region prints its endpoints within a minute");
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["simulated", "source", id, endpoint] => {
                region
                    .endpoints
                    .insert((*id).to_owned(), (*endpoint).to_owned());
            }
            ["simulated", "practices", .., pattern] => {
                let origin = pattern.split("/{ODS}/").next().unwrap_or_default();
                region.practices = origin.to_owned();
            }
            ["simulator", "control", ..] => break,
            _ => {}
        }
    }
    assert!(region.practices.starts_with("http://127.0.0.1:"));
    region
}

/// One `icr serve` replica: its configuration directory (a copy of
/// config/demo pointed at the region, its audit log in `audit/` inside
/// it), the process and its base URL. Stopped when dropped.
struct Replica {
    id: &'static str,
    dir: PathBuf,
    child: Child,
    url: String,
}

impl Drop for Replica {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

impl Replica {
    fn start(region: &Region, id: &'static str, store_url: &str) -> Replica {
        let dir = copy_config("demo");
        for entry in std::fs::read_dir(dir.join("sources.d")).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let source = text
                .lines()
                .find_map(|l| l.strip_prefix("id = \""))
                .and_then(|l| l.split('"').next())
                .unwrap()
                .to_owned();
            let Some(endpoint) = region.endpoints.get(&source) else {
                continue;
            };
            let text: Vec<String> = text
                .lines()
                .map(|l| {
                    if l.starts_with("endpoint = ") {
                        format!("endpoint = \"{endpoint}\"")
                    } else {
                        l.to_owned()
                    }
                })
                .collect();
            std::fs::write(&path, text.join("\n") + "\n").unwrap();
        }
        let practices = std::fs::read_to_string(dir.join("practices.toml")).unwrap();
        assert!(practices.contains("http://127.0.0.1:9201/"));
        let practices = practices.replace("http://127.0.0.1:9201", &region.practices);
        std::fs::write(dir.join("practices.toml"), practices).unwrap();
        std::fs::write(dir.join("store-url"), store_url).unwrap();
        let mut gateway = std::fs::read_to_string(dir.join("gateway.toml")).unwrap();
        gateway.push_str(&format!(
            "\n[audit_store]\nurl_file = \"store-url\"\nreplica = \"{id}\"\ningest_every_ms = 200\nanchor_every_s = 1\n"
        ));
        std::fs::write(dir.join("gateway.toml"), gateway).unwrap();
        let (child, url) = serve(&dir);
        Replica {
            id,
            dir,
            child,
            url,
        }
    }

    /// Starts it again on the same configuration and log.
    fn restart(&mut self) {
        (self.child, self.url) = serve(&self.dir);
    }

    fn audit_dir(&self) -> PathBuf {
        self.dir.join("audit")
    }

    fn replica_id(&self) -> ReplicaId {
        ReplicaId::parse(self.id).unwrap()
    }
}

/// `icr serve` on `dir`, on a free loopback port (its warnings appended to
/// `dir/stderr.log`): the process and its base URL.
fn serve(dir: &Path) -> (Child, String) {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("stderr.log"))
        .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_icr"));
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(dir)
        .env("RUST_LOG", "warn")
        .stderr(log);
    let (child, lines) = spawn_with_lines(&mut command);
    loop {
        let line = lines
            .recv_timeout(Duration::from_secs(60))
            .expect("the gateway says where it listens within a minute");
        if let Some(rest) = line.strip_prefix("icr gateway listening on ") {
            let url = rest.split_whitespace().next().unwrap().to_owned();
            return (child, url);
        }
    }
}

/// An answer received in full.
#[derive(Clone, Debug)]
struct Answer {
    replica: usize,
    /// 0 before the replica was killed, 1 after its restart.
    life: u32,
    patient: &'static str,
    request_id: String,
    status: u16,
}

/// Where the clients send requests: each replica's base URL and life.
type Targets = Arc<RwLock<Vec<(String, u32)>>>;

/// One client: record requests round-robin across the replicas and the
/// patients until `halt`, each answer received in full recorded; a request
/// that got no whole answer (a replica killed or restarting) counted in
/// `failed`.
async fn client(
    n: usize,
    targets: Targets,
    token: String,
    halt: Arc<AtomicBool>,
    answers: Arc<Mutex<Vec<Answer>>>,
    failed: Arc<AtomicU64>,
) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut i = n;
    while !halt.load(Ordering::Relaxed) {
        i += 1;
        let replica = i % REPLICAS.len();
        let patient = PATIENTS[(i / REPLICAS.len() + n) % PATIENTS.len()];
        let (base, life) = targets.read().unwrap()[replica].clone();
        let url = format!("{base}/v1/patients/{patient}/record");
        let answer = async {
            let r = http.get(&url).bearer_auth(&token).send().await.ok()?;
            let status = r.status().as_u16();
            let request_id = r.headers().get("x-request-id")?.to_str().ok()?.to_owned();
            // Only an answer received in full is acknowledged.
            r.bytes().await.ok()?;
            Some(Answer {
                replica,
                life,
                patient,
                request_id,
                status,
            })
        }
        .await;
        match answer {
            Some(a) => answers.lock().unwrap().push(a),
            None => {
                failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// The largest lag `/metrics` showed on any replica.
#[derive(Clone, Copy, Debug, Default)]
struct LagSeen {
    entries: f64,
    seconds: f64,
}

impl LagSeen {
    fn add(&mut self, metrics: &str) {
        let get = |name| metric(metrics, name).unwrap_or(0.0);
        self.entries = self.entries.max(get("icr_audit_store_lag_entries"));
        self.seconds = self.seconds.max(get("icr_audit_store_lag_seconds"));
    }
}

/// The largest lag each replica's `/metrics` showed, sampled every 250 ms
/// until `halt`: while its feed reached the store, and while it did not.
async fn sample_lag(targets: Targets, halt: Arc<AtomicBool>) -> (LagSeen, LagSeen) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let (mut up, mut down) = (LagSeen::default(), LagSeen::default());
    while !halt.load(Ordering::Relaxed) {
        let bases: Vec<String> = targets
            .read()
            .unwrap()
            .iter()
            .map(|t| t.0.clone())
            .collect();
        for base in bases {
            let Ok(r) = http.get(format!("{base}/metrics")).send().await else {
                continue;
            };
            let text = r.text().await.unwrap_or_default();
            match metric(&text, "icr_audit_store_up") {
                Some(1.0) => up.add(&text),
                Some(_) => down.add(&text),
                None => {}
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    (up, down)
}

/// One access read back from the store.
struct Stored {
    replica: usize,
    patient: &'static str,
    request_id: String,
    /// The HTTP status recorded, and whether it was allowed; `None`:
    /// outcome not recorded.
    outcome: Option<(u16, bool)>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_through_a_kill_and_a_store_outage_store_every_acknowledged_access_once() {
    let Some(pg) = PgCluster::start("three replicas feeding one audit store under faults") else {
        return;
    };
    let region = start_region();
    let mut replicas: Vec<Replica> = REPLICAS
        .iter()
        .map(|id| Replica::start(&region, id, &pg.url()))
        .collect();
    let targets: Targets = Arc::new(RwLock::new(
        replicas.iter().map(|r| (r.url.clone(), 0)).collect(),
    ));
    let token = mint("R8000", "RN3");
    let halt = Arc::new(AtomicBool::new(false));
    let answers = Arc::new(Mutex::new(Vec::<Answer>::new()));
    let failed = Arc::new(AtomicU64::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|n| {
            tokio::spawn(client(
                n,
                targets.clone(),
                token.clone(),
                halt.clone(),
                answers.clone(),
                failed.clone(),
            ))
        })
        .collect();
    let sampling = Arc::new(AtomicBool::new(false));
    let sampler = tokio::spawn(sample_lag(targets.clone(), sampling.clone()));
    let count =
        |f: &dyn Fn(&Answer) -> bool| answers.lock().unwrap().iter().filter(|a| f(a)).count();

    eventually_within(
        "answers from every replica",
        Duration::from_secs(60),
        || async { (0..REPLICAS.len()).all(|r| count(&|a| a.replica == r) >= 15) },
    )
    .await;

    // kill -9 one replica under load, and start it again on its log.
    let killed = &mut replicas[KILLED];
    killed.child.kill().expect("SIGKILL");
    let _ = killed.child.wait();
    killed.restart();
    targets.write().unwrap()[KILLED] = (killed.url.clone(), 1);
    eventually_within(
        "answers from the restarted replica",
        Duration::from_secs(30),
        || async { count(&|a| a.replica == KILLED && a.life == 1) >= 10 },
    )
    .await;

    // PostgreSQL down for 30 s while the load goes on.
    let before = count(&|_| true);
    pg.stop();
    tokio::time::sleep(OUTAGE).await;
    let during_outage = count(&|_| true) - before;
    pg.start_again();
    let after = count(&|_| true);
    eventually_within(
        "answers after the outage",
        Duration::from_secs(30),
        || async { count(&|_| true) >= after + 30 },
    )
    .await;
    halt.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.unwrap();
    }

    // Every replica caught up: its feed up and not behind, the store's
    // progress at its log's last entry.
    let store = AuditStore::connect(&pg.url(), 2).await.unwrap();
    let http = reqwest::Client::new();
    eventually_within(
        "every replica's log in the store",
        Duration::from_secs(60),
        || async {
            for r in &replicas {
                let Ok(m) = http.get(format!("{}/metrics", r.url)).send().await else {
                    return false;
                };
                let m = m.text().await.unwrap_or_default();
                let head = log_head(&r.audit_dir()).unwrap().map(|h| h.0);
                let progress = store.progress(&r.replica_id()).await.ok().flatten();
                if metric(&m, "icr_audit_store_up") != Some(1.0)
                    || metric(&m, "icr_audit_store_lag_entries") != Some(0.0)
                    || progress.map(|p| p.head) != head
                {
                    return false;
                }
            }
            true
        },
    )
    .await;
    sampling.store(true, Ordering::Relaxed);
    let (lag_up, lag_down) = sampler.await.unwrap();
    for r in &mut replicas {
        stop(&mut r.child);
    }

    // Every chain verifies against the heads the store recorded for it.
    for r in &replicas {
        let report = store.verify_log(&r.replica_id(), &r.audit_dir()).await;
        assert!(report.is_ok(), "{}: {report:?}", r.id);
    }
    let killed = &replicas[KILLED];
    icr_succeeds([
        "audit".as_ref(),
        "verify".as_ref(),
        killed.audit_dir().as_os_str(),
        "--store".as_ref(),
        killed.dir.join("store-url").as_os_str(),
        "--replica".as_ref(),
        killed.id.as_ref(),
    ]);

    // What the store holds: each patient's history, every page.
    let mut stored = Vec::new();
    let mut history: HashMap<&str, Vec<String>> = HashMap::new();
    for patient in PATIENTS {
        let accesses = person_history(&pg.url(), patient).await.unwrap();
        for a in accesses {
            let (request_id, outcome) = match a.access.logged {
                Logged::Whole(r) => (
                    r.request_id.to_string(),
                    Some((r.http_status, r.decision == Decision::Allowed)),
                ),
                Logged::OutcomeNotRecorded(b) => (b.request_id.to_string(), None),
            };
            history.entry(patient).or_default().push(request_id.clone());
            stored.push(Stored {
                replica: REPLICAS
                    .iter()
                    .position(|r| *r == a.replica.as_str())
                    .unwrap(),
                patient,
                request_id,
                outcome,
            });
        }
    }
    let answers = answers.lock().unwrap().clone();
    let acknowledged: Vec<&Answer> = answers.iter().filter(|a| a.status == 200).collect();

    // Exactly once: by (replica, request id), and across replicas.
    let mut by_id: HashMap<&str, Vec<&Stored>> = HashMap::new();
    for s in &stored {
        by_id.entry(&s.request_id).or_default().push(s);
    }
    let duplicated: usize = by_id.values().map(|v| v.len() - 1).sum();
    let per_replica: HashSet<(usize, &str)> = stored
        .iter()
        .map(|s| (s.replica, s.request_id.as_str()))
        .collect();
    assert_eq!(
        per_replica.len(),
        stored.len(),
        "duplicated within a replica"
    );
    assert_eq!(duplicated, 0, "duplicated across replicas");

    // Nothing lost, each as answered; only the killed replica's accesses
    // before the kill may lack their outcome — never shown as refused.
    let mut lost = Vec::new();
    let mut outcome_not_recorded_acknowledged = 0;
    for a in &answers {
        let Some([s]) = by_id.get(a.request_id.as_str()).map(Vec::as_slice) else {
            lost.push(a);
            continue;
        };
        assert_eq!((s.replica, s.patient), (a.replica, a.patient), "{a:?}");
        match s.outcome {
            Some((status, allowed)) => {
                assert_eq!(status, a.status, "{a:?}");
                assert_eq!(allowed, a.status == 200, "{a:?}");
            }
            None => {
                assert!(a.replica == KILLED && a.life == 0, "{a:?}");
                outcome_not_recorded_acknowledged += 1;
            }
        }
    }
    let some_lost = &lost[..lost.len().min(5)];
    assert_eq!(lost.len(), 0, "answers not in the store: {some_lost:?}");
    // A client's earlier answer from a replica is recorded whole once its
    // next request there has begun: at most each client's last one lacks
    // its outcome.
    assert!(outcome_not_recorded_acknowledged <= CLIENTS);
    // Stored accesses no client saw answered: in flight at the kill.
    let answered: HashSet<&str> = answers.iter().map(|a| a.request_id.as_str()).collect();
    let in_flight: Vec<&Stored> = stored
        .iter()
        .filter(|s| !answered.contains(s.request_id.as_str()))
        .collect();
    for s in &in_flight {
        assert_eq!(
            s.replica, KILLED,
            "an access nobody asked for: {}",
            s.request_id
        );
        // Every request here is allowed: whole, it says so; else its
        // outcome is not recorded — never refused.
        assert!(
            matches!(s.outcome, None | Some((200, true))),
            "{}",
            s.request_id
        );
    }
    let outcome_not_recorded = stored.iter().filter(|s| s.outcome.is_none()).count();

    // Each patient's history: the accesses to them across the replicas.
    for patient in PATIENTS {
        let got: Vec<&str> = history[patient].iter().map(String::as_str).collect();
        let mut want: HashSet<&str> = answers
            .iter()
            .filter(|a| a.patient == patient)
            .map(|a| a.request_id.as_str())
            .collect();
        want.extend(
            in_flight
                .iter()
                .filter(|s| s.patient == patient)
                .map(|s| s.request_id.as_str()),
        );
        assert_eq!(got.len(), want.len(), "{patient}");
        assert_eq!(got.into_iter().collect::<HashSet<_>>(), want, "{patient}");
    }
    assert!(during_outage > 0, "no answers while PostgreSQL was down");
    // The lag grew while the store was down (the alert can fire).
    assert!(lag_down.entries >= 1.0, "{lag_down:?}");

    println!(
        "issue 15, three replicas: {} answers ({} acknowledged, {} other statuses) across {} replicas, \
         {} requests unanswered (the kill); stored {} accesses: acknowledged {} stored, \
         duplicated {duplicated}, lost {}, outcome not recorded {outcome_not_recorded} \
         ({outcome_not_recorded_acknowledged} acknowledged, {} in flight at the kill); \
         {during_outage} answered during the {} s PostgreSQL outage; \
         largest lag seen on /metrics {} entries, {:.3} s with the store up, \
         {} entries, {:.3} s with it down",
        answers.len(),
        acknowledged.len(),
        answers.len() - acknowledged.len(),
        REPLICAS.len(),
        failed.load(Ordering::Relaxed),
        stored.len(),
        acknowledged.len() - lost.len(),
        lost.len(),
        in_flight.len(),
        OUTAGE.as_secs(),
        lag_up.entries,
        lag_up.seconds,
        lag_down.entries,
        lag_down.seconds,
    );
    let dirs: Vec<PathBuf> = replicas.iter().map(|r| r.dir.clone()).collect();
    drop(replicas);
    drop(region);
    for d in dirs {
        let _ = std::fs::remove_dir_all(d);
    }
}

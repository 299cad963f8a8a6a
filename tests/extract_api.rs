//! The operator API of hosted extract runs (`/v1/extracts`), end to end:
//! `icr demo` serving a copy of the demo's configuration with an
//! `[[extract]]` over part of its population. An operator starts a run,
//! watches it, cannot start a second beside it, cancels it (it stops at a
//! checkpoint in its own directory), resumes it, and it finishes with its
//! manifest; clinicians are refused the API. While the run reads the
//! region, clinicians' record requests are all answered, and the
//! extract's calls waited for theirs (counted in `/metrics`; no timings).

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Demo, copy_dir, eventually_within, mint, start_demo_in};
use icr_sim::population::Population;
use serde_json::{Value, json};

/// The demo's objection register (config/demo/objections.toml).
const OBJECTORS: [&str; 2] = ["9990000115", "9996391582"];

/// Registered people in the cohort, besides the objectors and opt-outs.
const COHORT: usize = 240;

/// Record requests made by clinicians while the run goes on (two at a
/// time, each for another person), unless it finishes first: they are
/// served first, so the extract waits while they last.
const CLINICAL: usize = 60;

/// The extract's calls per second to each source in the copy: low enough
/// that the run lasts while clinicians' requests go on beside it.
const EXTRACT_RATE: u32 = 30;

fn population() -> Population {
    // config/demo/sim.toml's seed and size.
    Population::generate(20_261_101, 1200)
}

/// The demo's national data opt-out list.
fn opt_outs() -> Vec<String> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("config/demo/extract/national-opt-out.txt"),
    )
    .unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.replace(' ', ""))
        .collect()
}

/// A copy of config/demo (its audit log left behind), the project key
/// private, each source's extract rate lowered, and an `[[extract]]`
/// named "demo" over `cohort`, writing below `extracts/`.
fn config_with_extract(cohort: &[String]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("icr-extract-api-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("config/demo"),
        &dir,
    );
    let key = dir.join("extract/project.key");
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    for f in std::fs::read_dir(dir.join("sources.d")).unwrap() {
        let path = f.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(
            &path,
            text.replace(
                "rate_per_s = 100\n",
                &format!("rate_per_s = {EXTRACT_RATE}\n"),
            ),
        )
        .unwrap();
    }
    std::fs::write(dir.join("cohort.txt"), cohort.join("\n") + "\n").unwrap();
    let mut gateway = std::fs::read_to_string(dir.join("gateway.toml")).unwrap();
    gateway.push_str(
        "\n[[extract]]\nname = \"demo\"\nspec = \"extract/extract.toml\"\ncohort = \"cohort.txt\"\nout = \"extracts\"\n",
    );
    std::fs::write(dir.join("gateway.toml"), gateway).unwrap();
    dir
}

/// `/v1/extracts` as one caller (an operator or a clinician) calls it.
#[derive(Clone)]
struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    fn new(demo: &Demo, token: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: format!("{}/v1/extracts", demo.gateway),
            token: token.to_owned(),
        }
    }

    /// `method` on `/v1/extracts{path}` with `body`: the status and JSON.
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut r = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            r = r
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let r = r.send().await.expect("the gateway answers");
        let status = r.status().as_u16();
        let bytes = r.bytes().await.expect("a body");
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn post(&self, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, "", Some(body)).await
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// A run's status (which must be found).
    async fn status(&self, run: &str) -> Value {
        let (code, body) = self.get(&format!("/{run}")).await;
        assert_eq!(code, 200, "{body}");
        body
    }
}

async fn metrics(demo: &Demo) -> String {
    reqwest::get(format!("{}/metrics", demo.gateway))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The sum of a metric's values whose label sets contain every one of
/// `labels`.
fn sum(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter_map(|l| {
            let rest = l.strip_prefix(name)?.strip_prefix('{')?;
            let (set, value) = rest.split_once("} ")?;
            labels
                .iter()
                .all(|want| set.split(',').any(|l| l == *want))
                .then(|| value.parse::<f64>().ok())?
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_operator_starts_watches_cancels_and_resumes_an_extract_beside_clinical_care() {
    let pop = population();
    let registered: Vec<String> = pop
        .iter()
        .filter(|p| p.registered_practice().is_some())
        .map(|p| p.nhs_number.to_string())
        .collect();
    let left_out: BTreeSet<String> = opt_outs()
        .into_iter()
        .chain(OBJECTORS.iter().map(|s| s.to_string()))
        .collect();
    // Registered people (each held by a practice), the objectors and
    // the national opt-outs.
    let mut cohort: Vec<String> = registered
        .iter()
        .filter(|n| !left_out.contains(*n))
        .take(COHORT)
        .cloned()
        .collect();
    cohort.extend(left_out.iter().cloned());
    let in_cohort: BTreeSet<&String> = cohort.iter().collect();
    // Clinicians ask for other registered people, each once (so that
    // each request goes to the sources, not to the cache).
    let clinical: Vec<String> = registered
        .iter()
        .filter(|n| !in_cohort.contains(n) && !left_out.contains(*n))
        .cloned()
        .collect();
    assert!(clinical.len() > 400, "{}", clinical.len());

    let config = config_with_extract(&cohort);
    let demo = start_demo_in(&config);
    let operator = Api::new(&demo, &mint("R8015", "X26"));
    // An emergency-department clinician: may look anyone up.
    let clinician = mint("R8000", "Y9E01");

    // Clinicians cannot use the API; an unknown extract is not found.
    let start = json!({"extract": "demo"});
    let as_clinician = Api::new(&demo, &clinician);
    assert_eq!(as_clinician.get("").await.0, 403);
    assert_eq!(as_clinician.post(start.clone()).await.0, 403);
    let (code, body) = operator.post(json!({"extract": "nope"})).await;
    assert_eq!(code, 404, "{body}");
    assert_eq!(operator.get("/nope").await.0, 404);

    // Started: 202 with the run; a second start beside it is refused.
    let (code, started) = operator.post(start.clone()).await;
    assert_eq!(code, 202, "{started}");
    assert_eq!(started["extract"], "demo");
    assert_eq!(started["state"], "running");
    let run = started["run"].as_str().unwrap().to_owned();
    let run_dir = config.join("extracts").join(&run);
    assert_eq!(started["dir"], run_dir.display().to_string());
    let (code, body) = operator.post(start.clone()).await;
    assert_eq!(code, 409, "{body}");

    // It progresses.
    eventually_within("the run reads people", Duration::from_secs(60), || async {
        let s = operator.status(&run).await;
        assert_eq!(s["state"], "running", "{s}");
        s["progress"]["done"].as_u64().unwrap_or(0) > 0
    })
    .await;

    // Cancelled: it stops at a checkpoint in its own directory.
    let (code, body) = operator
        .call(reqwest::Method::DELETE, &format!("/{run}"), None)
        .await;
    assert_eq!(code, 200, "{body}");
    eventually_within("the run stops", Duration::from_secs(60), || async {
        operator.status(&run).await["state"] == "cancelled"
    })
    .await;
    let stopped = operator.status(&run).await;
    let at = stopped["progress"]["done"].as_u64().unwrap();
    assert!(at < cohort.len() as u64, "{stopped}");
    let checkpoint: Value =
        serde_json::from_slice(&std::fs::read(run_dir.join("checkpoint.json")).unwrap()).unwrap();
    assert_eq!(checkpoint["next_position"].as_u64(), Some(at));
    assert!(!run_dir.join("manifest.json").exists());
    let (code, list) = operator.get("").await;
    assert_eq!(code, 200);
    assert_eq!(list["runs"][0]["run"], run.as_str());

    // Resumed: it carries on while clinicians ask for other people.
    let (code, resumed) = operator.post(json!({"resume": run})).await;
    assert_eq!(code, 202, "{resumed}");
    assert_eq!(resumed["run"], run.as_str());
    let asked: Vec<String> = clinical.into_iter().take(CLINICAL).collect();
    let queue = std::sync::Arc::new(std::sync::Mutex::new(asked));
    let mut clinicians = tokio::task::JoinSet::new();
    for _ in 0..2 {
        let (operator, queue, token, gateway, run) = (
            operator.clone(),
            queue.clone(),
            clinician.clone(),
            demo.gateway.clone(),
            run.clone(),
        );
        clinicians.spawn(async move {
            let mut answered = Vec::new();
            while operator.status(&run).await["state"] == "running" {
                let Some(nhs) = queue.lock().unwrap().pop() else {
                    break;
                };
                let url = format!("{gateway}/v1/patients/{nhs}/record");
                let r = operator.http.get(url).bearer_auth(&token).send().await;
                answered.push(r.unwrap().status().as_u16());
            }
            answered
        });
    }
    let mut answered = Vec::new();
    while let Some(part) = clinicians.join_next().await {
        answered.extend(part.unwrap());
    }
    eventually_within("the run finishes", Duration::from_secs(120), || async {
        operator.status(&run).await["state"] != "running"
    })
    .await;
    let finished = operator.status(&run).await;
    assert_eq!(finished["state"], "finished", "{finished}");
    assert!(!answered.is_empty());
    assert!(answered.iter().all(|s| *s == 200), "{answered:?}");

    // Its manifest, with everyone accounted for.
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(run_dir.join("manifest.json")).unwrap()).unwrap();
    assert!(!run_dir.join("checkpoint.json").exists());
    assert_eq!(manifest["run_id"], run.as_str());
    let c = &manifest["counts"];
    let n = |k: &str| c[k].as_u64().unwrap();
    assert_eq!(n("in_cohort"), cohort.len() as u64);
    assert_eq!(n("national_opt_out"), opt_outs().len() as u64);
    assert_eq!(n("objected"), OBJECTORS.len() as u64);
    assert_eq!(n("not_found"), 0);
    assert_eq!(n("extracted"), COHORT as u64);
    let patients = std::fs::read_to_string(run_dir.join("fhir/Patient.ndjson")).unwrap();
    assert_eq!(patients.lines().count(), COHORT);
    assert_eq!(finished["progress"]["counts"], *c);

    // Metrics: one run finished, its people by outcome, and the extract's
    // calls waited for clinicians' at least once.
    let text = metrics(&demo).await;
    assert_eq!(sum(&text, "icr_extract_runs", &["state=\"finished\""]), 1.0);
    assert_eq!(sum(&text, "icr_extract_runs", &["state=\"running\""]), 0.0);
    let people = |outcome: &str| {
        sum(
            &text,
            "icr_extract_people",
            &[&format!("run=\"{run}\""), &format!("outcome=\"{outcome}\"")],
        )
    };
    assert_eq!(people("extracted"), COHORT as f64);
    assert_eq!(people("objected"), OBJECTORS.len() as f64);
    let waited = sum(
        &text,
        "icr_extract_waits_total",
        &["reason=\"interactive\""],
    );
    assert!(waited > 0.0, "the extract never waited for a clinician");

    // A finished run is not resumed, nor started again over its files.
    let (code, body) = operator.post(json!({"resume": run})).await;
    assert_eq!(code, 404, "{body}");
    let (code, body) = operator.post(start).await;
    assert_eq!(code, 409, "{body}");
    assert_eq!(operator.status(&run).await["state"], "finished");
    drop(demo);
    let _ = std::fs::remove_dir_all(&config);
}

//! Reading the audit over HTTP: the JSON view says everything the FHIR
//! AuditEvent says; reads are paged newest first with a cursor, touch only
//! the person's own lines (an index), and are bounded; the chain's head is
//! served to operators.

mod common;

use std::time::{Duration, Instant};

use common::*;
use icr_audit::{AuditConfig, ChainPoint, Event, Timestamp, seal};
use icr_testkit::pki::{Ca, write};
use icr_tls::{ClientAuth, ServerTls, TlsConfig};
use serde_json::{Value, json};

const PATIENT: &str = "9990000018";

fn fresh_dir(name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("icr-audit-read-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A gateway over the usual source, its audit log as `audit` says.
async fn start_on(audit: AuditConfig) -> Started {
    start_with(
        2000,
        allergy_source(),
        Setup {
            audit: Some(audit),
            ..Setup::default()
        },
    )
    .await
}

/// Waits (generously bounded) until the gateway's audit index is built:
/// until then audit reads are answered 503 `audit_indexing`.
async fn wait_for_the_index(base: &str) {
    let url = format!("{base}/v1/audit?patient={PATIENT}&_count=1");
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let (status, headers, body) = get_as(&url, Some(&officer())).await;
        if status != 503 {
            return;
        }
        assert_eq!(body["error"], "audit_indexing", "{body}");
        assert_eq!(headers["retry-after"], "5");
        assert!(Instant::now() < deadline, "the index was not built");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// GET `url` as `token`, with `client`: status, headers and JSON body.
async fn fetch(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    break_glass: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut request = client.get(url).bearer_auth(token);
    if let Some(r) = break_glass {
        request = request.header("X-Break-Glass-Reason", r);
    }
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body = r.bytes().await.unwrap();
    (
        status,
        headers,
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

/// The detail of `kind` in an AuditEvent's patient entity.
fn detail<'a>(event: &'a Value, kind: &str) -> Option<&'a str> {
    event["entity"][0]["detail"]
        .as_array()?
        .iter()
        .find(|d| d["type"] == kind)
        .and_then(|d| d["valueString"].as_str())
}

fn joined(list: &Value) -> String {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join(",")
}

#[tokio::test]
async fn the_json_audit_view_carries_everything_the_audit_event_does() {
    // A portal with a client certificate; a clinician at RD1 (not involved)
    // breaks the glass through it.
    let servers = Ca::new("ICR Test Server CA");
    let clients = Ca::new("ICR Test Clients CA");
    let dir = fresh_dir("tls");
    std::fs::create_dir_all(&dir).unwrap();
    let server = servers.server();
    write(&dir, "server.crt", &server.cert);
    write(&dir, "server.key", &server.key);
    write(&dir, "clients-ca.pem", &clients.cert_pem());
    let tls = ServerTls::load(
        &TlsConfig {
            cert: "server.crt".into(),
            key: "server.key".into(),
            client_ca: Some("clients-ca.pem".into()),
            client_auth: ClientAuth::Optional,
            allowed_clients: Vec::new(),
        },
        &dir,
    )
    .unwrap();
    let s = start_with(
        2000,
        allergy_source(),
        Setup {
            tls: Some(tls),
            ..Setup::default()
        },
    )
    .await;
    let portal = clients.client("portal.example.nhs.uk");
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(servers.cert_pem().as_bytes()).unwrap()])
        .identity(reqwest::Identity::from_pem(&portal.identity_pem()).unwrap())
        .build()
        .unwrap();
    let (status, _, _) = fetch(
        &client,
        &format!("{}/v1/patients/{PATIENT}/record", s.base),
        &token("R8000", "RD1"),
        Some(GLASS),
    )
    .await;
    assert_eq!(status, 200);

    let (status, _, view) = fetch(
        &client,
        &format!("{}/v1/audit?patient={PATIENT}", s.base),
        &officer(),
        None,
    )
    .await;
    assert_eq!(status, 200, "{view}");
    let (status, _, bundle) = fetch(
        &client,
        &format!("{}/fhir/r4/AuditEvent?patient={PATIENT}", s.base),
        &officer(),
        None,
    )
    .await;
    assert_eq!(status, 200, "{bundle}");
    assert_valid_fhir(&bundle);

    let accesses = view["accesses"].as_array().unwrap();
    let a = accesses
        .iter()
        .find(|a| a["basis"] == "break-glass")
        .expect("the break-glass access");
    let id = format!("icr-audit-{}", a["seq"]);
    let event = &bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["resource"]["id"] == id.as_str())
        .expect("the same access as an AuditEvent")["resource"];

    // Field by field: when, which interface, which request.
    assert_eq!(a["time"], event["recorded"]);
    assert_eq!(a["interaction"], "record");
    assert_eq!(event["subtype"][0]["code"], "read");
    assert_eq!(a["request_id"].as_str(), detail(event, "request-id"));
    // Who: the user, their organisation, the calling system.
    let user = &event["agent"][0];
    assert_eq!(a["user"]["name"], user["name"]);
    assert_eq!(a["user"]["role"], user["role"][0]["text"]);
    assert_eq!(a["user"]["sub"], user["who"]["identifier"]["value"]);
    assert_eq!(a["user"]["issuer"], user["who"]["identifier"]["system"]);
    assert_eq!(
        a["user"]["organisation"],
        event["agent"][1]["who"]["identifier"]["value"]
    );
    assert_eq!(a["user"]["organisation"], "RD1");
    let device = &event["agent"][2];
    assert_eq!(device["who"]["type"], "Device");
    assert_eq!(a["calling_system"], device["who"]["display"]);
    assert!(
        a["calling_system"]
            .as_str()
            .unwrap()
            .contains("CN=portal.example.nhs.uk"),
        "{a}"
    );
    // Why: purpose, basis, break-glass reason.
    assert_eq!(a["purpose"], event["purposeOfEvent"][0]["text"]);
    assert_eq!(event["purposeOfEvent"][1]["coding"][0]["code"], "BTG");
    assert_eq!(a["basis"].as_str(), detail(event, "basis"));
    assert_eq!(a["break_glass_reason"], GLASS);
    assert_eq!(
        a["break_glass_reason"].as_str(),
        detail(event, "break-glass-reason")
    );
    assert_eq!(a["break_glass_reason"], event["purposeOfEvent"][1]["text"]);
    // What: sections, items, sources.
    assert_eq!(
        Some(joined(&a["sections_requested"]).as_str()),
        detail(event, "sections-requested")
    );
    assert_eq!(
        Some(joined(&a["sections_released"]).as_str()),
        detail(event, "sections-released")
    );
    assert_eq!(
        Some(a["items_released"].to_string().as_str()),
        detail(event, "items-released")
    );
    assert_eq!(
        Some(a["items_withheld"].to_string().as_str()),
        detail(event, "items-withheld")
    );
    let sources: Vec<String> = a["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{}={}",
                s["source"].as_str().unwrap(),
                s["status"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(Some(sources.join(",").as_str()), detail(event, "sources"));
    assert_eq!(sources, ["gwh=ok"]);
    // The source records shown: one entity each, after the patient.
    let shown: Vec<(String, String)> = a["shown"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            let system = format!("urn:icr:source:{}", s["source"].as_str().unwrap());
            s["ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |id| (system.clone(), id.as_str().unwrap().to_owned()))
        })
        .collect();
    let entities: Vec<(String, String)> = event["entity"].as_array().unwrap()[1..]
        .iter()
        .map(|e| {
            let id = &e["what"]["identifier"];
            (
                id["system"].as_str().unwrap().to_owned(),
                id["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(!shown.is_empty(), "{a}");
    assert_eq!(shown, entities);
    // The outcome: decision, reason, status.
    assert_eq!(
        event["outcomeDesc"].as_str().unwrap(),
        format!(
            "{}: {} (HTTP {})",
            a["decision"].as_str().unwrap(),
            a["reason"].as_str().unwrap(),
            a["http_status"]
        )
    );
    assert_eq!(event["outcome"], "0");
}

/// Does `n` record requests for the patient as a clinician at RN3.
async fn accesses(base: &str, n: usize) {
    for _ in 0..n {
        let (status, _, _) = get(&format!("{base}/v1/patients/{PATIENT}/record")).await;
        assert_eq!(status, 200);
    }
}

fn seqs(view: &Value) -> Vec<u64> {
    view["accesses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["seq"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn audit_reads_are_paged_newest_first_with_a_cursor() {
    let s = start_with(2000, allergy_source(), Setup::default()).await;
    accesses(&s.base, 7).await;
    // Someone else's access, in between: never on this person's pages.
    let (status, _, _) = get(&format!("{}/v1/patients/9990000026/record", s.base)).await;
    assert_ne!(status, 0);

    let first = format!("{}/v1/audit?patient={PATIENT}&_count=3", s.base);
    let (status, _, page) = get_as(&first, Some(&officer())).await;
    assert_eq!(status, 200, "{page}");
    // Seven accesses (each begun and completed: 1 and 2, …, 13 and 14;
    // an access is numbered by its begun entry), someone else's (15, 16),
    // and nothing else yet.
    assert_eq!(seqs(&page), [13, 11, 9]);
    assert_eq!(page["total"], 7);
    assert_eq!(page["complete"], false);
    let next = page["next"].as_str().expect("a next page").to_owned();
    assert_eq!(
        next,
        format!("/v1/audit?patient={PATIENT}&_count=3&before=9")
    );
    let (_, _, page) = get_as(&format!("{}{next}", s.base), Some(&officer())).await;
    assert_eq!(seqs(&page), [7, 5, 3]);
    let next = page["next"].as_str().unwrap().to_owned();
    let (_, _, page) = get_as(&format!("{}{next}", s.base), Some(&officer())).await;
    assert_eq!(seqs(&page), [1]);
    assert!(page.get("next").is_none(), "{page}");
    // The three reads are accesses to the audit too (one entry each): the
    // newest now.
    let (_, _, page) = get_as(&first, Some(&officer())).await;
    assert_eq!(seqs(&page), [19, 18, 17]);
    assert_eq!(page["accesses"][0]["interaction"], "audit-read");
    assert_eq!(page["total"], 10);

    // The same as a FHIR searchset, with `next` links.
    let (status, _, bundle) = get_as(
        &format!("{}/fhir/r4/AuditEvent?patient={PATIENT}&_count=4", s.base),
        Some(&officer()),
    )
    .await;
    assert_eq!(status, 200, "{bundle}");
    assert_valid_fhir(&bundle);
    assert_eq!(bundle["total"], 11);
    let ids: Vec<&str> = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "icr-audit-20",
            "icr-audit-19",
            "icr-audit-18",
            "icr-audit-17"
        ]
    );
    let next = bundle["link"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["relation"] == "next")
        .and_then(|l| l["url"].as_str())
        .expect("a next link");
    assert_eq!(
        next,
        format!("/fhir/r4/AuditEvent?patient={PATIENT}&_count=4&before=17")
    );

    // Dates: everything today, nothing before 2000, nothing tomorrow.
    let today = Timestamp::now().to_rfc3339()[..10].to_owned();
    let count = |query: String| {
        let base = s.base.clone();
        async move {
            let (status, _, page) = get_as(
                &format!("{base}/v1/audit?patient={PATIENT}&{query}"),
                Some(&officer()),
            )
            .await;
            assert_eq!(status, 200, "{query}: {page}");
            page["accesses"].as_array().unwrap().len()
        }
    };
    assert!(count(format!("date={today}")).await >= 10);
    assert!(count(format!("date=ge{today}&date=le{today}")).await >= 10);
    assert_eq!(count("date=lt2000-01-01".into()).await, 0);
    assert_eq!(count("date=gt2999-12-31T00:00:00Z".into()).await, 0);

    // Bounds and bad queries.
    for (query, why) in [
        ("_count=0", "_count"),
        ("_count=501", "_count"),
        ("_count=x", "_count"),
        ("before=x", "before"),
        ("date=yesterday", "date"),
        ("date=ne2026-01-01", "date"),
    ] {
        let (status, _, body) = get_as(
            &format!("{}/v1/audit?patient={PATIENT}&{query}", s.base),
            Some(&officer()),
        )
        .await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains(why),
            "{query}: {body}"
        );
    }
}

/// Writes a log of `n` accesses to 1,000 people in turn (person `k` is
/// `9990000018` for k = 0), a day apart per 1,000, straight to disk.
fn big_log(dir: &std::path::Path, n: u32, per_file: u32) {
    use std::io::Write;
    std::fs::create_dir_all(dir).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let people: Vec<icr_model::NhsNumber> = (0..)
        .filter_map(|k: u32| icr_model::NhsNumber::from_first_nine(999_000_001 + k))
        .take(1000)
        .collect();
    let mut head = ChainPoint::GENESIS;
    let mut out = None;
    let base = icr_model::time::OffsetDateTime::parse(
        "2026-01-01T00:00:00Z",
        &icr_model::time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    for i in 0..n {
        if i % per_file == 0 {
            let name = icr_audit::file_name(u64::from(i / per_file) + 1);
            out = Some(std::io::BufWriter::new(
                std::fs::File::create(dir.join(name)).unwrap(),
            ));
        }
        let mut r = audit_record(i);
        r.nhs_number = Some(if i % 1000 == 0 {
            nhs()
        } else {
            people[(i % 1000) as usize]
        });
        r.time = Timestamp::from_offset(base + Duration::from_secs(u64::from(i) * 86));
        let (line, next) = seal(head, &Event::Access(Box::new(r))).unwrap();
        out.as_mut().unwrap().write_all(&line).unwrap();
        head = next;
    }
}

fn audit_record(i: u32) -> icr_audit::AuditRecord {
    use icr_audit::*;
    let sections: icr_model::SectionSet = [icr_model::Section::Allergies].into_iter().collect();
    AuditRecord {
        time: Timestamp::now(),
        request_id: RequestId::parse(&format!("req-{i}")).unwrap(),
        interaction: Interaction::Record,
        user: Some(User {
            issuer: Some("https://login.icr-demo.example".into()),
            sub: format!("user-{}", i % 50),
            name: format!("Dr Test Clinician {}", i % 50),
            role: "R8000".into(),
            org: icr_model::OdsCode::parse("RN3").unwrap(),
        }),
        calling_system: Some("CN=portal.example.nhs.uk".into()),
        nhs_number: None,
        purpose: "directcare".into(),
        break_glass_reason: None,
        basis: Basis::Involved,
        sections_requested: sections,
        sections_released: sections,
        sources: vec![SourceAsked {
            source: icr_model::SourceId::parse("gwh").unwrap(),
            status: SourceStatus::Ok,
        }],
        items_released: 1,
        items_withheld: 0,
        shown: icr_audit::ReleasedRecords::NONE,
        decision: Decision::Allowed,
        reason: ReasonCode::parse("involved").unwrap(),
        http_status: 200,
    }
}

#[tokio::test]
async fn a_big_audit_log_is_read_a_page_at_a_time() {
    // 200,000 accesses over 4 files; the patient has 200 of them.
    let dir = fresh_dir("big");
    let written = Instant::now();
    big_log(&dir, 200_000, 50_000);
    let bytes: u64 = icr_audit::log_files(&dir)
        .unwrap()
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().len())
        .sum();
    eprintln!(
        "big log: 200000 entries, {} MB, written in {:?}",
        bytes / 1_000_000,
        written.elapsed()
    );
    let opened = Instant::now();
    let s = start_on(AuditConfig::new(&dir)).await;
    eprintln!("gateway started (log opened) in {:?}", opened.elapsed());
    wait_for_the_index(&s.base).await;
    eprintln!("audit log indexed {:?} after the start", opened.elapsed());

    let url = format!("{}/v1/audit?patient={PATIENT}", s.base);
    let mut took = Vec::new();
    let mut page = Value::Null;
    for _ in 0..5 {
        let asked = Instant::now();
        let (status, _, body) = get_as(&url, Some(&officer())).await;
        took.push(asked.elapsed());
        assert_eq!(status, 200, "{body}");
        page = body;
    }
    eprintln!("GET /v1/audit?patient= (first page) took {took:?}");
    // The default page: the 50 most recent of the person's 200 accesses,
    // after the reads' own entries (the one that found the index built,
    // and four of the five above), newest of all.
    let seqs = seqs(&page);
    assert_eq!(seqs.len(), 50);
    assert_eq!(
        &seqs[..6],
        [200_005, 200_004, 200_003, 200_002, 200_001, 199_001]
    );
    assert_eq!(page["accesses"][0]["interaction"], "audit-read");
    assert_eq!(page["accesses"][5]["interaction"], "record");
    assert_eq!(page["total"], 205);
    // Following the cursor to the end visits every access once.
    let mut all = seqs.clone();
    let mut next = page["next"].as_str().map(str::to_owned);
    while let Some(n) = next {
        let (status, _, body) = get_as(&format!("{}{n}", s.base), Some(&officer())).await;
        assert_eq!(status, 200);
        all.extend(self::seqs(&body));
        next = body["next"].as_str().map(str::to_owned);
    }
    assert!(all.windows(2).all(|w| w[0] > w[1]), "newest first");
    assert!(all.len() >= 205, "{}", all.len());
    assert_eq!(*all.last().unwrap(), 1);

    // A narrow date window is one lookup too: 200 accesses a day apart.
    let asked = Instant::now();
    let (status, _, window) = get_as(
        &format!("{url}&date=ge2026-01-02&date=lt2026-01-04"),
        Some(&officer()),
    )
    .await;
    eprintln!("date window read took {:?}", asked.elapsed());
    assert_eq!(status, 200, "{window}");
    assert_eq!(window["total"], 2);
}

#[tokio::test]
async fn audit_reads_beyond_their_limit_are_refused_with_retry_after() {
    let dir = fresh_dir("busy");
    big_log(&dir, 20_000, 20_000);
    let s = start_on(AuditConfig {
        max_concurrent_reads: 1,
        ..AuditConfig::new(&dir)
    })
    .await;
    wait_for_the_index(&s.base).await;
    let url = format!("{}/fhir/r4/AuditEvent?patient={PATIENT}&_count=500", s.base);
    let officer = officer();
    let asks = (0..48).map(|_| {
        let (url, officer) = (url.clone(), officer.clone());
        tokio::spawn(async move {
            let r = reqwest::Client::new()
                .get(&url)
                .bearer_auth(&officer)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let retry = r.headers().get("retry-after").cloned();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            (status, retry, body)
        })
    });
    let mut served = 0;
    let mut refused = 0;
    for ask in asks.collect::<Vec<_>>() {
        let (status, retry, body) = ask.await.unwrap();
        match status {
            200 => served += 1,
            503 => {
                refused += 1;
                assert_eq!(retry.unwrap(), "1");
                assert_eq!(body["resourceType"], "OperationOutcome", "{body}");
            }
            other => panic!("{other}: {body}"),
        }
    }
    assert!(served >= 1, "{served} served");
    assert!(refused >= 1, "{refused} refused: reads are not bounded");
}

#[tokio::test]
async fn the_chain_head_is_served_to_operators() {
    let anchors_dir = fresh_dir("anchors");
    std::fs::create_dir_all(&anchors_dir).unwrap();
    let anchors = anchors_dir.join("anchors.jsonl");
    let dir = fresh_dir("head");
    let s = start_on(AuditConfig {
        anchor_file: Some(anchors.clone()),
        ..AuditConfig::new(&dir)
    })
    .await;
    accesses(&s.base, 3).await;
    // Three accesses, begun and completed: six entries, once the last
    // completion (written after its answer) is synced.
    common::audited(&dir, &nhs(), 10).await;
    let url = format!("{}/v1/audit/head", s.base);
    let (status, _, body) = get(&url).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("NOT_OPERATOR")));
    let (status, _, body) = get_as(&url, None).await;
    assert_eq!(status, 401, "{body}");
    let (status, headers, head) = get_as(&url, Some(&token("R8015", "X26"))).await;
    assert_eq!(status, 200, "{head}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(head["seq"], 6);
    assert_eq!(head["file"], "audit-000001.jsonl");
    let point = ChainPoint::parse(&format!(
        "{}:{}",
        head["seq"],
        head["hash"].as_str().unwrap()
    ))
    .unwrap();
    // It is the log's head: the log verifies against it.
    let files = icr_audit::log_files(&dir).unwrap();
    icr_audit::verify_with(
        &files,
        &icr_audit::VerifyOptions {
            anchors: vec![point],
            ..Default::default()
        },
        |_, _, _| {},
    )
    .unwrap();
    // The anchor file holds the head published at start (sequence 0).
    let published = std::fs::read_to_string(&anchors).unwrap();
    assert!(published.contains("\"seq\":0"), "{published}");
    assert!(!published.contains(PATIENT));
}

#[tokio::test]
async fn a_torn_audit_tail_recovered_at_start_is_counted_in_the_metrics() {
    use std::io::Write;
    let dir = fresh_dir("torn");
    big_log(&dir, 10, 10);
    // A crash cut an eleventh line short.
    std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join("audit-000001.jsonl"))
        .unwrap()
        .write_all(b"{\"seq\":11,\"prev\":\"00")
        .unwrap();
    let s = start_on(AuditConfig::new(&dir)).await;
    let metrics = reqwest::get(format!("{}/metrics", s.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("\nicr_audit_torn_tail_recovered_total 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("\nicr_audit_clock_behind_total 0\n"),
        "{metrics}"
    );
    assert!(dir.join("audit-000001.jsonl.torn-11").exists());
}

/// A log left by a gateway that died between an access's two entries: the
/// patient's access 1 whole (begun and completed), access 2 begun only.
/// Both APIs show ONE access per request; the second with its outcome not
/// recorded — neither left out nor shown as refused.
#[tokio::test]
async fn an_access_begun_but_never_completed_is_shown_as_its_outcome_not_recorded() {
    use std::io::Write;
    let dir = fresh_dir("begun-only");
    std::fs::create_dir_all(&dir).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let mut whole = audit_record(1);
    whole.nhs_number = Some(nhs());
    let mut cut = audit_record(2);
    cut.nhs_number = Some(nhs());
    cut.break_glass_reason = Some("Unconscious in ED".into());
    let mut out = std::fs::File::create(dir.join(icr_audit::file_name(1))).unwrap();
    let mut head = ChainPoint::GENESIS;
    for (event, completes) in [
        (Event::Begun(Box::new(whole.begun().unwrap())), None),
        (
            Event::Access(Box::new(whole.clone())),
            Some(icr_audit::Sequence::new(1)),
        ),
        (Event::Begun(Box::new(cut.begun().unwrap())), None),
    ] {
        let (line, next) = icr_audit::seal_entry(head, &event, completes).unwrap();
        out.write_all(&line).unwrap();
        head = next;
    }
    drop(out);
    let s = start_on(AuditConfig::new(&dir)).await;
    wait_for_the_index(&s.base).await;

    let (status, _, view) = get_as(
        &format!("{}/v1/audit?patient={PATIENT}", s.base),
        Some(&officer()),
    )
    .await;
    assert_eq!(status, 200, "{view}");
    // The read that waited for the index (4), the access cut short (3),
    // the whole one (1, completed by 2).
    assert_eq!(view["total"], 3);
    assert_eq!(seqs(&view), [4, 3, 1]);
    assert_eq!(view["accesses"][0]["interaction"], "audit-read");
    let time = cut.begun().unwrap().time.to_rfc3339();
    assert_eq!(
        view["accesses"][1],
        json!({
            "seq": 3,
            "time": time,
            "request_id": "req-2",
            "interaction": "record",
            "user": {
                "issuer": "https://login.icr-demo.example",
                "sub": "user-2",
                "name": "Dr Test Clinician 2",
                "role": "R8000",
                "organisation": "RN3",
            },
            "calling_system": "CN=portal.example.nhs.uk",
            "purpose": "directcare",
            "break_glass_reason": "Unconscious in ED",
            "decision": "outcome-not-recorded",
            "sections_requested": ["allergies"],
        })
    );
    assert_eq!(view["accesses"][2]["decision"], "allowed");
    assert_eq!(view["accesses"][2]["http_status"], 200);
    assert_eq!(view["accesses"][2]["request_id"], "req-1");

    let (status, _, bundle) = get_as(
        &format!("{}/fhir/r4/AuditEvent?patient={PATIENT}&_count=3", s.base),
        Some(&officer()),
    )
    .await;
    assert_eq!(status, 200, "{bundle}");
    assert_valid_fhir(&bundle);
    let events: Vec<&Value> = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .collect();
    // The officer's read above (5) is the newest access now.
    let ids: Vec<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["icr-audit-5", "icr-audit-4", "icr-audit-3"]);
    let cut_event = events[2];
    assert!(cut_event.get("outcome").is_none(), "{cut_event}");
    assert_eq!(cut_event["outcomeDesc"], icr_audit::OUTCOME_NOT_RECORDED);
    assert_eq!(detail(cut_event, "outcome"), Some("not-recorded"));
    assert_eq!(detail(cut_event, "request-id"), Some("req-2"));
    assert_eq!(detail(cut_event, "basis"), None);
    assert_eq!(detail(cut_event, "sources"), None);
}

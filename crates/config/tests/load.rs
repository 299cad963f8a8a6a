//! Loading real configuration directories, good and bad.

use std::path::Path;
use std::sync::Arc;

use icr_adapter_sdk::{
    BuildError, Endpoint, FetchRequest, Kind, KindOptions, Offers, Registry, SourceAdapter,
    SourceError, SourceSpec,
};
use icr_config::Config;
use icr_model::SourceRecord;
use serde::Deserialize;

struct Dummy;

#[async_trait::async_trait]
impl SourceAdapter for Dummy {
    async fn fetch(&self, _: &FetchRequest) -> Result<SourceRecord, SourceError> {
        Ok(SourceRecord::default())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct DummyOptions {
    #[serde(default)]
    page_size: Option<u32>,
}

impl KindOptions for DummyOptions {
    type Checked = Self;
    fn check(self, _: &SourceSpec) -> Result<Self, BuildError> {
        Ok(self)
    }
}

static DUMMY: Kind<DummyOptions> = Kind::new("dummy", Endpoint::HTTP, Offers::Any, |_, _| {
    Ok(Arc::new(Dummy))
});

fn registry() -> Registry {
    let mut r = Registry::new();
    r.register(&DUMMY);
    r
}

/// The `[auth]` every gateway.toml needs: the demo issuer's public key.
const AUTH: &str = "\n[auth]\n[[auth.issuer]]\niss = \"demo\"\naudience = \"icr\"\n[[auth.issuer.key]]\nkid = \"demo-1\"\nalg = \"ES256\"\npem = \"keys/demo.pub.pem\"\n";

fn write(dir: &Path, name: &str, text: &str) {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    if name == "gateway.toml" {
        // Every gateway needs a trusted issuer; tests that are about
        // something else get the demo one.
        let key = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../config/demo/keys/demo-issuer.pub.pem");
        std::fs::create_dir_all(dir.join("keys")).unwrap();
        std::fs::copy(key, dir.join("keys/demo.pub.pem")).unwrap();
        // ... and an access policy: the default one.
        let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/example/policy.toml");
        std::fs::copy(policy, dir.join("policy.toml")).unwrap();
        if !text.contains("[auth]") {
            std::fs::write(p, format!("{text}{AUTH}")).unwrap();
            return;
        }
    }
    std::fs::write(p, text).unwrap();
}

const GOOD_SOURCE: &str = r#"
id = "gwh"
organisation = "Great Western Hospitals NHS Foundation Trust"
ods_code = "RN3"
kind = "dummy"
endpoint = "http://127.0.0.1:9101/fhir/r4"
sections = ["allergies", "medications"]
timeout_ms = 2000
"#;

fn tempdir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("icr-config-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn loads_a_good_directory() {
    let d = tempdir("good");
    write(
        &d,
        "gateway.toml",
        "listen = \"127.0.0.1:0\"\nrequest_deadline_ms = 4000\n[cache]\nmax_bytes = 10485760\n",
    );
    write(&d, "sources.d/gwh.toml", GOOD_SOURCE);
    write(&d, "sources.d/README.md", "not a source");
    write(
        &d,
        "sources.d/off.toml",
        &GOOD_SOURCE
            .replace("\"gwh\"", "\"off\"")
            .replace("timeout_ms", "enabled = false\ntimeout_ms"),
    );
    let c = Config::load(&d, &registry()).unwrap();
    assert_eq!(c.gateway.request_deadline_ms, 4000);
    assert_eq!(c.gateway.cache.max_bytes, 10 * 1024 * 1024);
    assert_eq!(c.sources.len(), 1, "disabled source not used");
    assert_eq!(c.sources[0].spec.id.as_str(), "gwh");
    assert_eq!(
        c.sources[0].spec.sections.to_string(),
        "medications,allergies"
    );
    assert_eq!(c.sources[0].spec.cache_ttl_s, 60, "default");
}

#[test]
fn reports_every_problem_with_file_key_and_line() {
    let d = tempdir("bad");
    write(
        &d,
        "gateway.toml",
        "request_deadline_ms = 5\nlisten = \"nowhere\"\n",
    );
    write(
        &d,
        "sources.d/a.toml",
        &GOOD_SOURCE.replace("\"allergies\"", "\"labs\""),
    );
    write(
        &d,
        "sources.d/b.toml",
        &GOOD_SOURCE
            .replace("RN3", "R 3")
            .replace("\"gwh\"", "\"b\""),
    );
    write(
        &d,
        "sources.d/c.toml",
        &GOOD_SOURCE
            .replace("\"dummy\"", "\"hl7-v9\"")
            .replace("\"gwh\"", "\"c\""),
    );
    write(
        &d,
        "sources.d/d.toml",
        &format!(
            "{}\n[options]\npage_sise = 3\n",
            GOOD_SOURCE.replace("\"gwh\"", "\"d\"")
        ),
    );
    write(
        &d,
        "sources.d/e.toml",
        &GOOD_SOURCE.replace("\"gwh\"", "\"d\""),
    );
    write(&d, "sources.d/f.toml", "id = \"f\"\norganisation = ");
    write(
        &d,
        "sources.d/g.toml",
        &format!("{GOOD_SOURCE}colour = \"blue\"\n").replace("\"gwh\"", "\"g\""),
    );
    let errs = Config::load(&d, &registry()).unwrap_err();
    let text = errs.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "the configuration has 8 problems:", "{text}");
    let has = |needle: &str| assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    has("gateway.toml:2: listen: invalid socket address syntax");
    has("a.toml:7: sections[0]: unknown section \"labs\"");
    has("b.toml:4: ods_code: \"R 3\" is not an ODS code");
    has("c.toml: kind: unknown adapter kind \"hl7-v9\"; known kinds: dummy");
    has("d.toml: options.page_sise: unknown field `page_sise`, expected `page_size`\n");
    has("e.toml: id: source id \"d\" is already registered by");
    has("f.toml:2: ");
    has("g.toml:9: colour: unknown field `colour`, expected one of `id`");
}

#[test]
fn a_gateway_without_a_usable_issuer_is_refused() {
    let d = tempdir("auth");
    write(&d, "gateway.toml", "[auth]\n");
    write(&d, "sources.d/gwh.toml", GOOD_SOURCE);
    let text = Config::load(&d, &registry()).unwrap_err().to_string();
    assert!(
        text.contains("gateway.toml: auth.issuer: no trusted issuer"),
        "{text}"
    );
    write(
        &d,
        "gateway.toml",
        &AUTH.replace("demo.pub.pem", "missing.pem"),
    );
    let text = Config::load(&d, &registry()).unwrap_err().to_string();
    assert!(
        text.contains("gateway.toml: auth.issuer[0].key[0].pem: cannot read"),
        "{text}"
    );
    // The longest token lifetime accepted has a range.
    write(
        &d,
        "gateway.toml",
        &AUTH.replace("[auth]\n", "[auth]\nmax_token_lifetime_s = 31536000\n"),
    );
    let text = Config::load(&d, &registry()).unwrap_err().to_string();
    assert!(
        text.contains("gateway.toml: auth.max_token_lifetime_s: between 60 and 604800 seconds"),
        "{text}"
    );
}

#[test]
fn tls_is_loaded_from_the_config_directory_and_its_problems_named() {
    use icr_testkit::pki::Ca;
    let d = tempdir("tls");
    let servers = Ca::new("Test Server CA");
    let server = servers.server();
    write(&d, "tls/gateway.crt", &server.cert);
    write(&d, "tls/gateway.key", &server.key);
    write(
        &d,
        "tls/clients.pem",
        &Ca::new("Test Clients CA").cert_pem(),
    );
    write(&d, "sources.d/gwh.toml", GOOD_SOURCE);
    write(
        &d,
        "gateway.toml",
        "[tls]\ncert = \"tls/gateway.crt\"\nkey = \"tls/gateway.key\"\nclient_ca = \"tls/clients.pem\"\nclient_auth = \"required\"\n",
    );
    let config = Config::load(&d, &registry()).unwrap_or_else(|e| panic!("{e}"));
    assert!(config.tls.is_some());
    // No [tls]: plain HTTP.
    write(&d, "gateway.toml", "");
    assert!(Config::load(&d, &registry()).unwrap().tls.is_none());
    // A key that is not the certificate's, and an unknown key in [tls].
    write(&d, "tls/other.key", &servers.server().key);
    write(
        &d,
        "gateway.toml",
        "[tls]\ncert = \"tls/gateway.crt\"\nkey = \"tls/other.key\"\n",
    );
    let text = Config::load(&d, &registry()).unwrap_err().to_string();
    assert!(
        text.contains("gateway.toml: tls.key: does not fit the certificate"),
        "{text}"
    );
    write(
        &d,
        "gateway.toml",
        "[tls]\ncert = \"tls/gateway.crt\"\nkey = \"tls/gateway.key\"\nprotocols = [\"tls1.0\"]\n",
    );
    let text = Config::load(&d, &registry()).unwrap_err().to_string();
    assert!(text.contains("protocols"), "{text}");
}

#[test]
fn the_policy_and_objection_register_are_checked() {
    let d = tempdir("access");
    write(
        &d,
        "gateway.toml",
        "[access]\nobjections = \"objections.toml\"\n",
    );
    write(&d, "sources.d/gwh.toml", GOOD_SOURCE);
    write(
        &d,
        "objections.toml",
        "[[objection]]\nnhs_number = \"9990000115\"\nscope = \"all\"\n",
    );
    let c = Config::load(&d, &registry()).unwrap();
    assert_eq!(c.objections.len(), 1);
    assert_eq!(
        c.objections_file.as_deref(),
        Some(d.join("objections.toml").as_path())
    );
    assert!(
        c.gateway.audit.dir.starts_with(&d),
        "the audit directory is relative to the config directory"
    );

    write(
        &d,
        "objections.toml",
        "[[objection]]\nnhs_number = \"9990000116\"\nscope = \"all\"\n",
    );
    std::fs::write(
        d.join("policy.toml"),
        "[classes.x]\nroles = [\"R8000\"]\nsections = [\"labs\"]\n",
    )
    .unwrap();
    let text = Config::load(&d, &registry()).unwrap_err().to_string();
    assert!(text.contains("objections.toml"), "{text}");
    assert!(
        !text.contains("9990000116"),
        "an NHS number never appears in an error: {text}"
    );
    assert!(text.contains("policy.toml"), "{text}");
    assert!(text.contains("labs"), "{text}");
}

#[test]
fn a_directory_without_sources_is_refused() {
    let d = tempdir("empty");
    write(&d, "gateway.toml", "");
    std::fs::create_dir_all(d.join("sources.d")).unwrap();
    let errs = Config::load(&d, &registry()).unwrap_err();
    assert!(
        errs.to_string().contains("no enabled source is registered"),
        "{errs}"
    );
}

const PDS: &str = r#"
id = "pds"
organisation = "NHS England (PDS)"
ods_code = "X26"
kind = "dummy"
endpoint = "http://127.0.0.1:9110/FHIR/R4"
sections = ["demographics"]
routing = "demographics"
"#;

const GP: &str = r#"
id = "gp"
organisation = "GP practices (from the directory)"
ods_code = "X26"
kind = "dummy"
endpoint = "http://127.0.0.1:9201/"
sections = ["allergies", "medications"]
routing = "registered-practice"
directory = "practices.toml"
timeout_ms = 2500

[options]
page_size = 7
"#;

const PRACTICES: &str = r#"
[[practice]]
ods_code = "Y90001"
name = "Riverside Surgery"
endpoint = "http://127.0.0.1:9201/Y90001/STU3/1/gpconnect/structured/fhir"
asid = "900000000001"

[[practice]]
ods_code = "y90002"
name = "Hillview Practice"
endpoint = "http://127.0.0.1:9201/Y90002/STU3/1/gpconnect/structured/fhir"
"#;

fn registry_with_asid() -> Registry {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct GpOptions {
        #[serde(default)]
        page_size: Option<u32>,
        #[serde(default)]
        provider_asid: Option<String>,
    }
    impl KindOptions for GpOptions {
        type Checked = Self;
        fn check(self, _: &SourceSpec) -> Result<Self, BuildError> {
            Ok(self)
        }
    }
    static DUMMY: Kind<GpOptions> = Kind::new("dummy", Endpoint::HTTP, Offers::Any, |_, _| {
        Ok(Arc::new(Dummy))
    });
    let mut r = Registry::new();
    r.register(&DUMMY);
    r
}

#[test]
fn a_practice_directory_becomes_one_source_per_practice() {
    let d = tempdir("directory");
    write(&d, "gateway.toml", "");
    write(&d, "sources.d/pds.toml", PDS);
    write(&d, "sources.d/gp.toml", GP);
    write(&d, "practices.toml", PRACTICES);
    let c = Config::load(&d, &registry_with_asid()).unwrap();
    let ids: Vec<&str> = c.sources.iter().map(|s| s.spec.id.as_str()).collect();
    assert_eq!(ids, ["gp-y90001", "gp-y90002", "pds"]);
    let first = &c.sources[0].spec;
    assert_eq!(first.organisation, "Riverside Surgery");
    assert_eq!(first.ods_code.as_str(), "Y90001");
    assert_eq!(
        first.endpoint.as_str(),
        "http://127.0.0.1:9201/Y90001/STU3/1/gpconnect/structured/fhir"
    );
    assert_eq!(first.timeout_ms, 2500, "the template's settings carry over");
    assert_eq!(first.options["page_size"].as_integer(), Some(7));
    assert_eq!(
        first.options["provider_asid"].as_str(),
        Some("900000000001")
    );
    assert!(c.sources[1].spec.options.get("provider_asid").is_none());
    assert_eq!(c.sources[1].spec.ods_code.as_str(), "Y90002");
    assert!(c.sources[0].file.ends_with("practices.toml"));
}

#[test]
fn routing_mistakes_are_reported() {
    // Practices without a demographics service to find them by.
    let d = tempdir("no-pds");
    write(&d, "gateway.toml", "");
    write(&d, "sources.d/gp.toml", GP);
    write(&d, "practices.toml", PRACTICES);
    let text = Config::load(&d, &registry_with_asid())
        .unwrap_err()
        .to_string();
    assert!(text.contains("practices.toml: routing: registered-practice sources are chosen by the person's registration in the demographics service, but no source has routing = \"demographics\""), "{text}");

    // Two demographics services; a bad directory entry; a directory on an
    // ordinary source.
    let d = tempdir("two-pds");
    write(&d, "gateway.toml", "");
    write(&d, "sources.d/pds.toml", PDS);
    write(
        &d,
        "sources.d/pds2.toml",
        &PDS.replace("\"pds\"", "\"pds2\""),
    );
    let text = Config::load(&d, &registry_with_asid())
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("pds2.toml: routing: only one source may have routing = \"demographics\""),
        "{text}"
    );

    let d = tempdir("bad-directory");
    write(&d, "gateway.toml", "");
    write(&d, "sources.d/pds.toml", PDS);
    write(&d, "sources.d/gp.toml", GP);
    write(
        &d,
        "practices.toml",
        &PRACTICES.replace("\"y90002\"", "\"Y9-0002\""),
    );
    write(
        &d,
        "sources.d/plain.toml",
        &GOOD_SOURCE.replace("timeout_ms", "directory = \"practices.toml\"\ntimeout_ms"),
    );
    let text = Config::load(&d, &registry_with_asid())
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("practices.toml:9: practice[1].ods_code: \"Y9-0002\" is not an ODS code"),
        "{text}"
    );
    assert!(text.contains("plain.toml: directory: a practice directory goes with routing = \"registered-practice\""), "{text}");
}

#[test]
fn the_environment_overrides_gateway_toml() {
    let d = tempdir("env");
    write(
        &d,
        "gateway.toml",
        "listen = \"127.0.0.1:8080\"\n[audit]\ndir = \"audit\"\n",
    );
    let file = d.join("gateway.toml");
    let vars = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<Vec<_>>()
    };
    let g = icr_config::read_gateway(
        &file,
        vars(&[
            ("ICR_LISTEN", "0.0.0.0:9999"),
            ("ICR_REQUEST_DEADLINE_MS", "1500"),
            ("ICR_AUDIT__DIR", "/data/audit"),
            ("ICR_ACCESS__OPERATOR_ROLES", "[\"R8015\", \"R8013\"]"),
            ("ICR_LOG_FORMAT", "json"),
            ("PATH", "/usr/bin"),
        ]),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(g.listen.to_string(), "0.0.0.0:9999");
    assert_eq!(g.request_deadline_ms, 1500);
    assert_eq!(g.audit.dir, std::path::PathBuf::from("/data/audit"));
    assert_eq!(g.access.operator_roles, ["R8015", "R8013"]);
    // Without overrides, the file as written.
    let g = icr_config::read_gateway(&file, vars(&[])).unwrap();
    assert_eq!(g.listen.to_string(), "127.0.0.1:8080");
    // Variables naming no gateway.toml key are not configuration (tooling
    // has its own ICR_ variables).
    let g = icr_config::read_gateway(&file, vars(&[("ICR_DEPLOY_TOOLS", "/tmp/x")])).unwrap();
    assert_eq!(g.listen.to_string(), "127.0.0.1:8080");
    // A misspelt key inside a table, or a bad value, is named.
    let e = icr_config::read_gateway(&file, vars(&[("ICR_CACHE__MAX_BYTE", "1")])).unwrap_err();
    assert!(e.to_string().contains("ICR_CACHE__MAX_BYTE"), "{e}");
    let e = icr_config::read_gateway(&file, vars(&[("ICR_CACHE__MAX_BYTES", "lots")]))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("cache.max_bytes") && e.contains("ICR_CACHE__MAX_BYTES"),
        "{e}"
    );
    let e = icr_config::read_gateway(&file, vars(&[("ICR_LISTEN__PORT", "1")]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("ICR_LISTEN__PORT"), "{e}");
}

#[test]
fn a_reload_tells_restart_only_keys_from_live_ones() {
    let parse = |text: &str| -> icr_config::GatewayConfig {
        icr_config::parse_toml(text, Path::new("gateway.toml")).unwrap()
    };
    let running = parse("listen = \"127.0.0.1:8080\"\n[audit]\ndir = \"audit\"\n");
    let same = running.clone();
    assert!(running.restart_only_changes(&same).is_empty());
    assert!(running.live_changes(&same).is_empty());

    let live = parse(
        "listen = \"127.0.0.1:8080\"\nrequest_deadline_ms = 3000\nmax_in_flight = 64\n[cache]\nenabled = false\n[access]\noperator_roles = [\"R8000\"]\n[audit]\ndir = \"audit\"\n",
    );
    assert!(running.restart_only_changes(&live).is_empty());
    assert_eq!(
        running.live_changes(&live),
        [
            "request_deadline_ms",
            "max_in_flight",
            "[cache]",
            "[access]"
        ]
    );

    let restart = parse(
        "listen = \"0.0.0.0:8080\"\nsources_dir = \"other\"\n[audit]\ndir = \"elsewhere\"\n[connections]\nrequest_timeout_ms = 5000\n[tls]\ncert = \"c.pem\"\nkey = \"k.pem\"\n",
    );
    assert_eq!(
        running.restart_only_changes(&restart),
        [
            "listen",
            "sources_dir",
            "[audit]",
            "[connections]",
            "[tls] (turning TLS on or off)"
        ]
    );
}

#[test]
fn connection_limits_have_defaults_are_read_and_are_checked_by_range() {
    let d = tempdir("connections");
    write(&d, "gateway.toml", "listen = \"127.0.0.1:0\"\n");
    write(&d, "sources.d/gwh.toml", GOOD_SOURCE);
    let c = Config::load(&d, &registry()).unwrap();
    assert_eq!(
        c.gateway.connections,
        icr_config::ConnectionsConfig {
            request_timeout_ms: 10_000,
            idle_timeout_ms: 75_000,
            stall_timeout_ms: 15_000,
            max_open: None,
            h2_max_streams: 32,
            max_unsent_bytes: 32 * 1024 * 1024,
            max_unsent_bytes_per_connection: 8 * 1024 * 1024,
        }
    );

    write(
        &d,
        "gateway.toml",
        "[connections]\nrequest_timeout_ms = 5000\nidle_timeout_ms = 30000\nstall_timeout_ms = 20000\nmax_open = 900\nh2_max_streams = 32\nmax_unsent_bytes = 33554432\nmax_unsent_bytes_per_connection = 1048576\n",
    );
    let c = Config::load(&d, &registry()).unwrap().gateway.connections;
    assert_eq!(
        (
            c.request_timeout_ms,
            c.idle_timeout_ms,
            c.stall_timeout_ms,
            c.max_open,
            c.h2_max_streams,
            c.max_unsent_bytes,
            c.max_unsent_bytes_per_connection
        ),
        (5000, 30000, 20000, Some(900), 32, 32 << 20, 1 << 20)
    );

    write(
        &d,
        "gateway.toml",
        "[connections]\nrequest_timeout_ms = 0\nidle_timeout_ms = 999\nstall_timeout_ms = 300001\nmax_open = 0\nh2_max_streams = 5000\nmax_unsent_bytes = 1024\nmax_unsent_bytes_per_connection = 1024\n",
    );
    let text = Config::load(&d, &registry()).unwrap_err().to_string();
    for line in [
        "gateway.toml: connections.request_timeout_ms: must be between 1000 and 120000",
        "gateway.toml: connections.idle_timeout_ms: must be between 1000 and 3600000",
        "gateway.toml: connections.stall_timeout_ms: must be between 1000 and 300000",
        "gateway.toml: connections.max_open: must be between 1 and 1000000",
        "gateway.toml: connections.h2_max_streams: must be between 1 and 1000",
        "gateway.toml: connections.max_unsent_bytes: must be between 1048576 and 1099511627776",
        "gateway.toml: connections.max_unsent_bytes_per_connection: must be between 65536 and 65536",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    // Per connection, at most the whole.
    write(
        &d,
        "gateway.toml",
        "[connections]\nmax_unsent_bytes = 2097152\nmax_unsent_bytes_per_connection = 8388608\n",
    );
    let text = Config::load(&d, &registry()).unwrap_err().to_string();
    assert!(
        text.contains(
            "connections.max_unsent_bytes_per_connection: must be between 65536 and 2097152"
        ),
        "{text}"
    );
    // From the environment too.
    let g = icr_config::read_gateway(
        &d.join("gateway.toml"),
        [("ICR_CONNECTIONS__MAX_OPEN".to_owned(), "64".to_owned())],
    )
    .unwrap();
    assert_eq!(g.connections.max_open, Some(64));
}

#[test]
fn the_audit_anchor_file_is_relative_to_the_config_directory_and_kept_off_the_log() {
    let d = tempdir("anchors");
    write(
        &d,
        "gateway.toml",
        "listen = \"127.0.0.1:0\"\n[audit]\ndir = \"audit\"\nanchor_file = \"anchors/heads.jsonl\"\nhead_every_s = 30\nmax_concurrent_reads = 2\n",
    );
    write(&d, "sources.d/gwh.toml", GOOD_SOURCE);
    let c = Config::load(&d, &registry()).unwrap();
    assert_eq!(c.gateway.audit.dir, d.join("audit"));
    assert_eq!(
        c.gateway.audit.anchor_file.as_deref(),
        Some(d.join("anchors/heads.jsonl").as_path())
    );
    assert_eq!(c.gateway.audit.head_every_s, 30);
    assert_eq!(c.gateway.audit.max_concurrent_reads, 2);

    write(
        &d,
        "gateway.toml",
        "listen = \"127.0.0.1:0\"\n[audit]\ndir = \"audit\"\nanchor_file = \"audit/heads.jsonl\"\nmax_concurrent_reads = 0\n",
    );
    let text = Config::load(&d, &registry()).unwrap_err().to_string();
    assert!(
        text.contains("audit: audit.anchor_file must be outside the log directory"),
        "{text}"
    );
}

#[test]
fn the_record_location_index_and_the_memories_are_read_and_checked() {
    let d = tempdir("index");
    write(
        &d,
        "gateway.toml",
        "[cache]\nnot_found_ttl_s = 300\n[index]\nfile = \"index.toml\"\n",
    );
    write(
        &d,
        "index.toml",
        "[holders]\n\"9990000018\" = [\"RN3\", \"Y90001\"]\n\"9990000026\" = []\n",
    );
    write(
        &d,
        "sources.d/gwh.toml",
        &GOOD_SOURCE.replace("timeout_ms", "located = true\ntimeout_ms"),
    );
    let c = Config::load(&d, &registry()).unwrap();
    assert_eq!(c.gateway.cache.not_found_ttl_s, 300);
    assert_eq!(c.gateway.cache.practice_ttl_s, 86_400, "default");
    assert!(c.sources[0].spec.located);
    let index = c.index_file.as_ref().unwrap();
    let held = |nhs: &str| -> Vec<String> {
        index.holders[&icr_model::NhsNumber::parse(nhs).unwrap()]
            .iter()
            .map(|o| o.as_str().to_owned())
            .collect()
    };
    assert_eq!(held("9990000018"), ["RN3", "Y90001"]);
    assert!(held("9990000026").is_empty());
    assert!(c.files().contains(&d.join("index.toml")), "watched");

    // Every problem named: an entry that is no NHS number (by position,
    // never the value), codes that are not codes, values out of range,
    // both a file and a URL, a practice marked located.
    write(
        &d,
        "gateway.toml",
        "[cache]\nnot_found_ttl_s = 90000\nmax_remembered = 0\n[index]\nfile = \"index.toml\"\nurl = \"http://x/{nhs}\"\ntimeout_ms = 0\n",
    );
    write(
        &d,
        "index.toml",
        "[holders]\n\"1234\" = [\"RN3\"]\n\"9990000018\" = \"RN3\"\n",
    );
    write(
        &d,
        "sources.d/gwh.toml",
        &GOOD_SOURCE.replace(
            "timeout_ms",
            "located = true\nrouting = \"registered-practice\"\ntimeout_ms",
        ),
    );
    let text = Config::load(&d, &registry()).unwrap_err().to_string();
    for expected in [
        "gateway.toml: cache.not_found_ttl_s: must be between 0 and 86400",
        "gateway.toml: cache.max_remembered: must be between 1 and 10000000",
        "gateway.toml: index: needs exactly one of file and url",
        "gateway.toml: index.timeout_ms: must be between 1 and 10000",
        "index.toml: holders (entry 1): is not a valid NHS number",
        "index.toml: holders (entry 2): must be a list of ODS codes",
        "gwh.toml: located: only a source routed to everyone may be skipped by the record-location index",
    ] {
        assert!(text.contains(expected), "{expected}\n{text}");
    }
    assert!(!text.contains("1234"), "{text}");

    // A URL without the place for the NHS number is refused.
    write(&d, "gateway.toml", "[index]\nurl = \"http://x/holders\"\n");
    write(&d, "sources.d/gwh.toml", GOOD_SOURCE);
    let text = Config::load(&d, &registry()).unwrap_err().to_string();
    assert!(
        text.contains(
            "index.url: must be an http:// or https:// URL with {nhs} where the NHS number goes"
        ),
        "{text}"
    );
}

#[test]
fn the_viewers_provider_must_be_a_trusted_issuer_for_its_client_and_its_values_in_range() {
    let d = tempdir("viewer");
    write(&d, "sources.d/gwh.toml", GOOD_SOURCE);
    // The provider's issuer is a URL, as OpenID Connect's are.
    let auth = AUTH.replace("iss = \"demo\"", "iss = \"https://login.test\"");
    let gateway = |viewer: &str| format!("{viewer}{auth}");
    write(
        &d,
        "gateway.toml",
        &gateway("[viewer]\n[viewer.oidc]\nissuer = \"https://login.test\"\nclient_id = \"icr\"\n"),
    );
    let c = Config::load(&d, &registry()).unwrap();
    let v = c.gateway.viewer.expect("a viewer");
    assert_eq!((v.session_idle_s, v.max_sessions), (900, 10_000));
    assert_eq!(v.oidc.scopes, ["openid", "profile"]);
    assert!(!v.oidc.demo);

    // Another client id: its ID tokens would not be accepted as
    // credentials.
    write(
        &d,
        "gateway.toml",
        &gateway(
            "[viewer]\n[viewer.oidc]\nissuer = \"https://login.test\"\nclient_id = \"portal\"\n",
        ),
    );
    let text = Config::load(&d, &registry()).unwrap_err().to_string();
    assert!(
        text.contains("gateway.toml: viewer.oidc.issuer: must also be an [[auth.issuer]] whose audience is viewer.oidc.client_id"),
        "{text}"
    );
    // The demo's provider needs the issuer's signing key; the values have
    // ranges; the public URL is an origin.
    write(
        &d,
        "gateway.toml",
        &gateway(
            "[viewer]\nsession_idle_s = 5\npublic_url = \"https://icr.example/app\"\n[viewer.oidc]\nissuer = \"https://login.test\"\nclient_id = \"icr\"\ndemo = true\n",
        ),
    );
    let text = Config::load(&d, &registry()).unwrap_err().to_string();
    for expected in [
        "gateway.toml: viewer.oidc.demo: the demo's identity provider signs with its issuer's signing_key",
        "gateway.toml: viewer.session_idle_s: must be 60 to 43200",
        "gateway.toml: viewer.public_url: must be an http(s) origin with no path",
    ] {
        assert!(text.contains(expected), "{expected}\n{text}");
    }
}

#[test]
fn extracts_are_named_once_each_and_their_paths_are_beside_the_config() {
    let d = tempdir("extracts");
    write(&d, "sources.d/gwh.toml", GOOD_SOURCE);
    let extract = |name: &str, cohort: &str| {
        format!(
            "[[extract]]\nname = \"{name}\"\nspec = \"extract/extract.toml\"\ncohort = \"{cohort}\"\nout = \"out\"\n"
        )
    };
    write(
        &d,
        "gateway.toml",
        &format!(
            "{AUTH}{}{}",
            extract("monthly", "registered:lists"),
            extract("weekly", "/abs/cohort.txt")
        ),
    );
    let c = Config::load(&d, &registry()).unwrap();
    let x = &c.gateway.extracts;
    assert_eq!(x.len(), 2);
    assert_eq!(x[0].spec, d.join("extract/extract.toml"));
    assert_eq!(x[0].out, d.join("out"));
    assert_eq!(
        x[0].cohort,
        format!("registered:{}", d.join("lists").display())
    );
    assert_eq!(x[1].cohort, "/abs/cohort.txt");

    write(
        &d,
        "gateway.toml",
        &format!(
            "{AUTH}{}{}",
            extract("monthly", "c.txt"),
            extract("monthly", "c.txt")
        ),
    );
    let text = Config::load(&d, &registry()).unwrap_err().to_string();
    assert!(
        text.contains("gateway.toml: extract[1].name: names another [[extract]] already"),
        "{text}"
    );
    write(
        &d,
        "gateway.toml",
        &format!("{AUTH}{}", extract("../x", "c.txt")),
    );
    let text = Config::load(&d, &registry()).unwrap_err().to_string();
    assert!(
        text.contains(
            "gateway.toml: extract[0].name: must be 1 to 32 lower-case letters, digits or hyphens"
        ),
        "{text}"
    );
}

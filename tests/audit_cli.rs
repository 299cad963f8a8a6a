//! `icr audit verify` against heads published elsewhere: a log cut at a
//! line boundary verifies on its own (a hash chain cannot tell it from an
//! older copy of itself) but fails against an anchor it no longer reaches.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use icr_audit::{
    AuditRecord, Basis, ChainPoint, Decision, Event, Interaction, ReasonCode, RequestId, Timestamp,
    User, seal,
};
use icr_model::{NhsNumber, OdsCode, SectionSet};

fn dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("icr-audit-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn access(i: u32) -> AuditRecord {
    AuditRecord {
        time: Timestamp::parse(&format!("2026-11-26T10:00:{i:02}Z")).unwrap(),
        request_id: RequestId::parse(&format!("req-{i}")).unwrap(),
        interaction: Interaction::Record,
        user: Some(User {
            issuer: None,
            sub: "user-1".into(),
            name: "Dr Test Clinician".into(),
            role: "R8000".into(),
            org: OdsCode::parse("RN3").unwrap(),
        }),
        calling_system: None,
        nhs_number: Some(NhsNumber::parse("9990000018").unwrap()),
        purpose: "directcare".into(),
        break_glass_reason: None,
        basis: Basis::Involved,
        sections_requested: SectionSet::EMPTY,
        sections_released: SectionSet::EMPTY,
        sources: Vec::new(),
        items_released: 0,
        items_withheld: 0,
        shown: icr_audit::ReleasedRecords::NONE,
        decision: Decision::Allowed,
        reason: ReasonCode::parse("involved").unwrap(),
        http_status: 200,
    }
}

/// A log of `n` entries, its bytes, and the head after each entry.
fn log(n: u32) -> (Vec<u8>, Vec<ChainPoint>) {
    let mut bytes = Vec::new();
    let mut heads = Vec::new();
    let mut head = ChainPoint::GENESIS;
    for i in 0..n {
        let (line, next) = seal(head, &Event::Access(Box::new(access(i)))).unwrap();
        bytes.extend_from_slice(&line);
        head = next;
        heads.push(head);
    }
    (bytes, heads)
}

fn verify(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_icr"))
        .args(["audit", "verify"])
        .args(args)
        .output()
        .expect("icr audit verify runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_log_cut_at_a_line_boundary_fails_against_its_published_head() {
    let (bytes, heads) = log(10);
    let logdir = dir("cut");
    let file = logdir.join("audit-000001.jsonl");
    // The last two lines removed, exactly at a line boundary.
    let cut = bytes
        .split_inclusive(|b| *b == b'\n')
        .take(8)
        .flatten()
        .copied()
        .collect::<Vec<u8>>();
    std::fs::write(&file, &cut).unwrap();
    let path = logdir.to_str().unwrap();

    // On its own, the cut log verifies: nothing in it shows the cut.
    let out = verify(&[path]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // Against the head published after entry 10, it does not.
    let published = heads[9].to_string();
    let out = verify(&[path, "--head", &published]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("the log ends at entry 8 but should reach entry 10"),
        "{said}"
    );
    // Against an earlier head it still reaches, it does.
    let earlier = heads[4].to_string();
    let out = verify(&[path, "--head", &earlier]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("1 anchor(s) checked"), "{}", text(&out));

    // The same from an anchor file, as the gateway appends to it.
    let anchors = dir("cut-anchors").join("anchors.jsonl");
    let line = |p: &ChainPoint| {
        format!(
            "{{\"time\":\"2026-11-26T10:01:00Z\",\"seq\":{},\"hash\":\"{}\",\"file\":\"audit-000001.jsonl\"}}\n",
            p.seq, p.hash
        )
    };
    std::fs::write(&anchors, format!("{}{}", line(&heads[4]), line(&heads[9]))).unwrap();
    let out = verify(&[path, "--anchors", anchors.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("the log ends at entry 8 but should reach entry 10"),
        "{}",
        text(&out)
    );
    // The whole log reaches every anchor.
    std::fs::write(&file, &bytes).unwrap();
    let out = verify(&[path, "--anchors", anchors.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("2 anchor(s) checked"), "{}", text(&out));
}

#[test]
fn a_rewritten_entry_fails_against_its_anchored_hash_and_bad_anchors_are_refused() {
    let (bytes, heads) = log(6);
    let logdir = dir("rewritten");
    std::fs::write(logdir.join("audit-000001.jsonl"), &bytes).unwrap();
    let path = logdir.to_str().unwrap();
    // An anchor from another chain at the same sequence.
    let other = ChainPoint {
        seq: heads[2].seq,
        hash: heads[3].hash,
    };
    let out = verify(&[
        path,
        "--head",
        &heads[5].to_string(),
        "--head",
        &other.to_string(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("entry 3 does not have the anchored hash"),
        "{}",
        text(&out)
    );
    // Not a head: refused with what is wrong, exit 2.
    let out = verify(&[path, "--head", "12:abc"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let anchors = dir("bad-anchors").join("anchors.jsonl");
    std::fs::write(&anchors, "{\"seq\":1}\n").unwrap();
    let out = verify(&[path, "--anchors", anchors.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("anchors.jsonl:1"), "{}", text(&out));
}

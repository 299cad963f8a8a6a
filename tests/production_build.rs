//! The production build — `--no-default-features`, as deploy/Dockerfile
//! builds `icr` — does not link the simulated region: `icr serve` carries
//! no simulator, and `icr sim` / `icr demo` say they are not in the build.

use std::process::Command;

/// The crates `cargo tree` says `icr` links (normal dependencies only),
/// with `features`.
fn linked(features: &[&str]) -> Vec<String> {
    let out = Command::new(env!("CARGO"))
        .args(["tree", "-p", "icr", "-e", "normal", "--prefix", "none"])
        .args(features)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_production_build_does_not_link_the_simulator() {
    let production = linked(&["--no-default-features"]);
    assert!(
        production.iter().any(|c| c == "icr-gateway"),
        "{production:?}"
    );
    for absent in ["icr-sim", "icr-demo"] {
        assert!(
            !production.iter().any(|c| c == absent),
            "the production build links {absent}"
        );
    }
    // And the check would notice: the default build (the demo) links it.
    assert!(linked(&[]).iter().any(|c| c == "icr-sim"));
}

#[cfg(not(feature = "demo"))]
#[test]
fn without_the_demo_feature_sim_and_demo_say_so_and_fail() {
    for command in [&["sim"][..], &["demo", "--ephemeral"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_icr"))
            .args(command)
            .output()
            .expect("icr runs");
        assert_eq!(out.status.code(), Some(2), "{command:?}");
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            said.starts_with("icr: this build has no simulated region: "),
            "{said}"
        );
    }
}

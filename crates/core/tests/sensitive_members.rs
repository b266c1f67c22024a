//! `src/sensitive.rs` is what `scripts/sensitive-members` generates from the pinned botocore's IAM
//! and STS models: a member botocore marks sensitive is hidden in the audit trail, never left to
//! a hand-kept list.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Python of the test venv (`scripts/test` installs botocore there): next to
/// `$KEYWARD_AWS_CLI`, or the workspace's `.venv`.
fn venv_python() -> Option<PathBuf> {
    let next_to_cli = std::env::var_os("KEYWARD_AWS_CLI")
        .map(|cli| Path::new(&cli).with_file_name("python3"))
        .filter(|p| p.exists());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python3");
    next_to_cli.or_else(|| workspace.exists().then_some(workspace))
}

#[test]
fn the_committed_list_is_what_botocore_says() {
    let Some(python) = venv_python() else {
        assert!(
            std::env::var("CI").is_err(),
            "botocore's venv is required under CI (scripts/test installs it)"
        );
        eprintln!("skipping: no .venv with botocore (run scripts/test to install it)");
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(&python)
        .arg(root.join("scripts/sensitive-members"))
        .arg("--print")
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} scripts/sensitive-members --print failed: {}",
        python.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let generated = String::from_utf8(out.stdout).unwrap();
    assert!(
        generated == include_str!("../src/sensitive.rs"),
        "crates/core/src/sensitive.rs differs from botocore's models: run \
         scripts/sensitive-members --write"
    );
}

#[test]
fn the_list_is_sorted_and_holds_the_known_secrets() {
    use keyward_core::sensitive::{SENSITIVE_INPUTS, SENSITIVE_MEMBERS};
    assert!(SENSITIVE_MEMBERS.windows(2).all(|w| w[0] < w[1]));
    assert!(SENSITIVE_INPUTS.windows(2).all(|w| w[0] < w[1]));
    for name in [
        "Password",
        "NewPassword",
        "OldPassword",
        "PrivateKey",
        "SecretAccessKey",
        "Base32StringSeed",
        "QRCodePNG",
        "SAMLAssertion",
        "WebIdentityToken",
    ] {
        assert!(SENSITIVE_MEMBERS.contains(&name), "{name}");
    }
    assert!(SENSITIVE_INPUTS.contains(&("iam", "CreateLoginProfile", "Password")));
}

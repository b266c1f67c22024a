//! The files generated from the pinned botocore's IAM and STS models are what their scripts
//! generate today: `src/ops/shapes.rs` (`scripts/iam-shapes`, the constraints every request is
//! validated against) and `src/sensitive.rs` (`scripts/sensitive-members`, the members hidden in
//! the audit trail). Neither comes from a hand-kept list.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use keyward_core::ops::{OpName, shapes};
use keyward_core::validate::Shape;

/// The Python of the test venv (`scripts/test` installs botocore there): next to
/// `$KEYWARD_AWS_CLI`, or the workspace's `.venv`.
fn venv_python() -> Option<PathBuf> {
    let next_to_cli = std::env::var_os("KEYWARD_AWS_CLI")
        .map(|cli| Path::new(&cli).with_file_name("python3"))
        .filter(|p| p.exists());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python3");
    next_to_cli.or_else(|| workspace.exists().then_some(workspace))
}

/// Fails unless `scripts/<script> --print` writes exactly `committed` (the file `path`). Skips
/// without the venv, except under CI.
fn check_generated(script: &str, path: &str, committed: &str) {
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
        .arg(root.join("scripts").join(script))
        .arg("--print")
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} scripts/{script} --print failed: {}",
        python.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let generated = String::from_utf8(out.stdout).unwrap();
    assert!(
        generated == committed,
        "{path} differs from botocore's models (or the operation table): run scripts/{script} --write"
    );
}

#[test]
fn the_committed_shapes_are_what_botocore_says() {
    check_generated(
        "iam-shapes",
        "crates/core/src/ops/shapes.rs",
        include_str!("../src/ops/shapes.rs"),
    );
}

#[test]
fn the_committed_list_is_what_botocore_says() {
    check_generated(
        "sensitive-members",
        "crates/core/src/sensitive.rs",
        include_str!("../src/sensitive.rs"),
    );
}

/// What every operation's input looks like is AWS's: a few members checked by hand.
#[test]
fn the_shapes_hold_the_known_constraints() {
    let member = |op: OpName, name: &str| {
        shapes::input(op)
            .iter()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("{op:?} has no member {name}"))
    };
    let user_name = member(OpName::CreateUser, "UserName");
    assert!(user_name.required);
    assert!(matches!(
        user_name.shape,
        Shape::String {
            min: 1,
            max: Some(64),
            pattern: Some(p)
        } if p.text == r"[\w+=,.@-]+"
    ));
    assert!(!member(OpName::CreateUser, "Path").required);
    assert!(matches!(
        member(OpName::ListUsers, "MaxItems").shape,
        Shape::Integer {
            min: Some(1),
            max: Some(1000)
        }
    ));
    assert!(matches!(
        member(OpName::UpdateAccessKey, "Status").shape,
        Shape::Enum {
            values: ["Active", "Inactive", "Expired"]
        }
    ));
    assert!(matches!(
        member(OpName::TagUser, "Tags").shape,
        Shape::List {
            max: Some(50),
            member: Shape::Structure { name: "Tag", .. },
            ..
        }
    ));
    assert!(matches!(
        member(OpName::CreateLoginProfile, "Password").shape,
        Shape::Sensitive(_)
    ));
    assert!(shapes::input(OpName::GetAccountSummary).is_empty());
    // Every row of the table has its input (an operation without members has none).
    let with_members = OpName::ALL
        .iter()
        .filter(|op| !shapes::input(**op).is_empty())
        .count();
    assert!(with_members > 90, "{with_members}");
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

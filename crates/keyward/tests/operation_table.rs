//! The operation table (`keyward_core::ops::OpName`) against what documents and tests it: every
//! row has an action and a service, README's "Supported operations" lists exactly the table's
//! operations under their services, and every operation is called by a real client somewhere in
//! this crate's tests (aws-sdk-rust's fluent method, or the aws CLI's / boto3's name for it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::Path;

use keyward_core::ops::{OpName, Service};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `CreateVirtualMFADevice` → `create_virtual_mfa_device`, as aws-sdk-rust and boto3 name it.
fn snake(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next_lower)
            {
                out.push('_');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[test]
fn snake_case_as_the_sdks_write_it() {
    assert_eq!(snake("CreateVirtualMFADevice"), "create_virtual_mfa_device");
    assert_eq!(snake("ListMFADeviceTags"), "list_mfa_device_tags");
    assert_eq!(snake("GetCallerIdentity"), "get_caller_identity");
    assert_eq!(
        snake("ListAttachedUserPolicies"),
        "list_attached_user_policies"
    );
}

#[test]
fn every_row_has_an_action_a_service_and_a_wire_name_that_finds_it() {
    assert!(!OpName::ALL.is_empty());
    let mut names = BTreeSet::new();
    for &op in OpName::ALL {
        assert!(
            names.insert(op.name()),
            "{} is in the table twice",
            op.name()
        );
        let prefix = match op.service() {
            Service::Iam => "iam:",
            Service::Sts => "sts:",
        };
        assert_eq!(op.action(), format!("{prefix}{}", op.name()));
        assert_eq!(op.event_category(), "Management");
        assert_eq!(OpName::from_wire(op.service(), op.name()), Some(op));
        let other = match op.service() {
            Service::Iam => Service::Sts,
            Service::Sts => Service::Iam,
        };
        assert_eq!(OpName::from_wire(other, op.name()), None);
    }
}

/// CloudTrail's `readOnly`, where AWS documents it against the name's verb: STS's
/// `GetSessionToken` and `GetFederationToken` are change events (EventBridge User Guide,
/// "Receiving read-only management events from AWS services").
#[test]
fn read_only_follows_aws_not_the_verb() {
    assert!(!OpName::GetSessionToken.read_only());
    assert!(!OpName::GetFederationToken.read_only());
    assert!(!OpName::AssumeRole.read_only());
    assert!(OpName::DecodeAuthorizationMessage.read_only());
    assert!(OpName::GetCallerIdentity.read_only());
    assert!(OpName::ListUsers.read_only());
    assert!(!OpName::CreateUser.read_only());
}

/// The operations README's "Supported operations" table lists, by service.
fn readme_operations() -> BTreeSet<(String, String)> {
    let readme = std::fs::read_to_string(root().join("../../README.md")).unwrap();
    let section = readme
        .split("\n## Supported operations\n")
        .nth(1)
        .expect("README has a 'Supported operations' section");
    let section = section.split("\n## ").next().unwrap();
    let mut ops = BTreeSet::new();
    for line in section.lines().filter(|l| l.starts_with("| ")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (service, operations) = (cells[1], cells[2]);
        if !matches!(service, "IAM" | "STS") {
            continue;
        }
        for name in operations.split('`').skip(1).step_by(2) {
            assert!(
                name.chars().all(|c| c.is_ascii_alphanumeric())
                    && name.starts_with(|c: char| c.is_ascii_uppercase()),
                "README names an operation as `{name}`: write each operation out in full"
            );
            ops.insert((service.to_ascii_lowercase(), name.to_owned()));
        }
    }
    ops
}

#[test]
fn readme_lists_exactly_the_table() {
    let table: BTreeSet<(String, String)> = OpName::ALL
        .iter()
        .map(|op| (op.service().name().to_owned(), op.name().to_owned()))
        .collect();
    let readme = readme_operations();
    let missing: Vec<_> = table.difference(&readme).collect();
    let extra: Vec<_> = readme.difference(&table).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "README's 'Supported operations' and the operation table differ.\n\
         In the table, not in README: {missing:?}\nIn README, not in the table: {extra:?}"
    );
}

#[test]
fn every_operation_is_called_by_a_real_client() {
    let mut sources = String::new();
    for entry in std::fs::read_dir(root().join("tests")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs")
            && path.file_name().is_some_and(|n| n != "operation_table.rs")
        {
            sources.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
    let untested: Vec<&str> = OpName::ALL
        .iter()
        .filter(|op| {
            let snake = snake(op.name());
            let sdk = format!(".{snake}()");
            let cli = format!("\"{}\"", snake.replace('_', "-"));
            !sources.contains(&sdk) && !sources.contains(&cli)
        })
        .map(|op| op.name())
        .collect();
    assert!(
        untested.is_empty(),
        "operations no test calls with aws-sdk-rust (`.{{name}}()`) or the aws CLI \
         (`\"{{kebab-name}}\"`): {untested:?}"
    );
}

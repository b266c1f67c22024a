//! The `aws` CLI (PyPI `awscli`, installed into `.venv` by `scripts/test`) against a running
//! keyward: the README's quick start and the first operations, exactly as a user types them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{Aws, Server, aws_cli};

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[test]
fn readme_quick_start_and_first_operations_with_the_aws_cli() {
    let Some(exe) = aws_cli() else { return };
    let server = Server::start();
    let aws = Aws {
        exe,
        endpoint: server.endpoint(),
        home: tempfile::tempdir().unwrap(),
    };
    let (k, s) = (server.root_key_id.as_str(), server.root_secret.as_str());

    let (ok, out, err) = aws.run(k, s, &["sts", "get-caller-identity"]);
    assert!(ok, "{err}");
    assert_eq!(json(&out)["Account"], server.account_id.as_str());

    let (ok, _, err) = aws.run(
        k,
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        &["sts", "get-caller-identity"],
    );
    assert!(!ok);
    assert!(err.contains("(SignatureDoesNotMatch) when calling the GetCallerIdentity operation: The request signature we calculated does not match"), "{err}");

    let (ok, out, err) = aws.run(
        k,
        s,
        &[
            "iam",
            "create-user",
            "--user-name",
            "erin",
            "--tags",
            "Key=team,Value=red",
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(
        json(&out)["User"]["Arn"],
        format!("arn:aws:iam::{}:user/erin", server.account_id).as_str()
    );

    let (ok, out, err) = aws.run(k, s, &["iam", "list-users"]);
    assert!(ok, "{err}");
    assert_eq!(json(&out)["Users"][0]["UserName"], "erin");

    let (ok, out, err) = aws.run(k, s, &["iam", "create-access-key", "--user-name", "erin"]);
    assert!(ok, "{err}");
    let key = json(&out)["AccessKey"].clone();
    let erin_key = key["AccessKeyId"].as_str().unwrap().to_owned();
    let erin_secret = key["SecretAccessKey"].as_str().unwrap().to_owned();

    let (ok, out, err) = aws.run(&erin_key, &erin_secret, &["sts", "get-caller-identity"]);
    assert!(ok, "{err}");
    assert_eq!(
        json(&out)["Arn"],
        format!("arn:aws:iam::{}:user/erin", server.account_id).as_str()
    );

    let (ok, out, err) = aws.run(k, s, &["iam", "list-access-keys", "--user-name", "erin"]);
    assert!(ok, "{err}");
    let listed = json(&out);
    assert_eq!(
        listed["AccessKeyMetadata"][0]["AccessKeyId"],
        erin_key.as_str()
    );
    assert!(
        !out.contains(&erin_secret),
        "the secret is shown only at creation"
    );

    let (ok, _, err) = aws.run(k, s, &["iam", "delete-user", "--user-name", "erin"]);
    assert!(!ok);
    assert!(err.contains("(DeleteConflict)"), "{err}");
    let (ok, _, err) = aws.run(
        k,
        s,
        &[
            "iam",
            "delete-access-key",
            "--user-name",
            "erin",
            "--access-key-id",
            &erin_key,
        ],
    );
    assert!(ok, "{err}");
    let (ok, _, err) = aws.run(&erin_key, &erin_secret, &["sts", "get-caller-identity"]);
    assert!(!ok);
    assert!(
        err.contains("(InvalidClientTokenId)")
            && err.contains("The security token included in the request is invalid."),
        "{err}"
    );
    let (ok, _, err) = aws.run(k, s, &["iam", "delete-user", "--user-name", "erin"]);
    assert!(ok, "{err}");
    let (ok, out, _) = aws.run(k, s, &["iam", "list-users"]);
    assert!(ok);
    assert_eq!(json(&out)["Users"].as_array().map(Vec::len), Some(0));
}

#[test]
fn seed_commands_for_self_service_keys_and_policy_versions_s8_s17() {
    let Some(exe) = aws_cli() else { return };
    let server = Server::start();
    let aws = Aws {
        exe,
        endpoint: server.endpoint(),
        home: tempfile::tempdir().unwrap(),
    };
    let (k, s) = (server.root_key_id.as_str(), server.root_secret.as_str());
    let run = |key: &str, secret: &str, args: &[&str]| {
        let (ok, out, err) = aws.run(key, secret, args);
        assert!(ok, "aws {args:?}: {err}");
        out
    };
    run(k, s, &["iam", "create-user", "--user-name", "frank"]);
    run(k, s, &["iam", "create-user", "--user-name", "grace"]);
    let key = json(&run(
        k,
        s,
        &["iam", "create-access-key", "--user-name", "frank"],
    ))["AccessKey"]
        .clone();
    let (fk, fs) = (
        key["AccessKeyId"].as_str().unwrap().to_owned(),
        key["SecretAccessKey"].as_str().unwrap().to_owned(),
    );

    // S8: the seed's policy (001 §3) attached as a managed policy, with the current Version.
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:CreateAccessKey","iam:ListAccessKeys","iam:DeleteAccessKey"],"Resource":"arn:aws:iam::*:user/${aws:username}"}]}"#;
    let policy = json(&run(
        k,
        s,
        &[
            "iam",
            "create-policy",
            "--policy-name",
            "SelfKeys",
            "--policy-document",
            doc,
        ],
    ));
    let arn = policy["Policy"]["Arn"].as_str().unwrap().to_owned();
    run(
        k,
        s,
        &[
            "iam",
            "attach-user-policy",
            "--user-name",
            "frank",
            "--policy-arn",
            &arn,
        ],
    );
    let own = json(&run(
        &fk,
        &fs,
        &["iam", "create-access-key", "--user-name", "frank"],
    ));
    let own_id = own["AccessKey"]["AccessKeyId"].as_str().unwrap().to_owned();
    let listed = json(&run(
        &fk,
        &fs,
        &["iam", "list-access-keys", "--user-name", "frank"],
    ));
    assert_eq!(
        listed["AccessKeyMetadata"].as_array().map(Vec::len),
        Some(2)
    );
    run(
        &fk,
        &fs,
        &[
            "iam",
            "delete-access-key",
            "--user-name",
            "frank",
            "--access-key-id",
            &own_id,
        ],
    );
    let (ok, _, err) = aws.run(
        &fk,
        &fs,
        &["iam", "create-access-key", "--user-name", "grace"],
    );
    assert!(!ok);
    assert!(
        err.contains(&format!(
            "(AccessDenied) when calling the CreateAccessKey operation: User: arn:aws:iam::{acct}:user/frank is not authorized to perform: iam:CreateAccessKey on resource: arn:aws:iam::{acct}:user/grace because no identity-based policy allows the iam:CreateAccessKey action",
            acct = server.account_id
        )),
        "{err}"
    );

    // S17: versions, default switch, the default cannot be deleted; the CLI decodes documents.
    run(
        k,
        s,
        &[
            "iam",
            "create-policy-version",
            "--policy-arn",
            &arn,
            "--policy-document",
            doc,
            "--set-as-default",
        ],
    );
    let got = json(&run(
        k,
        s,
        &[
            "iam",
            "get-policy-version",
            "--policy-arn",
            &arn,
            "--version-id",
            "v2",
        ],
    ));
    assert_eq!(
        got["PolicyVersion"]["Document"]["Statement"][0]["Resource"],
        "arn:aws:iam::*:user/${aws:username}"
    );
    assert_eq!(got["PolicyVersion"]["IsDefaultVersion"], true);
    run(
        k,
        s,
        &[
            "iam",
            "set-default-policy-version",
            "--policy-arn",
            &arn,
            "--version-id",
            "v1",
        ],
    );
    let (ok, _, err) = aws.run(
        k,
        s,
        &[
            "iam",
            "delete-policy-version",
            "--policy-arn",
            &arn,
            "--version-id",
            "v1",
        ],
    );
    assert!(!ok);
    assert!(err.contains("(DeleteConflict) when calling the DeletePolicyVersion operation: Cannot delete the default version of a policy."), "{err}");
    run(
        k,
        s,
        &[
            "iam",
            "delete-policy-version",
            "--policy-arn",
            &arn,
            "--version-id",
            "v2",
        ],
    );
    let versions = json(&run(
        k,
        s,
        &["iam", "list-policy-versions", "--policy-arn", &arn],
    ));
    assert_eq!(versions["Versions"].as_array().map(Vec::len), Some(1));
}

/// The Python interpreter of the venv next to the `aws` CLI (it has `pyotp`).
fn python_next_to(aws: &std::path::Path) -> PathBuf {
    aws.with_file_name("python")
}

/// The code pyotp (an independent implementation) shows for `seed` at Unix time `t`.
fn pyotp_code(python: &std::path::Path, seed: &str, t: u64) -> String {
    let out = common::run_ok(Command::new(python).args([
        "-c",
        "import sys, pyotp; print(pyotp.TOTP(sys.argv[1]).at(int(sys.argv[2])))",
        seed,
        &t.to_string(),
    ]));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A Unix time at the start of a step with at least 10 s of it left.
fn fresh_time() -> u64 {
    u64::try_from(common::fresh_step() * 30).unwrap()
}

/// S2 and S3 with the `aws` CLI: the seed written by `--bootstrap-method Base32StringSeed`,
/// codes from pyotp, drift refused then resynced, admin deactivation, the abandoned device
/// listed as Unassigned and deleted.
#[test]
fn virtual_mfa_with_the_aws_cli_and_pyotp() {
    let Some(exe) = aws_cli() else { return };
    let python = python_next_to(&exe);
    let server = Server::start();
    let aws = Aws {
        exe,
        endpoint: server.endpoint(),
        home: tempfile::tempdir().unwrap(),
    };
    let (k, s) = (server.root_key_id.as_str(), server.root_secret.as_str());
    let run = |args: &[&str]| {
        let (ok, out, err) = aws.run(k, s, args);
        assert!(ok, "{args:?}: {err}");
        out
    };
    run(&["iam", "create-user", "--user-name", "alice"]);
    let seed_file = aws.home.path().join("seed.txt");
    let out = run(&[
        "iam",
        "create-virtual-mfa-device",
        "--virtual-mfa-device-name",
        "alice",
        "--outfile",
        seed_file.to_str().unwrap(),
        "--bootstrap-method",
        "Base32StringSeed",
    ]);
    let serial = json(&out)["VirtualMFADevice"]["SerialNumber"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        serial,
        format!("arn:aws:iam::{}:mfa/alice", server.account_id)
    );
    let seed = std::fs::read_to_string(&seed_file).unwrap();
    assert_eq!(seed.len(), 64);

    let t = fresh_time();
    let code = |dt: i64| pyotp_code(&python, &seed, t.checked_add_signed(dt).unwrap());
    let enable = |c1: &str, c2: &str| {
        aws.run(
            k,
            s,
            &[
                "iam",
                "enable-mfa-device",
                "--user-name",
                "alice",
                "--serial-number",
                &serial,
                "--authentication-code1",
                c1,
                "--authentication-code2",
                c2,
            ],
        )
    };
    // Codes of a phone whose clock runs 5 minutes behind are refused.
    let (ok, _, err) = enable(&code(-330), &code(-300));
    assert!(!ok);
    assert!(
        err.contains("An error occurred (InvalidAuthenticationCode) when calling the EnableMFADevice operation: Authentication code for device is not valid."),
        "{err}"
    );
    let (ok, _, err) = enable(&code(-30), &code(0));
    assert!(ok, "{err}");
    let out = run(&["iam", "list-mfa-devices", "--user-name", "alice"]);
    assert_eq!(json(&out)["MFADevices"][0]["SerialNumber"], serial.as_str());

    // The drifted phone resyncs with two consecutive codes.
    run(&[
        "iam",
        "resync-mfa-device",
        "--user-name",
        "alice",
        "--serial-number",
        &serial,
        "--authentication-code1",
        &code(-300),
        "--authentication-code2",
        &code(-270),
    ]);

    // An admin frees the lost device; a never-enabled device is Unassigned and deleted.
    run(&[
        "iam",
        "deactivate-mfa-device",
        "--user-name",
        "alice",
        "--serial-number",
        &serial,
    ]);
    run(&[
        "iam",
        "create-virtual-mfa-device",
        "--virtual-mfa-device-name",
        "abandoned",
        "--outfile",
        aws.home.path().join("qr.png").to_str().unwrap(),
        "--bootstrap-method",
        "QRCodePNG",
    ]);
    let png = std::fs::read(aws.home.path().join("qr.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let out = run(&[
        "iam",
        "list-virtual-mfa-devices",
        "--assignment-status",
        "Unassigned",
    ]);
    let serials: Vec<String> = json(&out)["VirtualMFADevices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["SerialNumber"].as_str().unwrap().to_owned())
        .collect();
    let abandoned = format!("arn:aws:iam::{}:mfa/abandoned", server.account_id);
    assert_eq!(serials, vec![abandoned.clone(), serial.clone()]);
    run(&[
        "iam",
        "delete-virtual-mfa-device",
        "--serial-number",
        &abandoned,
    ]);
    let (ok, _, err) = aws.run(
        k,
        s,
        &[
            "iam",
            "delete-virtual-mfa-device",
            "--serial-number",
            &abandoned,
        ],
    );
    assert!(!ok);
    assert!(err.contains("(NoSuchEntity)"), "{err}");
}

#[test]
fn seed_commands_for_key_quota_broken_keys_and_rotation_s6_s7_s9() {
    let Some(exe) = aws_cli() else { return };
    let server = Server::start();
    let aws = Aws {
        exe,
        endpoint: server.endpoint(),
        home: tempfile::tempdir().unwrap(),
    };
    let (k, s) = (server.root_key_id.as_str(), server.root_secret.as_str());
    let run = |key: &str, secret: &str, args: &[&str]| {
        let (ok, out, err) = aws.run(key, secret, args);
        assert!(ok, "aws {args:?}: {err}");
        out
    };
    run(k, s, &["iam", "create-user", "--user-name", "tara"]);
    // S6 (000 §5, 001 §4 §5): two keys, the third refused, delete frees a slot.
    let first = json(&run(
        k,
        s,
        &["iam", "create-access-key", "--user-name", "tara"],
    ))["AccessKey"]
        .clone();
    let second = json(&run(
        k,
        s,
        &["iam", "create-access-key", "--user-name", "tara"],
    ))["AccessKey"]
        .clone();
    let (ok, _, err) = aws.run(k, s, &["iam", "create-access-key", "--user-name", "tara"]);
    assert!(!ok);
    assert!(err.contains("(LimitExceeded) when calling the CreateAccessKey operation: Cannot exceed quota for AccessKeysPerUser: 2"), "{err}");
    let listed = run(k, s, &["iam", "list-access-keys", "--user-name", "tara"]);
    assert!(
        !listed.contains(first["SecretAccessKey"].as_str().unwrap()),
        "the secret is never listed"
    );
    let id1 = first["AccessKeyId"].as_str().unwrap().to_owned();
    let secret1 = first["SecretAccessKey"].as_str().unwrap().to_owned();
    let id2 = second["AccessKeyId"].as_str().unwrap().to_owned();
    let secret2 = second["SecretAccessKey"].as_str().unwrap().to_owned();

    // S9 (000 §3, 001 §6): switch to the second key, deactivate the first, confirm it is refused.
    run(&id2, &secret2, &["sts", "get-caller-identity"]);
    run(&id1, &secret1, &["sts", "get-caller-identity"]);
    run(
        k,
        s,
        &[
            "iam",
            "update-access-key",
            "--user-name",
            "tara",
            "--access-key-id",
            &id1,
            "--status",
            "Inactive",
        ],
    );
    // S7 (000 §3, 001 §1): an inactive key, a wrong secret, a deleted key.
    let (ok, _, err) = aws.run(&id1, &secret1, &["sts", "get-caller-identity"]);
    assert!(
        !ok && err.contains("(InvalidClientTokenId)")
            && err.contains("The security token included in the request is invalid."),
        "{err}"
    );
    let (ok, _, err) = aws.run(&id2, &secret1, &["sts", "get-caller-identity"]);
    assert!(!ok && err.contains("(SignatureDoesNotMatch)"), "{err}");
    let used = json(&run(
        k,
        s,
        &["iam", "get-access-key-last-used", "--access-key-id", &id2],
    ));
    assert_eq!(used["AccessKeyLastUsed"]["ServiceName"], "sts");
    assert_eq!(used["AccessKeyLastUsed"]["Region"], "us-east-1");
    assert!(used["AccessKeyLastUsed"]["LastUsedDate"].is_string());
    run(
        k,
        s,
        &[
            "iam",
            "update-access-key",
            "--user-name",
            "tara",
            "--access-key-id",
            &id1,
            "--status",
            "Active",
        ],
    );
    run(&id1, &secret1, &["sts", "get-caller-identity"]);
    run(
        k,
        s,
        &[
            "iam",
            "delete-access-key",
            "--access-key-id",
            &id1,
            "--user-name",
            "tara",
        ],
    );
    let (ok, _, err) = aws.run(&id1, &secret1, &["sts", "get-caller-identity"]);
    assert!(!ok && err.contains("(InvalidClientTokenId)"), "{err}");
    let third = json(&run(
        k,
        s,
        &["iam", "create-access-key", "--user-name", "tara"],
    ));
    assert!(third["AccessKey"]["SecretAccessKey"].is_string());
}

/// S4 and S5 as the seeds write them (000 §4, 001 §2, 001 §7): under a policy that denies
/// everything but `sts:GetSessionToken` without MFA, long-term keys are refused;
/// `aws sts get-session-token --serial-number arn:aws:iam::<account-id>:mfa/<username>
/// --token-code <code>` returns temporary credentials that work from the environment; a wrong
/// or reused code is refused; an explicit deny of `sts:GetSessionToken` refuses it.
#[test]
fn seed_commands_for_mfa_protected_access_and_session_tokens_s4_s5() {
    let Some(exe) = aws_cli() else { return };
    let python = python_next_to(&exe);
    let server = Server::start();
    let aws = Aws {
        exe,
        endpoint: server.endpoint(),
        home: tempfile::tempdir().unwrap(),
    };
    let acct = server.account_id.clone();
    let (k, s) = (server.root_key_id.as_str(), server.root_secret.as_str());
    let run = |key: &str, secret: &str, token: Option<&str>, args: &[&str]| {
        let (ok, out, err) = aws.run_with_token(key, secret, token, args);
        assert!(ok, "aws {args:?}: {err}");
        out
    };
    let mfa_policy = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":["iam:ListUsers","iam:GetUser"],"Resource":"*"},
        {"Effect":"Deny","NotAction":"sts:GetSessionToken","Resource":"*",
         "Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}]}"#;
    run(k, s, None, &["iam", "create-user", "--user-name", "uma"]);
    run(
        k,
        s,
        None,
        &[
            "iam",
            "put-user-policy",
            "--user-name",
            "uma",
            "--policy-name",
            "mfa",
            "--policy-document",
            mfa_policy,
        ],
    );
    let key = json(&run(
        k,
        s,
        None,
        &["iam", "create-access-key", "--user-name", "uma"],
    ))["AccessKey"]
        .clone();
    let (uk, us) = (
        key["AccessKeyId"].as_str().unwrap().to_owned(),
        key["SecretAccessKey"].as_str().unwrap().to_owned(),
    );
    let seed_file = aws.home.path().join("uma.seed");
    run(
        k,
        s,
        None,
        &[
            "iam",
            "create-virtual-mfa-device",
            "--virtual-mfa-device-name",
            "uma",
            "--outfile",
            seed_file.to_str().unwrap(),
            "--bootstrap-method",
            "Base32StringSeed",
        ],
    );
    let seed = std::fs::read_to_string(&seed_file).unwrap();
    let serial = format!("arn:aws:iam::{acct}:mfa/uma");
    let t = fresh_time();
    let code = |dt: i64| pyotp_code(&python, &seed, t.checked_add_signed(dt).unwrap());
    run(
        k,
        s,
        None,
        &[
            "iam",
            "enable-mfa-device",
            "--user-name",
            "uma",
            "--serial-number",
            &serial,
            "--authentication-code1",
            &code(-30),
            "--authentication-code2",
            &code(0),
        ],
    );

    // Long-term keys: refused by the MFA condition.
    let (ok, _, err) = aws.run(&uk, &us, &["iam", "list-users"]);
    assert!(!ok);
    assert!(
        err.contains("(AccessDenied)")
            && err.contains("with an explicit deny in an identity-based policy"),
        "{err}"
    );

    // A wrong code is refused with AWS's message.
    let (ok, _, err) = aws.run(
        &uk,
        &us,
        &[
            "sts",
            "get-session-token",
            "--serial-number",
            &serial,
            "--token-code",
            "000000",
        ],
    );
    assert!(!ok);
    assert!(err.contains("(AccessDenied) when calling the GetSessionToken operation: MultiFactorAuthentication failed with invalid MFA one time pass code."), "{err}");

    // The seed's command, then the returned credentials in the environment.
    let next = code(30);
    let creds = json(&run(
        &uk,
        &us,
        None,
        &[
            "sts",
            "get-session-token",
            "--serial-number",
            &serial,
            "--token-code",
            &next,
        ],
    ))["Credentials"]
        .clone();
    let (sk, ss, st) = (
        creds["AccessKeyId"].as_str().unwrap().to_owned(),
        creds["SecretAccessKey"].as_str().unwrap().to_owned(),
        creds["SessionToken"].as_str().unwrap().to_owned(),
    );
    assert!(sk.starts_with("ASIA"), "{sk}");
    assert!(creds["Expiration"].is_string());
    let users = json(&run(&sk, &ss, Some(&st), &["iam", "list-users"]));
    assert!(
        users["Users"]
            .as_array()
            .is_some_and(|u| u.iter().any(|u| u["UserName"] == "uma"))
    );
    let me = json(&run(&sk, &ss, Some(&st), &["sts", "get-caller-identity"]));
    assert_eq!(me["Arn"], format!("arn:aws:iam::{acct}:user/uma").as_str());
    // Without the token the temporary key is not valid.
    let (ok, _, err) = aws.run(&sk, &ss, &["sts", "get-caller-identity"]);
    assert!(!ok && err.contains("(InvalidClientTokenId)"), "{err}");

    // A used code is not accepted again.
    let (ok, _, err) = aws.run(
        &uk,
        &us,
        &[
            "sts",
            "get-session-token",
            "--serial-number",
            &serial,
            "--token-code",
            &next,
        ],
    );
    assert!(
        !ok && err
            .contains("MultiFactorAuthentication failed with invalid MFA one time pass code."),
        "{err}"
    );

    // S5 (001 §7): an explicit deny of sts:GetSessionToken names the policy type.
    run(k, s, None, &["iam", "create-user", "--user-name", "vic"]);
    run(
        k,
        s,
        None,
        &[
            "iam",
            "put-user-policy",
            "--user-name",
            "vic",
            "--policy-name",
            "no-sts",
            "--policy-document",
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"sts:GetSessionToken","Resource":"*"}}"#,
        ],
    );
    let key = json(&run(
        k,
        s,
        None,
        &["iam", "create-access-key", "--user-name", "vic"],
    ))["AccessKey"]
        .clone();
    let (ok, _, err) = aws.run(
        key["AccessKeyId"].as_str().unwrap(),
        key["SecretAccessKey"].as_str().unwrap(),
        &["sts", "get-session-token"],
    );
    assert!(!ok);
    assert!(
        err.contains(&format!("(AccessDenied) when calling the GetSessionToken operation: User: arn:aws:iam::{acct}:user/vic is not authorized to perform: sts:GetSessionToken"))
            && err.contains("with an explicit deny in an identity-based policy"),
        "{err}"
    );
}

/// Every flag `keyward serve --help` shows is a row of README's configuration table, with its
/// environment variable and default as the help gives them.
#[test]
fn readme_configuration_table_lists_every_serve_flag() {
    let help = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    let readme =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .unwrap();
    let mut flags = 0;
    let mut lines = help.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(flag) = line.trim().strip_prefix("--") else {
            continue;
        };
        let flag = flag.split_whitespace().next().unwrap();
        if flag == "help" {
            continue;
        }
        flags += 1;
        let text = lines.peek().copied().unwrap_or_default();
        let row = readme
            .lines()
            .find(|l| l.starts_with(&format!("| `--{flag}` |")))
            .unwrap_or_else(|| panic!("README's configuration table has no row for --{flag}"));
        if let Some(env) = text
            .split("[env: ")
            .nth(1)
            .and_then(|e| e.split('=').next())
        {
            assert!(
                row.contains(&format!("`{env}`")),
                "--{flag}: {env} not in {row}"
            );
        }
        if let Some(default) = text
            .split("[default: ")
            .nth(1)
            .and_then(|d| d.split(']').next())
        {
            assert!(
                row.contains(&format!("`{default}`")),
                "--{flag}: default {default} not in {row}"
            );
        }
    }
    assert!(flags > 15, "{help}");
}

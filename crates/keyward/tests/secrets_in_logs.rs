//! No secret reaches the log, the JSON-lines audit copy or the data folder: every input member
//! botocore marks sensitive (`keyward_core::sensitive::SENSITIVE_INPUTS`, generated from the
//! model), and the TOTP codes keyward hides besides, sent with a marker value in signed requests
//! (of operations keyward serves or not), leave no trace but the caller's own answer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::Server;

/// Sends `Action=action&member=value` (and `extra`), signed by the root user for `service`.
fn signed_call(server: &Server, service: &str, action: &str, params: &[(&str, String)]) -> u16 {
    let version = if service == "sts" {
        "2011-06-15"
    } else {
        "2010-05-08"
    };
    let mut body = format!("Action={action}&Version={version}");
    for (k, v) in params {
        body.push('&');
        body.push_str(k);
        body.push('=');
        body.push_str(
            &percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
                .to_string(),
        );
    }
    server
        .signed_post(
            service,
            &server.root_key_id,
            &server.root_secret,
            &[],
            &body,
        )
        .0
}

#[tokio::test]
async fn sensitive_members_never_reach_the_log_the_audit_copy_or_the_data_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("server.log");
    let audit_log = tmp.path().join("audit.jsonl");
    let data = tmp.path().join("data");
    let mut server =
        Server::start_logged(&data, &["--audit-log", audit_log.to_str().unwrap()], &log);
    server
        .root_iam()
        .create_user()
        .user_name("holder")
        .send()
        .await
        .unwrap();

    let mut markers = Vec::new();
    let mut calls: Vec<(&str, &str, &str)> = keyward_core::sensitive::SENSITIVE_INPUTS.to_vec();
    // Secrets botocore does not mark, which keyward hides all the same.
    calls.extend([
        ("sts", "GetSessionToken", "TokenCode"),
        ("iam", "EnableMFADevice", "AuthenticationCode1"),
        ("iam", "EnableMFADevice", "AuthenticationCode2"),
    ]);
    for (i, (service, action, member)) in calls.iter().enumerate() {
        // A TOTP code that fails its shape (six digits) cannot be a code, and AWS's validation
        // message quotes it; a well-formed one is checked, refused, and must leave no trace.
        let marker = if member.contains("Code") {
            format!("97{i:02}31")
        } else {
            format!("Kw{i}SecretMarker9x!")
        };
        let mut params = vec![(*member, marker.clone()), ("UserName", "holder".to_owned())];
        if *action == "ChangePassword" {
            params.push(("OldPassword", "Kw-old-Secret-1x!".to_owned()));
            markers.push("Kw-old-Secret-1x!".to_owned());
        }
        let status = signed_call(&server, service, action, &params);
        assert!(status != 0, "{action}");
        markers.push(marker);
    }
    // Every record queued is written before a graceful stop ends.
    assert!(server.stop().success());

    // Log lines begin with a timestamp whose microseconds are six digits: leave it out.
    let log_text: String = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| l.split_once(' ').map_or(l, |(_, rest)| rest))
        .collect::<Vec<_>>()
        .join("\n");
    let places = vec![
        ("the log", log_text.into_bytes()),
        ("the audit copy", std::fs::read(&audit_log).unwrap()),
    ];
    // The data folder's binary pages hold many digit runs: only the non-digit markers are looked
    // for there.
    let mut folder = Vec::new();
    for entry in std::fs::read_dir(&data).unwrap() {
        folder.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    let audit_copy = String::from_utf8_lossy(&places[1].1).into_owned();
    assert!(
        audit_copy.contains("HIDDEN_DUE_TO_SECURITY_REASONS"),
        "the audit copy holds the records, with their secrets hidden: {audit_copy}"
    );
    for marker in markers
        .iter()
        .filter(|m| !m.bytes().all(|b| b.is_ascii_digit()))
    {
        assert!(
            !folder.windows(marker.len()).any(|w| w == marker.as_bytes()),
            "{marker} found in the data folder"
        );
    }
    for marker in &markers {
        for (place, bytes) in &places {
            assert!(
                !bytes.windows(marker.len()).any(|w| w == marker.as_bytes()),
                "{marker} found in {place}"
            );
        }
    }
}

//! Metrics and alarms (scenario S22 of `../shared/SCENARIOS.md`) end to end: `/metrics` in
//! Prometheus text, the `IAMMFAFailure` alarm at its threshold, `/alarms` and the webhook.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use aws_sdk_iam::types::StatusType;
use common::{Server, aws_error};
use keyward_core::model::MfaFailureReason;
use keyward_core::store::{Store, Tx};
use serde_json::Value;

fn get(server: &Server, path: &str) -> String {
    let (status, body) = server.get(path);
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

/// The value of one sample of the exposition (0 when absent).
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

fn alarm_history(server: &Server) -> Vec<Value> {
    let body: Value = serde_json::from_str(&get(server, "/alarms")).unwrap();
    body["History"].as_array().unwrap().clone()
}

/// A one-request HTTP server on 127.0.0.1: answers 200 and hands over the request body.
fn webhook() -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream);
        let mut length = 0usize;
        let mut request_line = String::new();
        reader.read_line(&mut request_line).unwrap();
        assert!(request_line.starts_with("POST /hook "), "{request_line}");
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line.trim().is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let mut stream = reader.into_inner();
        stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .unwrap();
        tx.send(String::from_utf8(body).unwrap()).unwrap();
    });
    (url, rx)
}

/// `/metrics` counts a successful call, an `AccessDenied` and authentication failures by reason;
/// an inactive key raises the `InactiveKeyUse` alert.
#[tokio::test]
async fn metrics_count_requests_and_auth_failures_by_reason() {
    let server = Server::start();
    let root = server.root_iam();
    root.create_user().user_name("bob").send().await.unwrap();
    let key = root
        .create_access_key()
        .user_name("bob")
        .send()
        .await
        .unwrap()
        .access_key
        .unwrap();
    root.list_users().send().await.unwrap();
    let bob = server.iam(&key.access_key_id, &key.secret_access_key);
    let (code, _, _) = aws_error(&bob.list_users().send().await.unwrap_err());
    assert_eq!(code, "AccessDenied");
    let wrong = server.iam(&key.access_key_id, "not-the-secret");
    let (code, _, _) = aws_error(&wrong.list_users().send().await.unwrap_err());
    assert_eq!(code, "SignatureDoesNotMatch");
    let skewed = common::iam_client(
        &server.endpoint(),
        &key.access_key_id,
        &key.secret_access_key,
        Some(-3600),
    );
    let (code, _, _) = aws_error(&skewed.list_users().send().await.unwrap_err());
    assert_eq!(code, "SignatureDoesNotMatch");
    let (status, _) = server.get("/?Action=ListUsers");
    assert_eq!(status, 403);
    let unknown = server.iam("AKIAIOSFODNN7EXAMPLE", "x");
    let (code, _, _) = aws_error(&unknown.list_users().send().await.unwrap_err());
    assert_eq!(code, "InvalidClientTokenId");
    root.update_access_key()
        .user_name("bob")
        .access_key_id(&key.access_key_id)
        .status(StatusType::Inactive)
        .send()
        .await
        .unwrap();
    let (code, _, _) = aws_error(&bob.list_users().send().await.unwrap_err());
    assert_eq!(code, "InvalidClientTokenId");

    let text = get(&server, "/metrics");
    let ok = sample(
        &text,
        "keyward_requests_total{service=\"iam\",action=\"ListUsers\",result=\"OK\"}",
    );
    assert_eq!(ok, 1.0, "{text}");
    let denied = sample(
        &text,
        "keyward_requests_total{service=\"iam\",action=\"ListUsers\",result=\"AccessDenied\"}",
    );
    assert_eq!(denied, 1.0, "{text}");
    // The refusal's decision is counted as the engine made it: no identity policy allows bob.
    let implicit = sample(
        &text,
        "keyward_authz_decisions_total{effect=\"ImplicitDeny\",policy_type=\"identity\"}",
    );
    assert_eq!(implicit, 1.0, "{text}");
    let mismatch = sample(
        &text,
        "keyward_requests_total{service=\"iam\",action=\"ListUsers\",result=\"SignatureDoesNotMatch\"}",
    );
    assert_eq!(mismatch, 2.0, "{text}");
    for (reason, n) in [
        ("signature_mismatch", 1.0),
        ("signature_expired", 1.0),
        ("missing_authentication_token", 1.0),
        ("invalid_client_token_id", 1.0),
        ("inactive_key", 1.0),
        ("expired_token", 0.0),
        ("incomplete_signature", 0.0),
    ] {
        let series = format!("keyward_auth_failures_total{{reason=\"{reason}\"}}");
        assert_eq!(sample(&text, &series), n, "{series} in\n{text}");
    }
    assert!(text.contains("# TYPE keyward_request_duration_seconds histogram"));
    assert!(
        sample(
            &text,
            "keyward_request_duration_seconds_count{service=\"iam\"}"
        ) >= 8.0
    );
    assert!(
        text.contains("keyward_request_duration_seconds_bucket{service=\"iam\",le=\"0.0005\"}")
    );
    assert!(sample(&text, "keyward_store_duration_seconds_count") >= 1.0);
    let acct = &server.account_id;
    assert_eq!(
        sample(
            &text,
            &format!("keyward_alarm_state{{alarm=\"IAMMFAFailure\",account=\"{acct}\"}}")
        ),
        0.0,
        "{text}"
    );
    // Sign-in has no HTTP yet: nothing is counted.
    assert!(!text.contains("keyward_console_signins_total{"));

    // The unknown AKIA key and the inactive key each raised one alert.
    let history = alarm_history(&server);
    let alerts: Vec<&Value> = history
        .iter()
        .filter(|h| h["AlarmName"] == "InactiveKeyUse")
        .collect();
    assert_eq!(alerts.len(), 2, "{history:?}");
    assert_eq!(alerts[0]["AccessKeyId"], "AKIAIOSFODNN7EXAMPLE");
    assert_eq!(alerts[0]["AccountId"], Value::Null);
    assert_eq!(alerts[1]["AccessKeyId"], key.access_key_id.as_str());
    assert_eq!(alerts[1]["AccountId"], acct.as_str());
}

async fn create_device(iam: &aws_sdk_iam::Client, name: &str) -> String {
    iam.create_virtual_mfa_device()
        .virtual_mfa_device_name(name)
        .send()
        .await
        .unwrap()
        .virtual_mfa_device
        .unwrap()
        .serial_number
}

async fn fail_enable(iam: &aws_sdk_iam::Client, user: &str, serial: &str) {
    let err = iam
        .enable_mfa_device()
        .user_name(user)
        .serial_number(serial)
        .authentication_code1("000000")
        .authentication_code2("000000")
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err).0, "InvalidAuthenticationCode");
}

/// Issue 24, defect 4: a hundred concurrent `GetSessionToken` calls with distinct wrong codes for
/// one device check at most `--mfa-throttle-failures` (5) of them; the others are refused as
/// throttled without their code being looked at. Five devices take their bursts at once (more
/// requests in flight, more chances for the race), each counted on its own from the store's
/// record of refusals; the metrics count every refusal by reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_wrong_codes_check_no_more_than_the_throttle_allows() {
    const CALLS: usize = 100;
    const LIMIT: usize = 5;
    const USERS: [&str; 5] = ["alice", "bob", "carol", "dave", "erin"];
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_in(tmp.path(), &["--mfa-throttle-failures", "5"]);
    let mut bursts = Vec::new();
    for user in USERS {
        let (key, secret) = server.new_user_with_key(user).await;
        let (serial, seed, t) = common::enable_mfa(&server.root_iam(), user).await;
        // Codes no step near now accepts (nor calls a replay): each call is a wrong code.
        let near: Vec<String> = (t - 4..=t + 4)
            .map(|s| common::totp_code(&seed, s))
            .collect();
        let codes: Vec<String> = (0u64..)
            .map(|n| format!("{:06}", (n * 104_729 + 13) % 1_000_000))
            .filter(|c| !near.contains(c))
            .take(CALLS)
            .collect();
        bursts.push((server.sts(&key, &secret), serial, codes));
    }
    // Open the clients' connections first, so that the calls reach the server together.
    let warm: Vec<_> = bursts
        .iter()
        .flat_map(|(sts, _, _)| (0..CALLS).map(move |_| sts.clone()))
        .map(|sts| tokio::spawn(async move { sts.get_caller_identity().send().await }))
        .collect();
    for call in warm {
        call.await.unwrap().unwrap();
    }
    let calls: Vec<_> = (0..CALLS)
        .flat_map(|i| {
            bursts
                .iter()
                .map(move |(sts, serial, codes)| (sts, serial, &codes[i]))
        })
        .map(|(sts, serial, code)| {
            let call = sts
                .get_session_token()
                .serial_number(serial)
                .token_code(code);
            tokio::spawn(async move { call.send().await })
        })
        .collect();
    for call in calls {
        let err = call.await.unwrap().unwrap_err();
        assert_eq!(
            aws_error(&err),
            common::access_denied(keyward_core::ops::MFA_FAILED)
        );
    }

    // Per device, from the refusals on record: LIMIT codes looked at, the rest throttled.
    let store = keyward_store::SqliteStore::open(tmp.path()).await.unwrap();
    let mut tx = store.begin_read().await.unwrap();
    let mut per_device = Vec::new();
    for (_, serial, _) in &bursts {
        let failures = tx
            .list_mfa_failures(Some(serial), time::OffsetDateTime::UNIX_EPOCH)
            .await
            .unwrap();
        let wrong = failures
            .iter()
            .filter(|f| f.reason == MfaFailureReason::WrongCode)
            .count();
        let throttled = failures
            .iter()
            .filter(|f| f.reason == MfaFailureReason::Throttled)
            .count();
        per_device.push((wrong, throttled));
    }
    tx.commit().await.unwrap();
    println!("codes checked, throttled per device: {per_device:?}");
    for (wrong, throttled) in &per_device {
        assert!(*wrong <= LIMIT, "{per_device:?}");
        assert_eq!(
            (*wrong, *throttled),
            (LIMIT, CALLS - LIMIT),
            "{per_device:?}"
        );
    }

    // The metrics count the same: every call once, by reason; the successes are the enablings.
    let text = get(&server, "/metrics");
    let series = |result: &str, reason: &str| {
        sample(
            &text,
            &format!("keyward_mfa_verifications_total{{result=\"{result}\",reason=\"{reason}\"}}"),
        )
    };
    let n = USERS.len() as f64;
    assert_eq!(series("failure", "wrong_code"), n * LIMIT as f64, "{text}");
    assert_eq!(
        series("failure", "throttled"),
        n * (CALLS - LIMIT) as f64,
        "{text}"
    );
    assert_eq!(series("success", "none"), n, "{text}");
    let counted = text
        .lines()
        .filter(|l| l.starts_with("keyward_mfa_verifications_total{"))
        .count();
    assert_eq!(counted, 3, "{text}");
}

/// `IAMMFAFailure` stays OK at threshold − 1 refused codes and fires at the threshold: the
/// gauge, `/alarms` and the webhook (CloudWatch-alarm-like JSON with the per-user breakdown).
#[tokio::test]
async fn mfa_alarm_fires_at_the_threshold_and_reaches_the_webhook() {
    let (url, received) = webhook();
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_in(
        tmp.path(),
        &[
            "--mfa-throttle-failures",
            "100",
            "--mfa-alarm-threshold",
            "4",
            "--mfa-alarm-window-secs",
            "300",
            "--alarm-webhook",
            &url,
        ],
    );
    let root = server.root_iam();
    let acct = server.account_id.clone();
    let gauge = format!("keyward_alarm_state{{alarm=\"IAMMFAFailure\",account=\"{acct}\"}}");
    for u in ["alice", "bob"] {
        root.create_user().user_name(u).send().await.unwrap();
    }
    let alice_device = create_device(&root, "alice").await;
    let bob_device = create_device(&root, "bob").await;
    fail_enable(&root, "alice", &alice_device).await;
    fail_enable(&root, "alice", &alice_device).await;
    fail_enable(&root, "bob", &bob_device).await;

    let text = get(&server, "/metrics");
    assert_eq!(sample(&text, &gauge), 0.0, "{text}");
    assert_eq!(
        sample(
            &text,
            "keyward_mfa_verifications_total{result=\"failure\",reason=\"wrong_code\"}"
        ),
        3.0,
        "{text}"
    );
    assert!(alarm_history(&server).is_empty());
    assert!(received.recv_timeout(Duration::from_millis(300)).is_err());

    fail_enable(&root, "alice", &alice_device).await;
    let text = get(&server, "/metrics");
    assert_eq!(sample(&text, &gauge), 1.0, "{text}");
    let history = alarm_history(&server);
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0]["NewStateValue"], "ALARM");

    let body = received.recv_timeout(Duration::from_secs(10)).unwrap();
    let n: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(n["AlarmName"], "IAMMFAFailure");
    assert_eq!(n["NewStateValue"], "ALARM");
    assert_eq!(n["OldStateValue"], "OK");
    assert_eq!(n["AccountId"], acct.as_str());
    assert_eq!(n["Users"], serde_json::json!({ "alice": 3, "bob": 1 }));
    let reason = n["NewStateReason"].as_str().unwrap();
    assert!(
        reason.starts_with("Threshold Crossed: 4 MFA failures"),
        "{reason}"
    );
    let changed = n["StateChangeTime"].as_str().unwrap();
    time::OffsetDateTime::parse(changed, &time::format_description::well_known::Rfc3339).unwrap();
    assert_eq!(n, history[0]);
}

/// `--mfa-alarm-account ACCOUNT=2/120`: that account's `IAMMFAFailure` stays OK at its first
/// refused code and fires at its second, with its own threshold and window in `/alarms` and the
/// notification; a server whose override names another account keeps the default of 5 for its own.
#[tokio::test]
async fn mfa_alarm_threshold_per_account() {
    let (url, received) = webhook();
    let tmp = tempfile::tempdir().unwrap();
    let acct = "111122223333";
    let server = Server::start_in(
        tmp.path(),
        &[
            "--account-id",
            acct,
            "--mfa-throttle-failures",
            "100",
            "--mfa-alarm-account",
            &format!("{acct}=2/120"),
            "--alarm-webhook",
            &url,
        ],
    );
    assert_eq!(server.account_id, acct);
    let gauge = format!("keyward_alarm_state{{alarm=\"IAMMFAFailure\",account=\"{acct}\"}}");
    let root = server.root_iam();
    root.create_user().user_name("alice").send().await.unwrap();
    let device = create_device(&root, "alice").await;
    fail_enable(&root, "alice", &device).await;
    assert_eq!(sample(&get(&server, "/metrics"), &gauge), 0.0);
    assert!(alarm_history(&server).is_empty());
    let alarms: Value = serde_json::from_str(&get(&server, "/alarms")).unwrap();
    assert_eq!(alarms["Alarms"][0]["AccountId"], acct);
    assert_eq!(alarms["Alarms"][0]["Threshold"], 2);
    assert_eq!(alarms["Alarms"][0]["WindowSeconds"], 120);

    fail_enable(&root, "alice", &device).await;
    assert_eq!(sample(&get(&server, "/metrics"), &gauge), 1.0);
    let history = alarm_history(&server);
    assert_eq!(history.len(), 1, "{history:?}");
    // The webhook's first notification is this transition: nothing fired at the first failure.
    let n: Value =
        serde_json::from_str(&received.recv_timeout(Duration::from_secs(10)).unwrap()).unwrap();
    assert_eq!(n, history[0]);
    assert_eq!(n["NewStateValue"], "ALARM");
    assert_eq!(n["AccountId"], acct);
    assert_eq!(
        n["NewStateReason"],
        "Threshold Crossed: 2 MFA failures in the last 120 seconds were greater than or equal to the threshold (2)."
    );
    drop(server);

    // Another server: the override names some other account; this one's stays at 5.
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_in(
        tmp.path(),
        &[
            "--mfa-throttle-failures",
            "100",
            "--mfa-alarm-account",
            "999999999999=2",
        ],
    );
    let gauge = format!(
        "keyward_alarm_state{{alarm=\"IAMMFAFailure\",account=\"{}\"}}",
        server.account_id
    );
    let root = server.root_iam();
    root.create_user().user_name("bob").send().await.unwrap();
    let device = create_device(&root, "bob").await;
    for _ in 0..4 {
        fail_enable(&root, "bob", &device).await;
    }
    assert_eq!(sample(&get(&server, "/metrics"), &gauge), 0.0);
    assert!(alarm_history(&server).is_empty());
    fail_enable(&root, "bob", &device).await;
    assert_eq!(sample(&get(&server, "/metrics"), &gauge), 1.0);
    let history = alarm_history(&server);
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(
        history[0]["NewStateReason"],
        "Threshold Crossed: 5 MFA failures in the last 300 seconds were greater than or equal to the threshold (5)."
    );
}

/// A malformed or repeated `--mfa-alarm-account` stops `keyward serve` before it creates anything,
/// saying what is wrong.
#[test]
fn a_bad_mfa_alarm_account_stops_the_start() {
    for (args, expected) in [
        (vec!["12345=2"], "the account ID must be 12 digits"),
        (
            vec!["123456789012=0"],
            "the threshold must be a whole number of at least 1",
        ),
        (
            vec!["123456789012=2/x"],
            "the window must be a whole number of seconds",
        ),
        (
            vec!["123456789012"],
            "expected ACCOUNT_ID=THRESHOLD[/WINDOW_SECS]",
        ),
        (
            vec!["123456789012=2", "123456789012=3"],
            "account 123456789012 is given more than once",
        ),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_keyward"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&data)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        for a in &args {
            cmd.args(["--mfa-alarm-account", a]);
        }
        let mut child = cmd.spawn().unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("keyward serve {args:?} did not stop");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        assert!(!status.success(), "{args:?}");
        assert!(
            stderr.contains("--mfa-alarm-account") && stderr.contains(expected),
            "{args:?}: {stderr}"
        );
        assert!(!data.exists(), "{args:?} created the data folder");
    }
}

/// `--metrics-listen` moves `/metrics` and `/alarms` off the API port (issue 24, #8): they answer
/// on the monitoring address, and the API port treats those paths as AWS requests.
#[tokio::test]
async fn metrics_listen_serves_monitoring_apart_from_the_api() {
    let free = TcpListener::bind("127.0.0.1:0").unwrap();
    let monitoring = free.local_addr().unwrap();
    drop(free);
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_in(tmp.path(), &["--metrics-listen", &monitoring.to_string()]);
    server
        .root_sts()
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    let ask = |addr: &str, path: &str| {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        use std::io::{Read, Write};
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .unwrap();
        let mut text = String::new();
        let _ = s.read_to_string(&mut text);
        text
    };
    let mut metrics = String::new();
    for _ in 0..50 {
        metrics = ask(&monitoring.to_string(), "/metrics");
        if metrics.starts_with("HTTP/1.1 200") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
    assert!(
        metrics.contains(
            "keyward_requests_total{service=\"sts\",action=\"GetCallerIdentity\",result=\"OK\"} 1"
        ),
        "{metrics}"
    );
    assert!(ask(&monitoring.to_string(), "/alarms").starts_with("HTTP/1.1 200"));
    let (status, body) = server.get("/metrics");
    assert_ne!(status, 200, "{body}");
    assert!(!body.contains("keyward_requests_total"), "{body}");
    let (status, _) = server.get("/alarms");
    assert_ne!(status, 200);
}

//! The audit trail end to end: one well-formed CloudTrail record per request, no secret in any
//! record, and `aws cloudtrail lookup-events` with filters and pagination.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;

use common::{Server, aws_cli, trail};
use serde_json::Value;

/// Runs `aws --endpoint-url ... ARGS` as `key`; returns stdout parsed as JSON.
fn aws(server: &Server, home: &std::path::Path, key: &str, secret: &str, args: &[&str]) -> Value {
    let exe = aws_cli().unwrap();
    let out = Command::new(exe)
        .arg("--endpoint-url")
        .arg(server.endpoint())
        .args(["--output", "json"])
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("AWS_ACCESS_KEY_ID", key)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "aws {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    if stdout.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&stdout).unwrap()
    }
}

/// The fields every record has, with the types CloudTrail gives them.
fn check_schema(r: &Value) {
    for field in [
        "eventVersion",
        "eventTime",
        "eventSource",
        "eventName",
        "awsRegion",
        "sourceIPAddress",
        "requestID",
        "eventID",
        "eventType",
    ] {
        assert!(r[field].is_string(), "{field} in {r}");
    }
    assert!(r["readOnly"].is_boolean(), "{r}");
    assert_eq!(r["managementEvent"], true);
    assert!(r["userIdentity"].is_object(), "{r}");
    assert!(r.get("requestParameters").is_some() && r.get("responseElements").is_some());
    let t = r["eventTime"].as_str().unwrap();
    assert!(t.ends_with('Z') && t.len() == 20, "{t}");
    if r["errorCode"].is_string() {
        assert!(r["errorMessage"].is_string(), "{r}");
    }
    if r["userIdentity"]["type"].is_string() {
        for f in ["principalId", "arn", "accountId", "accessKeyId"] {
            assert!(r["userIdentity"][f].is_string(), "{f} in {r}");
        }
        assert_eq!(r["recipientAccountId"], r["userIdentity"]["accountId"]);
    }
}

#[tokio::test]
async fn one_well_formed_record_per_request_and_no_secret() {
    let mut server = Server::start();
    let iam = server.root_iam();
    let sts = server.root_sts();
    sts.get_caller_identity().send().await.unwrap();
    iam.create_user().user_name("bob").send().await.unwrap();
    let key = iam
        .create_access_key()
        .user_name("bob")
        .send()
        .await
        .unwrap();
    let key = key.access_key.unwrap();
    let (key_id, secret) = (key.access_key_id, key.secret_access_key);
    let mfa = iam
        .create_virtual_mfa_device()
        .virtual_mfa_device_name("bob-phone")
        .send()
        .await
        .unwrap();
    let mfa = mfa.virtual_mfa_device.unwrap();
    let seed = String::from_utf8(mfa.base32_string_seed.unwrap().into_inner()).unwrap();
    let serial = mfa.serial_number;
    // A refused code pair: its record shows the device and the reason, never the codes.
    let refused = iam
        .enable_mfa_device()
        .user_name("bob")
        .serial_number(&serial)
        .authentication_code1("000000")
        .authentication_code2("000001")
        .send()
        .await;
    assert!(refused.is_err());
    iam.get_user().user_name("bob").send().await.unwrap();
    assert!(iam.get_user().user_name("nobody").send().await.is_err());
    // Signed by bob's new key: bob has no policy, so AccessDenied, recorded with bob's identity.
    assert!(
        server
            .iam(&key_id, &secret)
            .list_users()
            .send()
            .await
            .is_err()
    );
    // A wrong secret.
    assert!(
        server
            .iam(&key_id, "wrong")
            .get_user()
            .send()
            .await
            .is_err()
    );
    iam.delete_access_key()
        .user_name("bob")
        .access_key_id(&key_id)
        .send()
        .await
        .unwrap();
    assert!(server.stop().success());

    let records = trail(&server.dir).await;
    let names: Vec<&str> = records
        .iter()
        .map(|r| r["eventName"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    let mut expected = [
        "GetCallerIdentity",
        "CreateUser",
        "CreateAccessKey",
        "CreateVirtualMFADevice",
        "EnableMFADevice",
        "GetUser",
        "GetUser",
        "ListUsers",
        "GetUser",
        "DeleteAccessKey",
    ];
    expected.sort_unstable();
    assert_eq!(sorted, expected, "one record per request");
    // A change's record commits with the change, so changes are recorded in the order they were
    // made; records of requests that changed nothing are group-committed a moment later and may
    // land after a later change's.
    let changes: Vec<&str> = records
        .iter()
        .filter(|r| r["readOnly"] == false && r["errorCode"].is_null())
        .map(|r| r["eventName"].as_str().unwrap())
        .collect();
    assert_eq!(
        changes,
        [
            "CreateUser",
            "CreateAccessKey",
            "CreateVirtualMFADevice",
            "DeleteAccessKey"
        ]
    );
    for r in &records {
        check_schema(r);
        let text = r.to_string();
        for secret_value in [
            secret.as_str(),
            seed.as_str(),
            &server.root_secret,
            "000000",
            "000001",
        ] {
            assert!(!text.contains(secret_value), "a secret in {text}");
        }
    }
    let by_name = |n: &str| records.iter().find(|r| r["eventName"] == n).unwrap();
    let gci = by_name("GetCallerIdentity");
    assert_eq!(gci["eventSource"], "sts.amazonaws.com");
    assert_eq!(gci["readOnly"], true);
    assert_eq!(gci["userIdentity"]["type"], "Root");
    assert_eq!(
        gci["userIdentity"]["accessKeyId"],
        server.root_key_id.as_str()
    );
    assert_eq!(gci["responseElements"], Value::Null);
    let create = by_name("CreateUser");
    assert_eq!(create["eventSource"], "iam.amazonaws.com");
    assert_eq!(create["requestParameters"]["userName"], "bob");
    assert_eq!(create["responseElements"]["user"]["userName"], "bob");
    assert_eq!(create["readOnly"], false);
    let ck = by_name("CreateAccessKey");
    assert_eq!(
        ck["responseElements"]["accessKey"]["accessKeyId"],
        key_id.as_str()
    );
    assert!(
        ck["responseElements"]["accessKey"]
            .get("secretAccessKey")
            .is_none()
    );
    let enable = by_name("EnableMFADevice");
    assert_eq!(
        enable["requestParameters"]["authenticationCode1"],
        "HIDDEN_DUE_TO_SECURITY_REASONS"
    );
    assert!(enable["errorCode"].is_string());
    assert_eq!(
        enable["additionalEventData"]["MFAIdentifier"],
        serial.as_str()
    );
    assert!(enable["additionalEventData"]["MFAFailureReason"].is_string());
    let denied = by_name("ListUsers");
    assert_eq!(denied["errorCode"], "AccessDenied");
    assert_eq!(denied["userIdentity"]["userName"], "bob");
    let get_users: Vec<&Value> = records
        .iter()
        .filter(|r| r["eventName"] == "GetUser")
        .collect();
    let with_error = |code: &str| {
        let found: Vec<&&Value> = get_users
            .iter()
            .filter(|r| r["errorCode"] == code)
            .collect();
        assert_eq!(found.len(), 1, "one GetUser refused with {code}");
        *found[0]
    };
    assert!(get_users.iter().any(|r| r["errorCode"].is_null()));
    with_error("NoSuchEntity");
    let mismatch = with_error("SignatureDoesNotMatch");
    assert_eq!(mismatch["userIdentity"]["accessKeyId"], key_id.as_str());
}

#[test]
fn lookup_events_with_the_aws_cli_filters_and_pages() {
    if aws_cli().is_none() {
        return;
    }
    let server = Server::start();
    let home = tempfile::tempdir().unwrap();
    let (k, s) = (server.root_key_id.clone(), server.root_secret.clone());
    for name in ["ann", "ben", "cat"] {
        aws(
            &server,
            home.path(),
            &k,
            &s,
            &["iam", "create-user", "--user-name", name],
        );
    }
    aws(
        &server,
        home.path(),
        &k,
        &s,
        &["sts", "get-caller-identity"],
    );

    let page = |args: &[&str]| {
        let mut all = vec!["cloudtrail", "lookup-events"];
        all.extend_from_slice(args);
        aws(&server, home.path(), &k, &s, &all)
    };
    let created = page(&[
        "--lookup-attributes",
        "AttributeKey=EventName,AttributeValue=CreateUser",
    ]);
    let events = created["Events"].as_array().unwrap();
    assert_eq!(events.len(), 3);
    // Newest first.
    let names: Vec<String> = events
        .iter()
        .map(|e| {
            let r: Value = serde_json::from_str(e["CloudTrailEvent"].as_str().unwrap()).unwrap();
            r["requestParameters"]["userName"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(names, ["cat", "ben", "ann"]);
    assert_eq!(events[0]["EventSource"], "iam.amazonaws.com");
    assert_eq!(events[0]["ReadOnly"], "false");
    assert_eq!(events[0]["Username"], "root");
    assert_eq!(events[0]["AccessKeyId"], k.as_str());
    assert_eq!(events[0]["Resources"][0]["ResourceName"], "cat");

    let by_resource = page(&[
        "--lookup-attributes",
        "AttributeKey=ResourceName,AttributeValue=ben",
    ]);
    assert_eq!(by_resource["Events"].as_array().unwrap().len(), 1);
    let reads = page(&[
        "--lookup-attributes",
        "AttributeKey=ReadOnly,AttributeValue=true",
    ]);
    assert!(
        reads["Events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["EventName"] == "GetCallerIdentity")
    );
    let id = events[1]["EventId"].as_str().unwrap();
    let by_id = page(&[
        "--lookup-attributes",
        &format!("AttributeKey=EventId,AttributeValue={id}"),
    ]);
    assert_eq!(by_id["Events"][0]["EventId"], id);
    let future = page(&["--start-time", "2099-01-01T00:00:00Z"]);
    assert_eq!(future["Events"].as_array().unwrap().len(), 0);

    // Pagination by hand: one event a page, following NextToken.
    let first = page(&[
        "--lookup-attributes",
        "AttributeKey=EventName,AttributeValue=CreateUser",
        "--max-results",
        "1",
        "--no-paginate",
    ]);
    assert_eq!(first["Events"].as_array().unwrap().len(), 1);
    let token = first["NextToken"].as_str().unwrap().to_owned();
    let second = page(&[
        "--lookup-attributes",
        "AttributeKey=EventName,AttributeValue=CreateUser",
        "--max-results",
        "1",
        "--no-paginate",
        "--next-token",
        &token,
    ]);
    assert_ne!(
        second["Events"][0]["EventId"],
        first["Events"][0]["EventId"]
    );
    // The CLI's own paginator walks every page.
    let all = page(&[
        "--lookup-attributes",
        "AttributeKey=EventName,AttributeValue=CreateUser",
        "--page-size",
        "2",
    ]);
    assert_eq!(all["Events"].as_array().unwrap().len(), 3);
}

/// Runs SQL on the stopped server's database.
fn sql(dir: &std::path::Path, statement: &str) {
    let script =
        "import sqlite3,sys;c=sqlite3.connect(sys.argv[1]);c.executescript(sys.argv[2]);c.commit()";
    common::run_ok(
        Command::new("python3")
            .arg("-c")
            .arg(script)
            .arg(dir.join("keyward.db"))
            .arg(statement),
    );
}

/// Crash consistency: when the store refuses the audit record's insert, the change it describes
/// is not kept either; when it refuses the change, no record says it happened.
#[tokio::test]
async fn a_failing_store_write_leaves_neither_the_change_nor_its_record() {
    let tmp = tempfile::tempdir().unwrap();
    let mut server = Server::start_in(tmp.path(), &[]);
    assert!(server.stop().success());
    // Faults injected in the store itself: the record of a CreateUser, and the insert of user "eve".
    sql(
        tmp.path(),
        "CREATE TRIGGER fail_record BEFORE INSERT ON audit_records \
           WHEN NEW.event_name = 'CreateUser' BEGIN SELECT RAISE(ABORT, 'injected fault'); END; \
         CREATE TRIGGER fail_eve BEFORE INSERT ON users \
           WHEN NEW.name = 'eve' BEGIN SELECT RAISE(ABORT, 'injected fault'); END;",
    );
    let mut server = Server::start_in(tmp.path(), &[]);
    let iam = server.root_iam();
    let err = iam
        .create_user()
        .user_name("mallory")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.into_service_error().meta().code(),
        Some("ServiceFailure")
    );
    assert!(
        iam.get_user().user_name("mallory").send().await.is_err(),
        "the change was kept"
    );
    // The fault on the record is lifted; the change itself now fails.
    assert!(server.stop().success());
    sql(tmp.path(), "DROP TRIGGER fail_record;");
    let mut server = Server::start_in(tmp.path(), &[]);
    let iam = server.root_iam();
    let err = iam.create_user().user_name("eve").send().await.unwrap_err();
    assert_eq!(
        err.into_service_error().meta().code(),
        Some("ServiceFailure")
    );
    assert!(iam.get_user().user_name("eve").send().await.is_err());
    assert!(server.stop().success());

    let records = trail(tmp.path()).await;
    let creates: Vec<&Value> = records
        .iter()
        .filter(|r| r["eventName"] == "CreateUser")
        .collect();
    // mallory's record of success was refused with the change; what is recorded is each
    // request's failure (a failed request's record is written apart from the change it did not
    // make, in the trail of requests that changed nothing), with no response elements.
    let names: Vec<&Value> = creates
        .iter()
        .map(|r| &r["requestParameters"]["userName"])
        .collect();
    assert_eq!(names, ["mallory", "eve"], "{creates:?}");
    for r in &creates {
        assert_eq!(r["errorCode"], "ServiceFailure");
        assert_eq!(r["responseElements"], Value::Null);
    }
}

/// A store that another process keeps locked past the busy timeout (say `keyward admin` in a long
/// transaction) answers AWS's retryable `ServiceUnavailable` (503), not `ServiceFailure`; the log
/// names the kind of store failure, the audit record the error the client got, and once the lock
/// is gone the same request succeeds.
#[tokio::test]
async fn a_store_locked_by_another_process_is_unavailable() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let log = tmp.path().join("server.log");
    let mut server = Server::start_logged(&data, &[], &log);
    let iam = server.root_iam();
    let holder = rusqlite::Connection::open(data.join("keyward.db")).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let err = iam.create_user().user_name("bob").send().await.unwrap_err();
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(503));
    let err = err.into_service_error();
    assert_eq!(err.meta().code(), Some("ServiceUnavailable"));
    assert_eq!(
        err.meta().message(),
        Some("The request has failed due to a temporary failure of the server.")
    );
    holder.execute_batch("ROLLBACK").unwrap();
    iam.create_user().user_name("bob").send().await.unwrap();
    assert!(server.stop().success());

    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        log.lines()
            .any(|l| l.contains("request failed in the store") && l.contains("store unavailable")),
        "{log}"
    );
    let creates: Vec<Value> = trail(&data)
        .await
        .into_iter()
        .filter(|r| r["eventName"] == "CreateUser")
        .collect();
    let codes: Vec<&Value> = creates.iter().map(|r| &r["errorCode"]).collect();
    assert_eq!(codes, [&Value::from("ServiceUnavailable"), &Value::Null]);
}

/// `--audit-log`: every committed record, changes and reads and refusals alike, one CloudTrail
/// JSON record per line, no secret; `--audit-retention-days`: a restart 91 days later deletes the
/// older records.
#[tokio::test]
async fn audit_log_sink_and_retention() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let log = tmp.path().join("audit.jsonl");
    let mut server = common::Server::start_in(&data, &["--audit-log", log.to_str().unwrap()]);
    let iam = server.root_iam();
    iam.create_user().user_name("sia").send().await.unwrap();
    let key = iam
        .create_access_key()
        .user_name("sia")
        .send()
        .await
        .unwrap();
    let secret = key.access_key().unwrap().secret_access_key().to_owned();
    server
        .root_sts()
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    let _ = iam.get_user().user_name("nobody").send().await.unwrap_err();
    assert!(server.stop().success());

    let text = std::fs::read_to_string(&log).unwrap();
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let names: Vec<&str> = records
        .iter()
        .filter_map(|r| r["eventName"].as_str())
        .collect();
    for expected in [
        "CreateUser",
        "CreateAccessKey",
        "GetCallerIdentity",
        "GetUser",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    assert!(records.iter().any(|r| r["errorCode"] == "NoSuchEntity"));
    assert!(
        !text.contains(&secret),
        "the secret key is never in the audit log"
    );

    // A restart with the clock 91 days on: the retention run at start removes every earlier record.
    let offset = (91 * 24 * 3600).to_string();
    let mut later = common::Server::start_in(&data, &["--clock-offset-secs", &offset]);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(later.stop().success());
    let store = keyward_store::SqliteStore::open(&data).await.unwrap();
    let mut tx = keyward_core::store::Store::begin(&store).await.unwrap();
    let left = keyward_core::store::Tx::list_audit_events(&mut tx, 100)
        .await
        .unwrap();
    assert!(left.is_empty(), "{} records survived retention", left.len());
}

/// `lookup-events --lookup-attributes AttributeKey=AccessKeyId,AttributeValue=KEY` as root until
/// at least `want` events are there (records of refused requests are group-committed, so one may
/// still be queued when the lookup runs); returns the events, newest first.
fn events_of_key(server: &Server, home: &std::path::Path, key: &str, want: usize) -> Vec<Value> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let out = aws(
            server,
            home,
            &server.root_key_id,
            &server.root_secret,
            &[
                "cloudtrail",
                "lookup-events",
                "--lookup-attributes",
                &format!("AttributeKey=AccessKeyId,AttributeValue={key}"),
            ],
        );
        let events = out["Events"].as_array().unwrap().clone();
        if events.len() >= want || std::time::Instant::now() > deadline {
            return events;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

fn cloudtrail_event(e: &Value) -> Value {
    serde_json::from_str(e["CloudTrailEvent"].as_str().unwrap()).unwrap()
}

/// A request refused at authentication is recorded in the account of the key it presented — a
/// long-term key the store knows (wrong secret, inactive) or a session whose token opens — with
/// what is known: `accountId` and `accessKeyId`, and nothing that would say someone was
/// authenticated (no `type`, `arn`, `principalId`, `userName`). A key nobody owns, or a session
/// token that does not open, stays account-less: in the JSON-lines sink, not in any `LookupEvents`.
/// Neither the secret nor the signature is in any record.
#[tokio::test]
async fn refused_authentication_is_recorded_in_the_keys_account() {
    if aws_cli().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("audit.jsonl");
    let mut server = Server::start_in(
        &tmp.path().join("data"),
        &["--audit-log", log.to_str().unwrap()],
    );
    let acct = server.account_id.clone();
    let home = tempfile::tempdir().unwrap();
    let (bob_key, bob_secret) = server.new_user_with_key("bob").await;
    let (carol_key, carol_secret) = server.new_user_with_key("carol").await;
    let wrong_secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYWRONGSECRET";

    // A real key with the wrong secret (header-signed, then presigned in the query string).
    let err = server
        .iam(&bob_key, wrong_secret)
        .get_user()
        .send()
        .await
        .unwrap_err();
    assert_eq!(common::aws_error(&err).0, "SignatureDoesNotMatch");
    let host = server.addr.clone();
    let headers = [("host", host.as_str())];
    let secret = keyward_sigv4::SecretKey::new(wrong_secret);
    let query = keyward_sigv4::presign_query(
        &keyward_sigv4::RequestParts {
            method: "GET",
            path: "/",
            query: "Action=ListUsers&Version=2010-05-08",
            headers: &headers,
            body: b"",
        },
        &keyward_sigv4::SigningParams {
            access_key_id: &bob_key,
            secret: &secret,
            security_token: None,
            region: "us-east-1",
            service: "iam",
            time: time::OffsetDateTime::now_utc(),
        },
        300,
    );
    let signature = query.rsplit_once("X-Amz-Signature=").unwrap().1.to_owned();
    assert_eq!(signature.len(), 64);
    let (status, body) = server.get(&format!("/?{query}"));
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("SignatureDoesNotMatch"), "{body}");

    // An inactive key, signed correctly.
    let root = server.root_iam();
    root.update_access_key()
        .user_name("carol")
        .access_key_id(&carol_key)
        .status(aws_sdk_iam::types::StatusType::Inactive)
        .send()
        .await
        .unwrap();
    let err = server
        .sts(&carol_key, &carol_secret)
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();
    assert_eq!(common::aws_error(&err).0, "InvalidClientTokenId");

    // A session: the wrong secret with a token that opens, and the right secret with a token
    // that does not.
    let c = server
        .sts(&bob_key, &bob_secret)
        .get_session_token()
        .send()
        .await
        .unwrap()
        .credentials
        .unwrap();
    let session_sts = |secret: &str, token: &str| {
        let t = (
            c.access_key_id().to_owned(),
            secret.to_owned(),
            token.to_owned(),
        );
        common::sts_with(&server, &t, None)
    };
    let err = session_sts(wrong_secret, c.session_token())
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();
    assert_eq!(common::aws_error(&err).0, "SignatureDoesNotMatch");
    let mut altered = c.session_token().to_owned();
    altered.replace_range(10..11, if &altered[10..11] == "A" { "B" } else { "A" });
    let err = session_sts(c.secret_access_key(), &altered)
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();
    assert_eq!(common::aws_error(&err).0, "InvalidClientTokenId");

    // A key nobody owns.
    let unknown = "AKIAIOSFODNN7EXAMPLE";
    let err = server
        .iam(unknown, wrong_secret)
        .list_users()
        .send()
        .await
        .unwrap_err();
    assert_eq!(common::aws_error(&err).0, "InvalidClientTokenId");

    // LookupEvents of the account, by access key ID.
    let only_known_fields = |r: &Value, key: &str| {
        assert_eq!(
            r["userIdentity"],
            serde_json::json!({ "accountId": acct, "accessKeyId": key }),
            "{r}"
        );
        assert_eq!(r["recipientAccountId"], acct.as_str());
        check_schema(r);
    };
    let bob = events_of_key(&server, home.path(), &bob_key, 3);
    // Sorted: the write's record and the group-committed ones need not commit in request order.
    let mut codes: Vec<(&str, &str)> = bob
        .iter()
        .map(|e| {
            (
                e["EventName"].as_str().unwrap(),
                e["CloudTrailEvent"].as_str().unwrap(),
            )
        })
        .map(|(name, r)| {
            let code = if r.contains("\"errorCode\":\"SignatureDoesNotMatch\"") {
                "SignatureDoesNotMatch"
            } else if r.contains("\"errorCode\"") {
                "other error"
            } else {
                "OK"
            };
            (name, code)
        })
        .collect();
    codes.sort_unstable();
    assert_eq!(
        codes,
        [
            ("GetSessionToken", "OK"),
            ("GetUser", "SignatureDoesNotMatch"),
            ("ListUsers", "SignatureDoesNotMatch"),
        ]
    );
    for e in bob.iter().filter(|e| e["EventName"] != "GetSessionToken") {
        assert_eq!(e["AccessKeyId"], bob_key.as_str());
        assert!(e.get("Username").is_none(), "{e}");
        let r = cloudtrail_event(e);
        only_known_fields(&r, &bob_key);
        assert!(r["errorMessage"].as_str().unwrap().contains("signature"));
    }

    let carol = events_of_key(&server, home.path(), &carol_key, 1);
    assert_eq!(carol.len(), 1, "{carol:?}");
    assert_eq!(carol[0]["EventName"], "GetCallerIdentity");
    assert_eq!(carol[0]["EventSource"], "sts.amazonaws.com");
    let r = cloudtrail_event(&carol[0]);
    assert_eq!(r["errorCode"], "InvalidClientTokenId");
    only_known_fields(&r, &carol_key);

    // The session's key: the wrong secret is in the account; the token that did not open is not.
    let session = events_of_key(&server, home.path(), c.access_key_id(), 1);
    assert_eq!(session.len(), 1, "{session:?}");
    let r = cloudtrail_event(&session[0]);
    assert_eq!(r["errorCode"], "SignatureDoesNotMatch");
    only_known_fields(&r, c.access_key_id());

    assert!(events_of_key(&server, home.path(), unknown, 1).is_empty());
    assert!(server.stop().success());

    // The sink has every refusal, the account-less ones included.
    let text = std::fs::read_to_string(&log).unwrap();
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let refused = |key: &str| -> Vec<&Value> {
        records
            .iter()
            .filter(|r| r["userIdentity"]["accessKeyId"] == key && r["errorCode"].is_string())
            .collect()
    };
    let unknown_records = refused(unknown);
    assert_eq!(unknown_records.len(), 1);
    assert_eq!(unknown_records[0]["errorCode"], "InvalidClientTokenId");
    assert_eq!(
        unknown_records[0]["userIdentity"],
        serde_json::json!({ "accessKeyId": unknown })
    );
    let session_records = refused(c.access_key_id());
    assert_eq!(session_records.len(), 2);
    assert!(session_records.iter().any(|r| {
        r["errorCode"] == "InvalidClientTokenId" && r["userIdentity"].get("accountId").is_none()
    }));
    for secret_value in [
        wrong_secret,
        bob_secret.as_str(),
        carol_secret.as_str(),
        c.secret_access_key(),
        c.session_token(),
        altered.as_str(),
        signature.as_str(),
    ] {
        assert!(!text.contains(secret_value), "a secret in the audit log");
    }
}

/// `--bench-without-audit` (the audit benchmark's baseline) writes no record at all — changes,
/// reads and refusals alike, neither in the store nor in the sink — while the requests themselves
/// behave as usual.
#[tokio::test]
async fn bench_without_audit_records_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("audit.jsonl");
    let data = tmp.path().join("data");
    let mut server = Server::start_in(
        &data,
        &[
            "--bench-without-audit",
            "--audit-log",
            log.to_str().unwrap(),
        ],
    );
    let iam = server.root_iam();
    iam.create_user().user_name("ann").send().await.unwrap();
    iam.get_user().user_name("ann").send().await.unwrap();
    iam.delete_user().user_name("ann").send().await.unwrap();
    server
        .root_sts()
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert!(
        server
            .iam(&server.root_key_id, "wrong")
            .list_users()
            .send()
            .await
            .is_err()
    );
    assert!(iam.get_user().user_name("ann").send().await.is_err());
    assert!(server.stop().success());
    assert_eq!(trail(&data).await, Vec::<Value>::new());
    assert_eq!(std::fs::read_to_string(&log).unwrap_or_default(), "");
}

/// A request signed with temporary credentials records its session as CloudTrail does:
/// `sessionContext.sessionIssuer` (the role of a role session; none for `GetSessionToken`),
/// `attributes` (`mfaAuthenticated`, `creationDate`) and `sourceIdentity`. A long-term key's
/// request has no `sessionContext`. The doctor reads `mfaAuthenticated` to tell why an
/// MFA-conditioned request was refused.
#[tokio::test]
async fn session_requests_record_their_session_context() {
    let mut server = Server::start();
    let acct = server.account_id.clone();
    let (key, secret) = server.new_user_with_key("carol").await;
    let (serial, seed, step) = common::enable_mfa(&server.root_iam(), "carol").await;
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow",
            "Principal":{{"AWS":"arn:aws:iam::{acct}:user/carol"}},
            "Action":["sts:AssumeRole","sts:SetSourceIdentity"]}}]}}"#
    );
    let role = server
        .root_iam()
        .create_role()
        .role_name("auditor")
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    let sts = server.sts(&key, &secret);
    let assumed = sts
        .assume_role()
        .role_arn(role.arn())
        .role_session_name("audit-1")
        .source_identity("carol-laptop")
        .serial_number(&serial)
        .token_code(common::totp_code(&seed, step + 1))
        .send()
        .await
        .unwrap();
    let role_session = common::temp(assumed.credentials().unwrap());
    common::sts_with(&server, &role_session, None)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    let plain = sts.get_session_token().send().await.unwrap();
    let user_session = common::temp(plain.credentials().unwrap());
    common::sts_with(&server, &user_session, None)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    sts.get_caller_identity().send().await.unwrap();
    assert!(server.stop().success());

    let records = trail(&server.dir).await;
    let calls: Vec<&Value> = records
        .iter()
        .filter(|r| r["eventName"] == "GetCallerIdentity")
        .collect();
    assert_eq!(calls.len(), 3);
    let by_key = |id: &str| {
        calls
            .iter()
            .find(|r| r["userIdentity"]["accessKeyId"] == id)
            .copied()
            .unwrap()
    };

    let as_role = &by_key(&role_session.0)["userIdentity"];
    assert_eq!(as_role["type"], "AssumedRole");
    assert_eq!(
        as_role["arn"],
        format!("arn:aws:sts::{acct}:assumed-role/auditor/audit-1")
    );
    let context = &as_role["sessionContext"];
    assert_eq!(
        context["sessionIssuer"],
        serde_json::json!({
            "type": "Role",
            "principalId": role.role_id(),
            "arn": role.arn(),
            "accountId": acct,
            "userName": "auditor",
        })
    );
    assert_eq!(context["attributes"]["mfaAuthenticated"], "true");
    assert_eq!(context["sourceIdentity"], "carol-laptop");
    let created = context["attributes"]["creationDate"].as_str().unwrap();
    assert!(
        time::OffsetDateTime::parse(created, &time::format_description::well_known::Rfc3339)
            .is_ok(),
        "{created}"
    );

    let as_user_session = &by_key(&user_session.0)["userIdentity"];
    assert_eq!(as_user_session["type"], "IAMUser");
    assert_eq!(as_user_session["userName"], "carol");
    let context = as_user_session["sessionContext"].as_object().unwrap();
    assert_eq!(
        context.keys().collect::<Vec<_>>(),
        ["attributes"],
        "no issuer, no source identity"
    );
    assert_eq!(context["attributes"]["mfaAuthenticated"], "false");

    let long_term = &by_key(&key)["userIdentity"];
    assert!(long_term.get("sessionContext").is_none(), "{long_term}");
}

/// The server's peak resident memory (`VmHWM`), in kB; `None` where `/proc` does not say.
fn peak_rss_kb(server: &Server) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.pid()?)).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Unsigned requests whose parameter names ask for much (a list index of five million or a
/// billion, a name of 100,000 segments) are refused as any unsigned request is: their audit
/// record is built before authentication, and takes memory and stack after what was sent.
#[tokio::test]
async fn unsigned_requests_with_far_list_indices_or_deep_names_are_refused_cheaply() {
    let mut server = Server::start();
    let host = server.addr.clone();
    let get = |query: &str| {
        let started = std::time::Instant::now();
        let (status, body) = server.get(&format!("/?{query}"));
        (status, body, started.elapsed())
    };
    // Warm up (the first request's allocations are not the defect's).
    let (status, body, _) = get("Action=GetCallerIdentity&Version=2011-06-15&A.member.1=x");
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("MissingAuthenticationToken"), "{body}");
    let before = peak_rss_kb(&server);

    for index in ["5000000", "1000000000", "18446744073709551616"] {
        let query = format!("Action=GetCallerIdentity&Version=2011-06-15&A.member.{index}=x");
        let (status, body, took) = get(&query);
        assert_eq!(status, 403, "{body}");
        assert!(body.contains("MissingAuthenticationToken"), "{body}");
        assert!(
            took < std::time::Duration::from_secs(2),
            "{index}: {took:?}"
        );
    }
    let deep = "a.".repeat(100_000) + "b=x";
    let body = format!("Action=GetCallerIdentity&Version=2011-06-15&{deep}");
    let (status, reply) = server.raw(&format!(
        "POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    assert_eq!(status, 403, "{reply}");
    assert!(reply.contains("MissingAuthenticationToken"), "{reply}");

    // Signed, a far index of a real list member is AWS's ValidationError.
    let headers = [("host", host.as_str())];
    let secret = keyward_sigv4::SecretKey::new(&server.root_secret);
    for (query, field) in [
        (
            "Action=UntagUser&Version=2010-05-08&UserName=bob&TagKeys.member.1000000000=k",
            "tagKeys",
        ),
        (
            "Action=TagUser&Version=2010-05-08&UserName=bob&Tags.member.5000000.Key=k",
            "tags",
        ),
    ] {
        let signed = keyward_sigv4::presign_query(
            &keyward_sigv4::RequestParts {
                method: "GET",
                path: "/",
                query,
                headers: &headers,
                body: b"",
            },
            &keyward_sigv4::SigningParams {
                access_key_id: &server.root_key_id,
                secret: &secret,
                security_token: None,
                region: "us-east-1",
                service: "iam",
                time: time::OffsetDateTime::now_utc(),
            },
            300,
        );
        let (status, body, _) = get(&signed);
        assert_eq!(status, 400, "{body}");
        assert!(body.contains("<Code>ValidationError</Code>"), "{body}");
        assert!(body.contains(&format!("at '{field}'")), "{body}");
    }

    // Still up, and no larger than a few requests make it (the first far index took 156 MB).
    let (status, _, _) = get("Action=GetCallerIdentity&Version=2011-06-15");
    assert_eq!(status, 403);
    if let (Some(before), Some(after)) = (before, peak_rss_kb(&server)) {
        assert!(
            after < before + 20 * 1024,
            "peak RSS {before} kB -> {after} kB"
        );
    }
    assert!(server.stop().success());

    // Each was recorded as a refused request is: a summary without its parameters (how a
    // far index or a deep name would be kept is the unit tests' of `request_parameters`).
    let records = trail(&server.dir).await;
    let refused: Vec<&Value> = records
        .iter()
        .filter(|r| r["errorCode"] == "MissingAuthenticationToken")
        .collect();
    assert_eq!(refused.len(), 6);
    for r in &refused {
        assert_eq!(r["requestParameters"], Value::Null, "{r}");
        assert!(r.to_string().len() < 2048, "{r}");
    }
}

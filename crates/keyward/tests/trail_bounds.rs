//! What one request can put in the trail is bounded, as CloudTrail bounds it: a refused request
//! leaves a small fixed summary whatever it sent, an oversized `requestParameters` is
//! `{"omitted": true}`, a `LookupEvents` page is bounded in bytes, and `--audit-reads` chooses
//! which records of reads are kept.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Server, trail};
use serde_json::{Value, json};

/// The bytes of the data folder's files.
fn folder_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum()
}

/// 1 MB requests refused at authentication (unsigned, or signed with a real key and the wrong
/// secret, with a 50 kB user agent) each leave a record of about half a kilobyte: no parameters,
/// no resources, the user agent cut. Before, each was stored whole (~1 MB, kept 90 days).
#[tokio::test]
async fn refused_requests_leave_a_small_fixed_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut server = Server::start_in(&dir, &[]);
    let (bob_key, _) = server.new_user_with_key("bob").await;
    assert!(server.stop().success());
    let before = folder_bytes(&dir);
    let records_before = trail(&dir).await.len();

    let mut server = Server::start_in(&dir, &[]);
    let host = server.addr.clone();
    let junk = "x".repeat(1_000_000);
    let body =
        format!("Action=GetCallerIdentity&Version=2011-06-15&UserName=bob&Junk.member.1={junk}");
    let agent = "a".repeat(50_000);
    const EACH: usize = 10;
    for _ in 0..EACH {
        let (status, reply) = server.raw(&format!(
            "POST / HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {agent}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ));
        assert_eq!(status, 403, "{reply}");
        assert!(reply.contains("MissingAuthenticationToken"), "{reply}");
        let (status, reply) = server.signed_post(
            "sts",
            &bob_key,
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYWRONGSECRET",
            &[("user-agent", &agent)],
            &body,
        );
        assert_eq!(status, 403, "{reply}");
        assert!(reply.contains("SignatureDoesNotMatch"), "{reply}");
    }
    assert!(server.stop().success());

    let records = trail(&dir).await;
    let refused = &records[records_before..];
    assert_eq!(refused.len(), 2 * EACH, "{refused:?}");
    for r in refused {
        let size = r.to_string().len();
        assert!(size < 2048, "a refused record of {size} bytes: {r}");
        assert_eq!(r["requestParameters"], Value::Null, "{r}");
        assert!(r.get("resources").is_none(), "{r}");
        let agent = r["userAgent"].as_str().unwrap();
        assert!(
            agent.len() <= keyward_core::audit::MAX_TEXT_BYTES,
            "{agent}"
        );
        assert!(agent.ends_with("..."), "{agent}");
        assert_eq!(r["eventName"], "GetCallerIdentity");
    }
    // The one with a real key is in its account, for its LookupEvents.
    let of_bob: Vec<_> = refused
        .iter()
        .filter(|r| r["userIdentity"]["accessKeyId"] == bob_key.as_str())
        .collect();
    assert_eq!(of_bob.len(), EACH);
    assert_eq!(of_bob[0]["errorCode"], "SignatureDoesNotMatch");
    assert_eq!(of_bob[0]["recipientAccountId"], server.account_id.as_str());

    let grown = folder_bytes(&dir).saturating_sub(before);
    eprintln!(
        "{} refused 1 MB requests grew the data folder by {grown} bytes ({} per request)",
        2 * EACH,
        grown / (2 * EACH) as u64
    );
    // Pages of 4 and 16 KiB: a few of them, against 20 MB before.
    assert!(grown < 512 * 1024, "the data folder grew by {grown} bytes");
}

/// A signed request's parameters are kept up to CloudTrail's 100 KB; beyond it they are
/// `{"omitted": true}` and the request itself is served as before.
#[tokio::test]
async fn oversized_request_parameters_are_omitted() {
    let mut server = Server::start();
    let (key, secret) = (server.root_key_id.clone(), server.root_secret.clone());
    for size in [50_000, 150_000] {
        let body = format!(
            "Action=GetCallerIdentity&Version=2011-06-15&Junk={}",
            "y".repeat(size)
        );
        let (status, reply) = server.signed_post("sts", &key, &secret, &[], &body);
        assert_eq!(status, 200, "{reply}");
    }
    assert!(server.stop().success());
    let records = trail(&server.dir).await;
    let calls: Vec<&Value> = records
        .iter()
        .filter(|r| r["eventName"] == "GetCallerIdentity")
        .collect();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        calls[0]["requestParameters"]["junk"]
            .as_str()
            .unwrap()
            .len(),
        50_000
    );
    assert_eq!(calls[1]["requestParameters"], json!({ "omitted": true }));
}

/// `LookupEvents` stops a page once it holds 1 MiB of records, whatever `MaxResults` says, and
/// the next page goes on from there: every record is still reached.
#[tokio::test]
async fn lookup_events_pages_are_bounded_in_bytes() {
    let server = Server::start();
    let (key, secret) = (server.root_key_id.clone(), server.root_secret.clone());
    const CALLS: usize = 15;
    for _ in 0..CALLS {
        let body = format!(
            "Action=GetCallerIdentity&Version=2011-06-15&Junk={}",
            "z".repeat(90_000)
        );
        let (status, reply) = server.signed_post("sts", &key, &secret, &[], &body);
        assert_eq!(status, 200, "{reply}");
    }
    let mut token: Option<String> = None;
    let mut pages = Vec::new();
    let mut found = 0;
    loop {
        let mut query = json!({
            "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "GetCallerIdentity"}],
            "MaxResults": 50,
        });
        if let Some(t) = &token {
            query["NextToken"] = json!(t);
        }
        let (status, reply) = server.signed_post(
            "cloudtrail",
            &key,
            &secret,
            &[(
                "x-amz-target",
                "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents",
            )],
            &query.to_string(),
        );
        assert_eq!(status, 200, "{reply}");
        pages.push(reply.len());
        let page: Value = serde_json::from_str(&reply).unwrap();
        found += page["Events"].as_array().unwrap().len();
        match page["NextToken"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
        assert!(pages.len() <= CALLS, "pages never end: {pages:?}");
    }
    assert_eq!(found, CALLS, "pages {pages:?}");
    assert!(pages.len() >= 2, "one page held every record: {pages:?}");
    for bytes in &pages {
        // 1 MiB of records plus one, as JSON strings (escaped quotes).
        assert!(*bytes < 1_400_000, "a page of {bytes} bytes: {pages:?}");
    }
}

/// `--audit-reads refused` keeps the records of writes and of refused reads only; `none` keeps
/// the writes alone.
#[tokio::test]
async fn audit_reads_chooses_the_records_of_reads() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    for (reads, refused_kept) in [("refused", true), ("none", false)] {
        let mut server = Server::start_in(&dir, &["--audit-reads", reads]);
        let before = trail(&dir).await.len();
        let user = format!("user-{reads}");
        let (key, secret) = server.new_user_with_key(&user).await;
        server
            .root_sts()
            .get_caller_identity()
            .send()
            .await
            .unwrap();
        // A read the user is not allowed.
        let err = server
            .iam(&key, &secret)
            .list_users()
            .send()
            .await
            .unwrap_err();
        assert_eq!(common::aws_error(&err).0, "AccessDenied");
        assert!(server.stop().success());

        let names: Vec<String> = trail(&dir).await[before..]
            .iter()
            .map(|r| {
                format!(
                    "{}:{}",
                    r["eventName"].as_str().unwrap(),
                    r["errorCode"].as_str().unwrap_or("OK")
                )
            })
            .collect();
        let mut want = vec!["CreateUser:OK", "CreateAccessKey:OK"];
        if refused_kept {
            want.push("ListUsers:AccessDenied");
        }
        assert_eq!(names, want, "--audit-reads {reads}");
    }
}

/// `--audit-max-bytes` keeps the trail within the cap, oldest records deleted first, counted in
/// `keyward_audit_records_trimmed_total` and alerted on as `AuditTrailCapReached`.
#[tokio::test]
async fn a_size_cap_deletes_the_oldest_records() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let mut server = Server::start_in(
        &dir,
        &["--audit-max-bytes", "20000", "--audit-cap-check-secs", "1"],
    );
    let sts = server.root_sts();
    for _ in 0..200 {
        sts.get_caller_identity().send().await.unwrap();
    }
    let get = |path: &str| server.get(path).1;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let trimmed = loop {
        let metrics = get("/metrics");
        let n: u64 = metrics
            .lines()
            .find_map(|l| l.strip_prefix("keyward_audit_records_trimmed_total "))
            .unwrap()
            .parse()
            .unwrap();
        if n > 0 || std::time::Instant::now() > deadline {
            break n;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert!(trimmed > 0);
    let alarms: Value = serde_json::from_str(&get("/alarms")).unwrap();
    let alert = alarms["History"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["AlarmName"] == "AuditTrailCapReached")
        .unwrap_or_else(|| panic!("{alarms}"));
    assert!(alert["Deleted"].as_u64().unwrap() > 0, "{alert}");
    // The newest records are what is left.
    let last = sts.get_caller_identity().send().await.unwrap();
    assert!(last.account().is_some());
    // The first trim may have run while the requests were still coming: two more checks (one a
    // second) bring the trail under the cap again.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert!(server.stop().success());
    let records = trail(&dir).await;
    assert!(records.len() < 150, "{} records left of 203", records.len());
    assert_eq!(records.last().unwrap()["eventName"], "GetCallerIdentity");
}

//! The credential report (issue 18, item 1) through aws-sdk-iam and the aws CLI: generation and
//! its reuse, retrieval, and the CSV's columns and values as the IAM User Guide documents them
//! ("Getting credential reports for your AWS account").
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;

use aws_sdk_iam::types::{ReportFormatType, ReportStateType, StatusType};
use common::{Aws, Server, aws_cli, aws_error, enable_mfa, trail};
use keyward_core::ops::Password;
use keyward_core::signin::{SignInAttempt, SignInConfig, SignInResult, sign_in};
use keyward_core::store::{Store, Tx};
use keyward_store::SqliteStore;
use time::OffsetDateTime;

const HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,\
password_last_changed,password_next_rotation,mfa_active,access_key_1_active,\
access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,\
access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,\
access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,\
cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

/// A time as the report writes it (`2024-01-02T03:04:05+00:00`), from an SDK timestamp: the
/// XML timestamp with its `Z` spelled as an offset.
fn report_time(t: &aws_sdk_iam::primitives::DateTime) -> String {
    let t = OffsetDateTime::from_unix_timestamp(t.secs()).unwrap();
    keyward_core::clock::iso8601(t).replace('Z', "+00:00")
}

/// The report's rows (after the header) as column name → value maps, in order.
fn rows(csv: &str) -> Vec<HashMap<String, String>> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    lines
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            assert_eq!(cells.len(), header.len(), "row {l}");
            header
                .iter()
                .zip(cells)
                .map(|(h, c)| ((*h).to_owned(), c.to_owned()))
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn credential_report_generation_retrieval_and_values() {
    let mut server = Server::start();
    let iam = server.root_iam();

    // No report before the first generation: ReportNotPresent (410), without a message.
    let err = iam.get_credential_report().send().await.unwrap_err();
    assert_eq!(
        aws_error(&err),
        ("ReportNotPresent".into(), String::new(), 410)
    );

    // dana: a password (under a 90-day MaxPasswordAge), MFA, two keys, the first used, the
    // second deactivated.
    iam.update_account_password_policy()
        .max_password_age(90)
        .send()
        .await
        .unwrap();
    let (dana_key, dana_secret) = server.new_user_with_key("dana").await;
    let profile = iam
        .create_login_profile()
        .user_name("dana")
        .password("Corr3ct-Horse")
        .send()
        .await
        .unwrap()
        .login_profile
        .unwrap();
    enable_mfa(&iam, "dana").await;
    let second = iam
        .create_access_key()
        .user_name("dana")
        .send()
        .await
        .unwrap()
        .access_key
        .unwrap();
    iam.update_access_key()
        .user_name("dana")
        .access_key_id(&second.access_key_id)
        .status(StatusType::Inactive)
        .send()
        .await
        .unwrap();
    server
        .sts(&dana_key, &dana_secret)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    let used = iam
        .get_access_key_last_used()
        .access_key_id(&dana_key)
        .send()
        .await
        .unwrap()
        .access_key_last_used
        .unwrap();
    let used_date = used.last_used_date().expect("the key's use is recorded");
    // erin: nothing but the user.
    iam.create_user().user_name("erin").send().await.unwrap();
    // gus: a password used to sign in to the console.
    iam.create_user().user_name("gus").send().await.unwrap();
    iam.create_login_profile()
        .user_name("gus")
        .password("Gus-Pass-123")
        .send()
        .await
        .unwrap();
    let store = SqliteStore::open(&server.dir).await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let password = Password::new("Gus-Pass-123");
    let attempt = SignInAttempt {
        account: &server.account_id,
        user_name: "gus",
        password: &password,
        source_ip: "127.0.0.1",
        user_agent: Some("test"),
    };
    let now = OffsetDateTime::now_utc();
    let signed_in = sign_in(&mut tx, "aws", &attempt, now, &SignInConfig::default())
        .await
        .unwrap();
    assert!(matches!(signed_in, SignInResult::Success { .. }));
    tx.commit().await.unwrap();

    // The first call generates the report; the next reuses it (younger than four hours).
    let started = iam.generate_credential_report().send().await.unwrap();
    assert_eq!(started.state(), Some(&ReportStateType::Started));
    assert_eq!(
        started.description(),
        Some("No report exists. Starting a new report generation task")
    );
    let again = iam.generate_credential_report().send().await.unwrap();
    assert_eq!(again.state(), Some(&ReportStateType::Complete));
    assert_eq!(again.description(), None);

    let report = iam.get_credential_report().send().await.unwrap();
    assert_eq!(report.report_format(), Some(&ReportFormatType::TextCsv));
    let generated = report.generated_time().unwrap().secs();
    assert!((generated - common::now_secs()).abs() < 60);
    let csv = String::from_utf8(report.content().unwrap().as_ref().to_vec()).unwrap();
    assert_eq!(csv.lines().next(), Some(HEADER));
    let rows = rows(&csv);
    let names: Vec<&str> = rows.iter().map(|r| r["user"].as_str()).collect();
    assert_eq!(names, ["<root_account>", "dana", "erin", "gus"]);

    // The root user's row: its own ARN, no password columns, its bootstrap key.
    let root = &rows[0];
    assert_eq!(
        root["arn"],
        format!("arn:aws:iam::{}:root", server.account_id)
    );
    assert_eq!(root["password_enabled"], "not_supported");
    assert_eq!(root["password_last_used"], "no_information");
    assert_eq!(root["password_last_changed"], "not_supported");
    assert_eq!(root["password_next_rotation"], "not_supported");
    assert_eq!(root["mfa_active"], "false");
    assert_eq!(root["access_key_1_active"], "true");
    assert_eq!(root["access_key_2_active"], "false");
    assert_eq!(root["access_key_2_last_rotated"], "N/A");

    let users = iam.list_users().send().await.unwrap();
    let user = |name: &str| {
        users
            .users()
            .iter()
            .find(|u| u.user_name() == name)
            .unwrap()
            .clone()
    };
    let keys = iam
        .list_access_keys()
        .user_name("dana")
        .send()
        .await
        .unwrap();
    let created = |id: &str| {
        keys.access_key_metadata()
            .iter()
            .find(|k| k.access_key_id() == Some(id))
            .unwrap()
            .create_date()
            .map(report_time)
            .unwrap()
    };

    let dana = &rows[1];
    let d = user("dana");
    let changed = OffsetDateTime::from_unix_timestamp(profile.create_date().secs()).unwrap();
    let next = aws_sdk_iam::primitives::DateTime::from_secs(
        (changed + time::Duration::days(90)).unix_timestamp(),
    );
    let expected = [
        ("arn", d.arn().to_owned()),
        ("user_creation_time", report_time(d.create_date())),
        ("password_enabled", "true".into()),
        ("password_last_used", "no_information".into()),
        ("password_last_changed", report_time(profile.create_date())),
        ("password_next_rotation", report_time(&next)),
        ("mfa_active", "true".into()),
        ("access_key_1_active", "true".into()),
        ("access_key_1_last_rotated", created(&dana_key)),
        ("access_key_1_last_used_date", report_time(used_date)),
        ("access_key_1_last_used_region", "us-east-1".into()),
        ("access_key_1_last_used_service", "sts".into()),
        ("access_key_2_active", "false".into()),
        ("access_key_2_last_rotated", created(&second.access_key_id)),
        ("access_key_2_last_used_date", "N/A".into()),
        ("access_key_2_last_used_region", "N/A".into()),
        ("access_key_2_last_used_service", "N/A".into()),
        ("cert_1_active", "false".into()),
        ("cert_1_last_rotated", "N/A".into()),
        ("cert_2_active", "false".into()),
        ("cert_2_last_rotated", "N/A".into()),
    ];
    for (column, value) in &expected {
        assert_eq!(&dana[*column], value, "dana's {column}");
    }
    assert_eq!(used.region(), "us-east-1");
    assert_eq!(used.service_name(), "sts");

    let erin = &rows[2];
    let e = user("erin");
    assert_eq!(erin["arn"], e.arn());
    assert_eq!(erin["user_creation_time"], report_time(e.create_date()));
    assert_eq!(erin["password_enabled"], "false");
    for column in [
        "password_last_used",
        "password_last_changed",
        "password_next_rotation",
    ] {
        assert_eq!(erin[column], "N/A", "erin's {column}");
    }
    assert_eq!(erin["mfa_active"], "false");
    for slot in [1, 2] {
        assert_eq!(erin[&format!("access_key_{slot}_active")], "false");
        for c in [
            "last_rotated",
            "last_used_date",
            "last_used_region",
            "last_used_service",
        ] {
            assert_eq!(
                erin[&format!("access_key_{slot}_{c}")],
                "N/A",
                "erin's key {slot} {c}"
            );
        }
    }

    let gus = &rows[3];
    let g = user("gus");
    assert_eq!(gus["password_enabled"], "true");
    let last_sign_in = g.password_last_used().expect("the sign-in is recorded");
    assert_eq!(gus["password_last_used"], report_time(last_sign_in));
    assert_eq!(gus["mfa_active"], "false");

    // A user made after the report is not in it: the reused report is not regenerated.
    iam.create_user().user_name("fay").send().await.unwrap();
    let complete = iam.generate_credential_report().send().await.unwrap();
    assert_eq!(complete.state(), Some(&ReportStateType::Complete));
    let same = iam.get_credential_report().send().await.unwrap();
    assert_eq!(same.content(), report.content());

    // A user without the permissions is refused both.
    let denied = server.iam(&dana_key, &dana_secret);
    let err = denied
        .generate_credential_report()
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err).0, "AccessDenied");
    let err = denied.get_credential_report().send().await.unwrap_err();
    assert_eq!(aws_error(&err).0, "AccessDenied");

    // The aws CLI prints the content Base64-encoded, as it does for every blob.
    if let Some(exe) = aws_cli() {
        let aws = Aws {
            exe,
            endpoint: server.endpoint(),
            home: tempfile::tempdir().unwrap(),
        };
        let (ok, out, err) = aws.run(
            &server.root_key_id,
            &server.root_secret,
            &[
                "iam",
                "get-credential-report",
                "--output",
                "text",
                "--query",
                "Content",
            ],
        );
        assert!(ok, "{err}");
        let decoded = data_encoding::BASE64.decode(out.trim().as_bytes()).unwrap();
        assert_eq!(decoded, csv.as_bytes());
    }

    // Audited like every operation: generating is a change event, getting a read, and the
    // refusals are recorded too.
    assert!(server.stop().success());
    let records = trail(&server.dir).await;
    let of = |name: &str| -> Vec<(bool, Option<String>)> {
        records
            .iter()
            .filter(|r| r["eventName"] == name)
            .map(|r| {
                (
                    r["readOnly"].as_bool().unwrap(),
                    r["errorCode"].as_str().map(str::to_owned),
                )
            })
            .collect()
    };
    let denied = Some("AccessDenied".to_owned());
    assert_eq!(
        of("GenerateCredentialReport"),
        [
            (false, None),
            (false, None),
            (false, None),
            (false, denied.clone())
        ]
    );
    let get = of("GetCredentialReport");
    assert_eq!(
        get.first(),
        Some(&(true, Some("ReportNotPresent".to_owned())))
    );
    assert!(get.contains(&(true, denied)));
    assert!(get.iter().filter(|(_, e)| e.is_none()).count() >= 2);
}

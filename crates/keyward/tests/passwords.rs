//! Console passwords, the account password policy, account aliases, access-key last use and
//! console sign-in (scenarios S6, S7, S9, S19), through aws-sdk-iam and the core sign-in primitive.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Server, aws_error, totp_code};
use keyward_core::ops::Password;
use keyward_core::signin::{SignInAttempt, SignInConfig, SignInResult, sign_in};
use keyward_core::store::{Store, Tx};
use keyward_store::SqliteStore;
use time::OffsetDateTime;

const VIOLATION: (&str, &str, u16) = (
    "PasswordPolicyViolation",
    "Password does not conform to the account password policy.",
    400,
);

fn err3(e: (String, String, u16)) -> (String, String, u16) {
    e
}

fn violation() -> (String, String, u16) {
    (VIOLATION.0.into(), VIOLATION.1.into(), VIOLATION.2)
}

#[tokio::test]
async fn login_profiles_and_the_default_password_policy() {
    let server = Server::start();
    let iam = server.root_iam();
    iam.create_user().user_name("lena").send().await.unwrap();

    // Without a custom policy, AWS's default applies: 8 characters, three of four classes.
    let err = iam
        .create_login_profile()
        .user_name("lena")
        .password("short1A")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err3(aws_error(&err)), violation());
    let err = iam
        .create_login_profile()
        .user_name("lena")
        .password("alllowercase1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err3(aws_error(&err)), violation());

    let created = iam
        .create_login_profile()
        .user_name("lena")
        .password("Corr3ct-Horse")
        .password_reset_required(true)
        .send()
        .await
        .unwrap();
    let p = created.login_profile().unwrap();
    assert_eq!(p.user_name(), "lena");
    assert!(p.password_reset_required());
    let err = iam
        .create_login_profile()
        .user_name("lena")
        .password("Corr3ct-Horse2")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "EntityAlreadyExists".into(),
            "Login Profile for user lena already exists.".into(),
            409
        )
    );
    let got = iam
        .get_login_profile()
        .user_name("lena")
        .send()
        .await
        .unwrap();
    assert!(got.login_profile().unwrap().password_reset_required());
    iam.update_login_profile()
        .user_name("lena")
        .password_reset_required(false)
        .send()
        .await
        .unwrap();
    let got = iam
        .get_login_profile()
        .user_name("lena")
        .send()
        .await
        .unwrap();
    assert!(!got.login_profile().unwrap().password_reset_required());

    let err = iam
        .delete_user()
        .user_name("lena")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err).1,
        "Cannot delete entity, must delete login profile first."
    );
    iam.delete_login_profile()
        .user_name("lena")
        .send()
        .await
        .unwrap();
    let err = iam
        .get_login_profile()
        .user_name("lena")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "NoSuchEntity".into(),
            "Login Profile for User lena cannot be found.".into(),
            404
        )
    );
    iam.delete_user().user_name("lena").send().await.unwrap();
}

#[tokio::test]
async fn account_password_policy_is_replaced_whole_and_enforced() {
    let server = Server::start();
    let iam = server.root_iam();
    let acct = &server.account_id;
    let err = iam.get_account_password_policy().send().await.unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "NoSuchEntity".into(),
            format!("The Password Policy with domain name {acct} cannot be found."),
            404
        )
    );
    iam.update_account_password_policy()
        .minimum_password_length(12)
        .require_symbols(true)
        .require_numbers(true)
        .allow_users_to_change_password(true)
        .max_password_age(90)
        .password_reuse_prevention(3)
        .send()
        .await
        .unwrap();
    let p = iam.get_account_password_policy().send().await.unwrap();
    let p = p.password_policy().unwrap();
    assert_eq!(p.minimum_password_length(), Some(12));
    assert!(p.require_symbols() && p.require_numbers() && !p.require_uppercase_characters());
    assert!(p.expire_passwords());
    assert_eq!(p.max_password_age(), Some(90));
    assert_eq!(p.password_reuse_prevention(), Some(3));

    let err = iam
        .update_account_password_policy()
        .minimum_password_length(5)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err).1,
        "1 validation error detected: Value 5 at 'minimumPasswordLength' failed to satisfy constraint: Member must have value greater than or equal to 6"
    );

    // Enforced on passwords; ChangePassword needs no policy when users may change their own.
    iam.create_user().user_name("omar").send().await.unwrap();
    let err = iam
        .create_login_profile()
        .user_name("omar")
        .password("Sh0rt!")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err3(aws_error(&err)), violation());
    iam.create_login_profile()
        .user_name("omar")
        .password("first-password-1")
        .send()
        .await
        .unwrap();
    let key = iam
        .create_access_key()
        .user_name("omar")
        .send()
        .await
        .unwrap();
    let key = key.access_key().unwrap();
    let omar = server.iam(key.access_key_id(), key.secret_access_key());
    let err = omar
        .change_password()
        .old_password("wrong-password-1")
        .new_password("second-password-2")
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err).0, "AccessDenied");
    omar.change_password()
        .old_password("first-password-1")
        .new_password("second-password-2")
        .send()
        .await
        .unwrap();
    // Reuse prevention remembers the last 3.
    let err = omar
        .change_password()
        .old_password("second-password-2")
        .new_password("first-password-1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err3(aws_error(&err)), violation());
    let err = server
        .root_iam()
        .change_password()
        .old_password("x")
        .new_password("y")
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err).0, "InvalidUserType");

    // No partial update: omitted parameters return to their defaults.
    iam.update_account_password_policy()
        .minimum_password_length(8)
        .send()
        .await
        .unwrap();
    let p = iam.get_account_password_policy().send().await.unwrap();
    let p = p.password_policy().unwrap();
    assert!(!p.require_symbols() && !p.allow_users_to_change_password() && !p.expire_passwords());
    assert_eq!(p.password_reuse_prevention(), None);
    let err = omar
        .change_password()
        .old_password("second-password-2")
        .new_password("third-password-3")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err).0,
        "AccessDenied",
        "without AllowUsersToChangePassword a policy must allow it"
    );
    iam.delete_account_password_policy().send().await.unwrap();
    assert_eq!(
        aws_error(
            &iam.delete_account_password_policy()
                .send()
                .await
                .unwrap_err()
        )
        .0,
        "NoSuchEntity"
    );
}

#[tokio::test]
async fn account_aliases() {
    let server = Server::start();
    let iam = server.root_iam();
    assert!(
        iam.list_account_aliases()
            .send()
            .await
            .unwrap()
            .account_aliases()
            .is_empty()
    );
    let err = iam
        .create_account_alias()
        .account_alias("Bad_Alias")
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err).0, "ValidationError");
    iam.create_account_alias()
        .account_alias("example-corp")
        .send()
        .await
        .unwrap();
    iam.create_account_alias()
        .account_alias("example-corp-2")
        .send()
        .await
        .unwrap();
    assert_eq!(
        iam.list_account_aliases()
            .send()
            .await
            .unwrap()
            .account_aliases(),
        ["example-corp-2"]
    );
    let err = iam
        .delete_account_alias()
        .account_alias("example-corp")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "NoSuchEntity".into(),
            "The account alias example-corp cannot be found.".into(),
            404
        )
    );
    iam.delete_account_alias()
        .account_alias("example-corp-2")
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn access_key_last_used_s9() {
    let server = Server::start();
    let iam = server.root_iam();
    iam.create_user().user_name("pia").send().await.unwrap();
    let key = iam
        .create_access_key()
        .user_name("pia")
        .send()
        .await
        .unwrap();
    let key = key.access_key().unwrap();
    let never = iam
        .get_access_key_last_used()
        .access_key_id(key.access_key_id())
        .send()
        .await
        .unwrap();
    assert_eq!(never.user_name(), Some("pia"));
    let lu = never.access_key_last_used().unwrap();
    assert_eq!(
        (lu.service_name(), lu.region(), lu.last_used_date()),
        ("N/A", "N/A", None)
    );

    server
        .sts(key.access_key_id(), key.secret_access_key())
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    let used = iam
        .get_access_key_last_used()
        .access_key_id(key.access_key_id())
        .send()
        .await
        .unwrap();
    let lu = used.access_key_last_used().unwrap();
    assert_eq!((lu.service_name(), lu.region()), ("sts", "us-east-1"));
    assert!(lu.last_used_date().is_some());
    let err = iam
        .get_access_key_last_used()
        .access_key_id("AKIAIOSFODNN7EXAMPLE")
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err).0, "NoSuchEntity");
}

fn attempt<'a>(account: &'a str, user: &'a str, password: &'a Password) -> SignInAttempt<'a> {
    SignInAttempt {
        account,
        user_name: user,
        password,
        source_ip: "127.0.0.1",
        user_agent: Some("test"),
    }
}

async fn try_sign_in(store: &SqliteStore, a: &SignInAttempt<'_>) -> SignInResult {
    try_sign_in_at(
        store,
        a,
        OffsetDateTime::now_utc(),
        &SignInConfig::default(),
    )
    .await
}

async fn try_sign_in_at(
    store: &SqliteStore,
    a: &SignInAttempt<'_>,
    now: OffsetDateTime,
    cfg: &SignInConfig,
) -> SignInResult {
    let mut tx = store.begin().await.unwrap();
    let r = sign_in(&mut tx, "aws", a, now, cfg).await.unwrap();
    tx.commit().await.unwrap();
    r
}

/// Sign-in outcomes beyond success and failure: a user with an MFA device is asked for a code; a
/// password older than the policy's `MaxPasswordAge` must be changed, or, with `HardExpiry`,
/// no longer signs in; a lockout lasts its configured time from the failure that set it, then
/// lifts.
#[tokio::test]
async fn console_sign_in_outcomes_mfa_expiry_and_the_lock_lifting() {
    let server = Server::start();
    let iam = server.root_iam();
    let acct = server.account_id.clone();
    for name in ["rita", "sam"] {
        iam.create_user().user_name(name).send().await.unwrap();
        iam.create_login_profile()
            .user_name(name)
            .password("Initial-Pass-1")
            .send()
            .await
            .unwrap();
    }
    // rita gets a virtual MFA device, enabled with two consecutive codes.
    let device = iam
        .create_virtual_mfa_device()
        .virtual_mfa_device_name("rita")
        .send()
        .await
        .unwrap()
        .virtual_mfa_device
        .unwrap();
    let seed = String::from_utf8(device.base32_string_seed.unwrap().into_inner()).unwrap();
    let step = OffsetDateTime::now_utc().unix_timestamp() / 30;
    iam.enable_mfa_device()
        .user_name("rita")
        .serial_number(&device.serial_number)
        .authentication_code1(totp_code(&seed, step - 1))
        .authentication_code2(totp_code(&seed, step))
        .send()
        .await
        .unwrap();
    let store = SqliteStore::open(&server.dir).await.unwrap();
    let right = Password::new("Initial-Pass-1");
    let wrong = Password::new("Initial-Pass-2");
    let now = OffsetDateTime::now_utc();
    let default = SignInConfig::default();

    match try_sign_in_at(&store, &attempt(&acct, "rita", &right), now, &default).await {
        SignInResult::MfaRequired {
            user,
            then_change_password,
        } => assert_eq!((user.name.as_str(), then_change_password), ("rita", false)),
        other => panic!("{other:?}"),
    }

    // Passwords expire after a day; two days later sam must change his, and rita must give a
    // code and then change hers.
    iam.update_account_password_policy()
        .max_password_age(1)
        .send()
        .await
        .unwrap();
    let later = now + time::Duration::days(2);
    assert!(matches!(
        try_sign_in_at(&store, &attempt(&acct, "sam", &right), later, &default).await,
        SignInResult::PasswordChangeRequired { .. }
    ));
    assert!(matches!(
        try_sign_in_at(&store, &attempt(&acct, "rita", &right), later, &default).await,
        SignInResult::MfaRequired {
            then_change_password: true,
            ..
        }
    ));
    // With hard expiry an expired password no longer signs in at all (an administrator resets it).
    iam.update_account_password_policy()
        .max_password_age(1)
        .hard_expiry(true)
        .send()
        .await
        .unwrap();
    assert_eq!(
        try_sign_in_at(&store, &attempt(&acct, "sam", &right), later, &default).await,
        SignInResult::Failed
    );
    iam.delete_account_password_policy().send().await.unwrap();

    // Two failures within a minute lock sam for ten minutes from the second; then it lifts.
    let strict = SignInConfig {
        max_failures: 2,
        window: time::Duration::minutes(1),
        lockout: time::Duration::minutes(10),
    };
    let t = |secs: i64| now + time::Duration::seconds(secs);
    for secs in [0, 30] {
        assert_eq!(
            try_sign_in_at(&store, &attempt(&acct, "sam", &wrong), t(secs), &strict).await,
            SignInResult::Failed
        );
    }
    assert_eq!(
        try_sign_in_at(&store, &attempt(&acct, "sam", &right), t(300), &strict).await,
        SignInResult::Failed,
        "locked five minutes later"
    );
    assert!(matches!(
        try_sign_in_at(&store, &attempt(&acct, "sam", &right), t(631), &strict).await,
        SignInResult::Success { .. }
    ));
}

#[tokio::test]
async fn console_sign_in_with_reset_alias_and_lockout_s19() {
    let server = Server::start();
    let iam = server.root_iam();
    let acct = server.account_id.clone();
    iam.create_user().user_name("quinn").send().await.unwrap();
    iam.create_login_profile()
        .user_name("quinn")
        .password("Initial-Pass-1")
        .password_reset_required(true)
        .send()
        .await
        .unwrap();
    iam.create_account_alias()
        .account_alias("quinn-corp")
        .send()
        .await
        .unwrap();
    let store = SqliteStore::open(&server.dir).await.unwrap();

    let right = Password::new("Initial-Pass-1");
    let wrong = Password::new("Initial-Pass-2");
    match try_sign_in(&store, &attempt(&acct, "quinn", &right)).await {
        SignInResult::PasswordChangeRequired { user } => assert_eq!(user.name, "quinn"),
        other => panic!("{other:?}"),
    }
    iam.update_login_profile()
        .user_name("quinn")
        .password_reset_required(false)
        .send()
        .await
        .unwrap();
    assert!(matches!(
        try_sign_in(&store, &attempt("quinn-corp", "quinn", &right)).await,
        SignInResult::Success { .. }
    ));
    // Unknown users and unknown accounts look exactly like a wrong password.
    assert_eq!(
        try_sign_in(&store, &attempt(&acct, "nobody", &right)).await,
        SignInResult::Failed
    );
    assert_eq!(
        try_sign_in(&store, &attempt("999999999999", "quinn", &right)).await,
        SignInResult::Failed
    );
    let got = iam.get_user().user_name("quinn").send().await.unwrap();
    assert!(got.user().unwrap().password_last_used().is_some());

    // Five failures lock the user name: then even the right password fails.
    for _ in 0..5 {
        assert_eq!(
            try_sign_in(&store, &attempt(&acct, "quinn", &wrong)).await,
            SignInResult::Failed
        );
    }
    assert_eq!(
        try_sign_in(&store, &attempt(&acct, "quinn", &right)).await,
        SignInResult::Failed
    );

    let mut tx = store.begin().await.unwrap();
    let events = tx.list_audit_events(50).await.unwrap();
    let logins: Vec<_> = events
        .iter()
        .filter(|e| e.event_name == "ConsoleLogin")
        .collect();
    assert_eq!(logins.len(), 10);
    assert!(logins.iter().all(|e| e.event_source == "signin.amazonaws.com" && e.event_type == "AwsConsoleSignIn"));
    assert_eq!(
        logins.iter().filter(|e| e.error_message.is_none()).count(),
        2
    );
    assert!(
        logins
            .iter()
            .filter(|e| e.error_message.is_some())
            .all(|e| e.error_message.as_deref() == Some("Failed authentication"))
    );
    assert!(
        logins
            .iter()
            .any(|e| e.user_name.as_deref() == Some("HIDDEN_DUE_TO_SECURITY_REASONS")),
        "unknown users are not named"
    );
    assert!(logins.iter().any(|e| {
        e.additional_event_data
            .as_ref()
            .and_then(|d| d.get("LockedOut"))
            .is_some()
    }));
}

#[tokio::test]
async fn no_secret_or_password_in_clear_in_the_store_logs_or_audit() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("server.log");
    let data = tmp.path().join("data");
    let server = Server::start_logged(&data, &[], &log);
    let iam = server.root_iam();
    iam.create_user().user_name("rita").send().await.unwrap();
    let key = iam
        .create_access_key()
        .user_name("rita")
        .send()
        .await
        .unwrap();
    let secret = key.access_key().unwrap().secret_access_key().to_owned();
    iam.update_account_password_policy()
        .allow_users_to_change_password(true)
        .minimum_password_length(10)
        .send()
        .await
        .unwrap();
    let first = "Unique-Password-8641";
    let second = "Another-Password-9752";
    iam.create_login_profile()
        .user_name("rita")
        .password(first)
        .send()
        .await
        .unwrap();
    let rita = server.iam(key.access_key().unwrap().access_key_id(), &secret);
    rita.change_password()
        .old_password(first)
        .new_password(second)
        .send()
        .await
        .unwrap();
    let _ = rita
        .change_password()
        .old_password("Wrong-Password-0000")
        .new_password(second)
        .send()
        .await;
    drop(server);

    let mut haystack = Vec::new();
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().is_some_and(|n| n != "root_accessKeys.csv") {
            haystack.extend(std::fs::read(&path).unwrap());
        }
    }
    haystack.extend(std::fs::read(&log).unwrap());
    assert!(
        std::fs::read_to_string(&log).unwrap().contains("request"),
        "the log was written at debug level"
    );
    for needle in [secret.as_str(), first, second, "Wrong-Password-0000"] {
        assert!(
            !haystack
                .windows(needle.len())
                .any(|w| w == needle.as_bytes()),
            "{needle} found in clear"
        );
    }
}

#[test]
fn admin_create_user_with_a_generated_password() {
    let server = Server::start();
    let out = common::run_ok(
        std::process::Command::new(env!("CARGO_BIN_EXE_keyward"))
            .args([
                "admin",
                "create-user",
                "--user-name",
                "sam",
                "--console-password",
                "generate",
                "--password-reset-required",
                "--data-dir",
            ])
            .arg(&server.dir),
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let password = text
        .lines()
        .find_map(|l| l.strip_prefix("Console password (shown once): "))
        .unwrap()
        .to_owned();
    assert!(
        keyward_core::password::Rules::Default.allows(&password, &server.account_id),
        "{password}"
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let got = server
            .root_iam()
            .get_login_profile()
            .user_name("sam")
            .send()
            .await
            .unwrap();
        assert!(got.login_profile().unwrap().password_reset_required());
        let store = SqliteStore::open(&server.dir).await.unwrap();
        let pw = Password::new(password);
        let r = try_sign_in(&store, &attempt(&server.account_id, "sam", &pw)).await;
        assert!(
            matches!(r, SignInResult::PasswordChangeRequired { .. }),
            "{r:?}"
        );
    });
}

/// `admin create-user` sends its requests through the same decoding as the API's: a name or a
/// path outside botocore's shapes is refused in AWS's words, and nothing is created.
#[test]
fn admin_create_user_validates_like_the_api() {
    let server = Server::start();
    let admin = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_keyward"))
            .args(["admin", "create-user"])
            .args(args)
            .arg("--data-dir")
            .arg(&server.dir)
            .output()
            .unwrap()
    };
    let out = admin(&["--user-name", "bad name!"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            r"CreateUser: ValidationError: 1 validation error detected: Value 'bad name!' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+"
        ),
        "{stderr}"
    );
    let out = admin(&["--user-name", "ok", "--path", "/no-slash"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Value '/no-slash' at 'path' failed to satisfy constraint"),
        "{stderr}"
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let users = rt
        .block_on(server.root_iam().list_users().send())
        .unwrap()
        .users;
    assert!(users.is_empty(), "{users:?}");
}

/// `admin` takes the partition and the clock as `serve` does (flag or environment), not `aws` and
/// the bare system clock: its user's creation date and its audit record follow them.
#[tokio::test]
async fn admin_create_user_uses_the_partition_and_clock_it_is_given() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_in(tmp.path(), &["--partition", "aws-cn"]);
    let month_ago = -30 * 86_400;
    common::run_ok(
        std::process::Command::new(env!("CARGO_BIN_EXE_keyward"))
            .args(["admin", "create-user", "--user-name", "pat", "--partition"])
            .arg("aws-cn")
            .arg("--data-dir")
            .arg(&server.dir)
            .env("KEYWARD_CLOCK_OFFSET_SECS", month_ago.to_string()),
    );
    let expected = OffsetDateTime::now_utc() + time::Duration::seconds(month_ago);
    let near = |t: OffsetDateTime| (t - expected).abs() < time::Duration::minutes(5);

    let user = server
        .root_iam()
        .get_user()
        .user_name("pat")
        .send()
        .await
        .unwrap()
        .user
        .unwrap();
    let created = OffsetDateTime::from_unix_timestamp(user.create_date.secs()).unwrap();
    assert!(
        near(created),
        "created {created}, expected about {expected}"
    );

    let store = SqliteStore::open(&server.dir).await.unwrap();
    let mut tx = store.begin_read().await.unwrap();
    let events = tx.list_audit_events(usize::MAX).await.unwrap();
    let event = events
        .iter()
        .find(|e| e.event_name == "CreateUser" && e.user_agent.as_deref() == Some("keyward-admin"))
        .unwrap();
    assert_eq!(
        event.principal_arn.as_deref(),
        Some(format!("arn:aws-cn:iam::{}:root", server.account_id).as_str())
    );
    assert!(near(event.event_time), "{}", event.event_time);
}

/// `admin` reads the master key where the server does (`--master-key-file`, or its variable) and
/// never makes one: without the server's key it stops with an error and leaves no key file in
/// the data folder.
#[test]
fn admin_uses_the_servers_master_key_file_and_never_creates_one() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, key) = (tmp.path().join("data"), tmp.path().join("keys/master.key"));
    std::fs::create_dir_all(key.parent().unwrap()).unwrap();
    let key_arg = key.to_str().unwrap();
    let mut server = Server::start_in(&data, &["--master-key-file", key_arg]);
    assert!(server.stop().success());
    assert!(key.exists() && !data.join("master.key").exists());
    let admin = |name: &str, key_file: Option<&str>| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_keyward"));
        c.args(["admin", "create-user", "--user-name", name, "--data-dir"])
            .arg(&data);
        if let Some(k) = key_file {
            c.env("KEYWARD_MASTER_KEY_FILE", k);
        }
        c.output().unwrap()
    };
    let out = admin("nokey", None);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no master key at"), "{stderr}");
    assert!(!data.join("master.key").exists());
    let out = admin("withkey", Some(key_arg));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!data.join("master.key").exists());
}

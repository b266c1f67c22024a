//! Credentials through aws-sdk-iam and aws-sdk-sts against a running keyward, for what the other
//! suites leave out: access keys created without `UserName` (for the caller, root included), key
//! last use (recorded at most every 15 minutes, kept across a restart), `GetSessionToken`'s
//! duration bounds, and `AssumeRole`'s `ExternalId`, MFA, session names, session tags, source
//! identity and managed session policies, with the context keys they put into conditions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{
    Server, aws_error, enable_mfa, iam_client, iam_with, now_secs, sts_client, sts_with, temp,
    totp_code,
};

async fn put_user_policy(server: &Server, user: &str, doc: &str) {
    server
        .root_iam()
        .put_user_policy()
        .user_name(user)
        .policy_name("p")
        .policy_document(doc)
        .send()
        .await
        .unwrap();
}

/// Creates a role with `trust` as its trust policy and `policy` inline; returns its ARN.
async fn role(server: &Server, name: &str, trust: &str, policy: &str) -> String {
    let root = server.root_iam();
    let arn = root
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap()
        .role
        .unwrap()
        .arn;
    root.put_role_policy()
        .role_name(name)
        .policy_name("p")
        .policy_document(policy)
        .send()
        .await
        .unwrap();
    arn
}

/// A trust policy letting `principal_arn` perform `actions`, under `condition` (a JSON object) if
/// given.
fn trust(principal_arn: &str, actions: &[&str], condition: Option<&str>) -> String {
    let actions = actions
        .iter()
        .map(|a| format!("\"{a}\""))
        .collect::<Vec<_>>()
        .join(",");
    let condition = condition.map_or(String::new(), |c| format!(r#","Condition":{c}"#));
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{principal_arn}"}},"Action":[{actions}]{condition}}}]}}"#
    )
}

/// A policy allowing `action` on everything when `condition` (a JSON object) holds.
fn allow_if(action: &str, condition: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"{action}","Resource":"*","Condition":{condition}}}]}}"#
    )
}

/// STS's refusal of `AssumeRole`: it names neither the policy nor whether the role exists.
fn assume_role_denied(caller_arn: &str, role_arn: &str) -> (String, String, u16) {
    common::access_denied(format!(
        "User: {caller_arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
    ))
}

/// IAM's implicit deny of `iam:ListUsers`, in the words `authz` uses for any IAM action.
fn list_users_denied(acct: &str, caller_arn: &str) -> (String, String, u16) {
    common::access_denied(format!(
        "User: {caller_arn} is not authorized to perform: iam:ListUsers on resource: arn:aws:iam::{acct}:user/ because no identity-based policy allows the iam:ListUsers action"
    ))
}

fn validation(message: &str) -> (String, String, u16) {
    ("ValidationError".into(), message.into(), 400)
}

fn sts_tag(key: &str, value: &str) -> aws_sdk_sts::types::Tag {
    aws_sdk_sts::types::Tag::builder()
        .key(key)
        .value(value)
        .build()
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Access keys (issue 5)

const SELF_KEYS: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:CreateAccessKey","iam:ListAccessKeys"],"Resource":"arn:aws:iam::*:user/${aws:username}"}]}"#;

/// `CreateAccessKey` without `UserName` creates the key of the caller (IAM API reference: "If you
/// do not specify a user name, IAM determines the user name implicitly based on the Amazon Web
/// Services access key ID signing the request"): a user's for a user, a root key for root, and
/// either way the quota of two keys holds.
#[tokio::test]
async fn create_access_key_without_user_name_is_the_callers() {
    let server = Server::start();
    let acct = server.account_id.clone();
    let root = server.root_iam();
    let (key, secret) = server.new_user_with_key("kim").await;
    put_user_policy(&server, "kim", SELF_KEYS).await;
    let kim = server.iam(&key, &secret);

    let created = kim
        .create_access_key()
        .send()
        .await
        .unwrap()
        .access_key
        .unwrap();
    assert_eq!(created.user_name(), "kim");
    assert!(created.access_key_id().starts_with("AKIA"));
    // The key is kim's: listed under her name, and it signs as her.
    let listed = root
        .list_access_keys()
        .user_name("kim")
        .send()
        .await
        .unwrap();
    let mut ids: Vec<&str> = listed
        .access_key_metadata()
        .iter()
        .map(|k| k.access_key_id().unwrap())
        .collect();
    ids.sort_unstable();
    let mut expected = vec![key.as_str(), created.access_key_id()];
    expected.sort_unstable();
    assert_eq!(ids, expected);
    let own = kim.list_access_keys().send().await.unwrap();
    assert_eq!(own.access_key_metadata().len(), 2);
    let me = server
        .sts(created.access_key_id(), created.secret_access_key())
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(
        me.arn(),
        Some(format!("arn:aws:iam::{acct}:user/kim").as_str())
    );
    // IAM quotas: "Access keys assigned to an IAM user: 2".
    let quota = (
        "LimitExceeded".to_owned(),
        "Cannot exceed quota for AccessKeysPerUser: 2".to_owned(),
        409,
    );
    let err = kim.create_access_key().send().await.unwrap_err();
    assert_eq!(aws_error(&err), quota);

    // Root without UserName: a root key, listed among root's keys (not among any user's).
    let root_key = root
        .create_access_key()
        .send()
        .await
        .unwrap()
        .access_key
        .unwrap();
    let root_keys = root.list_access_keys().send().await.unwrap();
    let mut ids: Vec<&str> = root_keys
        .access_key_metadata()
        .iter()
        .map(|k| k.access_key_id().unwrap())
        .collect();
    ids.sort_unstable();
    let mut expected = vec![server.root_key_id.as_str(), root_key.access_key_id()];
    expected.sort_unstable();
    assert_eq!(ids, expected);
    let me = server
        .sts(root_key.access_key_id(), root_key.secret_access_key())
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(me.arn(), Some(format!("arn:aws:iam::{acct}:root").as_str()));
    // The bootstrap key and this one: the same quota of two.
    let err = root.create_access_key().send().await.unwrap_err();
    assert_eq!(aws_error(&err), quota);
}

/// `GetAccessKeyLastUsed`: a never-used key answers `N/A` for service and region and no date
/// (IAM API reference, AccessKeyLastUsed: "N/A" when "An access key exists but has not been used
/// since IAM began tracking this information"); a use records date, service and region; a second
/// use within 15 minutes leaves the date as it was (AWS records last use at most every 15
/// minutes); the record survives a restart, and a use 16 minutes later (server and client clocks
/// moved) records again.
#[tokio::test]
async fn access_key_last_used_every_15_minutes_and_across_restarts() {
    let tmp = tempfile::tempdir().unwrap();
    let mut server = Server::start_in(tmp.path(), &[]);
    let (key, secret) = server.new_user_with_key("lou").await;
    put_user_policy(
        &server,
        "lou",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"*"}]}"#,
    )
    .await;
    let last_used = |iam: aws_sdk_iam::Client, key: String| async move {
        let out = iam
            .get_access_key_last_used()
            .access_key_id(key)
            .send()
            .await
            .unwrap();
        assert_eq!(out.user_name(), Some("lou"));
        let lu = out.access_key_last_used().unwrap();
        (
            lu.last_used_date().copied(),
            lu.service_name().to_owned(),
            lu.region().to_owned(),
        )
    };

    let never = last_used(server.root_iam(), key.clone()).await;
    assert_eq!(never, (None, "N/A".into(), "N/A".into()));

    let before = now_secs();
    server.iam(&key, &secret).get_user().send().await.unwrap();
    let first = last_used(server.root_iam(), key.clone()).await;
    let date = first.0.expect("a date once used");
    assert!((date.secs() - before).abs() <= 2, "{date:?} vs {before}");
    assert_eq!((first.1.as_str(), first.2.as_str()), ("iam", "us-east-1"));

    // Within 15 minutes, through another service: nothing changes.
    std::thread::sleep(Duration::from_millis(1100));
    server
        .sts(&key, &secret)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(last_used(server.root_iam(), key.clone()).await, first);

    // A restart on the same data folder still reports it, and a use right after still changes
    // nothing.
    server.stop();
    let mut server = Server::start_in(tmp.path(), &[]);
    assert_eq!(last_used(server.root_iam(), key.clone()).await, first);
    server
        .sts(&key, &secret)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(last_used(server.root_iam(), key.clone()).await, first);

    // 16 minutes on: the use is recorded again, with its own service.
    server.stop();
    let skew = 960;
    let server = Server::start_in(tmp.path(), &["--clock-offset-secs", "960"]);
    let endpoint = server.endpoint();
    sts_client(&endpoint, &key, &secret, Some(skew))
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    let root = iam_client(
        &endpoint,
        &server.root_key_id,
        &server.root_secret,
        Some(skew),
    );
    let later = last_used(root, key.clone()).await;
    let later_date = later.0.unwrap();
    assert!(later_date.secs() >= date.secs() + 900, "{later_date:?}");
    assert_eq!((later.1.as_str(), later.2.as_str()), ("sts", "us-east-1"));
}

// ---------------------------------------------------------------------------------------------
// GetSessionToken (issue 7)

/// `DurationSeconds` is 900 to 129,600 (botocore's `durationSecondsType`); outside, STS's
/// `ValidationError` in the AWS constraint wording. Root's sessions are capped at one hour
/// without error (STS API reference, GetSessionToken: "Sessions for Amazon Web Services account
/// owners are restricted to a maximum of 3,600 seconds (one hour). If the duration is longer than
/// one hour, the session for Amazon Web Services account owners defaults to one hour.").
#[tokio::test]
async fn get_session_token_duration_bounds_and_root_cap() {
    let server = Server::start();
    let (key, secret) = server.new_user_with_key("dora").await;
    let sts = server.sts(&key, &secret);
    let err = sts
        .get_session_token()
        .duration_seconds(899)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        validation(
            "1 validation error detected: Value 899 at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"
        )
    );
    let err = sts
        .get_session_token()
        .duration_seconds(129_601)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        validation(
            "1 validation error detected: Value 129601 at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 129600"
        )
    );
    let expires_in = |out: aws_sdk_sts::operation::get_session_token::GetSessionTokenOutput| {
        out.credentials.unwrap().expiration.secs() - now_secs()
    };
    for (asked, lasts) in [(900, 900), (129_600, 129_600)] {
        let out = sts
            .get_session_token()
            .duration_seconds(asked)
            .send()
            .await
            .unwrap();
        let got = expires_in(out);
        assert!((got - lasts).abs() <= 5, "{asked}: {got}");
    }

    let root = server.root_sts();
    for asked in [Some(3601), Some(129_600), None] {
        let out = root
            .get_session_token()
            .set_duration_seconds(asked)
            .send()
            .await
            .unwrap();
        let got = expires_in(out);
        assert!((got - 3600).abs() <= 5, "{asked:?}: {got}");
    }
    let out = root
        .get_session_token()
        .duration_seconds(1800)
        .send()
        .await
        .unwrap();
    assert!((expires_in(out) - 1800).abs() <= 5);
    // Root's limits are checked before the cap.
    let err = root
        .get_session_token()
        .duration_seconds(129_601)
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err).0, "ValidationError");
}

/// `aws:MultiFactorAuthAge` is the seconds since the MFA code was checked: fresh, a
/// `NumericLessThan` 600 allows; 20 minutes later (server and client clocks moved, same data
/// folder so the token still opens) it does not; a session without MFA has no such key, so the
/// condition never holds.
#[tokio::test]
async fn multi_factor_auth_age_in_conditions() {
    let tmp = tempfile::tempdir().unwrap();
    let mut server = Server::start_in(tmp.path(), &[]);
    let acct = server.account_id.clone();
    let (key, secret) = server.new_user_with_key("maya").await;
    let (serial, seed, t) = enable_mfa(&server.root_iam(), "maya").await;
    put_user_policy(
        &server,
        "maya",
        &allow_if(
            "iam:ListUsers",
            r#"{"NumericLessThan":{"aws:MultiFactorAuthAge":"600"}}"#,
        ),
    )
    .await;
    let maya_arn = format!("arn:aws:iam::{acct}:user/maya");
    let sts = server.sts(&key, &secret);
    let with_mfa = temp(
        &sts.get_session_token()
            .serial_number(&serial)
            .token_code(totp_code(&seed, t + 1))
            .send()
            .await
            .unwrap()
            .credentials
            .unwrap(),
    );
    iam_with(&server, &with_mfa, None)
        .list_users()
        .send()
        .await
        .unwrap();
    // Long-term keys carry no MFA age.
    let err = server
        .iam(&key, &secret)
        .list_users()
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err), list_users_denied(&acct, &maya_arn));

    server.stop();
    let later = Server::start_in(tmp.path(), &["--clock-offset-secs", "1200"]);
    let err = iam_with(&later, &with_mfa, Some(1200))
        .list_users()
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err), list_users_denied(&acct, &maya_arn));
}

// ---------------------------------------------------------------------------------------------
// AssumeRole (issue 7)

/// `ExternalId` against a trust policy's `sts:ExternalId` condition (IAM User Guide, "Access to
/// AWS accounts owned by third parties"): missing or wrong is STS's plain refusal, right works.
#[tokio::test]
async fn assume_role_external_id() {
    let server = Server::start();
    let acct = server.account_id.clone();
    let (key, secret) = server.new_user_with_key("vendor").await;
    let vendor_arn = format!("arn:aws:iam::{acct}:user/vendor");
    let role_arn = role(
        &server,
        "ThirdParty",
        &trust(
            &vendor_arn,
            &["sts:AssumeRole"],
            Some(r#"{"StringEquals":{"sts:ExternalId":"Unicorn-42"}}"#),
        ),
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}]}"#,
    )
    .await;
    let sts = server.sts(&key, &secret);
    for external_id in [None, Some("Unicorn-43"), Some("unicorn-42")] {
        let err = sts
            .assume_role()
            .role_arn(&role_arn)
            .role_session_name("vendor")
            .set_external_id(external_id.map(str::to_owned))
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            aws_error(&err),
            assume_role_denied(&vendor_arn, &role_arn),
            "{external_id:?}"
        );
    }
    let out = sts
        .assume_role()
        .role_arn(&role_arn)
        .role_session_name("vendor")
        .external_id("Unicorn-42")
        .send()
        .await
        .unwrap();
    iam_with(&server, &temp(&out.credentials.unwrap()), None)
        .list_users()
        .send()
        .await
        .unwrap();
}

/// An `ExternalId` outside botocore's `externalIdType` (2 to 1,224 characters of
/// `[\w+=,.@:\/-]`) is a `ValidationError`, whatever the trust policy says: AWS validates a
/// request against its model before it authorises it.
#[tokio::test]
async fn assume_role_external_id_validated_before_authorisation() {
    let server = Server::start();
    let acct = server.account_id.clone();
    let (key, secret) = server.new_user_with_key("vendor").await;
    let role_arn = role(
        &server,
        "ThirdParty",
        &trust(
            &format!("arn:aws:iam::{acct}:user/vendor"),
            &["sts:AssumeRole"],
            Some(r#"{"StringEquals":{"sts:ExternalId":"Unicorn-42"}}"#),
        ),
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}]}"#,
    )
    .await;
    let err = server
        .sts(&key, &secret)
        .assume_role()
        .role_arn(&role_arn)
        .role_session_name("vendor")
        .external_id("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        validation(
            "1 validation error detected: Value 'x' at 'externalId' failed to satisfy constraint: Member must have length greater than or equal to 2"
        )
    );
}

/// `SerialNumber` and `TokenCode` on `AssumeRole` satisfy a trust policy requiring
/// `aws:MultiFactorAuthPresent` (IAM User Guide, "Configuring MFA-protected API access"); the
/// session then carries MFA. Without them the role is refused, with a wrong code the MFA error.
#[tokio::test]
async fn assume_role_with_mfa() {
    let server = Server::start();
    let acct = server.account_id.clone();
    let (key, secret) = server.new_user_with_key("ines").await;
    let (serial, seed, t) = enable_mfa(&server.root_iam(), "ines").await;
    let ines_arn = format!("arn:aws:iam::{acct}:user/ines");
    let role_arn = role(
        &server,
        "Admin",
        &trust(
            &ines_arn,
            &["sts:AssumeRole"],
            Some(r#"{"Bool":{"aws:MultiFactorAuthPresent":"true"}}"#),
        ),
        &allow_if(
            "iam:ListUsers",
            r#"{"Bool":{"aws:MultiFactorAuthPresent":"true"}}"#,
        ),
    )
    .await;
    let sts = server.sts(&key, &secret);
    let err = sts
        .assume_role()
        .role_arn(&role_arn)
        .role_session_name("ines")
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err), assume_role_denied(&ines_arn, &role_arn));

    let good = totp_code(&seed, t + 1);
    let wrong = if good == "123456" { "654321" } else { "123456" };
    let err = sts
        .assume_role()
        .role_arn(&role_arn)
        .role_session_name("ines")
        .serial_number(&serial)
        .token_code(wrong)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        common::access_denied(
            "MultiFactorAuthentication failed with invalid MFA one time pass code."
        )
    );

    let out = sts
        .assume_role()
        .role_arn(&role_arn)
        .role_session_name("ines")
        .serial_number(&serial)
        .token_code(&good)
        .send()
        .await
        .unwrap();
    // The role's own policy sees the session's MFA.
    iam_with(&server, &temp(&out.credentials.unwrap()), None)
        .list_users()
        .send()
        .await
        .unwrap();
}

/// `RoleSessionName` is botocore's `roleSessionNameType`: 2 to 64 characters of `[\w+=,.@-]*`,
/// each failure in the AWS constraint wording.
#[tokio::test]
async fn assume_role_session_name_validation() {
    let server = Server::start();
    let acct = server.account_id.clone();
    let (key, secret) = server.new_user_with_key("sam").await;
    let role_arn = role(
        &server,
        "Named",
        &trust(
            &format!("arn:aws:iam::{acct}:user/sam"),
            &["sts:AssumeRole"],
            None,
        ),
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}]}"#,
    )
    .await;
    let sts = server.sts(&key, &secret);
    let long = "n".repeat(65);
    for (name, message) in [
        (
            "a".to_owned(),
            "1 validation error detected: Value 'a' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2".to_owned(),
        ),
        (
            long.clone(),
            format!(
                "1 validation error detected: Value '{long}' at 'roleSessionName' failed to satisfy constraint: Member must have length less than or equal to 64"
            ),
        ),
        (
            "bad name!".to_owned(),
            r"1 validation error detected: Value 'bad name!' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*".to_owned(),
        ),
    ] {
        let err = sts
            .assume_role()
            .role_arn(&role_arn)
            .role_session_name(&name)
            .send()
            .await
            .unwrap_err();
        assert_eq!(aws_error(&err), validation(&message), "{name}");
    }
    // The limits themselves are accepted.
    for name in ["ab", &"n".repeat(64), "a_b+c=d,e.f@g-h"] {
        let out = sts
            .assume_role()
            .role_arn(&role_arn)
            .role_session_name(name)
            .send()
            .await
            .unwrap();
        assert_eq!(
            out.assumed_role_user.unwrap().arn,
            format!("arn:aws:sts::{acct}:assumed-role/Named/{name}")
        );
    }
}

/// Session tags are `aws:PrincipalTag/*` in the session's requests (IAM User Guide, "Passing
/// session tags in AWS STS"); transitive ones pass to a chained role session, the others do not
/// ("Chaining roles with session tags").
#[tokio::test]
async fn session_tags_as_principal_tags_and_transitive_through_chaining() {
    let server = Server::start();
    let acct = server.account_id.clone();
    let (key, secret) = server.new_user_with_key("tess").await;
    let tess_arn = format!("arn:aws:iam::{acct}:user/tess");
    let by_tags = r#"{"Version":"2012-10-17","Statement":[
      {"Effect":"Allow","Action":"iam:ListUsers","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"blue"}}},
      {"Effect":"Allow","Action":"iam:ListRoles","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/project":"apollo"}}}]}"#;
    let first_arn = role(
        &server,
        "First",
        &trust(&tess_arn, &["sts:AssumeRole", "sts:TagSession"], None),
        by_tags,
    )
    .await;
    let second_arn = role(
        &server,
        "Second",
        &trust(&first_arn, &["sts:AssumeRole", "sts:TagSession"], None),
        by_tags,
    )
    .await;
    let sts = server.sts(&key, &secret);

    let out = sts
        .assume_role()
        .role_arn(&first_arn)
        .role_session_name("tagged")
        .tags(sts_tag("team", "blue"))
        .tags(sts_tag("project", "apollo"))
        .transitive_tag_keys("team")
        .send()
        .await
        .unwrap();
    let first = temp(&out.credentials.unwrap());
    let first_iam = iam_with(&server, &first, None);
    first_iam.list_users().send().await.unwrap();
    first_iam.list_roles().send().await.unwrap();

    // Other tag values: neither statement applies.
    let out = sts
        .assume_role()
        .role_arn(&first_arn)
        .role_session_name("red")
        .tags(sts_tag("team", "red"))
        .send()
        .await
        .unwrap();
    let err = iam_with(&server, &temp(&out.credentials.unwrap()), None)
        .list_users()
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        list_users_denied(
            &acct,
            &format!("arn:aws:sts::{acct}:assumed-role/First/red")
        )
    );

    // Chained: `team` (transitive) survives, `project` does not.
    let out = sts_with(&server, &first, None)
        .assume_role()
        .role_arn(&second_arn)
        .role_session_name("chained")
        .send()
        .await
        .unwrap();
    let second_iam = iam_with(&server, &temp(&out.credentials.unwrap()), None);
    second_iam.list_users().send().await.unwrap();
    let err = second_iam.list_roles().send().await.unwrap_err();
    assert_eq!(
        aws_error(&err),
        common::access_denied(format!(
            "User: arn:aws:sts::{acct}:assumed-role/Second/chained is not authorized to perform: iam:ListRoles on resource: arn:aws:iam::{acct}:role/ because no identity-based policy allows the iam:ListRoles action"
        ))
    );

    // Passing tags needs sts:TagSession in the trust policy.
    let plain_arn = role(
        &server,
        "NoTags",
        &trust(&tess_arn, &["sts:AssumeRole"], None),
        by_tags,
    )
    .await;
    let err = sts
        .assume_role()
        .role_arn(&plain_arn)
        .role_session_name("tagged")
        .tags(sts_tag("team", "blue"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        not_authorized(&tess_arn, "sts:TagSession", &plain_arn)
    );

    // sts:TagSession decided on the request's tags (IAM User Guide, "Permissions required to add
    // session tags": conditions on aws:RequestTag/* and aws:TagKeys).
    let picky_arn = role(
        &server,
        "Picky",
        &format!(
            r#"{{"Version":"2012-10-17","Statement":[
              {{"Effect":"Allow","Principal":{{"AWS":"{tess_arn}"}},"Action":"sts:AssumeRole"}},
              {{"Effect":"Allow","Principal":{{"AWS":"{tess_arn}"}},"Action":"sts:TagSession",
                "Condition":{{"StringEquals":{{"aws:RequestTag/team":"blue"}},"ForAllValues:StringEquals":{{"aws:TagKeys":["team"]}}}}}}]}}"#
        ),
        by_tags,
    )
    .await;
    let out = sts
        .assume_role()
        .role_arn(&picky_arn)
        .role_session_name("picky")
        .tags(sts_tag("team", "blue"))
        .send()
        .await
        .unwrap();
    iam_with(&server, &temp(&out.credentials.unwrap()), None)
        .list_users()
        .send()
        .await
        .unwrap();
    for tags in [
        vec![sts_tag("team", "red")],
        vec![sts_tag("team", "blue"), sts_tag("project", "apollo")],
    ] {
        let err = sts
            .assume_role()
            .role_arn(&picky_arn)
            .role_session_name("picky")
            .set_tags(Some(tags))
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            aws_error(&err),
            not_authorized(&tess_arn, "sts:TagSession", &picky_arn)
        );
    }
}

/// `SourceIdentity` is `aws:SourceIdentity` in the session's requests, persists through role
/// chaining (IAM User Guide, "Monitor and control actions taken with assumed roles": "The value
/// that is set persists when a role is used to assume another role ... The value that is set
/// cannot be changed during the role session").
#[tokio::test]
async fn source_identity_in_conditions_and_through_chaining() {
    let server = Server::start();
    let acct = server.account_id.clone();
    let (key, secret) = server.new_user_with_key("sid").await;
    let sid_arn = format!("arn:aws:iam::{acct}:user/sid");
    let by_source = r#"{"Version":"2012-10-17","Statement":[
      {"Effect":"Allow","Action":"iam:ListUsers","Resource":"*","Condition":{"StringEquals":{"aws:SourceIdentity":"sid-laptop"}}}]}"#;
    let first_arn = role(
        &server,
        "Traced",
        &trust(&sid_arn, &["sts:AssumeRole", "sts:SetSourceIdentity"], None),
        by_source,
    )
    .await;
    let second_arn = role(
        &server,
        "TracedToo",
        &trust(
            &first_arn,
            &["sts:AssumeRole", "sts:SetSourceIdentity"],
            None,
        ),
        by_source,
    )
    .await;
    let sts = server.sts(&key, &secret);

    let out = sts
        .assume_role()
        .role_arn(&first_arn)
        .role_session_name("s1")
        .source_identity("sid-laptop")
        .send()
        .await
        .unwrap();
    assert_eq!(out.source_identity(), Some("sid-laptop"));
    let first = temp(&out.credentials.unwrap());
    iam_with(&server, &first, None)
        .list_users()
        .send()
        .await
        .unwrap();

    // Another value, or none: the condition does not hold.
    for source in [Some("sid-phone"), None] {
        let out = sts
            .assume_role()
            .role_arn(&first_arn)
            .role_session_name("s2")
            .set_source_identity(source.map(str::to_owned))
            .send()
            .await
            .unwrap();
        let err = iam_with(&server, &temp(&out.credentials.unwrap()), None)
            .list_users()
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            aws_error(&err),
            list_users_denied(
                &acct,
                &format!("arn:aws:sts::{acct}:assumed-role/Traced/s2")
            )
        );
    }

    // Chained without naming it: the source identity carries over.
    let out = sts_with(&server, &first, None)
        .assume_role()
        .role_arn(&second_arn)
        .role_session_name("chained")
        .send()
        .await
        .unwrap();
    iam_with(&server, &temp(&out.credentials.unwrap()), None)
        .list_users()
        .send()
        .await
        .unwrap();
    // Naming the same value again is fine.
    sts_with(&server, &first, None)
        .assume_role()
        .role_arn(&second_arn)
        .role_session_name("same")
        .source_identity("sid-laptop")
        .send()
        .await
        .unwrap();

    // Without sts:SetSourceIdentity in the trust policy, no source identity can be set.
    let plain_arn = role(
        &server,
        "Untraced",
        &trust(&sid_arn, &["sts:AssumeRole"], None),
        by_source,
    )
    .await;
    let err = sts
        .assume_role()
        .role_arn(&plain_arn)
        .role_session_name("s3")
        .source_identity("sid-laptop")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        not_authorized(&sid_arn, "sts:SetSourceIdentity", &plain_arn)
    );
}

/// `PolicyArns`: "You can provide up to 10 managed policy ARNs" (STS API reference, AssumeRole).
/// botocore's model puts no bound on the list, so the refusal comes from the service; keyward
/// answers it as a `ValidationError` on `policyArns` in the AWS constraint wording.
#[tokio::test]
async fn assume_role_more_than_ten_policy_arns() {
    let server = Server::start();
    let acct = server.account_id.clone();
    let (key, secret) = server.new_user_with_key("pat").await;
    let role_arn = role(
        &server,
        "Scoped",
        &trust(
            &format!("arn:aws:iam::{acct}:user/pat"),
            &["sts:AssumeRole"],
            None,
        ),
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}"#,
    )
    .await;
    let arns: Vec<String> = (0..11)
        .map(|_| "arn:aws:iam::aws:policy/IAMReadOnlyAccess".to_owned())
        .collect();
    let descriptors = |n: usize| {
        arns.iter()
            .take(n)
            .map(|a| {
                aws_sdk_sts::types::PolicyDescriptorType::builder()
                    .arn(a)
                    .build()
            })
            .collect::<Vec<_>>()
    };
    let sts = server.sts(&key, &secret);
    let err = sts
        .assume_role()
        .role_arn(&role_arn)
        .role_session_name("eleven")
        .set_policy_arns(Some(descriptors(11)))
        .send()
        .await
        .unwrap_err();
    let (code, message, status) = aws_error(&err);
    assert_eq!((code.as_str(), status), ("ValidationError", 400));
    assert!(
        message.starts_with("1 validation error detected: Value [")
            && message.ends_with(
                "] at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to 10"
            ),
        "{message}"
    );
    let out = sts
        .assume_role()
        .role_arn(&role_arn)
        .role_session_name("ten")
        .set_policy_arns(Some(descriptors(10)))
        .send()
        .await
        .unwrap();
    iam_with(&server, &temp(&out.credentials.unwrap()), None)
        .list_users()
        .send()
        .await
        .unwrap();
}

/// Deleting a role revokes its sessions at once: the next request with the old credentials is
/// refused at authentication, as the credentials of a deleted principal are ("The security token
/// included in the request is invalid", InvalidClientTokenId).
#[tokio::test]
async fn role_deletion_revokes_its_sessions() {
    let server = Server::start();
    let acct = server.account_id.clone();
    let (key, secret) = server.new_user_with_key("gone").await;
    let role_arn = role(
        &server,
        "Doomed",
        &trust(
            &format!("arn:aws:iam::{acct}:user/gone"),
            &["sts:AssumeRole"],
            None,
        ),
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}]}"#,
    )
    .await;
    let session = temp(
        &server
            .sts(&key, &secret)
            .assume_role()
            .role_arn(&role_arn)
            .role_session_name("doomed")
            .send()
            .await
            .unwrap()
            .credentials
            .unwrap(),
    );
    iam_with(&server, &session, None)
        .list_users()
        .send()
        .await
        .unwrap();
    let root = server.root_iam();
    root.delete_role_policy()
        .role_name("Doomed")
        .policy_name("p")
        .send()
        .await
        .unwrap();
    root.delete_role().role_name("Doomed").send().await.unwrap();
    let err = iam_with(&server, &session, None)
        .list_users()
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err).0, "InvalidClientTokenId");
    let err = sts_with(&server, &session, None)
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "InvalidClientTokenId".into(),
            "The security token included in the request is invalid.".into(),
            403
        )
    );
    // A role of the same name is another role: the old session does not come back.
    role(
        &server,
        "Doomed",
        &trust(
            &format!("arn:aws:iam::{acct}:user/gone"),
            &["sts:AssumeRole"],
            None,
        ),
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}]}"#,
    )
    .await;
    let err = iam_with(&server, &session, None)
        .list_users()
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err).0, "InvalidClientTokenId");
}

/// The refusal of a permission-only STS action a trust policy does not grant, as STS words it
/// (no "because" clause, like its `AssumeRole` refusals), e.g. "User: arn:aws:sts::...:assumed-role/
/// ROLE/SESSION is not authorized to perform: sts:SetSourceIdentity on resource:
/// arn:aws:iam::...:role/ROLE" as reported by users of AWS in noqdev/iambic#357.
fn not_authorized(caller_arn: &str, action: &str, role_arn: &str) -> (String, String, u16) {
    common::access_denied(format!(
        "User: {caller_arn} is not authorized to perform: {action} on resource: {role_arn}"
    ))
}

/// The source identity's rules for role chaining (IAM User Guide, "Monitor and control actions
/// taken with assumed roles"): "permissions for sts:SetSourceIdentity are required in both the
/// permissions policy of the principal who is assuming the role and in the role trust policy of
/// the target role" even when the chained call does not name it (the value is sticky), and "If the
/// user attempts to set a source identity that is different from the value set when CriticalRole
/// was assumed, the assume role request will be denied". Also "The value of source identity must
/// be between 2 and 64 characters long" (botocore `sourceIdentityType`: max 64), and the guide's
/// own example trust policy, which conditions `sts:SetSourceIdentity` on `sts:SourceIdentity`.
#[tokio::test]
async fn source_identity_is_sticky_and_immutable() {
    let server = Server::start();
    let acct = server.account_id.clone();
    let (key, secret) = server.new_user_with_key("DevUser").await;
    let dev_arn = format!("arn:aws:iam::{acct}:user/DevUser");
    let list = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:ListUsers","sts:AssumeRole","sts:SetSourceIdentity"],"Resource":"*"}]}"#;
    // The guide's "Example role trust policy for source identity".
    let developer_arn = role(
        &server,
        "Developer_Role",
        &trust(
            &dev_arn,
            &["sts:AssumeRole", "sts:SetSourceIdentity"],
            Some(r#"{"StringEquals":{"sts:SourceIdentity":"DevUser"}}"#),
        ),
        list,
    )
    .await;
    let sts = server.sts(&key, &secret);
    let err = sts
        .assume_role()
        .role_arn(&developer_arn)
        .role_session_name("Dev-project")
        .source_identity("SomeoneElse")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        assume_role_denied(&dev_arn, &developer_arn)
    );
    let out = sts
        .assume_role()
        .role_arn(&developer_arn)
        .role_session_name("Dev-project")
        .source_identity("DevUser")
        .send()
        .await
        .unwrap();
    let dev = temp(&out.credentials.unwrap());
    let dev_session_arn = format!("arn:aws:sts::{acct}:assumed-role/Developer_Role/Dev-project");

    // Chaining to a role whose trust policy grants sts:AssumeRole only: the inherited source
    // identity needs sts:SetSourceIdentity there too.
    let plain_arn = role(
        &server,
        "Plain",
        &trust(&developer_arn, &["sts:AssumeRole"], None),
        list,
    )
    .await;
    let err = sts_with(&server, &dev, None)
        .assume_role()
        .role_arn(&plain_arn)
        .role_session_name("chained")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        not_authorized(&dev_session_arn, "sts:SetSourceIdentity", &plain_arn)
    );

    // A role that grants it: the same value passes, another one is refused.
    let next_arn = role(
        &server,
        "Next",
        &trust(
            &developer_arn,
            &["sts:AssumeRole", "sts:SetSourceIdentity"],
            None,
        ),
        list,
    )
    .await;
    let out = sts_with(&server, &dev, None)
        .assume_role()
        .role_arn(&next_arn)
        .role_session_name("chained")
        .source_identity("DevUser")
        .send()
        .await
        .unwrap();
    assert_eq!(out.source_identity(), Some("DevUser"));
    let err = sts_with(&server, &dev, None)
        .assume_role()
        .role_arn(&next_arn)
        .role_session_name("chained")
        .source_identity("Mallory")
        .send()
        .await
        .unwrap_err();
    let (code, _, status) = aws_error(&err);
    assert_eq!((code.as_str(), status), ("AccessDenied", 403));

    // 2 to 64 characters of [\w+=,.@-]* ("aws:" is reserved, and ':' is outside the pattern).
    let long = "s".repeat(65);
    let open_arn = role(
        &server,
        "Open",
        &trust(&dev_arn, &["sts:AssumeRole", "sts:SetSourceIdentity"], None),
        list,
    )
    .await;
    let max = "s".repeat(64);
    for (source, message) in [
        (
            long.clone(),
            format!(
                "1 validation error detected: Value '{long}' at 'sourceIdentity' failed to satisfy constraint: Member must have length less than or equal to 64"
            ),
        ),
        (
            "aws:x".to_owned(),
            r"1 validation error detected: Value 'aws:x' at 'sourceIdentity' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*".to_owned(),
        ),
    ] {
        let err = sts
            .assume_role()
            .role_arn(&open_arn)
            .role_session_name("open")
            .source_identity(&source)
            .send()
            .await
            .unwrap_err();
        assert_eq!(aws_error(&err), validation(&message), "{source}");
    }
    let out = sts
        .assume_role()
        .role_arn(&open_arn)
        .role_session_name("open")
        .source_identity(&max)
        .send()
        .await
        .unwrap();
    assert_eq!(out.source_identity(), Some(max.as_str()));
}

/// In a chained `AssumeRole` the inherited source identity is in the request as
/// `sts:SourceIdentity` too (IAM User Guide, "Monitor and control actions taken with assumed
/// roles", role chaining: "the source identity in the request persists from the first assumed role
/// session. Therefore, both the aws:SourceIdentity and sts:SourceIdentity keys are present in the
/// request context"), so a trust policy conditioning `sts:AssumeRole` on it lets the chain through.
#[tokio::test]
async fn chained_assume_role_sees_the_inherited_source_identity() {
    let server = Server::start();
    let acct = server.account_id.clone();
    let (key, secret) = server.new_user_with_key("DevUser").await;
    let dev_arn = format!("arn:aws:iam::{acct}:user/DevUser");
    let list = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:ListUsers","sts:AssumeRole","sts:SetSourceIdentity"],"Resource":"*"}]}"#;
    let first_arn = role(
        &server,
        "First",
        &trust(&dev_arn, &["sts:AssumeRole", "sts:SetSourceIdentity"], None),
        list,
    )
    .await;
    let critical_arn = role(
        &server,
        "Critical",
        &trust(
            &first_arn,
            &["sts:AssumeRole", "sts:SetSourceIdentity"],
            Some(r#"{"StringEquals":{"sts:SourceIdentity":"DevUser"}}"#),
        ),
        list,
    )
    .await;
    let first = temp(
        &server
            .sts(&key, &secret)
            .assume_role()
            .role_arn(&first_arn)
            .role_session_name("first")
            .source_identity("DevUser")
            .send()
            .await
            .unwrap()
            .credentials
            .unwrap(),
    );
    let out = sts_with(&server, &first, None)
        .assume_role()
        .role_arn(&critical_arn)
        .role_session_name("critical")
        .send()
        .await
        .unwrap();
    assert_eq!(out.source_identity(), Some("DevUser"));
}

//! STS through aws-sdk-sts and aws-sdk-iam against a running keyward: session credentials with
//! MFA context (S4, S5), role trust policies naming a role (S12), session policies, federation
//! tokens, expiry on a restarted server with a moved clock, revocation (S15).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// `PackedPolicySize` is deprecated in the SDK (replaced by `SessionTokenUtilization`) but still
// in the wire shape; the tests read it.
#![allow(deprecated)]

mod common;

use common::{
    Aws, Server, Temp, aws_cli, aws_error, enable_mfa, iam_with, now_secs, sts_with, temp,
    totp_code,
};

const MFA_REQUIRED: &str = r#"{"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Action":["iam:ListUsers","iam:GetUser"],"Resource":"*"},
  {"Sid":"DenyAllExceptListedIfNoMFA","Effect":"Deny","NotAction":"sts:GetSessionToken","Resource":"*",
   "Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}]}"#;

/// S4: under a policy that denies unless `aws:MultiFactorAuthPresent`, long-term keys are refused;
/// `get-session-token --serial-number --token-code` returns ASIA credentials that are allowed; a
/// wrong or used code is refused; session credentials cannot call GetSessionToken again; without
/// MFA, session credentials cannot call IAM at all.
#[tokio::test]
async fn s4_mfa_protected_api_access() {
    let server = Server::start();
    let acct = server.account_id.clone();
    let (key, secret) = server.new_user_with_key("alice").await;
    let (serial, seed, t) = enable_mfa(&server.root_iam(), "alice").await;
    server
        .root_iam()
        .put_user_policy()
        .user_name("alice")
        .policy_name("mfa")
        .policy_document(MFA_REQUIRED)
        .send()
        .await
        .unwrap();
    assert_eq!(serial, format!("arn:aws:iam::{acct}:mfa/alice"));

    let err = server
        .iam(&key, &secret)
        .list_users()
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        common::access_denied(format!(
            "User: arn:aws:iam::{acct}:user/alice is not authorized to perform: iam:ListUsers on resource: arn:aws:iam::{acct}:user/ with an explicit deny in an identity-based policy"
        ))
    );

    let sts = server.sts(&key, &secret);
    let wrong = if totp_code(&seed, t + 1) == "000000" {
        "111111"
    } else {
        "000000"
    };
    let err = sts
        .get_session_token()
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

    let good = totp_code(&seed, t + 1);
    let out = sts
        .get_session_token()
        .serial_number(&serial)
        .token_code(&good)
        .send()
        .await
        .unwrap();
    let c = out.credentials.unwrap();
    assert!(c.access_key_id.starts_with("ASIA") && c.access_key_id.len() == 20);
    assert_eq!(c.secret_access_key.len(), 40);
    let expires = c.expiration.secs();
    let now = now_secs();
    assert!((expires - now - 43_200).abs() < 60, "default 12 hours");
    let session = temp(&c);

    // With the MFA session the same call is allowed, and the caller is still alice.
    iam_with(&server, &session, None)
        .list_users()
        .send()
        .await
        .unwrap();
    let me = sts_with(&server, &session, None)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(
        me.arn(),
        Some(format!("arn:aws:iam::{acct}:user/alice").as_str())
    );

    // A used code is not accepted again.
    let err = sts
        .get_session_token()
        .serial_number(&serial)
        .token_code(&good)
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err).0, "AccessDenied");

    // Session credentials cannot get another session token.
    let err = sts_with(&server, &session, None)
        .get_session_token()
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        common::access_denied("Cannot call GetSessionToken with session credentials")
    );

    // Without MFA, GetSessionToken credentials cannot call IAM.
    let plain = sts
        .get_session_token()
        .duration_seconds(900)
        .send()
        .await
        .unwrap();
    let plain = temp(&plain.credentials.unwrap());
    let err = iam_with(&server, &plain, None)
        .get_user()
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err), iam_refuses_session());

    // A missing or altered token is refused.
    let mut altered = session.clone();
    altered
        .2
        .replace_range(10..11, if &altered.2[10..11] == "A" { "B" } else { "A" });
    let err = iam_with(&server, &altered, None)
        .list_users()
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
    let err = server
        .iam(&session.0, &session.1)
        .list_users()
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err).0, "InvalidClientTokenId");

    // Deleting the user revokes its sessions at once.
    let root = server.root_iam();
    root.deactivate_mfa_device()
        .user_name("alice")
        .serial_number(&serial)
        .send()
        .await
        .unwrap();
    root.delete_virtual_mfa_device()
        .serial_number(&serial)
        .send()
        .await
        .unwrap();
    root.delete_user_policy()
        .user_name("alice")
        .policy_name("mfa")
        .send()
        .await
        .unwrap();
    root.delete_access_key()
        .user_name("alice")
        .access_key_id(&key)
        .send()
        .await
        .unwrap();
    root.delete_user().user_name("alice").send().await.unwrap();
    let err = iam_with(&server, &session, None)
        .list_users()
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err).0, "InvalidClientTokenId");
}

/// S5: an explicit deny of `sts:GetSessionToken` refuses it, naming the policy type; without one,
/// no permission is needed.
#[tokio::test]
async fn s5_get_session_token_denied() {
    let server = Server::start();
    let acct = server.account_id.clone();
    let (key, secret) = server.new_user_with_key("bob").await;
    let sts = server.sts(&key, &secret);
    sts.get_session_token().send().await.unwrap();
    let err = sts
        .get_session_token()
        .duration_seconds(899)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "ValidationError".into(),
            "1 validation error detected: Value 899 at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900".into(),
            400
        )
    );
    server
        .root_iam()
        .put_user_policy()
        .user_name("bob")
        .policy_name("no-sts")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"sts:GetSessionToken","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    let err = sts.get_session_token().send().await.unwrap_err();
    assert_eq!(
        aws_error(&err),
        common::access_denied(format!(
            "User: arn:aws:iam::{acct}:user/bob is not authorized to perform: sts:GetSessionToken with an explicit deny in an identity-based policy"
        ))
    );
}

/// STS checks codes with the server's MFA settings, not the defaults: `--mfa-window-steps 2`
/// accepts a code two steps ahead, and `--mfa-throttle-failures 2` locks a device after two wrong
/// codes, so that a right code is refused next.
#[tokio::test]
async fn mfa_codes_are_checked_with_the_servers_settings() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_in(
        tmp.path(),
        &["--mfa-window-steps", "2", "--mfa-throttle-failures", "2"],
    );
    let session = |user: &'static str| {
        let server = &server;
        async move {
            let (key, secret) = server.new_user_with_key(user).await;
            let (serial, seed, t) = enable_mfa(&server.root_iam(), user).await;
            (server.sts(&key, &secret), serial, seed, t)
        }
    };
    let (sts, serial, seed, t) = session("alice").await;
    sts.get_session_token()
        .serial_number(&serial)
        .token_code(totp_code(&seed, t + 2))
        .send()
        .await
        .unwrap();

    let (sts, serial, seed, t) = session("bob").await;
    let near: Vec<String> = (t - 3..=t + 3).map(|s| totp_code(&seed, s)).collect();
    let wrong = ["000000", "111111", "222222", "333333"]
        .into_iter()
        .filter(|c| !near.iter().any(|n| n == c));
    for code in wrong.take(2).chain([totp_code(&seed, t + 1).as_str()]) {
        let err = sts
            .get_session_token()
            .serial_number(&serial)
            .token_code(code)
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            aws_error(&err),
            common::access_denied(keyward_core::ops::MFA_FAILED)
        );
    }
}

fn trust_of(principal_arn: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":["{principal_arn}"]}},"Action":"sts:AssumeRole"}}]}}"#
    )
}

/// IAM's answer to temporary credentials it does not take: GetSessionToken's without MFA, and
/// federated users'.
fn iam_refuses_session() -> (String, String, u16) {
    (
        "InvalidClientTokenId".into(),
        "The security token included in the request is invalid".into(),
        403,
    )
}

const LIST_ALL: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:ListUsers","iam:ListRoles","iam:GetRole"],"Resource":"*"}]}"#;

/// S12 and S15: a trust policy naming a user, one naming a role ARN (the seed's example), role
/// chaining's one-hour cap, session policies intersecting the role's, caller identities, revoking
/// older sessions with `aws:TokenIssueTime`.
#[tokio::test]
async fn s12_s15_assume_role_trust_and_session_policies() {
    let server = Server::start();
    let acct = server.account_id.clone();
    let root = server.root_iam();
    let (key, secret) = server.new_user_with_key("alice").await;
    let (mkey, msecret) = server.new_user_with_key("mallory").await;
    let alice_arn = format!("arn:aws:iam::{acct}:user/alice");
    let my_role_arn = format!("arn:aws:iam::{acct}:role/MyRole");
    root.create_role()
        .role_name("MyRole")
        .assume_role_policy_document(trust_of(&alice_arn))
        .max_session_duration(7200)
        .send()
        .await
        .unwrap();
    root.put_role_policy()
        .role_name("MyRole")
        .policy_name("list")
        .policy_document(LIST_ALL)
        .send()
        .await
        .unwrap();
    root.create_role()
        .role_name("Target")
        .path("/app/")
        .assume_role_policy_document(trust_of(&my_role_arn))
        .send()
        .await
        .unwrap();
    root.put_role_policy()
        .role_name("Target")
        .policy_name("list")
        .policy_document(LIST_ALL)
        .send()
        .await
        .unwrap();

    // The trust policy names alice: no identity policy is needed in the same account.
    let sts = server.sts(&key, &secret);
    let out = sts
        .assume_role()
        .role_arn(&my_role_arn)
        .role_session_name("alice-session")
        .duration_seconds(7200)
        .send()
        .await
        .unwrap();
    let user = out.assumed_role_user.unwrap();
    assert_eq!(
        user.arn,
        format!("arn:aws:sts::{acct}:assumed-role/MyRole/alice-session")
    );
    assert!(
        user.assumed_role_id.starts_with("AROA")
            && user.assumed_role_id.ends_with(":alice-session")
    );
    assert!(out.packed_policy_size.is_none());
    let my_role = temp(&out.credentials.unwrap());
    let me = sts_with(&server, &my_role, None)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(me.arn(), Some(user.arn.as_str()));
    assert_eq!(me.user_id(), Some(user.assumed_role_id.as_str()));
    iam_with(&server, &my_role, None)
        .list_users()
        .send()
        .await
        .unwrap();

    // Over the role's MaxSessionDuration.
    let err = sts
        .assume_role()
        .role_arn(&my_role_arn)
        .role_session_name("long")
        .duration_seconds(7201)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "ValidationError".into(),
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
                .into(),
            400
        )
    );

    // Someone the trust policy does not name, without any policy.
    let err = server
        .sts(&mkey, &msecret)
        .assume_role()
        .role_arn(&my_role_arn)
        .role_session_name("x1")
        .send()
        .await
        .unwrap_err();
    // STS does not say which policy failed to allow an AssumeRole.
    assert_eq!(
        aws_error(&err),
        common::access_denied(format!(
            "User: arn:aws:iam::{acct}:user/mallory is not authorized to perform: sts:AssumeRole on resource: {my_role_arn}"
        ))
    );

    // S12: the Target role trusts the role ARN; its session may assume it (role chaining), for
    // at most one hour.
    let target_arn = format!("arn:aws:iam::{acct}:role/app/Target");
    let chained = sts_with(&server, &my_role, None);
    let err = chained
        .assume_role()
        .role_arn(&target_arn)
        .role_session_name("chain")
        .duration_seconds(3601)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "ValidationError".into(),
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.".into(),
            400
        )
    );
    let out = chained
        .assume_role()
        .role_arn(&target_arn)
        .role_session_name("chain")
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.assumed_role_user.unwrap().arn,
        format!("arn:aws:sts::{acct}:assumed-role/Target/chain")
    );
    // Alice herself is not trusted by Target.
    let err = sts
        .assume_role()
        .role_arn(&target_arn)
        .role_session_name("direct")
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err).0, "AccessDenied");

    // S15: a session policy intersects with the role's policies.
    let out = sts
        .assume_role()
        .role_arn(&my_role_arn)
        .role_session_name("narrow")
        .policy(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListRoles","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    assert!(out.packed_policy_size.unwrap() > 0);
    let narrow = iam_with(&server, &temp(&out.credentials.unwrap()), None);
    narrow.list_roles().send().await.unwrap();
    let err = narrow.list_users().send().await.unwrap_err();
    assert_eq!(
        aws_error(&err),
        common::access_denied(format!(
            "User: arn:aws:sts::{acct}:assumed-role/MyRole/narrow is not authorized to perform: iam:ListUsers on resource: arn:aws:iam::{acct}:user/ because no session policy allows the iam:ListUsers action"
        ))
    );
    // A managed session policy works the same way.
    let out = sts
        .assume_role()
        .role_arn(&my_role_arn)
        .role_session_name("managed")
        .policy_arns(
            aws_sdk_sts::types::PolicyDescriptorType::builder()
                .arn("arn:aws:iam::aws:policy/IAMReadOnlyAccess")
                .build(),
        )
        .send()
        .await
        .unwrap();
    iam_with(&server, &temp(&out.credentials.unwrap()), None)
        .get_role()
        .role_name("MyRole")
        .send()
        .await
        .unwrap();
    // A malformed session policy is refused in IAM's words.
    let err = sts
        .assume_role()
        .role_arn(&my_role_arn)
        .role_session_name("bad")
        .policy(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListRoles"}]}"#,
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err).0, "MalformedPolicyDocument");

    // GetRole reports the role's last use.
    let role = root
        .get_role()
        .role_name("MyRole")
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    assert_eq!(
        role.role_last_used().and_then(|u| u.region()),
        Some("us-east-1")
    );

    // Revoke older sessions: AWS's AWSRevokeOlderSessions policy, with a date after the issue.
    let cutoff = time::OffsetDateTime::now_utc() + time::Duration::seconds(5);
    let cutoff = cutoff
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    root.put_role_policy()
        .role_name("MyRole")
        .policy_name("AWSRevokeOlderSessions")
        .policy_document(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Action":["*"],"Resource":["*"],"Condition":{{"DateLessThan":{{"aws:TokenIssueTime":"{cutoff}"}}}}}}]}}"#
        ))
        .send()
        .await
        .unwrap();
    let err = iam_with(&server, &my_role, None)
        .list_users()
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        common::access_denied(format!(
            "User: arn:aws:sts::{acct}:assumed-role/MyRole/alice-session is not authorized to perform: iam:ListUsers on resource: arn:aws:iam::{acct}:user/ with an explicit deny in an identity-based policy"
        ))
    );

    // Deleting the role revokes its sessions.
    root.delete_role_policy()
        .role_name("Target")
        .policy_name("list")
        .send()
        .await
        .unwrap();
    root.delete_role().role_name("Target").send().await.unwrap();
    // The Target role is gone: its ARN no longer resolves, so a new chain is refused.
    let err = sts_with(&server, &my_role, None)
        .assume_role()
        .role_arn(&target_arn)
        .role_session_name("gone")
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err).0, "AccessDenied");
}

/// AWS's refusal of `AssumeRole`, which names neither the policy nor whether the role exists.
fn assume_role_denied(caller_arn: &str, role_arn: &str) -> (String, String, u16) {
    common::access_denied(format!(
        "User: {caller_arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
    ))
}

/// S12 in a single-account server: a trust policy naming only another account's root trusts
/// nobody here, whatever the caller's identity policy allows; one naming this account's root
/// delegates to the account, so the caller's identity policy must also allow `sts:AssumeRole`.
#[tokio::test]
async fn s12_trust_in_another_account_or_in_this_account_root() {
    let server = Server::start();
    let acct = server.account_id.clone();
    let root = server.root_iam();
    let (key, secret) = server.new_user_with_key("alice").await;
    let (bkey, bsecret) = server.new_user_with_key("bob").await;
    let alice_arn = format!("arn:aws:iam::{acct}:user/alice");
    let bob_arn = format!("arn:aws:iam::{acct}:user/bob");
    root.put_user_policy()
        .user_name("alice")
        .policy_name("assume-any")
        .policy_document(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::{acct}:role/*"}}]}}"#
        ))
        .send()
        .await
        .unwrap();
    let foreign_arn = format!("arn:aws:iam::{acct}:role/TrustsForeign");
    root.create_role()
        .role_name("TrustsForeign")
        .assume_role_policy_document(trust_of("arn:aws:iam::111122223333:root"))
        .send()
        .await
        .unwrap();
    let local_arn = format!("arn:aws:iam::{acct}:role/TrustsAccount");
    root.create_role()
        .role_name("TrustsAccount")
        .assume_role_policy_document(trust_of(&format!("arn:aws:iam::{acct}:root")))
        .send()
        .await
        .unwrap();

    let alice = server.sts(&key, &secret);
    let bob = server.sts(&bkey, &bsecret);
    // The foreign account is trusted, this one is not: the identity policy cannot make up for it.
    let err = alice
        .assume_role()
        .role_arn(&foreign_arn)
        .role_session_name("s1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        assume_role_denied(&alice_arn, &foreign_arn)
    );

    // This account's root: delegation to the account's identity policies.
    let err = bob
        .assume_role()
        .role_arn(&local_arn)
        .role_session_name("s2")
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err), assume_role_denied(&bob_arn, &local_arn));
    let out = alice
        .assume_role()
        .role_arn(&local_arn)
        .role_session_name("s3")
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.assumed_role_user.unwrap().arn,
        format!("arn:aws:sts::{acct}:assumed-role/TrustsAccount/s3")
    );

    // A role that does not exist, here or in the foreign account, is refused in the same words.
    for missing in [
        format!("arn:aws:iam::{acct}:role/Missing"),
        "arn:aws:iam::111122223333:role/TrustsAnyone".to_owned(),
    ] {
        let err = alice
            .assume_role()
            .role_arn(&missing)
            .role_session_name("s4")
            .send()
            .await
            .unwrap_err();
        assert_eq!(aws_error(&err), assume_role_denied(&alice_arn, &missing));
    }
}

/// S15: a federation token's session policy is required for any permission and intersects with
/// the user's; its credentials cannot call IAM; its identity is the federated user.
#[tokio::test]
async fn s15_federation_token_and_access_key_info() {
    let server = Server::start();
    let acct = server.account_id.clone();
    let (key, secret) = server.new_user_with_key("broker").await;
    let sts = server.sts(&key, &secret);
    let err = sts
        .get_federation_token()
        .name("carol")
        .send()
        .await
        .unwrap_err();
    assert!(
        aws_error(&err).1.contains(&format!(
            "is not authorized to perform: sts:GetFederationToken on resource: arn:aws:sts::{acct}:federated-user/carol"
        )),
        "{err:?}"
    );
    server
        .root_iam()
        .put_user_policy()
        .user_name("broker")
        .policy_name("fed")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:GetFederationToken","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    let out = sts
        .get_federation_token()
        .name("carol")
        .policy(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    let fed = out.federated_user.unwrap();
    assert_eq!(fed.arn, format!("arn:aws:sts::{acct}:federated-user/carol"));
    assert_eq!(fed.federated_user_id, format!("{acct}:carol"));
    assert!(out.packed_policy_size.is_some());
    let creds = temp(&out.credentials.unwrap());
    let me = sts_with(&server, &creds, None)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(me.arn(), Some(fed.arn.as_str()));
    assert_eq!(me.user_id(), Some(fed.federated_user_id.as_str()));
    // No IAM operation at all, and no STS operation but GetCallerIdentity.
    let err = iam_with(&server, &creds, None)
        .list_users()
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err), iam_refuses_session());
    let fed_sts = sts_with(&server, &creds, None);
    let session_refused = |action: &str| {
        (
            "AccessDenied".to_owned(),
            format!("Cannot call {action} with session credentials"),
            403,
        )
    };
    let err = fed_sts
        .get_federation_token()
        .name("again")
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err), session_refused("GetFederationToken"));
    let err = fed_sts.get_session_token().send().await.unwrap_err();
    assert_eq!(aws_error(&err), session_refused("GetSessionToken"));
    let err = fed_sts
        .get_access_key_info()
        .access_key_id(&key)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        common::access_denied(format!(
            "User: {} is not authorized to perform: sts:GetAccessKeyInfo",
            fed.arn
        ))
    );
    let any_role = format!("arn:aws:iam::{acct}:role/Any");
    let err = fed_sts
        .assume_role()
        .role_arn(&any_role)
        .role_session_name("fed")
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err), assume_role_denied(&fed.arn, &any_role));

    // GetAccessKeyInfo: the account of a long-term and of a temporary key.
    let root_sts = server.root_sts();
    for id in [key.as_str(), creds.0.as_str()] {
        let info = root_sts
            .get_access_key_info()
            .access_key_id(id)
            .send()
            .await
            .unwrap();
        assert_eq!(info.account(), Some(acct.as_str()));
    }
}

/// S15: expiry. A 15-minute session is opened by a restarted server (same data folder, so the
/// same master key) whose clock runs an hour ahead: `ExpiredToken`. A longer session still works.
#[tokio::test]
async fn s15_expired_credentials_after_restart_with_a_moved_clock() {
    let tmp = tempfile::tempdir().unwrap();
    let mut first = Server::start_in(tmp.path(), &[]);
    let (key, secret) = first.new_user_with_key("eve").await;
    let sts = first.sts(&key, &secret);
    let short = temp(
        &sts.get_session_token()
            .duration_seconds(900)
            .send()
            .await
            .unwrap()
            .credentials
            .unwrap(),
    );
    let long = temp(
        &sts.get_session_token()
            .duration_seconds(7200)
            .send()
            .await
            .unwrap()
            .credentials
            .unwrap(),
    );
    first.stop();
    let moved = Server::start_in(tmp.path(), &["--clock-offset-secs", "3600"]);
    let err = sts_with(&moved, &short, Some(3600))
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "ExpiredToken".into(),
            "The security token included in the request is expired".into(),
            403
        )
    );
    let me = sts_with(&moved, &long, Some(3600))
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert!(me.arn().unwrap().ends_with(":user/eve"));
}

/// `aws cloudtrail lookup-events --max-results 1` with temporary credentials: the events on
/// success, otherwise the CLI's error line ("An error occurred (CODE) when calling ...").
fn lookup_events(aws: &Aws, t: &Temp) -> Result<serde_json::Value, String> {
    let (ok, stdout, stderr) = aws.run_with_token(
        &t.0,
        &t.1,
        Some(&t.2),
        &["cloudtrail", "lookup-events", "--max-results", "1"],
    );
    if ok {
        Ok(serde_json::from_str(&stdout).unwrap())
    } else {
        Err(stderr.trim().to_owned())
    }
}

const LOOKUP: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"cloudtrail:LookupEvents","Resource":"*"}]}"#;

/// S15 through the one non-IAM/STS action keyward serves, CloudTrail's `LookupEvents` (JSON 1.1):
/// a federated user may do only what both the user's policies and the session policies (inline
/// `Policy` or managed `PolicyArns`) allow, and nothing without a session policy.
#[tokio::test]
async fn s15_federation_token_session_policies_intersect_on_lookup_events() {
    let Some(exe) = aws_cli() else { return };
    let server = Server::start();
    let acct = server.account_id.clone();
    let aws = Aws {
        exe,
        endpoint: server.endpoint(),
        home: tempfile::tempdir().unwrap(),
    };
    let root = server.root_iam();
    let fed_only = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:GetFederationToken","Resource":"*"}]}"#;
    let (key, secret) = server.new_user_with_key("broker").await;
    let (nkey, nsecret) = server.new_user_with_key("narrow").await;
    for (user, name, doc) in [
        ("broker", "fed", fed_only),
        ("broker", "lookup", LOOKUP),
        ("narrow", "fed", fed_only),
    ] {
        root.put_user_policy()
            .user_name(user)
            .policy_name(name)
            .policy_document(doc)
            .send()
            .await
            .unwrap();
    }
    let lookup_policy = root
        .create_policy()
        .policy_name("LookupOnly")
        .policy_document(LOOKUP)
        .send()
        .await
        .unwrap()
        .policy
        .unwrap()
        .arn
        .unwrap();

    // (user's key, federated name, inline policy, managed policy) → the token's credentials.
    let token = |k: &str, s: &str, name: &str, policy: Option<&str>, arn: Option<&str>| {
        let sts = server.sts(k, s);
        let (name, policy, arn) = (
            name.to_owned(),
            policy.map(str::to_owned),
            arn.map(str::to_owned),
        );
        async move {
            let out = sts
                .get_federation_token()
                .name(name)
                .set_policy(policy)
                .set_policy_arns(arn.map(|a| {
                    vec![
                        aws_sdk_sts::types::PolicyDescriptorType::builder()
                            .arn(a)
                            .build(),
                    ]
                }))
                .send()
                .await
                .unwrap();
            temp(&out.credentials.unwrap())
        }
    };
    let denied = |name: &str, because: &str| {
        format!(
            "An error occurred (AccessDeniedException) when calling the LookupEvents operation: User: arn:aws:sts::{acct}:federated-user/{name} is not authorized to perform: cloudtrail:LookupEvents because no {because} allows the cloudtrail:LookupEvents action"
        )
    };

    // Both allow: allowed.
    let both = token(&key, &secret, "both", Some(LOOKUP), None).await;
    let events = lookup_events(&aws, &both).unwrap();
    assert!(events["Events"].is_array(), "{events}");
    let me = sts_with(&server, &both, None)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(
        me.arn(),
        Some(format!("arn:aws:sts::{acct}:federated-user/both").as_str())
    );
    assert_eq!(me.user_id(), Some(format!("{acct}:both").as_str()));

    // The session policy allows something else: refused, naming the session policy.
    let other = token(
        &key,
        &secret,
        "other",
        Some(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#),
        None,
    )
    .await;
    assert_eq!(
        lookup_events(&aws, &other),
        Err(denied("other", "session policy"))
    );

    // No session policy at all: no permission.
    let bare = token(&key, &secret, "bare", None, None).await;
    assert_eq!(
        lookup_events(&aws, &bare),
        Err(denied("bare", "session policy"))
    );

    // The session policy allows it but the user's policies do not: the intersection is empty.
    let over = token(&nkey, &nsecret, "over", Some(LOOKUP), None).await;
    assert_eq!(
        lookup_events(&aws, &over),
        Err(denied("over", "identity-based policy"))
    );

    // Managed session policies (PolicyArns) work the same way.
    let managed = token(&key, &secret, "managed", None, Some(&lookup_policy)).await;
    lookup_events(&aws, &managed).unwrap();
    let iam_only = token(
        &key,
        &secret,
        "iamonly",
        None,
        Some("arn:aws:iam::aws:policy/IAMReadOnlyAccess"),
    )
    .await;
    assert_eq!(
        lookup_events(&aws, &iam_only),
        Err(denied("iamonly", "session policy"))
    );
    let managed_over = token(&nkey, &nsecret, "managedover", None, Some(&lookup_policy)).await;
    assert_eq!(
        lookup_events(&aws, &managed_over),
        Err(denied("managedover", "identity-based policy"))
    );
}

/// `DecodeAuthorizationMessage` needs `sts:DecodeAuthorizationMessage`; keyward encodes no
/// authorization message (its refusals are clear text), so every message it is given is one it
/// cannot decode: `InvalidAuthorizationMessageException`.
#[tokio::test]
async fn decode_authorization_message_needs_permission_and_decodes_nothing() {
    let server = Server::start();
    let acct = server.account_id.clone();
    let (key, secret) = server.new_user_with_key("dave").await;
    let sts = server.sts(&key, &secret);
    let err = sts
        .decode_authorization_message()
        .encoded_message("anything")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        common::access_denied(format!(
            "User: arn:aws:iam::{acct}:user/dave is not authorized to perform: sts:DecodeAuthorizationMessage because no identity-based policy allows the sts:DecodeAuthorizationMessage action"
        ))
    );
    server
        .root_iam()
        .put_user_policy()
        .user_name("dave")
        .policy_name("decode")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:DecodeAuthorizationMessage","sts:GetFederationToken"],"Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    let invalid = (
        "InvalidAuthorizationMessageException".to_owned(),
        "The message passed to DecodeAuthorizationMessage was invalid.".to_owned(),
        400,
    );
    // Whatever it is: random text, AWS-like encoded text, or one of keyward's own refusals.
    for message in [
        "anything".to_owned(),
        "FR4gBD7Ph097WYBkzX9hVjGppLMy4jpXRvjeA5o7TembBR-Jvowq6mNim0".to_owned(),
        aws_error(&err).1,
    ] {
        let err = sts
            .decode_authorization_message()
            .encoded_message(message)
            .send()
            .await
            .unwrap_err();
        assert!(
            err.as_service_error()
                .is_some_and(|e| e.is_invalid_authorization_message_exception())
        );
        assert_eq!(aws_error(&err), invalid);
    }
    let err = server
        .root_sts()
        .decode_authorization_message()
        .encoded_message("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err), invalid);

    // A federated user may call no STS operation but GetCallerIdentity, whatever its session
    // policy allows.
    let out = sts
        .get_federation_token()
        .name("dave-fed")
        .policy(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:DecodeAuthorizationMessage","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    let err = sts_with(&server, &temp(&out.credentials.unwrap()), None)
        .decode_authorization_message()
        .encoded_message("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        common::access_denied(format!(
            "User: arn:aws:sts::{acct}:federated-user/dave-fed is not authorized to perform: sts:DecodeAuthorizationMessage"
        ))
    );

    // encodedMessageType: 1 to 10,240 characters.
    let long = "A".repeat(10_241);
    let err = sts
        .decode_authorization_message()
        .encoded_message(&long)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "ValidationError".into(),
            format!(
                "1 validation error detected: Value '{long}' at 'encodedMessage' failed to satisfy constraint: Member must have length less than or equal to 10240"
            ),
            400
        )
    );
    let err = sts
        .decode_authorization_message()
        .encoded_message("")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "ValidationError".into(),
            "1 validation error detected: Value '' at 'encodedMessage' failed to satisfy constraint: Member must have length greater than or equal to 1".into(),
            400
        )
    );
}

/// A session policy of 100,000 characters (an allow-all document padded with spaces) is refused
/// before anything is sealed into a session token, as GetFederationToken refuses it: the
/// plaintext bound (2,048) counts what was sent, white space included.
#[tokio::test]
async fn assume_role_refuses_a_session_policy_padded_past_2048_characters() {
    let server = Server::start();
    let iam = server.root_iam();
    iam.create_role()
        .role_name("padded")
        .assume_role_policy_document(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{}:root"}},"Action":"sts:AssumeRole"}}]}}"#,
            server.account_id
        ))
        .send()
        .await
        .unwrap();
    let (key, secret) = server.new_user_with_key("padder").await;
    iam.put_user_policy()
        .user_name("padder")
        .policy_name("assume")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#,
        )
        .send()
        .await
        .unwrap();
    let allow_all =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    let padded = format!("{allow_all}{}", " ".repeat(100_000 - allow_all.len()));
    let err = server
        .sts(&key, &secret)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{}:role/padded", server.account_id))
        .role_session_name("padded-session")
        .policy(padded)
        .send()
        .await
        .unwrap_err();
    let (code, message, status) = common::aws_error(&err);
    assert_eq!(
        (code.as_str(), status),
        ("ValidationError", 400),
        "{message}"
    );
    assert!(
        message.ends_with(
            "at 'policy' failed to satisfy constraint: Member must have length less than or equal to 2048"
        ),
        "{message}"
    );
}

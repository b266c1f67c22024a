//! Requests outside botocore's input shapes, through aws-sdk-rust against the real server: each
//! family's too-long names, pattern violations, out-of-range integers and unknown enum values are
//! answered with AWS's `ValidationError` in the generated validators' exact words, from the
//! constraints `scripts/iam-shapes` derives from the models (`keyward_core::ops::shapes`); and a
//! request is validated before it is authorised.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use aws_sdk_iam::types::{AssignmentStatusType, PolicyScopeType, PolicyUsageType, StatusType, Tag};
use common::{Server, aws_error};

type AwsError = (String, String, u16);

/// One violated constraint, as AWS words it.
fn one(value: &str, field: &str, constraint: &str) -> AwsError {
    (
        "ValidationError".into(),
        format!(
            "1 validation error detected: Value {value} at '{field}' failed to satisfy constraint: {constraint}"
        ),
        400,
    )
}

fn quoted(value: &str) -> String {
    format!("'{value}'")
}

const MAX_LEN: &str = "Member must have length less than or equal to";
const MIN_LEN: &str = "Member must have length greater than or equal to";
const NAME_PATTERN: &str = r"Member must satisfy regular expression pattern: [\w+=,.@-]+";

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

#[tokio::test]
async fn users() {
    let server = Server::start();
    let iam = server.root_iam();
    let long = "u".repeat(65);
    let err = iam.create_user().user_name(&long).send().await.unwrap_err();
    assert_eq!(
        aws_error(&err),
        one(&quoted(&long), "userName", &format!("{MAX_LEN} 64"))
    );
    let err = iam
        .get_user()
        .user_name("bad name!")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        one("'bad name!'", "userName", NAME_PATTERN)
    );
    // Java's \w is ASCII.
    let err = iam
        .create_user()
        .user_name("José")
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err), one("'José'", "userName", NAME_PATTERN));
    let err = iam.list_users().max_items(1001).send().await.unwrap_err();
    assert_eq!(
        aws_error(&err),
        one(
            "1001",
            "maxItems",
            "Member must have value less than or equal to 1000"
        )
    );
    let key = "k".repeat(129);
    let err = iam
        .tag_user()
        .user_name("nobody")
        .tags(Tag::builder().key(&key).value("v").build().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        one(
            &quoted(&key),
            "tags.1.member.key",
            &format!("{MAX_LEN} 128")
        )
    );
    // Members in botocore's order, every violation in one answer.
    let err = iam
        .create_user()
        .user_name("bad name!")
        .path("nopath")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err).1,
        r"2 validation errors detected: Value 'nopath' at 'path' failed to satisfy constraint: Member must satisfy regular expression pattern: (\u002F)|(\u002F[\u0021-\u007E]+\u002F); Value 'bad name!' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+"
    );
}

#[tokio::test]
async fn groups() {
    let server = Server::start();
    let iam = server.root_iam();
    let long = "g".repeat(129);
    let err = iam
        .create_group()
        .group_name(&long)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        one(&quoted(&long), "groupName", &format!("{MAX_LEN} 128"))
    );
    let err = iam
        .add_user_to_group()
        .group_name("g")
        .user_name("a/b")
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err), one("'a/b'", "userName", NAME_PATTERN));
    let err = iam.list_groups().max_items(0).send().await.unwrap_err();
    assert_eq!(
        aws_error(&err),
        one(
            "0",
            "maxItems",
            "Member must have value greater than or equal to 1"
        )
    );
    let err = iam
        .list_groups()
        .path_prefix("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        one(
            "'nope'",
            "pathPrefix",
            r"Member must satisfy regular expression pattern: \u002F[\u0021-\u007F]*"
        )
    );
}

#[tokio::test]
async fn roles() {
    let server = Server::start();
    let iam = server.root_iam();
    let long = "r".repeat(65);
    let err = iam
        .create_role()
        .role_name(&long)
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        one(&quoted(&long), "roleName", &format!("{MAX_LEN} 64"))
    );
    let err = iam
        .create_role()
        .role_name("r")
        .assume_role_policy_document(TRUST)
        .max_session_duration(3599)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        one(
            "3599",
            "maxSessionDuration",
            "Member must have value greater than or equal to 3600"
        )
    );
    let err = iam
        .update_role_description()
        .role_name("r")
        .description("tab\tok, delete\u{7f} not")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        one(
            "'tab\tok, delete\u{7f} not'",
            "description",
            r"Member must satisfy regular expression pattern: [\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*"
        )
    );
}

#[tokio::test]
async fn policies() {
    let server = Server::start();
    let iam = server.root_iam();
    let err = iam
        .list_policies()
        .scope(PolicyScopeType::from("Everything"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        one(
            "'Everything'",
            "scope",
            "Member must satisfy enum value set: [All, AWS, Local]"
        )
    );
    let err = iam
        .list_policies()
        .policy_usage_filter(PolicyUsageType::from("Boundary"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        one(
            "'Boundary'",
            "policyUsageFilter",
            "Member must satisfy enum value set: [PermissionsPolicy, PermissionsBoundary]"
        )
    );
    let long = "p".repeat(129);
    let err = iam
        .create_policy()
        .policy_name(&long)
        .policy_document("{}")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        one(&quoted(&long), "policyName", &format!("{MAX_LEN} 128"))
    );
    let err = iam
        .get_policy_version()
        .policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess")
        .version_id("1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        one(
            "'1'",
            "versionId",
            r"Member must satisfy regular expression pattern: v[1-9][0-9]*(\.[A-Za-z0-9-]*)?"
        )
    );
    let err = iam
        .get_policy()
        .policy_arn("arn:aws:iam::x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        one("'arn:aws:iam::x'", "policyArn", &format!("{MIN_LEN} 20"))
    );
}

#[tokio::test]
async fn mfa() {
    let server = Server::start();
    let iam = server.root_iam();
    let err = iam
        .create_virtual_mfa_device()
        .virtual_mfa_device_name("bad name!")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        one("'bad name!'", "virtualMFADeviceName", NAME_PATTERN)
    );
    // The model has no maximum here; the API reference's 226 is checked by the handler.
    let long = "m".repeat(227);
    let err = iam
        .create_virtual_mfa_device()
        .virtual_mfa_device_name(&long)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        one(
            &quoted(&long),
            "virtualMFADeviceName",
            &format!("{MAX_LEN} 226")
        )
    );
    let err = iam
        .list_virtual_mfa_devices()
        .assignment_status(AssignmentStatusType::from("Mine"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        one(
            "'Mine'",
            "assignmentStatus",
            "Member must satisfy enum value set: [Assigned, Unassigned, Any]"
        )
    );
    let err = iam
        .enable_mfa_device()
        .user_name("u")
        .serial_number("arn:aws:iam::123456789012:mfa/u")
        .authentication_code1("12345a")
        .authentication_code2("1234567")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err).1,
        r"2 validation errors detected: Value '12345a' at 'authenticationCode1' failed to satisfy constraint: Member must satisfy regular expression pattern: [\d]+; Value '1234567' at 'authenticationCode2' failed to satisfy constraint: Member must have length less than or equal to 6"
    );
    let err = iam
        .list_mfa_devices()
        .max_items(1001)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        one(
            "1001",
            "maxItems",
            "Member must have value less than or equal to 1000"
        )
    );
}

#[tokio::test]
async fn access_keys() {
    let server = Server::start();
    let iam = server.root_iam();
    let err = iam
        .update_access_key()
        .access_key_id("AKIAIOSFODNN7EXAMPLE")
        .status(StatusType::from("On"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        one(
            "'On'",
            "status",
            "Member must satisfy enum value set: [Active, Inactive, Expired]"
        )
    );
    // `Expired` is in the model's enum but no key can be set to it.
    let err = iam
        .update_access_key()
        .access_key_id("AKIAIOSFODNN7EXAMPLE")
        .status(StatusType::Expired)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        one(
            "'Expired'",
            "status",
            "Member must satisfy enum value set: [Active, Inactive]"
        )
    );
    let err = iam
        .delete_access_key()
        .access_key_id("AKIA-short")
        .send()
        .await
        .unwrap_err();
    // Too short: reported by its length only, not also by its pattern.
    assert_eq!(
        aws_error(&err),
        one("'AKIA-short'", "accessKeyId", &format!("{MIN_LEN} 16"))
    );
    let err = iam
        .get_access_key_last_used()
        .access_key_id("AKIA_bad-key-id-0")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        one(
            "'AKIA_bad-key-id-0'",
            "accessKeyId",
            r"Member must satisfy regular expression pattern: [\w]+"
        )
    );
    let err = iam
        .list_access_keys()
        .max_items(0)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        one(
            "0",
            "maxItems",
            "Member must have value greater than or equal to 1"
        )
    );
}

#[tokio::test]
async fn passwords() {
    let server = Server::start();
    let iam = server.root_iam();
    let err = iam
        .update_account_password_policy()
        .minimum_password_length(5)
        .max_password_age(1096)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err).1,
        "2 validation errors detected: Value 5 at 'minimumPasswordLength' failed to satisfy constraint: Member must have value greater than or equal to 6; Value 1096 at 'maxPasswordAge' failed to satisfy constraint: Member must have value less than or equal to 1095"
    );
    let err = iam
        .create_account_alias()
        .account_alias("Bad_Alias")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        one(
            "'Bad_Alias'",
            "accountAlias",
            r"Member must satisfy regular expression pattern: ^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$"
        )
    );
    let long = "l".repeat(65);
    let err = iam
        .get_login_profile()
        .user_name(&long)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        one(&quoted(&long), "userName", &format!("{MAX_LEN} 64"))
    );
    // A sensitive member's value is hidden, whichever of its constraints it breaks.
    let err = iam
        .create_login_profile()
        .user_name("u")
        .password("p".repeat(129))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        one(
            "'*******'",
            "password",
            r"Member must satisfy regular expression pattern: [\u0009\u000A\u000D\u0020-\u00FF]+"
        )
    );
}

#[tokio::test]
async fn sts() {
    let server = Server::start();
    let sts = server.root_sts();
    let err = sts
        .get_session_token()
        .duration_seconds(899)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        one(
            "899",
            "durationSeconds",
            "Member must have value greater than or equal to 900"
        )
    );
    let role = format!("arn:aws:iam::{}:role/r", server.account_id);
    let err = sts
        .assume_role()
        .role_arn(&role)
        .role_session_name("bad name!")
        .duration_seconds(43_201)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err).1,
        r"2 validation errors detected: Value 'bad name!' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*; Value 43201 at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200"
    );
    let long = "f".repeat(33);
    let err = sts
        .get_federation_token()
        .name(&long)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        one(&quoted(&long), "name", &format!("{MAX_LEN} 32"))
    );
    let err = sts
        .get_access_key_info()
        .access_key_id("AKIA")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        one("'AKIA'", "accessKeyId", &format!("{MIN_LEN} 16"))
    );
    let err = sts
        .assume_role()
        .role_arn(&role)
        .role_session_name("s")
        .transitive_tag_keys("no!")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err).1,
        r"2 validation errors detected: Value 's' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2; Value 'no!' at 'transitiveTagKeys.1.member' failed to satisfy constraint: Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+"
    );
}

/// AWS validates a request against its model before it authorises it: a caller allowed nothing
/// gets the validation error, and a valid request the refusal.
#[tokio::test]
async fn validation_comes_before_authorisation() {
    let server = Server::start();
    let (key, secret) = server.new_user_with_key("nobody").await;
    let iam = server.iam(&key, &secret);
    let err = iam
        .create_user()
        .user_name("bad name!")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        one("'bad name!'", "userName", NAME_PATTERN)
    );
    let err = iam
        .create_user()
        .user_name("fine")
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err).0, "AccessDenied");
}

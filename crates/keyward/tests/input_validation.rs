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

/// Sends `request` and asserts that AWS refuses it with `expected` (code, message, status).
macro_rules! assert_refused {
    ($request:expr, $expected:expr) => {
        assert_eq!(aws_error(&$request.send().await.unwrap_err()), $expected)
    };
}

/// Sends `request` and asserts that AWS refuses it with the message `expected`.
macro_rules! assert_refused_message {
    ($request:expr, $expected:expr) => {
        assert_eq!(aws_error(&$request.send().await.unwrap_err()).1, $expected)
    };
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
    assert_refused!(
        iam.create_user().user_name(&long),
        one(&quoted(&long), "userName", &format!("{MAX_LEN} 64"))
    );
    assert_refused!(
        iam.get_user().user_name("bad name!"),
        one("'bad name!'", "userName", NAME_PATTERN)
    );
    // Java's \w is ASCII.
    assert_refused!(
        iam.create_user().user_name("José"),
        one("'José'", "userName", NAME_PATTERN)
    );
    assert_refused!(
        iam.list_users().max_items(1001),
        one(
            "1001",
            "maxItems",
            "Member must have value less than or equal to 1000"
        )
    );
    let key = "k".repeat(129);
    assert_refused!(
        iam.tag_user()
            .user_name("nobody")
            .tags(Tag::builder().key(&key).value("v").build().unwrap()),
        one(
            &quoted(&key),
            "tags.1.member.key",
            &format!("{MAX_LEN} 128")
        )
    );
    // Members in botocore's order, every violation in one answer.
    assert_refused_message!(
        iam.create_user().user_name("bad name!").path("nopath"),
        r"2 validation errors detected: Value 'nopath' at 'path' failed to satisfy constraint: Member must satisfy regular expression pattern: (\u002F)|(\u002F[\u0021-\u007E]+\u002F); Value 'bad name!' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+"
    );
}

#[tokio::test]
async fn groups() {
    let server = Server::start();
    let iam = server.root_iam();
    let long = "g".repeat(129);
    assert_refused!(
        iam.create_group().group_name(&long),
        one(&quoted(&long), "groupName", &format!("{MAX_LEN} 128"))
    );
    assert_refused!(
        iam.add_user_to_group().group_name("g").user_name("a/b"),
        one("'a/b'", "userName", NAME_PATTERN)
    );
    assert_refused!(
        iam.list_groups().max_items(0),
        one(
            "0",
            "maxItems",
            "Member must have value greater than or equal to 1"
        )
    );
    assert_refused!(
        iam.list_groups().path_prefix("nope"),
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
    assert_refused!(
        iam.create_role()
            .role_name(&long)
            .assume_role_policy_document(TRUST),
        one(&quoted(&long), "roleName", &format!("{MAX_LEN} 64"))
    );
    assert_refused!(
        iam.create_role()
            .role_name("r")
            .assume_role_policy_document(TRUST)
            .max_session_duration(3599),
        one(
            "3599",
            "maxSessionDuration",
            "Member must have value greater than or equal to 3600"
        )
    );
    assert_refused!(
        iam.update_role_description()
            .role_name("r")
            .description("tab\tok, delete\u{7f} not"),
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
    assert_refused!(
        iam.list_policies()
            .scope(PolicyScopeType::from("Everything")),
        one(
            "'Everything'",
            "scope",
            "Member must satisfy enum value set: [All, AWS, Local]"
        )
    );
    assert_refused!(
        iam.list_policies()
            .policy_usage_filter(PolicyUsageType::from("Boundary")),
        one(
            "'Boundary'",
            "policyUsageFilter",
            "Member must satisfy enum value set: [PermissionsPolicy, PermissionsBoundary]"
        )
    );
    let long = "p".repeat(129);
    assert_refused!(
        iam.create_policy().policy_name(&long).policy_document("{}"),
        one(&quoted(&long), "policyName", &format!("{MAX_LEN} 128"))
    );
    assert_refused!(
        iam.get_policy_version()
            .policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess")
            .version_id("1"),
        one(
            "'1'",
            "versionId",
            r"Member must satisfy regular expression pattern: v[1-9][0-9]*(\.[A-Za-z0-9-]*)?"
        )
    );
    assert_refused!(
        iam.get_policy().policy_arn("arn:aws:iam::x"),
        one("'arn:aws:iam::x'", "policyArn", &format!("{MIN_LEN} 20"))
    );
}

#[tokio::test]
async fn mfa() {
    let server = Server::start();
    let iam = server.root_iam();
    assert_refused!(
        iam.create_virtual_mfa_device()
            .virtual_mfa_device_name("bad name!"),
        one("'bad name!'", "virtualMFADeviceName", NAME_PATTERN)
    );
    // The model has no maximum here; the API reference's 226 is checked by the handler.
    let long = "m".repeat(227);
    assert_refused!(
        iam.create_virtual_mfa_device()
            .virtual_mfa_device_name(&long),
        one(
            &quoted(&long),
            "virtualMFADeviceName",
            &format!("{MAX_LEN} 226")
        )
    );
    assert_refused!(
        iam.list_virtual_mfa_devices()
            .assignment_status(AssignmentStatusType::from("Mine")),
        one(
            "'Mine'",
            "assignmentStatus",
            "Member must satisfy enum value set: [Assigned, Unassigned, Any]"
        )
    );
    assert_refused_message!(
        iam.enable_mfa_device()
            .user_name("u")
            .serial_number("arn:aws:iam::123456789012:mfa/u")
            .authentication_code1("12345a")
            .authentication_code2("1234567"),
        r"2 validation errors detected: Value '12345a' at 'authenticationCode1' failed to satisfy constraint: Member must satisfy regular expression pattern: [\d]+; Value '1234567' at 'authenticationCode2' failed to satisfy constraint: Member must have length less than or equal to 6"
    );
    assert_refused!(
        iam.list_mfa_devices().max_items(1001),
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
    assert_refused!(
        iam.update_access_key()
            .access_key_id("AKIAIOSFODNN7EXAMPLE")
            .status(StatusType::from("On")),
        one(
            "'On'",
            "status",
            "Member must satisfy enum value set: [Active, Inactive, Expired]"
        )
    );
    // `Expired` is in the model's enum but no key can be set to it.
    assert_refused!(
        iam.update_access_key()
            .access_key_id("AKIAIOSFODNN7EXAMPLE")
            .status(StatusType::Expired),
        one(
            "'Expired'",
            "status",
            "Member must satisfy enum value set: [Active, Inactive]"
        )
    );
    // Too short: reported by its length only, not also by its pattern.
    assert_refused!(
        iam.delete_access_key().access_key_id("AKIA-short"),
        one("'AKIA-short'", "accessKeyId", &format!("{MIN_LEN} 16"))
    );
    assert_refused!(
        iam.get_access_key_last_used()
            .access_key_id("AKIA_bad-key-id-0"),
        one(
            "'AKIA_bad-key-id-0'",
            "accessKeyId",
            r"Member must satisfy regular expression pattern: [\w]+"
        )
    );
    assert_refused!(
        iam.list_access_keys().max_items(0),
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
    assert_refused_message!(
        iam.update_account_password_policy()
            .minimum_password_length(5)
            .max_password_age(1096),
        "2 validation errors detected: Value 5 at 'minimumPasswordLength' failed to satisfy constraint: Member must have value greater than or equal to 6; Value 1096 at 'maxPasswordAge' failed to satisfy constraint: Member must have value less than or equal to 1095"
    );
    assert_refused!(
        iam.create_account_alias().account_alias("Bad_Alias"),
        one(
            "'Bad_Alias'",
            "accountAlias",
            r"Member must satisfy regular expression pattern: ^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$"
        )
    );
    let long = "l".repeat(65);
    assert_refused!(
        iam.get_login_profile().user_name(&long),
        one(&quoted(&long), "userName", &format!("{MAX_LEN} 64"))
    );
    // A sensitive member's value is hidden, whichever of its constraints it breaks.
    assert_refused!(
        iam.create_login_profile()
            .user_name("u")
            .password("p".repeat(129)),
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
    assert_refused!(
        sts.get_session_token().duration_seconds(899),
        one(
            "899",
            "durationSeconds",
            "Member must have value greater than or equal to 900"
        )
    );
    let role = format!("arn:aws:iam::{}:role/r", server.account_id);
    assert_refused_message!(
        sts.assume_role()
            .role_arn(&role)
            .role_session_name("bad name!")
            .duration_seconds(43_201),
        r"2 validation errors detected: Value 'bad name!' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*; Value 43201 at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200"
    );
    let long = "f".repeat(33);
    assert_refused!(
        sts.get_federation_token().name(&long),
        one(&quoted(&long), "name", &format!("{MAX_LEN} 32"))
    );
    assert_refused!(
        sts.get_access_key_info().access_key_id("AKIA"),
        one("'AKIA'", "accessKeyId", &format!("{MIN_LEN} 16"))
    );
    assert_refused_message!(
        sts.assume_role()
            .role_arn(&role)
            .role_session_name("s")
            .transitive_tag_keys("no!"),
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
    assert_refused!(
        iam.create_user().user_name("bad name!"),
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

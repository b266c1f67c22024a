//! IAM API coverage through aws-sdk-iam against the real server: group and role inline policies
//! and their quotas, `ListPolicies` filters and pages, roles created with a boundary or a malformed
//! trust policy, managed policy versions as a non-root user sees them (S17), the positive side of
//! AWS's self-manage-with-MFA policy (S3, S19), condition operators on real signed requests (S13)
//! and policy variables (S16).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use aws_sdk_iam::types::{PolicyScopeType, PolicyUsageType, Tag};
use common::{Server, aws_error, enable_mfa, iam_with, temp, totp_code};

type AwsError = (String, String, u16);

fn decode(doc: &str) -> String {
    percent_encoding::percent_decode_str(doc)
        .decode_utf8()
        .unwrap()
        .into_owned()
}

const LIST_USERS_ALLOW: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}]}"#;

/// AWS's "Allows MFA-authenticated IAM users to manage their own credentials on the Security
/// credentials page", verbatim (IAM User Guide,
/// reference_policies_examples_aws_my-sec-creds-self-manage), shared with `mfa.rs`.
const SELF_MANAGE_MFA: &str = include_str!("data/self_manage_mfa.json");

fn allow(action: &str, resource: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"{action}","Resource":"{resource}"}}]}}"#
    )
}

/// An identity policy allowing `iam:ListUsers` of exactly `n` characters, white space not
/// counted (IAM's measure for its size quotas: "IAM does not count white space when calculating
/// the size of a policy", IAM User Guide, reference_iam-quotas).
fn doc_of_size(n: usize) -> String {
    let head = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":["*","arn:aws:iam::*:user/"#;
    let tail = r#""]}]}"#;
    let doc = format!("{head}{}{tail}", "x".repeat(n - head.len() - tail.len()));
    assert_eq!(doc.len(), n);
    doc
}

/// AWS's implicit-deny message for a user (IAM User Guide, troubleshoot_access-denied).
fn implicit_deny(acct: &str, user: &str, action: &str, resource: &str) -> AwsError {
    common::access_denied(format!(
        "User: arn:aws:iam::{acct}:user/{user} is not authorized to perform: {action} on resource: {resource} because no identity-based policy allows the {action} action"
    ))
}

/// AWS's explicit-deny message for a user (IAM User Guide, troubleshoot_access-denied).
fn explicit_deny(acct: &str, user: &str, action: &str, resource: &str) -> AwsError {
    common::access_denied(format!(
        "User: arn:aws:iam::{acct}:user/{user} is not authorized to perform: {action} on resource: {resource} with an explicit deny in an identity-based policy"
    ))
}

fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build().unwrap()
}

/// Creates `n` customer managed policies `{prefix}0..` allowing `iam:ListUsers`; returns ARNs.
async fn create_policies(iam: &aws_sdk_iam::Client, prefix: &str, n: usize) -> Vec<String> {
    let mut arns = Vec::new();
    for i in 0..n {
        let p = iam
            .create_policy()
            .policy_name(format!("{prefix}{i}"))
            .policy_document(LIST_USERS_ALLOW)
            .send()
            .await
            .unwrap();
        arns.push(p.policy().unwrap().arn().unwrap().to_owned());
    }
    arns
}

fn trust_account(acct: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{acct}:root"}},"Action":"sts:AssumeRole"}}]}}"#
    )
}

// ---------------------------------------------------------------------------------------------
// 1. Group and role inline policies, attachment and size quotas.
// ---------------------------------------------------------------------------------------------

/// PutGroupPolicy, GetGroupPolicy (URL-encoded as AWS returns it), ListGroupPolicies with pages,
/// DeleteGroupPolicy and its NoSuchEntity, the group's aggregate inline size quota, and a member
/// who gains and loses a permission on the very next request.
#[tokio::test]
async fn group_inline_policies_apply_to_members_and_count_against_5120() {
    let server = Server::start();
    let iam = server.root_iam();
    let acct = server.account_id.clone();
    iam.create_group().group_name("devs").send().await.unwrap();
    let (key, secret) = server.new_user_with_key("gina").await;
    let gina = server.iam(&key, &secret);
    iam.add_user_to_group()
        .group_name("devs")
        .user_name("gina")
        .send()
        .await
        .unwrap();
    let list_users = implicit_deny(
        &acct,
        "gina",
        "iam:ListUsers",
        &format!("arn:aws:iam::{acct}:user/"),
    );
    assert_eq!(
        aws_error(&gina.list_users().send().await.unwrap_err()),
        list_users
    );

    iam.put_group_policy()
        .group_name("devs")
        .policy_name("read")
        .policy_document(LIST_USERS_ALLOW)
        .send()
        .await
        .unwrap();
    gina.list_users().send().await.unwrap();

    let got = iam
        .get_group_policy()
        .group_name("devs")
        .policy_name("read")
        .send()
        .await
        .unwrap();
    assert_eq!((got.group_name(), got.policy_name()), ("devs", "read"));
    // IAM returns policy documents URL-encoded (RFC 3986), as GetGroupPolicy's API reference says.
    assert!(
        got.policy_document().starts_with("%7B%22Version%22"),
        "{}",
        got.policy_document()
    );
    assert_eq!(decode(got.policy_document()), LIST_USERS_ALLOW);

    iam.put_group_policy()
        .group_name("devs")
        .policy_name("extra")
        .policy_document(allow("iam:ListGroups", "*"))
        .send()
        .await
        .unwrap();
    let names = iam
        .list_group_policies()
        .group_name("devs")
        .send()
        .await
        .unwrap();
    assert_eq!(names.policy_names(), ["extra", "read"]);
    assert!(!names.is_truncated());
    let first = iam
        .list_group_policies()
        .group_name("devs")
        .max_items(1)
        .send()
        .await
        .unwrap();
    assert_eq!(first.policy_names(), ["extra"]);
    assert!(first.is_truncated());
    let rest = iam
        .list_group_policies()
        .group_name("devs")
        .marker(first.marker().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.policy_names(), ["read"]);
    assert!(!rest.is_truncated() && rest.marker().is_none());

    // Deleting the policy takes the permission away on the next request.
    iam.delete_group_policy()
        .group_name("devs")
        .policy_name("read")
        .send()
        .await
        .unwrap();
    assert_eq!(
        aws_error(&gina.list_users().send().await.unwrap_err()),
        list_users
    );
    // "The role policy with name X cannot be found." is AWS's wording for roles (aws/aws-cli#6139,
    // DeleteRolePolicy); users and groups follow the same pattern.
    let missing = (
        "NoSuchEntity".to_owned(),
        "The group policy with name read cannot be found.".to_owned(),
        404,
    );
    let err = iam
        .delete_group_policy()
        .group_name("devs")
        .policy_name("read")
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err), missing);
    let err = iam
        .get_group_policy()
        .group_name("devs")
        .policy_name("read")
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err), missing);
    let err = iam
        .list_group_policies()
        .group_name("ghosts")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "NoSuchEntity".into(),
            "The group with name ghosts cannot be found.".into(),
            404
        )
    );

    // Aggregate size: 5,120 characters across the group's inline policies, white space not
    // counted (IAM User Guide, reference_iam-quotas). AWS's message, as real AWS printed it for
    // PutGroupPolicy: "Maximum policy size of 5120 bytes exceeded for group travis-ci"
    // (HumanCellAtlas/data-store#1963).
    iam.delete_group_policy()
        .group_name("devs")
        .policy_name("extra")
        .send()
        .await
        .unwrap();
    let half = doc_of_size(2560);
    iam.put_group_policy()
        .group_name("devs")
        .policy_name("a")
        .policy_document(&half)
        .send()
        .await
        .unwrap();
    // White space does not count: the same 2,560 characters spread over lines still fit.
    let spread = half.replace(',', ",\n    ");
    iam.put_group_policy()
        .group_name("devs")
        .policy_name("b")
        .policy_document(&spread)
        .send()
        .await
        .unwrap();
    let err = iam
        .put_group_policy()
        .group_name("devs")
        .policy_name("b")
        .policy_document(doc_of_size(2561))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "LimitExceeded".into(),
            "Maximum policy size of 5120 bytes exceeded for group devs".into(),
            409
        )
    );
    let kept = iam
        .get_group_policy()
        .group_name("devs")
        .policy_name("b")
        .send()
        .await
        .unwrap();
    assert_eq!(
        decode(kept.policy_document()),
        spread,
        "the refused put changed nothing"
    );
    // Both halves allow ListUsers: the member has it again.
    gina.list_users().send().await.unwrap();
}

/// AttachGroupPolicy's quota of 10 and ListAttachedGroupPolicies with pages; a member is
/// governed by the group's managed policies.
#[tokio::test]
async fn group_attachments_quota_of_10_and_listing() {
    let server = Server::start();
    let iam = server.root_iam();
    let acct = server.account_id.clone();
    iam.create_group().group_name("ops").send().await.unwrap();
    let (key, secret) = server.new_user_with_key("otto").await;
    let otto = server.iam(&key, &secret);
    iam.add_user_to_group()
        .group_name("ops")
        .user_name("otto")
        .send()
        .await
        .unwrap();
    let arns = create_policies(&iam, "g", 11).await;
    for arn in &arns[..10] {
        iam.attach_group_policy()
            .group_name("ops")
            .policy_arn(arn)
            .send()
            .await
            .unwrap();
    }
    // IAM User Guide, reference_iam-quotas: "Managed policies attached to an IAM group: 10";
    // the message has the shape of "Cannot exceed quota for PoliciesPerUser: 10".
    let err = iam
        .attach_group_policy()
        .group_name("ops")
        .policy_arn(&arns[10])
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "LimitExceeded".into(),
            "Cannot exceed quota for PoliciesPerGroup: 10".into(),
            409
        )
    );
    // Attaching an attached policy again is no error and no second attachment.
    iam.attach_group_policy()
        .group_name("ops")
        .policy_arn(&arns[0])
        .send()
        .await
        .unwrap();

    let mut names = Vec::new();
    let mut marker: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = iam
            .list_attached_group_policies()
            .group_name("ops")
            .max_items(4)
            .set_marker(marker.clone())
            .send()
            .await
            .unwrap();
        pages += 1;
        assert!(page.attached_policies().len() <= 4);
        for p in page.attached_policies() {
            names.push(p.policy_name().unwrap().to_owned());
            assert!(
                p.policy_arn()
                    .unwrap()
                    .starts_with(&format!("arn:aws:iam::{acct}:policy/g"))
            );
        }
        if !page.is_truncated() {
            assert!(page.marker().is_none());
            break;
        }
        marker = Some(page.marker().unwrap().to_owned());
    }
    assert_eq!(pages, 3);
    names.sort();
    let mut expected: Vec<String> = (0..10).map(|i| format!("g{i}")).collect();
    expected.sort();
    assert_eq!(names, expected);

    otto.list_users().send().await.unwrap();
    for arn in &arns[..10] {
        iam.detach_group_policy()
            .group_name("ops")
            .policy_arn(arn)
            .send()
            .await
            .unwrap();
    }
    assert!(
        iam.list_attached_group_policies()
            .group_name("ops")
            .send()
            .await
            .unwrap()
            .attached_policies()
            .is_empty()
    );
    assert_eq!(
        aws_error(&otto.list_users().send().await.unwrap_err()),
        implicit_deny(
            &acct,
            "otto",
            "iam:ListUsers",
            &format!("arn:aws:iam::{acct}:user/")
        )
    );
}

/// AttachRolePolicy's quota of 10, the role's aggregate inline size of 10,240, and
/// GetRolePolicy / DeleteRolePolicy of a missing name.
#[tokio::test]
async fn role_attachment_quota_of_10_and_inline_size_of_10240() {
    let server = Server::start();
    let iam = server.root_iam();
    let acct = server.account_id.clone();
    iam.create_role()
        .role_name("app")
        .assume_role_policy_document(trust_account(&acct))
        .send()
        .await
        .unwrap();
    let arns = create_policies(&iam, "r", 11).await;
    for arn in &arns[..10] {
        iam.attach_role_policy()
            .role_name("app")
            .policy_arn(arn)
            .send()
            .await
            .unwrap();
    }
    // IAM User Guide, reference_iam-quotas: "Managed policies attached to an IAM role: 10".
    let err = iam
        .attach_role_policy()
        .role_name("app")
        .policy_arn(&arns[10])
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "LimitExceeded".into(),
            "Cannot exceed quota for PoliciesPerRole: 10".into(),
            409
        )
    );
    assert_eq!(
        iam.list_attached_role_policies()
            .role_name("app")
            .send()
            .await
            .unwrap()
            .attached_policies()
            .len(),
        10
    );

    // 10,240 characters across the role's inline policies; AWS's message as real AWS printed it:
    // "Maximum policy size of 10240 bytes exceeded for role adf-codepipeline-role"
    // (awslabs/aws-deployment-framework#474, serverless/serverless#12167).
    let half = doc_of_size(5120);
    for name in ["a", "b"] {
        iam.put_role_policy()
            .role_name("app")
            .policy_name(name)
            .policy_document(&half)
            .send()
            .await
            .unwrap();
    }
    let err = iam
        .put_role_policy()
        .role_name("app")
        .policy_name("b")
        .policy_document(doc_of_size(5121))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "LimitExceeded".into(),
            "Maximum policy size of 10240 bytes exceeded for role app".into(),
            409
        )
    );
    let err = iam
        .put_role_policy()
        .role_name("app")
        .policy_name("c")
        .policy_document(LIST_USERS_ALLOW)
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err).0, "LimitExceeded");
    let names = iam
        .list_role_policies()
        .role_name("app")
        .send()
        .await
        .unwrap();
    assert_eq!(names.policy_names(), ["a", "b"]);

    // aws/aws-cli#6139: "The role policy with name AWSLambdaBasicExecutionRole cannot be found."
    let missing = (
        "NoSuchEntity".to_owned(),
        "The role policy with name c cannot be found.".to_owned(),
        404,
    );
    let err = iam
        .get_role_policy()
        .role_name("app")
        .policy_name("c")
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err), missing);
    let err = iam
        .delete_role_policy()
        .role_name("app")
        .policy_name("c")
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err), missing);
}

// ---------------------------------------------------------------------------------------------
// 2. ListPolicies filters and pages.
// ---------------------------------------------------------------------------------------------

fn policy_names(out: &aws_sdk_iam::operation::list_policies::ListPoliciesOutput) -> Vec<String> {
    out.policies()
        .iter()
        .map(|p| p.policy_name().unwrap().to_owned())
        .collect()
}

/// Scope Local/AWS/All, OnlyAttached, PathPrefix, PolicyUsageFilter, and Marker/MaxItems pages
/// across local and AWS managed policies.
#[tokio::test]
async fn list_policies_scope_usage_path_and_pages() {
    let server = Server::start();
    let iam = server.root_iam();
    let mut arn = std::collections::HashMap::new();
    for (name, path) in [
        ("Alpha", "/team/"),
        ("Bravo", "/team/"),
        ("Charlie", "/edge/"),
    ] {
        let p = iam
            .create_policy()
            .policy_name(name)
            .path(path)
            .policy_document(LIST_USERS_ALLOW)
            .send()
            .await
            .unwrap();
        arn.insert(name, p.policy().unwrap().arn().unwrap().to_owned());
    }
    iam.create_user().user_name("u").send().await.unwrap();
    iam.attach_user_policy()
        .user_name("u")
        .policy_arn(&arn["Alpha"])
        .send()
        .await
        .unwrap();
    iam.put_user_permissions_boundary()
        .user_name("u")
        .permissions_boundary(&arn["Charlie"])
        .send()
        .await
        .unwrap();
    iam.create_group().group_name("g").send().await.unwrap();
    iam.attach_group_policy()
        .group_name("g")
        .policy_arn("arn:aws:iam::aws:policy/IAMReadOnlyAccess")
        .send()
        .await
        .unwrap();

    let list = |scope: PolicyScopeType| iam.list_policies().scope(scope).max_items(1000);
    let local = list(PolicyScopeType::Local).send().await.unwrap();
    assert_eq!(policy_names(&local), ["Alpha", "Bravo", "Charlie"]);
    let aws = list(PolicyScopeType::Aws).send().await.unwrap();
    assert!(
        aws.policies()
            .iter()
            .all(|p| p.arn().unwrap().starts_with("arn:aws:iam::aws:policy/")),
        "{aws:?}"
    );
    assert!(policy_names(&aws).contains(&"AdministratorAccess".to_owned()));
    let all = list(PolicyScopeType::All).send().await.unwrap();
    assert_eq!(
        all.policies().len(),
        local.policies().len() + aws.policies().len()
    );
    let default = iam.list_policies().max_items(1000).send().await.unwrap();
    assert_eq!(
        policy_names(&default),
        policy_names(&all),
        "Scope defaults to All"
    );

    // OnlyAttached: attached to a user, group or role (API reference, ListPolicies).
    let attached = iam
        .list_policies()
        .only_attached(true)
        .send()
        .await
        .unwrap();
    let attached = policy_names(&attached);
    assert!(
        attached.contains(&"Alpha".to_owned())
            && attached.contains(&"IAMReadOnlyAccess".to_owned()),
        "{attached:?}"
    );
    assert!(
        !attached.contains(&"Bravo".to_owned())
            && !attached.contains(&"AdministratorAccess".to_owned()),
        "{attached:?}"
    );
    let local_attached = iam
        .list_policies()
        .scope(PolicyScopeType::Local)
        .only_attached(true)
        .policy_usage_filter(PolicyUsageType::PermissionsPolicy)
        .send()
        .await
        .unwrap();
    assert_eq!(policy_names(&local_attached), ["Alpha"]);
    let aws_attached = iam
        .list_policies()
        .scope(PolicyScopeType::Aws)
        .only_attached(true)
        .send()
        .await
        .unwrap();
    assert_eq!(policy_names(&aws_attached), ["IAMReadOnlyAccess"]);

    // PolicyUsageFilter: "To list only the policies used to set permissions boundaries, set the
    // value to PermissionsBoundary" (API reference, ListPolicies).
    let boundaries = iam
        .list_policies()
        .policy_usage_filter(PolicyUsageType::PermissionsBoundary)
        .send()
        .await
        .unwrap();
    assert_eq!(policy_names(&boundaries), ["Charlie"]);

    // PathPrefix.
    let team = iam
        .list_policies()
        .path_prefix("/team/")
        .send()
        .await
        .unwrap();
    assert_eq!(policy_names(&team), ["Alpha", "Bravo"]);
    let edge = iam
        .list_policies()
        .scope(PolicyScopeType::Local)
        .path_prefix("/edge/")
        .send()
        .await
        .unwrap();
    assert_eq!(policy_names(&edge), ["Charlie"]);
    let nothing = iam
        .list_policies()
        .path_prefix("/nowhere/")
        .send()
        .await
        .unwrap();
    assert!(nothing.policies().is_empty() && !nothing.is_truncated());

    // Pages of 3 through local and AWS policies together: the same list, in the same order, with
    // no item twice; every page but the last is full and truncated.
    let mut paged = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = iam
            .list_policies()
            .max_items(3)
            .set_marker(marker.clone())
            .send()
            .await
            .unwrap();
        paged.extend(policy_names(&page));
        if !page.is_truncated() {
            assert!(page.marker().is_none());
            break;
        }
        assert_eq!(page.policies().len(), 3);
        marker = Some(page.marker().unwrap().to_owned());
    }
    assert_eq!(paged, policy_names(&all));
    assert!(paged.len() > 3, "more than one page: {paged:?}");

    // The wording of numeric constraints, as for `maxSessionDuration` in roles.rs.
    let err = iam.list_policies().max_items(0).send().await.unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "ValidationError".into(),
            "1 validation error detected: Value 0 at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1".into(),
            400
        )
    );
}

// ---------------------------------------------------------------------------------------------
// 3. CreateRole with a permissions boundary; CreateRole with a malformed trust policy.
// ---------------------------------------------------------------------------------------------

/// A role created with a boundary shows it in GetRole, and its sessions are limited by it: the
/// role has AdministratorAccess, the boundary only IAM reads.
#[tokio::test]
async fn create_role_with_a_permissions_boundary_limits_its_sessions() {
    let server = Server::start();
    let iam = server.root_iam();
    let acct = server.account_id.clone();
    let boundary = "arn:aws:iam::aws:policy/IAMReadOnlyAccess";
    let created = iam
        .create_role()
        .role_name("bounded")
        .assume_role_policy_document(trust_account(&acct))
        .permissions_boundary(boundary)
        .send()
        .await
        .unwrap();
    let role_arn = created.role().unwrap().arn().to_owned();
    let got = iam
        .get_role()
        .role_name("bounded")
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    let b = got.permissions_boundary().unwrap();
    assert_eq!(b.permissions_boundary_arn(), Some(boundary));
    assert_eq!(
        b.permissions_boundary_type(),
        Some(&aws_sdk_iam::types::PermissionsBoundaryAttachmentType::Policy)
    );
    iam.attach_role_policy()
        .role_name("bounded")
        .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
        .send()
        .await
        .unwrap();

    let (key, secret) = server.new_user_with_key("rob").await;
    iam.put_user_policy()
        .user_name("rob")
        .policy_name("assume")
        .policy_document(allow("sts:AssumeRole", &role_arn))
        .send()
        .await
        .unwrap();
    let creds = server
        .sts(&key, &secret)
        .assume_role()
        .role_arn(&role_arn)
        .role_session_name("s1")
        .send()
        .await
        .unwrap()
        .credentials
        .unwrap();
    let session = iam_with(&server, &temp(&creds), None);
    session.list_users().send().await.unwrap();
    let err = session
        .create_user()
        .user_name("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        common::access_denied(format!(
            "User: arn:aws:sts::{acct}:assumed-role/bounded/s1 is not authorized to perform: iam:CreateUser on resource: arn:aws:iam::{acct}:user/x because no permissions boundary allows the iam:CreateUser action"
        ))
    );
}

/// A policy used only as a role's permissions boundary is one of "the policies used to set
/// permissions boundaries" that `PolicyUsageFilter=PermissionsBoundary` lists (API reference,
/// ListPolicies), and GetPolicy counts it in PermissionsBoundaryUsageCount.
#[tokio::test]
async fn list_policies_lists_a_role_boundary_as_a_permissions_boundary() {
    let server = Server::start();
    let iam = server.root_iam();
    let acct = server.account_id.clone();
    let p = iam
        .create_policy()
        .policy_name("RoleBoundary")
        .policy_document(LIST_USERS_ALLOW)
        .send()
        .await
        .unwrap();
    let arn = p.policy().unwrap().arn().unwrap().to_owned();
    iam.create_role()
        .role_name("bounded")
        .assume_role_policy_document(trust_account(&acct))
        .permissions_boundary(&arn)
        .send()
        .await
        .unwrap();
    let got = iam.get_policy().policy_arn(&arn).send().await.unwrap();
    assert_eq!(
        got.policy().unwrap().permissions_boundary_usage_count(),
        Some(1)
    );
    let boundaries = iam
        .list_policies()
        .scope(PolicyScopeType::Local)
        .policy_usage_filter(PolicyUsageType::PermissionsBoundary)
        .send()
        .await
        .unwrap();
    assert_eq!(policy_names(&boundaries), ["RoleBoundary"]);
    let aws = iam
        .list_policies()
        .scope(PolicyScopeType::Aws)
        .policy_usage_filter(PolicyUsageType::PermissionsBoundary)
        .send()
        .await
        .unwrap();
    assert!(aws.policies().is_empty());
    // The same through an AWS managed policy.
    iam.put_role_permissions_boundary()
        .role_name("bounded")
        .permissions_boundary("arn:aws:iam::aws:policy/IAMReadOnlyAccess")
        .send()
        .await
        .unwrap();
    let aws = iam
        .list_policies()
        .scope(PolicyScopeType::Aws)
        .policy_usage_filter(PolicyUsageType::PermissionsBoundary)
        .send()
        .await
        .unwrap();
    assert_eq!(policy_names(&aws), ["IAMReadOnlyAccess"]);
}

/// A trust policy that is not one is refused with IAM's MalformedPolicyDocument wording, and no
/// role is left behind.
#[tokio::test]
async fn create_role_with_a_malformed_trust_policy_is_refused() {
    let server = Server::start();
    let iam = server.root_iam();
    let acct = server.account_id.clone();
    let principal = format!(r#""Principal":{{"AWS":"arn:aws:iam::{acct}:root"}}"#);
    let cases = [
        // Real AWS for a permissions policy given as a trust policy: "An error occurred
        // (MalformedPolicyDocument) when calling the CreateRole operation: Has prohibited field
        // Resource" (kubernetes-sigs/external-dns#3085).
        (
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow",{principal},"Action":"sts:AssumeRole","Resource":"*"}}]}}"#
            ),
            "Has prohibited field Resource",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}"#
                .to_owned(),
            "Missing required field Principal",
        ),
        (
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow",{principal},"Action":"iam:ListUsers"}}]}}"#
            ),
            "AssumeRole policy may only specify STS AssumeRole actions.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":["#.to_owned(),
            "Syntax errors in policy.",
        ),
    ];
    for (doc, message) in cases {
        let err = iam
            .create_role()
            .role_name("broken")
            .assume_role_policy_document(&doc)
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            aws_error(&err),
            ("MalformedPolicyDocument".into(), message.into(), 400),
            "{doc}"
        );
    }
    let err = iam.get_role().role_name("broken").send().await.unwrap_err();
    assert_eq!(aws_error(&err).0, "NoSuchEntity");
    assert!(iam.list_roles().send().await.unwrap().roles().is_empty());
}

/// Real AWS refuses a missing boundary on CreateRole with "NoSuchEntity: Scope ARN:
/// arn:aws:iam::301721915996:policy/xuelinop does not exist or is not attachable." (404), unlike
/// AttachRolePolicy's "Policy ARN does not exist or is not attachable." (both from the ROSA
/// CLI's QE test case for `rosa create operator-roles`, which calls CreateRole with a boundary).
#[tokio::test]
async fn create_role_with_a_missing_boundary_names_the_scope_arn() {
    let server = Server::start();
    let iam = server.root_iam();
    let acct = server.account_id.clone();
    let ghost = format!("arn:aws:iam::{acct}:policy/ghost");
    let err = iam
        .create_role()
        .role_name("r")
        .assume_role_policy_document(trust_account(&acct))
        .permissions_boundary(&ghost)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "NoSuchEntity".into(),
            format!("Scope ARN: {ghost} does not exist or is not attachable."),
            404
        )
    );
}

// ---------------------------------------------------------------------------------------------
// 4. S17 as a non-root user sees it.
// ---------------------------------------------------------------------------------------------

/// A user whose only policy is a customer managed policy: a new non-default version changes
/// nothing; SetDefaultPolicyVersion changes what the user may do on the very next request; the
/// default version cannot be deleted.
#[tokio::test]
async fn s17_policy_versions_govern_a_user_on_the_next_request() {
    let server = Server::start();
    let iam = server.root_iam();
    let acct = server.account_id.clone();
    let (key, secret) = server.new_user_with_key("vic").await;
    let vic = server.iam(&key, &secret);
    let p = iam
        .create_policy()
        .policy_name("Work")
        .policy_document(LIST_USERS_ALLOW)
        .send()
        .await
        .unwrap();
    let arn = p.policy().unwrap().arn().unwrap().to_owned();
    iam.attach_user_policy()
        .user_name("vic")
        .policy_arn(&arn)
        .send()
        .await
        .unwrap();
    let users = format!("arn:aws:iam::{acct}:user/");
    let groups = format!("arn:aws:iam::{acct}:group/");
    vic.list_users().send().await.unwrap();
    assert_eq!(
        aws_error(&vic.list_groups().send().await.unwrap_err()),
        implicit_deny(&acct, "vic", "iam:ListGroups", &groups)
    );

    let v2 = iam
        .create_policy_version()
        .policy_arn(&arn)
        .policy_document(allow("iam:ListGroups", "*"))
        .set_as_default(false)
        .send()
        .await
        .unwrap();
    let v2 = v2.policy_version().unwrap();
    assert_eq!(v2.version_id(), Some("v2"));
    assert!(!v2.is_default_version());
    // Not the default: nothing changes for the user.
    vic.list_users().send().await.unwrap();
    assert_eq!(
        aws_error(&vic.list_groups().send().await.unwrap_err()),
        implicit_deny(&acct, "vic", "iam:ListGroups", &groups)
    );

    iam.set_default_policy_version()
        .policy_arn(&arn)
        .version_id("v2")
        .send()
        .await
        .unwrap();
    // The very next request runs under v2.
    vic.list_groups().send().await.unwrap();
    assert_eq!(
        aws_error(&vic.list_users().send().await.unwrap_err()),
        implicit_deny(&acct, "vic", "iam:ListUsers", &users)
    );
    let got = iam.get_policy().policy_arn(&arn).send().await.unwrap();
    assert_eq!(got.policy().unwrap().default_version_id(), Some("v2"));

    // Real AWS: "DeleteConflict: Cannot delete the default version of a policy." (409;
    // redradrat/aws-iam-operator#13, byu-oit/handel#140).
    let err = iam
        .delete_policy_version()
        .policy_arn(&arn)
        .version_id("v2")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "DeleteConflict".into(),
            "Cannot delete the default version of a policy.".into(),
            409
        )
    );
    // v1 is no longer the default and goes; the user keeps v2's permissions.
    iam.delete_policy_version()
        .policy_arn(&arn)
        .version_id("v1")
        .send()
        .await
        .unwrap();
    vic.list_groups().send().await.unwrap();
    // Back to a version that allows both, made default on creation.
    iam.create_policy_version()
        .policy_arn(&arn)
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:ListUsers","iam:ListGroups"],"Resource":"*"}]}"#,
        )
        .set_as_default(true)
        .send()
        .await
        .unwrap();
    vic.list_users().send().await.unwrap();
    vic.list_groups().send().await.unwrap();
}

/// Real AWS refuses DeletePolicy of a policy with more than its default version with
/// "DeleteConflict: This policy has more than one version. Before you delete a policy, you must
/// delete the policy's versions. The default version is deleted with the policy." (409;
/// rebuy-de/aws-nuke#1, redradrat/aws-iam-operator#13).
#[tokio::test]
async fn delete_policy_with_versions_is_a_delete_conflict_in_aws_words() {
    let server = Server::start();
    let iam = server.root_iam();
    let p = iam
        .create_policy()
        .policy_name("Versions")
        .policy_document(LIST_USERS_ALLOW)
        .send()
        .await
        .unwrap();
    let arn = p.policy().unwrap().arn().unwrap().to_owned();
    iam.create_policy_version()
        .policy_arn(&arn)
        .policy_document(LIST_USERS_ALLOW)
        .send()
        .await
        .unwrap();
    let err = iam
        .delete_policy()
        .policy_arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "DeleteConflict".into(),
            "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.".into(),
            409
        )
    );
}

// ---------------------------------------------------------------------------------------------
// 5. AWS's self-manage-with-MFA policy, the positive side.
// ---------------------------------------------------------------------------------------------

/// Under AWS's policy attached as is: without MFA the user creates and enables their own virtual
/// device but is explicitly denied CreateAccessKey; with GetSessionToken's MFA session they create
/// their own key, and still nothing for another user.
#[tokio::test]
async fn self_manage_mfa_policy_unlocks_own_credentials_after_mfa() {
    let server = Server::start();
    let iam = server.root_iam();
    let acct = server.account_id.clone();
    iam.create_user().user_name("other").send().await.unwrap();
    let (key, secret) = server.new_user_with_key("nina").await;
    let p = iam
        .create_policy()
        .policy_name("SelfManageCredentialsWithMFA")
        .policy_document(SELF_MANAGE_MFA)
        .send()
        .await
        .unwrap();
    iam.attach_user_policy()
        .user_name("nina")
        .policy_arn(p.policy().unwrap().arn().unwrap())
        .send()
        .await
        .unwrap();
    let nina = server.iam(&key, &secret);
    let me = format!("arn:aws:iam::{acct}:user/nina");

    // Without MFA: set up MFA, and nothing else.
    let (serial, seed, t) = enable_mfa(&nina, "nina").await;
    assert_eq!(serial, format!("arn:aws:iam::{acct}:mfa/nina"));
    let listed = nina
        .list_mfa_devices()
        .user_name("nina")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.mfa_devices()[0].serial_number(), serial);
    let err = nina.create_access_key().send().await.unwrap_err();
    assert_eq!(
        aws_error(&err),
        explicit_deny(&acct, "nina", "iam:CreateAccessKey", &me)
    );
    let err = nina.list_access_keys().send().await.unwrap_err();
    assert_eq!(
        aws_error(&err),
        explicit_deny(&acct, "nina", "iam:ListAccessKeys", &me)
    );

    // With MFA (`aws sts get-session-token --serial-number --token-code`).
    let creds = server
        .sts(&key, &secret)
        .get_session_token()
        .serial_number(&serial)
        .token_code(totp_code(&seed, t + 1))
        .send()
        .await
        .unwrap()
        .credentials
        .unwrap();
    let mfa = iam_with(&server, &temp(&creds), None);
    let created = mfa
        .create_access_key()
        .send()
        .await
        .unwrap()
        .access_key
        .unwrap();
    assert_eq!(created.user_name(), "nina");
    assert!(created.access_key_id().starts_with("AKIA"));
    let keys = mfa.list_access_keys().send().await.unwrap();
    assert_eq!(keys.access_key_metadata().len(), 2);
    // The new long-term key is the user's own, still without MFA: still denied.
    let fresh = server.iam(created.access_key_id(), created.secret_access_key());
    assert_eq!(
        aws_error(&fresh.list_access_keys().send().await.unwrap_err()),
        explicit_deny(&acct, "nina", "iam:ListAccessKeys", &me)
    );
    mfa.delete_access_key()
        .access_key_id(created.access_key_id())
        .send()
        .await
        .unwrap();

    // Someone else's credentials: not granted, whatever the MFA.
    let err = mfa
        .create_access_key()
        .user_name("other")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        implicit_deny(
            &acct,
            "nina",
            "iam:CreateAccessKey",
            &format!("arn:aws:iam::{acct}:user/other")
        )
    );
    let err = mfa.list_users().send().await.unwrap_err();
    assert_eq!(
        aws_error(&err),
        implicit_deny(
            &acct,
            "nina",
            "iam:ListUsers",
            &format!("arn:aws:iam::{acct}:user/")
        )
    );
}

// ---------------------------------------------------------------------------------------------
// 6. S13: condition operators on real signed requests.
// ---------------------------------------------------------------------------------------------

/// Replaces `user`'s only inline policy with one statement allowing `action` under `condition`.
async fn allow_only_if(iam: &aws_sdk_iam::Client, user: &str, action: &str, condition: &str) {
    let doc = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"{action}","Resource":"*","Condition":{condition}}}]}}"#
    );
    iam.put_user_policy()
        .user_name(user)
        .policy_name("only")
        .policy_document(doc)
        .send()
        .await
        .unwrap();
}

/// IpAddress / NotIpAddress on aws:SourceIp (the client is 127.0.0.1), DateGreaterThan /
/// DateLessThan on aws:CurrentTime, StringLike on aws:username, ArnLike on aws:PrincipalArn:
/// each once allowing and once refusing with AWS's implicit-deny message.
#[tokio::test]
async fn s13_global_key_conditions_allow_and_refuse() {
    let server = Server::start();
    let iam = server.root_iam();
    let acct = server.account_id.clone();
    let (key, secret) = server.new_user_with_key("cora").await;
    let cora = server.iam(&key, &secret);
    let denied = implicit_deny(
        &acct,
        "cora",
        "iam:ListUsers",
        &format!("arn:aws:iam::{acct}:user/"),
    );
    // (condition block, allowed?)
    let cases = [
        (r#"{"IpAddress":{"aws:SourceIp":"127.0.0.0/8"}}"#, true),
        (
            r#"{"IpAddress":{"aws:SourceIp":["203.0.113.0/24","10.0.0.0/8"]}}"#,
            false,
        ),
        (
            r#"{"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}}"#,
            true,
        ),
        (r#"{"NotIpAddress":{"aws:SourceIp":"127.0.0.1/32"}}"#, false),
        (
            r#"{"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}"#,
            true,
        ),
        (
            r#"{"DateGreaterThan":{"aws:CurrentTime":"2999-01-01T00:00:00Z"}}"#,
            false,
        ),
        (
            r#"{"DateLessThan":{"aws:CurrentTime":"2999-01-01T00:00:00Z"}}"#,
            true,
        ),
        (
            r#"{"DateLessThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}"#,
            false,
        ),
        (r#"{"StringLike":{"aws:username":"co*"}}"#, true),
        (r#"{"StringLike":{"aws:username":"CO*"}}"#, false),
        (
            r#"{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/c?ra"}}"#,
            true,
        ),
        (
            r#"{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/*"}}"#,
            false,
        ),
        // The key is absent for long-term keys: ...IfExists matches, the plain operator does not.
        (
            r#"{"StringEqualsIfExists":{"aws:TokenIssueTime":"never"}}"#,
            true,
        ),
        (r#"{"StringEquals":{"aws:TokenIssueTime":"never"}}"#, false),
    ];
    for (condition, allowed) in cases {
        allow_only_if(&iam, "cora", "iam:ListUsers", condition).await;
        let got = cora
            .list_users()
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_error(&e));
        if allowed {
            assert_eq!(got, Ok(()), "{condition}");
        } else {
            assert_eq!(got, Err(denied.clone()), "{condition}");
        }
    }
}

/// Null on aws:RequestTag/owner and ForAnyValue:StringEquals on aws:TagKeys, on TagUser.
#[tokio::test]
async fn s13_request_tag_conditions_allow_and_refuse() {
    let server = Server::start();
    let iam = server.root_iam();
    let acct = server.account_id.clone();
    let (key, secret) = server.new_user_with_key("tess").await;
    let tess = server.iam(&key, &secret);
    iam.create_user().user_name("target").send().await.unwrap();
    let denied = implicit_deny(
        &acct,
        "tess",
        "iam:TagUser",
        &format!("arn:aws:iam::{acct}:user/target"),
    );
    let tag_user = |tags: Vec<Tag>| {
        let tess = tess.clone();
        async move {
            tess.tag_user()
                .user_name("target")
                .set_tags(Some(tags))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| aws_error(&e))
        }
    };

    // Null "false": the request must carry the tag.
    allow_only_if(
        &iam,
        "tess",
        "iam:TagUser",
        r#"{"Null":{"aws:RequestTag/owner":"false"}}"#,
    )
    .await;
    assert_eq!(tag_user(vec![tag("owner", "tess")]).await, Ok(()));
    assert_eq!(tag_user(vec![tag("cost", "1")]).await, Err(denied.clone()));
    // Null "true": the request must not carry it.
    allow_only_if(
        &iam,
        "tess",
        "iam:TagUser",
        r#"{"Null":{"aws:RequestTag/owner":"true"}}"#,
    )
    .await;
    assert_eq!(tag_user(vec![tag("cost", "1")]).await, Ok(()));
    assert_eq!(
        tag_user(vec![tag("owner", "x"), tag("cost", "2")]).await,
        Err(denied.clone())
    );

    // ForAnyValue: one of the request's tag keys is enough.
    allow_only_if(
        &iam,
        "tess",
        "iam:TagUser",
        r#"{"ForAnyValue:StringEquals":{"aws:TagKeys":["team","env"]}}"#,
    )
    .await;
    assert_eq!(
        tag_user(vec![tag("team", "red"), tag("cost", "3")]).await,
        Ok(())
    );
    assert_eq!(tag_user(vec![tag("cost", "4")]).await, Err(denied.clone()));
    let tags = iam
        .list_user_tags()
        .user_name("target")
        .send()
        .await
        .unwrap();
    let mut keys: Vec<&str> = tags.tags().iter().map(|t| t.key()).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["cost", "owner", "team"]);
}

/// Bool on aws:MultiFactorAuthPresent with and without ...IfExists: long-term keys (the key
/// absent) against a GetSessionToken session with MFA (the key true).
#[tokio::test]
async fn s13_bool_mfa_present_with_and_without_if_exists() {
    let server = Server::start();
    let iam = server.root_iam();
    let acct = server.account_id.clone();
    let (key, secret) = server.new_user_with_key("max").await;
    let policy = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":["iam:CreateVirtualMFADevice","iam:EnableMFADevice"],"Resource":"*"},
        {"Effect":"Allow","Action":"iam:ListUsers","Resource":"*",
         "Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}},
        {"Effect":"Allow","Action":"iam:GetUser","Resource":"*",
         "Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}"#;
    iam.put_user_policy()
        .user_name("max")
        .policy_name("mfa-conditions")
        .policy_document(policy)
        .send()
        .await
        .unwrap();
    let max = server.iam(&key, &secret);
    let me = format!("arn:aws:iam::{acct}:user/max");
    let (serial, seed, t) = enable_mfa(&max, "max").await;

    // Long-term key: the key is absent. BoolIfExists matches; Bool does not.
    max.list_users().send().await.unwrap();
    assert_eq!(
        aws_error(&max.get_user().send().await.unwrap_err()),
        implicit_deny(&acct, "max", "iam:GetUser", &me)
    );

    // MFA session: the key is true. Bool matches; BoolIfExists "false" does not.
    let creds = server
        .sts(&key, &secret)
        .get_session_token()
        .serial_number(&serial)
        .token_code(totp_code(&seed, t + 1))
        .send()
        .await
        .unwrap()
        .credentials
        .unwrap();
    let session = iam_with(&server, &temp(&creds), None);
    let got = session.get_user().send().await.unwrap();
    assert_eq!(got.user().unwrap().user_name(), "max");
    assert_eq!(
        aws_error(&session.list_users().send().await.unwrap_err()),
        implicit_deny(
            &acct,
            "max",
            "iam:ListUsers",
            &format!("arn:aws:iam::{acct}:user/")
        )
    );
}

// ---------------------------------------------------------------------------------------------
// 7. S16: policy variables.
// ---------------------------------------------------------------------------------------------

/// `${aws:username}` under 2012-10-17; a variable name in another case is the same variable
/// ("Key names are case-insensitive. For example, aws:CurrentTime is equivalent to
/// AWS:currenttime.", IAM User Guide, reference_policies_variables); a variable with no value in
/// the request makes the statement not match ("not present ... any attempt to match it fails and
/// causes the statement to be invalid", same page), unless it has a default value; under
/// 2008-10-17 variables are literal text.
#[tokio::test]
async fn s16_policy_variables_on_real_requests() {
    let server = Server::start();
    let iam = server.root_iam();
    let acct = server.account_id.clone();
    let (key, secret) = server.new_user_with_key("vera").await;
    let vera = server.iam(&key, &secret);
    iam.create_user().user_name("walt").send().await.unwrap();
    let me = format!("arn:aws:iam::{acct}:user/vera");
    let walt = format!("arn:aws:iam::{acct}:user/walt");
    let put = |resource: &str, version: &str| {
        let iam = iam.clone();
        let doc = format!(
            r#"{{"Version":"{version}","Statement":[{{"Effect":"Allow","Action":"iam:GetUser","Resource":"{resource}"}}]}}"#
        );
        async move {
            iam.put_user_policy()
                .user_name("vera")
                .policy_name("self")
                .policy_document(doc)
                .send()
                .await
                .unwrap();
        }
    };
    let get = |name: &'static str| {
        let vera = vera.clone();
        async move {
            vera.get_user()
                .user_name(name)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| aws_error(&e))
        }
    };

    put("arn:aws:iam::*:user/${aws:username}", "2012-10-17").await;
    assert_eq!(get("vera").await, Ok(()));
    assert_eq!(
        get("walt").await,
        Err(implicit_deny(&acct, "vera", "iam:GetUser", &walt))
    );

    // Another case of the same variable name.
    put("arn:aws:iam::*:user/${AWS:UserName}", "2012-10-17").await;
    assert_eq!(get("vera").await, Ok(()));
    assert_eq!(
        get("walt").await,
        Err(implicit_deny(&acct, "vera", "iam:GetUser", &walt))
    );

    // A variable with no value: the statement matches nothing.
    put("arn:aws:iam::*:user/${aws:nonexistent}", "2012-10-17").await;
    assert_eq!(
        get("vera").await,
        Err(implicit_deny(&acct, "vera", "iam:GetUser", &me))
    );
    // ... unless a default is given ("Specifying default values", same page).
    put(
        "arn:aws:iam::*:user/${aws:nonexistent, 'walt'}",
        "2012-10-17",
    )
    .await;
    assert_eq!(get("walt").await, Ok(()));
    assert_eq!(
        get("vera").await,
        Err(implicit_deny(&acct, "vera", "iam:GetUser", &me))
    );
    // aws:TokenIssueTime is present only with temporary credentials.
    put("arn:aws:iam::*:user/${aws:TokenIssueTime}", "2012-10-17").await;
    assert_eq!(
        get("vera").await,
        Err(implicit_deny(&acct, "vera", "iam:GetUser", &me))
    );

    // 2008-10-17: "variables like ${aws:username} are treated as literal strings".
    put("arn:aws:iam::*:user/${aws:username}", "2008-10-17").await;
    assert_eq!(
        get("vera").await,
        Err(implicit_deny(&acct, "vera", "iam:GetUser", &me))
    );

    // In a condition too: StringEquals against ${aws:username}.
    iam.put_user_policy()
        .user_name("vera")
        .policy_name("self")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalArn":"arn:aws:iam::*:user/${aws:username}"}}}]}"#)
        .send()
        .await
        .unwrap();
    // StringEquals does not glob: the account ID is not "*".
    assert_eq!(
        vera.list_users()
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_error(&e)),
        Err(implicit_deny(
            &acct,
            "vera",
            "iam:ListUsers",
            &format!("arn:aws:iam::{acct}:user/")
        ))
    );
    iam.put_user_policy()
        .user_name("vera")
        .policy_name("self")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/${aws:username}"}}}]}"#)
        .send()
        .await
        .unwrap();
    vera.list_users().send().await.unwrap();
}

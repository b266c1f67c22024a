//! Roles through aws-sdk-iam: trust policies, session durations, boundaries, tags, listing,
//! attachments and inline policies, delete conflicts, and role-scoped authorisation.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use aws_sdk_iam::types::Tag;
use common::{Server, aws_error};

fn decode(doc: &str) -> String {
    percent_encoding::percent_decode_str(doc)
        .decode_utf8()
        .unwrap()
        .into_owned()
}

fn trust(acct: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{acct}:root"}},"Action":"sts:AssumeRole"}}]}}"#
    )
}

const ALLOW_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

#[tokio::test]
async fn role_lifecycle() {
    let server = Server::start();
    let iam = server.root_iam();
    let acct = server.account_id.clone();
    let doc = trust(&acct);

    let created = iam
        .create_role()
        .role_name("Deployer")
        .path("/ci/")
        .assume_role_policy_document(&doc)
        .description("deploys things")
        .tags(Tag::builder().key("Team").value("blue").build().unwrap())
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    assert!(created.role_id.starts_with("AROA"), "{}", created.role_id);
    assert_eq!(created.role_id.len(), 21);
    assert_eq!(created.arn, format!("arn:aws:iam::{acct}:role/ci/Deployer"));
    assert_eq!(created.max_session_duration, Some(3600));
    assert_eq!(decode(created.assume_role_policy_document().unwrap()), doc);

    // Names are unique without regard to case.
    let err = iam
        .create_role()
        .role_name("deployer")
        .assume_role_policy_document(&doc)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "EntityAlreadyExists".into(),
            "Role with name Deployer already exists.".into(),
            409
        )
    );

    // A trust policy must be one: an identity policy (with Resource) is malformed.
    let err = iam
        .create_role()
        .role_name("Bad")
        .assume_role_policy_document(ALLOW_ALL)
        .send()
        .await
        .unwrap_err();
    let (code, _, status) = aws_error(&err);
    assert_eq!((code.as_str(), status), ("MalformedPolicyDocument", 400));

    let err = iam
        .create_role()
        .role_name("Long")
        .assume_role_policy_document(&doc)
        .max_session_duration(43_201)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "ValidationError".into(),
            "1 validation error detected: Value 43201 at 'maxSessionDuration' failed to satisfy constraint: Member must have value less than or equal to 43200".into(),
            400
        )
    );

    iam.update_role()
        .role_name("Deployer")
        .max_session_duration(7200)
        .send()
        .await
        .unwrap();
    let described = iam
        .update_role_description()
        .role_name("Deployer")
        .description("ships things")
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    assert_eq!(described.description(), Some("ships things"));
    let new_doc = doc.replace("sts:AssumeRole", "sts:*");
    iam.update_assume_role_policy()
        .role_name("Deployer")
        .policy_document(&new_doc)
        .send()
        .await
        .unwrap();
    let got = iam
        .get_role()
        .role_name("DEPLOYER")
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    assert_eq!(got.role_name, "Deployer");
    assert_eq!(got.max_session_duration, Some(7200));
    assert_eq!(decode(got.assume_role_policy_document().unwrap()), new_doc);
    assert_eq!(got.tags().len(), 1);

    // Tags.
    iam.tag_role()
        .role_name("Deployer")
        .tags(Tag::builder().key("team").value("red").build().unwrap())
        .tags(Tag::builder().key("Env").value("prod").build().unwrap())
        .send()
        .await
        .unwrap();
    iam.untag_role()
        .role_name("Deployer")
        .tag_keys("ENV")
        .send()
        .await
        .unwrap();
    let tags = iam
        .list_role_tags()
        .role_name("Deployer")
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags().len(), 1);
    assert_eq!(tags.tags()[0].value(), "red");

    // Listing: path prefix and pages.
    for name in ["A1", "B2", "C3"] {
        iam.create_role()
            .role_name(name)
            .assume_role_policy_document(&doc)
            .send()
            .await
            .unwrap();
    }
    let page = iam.list_roles().max_items(2).send().await.unwrap();
    assert!(page.is_truncated);
    let names: Vec<_> = page.roles().iter().map(|r| r.role_name()).collect();
    assert_eq!(names, ["A1", "B2"]);
    let rest = iam
        .list_roles()
        .marker(page.marker().unwrap())
        .send()
        .await
        .unwrap();
    let names: Vec<_> = rest.roles().iter().map(|r| r.role_name()).collect();
    assert_eq!(names, ["C3", "Deployer"]);
    let ci = iam.list_roles().path_prefix("/ci/").send().await.unwrap();
    assert_eq!(ci.roles().len(), 1);

    // Attachments, inline policies and the boundary, then the delete conflicts.
    iam.attach_role_policy()
        .role_name("Deployer")
        .policy_arn("arn:aws:iam::aws:policy/IAMReadOnlyAccess")
        .send()
        .await
        .unwrap();
    iam.put_role_policy()
        .role_name("Deployer")
        .policy_name("inline")
        .policy_document(ALLOW_ALL)
        .send()
        .await
        .unwrap();
    let attached = iam
        .list_attached_role_policies()
        .role_name("Deployer")
        .send()
        .await
        .unwrap();
    assert_eq!(attached.attached_policies().len(), 1);
    let names = iam
        .list_role_policies()
        .role_name("Deployer")
        .send()
        .await
        .unwrap();
    assert_eq!(names.policy_names(), ["inline"]);
    let got = iam
        .get_role_policy()
        .role_name("Deployer")
        .policy_name("inline")
        .send()
        .await
        .unwrap();
    assert_eq!(decode(got.policy_document()), ALLOW_ALL);
    let entities = iam
        .list_entities_for_policy()
        .policy_arn("arn:aws:iam::aws:policy/IAMReadOnlyAccess")
        .send()
        .await
        .unwrap();
    assert_eq!(entities.policy_roles()[0].role_name(), Some("Deployer"));
    iam.put_role_permissions_boundary()
        .role_name("Deployer")
        .permissions_boundary("arn:aws:iam::aws:policy/IAMReadOnlyAccess")
        .send()
        .await
        .unwrap();
    let got = iam
        .get_role()
        .role_name("Deployer")
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    assert_eq!(
        got.permissions_boundary()
            .unwrap()
            .permissions_boundary_arn(),
        Some("arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    );
    iam.delete_role_permissions_boundary()
        .role_name("Deployer")
        .send()
        .await
        .unwrap();

    let err = iam
        .delete_role()
        .role_name("Deployer")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "DeleteConflict".into(),
            "Cannot delete entity, must delete policies first.".into(),
            409
        )
    );
    iam.delete_role_policy()
        .role_name("Deployer")
        .policy_name("inline")
        .send()
        .await
        .unwrap();
    let err = iam
        .delete_role()
        .role_name("Deployer")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err).1,
        "Cannot delete entity, must detach all policies first."
    );
    iam.detach_role_policy()
        .role_name("Deployer")
        .policy_arn("arn:aws:iam::aws:policy/IAMReadOnlyAccess")
        .send()
        .await
        .unwrap();
    iam.delete_role()
        .role_name("Deployer")
        .send()
        .await
        .unwrap();
    let err = iam
        .get_role()
        .role_name("Deployer")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "NoSuchEntity".into(),
            "The role with name Deployer cannot be found.".into(),
            404
        )
    );
}

/// A user allowed `iam:GetRole` only on roles under `/ci/` sees those and is refused others with
/// the role's ARN as the resource.
#[tokio::test]
async fn role_actions_are_authorised_on_the_role_arn() {
    let server = Server::start();
    let iam = server.root_iam();
    let acct = server.account_id.clone();
    for (name, path) in [("Ci", "/ci/"), ("Other", "/")] {
        iam.create_role()
            .role_name(name)
            .path(path)
            .assume_role_policy_document(trust(&acct))
            .send()
            .await
            .unwrap();
    }
    iam.create_user().user_name("dev").send().await.unwrap();
    iam.put_user_policy()
        .user_name("dev")
        .policy_name("ci-roles")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetRole","Resource":"arn:aws:iam::*:role/ci/*"}]}"#)
        .send()
        .await
        .unwrap();
    let key = iam
        .create_access_key()
        .user_name("dev")
        .send()
        .await
        .unwrap()
        .access_key
        .unwrap();
    let dev = server.iam(&key.access_key_id, &key.secret_access_key);
    dev.get_role().role_name("Ci").send().await.unwrap();
    let err = dev.get_role().role_name("Other").send().await.unwrap_err();
    assert_eq!(
        aws_error(&err),
        common::access_denied(format!(
            "User: arn:aws:iam::{acct}:user/dev is not authorized to perform: iam:GetRole on resource: arn:aws:iam::{acct}:role/Other because no identity-based policy allows the iam:GetRole action"
        ))
    );
}

//! Managed and inline policies, groups and boundaries through aws-sdk-iam, and their enforcement
//! on real signed requests from non-root users (scenarios S8, S11, S13, S14, S16, S17).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use aws_sdk_iam::types::{EntityType, PolicyScopeType, Tag};
use common::{Server, aws_error};

/// Creates a user with an access key and returns an IAM client signed with it.
async fn user_client(server: &Server, name: &str) -> aws_sdk_iam::Client {
    let (key, secret) = server.new_user_with_key(name).await;
    server.iam(&key, &secret)
}

fn decode(doc: &str) -> String {
    percent_encoding::percent_decode_str(doc)
        .decode_utf8()
        .unwrap()
        .into_owned()
}

const LIST_USERS_ALLOW: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}]}"#;

#[tokio::test]
async fn managed_policy_versions_s17() {
    let server = Server::start();
    let iam = server.root_iam();
    let acct = &server.account_id;
    let created = iam
        .create_policy()
        .policy_name("ReadUsers")
        .path("/team/")
        .description("lets people list users")
        .policy_document(LIST_USERS_ALLOW)
        .send()
        .await
        .unwrap();
    let p = created.policy().unwrap();
    let arn = p.arn().unwrap().to_owned();
    assert_eq!(arn, format!("arn:aws:iam::{acct}:policy/team/ReadUsers"));
    assert_eq!(p.default_version_id(), Some("v1"));
    assert!(p.policy_id().unwrap().starts_with("ANPA"));

    let err = iam
        .create_policy()
        .policy_name("readusers")
        .policy_document(LIST_USERS_ALLOW)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "EntityAlreadyExists".into(),
            "A policy called readusers already exists. Duplicate names are not allowed.".into(),
            409
        )
    );

    let got = iam.get_policy().policy_arn(&arn).send().await.unwrap();
    assert_eq!(
        got.policy().unwrap().description(),
        Some("lets people list users")
    );

    for _ in 2..=5 {
        iam.create_policy_version()
            .policy_arn(&arn)
            .policy_document(LIST_USERS_ALLOW)
            .send()
            .await
            .unwrap();
    }
    let err = iam
        .create_policy_version()
        .policy_arn(&arn)
        .policy_document(LIST_USERS_ALLOW)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "LimitExceeded".into(),
            "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.".into(),
            409
        )
    );
    iam.set_default_policy_version()
        .policy_arn(&arn)
        .version_id("v3")
        .send()
        .await
        .unwrap();
    let err = iam
        .delete_policy_version()
        .policy_arn(&arn)
        .version_id("v3")
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
    iam.delete_policy_version()
        .policy_arn(&arn)
        .version_id("v1")
        .send()
        .await
        .unwrap();
    let v = iam
        .create_policy_version()
        .policy_arn(&arn)
        .policy_document(LIST_USERS_ALLOW)
        .set_as_default(true)
        .send()
        .await
        .unwrap();
    assert_eq!(
        v.policy_version().unwrap().version_id(),
        Some("v6"),
        "version IDs are never reused"
    );
    let versions = iam
        .list_policy_versions()
        .policy_arn(&arn)
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = versions
        .versions()
        .iter()
        .filter_map(|v| v.version_id())
        .collect();
    assert_eq!(ids, ["v6", "v5", "v4", "v3", "v2"]);
    assert!(versions.versions()[0].is_default_version());

    let doc = iam
        .get_policy_version()
        .policy_arn(&arn)
        .version_id("v6")
        .send()
        .await
        .unwrap();
    let doc = doc.policy_version().unwrap().document().unwrap().to_owned();
    assert!(
        doc.starts_with("%7B%22Version%22"),
        "documents come back URL-encoded: {doc}"
    );
    assert_eq!(decode(&doc), LIST_USERS_ALLOW);

    let local = iam
        .list_policies()
        .scope(PolicyScopeType::Local)
        .send()
        .await
        .unwrap();
    assert_eq!(local.policies().len(), 1);
    let aws = iam
        .list_policies()
        .scope(PolicyScopeType::Aws)
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = aws
        .policies()
        .iter()
        .filter_map(|p| p.policy_name())
        .collect();
    assert!(
        names.contains(&"AdministratorAccess") && names.contains(&"IAMUserChangePassword"),
        "{names:?}"
    );

    let err = iam
        .get_policy()
        .policy_arn(format!("arn:aws:iam::{acct}:policy/Nope"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err).0, "NoSuchEntity");

    let err = iam
        .create_policy()
        .policy_name("Bad")
        .policy_document(r#"{"Statement":[{"Action":"iam:*","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err).0, "MalformedPolicyDocument");

    // Versions must go before the policy; the default goes with it.
    let err = iam
        .delete_policy()
        .policy_arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err).0, "DeleteConflict");
    for v in ["v2", "v3", "v4", "v5"] {
        iam.delete_policy_version()
            .policy_arn(&arn)
            .version_id(v)
            .send()
            .await
            .unwrap();
    }
    iam.delete_policy().policy_arn(&arn).send().await.unwrap();
}

#[tokio::test]
async fn attachments_quota_entities_and_delete_conflicts() {
    let server = Server::start();
    let iam = server.root_iam();
    let acct = &server.account_id;
    iam.create_user().user_name("ann").send().await.unwrap();
    iam.create_group().group_name("devs").send().await.unwrap();
    iam.add_user_to_group()
        .group_name("devs")
        .user_name("ann")
        .send()
        .await
        .unwrap();
    let mut arns = Vec::new();
    for i in 0..11 {
        let p = iam
            .create_policy()
            .policy_name(format!("p{i}"))
            .policy_document(LIST_USERS_ALLOW)
            .send()
            .await
            .unwrap();
        arns.push(p.policy().unwrap().arn().unwrap().to_owned());
    }
    for arn in &arns[..10] {
        iam.attach_user_policy()
            .user_name("ann")
            .policy_arn(arn)
            .send()
            .await
            .unwrap();
    }
    let err = iam
        .attach_user_policy()
        .user_name("ann")
        .policy_arn(&arns[10])
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "LimitExceeded".into(),
            "Cannot exceed quota for PoliciesPerUser: 10".into(),
            409
        )
    );
    let attached = iam
        .list_attached_user_policies()
        .user_name("ann")
        .send()
        .await
        .unwrap();
    assert_eq!(attached.attached_policies().len(), 10);

    iam.attach_group_policy()
        .group_name("devs")
        .policy_arn(&arns[0])
        .send()
        .await
        .unwrap();
    let entities = iam
        .list_entities_for_policy()
        .policy_arn(&arns[0])
        .send()
        .await
        .unwrap();
    assert_eq!(entities.policy_users()[0].user_name(), Some("ann"));
    assert_eq!(entities.policy_groups()[0].group_name(), Some("devs"));
    let only_groups = iam
        .list_entities_for_policy()
        .policy_arn(&arns[0])
        .entity_filter(EntityType::Group)
        .send()
        .await
        .unwrap();
    assert!(only_groups.policy_users().is_empty());
    let got = iam.get_policy().policy_arn(&arns[0]).send().await.unwrap();
    assert_eq!(got.policy().unwrap().attachment_count(), Some(2));

    let err = iam
        .delete_policy()
        .policy_arn(&arns[0])
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "DeleteConflict".into(),
            "Cannot delete a policy attached to entities.".into(),
            409
        )
    );
    let err = iam
        .detach_user_policy()
        .user_name("ann")
        .policy_arn(&arns[10])
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "NoSuchEntity".into(),
            format!("Policy {} was not found.", arns[10]),
            404
        )
    );
    let err = iam
        .attach_user_policy()
        .user_name("ann")
        .policy_arn(format!("arn:aws:iam::{acct}:policy/ghost"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "NoSuchEntity".into(),
            format!("Policy arn:aws:iam::{acct}:policy/ghost does not exist or is not attachable."),
            404
        )
    );

    // Inline policies: size quota, errors, listing.
    iam.put_user_policy()
        .user_name("ann")
        .policy_name("inline")
        .policy_document(LIST_USERS_ALLOW)
        .send()
        .await
        .unwrap();
    let big = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"iam:ListUsers","Resource":"arn:aws:iam::{acct}:user/{}"}}]}}"#,
        "x".repeat(2000)
    );
    let err = iam
        .put_user_policy()
        .user_name("ann")
        .policy_name("big")
        .policy_document(&big)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "LimitExceeded".into(),
            "Maximum policy size of 2048 bytes exceeded for user ann".into(),
            409
        )
    );
    let names = iam
        .list_user_policies()
        .user_name("ann")
        .send()
        .await
        .unwrap();
    assert_eq!(names.policy_names(), ["inline"]);
    let got = iam
        .get_user_policy()
        .user_name("ann")
        .policy_name("inline")
        .send()
        .await
        .unwrap();
    assert_eq!(decode(got.policy_document()), LIST_USERS_ALLOW);
    let err = iam
        .get_user_policy()
        .user_name("ann")
        .policy_name("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "NoSuchEntity".into(),
            "The user policy with name nope cannot be found.".into(),
            404
        )
    );
    let err = iam
        .put_group_policy()
        .group_name("devs")
        .policy_name("p")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"iam:*","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "MalformedPolicyDocument".into(),
            "Policy document should not specify a principal.".into(),
            400
        )
    );

    // DeleteUser and DeleteGroup refuse while anything hangs off them.
    let err = iam.delete_user().user_name("ann").send().await.unwrap_err();
    assert_eq!(
        aws_error(&err).1,
        "Cannot delete entity, must delete policies first."
    );
    iam.delete_user_policy()
        .user_name("ann")
        .policy_name("inline")
        .send()
        .await
        .unwrap();
    let err = iam.delete_user().user_name("ann").send().await.unwrap_err();
    assert_eq!(
        aws_error(&err).1,
        "Cannot delete entity, must detach all policies first."
    );
    for arn in &arns[..10] {
        iam.detach_user_policy()
            .user_name("ann")
            .policy_arn(arn)
            .send()
            .await
            .unwrap();
    }
    let err = iam.delete_user().user_name("ann").send().await.unwrap_err();
    assert_eq!(
        aws_error(&err).1,
        "Cannot delete entity, must remove users from group first."
    );
    let err = iam
        .delete_group()
        .group_name("devs")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err).1,
        "Cannot delete entity, must remove users from group first."
    );
    iam.remove_user_from_group()
        .group_name("devs")
        .user_name("ann")
        .send()
        .await
        .unwrap();
    iam.delete_user().user_name("ann").send().await.unwrap();
    let err = iam
        .delete_group()
        .group_name("devs")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err).1,
        "Cannot delete entity, must detach all policies first."
    );
    iam.detach_group_policy()
        .group_name("devs")
        .policy_arn(&arns[0])
        .send()
        .await
        .unwrap();
    iam.delete_group().group_name("devs").send().await.unwrap();
}

#[tokio::test]
async fn groups_members_and_pagination() {
    let server = Server::start();
    let iam = server.root_iam();
    iam.create_group()
        .group_name("ops")
        .path("/eng/")
        .send()
        .await
        .unwrap();
    let err = iam
        .create_group()
        .group_name("OPS")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "EntityAlreadyExists".into(),
            "Group with name ops already exists.".into(),
            409
        )
    );
    for i in 0..3 {
        iam.create_user()
            .user_name(format!("u{i}"))
            .send()
            .await
            .unwrap();
        iam.add_user_to_group()
            .group_name("ops")
            .user_name(format!("u{i}"))
            .send()
            .await
            .unwrap();
    }
    let g = iam
        .get_group()
        .group_name("ops")
        .max_items(2)
        .send()
        .await
        .unwrap();
    assert_eq!(
        g.group().unwrap().arn(),
        format!("arn:aws:iam::{}:group/eng/ops", server.account_id)
    );
    assert_eq!(g.users().len(), 2);
    assert!(g.is_truncated());
    let rest = iam
        .get_group()
        .group_name("ops")
        .marker(g.marker().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.users()[0].user_name(), "u2");
    let mine = iam
        .list_groups_for_user()
        .user_name("u1")
        .send()
        .await
        .unwrap();
    assert_eq!(mine.groups()[0].group_name(), "ops");
    iam.update_group()
        .group_name("ops")
        .new_group_name("sre")
        .send()
        .await
        .unwrap();
    let all = iam.list_groups().send().await.unwrap();
    assert_eq!(all.groups()[0].group_name(), "sre");
    let err = iam.get_group().group_name("ops").send().await.unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "NoSuchEntity".into(),
            "The group with name ops cannot be found.".into(),
            404
        )
    );
}

#[tokio::test]
async fn self_service_keys_with_the_username_variable_s8_s16() {
    let server = Server::start();
    let iam = server.root_iam();
    let acct = &server.account_id;
    let alice = user_client(&server, "alice").await;
    iam.create_user().user_name("bob").send().await.unwrap();
    // The seed's statement (001 §3), for all four key actions, with the 2012-10-17 version.
    let seed = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:CreateAccessKey","iam:ListAccessKeys","iam:UpdateAccessKey","iam:DeleteAccessKey"],"Resource":"arn:aws:iam::*:user/${aws:username}"}]}"#;
    iam.put_user_policy()
        .user_name("alice")
        .policy_name("self-keys")
        .policy_document(seed)
        .send()
        .await
        .unwrap();

    // Read-your-writes: the very next request sees the policy.
    let listed = alice.list_access_keys().send().await.unwrap();
    assert_eq!(listed.access_key_metadata().len(), 1);
    let own = alice
        .create_access_key()
        .user_name("alice")
        .send()
        .await
        .unwrap();
    let own_id = own.access_key().unwrap().access_key_id().to_owned();
    alice
        .update_access_key()
        .user_name("alice")
        .access_key_id(&own_id)
        .status(aws_sdk_iam::types::StatusType::Inactive)
        .send()
        .await
        .unwrap();
    alice
        .delete_access_key()
        .user_name("alice")
        .access_key_id(&own_id)
        .send()
        .await
        .unwrap();

    let err = alice
        .create_access_key()
        .user_name("bob")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        common::access_denied(format!(
            "User: arn:aws:iam::{acct}:user/alice is not authorized to perform: iam:CreateAccessKey on resource: arn:aws:iam::{acct}:user/bob because no identity-based policy allows the iam:CreateAccessKey action"
        ))
    );

    // Without the Version element the variable is literal text and nothing matches (S16).
    let literal = seed.replace(r#""Version":"2012-10-17","#, "");
    iam.put_user_policy()
        .user_name("alice")
        .policy_name("self-keys")
        .policy_document(&literal)
        .send()
        .await
        .unwrap();
    let err = alice
        .create_access_key()
        .user_name("alice")
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err).0, "AccessDenied");
}

#[tokio::test]
async fn denial_messages_name_the_policy_type_s11_s14() {
    let server = Server::start();
    let iam = server.root_iam();
    let acct = &server.account_id;
    let carl = user_client(&server, "carl").await;
    let admin = "arn:aws:iam::aws:policy/AdministratorAccess";
    iam.attach_user_policy()
        .user_name("carl")
        .policy_arn(admin)
        .send()
        .await
        .unwrap();
    carl.list_users().send().await.unwrap();

    // An explicit deny in an identity-based policy.
    iam.put_user_policy()
        .user_name("carl")
        .policy_name("no-list")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:ListUsers","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    let err = carl.list_users().send().await.unwrap_err();
    assert_eq!(
        aws_error(&err),
        common::access_denied(format!(
            "User: arn:aws:iam::{acct}:user/carl is not authorized to perform: iam:ListUsers on resource: arn:aws:iam::{acct}:user/ with an explicit deny in an identity-based policy"
        ))
    );
    iam.delete_user_policy()
        .user_name("carl")
        .policy_name("no-list")
        .send()
        .await
        .unwrap();

    // A permissions boundary that does not allow the action (S14).
    let boundary = iam
        .create_policy()
        .policy_name("OnlyGetUser")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    let boundary_arn = boundary.policy().unwrap().arn().unwrap().to_owned();
    iam.put_user_permissions_boundary()
        .user_name("carl")
        .permissions_boundary(&boundary_arn)
        .send()
        .await
        .unwrap();
    let got = iam.get_user().user_name("carl").send().await.unwrap();
    assert_eq!(
        got.user()
            .unwrap()
            .permissions_boundary()
            .and_then(|b| b.permissions_boundary_arn()),
        Some(boundary_arn.as_str())
    );
    let err = carl.list_users().send().await.unwrap_err();
    assert_eq!(
        aws_error(&err).1,
        format!(
            "User: arn:aws:iam::{acct}:user/carl is not authorized to perform: iam:ListUsers on resource: arn:aws:iam::{acct}:user/ because no permissions boundary allows the iam:ListUsers action"
        )
    );
    carl.get_user().send().await.unwrap();
    let err = iam
        .delete_policy()
        .policy_arn(&boundary_arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err).0, "DeleteConflict");
    iam.delete_user_permissions_boundary()
        .user_name("carl")
        .send()
        .await
        .unwrap();
    carl.list_users().send().await.unwrap();
}

#[tokio::test]
async fn group_policies_apply_to_members_at_once() {
    let server = Server::start();
    let iam = server.root_iam();
    let dana = user_client(&server, "dana").await;
    iam.create_group()
        .group_name("readers")
        .send()
        .await
        .unwrap();
    iam.attach_group_policy()
        .group_name("readers")
        .policy_arn("arn:aws:iam::aws:policy/IAMReadOnlyAccess")
        .send()
        .await
        .unwrap();
    assert_eq!(
        aws_error(&dana.list_users().send().await.unwrap_err()).0,
        "AccessDenied"
    );
    iam.add_user_to_group()
        .group_name("readers")
        .user_name("dana")
        .send()
        .await
        .unwrap();
    dana.list_users().send().await.unwrap();
    dana.get_group().group_name("readers").send().await.unwrap();
    assert_eq!(
        aws_error(&dana.create_user().user_name("x").send().await.unwrap_err()).0,
        "AccessDenied"
    );
    iam.remove_user_from_group()
        .group_name("readers")
        .user_name("dana")
        .send()
        .await
        .unwrap();
    assert_eq!(
        aws_error(&dana.list_users().send().await.unwrap_err()).0,
        "AccessDenied"
    );
}

#[tokio::test]
async fn tag_conditions_and_case_insensitive_keys_s13() {
    let server = Server::start();
    let iam = server.root_iam();
    let erin = user_client(&server, "erin").await;
    iam.create_user()
        .user_name("red-user")
        .tags(Tag::builder().key("team").value("red").build().unwrap())
        .send()
        .await
        .unwrap();
    iam.create_user()
        .user_name("blue-user")
        .tags(Tag::builder().key("team").value("blue").build().unwrap())
        .send()
        .await
        .unwrap();
    // Key names in conditions are case-insensitive: AWS:resourcetag/TEAM matches the tag "team".
    let policy = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":"iam:GetUser","Resource":"*","Condition":{"StringEquals":{"AWS:resourcetag/TEAM":"red"}}},
        {"Effect":"Allow","Action":"iam:TagUser","Resource":"*","Condition":{
            "StringEquals":{"aws:RequestTag/team":"red"},
            "ForAllValues:StringEquals":{"aws:TagKeys":["team"]}}}]}"#;
    iam.put_user_policy()
        .user_name("erin")
        .policy_name("abac")
        .policy_document(policy)
        .send()
        .await
        .unwrap();
    erin.get_user().user_name("red-user").send().await.unwrap();
    assert_eq!(
        aws_error(
            &erin
                .get_user()
                .user_name("blue-user")
                .send()
                .await
                .unwrap_err()
        )
        .0,
        "AccessDenied"
    );
    let red = Tag::builder().key("team").value("red").build().unwrap();
    erin.tag_user()
        .user_name("blue-user")
        .tags(red)
        .send()
        .await
        .unwrap();
    erin.get_user().user_name("blue-user").send().await.unwrap();
    let other = Tag::builder().key("cost").value("1").build().unwrap();
    let err = erin
        .tag_user()
        .user_name("blue-user")
        .tags(other)
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err).0, "AccessDenied");
}

#[tokio::test]
async fn account_summary_counts_entities_and_reports_quotas() {
    let server = Server::start();
    let iam = server.root_iam();
    iam.create_user().user_name("u1").send().await.unwrap();
    iam.create_user().user_name("u2").send().await.unwrap();
    iam.create_group().group_name("g1").send().await.unwrap();
    let p = iam
        .create_policy()
        .policy_name("P")
        .policy_document(LIST_USERS_ALLOW)
        .send()
        .await
        .unwrap();
    let arn = p.policy().unwrap().arn().unwrap().to_owned();
    iam.attach_user_policy()
        .user_name("u1")
        .policy_arn(&arn)
        .send()
        .await
        .unwrap();
    iam.attach_group_policy()
        .group_name("g1")
        .policy_arn("arn:aws:iam::aws:policy/IAMReadOnlyAccess")
        .send()
        .await
        .unwrap();
    iam.create_virtual_mfa_device()
        .virtual_mfa_device_name("spare")
        .send()
        .await
        .unwrap();
    let summary = iam.get_account_summary().send().await.unwrap();
    let map = summary.summary_map().unwrap();
    let get = |k: aws_sdk_iam::types::SummaryKeyType| map.get(&k).copied();
    use aws_sdk_iam::types::SummaryKeyType as K;
    assert_eq!(get(K::Users), Some(2));
    assert_eq!(get(K::Groups), Some(1));
    assert_eq!(get(K::Policies), Some(1), "customer managed only");
    assert_eq!(get(K::PolicyVersionsInUse), Some(2));
    assert_eq!(get(K::MfaDevices), Some(1));
    assert_eq!(get(K::MfaDevicesInUse), Some(0));
    assert_eq!(
        get(K::AccountAccessKeysPresent),
        Some(1),
        "the bootstrap root key"
    );
    assert_eq!(get(K::AccessKeysPerUserQuota), Some(2));
    assert_eq!(get(K::UsersQuota), Some(5000));
}

#[tokio::test]
async fn policy_tags_and_resource_tag_conditions() {
    let server = Server::start();
    let iam = server.root_iam();
    let p = iam
        .create_policy()
        .policy_name("Tagged")
        .policy_document(LIST_USERS_ALLOW)
        .send()
        .await
        .unwrap();
    let arn = p.policy().unwrap().arn().unwrap().to_owned();
    iam.tag_policy()
        .policy_arn(&arn)
        .tags(Tag::builder().key("team").value("red").build().unwrap())
        .tags(Tag::builder().key("env").value("dev").build().unwrap())
        .send()
        .await
        .unwrap();
    let tags = iam
        .list_policy_tags()
        .policy_arn(&arn)
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = tags.tags().iter().map(|t| t.key()).collect();
    assert_eq!(keys, ["team", "env"]);
    assert_eq!(
        iam.get_policy()
            .policy_arn(&arn)
            .send()
            .await
            .unwrap()
            .policy()
            .unwrap()
            .tags()
            .len(),
        2
    );
    iam.untag_policy()
        .policy_arn(&arn)
        .tag_keys("ENV")
        .send()
        .await
        .unwrap();
    assert_eq!(
        iam.list_policy_tags()
            .policy_arn(&arn)
            .send()
            .await
            .unwrap()
            .tags()
            .len(),
        1
    );
    let err = iam
        .tag_policy()
        .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
        .tags(Tag::builder().key("x").value("y").build().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err).0, "InvalidInput");

    // aws:ResourceTag on a policy: only red-team policies may be read.
    let reader = user_client(&server, "rob").await;
    iam.put_user_policy()
        .user_name("rob")
        .policy_name("read-red")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetPolicy","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/team":"red"}}}]}"#)
        .send()
        .await
        .unwrap();
    reader.get_policy().policy_arn(&arn).send().await.unwrap();
    iam.untag_policy()
        .policy_arn(&arn)
        .tag_keys("team")
        .send()
        .await
        .unwrap();
    assert_eq!(
        aws_error(
            &reader
                .get_policy()
                .policy_arn(&arn)
                .send()
                .await
                .unwrap_err()
        )
        .0,
        "AccessDenied"
    );
}

#[tokio::test]
async fn account_authorization_details_pages_across_sections_and_filters() {
    use aws_sdk_iam::types::EntityType as E;
    let server = Server::start();
    let iam = server.root_iam();
    for name in ["ann", "ben", "cat"] {
        iam.create_user().user_name(name).send().await.unwrap();
    }
    iam.put_user_policy()
        .user_name("ben")
        .policy_name("inline")
        .policy_document(LIST_USERS_ALLOW)
        .send()
        .await
        .unwrap();
    iam.create_group().group_name("devs").send().await.unwrap();
    iam.add_user_to_group()
        .group_name("devs")
        .user_name("ben")
        .send()
        .await
        .unwrap();
    let p = iam
        .create_policy()
        .policy_name("Local")
        .policy_document(LIST_USERS_ALLOW)
        .send()
        .await
        .unwrap();
    let arn = p.policy().unwrap().arn().unwrap().to_owned();
    iam.attach_group_policy()
        .group_name("devs")
        .policy_arn(&arn)
        .send()
        .await
        .unwrap();
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{}:root"}},"Action":"sts:AssumeRole"}}]}}"#,
        server.account_id
    );
    iam.create_role()
        .role_name("deployer")
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap();

    // Two items a page: the pages run through users, groups, roles and policies in order.
    let mut pages = iam
        .get_account_authorization_details()
        .max_items(2)
        .into_paginator()
        .send();
    let (mut users, mut groups, mut roles, mut policies, mut count) =
        (vec![], vec![], vec![], vec![], 0);
    while let Some(page) = pages.next().await {
        let page = page.unwrap();
        count += 1;
        let n = page.user_detail_list().len()
            + page.group_detail_list().len()
            + page.role_detail_list().len()
            + page.policies().len();
        assert!(n <= 2, "page {count} has {n} items");
        users.extend(
            page.user_detail_list()
                .iter()
                .map(|u| u.user_name().unwrap_or_default().to_owned()),
        );
        groups.extend(page.group_detail_list().to_vec());
        roles.extend(
            page.role_detail_list()
                .iter()
                .map(|r| r.role_name().unwrap_or_default().to_owned()),
        );
        policies.extend(
            page.policies()
                .iter()
                .map(|p| p.policy_name().unwrap_or_default().to_owned()),
        );
    }
    assert_eq!(users, ["ann", "ben", "cat"]);
    assert_eq!(groups.len(), 1);
    assert_eq!(
        groups[0].attached_managed_policies()[0].policy_arn(),
        Some(arn.as_str())
    );
    assert_eq!(roles, ["deployer"]);
    assert!(
        policies.contains(&"Local".to_owned())
            && policies.contains(&"AdministratorAccess".to_owned())
    );
    assert!(count >= 5);

    let ben = iam
        .get_account_authorization_details()
        .filter(E::User)
        .send()
        .await
        .unwrap();
    let ben = ben
        .user_detail_list()
        .iter()
        .find(|u| u.user_name() == Some("ben"))
        .unwrap();
    assert_eq!(ben.group_list(), ["devs"]);
    assert_eq!(
        decode(ben.user_policy_list()[0].policy_document().unwrap()),
        LIST_USERS_ALLOW
    );
    let local = iam
        .get_account_authorization_details()
        .filter(E::LocalManagedPolicy)
        .send()
        .await
        .unwrap();
    assert!(local.user_detail_list().is_empty() && local.role_detail_list().is_empty());
    assert_eq!(local.policies().len(), 1);
    let versions = local.policies()[0].policy_version_list();
    assert_eq!(versions.len(), 1);
    assert!(versions[0].is_default_version());
}

/// AWS's `ReadOnlyAccess` as shipped (from the npm snapshot of AWS managed policies, checked by
/// `scripts/aws-managed-policies`): it reads IAM and writes nothing.
#[tokio::test]
async fn aws_read_only_access_reads_iam_and_writes_nothing() {
    let server = Server::start();
    let iam = server.root_iam();
    let acct = &server.account_id;
    let arn = "arn:aws:iam::aws:policy/ReadOnlyAccess";
    let got = iam.get_policy().policy_arn(arn).send().await.unwrap();
    let p = got.policy().unwrap();
    assert_eq!(p.policy_id(), Some("ANPAILL3HVNFSB6DCOWYQ"));
    assert_eq!(
        p.description(),
        Some("Provides read-only access to AWS services and resources.")
    );
    let version = p.default_version_id().unwrap().to_owned();
    let doc = iam
        .get_policy_version()
        .policy_arn(arn)
        .version_id(&version)
        .send()
        .await
        .unwrap();
    let doc = decode(doc.policy_version().unwrap().document().unwrap());
    let data: serde_json::Value =
        serde_json::from_str(include_str!("../../core/data/aws_managed_policies.json")).unwrap();
    let shipped = data["policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "ReadOnlyAccess")
        .unwrap();
    assert_eq!(shipped["version"], version.as_str());
    assert_eq!(shipped["document"], doc.as_str());

    let (key, secret) = server.new_user_with_key("reader").await;
    let reader = server.iam(&key, &secret);
    iam.attach_user_policy()
        .user_name("reader")
        .policy_arn(arn)
        .send()
        .await
        .unwrap();
    reader.list_users().send().await.unwrap();
    reader.get_user().user_name("reader").send().await.unwrap();
    reader.list_policies().send().await.unwrap();
    reader.get_account_summary().send().await.unwrap();
    let err = reader
        .create_user()
        .user_name("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "AccessDenied".to_owned(),
            format!(
                "User: arn:aws:iam::{acct}:user/reader is not authorized to perform: \
                 iam:CreateUser on resource: arn:aws:iam::{acct}:user/x because no \
                 identity-based policy allows the iam:CreateUser action"
            ),
            403
        )
    );
    let err = reader
        .create_access_key()
        .user_name("reader")
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err).0, "AccessDenied");
}

/// AWS's delegation pattern for permissions boundaries: an administrator may create users and
/// manage their policies only when the boundary is set (`iam:PermissionsBoundary`, which is the
/// request's boundary for `CreateUser` and the user's current one for `AttachUserPolicy` and
/// `PutUserPolicy`). `CreateUser` takes `PermissionsBoundary`.
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html>
#[tokio::test]
async fn boundaries_set_at_creation_and_delegated_with_the_boundary_key() {
    let server = Server::start();
    let iam = server.root_iam();
    let acct = &server.account_id;
    let boundary = iam
        .create_policy()
        .policy_name("DeveloperBoundary")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    let boundary_arn = boundary.policy().unwrap().arn().unwrap().to_owned();

    // CreateUser with a boundary shows it at once; an unknown policy is refused as AWS does.
    let created = iam
        .create_user()
        .user_name("bounded")
        .permissions_boundary(&boundary_arn)
        .send()
        .await
        .unwrap();
    let shown = |u: Option<&aws_sdk_iam::types::User>| {
        u.and_then(|u| u.permissions_boundary())
            .and_then(|b| b.permissions_boundary_arn())
            .map(str::to_owned)
    };
    assert_eq!(shown(created.user()), Some(boundary_arn.clone()));
    let got = iam.get_user().user_name("bounded").send().await.unwrap();
    assert_eq!(shown(got.user()), Some(boundary_arn.clone()));
    let missing = format!("arn:aws:iam::{acct}:policy/Nope");
    let err = iam
        .create_user()
        .user_name("unbounded-typo")
        .permissions_boundary(&missing)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "NoSuchEntity".into(),
            format!("Scope ARN: {missing} does not exist or is not attachable."),
            404
        )
    );
    assert!(
        iam.get_user()
            .user_name("unbounded-typo")
            .send()
            .await
            .is_err()
    );
    iam.create_user().user_name("free").send().await.unwrap();

    // The delegated administrator.
    let delegate = user_client(&server, "delegate").await;
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["iam:CreateUser","iam:AttachUserPolicy","iam:PutUserPolicy"],"Resource":"*","Condition":{{"StringEquals":{{"iam:PermissionsBoundary":"{boundary_arn}"}}}}}}]}}"#
    );
    iam.put_user_policy()
        .user_name("delegate")
        .policy_name("delegated-admin")
        .policy_document(policy)
        .send()
        .await
        .unwrap();
    let denied = |action: &str, user: &str| {
        format!(
            "User: arn:aws:iam::{acct}:user/delegate is not authorized to perform: {action} on resource: arn:aws:iam::{acct}:user/{user} because no identity-based policy allows the {action} action"
        )
    };
    let err = delegate
        .create_user()
        .user_name("dev1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err).1, denied("iam:CreateUser", "dev1"));
    delegate
        .create_user()
        .user_name("dev1")
        .permissions_boundary(&boundary_arn)
        .send()
        .await
        .unwrap();

    let read_only = "arn:aws:iam::aws:policy/IAMReadOnlyAccess";
    for user in ["dev1", "bounded"] {
        delegate
            .attach_user_policy()
            .user_name(user)
            .policy_arn(read_only)
            .send()
            .await
            .unwrap();
    }
    let err = delegate
        .attach_user_policy()
        .user_name("free")
        .policy_arn(read_only)
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err).1, denied("iam:AttachUserPolicy", "free"));
    let err = delegate
        .put_user_policy()
        .user_name("free")
        .policy_name("p")
        .policy_document(LIST_USERS_ALLOW)
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err).1, denied("iam:PutUserPolicy", "free"));
    delegate
        .put_user_policy()
        .user_name("dev1")
        .policy_name("p")
        .policy_document(LIST_USERS_ALLOW)
        .send()
        .await
        .unwrap();
}

//! The IAM and STS APIs driven by aws-sdk-rust against a running keyward: real signing, real
//! response parsing, no retries.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use aws_sdk_iam::types::Tag;
use common::{Server, aws_error, iam_client, sts_client};

fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build().unwrap()
}

#[tokio::test]
async fn caller_identity_of_root_and_of_a_created_user() {
    let server = Server::start();
    let id = server
        .root_sts()
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(id.account(), Some(server.account_id.as_str()));
    assert_eq!(id.user_id(), Some(server.account_id.as_str()));
    assert_eq!(
        id.arn().unwrap(),
        format!("arn:aws:iam::{}:root", server.account_id)
    );

    let iam = server.root_iam();
    let user = iam
        .create_user()
        .user_name("alice")
        .path("/eng/")
        .send()
        .await
        .unwrap();
    let user = user.user().unwrap();
    assert!(user.user_id().starts_with("AIDA") && user.user_id().len() == 21);
    let key = iam
        .create_access_key()
        .user_name("alice")
        .send()
        .await
        .unwrap();
    let key = key.access_key().unwrap();
    assert!(key.access_key_id().starts_with("AKIA") && key.access_key_id().len() == 20);
    assert_eq!(key.secret_access_key().len(), 40);

    let alice = server.sts(key.access_key_id(), key.secret_access_key());
    let id = alice.get_caller_identity().send().await.unwrap();
    assert_eq!(
        id.arn().unwrap(),
        format!("arn:aws:iam::{}:user/eng/alice", server.account_id)
    );
    assert_eq!(id.user_id(), Some(user.user_id()));
    assert_eq!(id.account(), Some(server.account_id.as_str()));
}

#[tokio::test]
async fn user_lifecycle_with_tags_and_errors() {
    let server = Server::start();
    let iam = server.root_iam();
    let acct = &server.account_id;

    let created = iam
        .create_user()
        .user_name("bob")
        .path("/division_abc/subdivision_xyz/")
        .tags(tag("team", "red"))
        .send()
        .await
        .unwrap();
    let u = created.user().unwrap();
    assert_eq!(
        u.arn(),
        format!("arn:aws:iam::{acct}:user/division_abc/subdivision_xyz/bob")
    );
    assert_eq!(u.tags().len(), 1);

    // Names are unique without regard to case.
    let err = iam.create_user().user_name("BOB").send().await.unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "EntityAlreadyExists".into(),
            "User with name bob already exists.".into(),
            409
        )
    );

    let got = iam.get_user().user_name("bob").send().await.unwrap();
    assert_eq!(got.user().unwrap().user_name(), "bob");
    assert_eq!(got.user().unwrap().tags()[0].value(), "red");

    iam.tag_user()
        .user_name("bob")
        .tags(tag("team", "blue"))
        .tags(tag("cost", "42"))
        .send()
        .await
        .unwrap();
    let tags = iam.list_user_tags().user_name("bob").send().await.unwrap();
    let pairs: Vec<(&str, &str)> = tags.tags().iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(pairs, vec![("team", "blue"), ("cost", "42")]);
    assert!(!tags.is_truncated());
    let page = iam
        .list_user_tags()
        .user_name("bob")
        .max_items(1)
        .send()
        .await
        .unwrap();
    assert!(page.is_truncated());
    let rest = iam
        .list_user_tags()
        .user_name("bob")
        .marker(page.marker().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.tags()[0].key(), "cost");

    iam.untag_user()
        .user_name("bob")
        .tag_keys("TEAM")
        .send()
        .await
        .unwrap();
    let tags = iam.list_user_tags().user_name("bob").send().await.unwrap();
    assert_eq!(tags.tags().len(), 1);

    iam.update_user()
        .user_name("bob")
        .new_user_name("robert")
        .new_path("/ops/")
        .send()
        .await
        .unwrap();
    let err = iam.get_user().user_name("bob").send().await.unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "NoSuchEntity".into(),
            "The user with name bob cannot be found.".into(),
            404
        )
    );
    let got = iam.get_user().user_name("robert").send().await.unwrap();
    assert_eq!(
        got.user().unwrap().arn(),
        format!("arn:aws:iam::{acct}:user/ops/robert")
    );
    assert_eq!(
        got.user().unwrap().user_id(),
        u.user_id(),
        "a rename keeps the unique ID"
    );

    // A user with keys cannot be deleted.
    let key = iam
        .create_access_key()
        .user_name("robert")
        .send()
        .await
        .unwrap();
    let key_id = key.access_key().unwrap().access_key_id().to_owned();
    let err = iam
        .delete_user()
        .user_name("robert")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "DeleteConflict".into(),
            "Cannot delete entity, must delete access keys first.".into(),
            409
        )
    );
    iam.delete_access_key()
        .user_name("robert")
        .access_key_id(&key_id)
        .send()
        .await
        .unwrap();
    iam.delete_user().user_name("robert").send().await.unwrap();
    let err = iam
        .delete_user()
        .user_name("robert")
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err).0, "NoSuchEntity");
}

#[tokio::test]
async fn validation_errors_use_aws_wording() {
    let server = Server::start();
    let iam = server.root_iam();
    let err = iam
        .create_user()
        .user_name("bad name!")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "ValidationError".into(),
            r"1 validation error detected: Value 'bad name!' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+".into(),
            400
        )
    );
    let err = iam
        .create_user()
        .user_name("x")
        .path("nopath")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err).1,
        r"1 validation error detected: Value 'nopath' at 'path' failed to satisfy constraint: Member must satisfy regular expression pattern: (\u002F)|(\u002F[\u0021-\u007E]+\u002F)"
    );
    let err = iam.list_users().max_items(0).send().await.unwrap_err();
    assert_eq!(
        aws_error(&err).1,
        "1 validation error detected: Value 0 at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1"
    );
}

#[tokio::test]
async fn list_users_paginates_past_one_hundred() {
    let server = Server::start();
    let iam = server.root_iam();
    for i in 0..105 {
        let path = if i % 5 == 0 { "/five/" } else { "/" };
        iam.create_user()
            .user_name(format!("user{i:03}"))
            .path(path)
            .send()
            .await
            .unwrap();
    }
    let first = iam.list_users().send().await.unwrap();
    assert_eq!(first.users().len(), 100, "default MaxItems is 100");
    assert!(first.is_truncated());
    let second = iam
        .list_users()
        .marker(first.marker().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(second.users().len(), 5);
    assert!(!second.is_truncated());
    assert!(second.marker().is_none());

    let all: Vec<String> = iam
        .list_users()
        .max_items(7)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.user_name().to_owned())
        .collect();
    let expected: Vec<String> = (0..105).map(|i| format!("user{i:03}")).collect();
    assert_eq!(all, expected);

    let five = iam.list_users().path_prefix("/five/").send().await.unwrap();
    assert_eq!(five.users().len(), 21);
    assert!(five.users().iter().all(|u| u.path() == "/five/"));
}

#[tokio::test]
async fn access_keys_quota_and_self_service() {
    let server = Server::start();
    let iam = server.root_iam();
    iam.create_user().user_name("carol").send().await.unwrap();
    let k1 = iam
        .create_access_key()
        .user_name("carol")
        .send()
        .await
        .unwrap();
    iam.create_access_key()
        .user_name("carol")
        .send()
        .await
        .unwrap();
    let err = iam
        .create_access_key()
        .user_name("carol")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "LimitExceeded".into(),
            "Cannot exceed quota for AccessKeysPerUser: 2".into(),
            409
        )
    );
    let listed = iam
        .list_access_keys()
        .user_name("carol")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.access_key_metadata().len(), 2);
    assert!(
        listed
            .access_key_metadata()
            .iter()
            .all(|k| k.user_name() == Some("carol"))
    );

    let k1 = k1.access_key().unwrap();
    let err = iam
        .delete_access_key()
        .user_name("carol")
        .access_key_id("AKIAIOSFODNN7EXAMPLE")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "NoSuchEntity".into(),
            "The Access Key with id AKIAIOSFODNN7EXAMPLE cannot be found.".into(),
            404
        )
    );
    // Root's own keys: one was made at bootstrap.
    let root_keys = iam.list_access_keys().send().await.unwrap();
    assert_eq!(root_keys.access_key_metadata().len(), 1);
    assert_eq!(
        root_keys.access_key_metadata()[0].access_key_id(),
        Some(server.root_key_id.as_str())
    );

    // A non-root user is refused with AWS's implicit-deny message until policies allow it.
    let carol = server.iam(k1.access_key_id(), k1.secret_access_key());
    let err = carol.list_users().send().await.unwrap_err();
    let acct = &server.account_id;
    assert_eq!(
        aws_error(&err),
        common::access_denied(format!(
            "User: arn:aws:iam::{acct}:user/carol is not authorized to perform: iam:ListUsers on resource: arn:aws:iam::{acct}:user/ because no identity-based policy allows the iam:ListUsers action"
        ))
    );
    let err = carol.create_access_key().send().await.unwrap_err();
    assert_eq!(
        aws_error(&err).1,
        format!(
            "User: arn:aws:iam::{acct}:user/carol is not authorized to perform: iam:CreateAccessKey on resource: arn:aws:iam::{acct}:user/carol because no identity-based policy allows the iam:CreateAccessKey action"
        )
    );
}

#[tokio::test]
async fn authentication_errors_as_aws() {
    let server = Server::start();
    let iam = server.root_iam();
    let ep = server.endpoint();

    // Unknown key.
    let err = sts_client(
        &ep,
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        None,
    )
    .get_caller_identity()
    .send()
    .await
    .unwrap_err();
    let invalid = (
        "InvalidClientTokenId".to_owned(),
        "The security token included in the request is invalid.".to_owned(),
        403,
    );
    assert_eq!(aws_error(&err), invalid);

    // Wrong secret.
    let err = sts_client(
        &ep,
        &server.root_key_id,
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        None,
    )
    .get_caller_identity()
    .send()
    .await
    .unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "SignatureDoesNotMatch".into(),
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.".into(),
            403
        )
    );

    // A client clock 6 minutes behind or ahead.
    for skew in [-360, 360] {
        let err = sts_client(&ep, &server.root_key_id, &server.root_secret, Some(skew))
            .get_caller_identity()
            .send()
            .await
            .unwrap_err();
        let (code, message, status) = aws_error(&err);
        assert_eq!(
            (code.as_str(), status),
            ("SignatureDoesNotMatch", 403),
            "{message}"
        );
        if skew < 0 {
            assert!(
                message.starts_with("Signature expired: ") && message.ends_with(" - 5 min.)"),
                "{message}"
            );
        } else {
            assert!(
                message.starts_with("Signature not yet current: ")
                    && message.ends_with(" + 5 min.)"),
                "{message}"
            );
        }
    }
    // Within the window is fine.
    sts_client(&ep, &server.root_key_id, &server.root_secret, Some(-200))
        .get_caller_identity()
        .send()
        .await
        .unwrap();

    // Inactive, reactivated, deleted keys; a key of a deleted user.
    iam.create_user().user_name("dave").send().await.unwrap();
    let k = iam
        .create_access_key()
        .user_name("dave")
        .send()
        .await
        .unwrap();
    let k = k.access_key().unwrap();
    let dave = server.sts(k.access_key_id(), k.secret_access_key());
    dave.get_caller_identity().send().await.unwrap();
    iam.update_access_key()
        .user_name("dave")
        .access_key_id(k.access_key_id())
        .status(aws_sdk_iam::types::StatusType::Inactive)
        .send()
        .await
        .unwrap();
    assert_eq!(
        aws_error(&dave.get_caller_identity().send().await.unwrap_err()),
        invalid
    );
    iam.update_access_key()
        .user_name("dave")
        .access_key_id(k.access_key_id())
        .status(aws_sdk_iam::types::StatusType::Active)
        .send()
        .await
        .unwrap();
    dave.get_caller_identity().send().await.unwrap();
    iam.delete_access_key()
        .user_name("dave")
        .access_key_id(k.access_key_id())
        .send()
        .await
        .unwrap();
    assert_eq!(
        aws_error(&dave.get_caller_identity().send().await.unwrap_err()),
        invalid
    );
    let dave_iam = iam_client(&ep, k.access_key_id(), k.secret_access_key(), None);
    assert_eq!(
        aws_error(&dave_iam.get_user().send().await.unwrap_err()),
        invalid
    );
}

#[test]
fn unsigned_and_malformed_requests() {
    let server = Server::start();
    let body = "Action=GetCallerIdentity&Version=2011-06-15";
    let (status, xml) = server.raw(&format!(
        "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        server.addr,
        body.len()
    ));
    assert_eq!(status, 403);
    assert!(xml.contains("<Code>MissingAuthenticationToken</Code><Message>Request is missing Authentication Token</Message>"), "{xml}");
    assert!(
        xml.starts_with("<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"),
        "{xml}"
    );

    let (status, xml) = server.raw(&format!(
        "POST / HTTP/1.1\r\nHost: {}\r\nAuthorization: AWS4-HMAC-SHA256 garbage\r\nX-Amz-Date: 20240101T000000Z\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        server.addr,
        body.len()
    ));
    assert_eq!(status, 400);
    assert!(xml.contains("<Code>IncompleteSignature</Code>"), "{xml}");

    let (status, _) = server.get("/healthz");
    assert_eq!(status, 200);
}

#[tokio::test]
async fn unknown_action_is_invalid_action() {
    let server = Server::start();
    // aws-sdk-sts cannot send an unknown action; sign one by hand.
    let body = "Action=FrobnicateUsers&Version=2010-05-08";
    let (status, xml) =
        server.signed_post("iam", &server.root_key_id, &server.root_secret, &[], body);
    assert_eq!(status, 400, "{xml}");
    assert!(xml.contains("<Code>InvalidAction</Code><Message>The action FrobnicateUsers is not valid for this web service.</Message>"), "{xml}");
}

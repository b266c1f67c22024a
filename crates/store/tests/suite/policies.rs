//! Managed policies (customer and AWS managed) and their versions.

use keyward_core::StoreErrorKind;
use keyward_core::model::{EntityKind, ManagedPolicy, Tag};
use keyward_core::store::{PolicyUsage, Store, Tx};

use super::{ACCOUNT, Engine, OTHER, allow, at, policy, role, seeded, user, version};

fn names(policies: Vec<ManagedPolicy>) -> Vec<String> {
    policies.into_iter().map(|p| p.name).collect()
}

pub async fn managed_policies_round_trip_and_are_unique<E: Engine>() {
    let (_engine, store) = seeded::<E>().await;
    let mut tx = store.begin().await.unwrap();
    let mut p = policy(ACCOUNT, "ANPA1", "Deploy", "/ops/");
    p.description = Some("deploys".into());
    p.tags = vec![Tag {
        key: "team".into(),
        value: "ops".into(),
    }];
    let v1 = version("ANPA1", "v1", &allow("s3:*"), 0);
    tx.insert_managed_policy(&p, &v1).await.unwrap();
    assert_eq!(
        tx.get_managed_policy(&p.arn).await.unwrap(),
        Some(p.clone())
    );
    assert_eq!(
        tx.get_managed_policy("arn:aws:iam::123456789012:policy/Nope")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        tx.list_policy_versions("ANPA1").await.unwrap(),
        std::slice::from_ref(&v1)
    );

    // Names are unique in an account without regard to case; IDs and ARNs are unique.
    let mut same_name = policy(ACCOUNT, "ANPA2", "DEPLOY", "/other/");
    same_name.arn = "arn:aws:iam::123456789012:policy/other/DEPLOY".into();
    assert_eq!(
        tx.insert_managed_policy(&same_name, &version("ANPA2", "v1", "{}", 0))
            .await
            .unwrap_err()
            .kind(),
        StoreErrorKind::Conflict
    );
    let same_id = policy(ACCOUNT, "ANPA1", "Other", "/");
    assert_eq!(
        tx.insert_managed_policy(&same_id, &version("ANPA9", "v1", "{}", 0))
            .await
            .unwrap_err()
            .kind(),
        StoreErrorKind::Conflict
    );
    // The same name in another account is another policy.
    let theirs = policy(OTHER, "ANPA3", "Deploy", "/ops/");
    tx.insert_managed_policy(&theirs, &version("ANPA3", "v1", "{}", 0))
        .await
        .unwrap();

    // An update rewrites default version, next version, update time and tags only.
    let v2 = version("ANPA1", "v2", &allow("s3:Get*"), 10);
    tx.insert_policy_version(&v2).await.unwrap();
    let mut updated = p.clone();
    updated.default_version_id = "v2".into();
    updated.next_version = 3;
    updated.updated = at(10);
    updated.tags = vec![];
    updated.description = Some("ignored".into());
    updated.name = "Ignored".into();
    tx.update_managed_policy(&updated).await.unwrap();
    updated.description = p.description.clone();
    updated.name = p.name.clone();
    assert_eq!(tx.get_managed_policy(&p.arn).await.unwrap(), Some(updated));

    // Deleting a policy deletes its versions.
    tx.delete_managed_policy("ANPA1").await.unwrap();
    assert_eq!(tx.get_managed_policy(&p.arn).await.unwrap(), None);
    assert!(tx.list_policy_versions("ANPA1").await.unwrap().is_empty());
    assert!(tx.get_managed_policy(&theirs.arn).await.unwrap().is_some());
    // The name and ID are free again.
    tx.insert_managed_policy(&p, &v1).await.unwrap();
    tx.commit().await.unwrap();
}

/// An AWS managed policy is inserted once and refreshed in place: description, default version
/// and its document change, the ID, creation date and other versions stay.
pub async fn aws_managed_policies_are_refreshed_in_place<E: Engine>() {
    let (_engine, store) = seeded::<E>().await;
    let mut tx = store.begin().await.unwrap();
    let mut p = policy("aws", "ANPAAWS", "ReadOnlyAccess", "/");
    tx.upsert_aws_managed_policy(&p, &allow("iam:Get*"))
        .await
        .unwrap();
    assert_eq!(
        tx.get_managed_policy(&p.arn).await.unwrap(),
        Some(p.clone())
    );
    assert_eq!(
        tx.list_policy_versions("ANPAAWS").await.unwrap(),
        [version("ANPAAWS", "v1", &allow("iam:Get*"), 0)]
    );

    // The same version, a new document.
    tx.upsert_aws_managed_policy(&p, &allow("iam:List*"))
        .await
        .unwrap();
    assert_eq!(
        tx.list_policy_versions("ANPAAWS").await.unwrap(),
        [version("ANPAAWS", "v1", &allow("iam:List*"), 0)]
    );

    // A new default version, from another policy ID (which the stored one keeps).
    let mut refreshed = p.clone();
    refreshed.policy_id = "ANPANEW".into();
    refreshed.description = Some("read only".into());
    refreshed.default_version_id = "v2".into();
    refreshed.updated = at(100);
    refreshed.created = at(100);
    tx.upsert_aws_managed_policy(&refreshed, &allow("*:Get*"))
        .await
        .unwrap();
    p.description = Some("read only".into());
    p.default_version_id = "v2".into();
    p.updated = at(100);
    assert_eq!(tx.get_managed_policy(&p.arn).await.unwrap(), Some(p));
    let versions = tx.list_policy_versions("ANPAAWS").await.unwrap();
    assert_eq!(
        versions,
        [
            version("ANPAAWS", "v1", &allow("iam:List*"), 0),
            version("ANPAAWS", "v2", &allow("*:Get*"), 100),
        ]
    );
    assert!(tx.list_policy_versions("ANPANEW").await.unwrap().is_empty());
    tx.commit().await.unwrap();
}

pub async fn policy_versions_are_ordered_and_deleted<E: Engine>() {
    let (_engine, store) = seeded::<E>().await;
    let mut tx = store.begin().await.unwrap();
    let p = policy(ACCOUNT, "ANPA1", "P", "/");
    tx.insert_managed_policy(&p, &version("ANPA1", "v1", "{}", 0))
        .await
        .unwrap();
    // v2 and v10 share a creation time: v2 comes first (by number, not by text).
    for (v, created) in [("v10", 5), ("v2", 5), ("v3", 1)] {
        tx.insert_policy_version(&version("ANPA1", v, "{}", created))
            .await
            .unwrap();
    }
    let ids = |vs: Vec<keyward_core::model::PolicyVersion>| {
        vs.into_iter().map(|v| v.version_id).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(tx.list_policy_versions("ANPA1").await.unwrap()),
        ["v1", "v3", "v2", "v10"]
    );
    assert_eq!(
        tx.insert_policy_version(&version("ANPA1", "v2", "{}", 9))
            .await
            .unwrap_err()
            .kind(),
        StoreErrorKind::Conflict
    );
    // A version of no policy is refused.
    assert_eq!(
        tx.insert_policy_version(&version("ANPA9", "v1", "{}", 0))
            .await
            .unwrap_err()
            .kind(),
        StoreErrorKind::Conflict
    );
    tx.delete_policy_version("ANPA1", "v3").await.unwrap();
    tx.delete_policy_version("ANPA1", "v99").await.unwrap();
    assert_eq!(
        ids(tx.list_policy_versions("ANPA1").await.unwrap()),
        ["v1", "v2", "v10"]
    );
    assert!(tx.list_policy_versions("ANPA9").await.unwrap().is_empty());
    tx.commit().await.unwrap();
}

/// Listing: scope (`All`, `AWS`, `Local`), usage, path prefix, pages by (name, ARN), limit; the
/// attachment and boundary counts are computed.
pub async fn policies_list_by_scope_usage_path_and_page<E: Engine>() {
    let (_engine, store) = seeded::<E>().await;
    let mut tx = store.begin().await.unwrap();
    let attached = policy(ACCOUNT, "ANPA1", "attached", "/a/");
    let boundary = policy(ACCOUNT, "ANPA2", "Boundary", "/b/");
    let idle = policy(ACCOUNT, "ANPA3", "idle", "/a/b/");
    let theirs = policy(OTHER, "ANPA4", "theirs", "/");
    let aws = policy("aws", "ANPA5", "AwsPolicy", "/");
    let aws_boundary = policy("aws", "ANPA6", "AwsBoundary", "/service-role/");
    for p in [&attached, &boundary, &idle, &theirs] {
        tx.insert_managed_policy(p, &version(&p.policy_id, "v1", "{}", 0))
            .await
            .unwrap();
    }
    for p in [&aws, &aws_boundary] {
        tx.upsert_aws_managed_policy(p, "{}").await.unwrap();
    }
    let mut alice = user("AIDA1", "alice", "/");
    alice.permissions_boundary = Some(boundary.arn.clone());
    tx.insert_user(&alice).await.unwrap();
    let mut deployer = role("AROA1", "deployer", "/");
    deployer.permissions_boundary = Some(aws_boundary.arn.clone());
    tx.insert_role(&deployer).await.unwrap();
    let mut other = role("AROA2", "other", "/");
    other.permissions_boundary = Some(boundary.arn.clone());
    tx.insert_role(&other).await.unwrap();
    tx.attach_policy(EntityKind::User, "AIDA1", &attached.arn)
        .await
        .unwrap();
    tx.attach_policy(EntityKind::Role, "AROA1", &attached.arn)
        .await
        .unwrap();
    tx.attach_policy(EntityKind::Role, "AROA1", &aws.arn)
        .await
        .unwrap();

    let got = tx.get_managed_policy(&attached.arn).await.unwrap().unwrap();
    assert_eq!((got.attachment_count, got.boundary_usage_count), (2, 0));
    let got = tx.get_managed_policy(&boundary.arn).await.unwrap().unwrap();
    assert_eq!((got.attachment_count, got.boundary_usage_count), (0, 2));

    let mut list = async |scope: &str, usage, prefix: &str, after: Option<(&str, &str)>, limit| {
        names(
            tx.list_managed_policies(ACCOUNT, scope, usage, prefix, after, limit)
                .await
                .unwrap(),
        )
    };
    // By name without regard to case.
    assert_eq!(
        list("All", PolicyUsage::Any, "/", None, 100).await,
        ["attached", "AwsBoundary", "AwsPolicy", "Boundary", "idle"]
    );
    assert_eq!(
        list("AWS", PolicyUsage::Any, "/", None, 100).await,
        ["AwsBoundary", "AwsPolicy"]
    );
    assert_eq!(
        list("Local", PolicyUsage::Any, "/", None, 100).await,
        ["attached", "Boundary", "idle"]
    );
    assert_eq!(
        list("All", PolicyUsage::Attached, "/", None, 100).await,
        ["attached", "AwsBoundary", "AwsPolicy", "Boundary"]
    );
    assert_eq!(
        list("All", PolicyUsage::AsPermissions, "/", None, 100).await,
        ["attached", "AwsPolicy"]
    );
    assert_eq!(
        list("All", PolicyUsage::AsBoundary, "/", None, 100).await,
        ["AwsBoundary", "Boundary"]
    );
    assert_eq!(
        list("Local", PolicyUsage::AsBoundary, "/", None, 100).await,
        ["Boundary"]
    );
    assert_eq!(
        list("All", PolicyUsage::Any, "/a/", None, 100).await,
        ["attached", "idle"]
    );
    assert_eq!(
        list("All", PolicyUsage::Any, "/a/b/", None, 100).await,
        ["idle"]
    );
    // Pages: strictly after (name, ARN), at most `limit`.
    assert_eq!(
        list("All", PolicyUsage::Any, "/", None, 2).await,
        ["attached", "AwsBoundary"]
    );
    assert_eq!(
        list(
            "All",
            PolicyUsage::Any,
            "/",
            Some(("AwsBoundary", &aws_boundary.arn)),
            2
        )
        .await,
        ["AwsPolicy", "Boundary"]
    );
    assert_eq!(
        list("All", PolicyUsage::Any, "/", Some(("idle", &idle.arn)), 2).await,
        Vec::<String>::new()
    );
    // Two policies of one name (one local, one AWS managed) page by ARN.
    let same = policy("aws", "ANPA7", "IDLE", "/");
    tx.upsert_aws_managed_policy(&same, "{}").await.unwrap();
    let page = tx
        .list_managed_policies(
            ACCOUNT,
            "All",
            PolicyUsage::Any,
            "/",
            Some(("Boundary", &boundary.arn)),
            10,
        )
        .await
        .unwrap();
    let arns: Vec<String> = page.into_iter().map(|p| p.arn).collect();
    let mut expected = vec![idle.arn.clone(), same.arn.clone()];
    expected.sort();
    assert_eq!(arns, expected);
    let first = expected[0].clone();
    let rest = tx
        .list_managed_policies(
            ACCOUNT,
            "All",
            PolicyUsage::Any,
            "/",
            Some(("idle", &first)),
            10,
        )
        .await
        .unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].arn, expected[1]);
    // The other account sees its own and AWS's.
    assert_eq!(
        names(
            tx.list_managed_policies(OTHER, "Local", PolicyUsage::Any, "/", None, 100)
                .await
                .unwrap()
        ),
        ["theirs"]
    );
    tx.commit().await.unwrap();
}

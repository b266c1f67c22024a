//! Policy attachments, inline policies and the policy documents gathered for a principal.

use keyward_core::StoreErrorKind;
use keyward_core::model::{AttachedPolicy, EntityKind, PolicySource};
use keyward_core::store::{Store, Tx};

use super::{ACCOUNT, Engine, allow, group, policy, role, seeded, user, version};

pub async fn attachments_are_idempotent_and_listed_both_ways<E: Engine>() {
    let (_engine, store) = seeded::<E>().await;
    let mut tx = store.begin().await.unwrap();
    let zeta = policy(ACCOUNT, "ANPA1", "Zeta", "/");
    let alpha = policy(ACCOUNT, "ANPA2", "alpha", "/");
    for p in [&zeta, &alpha] {
        tx.insert_managed_policy(p, &version(&p.policy_id, "v1", "{}", 0))
            .await
            .unwrap();
    }
    tx.insert_user(&user("AIDA1", "alice", "/")).await.unwrap();
    tx.insert_group(&group("AGPA1", "devs", "/")).await.unwrap();
    tx.insert_role(&role("AROA1", "deployer", "/"))
        .await
        .unwrap();
    for (kind, id) in [
        (EntityKind::User, "AIDA1"),
        (EntityKind::Role, "AROA1"),
        (EntityKind::Group, "AGPA1"),
    ] {
        tx.attach_policy(kind, id, &zeta.arn).await.unwrap();
    }
    tx.attach_policy(EntityKind::User, "AIDA1", &alpha.arn)
        .await
        .unwrap();
    // Attaching again changes nothing.
    tx.attach_policy(EntityKind::User, "AIDA1", &alpha.arn)
        .await
        .unwrap();
    // Ordered by policy name, without regard to case.
    assert_eq!(
        tx.list_attached_policies(EntityKind::User, "AIDA1")
            .await
            .unwrap(),
        [
            AttachedPolicy {
                name: "alpha".into(),
                arn: alpha.arn.clone()
            },
            AttachedPolicy {
                name: "Zeta".into(),
                arn: zeta.arn.clone()
            },
        ]
    );
    // The kind is part of the key: a group with a user's ID has nothing attached.
    assert!(
        tx.list_attached_policies(EntityKind::Group, "AIDA1")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        tx.list_policy_attachments(&zeta.arn).await.unwrap(),
        [
            (EntityKind::Group, "AGPA1".to_owned()),
            (EntityKind::Role, "AROA1".to_owned()),
            (EntityKind::User, "AIDA1".to_owned()),
        ]
    );
    assert_eq!(
        tx.get_managed_policy(&zeta.arn)
            .await
            .unwrap()
            .unwrap()
            .attachment_count,
        3
    );
    // A policy that does not exist cannot be attached.
    assert_eq!(
        tx.attach_policy(
            EntityKind::User,
            "AIDA1",
            "arn:aws:iam::123456789012:policy/Nope"
        )
        .await
        .unwrap_err()
        .kind(),
        StoreErrorKind::Conflict
    );

    assert!(
        tx.detach_policy(EntityKind::Role, "AROA1", &zeta.arn)
            .await
            .unwrap()
    );
    assert!(
        !tx.detach_policy(EntityKind::Role, "AROA1", &zeta.arn)
            .await
            .unwrap(),
        "detached twice"
    );
    assert!(
        !tx.detach_policy(EntityKind::Group, "AIDA1", &alpha.arn)
            .await
            .unwrap()
    );
    assert_eq!(
        tx.list_policy_attachments(&zeta.arn).await.unwrap(),
        [
            (EntityKind::Group, "AGPA1".to_owned()),
            (EntityKind::User, "AIDA1".to_owned()),
        ]
    );
    assert!(
        tx.list_policy_attachments("arn:nope")
            .await
            .unwrap()
            .is_empty()
    );
    tx.commit().await.unwrap();
}

/// A policy attached to anything cannot be deleted; detached, it can.
pub async fn an_attached_policy_cannot_be_deleted<E: Engine>() {
    let (_engine, store) = seeded::<E>().await;
    let p = policy(ACCOUNT, "ANPA1", "P", "/");
    let mut tx = store.begin().await.unwrap();
    tx.insert_managed_policy(&p, &version("ANPA1", "v1", "{}", 0))
        .await
        .unwrap();
    tx.insert_role(&role("AROA1", "deployer", "/"))
        .await
        .unwrap();
    tx.attach_policy(EntityKind::Role, "AROA1", &p.arn)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    {
        let mut tx = store.begin().await.unwrap();
        assert_eq!(
            tx.delete_managed_policy("ANPA1").await.unwrap_err().kind(),
            StoreErrorKind::Conflict
        );
        // dropped: the failed request changes nothing
    }
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.list_policy_versions("ANPA1").await.unwrap().len(), 1);
    assert!(
        tx.detach_policy(EntityKind::Role, "AROA1", &p.arn)
            .await
            .unwrap()
    );
    tx.delete_managed_policy("ANPA1").await.unwrap();
    assert_eq!(tx.get_managed_policy(&p.arn).await.unwrap(), None);
    tx.commit().await.unwrap();
}

pub async fn inline_policies_are_replaced_listed_and_deleted<E: Engine>() {
    let (_engine, store) = seeded::<E>().await;
    let mut tx = store.begin().await.unwrap();
    tx.insert_user(&user("AIDA1", "alice", "/")).await.unwrap();
    assert_eq!(
        tx.get_inline_policy(EntityKind::User, "AIDA1", "p")
            .await
            .unwrap(),
        None
    );
    for name in ["zeta", "Alpha", "beta"] {
        tx.put_inline_policy(EntityKind::User, "AIDA1", name, &allow(name))
            .await
            .unwrap();
    }
    tx.put_inline_policy(EntityKind::User, "AIDA1", "beta", &allow("replaced"))
        .await
        .unwrap();
    // The same name on a group of the same ID is another policy.
    tx.put_inline_policy(EntityKind::Group, "AIDA1", "beta", &allow("group"))
        .await
        .unwrap();
    assert_eq!(
        tx.get_inline_policy(EntityKind::User, "AIDA1", "beta")
            .await
            .unwrap(),
        Some(allow("replaced"))
    );
    assert_eq!(
        tx.get_inline_policy(EntityKind::Group, "AIDA1", "beta")
            .await
            .unwrap(),
        Some(allow("group"))
    );
    // Inline policy names keep their case.
    assert_eq!(
        tx.get_inline_policy(EntityKind::User, "AIDA1", "BETA")
            .await
            .unwrap(),
        None
    );
    // Sorted by name.
    assert_eq!(
        tx.list_inline_policies(EntityKind::User, "AIDA1")
            .await
            .unwrap(),
        ["Alpha", "beta", "zeta"]
    );
    assert!(
        tx.delete_inline_policy(EntityKind::User, "AIDA1", "beta")
            .await
            .unwrap()
    );
    assert!(
        !tx.delete_inline_policy(EntityKind::User, "AIDA1", "beta")
            .await
            .unwrap()
    );
    assert_eq!(
        tx.list_inline_policies(EntityKind::User, "AIDA1")
            .await
            .unwrap(),
        ["Alpha", "zeta"]
    );
    assert_eq!(
        tx.list_inline_policies(EntityKind::Group, "AIDA1")
            .await
            .unwrap(),
        ["beta"]
    );
    assert!(
        tx.list_inline_policies(EntityKind::Role, "AIDA1")
            .await
            .unwrap()
            .is_empty()
    );
    tx.commit().await.unwrap();
}

fn sorted(mut sources: Vec<PolicySource>) -> Vec<(String, String)> {
    sources.sort_by(|a, b| a.id.cmp(&b.id));
    sources.into_iter().map(|s| (s.id, s.document)).collect()
}

/// A user's documents: its inline and attached policies and those of its groups, attached ones
/// at their default version; a role's: its inline and attached ones.
pub async fn policy_sources_gather_user_group_and_role_documents<E: Engine>() {
    let (_engine, store) = seeded::<E>().await;
    let mut tx = store.begin().await.unwrap();
    let managed = policy(ACCOUNT, "ANPA1", "Managed", "/");
    tx.insert_managed_policy(&managed, &version("ANPA1", "v1", &allow("v1"), 0))
        .await
        .unwrap();
    tx.insert_policy_version(&version("ANPA1", "v2", &allow("v2"), 1))
        .await
        .unwrap();
    let aws = policy("aws", "ANPA2", "AwsManaged", "/");
    tx.upsert_aws_managed_policy(&aws, &allow("aws"))
        .await
        .unwrap();
    tx.insert_user(&user("AIDA1", "alice", "/")).await.unwrap();
    tx.insert_user(&user("AIDA2", "bob", "/")).await.unwrap();
    tx.insert_group(&group("AGPA1", "devs", "/")).await.unwrap();
    tx.insert_group(&group("AGPA2", "empty", "/"))
        .await
        .unwrap();
    tx.insert_role(&role("AROA1", "deployer", "/"))
        .await
        .unwrap();
    tx.add_group_member("AGPA1", "AIDA1").await.unwrap();
    tx.add_group_member("AGPA2", "AIDA1").await.unwrap();
    tx.put_inline_policy(EntityKind::User, "AIDA1", "mine", &allow("mine"))
        .await
        .unwrap();
    tx.put_inline_policy(EntityKind::Group, "AGPA1", "team", &allow("team"))
        .await
        .unwrap();
    tx.put_inline_policy(EntityKind::Role, "AROA1", "deploy", &allow("deploy"))
        .await
        .unwrap();
    tx.put_inline_policy(EntityKind::User, "AIDA2", "bobs", &allow("bobs"))
        .await
        .unwrap();
    tx.attach_policy(EntityKind::User, "AIDA1", &managed.arn)
        .await
        .unwrap();
    tx.attach_policy(EntityKind::Group, "AGPA1", &aws.arn)
        .await
        .unwrap();
    tx.attach_policy(EntityKind::Role, "AROA1", &managed.arn)
        .await
        .unwrap();
    tx.attach_policy(EntityKind::Role, "AROA1", &aws.arn)
        .await
        .unwrap();

    let owned = |id: &str, doc: String| (id.to_owned(), doc);
    assert_eq!(
        sorted(tx.user_policy_sources("AIDA1").await.unwrap()),
        [
            owned(&managed.arn, allow("v1")),
            owned(&aws.arn, allow("aws")),
            owned("group/devs/inline/team", allow("team")),
            owned("user/alice/inline/mine", allow("mine")),
        ]
    );
    assert_eq!(
        sorted(tx.role_policy_sources("AROA1").await.unwrap()),
        [
            owned(&managed.arn, allow("v1")),
            owned(&aws.arn, allow("aws")),
            owned("role/deployer/inline/deploy", allow("deploy")),
        ]
    );
    // A new default version is what applies from then on.
    let mut m = tx.get_managed_policy(&managed.arn).await.unwrap().unwrap();
    m.default_version_id = "v2".into();
    tx.update_managed_policy(&m).await.unwrap();
    assert!(
        tx.role_policy_sources("AROA1")
            .await
            .unwrap()
            .contains(&PolicySource {
                id: managed.arn.clone(),
                document: allow("v2")
            })
    );
    // Leaving the group leaves its policies.
    assert!(tx.remove_group_member("AGPA1", "AIDA1").await.unwrap());
    assert_eq!(
        sorted(tx.user_policy_sources("AIDA1").await.unwrap()),
        [
            owned(&managed.arn, allow("v2")),
            owned("user/alice/inline/mine", allow("mine")),
        ]
    );
    assert!(tx.user_policy_sources("AIDA9").await.unwrap().is_empty());
    assert!(tx.role_policy_sources("AROA9").await.unwrap().is_empty());
    tx.commit().await.unwrap();
}

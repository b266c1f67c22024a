//! Snapshots of every XML body the server emits, byte for byte. Shapes follow botocore's IAM and
//! STS models and the examples of the IAM/STS API references.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use keyward_core::ApiError;
use keyward_core::model::{AccessKey, KeyStatus, Tag, User};
use keyward_core::ops::{Output, Page};
use keyward_server::decode::Service;
use keyward_server::encode;
use keyward_sigv4::SecretKey;
use time::macros::datetime;

const RID: &str = "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE";

fn bob() -> User {
    User {
        account_id: "123456789012".into(),
        user_id: "AIDACKCEVSQ6C2EXAMPLE".into(),
        name: "Bob".into(),
        path: "/division_abc/subdivision_xyz/".into(),
        created: datetime!(2013-01-02 03:04:05 UTC),
        tags: vec![Tag {
            key: "Dept".into(),
            value: "R&D <1>".into(),
        }],
        permissions_boundary: None,
        password_last_used: None,
    }
}

fn key(status: KeyStatus) -> AccessKey {
    AccessKey {
        access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
        account_id: "123456789012".into(),
        user_id: Some("AIDACKCEVSQ6C2EXAMPLE".into()),
        status,
        created: datetime!(2013-01-02 03:04:05 UTC),
        sealed_secret: vec![],
        last_used: None,
    }
}

fn iam(action: &str, output: &Output) -> String {
    encode::response(Service::Iam, action, output, RID)
}

#[test]
fn get_caller_identity() {
    let out = Output::CallerIdentity {
        user_id: "AIDACKCEVSQ6C2EXAMPLE".into(),
        account: "123456789012".into(),
        arn: "arn:aws:iam::123456789012:user/Alice".into(),
    };
    insta::assert_snapshot!(encode::response(
        Service::Sts,
        "GetCallerIdentity",
        &out,
        RID
    ));
}

#[test]
fn create_and_get_user() {
    let u = bob();
    let arn = u.arn("aws");
    insta::assert_snapshot!(
        "create_user",
        iam(
            "CreateUser",
            &Output::User {
                user: u.clone(),
                arn: arn.clone()
            }
        )
    );
    let mut untagged = u;
    untagged.tags.clear();
    insta::assert_snapshot!(
        "get_user_untagged",
        iam(
            "GetUser",
            &Output::User {
                user: untagged,
                arn
            }
        )
    );
}

#[test]
fn get_user_of_root() {
    let out = Output::RootUser {
        account_id: "123456789012".into(),
        arn: "arn:aws:iam::123456789012:root".into(),
        created: datetime!(2012-05-08 00:00:00 UTC),
    };
    insta::assert_snapshot!(iam("GetUser", &out));
}

#[test]
fn list_users_truncated_and_not() {
    let u = bob();
    let arn = u.arn("aws");
    let truncated = Output::Users {
        users: vec![(u.clone(), arn.clone())],
        page: Page {
            is_truncated: true,
            marker: Some("Qm9i".into()),
        },
    };
    insta::assert_snapshot!("list_users_truncated", iam("ListUsers", &truncated));
    let last = Output::Users {
        users: vec![],
        page: Page {
            is_truncated: false,
            marker: None,
        },
    };
    insta::assert_snapshot!("list_users_empty", iam("ListUsers", &last));
}

#[test]
fn list_user_tags() {
    let out = Output::Tags {
        tags: bob().tags,
        page: Page {
            is_truncated: false,
            marker: None,
        },
    };
    insta::assert_snapshot!(iam("ListUserTags", &out));
}

#[test]
fn access_keys() {
    let created = Output::AccessKeyCreated {
        user_name: Some("Bob".into()),
        key: key(KeyStatus::Active),
        secret: SecretKey::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    };
    insta::assert_snapshot!("create_access_key", iam("CreateAccessKey", &created));
    let listed = Output::AccessKeys {
        user_name: Some("Bob".into()),
        keys: vec![key(KeyStatus::Active), key(KeyStatus::Inactive)],
        page: Page {
            is_truncated: false,
            marker: None,
        },
    };
    insta::assert_snapshot!("list_access_keys", iam("ListAccessKeys", &listed));
}

#[test]
fn empty_results() {
    for action in [
        "DeleteUser",
        "UpdateUser",
        "TagUser",
        "UntagUser",
        "UpdateAccessKey",
        "DeleteAccessKey",
    ] {
        insta::assert_snapshot!(format!("empty_{action}"), iam(action, &Output::Empty));
    }
}

#[test]
fn errors() {
    insta::assert_snapshot!(
        "error_no_such_entity",
        encode::error(
            Service::Iam,
            &ApiError::no_such_entity("The user with name bob cannot be found."),
            RID
        )
    );
    insta::assert_snapshot!(
        "error_missing_authentication_token",
        encode::error(
            Service::Sts,
            &keyward_core::auth::missing_authentication_token(),
            RID
        )
    );
    insta::assert_snapshot!(
        "error_invalid_client_token_id",
        encode::error(
            Service::Sts,
            &keyward_core::auth::invalid_client_token_id(),
            RID
        )
    );
    insta::assert_snapshot!(
        "error_internal",
        encode::error(Service::Iam, &ApiError::internal(), RID)
    );
    insta::assert_snapshot!(
        "error_service_unavailable",
        encode::error(Service::Iam, &ApiError::service_unavailable(), RID)
    );
    insta::assert_snapshot!(
        "error_access_denied",
        encode::error(
            Service::Iam,
            &ApiError::access_denied(
                "User: arn:aws:iam::123456789012:user/carol is not authorized to perform: iam:ListUsers on resource: arn:aws:iam::123456789012:user/ because no identity-based policy allows the iam:ListUsers action"
            ),
            RID
        )
    );
}

fn managed() -> keyward_core::model::ManagedPolicy {
    keyward_core::model::ManagedPolicy {
        policy_id: "ANPACKCEVSQ6C2EXAMPLE".into(),
        account_id: "123456789012".into(),
        name: "ReadUsers".into(),
        path: "/team/".into(),
        arn: "arn:aws:iam::123456789012:policy/team/ReadUsers".into(),
        description: Some("lets people list users".into()),
        default_version_id: "v2".into(),
        next_version: 3,
        created: datetime!(2014-09-15 17:36:14 UTC),
        updated: datetime!(2014-09-15 20:31:47 UTC),
        tags: vec![],
        attachment_count: 9,
        boundary_usage_count: 1,
    }
}

fn version(id: &str) -> keyward_core::model::PolicyVersion {
    keyward_core::model::PolicyVersion {
        policy_id: "ANPACKCEVSQ6C2EXAMPLE".into(),
        version_id: id.into(),
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}]}"#.into(),
        created: datetime!(2014-09-15 20:31:47 UTC),
    }
}

fn group() -> keyward_core::model::Group {
    keyward_core::model::Group {
        account_id: "123456789012".into(),
        group_id: "AGPACKCEVSQ6C2EXAMPLE".into(),
        name: "Admins".into(),
        path: "/".into(),
        created: datetime!(2012-05-09 16:27:03 UTC),
    }
}

#[test]
fn managed_policies_and_versions() {
    let none = Page {
        is_truncated: false,
        marker: None,
    };
    insta::assert_snapshot!(
        "create_policy",
        iam(
            "CreatePolicy",
            &Output::Policy {
                policy: managed(),
                with_description: false
            }
        )
    );
    insta::assert_snapshot!(
        "get_policy",
        iam(
            "GetPolicy",
            &Output::Policy {
                policy: managed(),
                with_description: true
            }
        )
    );
    insta::assert_snapshot!(
        "list_policies",
        iam(
            "ListPolicies",
            &Output::Policies {
                policies: vec![managed()],
                page: none.clone()
            }
        )
    );
    insta::assert_snapshot!(
        "get_policy_version",
        iam(
            "GetPolicyVersion",
            &Output::PolicyVersion {
                version: version("v2"),
                is_default: true,
                with_document: true
            }
        )
    );
    insta::assert_snapshot!(
        "create_policy_version",
        iam(
            "CreatePolicyVersion",
            &Output::PolicyVersion {
                version: version("v3"),
                is_default: false,
                with_document: false
            }
        )
    );
    insta::assert_snapshot!(
        "list_policy_versions",
        iam(
            "ListPolicyVersions",
            &Output::PolicyVersions {
                versions: vec![(version("v2"), true), (version("v1"), false)],
                page: none.clone()
            }
        )
    );
    insta::assert_snapshot!(
        "list_entities_for_policy",
        iam(
            "ListEntitiesForPolicy",
            &Output::EntitiesForPolicy {
                groups: vec![("Admins".into(), "AGPACKCEVSQ6C2EXAMPLE".into())],
                users: vec![("Bob".into(), "AIDACKCEVSQ6C2EXAMPLE".into())],
                roles: vec![],
                page: none,
            }
        )
    );
}

#[test]
fn attachments_inline_policies_and_groups() {
    let none = Page {
        is_truncated: false,
        marker: None,
    };
    insta::assert_snapshot!(
        "list_attached_user_policies",
        iam(
            "ListAttachedUserPolicies",
            &Output::AttachedPolicies {
                policies: vec![keyward_core::model::AttachedPolicy {
                    name: "AdministratorAccess".into(),
                    arn: "arn:aws:iam::aws:policy/AdministratorAccess".into(),
                }],
                page: none.clone(),
            }
        )
    );
    insta::assert_snapshot!(
        "get_user_policy",
        iam(
            "GetUserPolicy",
            &Output::InlinePolicy {
                entity: keyward_core::model::EntityKind::User,
                entity_name: "Bob".into(),
                policy_name: "AllAccessPolicy".into(),
                document: version("v1").document,
            }
        )
    );
    insta::assert_snapshot!(
        "list_user_policies",
        iam(
            "ListUserPolicies",
            &Output::PolicyNames {
                names: vec!["AllAccessPolicy".into(), "KeyPolicy".into()],
                page: none.clone()
            }
        )
    );
    let g = group();
    let arn = g.arn("aws");
    insta::assert_snapshot!(
        "create_group",
        iam(
            "CreateGroup",
            &Output::Group {
                group: g.clone(),
                arn: arn.clone()
            }
        )
    );
    let mut bounded = bob();
    bounded.permissions_boundary = Some("arn:aws:iam::123456789012:policy/team/ReadUsers".into());
    let bob_arn = bounded.arn("aws");
    insta::assert_snapshot!(
        "get_group",
        iam(
            "GetGroup",
            &Output::GroupWithUsers {
                group: g.clone(),
                arn: arn.clone(),
                users: vec![(bounded.clone(), bob_arn.clone())],
                page: none.clone()
            }
        )
    );
    insta::assert_snapshot!(
        "list_groups",
        iam(
            "ListGroups",
            &Output::Groups {
                groups: vec![(g, arn)],
                page: none
            }
        )
    );
    insta::assert_snapshot!(
        "get_user_with_boundary",
        iam(
            "GetUser",
            &Output::User {
                user: bounded,
                arn: bob_arn
            }
        )
    );
}

fn device(assigned: bool) -> keyward_core::model::MfaDevice {
    keyward_core::model::MfaDevice {
        serial: "arn:aws:iam::123456789012:mfa/ExampleMFADevice".into(),
        account_id: "123456789012".into(),
        name: "ExampleMFADevice".into(),
        path: "/".into(),
        user_id: assigned.then(|| "AIDACKCEVSQ6C2EXAMPLE".into()),
        enable_date: assigned.then_some(datetime!(2013-01-03 04:05:06 UTC)),
        created: datetime!(2013-01-02 03:04:05 UTC),
        sealed_seed: vec![],
        offset_steps: 0,
        last_step: None,
        tags: vec![],
    }
}

#[test]
fn create_virtual_mfa_device() {
    let mut d = device(false);
    d.tags = vec![Tag {
        key: "Owner".into(),
        value: "Bob".into(),
    }];
    let out = Output::VirtualMfaDeviceCreated {
        device: d,
        secret: keyward_core::ops::VirtualMfaSecret {
            seed: keyward_core::totp::Seed::from_bytes(b"12345678901234567890".to_vec()),
            qr_png: b"\x89PNG-not-really".to_vec(),
        },
    };
    let xml = iam("CreateVirtualMFADevice", &out);
    assert!(!format!("{out:?}").contains("GEZDGNBV"));
    insta::assert_snapshot!(xml);
}

#[test]
fn list_mfa_devices() {
    let out = Output::MfaDevices {
        devices: vec![("Bob".into(), device(true))],
        page: Page {
            is_truncated: false,
            marker: None,
        },
    };
    insta::assert_snapshot!(iam("ListMFADevices", &out));
}

#[test]
fn list_virtual_mfa_devices() {
    let u = bob();
    let arn = u.arn("aws");
    let out = Output::VirtualMfaDevices {
        devices: vec![(device(true), Some((u, arn))), (device(false), None)],
        page: Page {
            is_truncated: true,
            marker: Some("Mg==".into()),
        },
    };
    insta::assert_snapshot!(iam("ListVirtualMFADevices", &out));
}

#[test]
fn get_mfa_device() {
    let assigned = Output::MfaDevice {
        user_name: Some("Bob".into()),
        device: device(true),
    };
    insta::assert_snapshot!("get_mfa_device_assigned", iam("GetMFADevice", &assigned));
    let unassigned = Output::MfaDevice {
        user_name: None,
        device: device(false),
    };
    insta::assert_snapshot!(
        "get_mfa_device_unassigned",
        iam("GetMFADevice", &unassigned)
    );
}

#[test]
fn mfa_empty_results_and_errors() {
    for action in [
        "EnableMFADevice",
        "ResyncMFADevice",
        "DeactivateMFADevice",
        "DeleteVirtualMFADevice",
        "TagMFADevice",
        "UntagMFADevice",
    ] {
        insta::assert_snapshot!(format!("empty_{action}"), iam(action, &Output::Empty));
    }
    insta::assert_snapshot!(
        "error_invalid_authentication_code",
        encode::error(Service::Iam, &ApiError::invalid_authentication_code(), RID)
    );
}

#[test]
fn passwords_aliases_and_key_use() {
    let profile = keyward_core::model::LoginProfile {
        user_id: "AIDACKCEVSQ6C2EXAMPLE".into(),
        password_hash: "$argon2id$never-shown".into(),
        password_reset_required: true,
        created: datetime!(2011-09-19 23:00:56 UTC),
        password_changed: datetime!(2011-09-19 23:00:56 UTC),
    };
    let out = iam(
        "CreateLoginProfile",
        &Output::LoginProfile {
            user_name: "Bob".into(),
            profile,
        },
    );
    assert!(!out.contains("argon2"));
    insta::assert_snapshot!("create_login_profile", out);
    let policy = keyward_core::password::PasswordPolicy {
        minimum_password_length: 12,
        require_symbols: true,
        require_numbers: true,
        require_uppercase_characters: false,
        require_lowercase_characters: true,
        allow_users_to_change_password: true,
        max_password_age: Some(90),
        password_reuse_prevention: Some(12),
        hard_expiry: false,
    };
    insta::assert_snapshot!(
        "get_account_password_policy",
        iam(
            "GetAccountPasswordPolicy",
            &Output::PasswordPolicy { policy }
        )
    );
    insta::assert_snapshot!(
        "list_account_aliases",
        iam(
            "ListAccountAliases",
            &Output::AccountAliases {
                aliases: vec!["example-corp".into()],
                page: Page {
                    is_truncated: false,
                    marker: None
                }
            }
        )
    );
    insta::assert_snapshot!(
        "get_access_key_last_used",
        iam(
            "GetAccessKeyLastUsed",
            &Output::AccessKeyLastUsed {
                user_name: Some("Bob".into()),
                last_used: Some(keyward_core::model::KeyLastUsed {
                    date: datetime!(2015-03-13 10:45:00 UTC),
                    service: "iam".into(),
                    region: "us-east-1".into(),
                }),
            }
        )
    );
    insta::assert_snapshot!(
        "get_access_key_last_used_never",
        iam(
            "GetAccessKeyLastUsed",
            &Output::AccessKeyLastUsed {
                user_name: Some("Bob".into()),
                last_used: None
            }
        )
    );
}

fn test_role() -> keyward_core::model::Role {
    keyward_core::model::Role {
        account_id: "123456789012".into(),
        role_id: "AROADBQP57FF2AEXAMPLE".into(),
        name: "Test-Role".into(),
        path: "/".into(),
        created: datetime!(2013-01-02 03:04:05 UTC),
        assume_role_policy: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#.into(),
        description: Some("Test & role".into()),
        max_session_duration: 3600,
        permissions_boundary: Some("arn:aws:iam::123456789012:policy/Boundary".into()),
        tags: vec![Tag {
            key: "Team".into(),
            value: "blue".into(),
        }],
        last_used: Some((datetime!(2019-11-20 17:09:20 UTC), "us-east-1".into())),
    }
}

#[test]
fn roles() {
    let r = test_role();
    let arn = r.arn("aws");
    insta::assert_snapshot!(
        "get_role",
        iam(
            "GetRole",
            &Output::Role {
                role: r.clone(),
                arn: arn.clone()
            }
        )
    );
    let mut fresh = r.clone();
    fresh.last_used = None;
    fresh.description = None;
    fresh.permissions_boundary = None;
    fresh.tags.clear();
    insta::assert_snapshot!(
        "create_role",
        iam(
            "CreateRole",
            &Output::Role {
                role: fresh,
                arn: arn.clone()
            }
        )
    );
    insta::assert_snapshot!(
        "list_roles",
        iam(
            "ListRoles",
            &Output::Roles {
                roles: vec![(r, arn)],
                page: Page {
                    is_truncated: true,
                    marker: Some("VGVzdC1Sb2xl".into())
                }
            }
        )
    );
}

fn session_credentials() -> keyward_core::ops::Credentials {
    keyward_core::ops::Credentials {
        access_key_id: "ASIAIOSFODNN7EXAMPLE".into(),
        secret_access_key: SecretKey::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"),
        session_token: keyward_core::session::SessionToken::new("AQoEXAMPLEH4aoAH0gNCAPyJxz4BlCFFxWNE1OPTgk5TthT+FvwqnKwRcOIfrRh3c/LTo6UDdyJwOOvEVPvLXCrrrUtdnniCEXAMPLE/IvU1dYUg2RVAJBanLiHb4IgRmpRV3zrkuWJOgQs8IZZaIv2BXIa2R4OlgkBN9bkUDNCJiBeb/AXlzBBko7b15fjrBs2+cTQtpZ3CYWFXG8C5zqx37wnOE49mRl/+OtkIKGO7fAE".into()),
        expiration: datetime!(2011-07-15 23:28:33 UTC),
    }
}

#[test]
fn sts_session_credentials() {
    let sts = |action: &str, out: &Output| encode::response(Service::Sts, action, out, RID);
    insta::assert_snapshot!(
        "get_session_token",
        sts(
            "GetSessionToken",
            &Output::SessionCredentials {
                credentials: session_credentials(),
                assumed_role_user: None,
                federated_user: None,
                packed_policy_size: None,
                source_identity: None,
            }
        )
    );
    insta::assert_snapshot!(
        "assume_role",
        sts(
            "AssumeRole",
            &Output::SessionCredentials {
                credentials: session_credentials(),
                assumed_role_user: Some((
                    "ARO123EXAMPLE123:Bob".into(),
                    "arn:aws:sts::123456789012:assumed-role/demo/Bob".into()
                )),
                federated_user: None,
                packed_policy_size: Some(8),
                source_identity: Some("DevUser123".into()),
            }
        )
    );
    insta::assert_snapshot!(
        "get_federation_token",
        sts(
            "GetFederationToken",
            &Output::SessionCredentials {
                credentials: session_credentials(),
                assumed_role_user: None,
                federated_user: Some((
                    "123456789012:Bob".into(),
                    "arn:aws:sts::123456789012:federated-user/Bob".into()
                )),
                packed_policy_size: Some(6),
                source_identity: None,
            }
        )
    );
    insta::assert_snapshot!(
        "get_access_key_info",
        sts(
            "GetAccessKeyInfo",
            &Output::AccessKeyInfo {
                account: "111122223333".into()
            }
        )
    );
    insta::assert_snapshot!(
        "expired_token",
        encode::error(Service::Sts, &keyward_core::auth::expired_token(), RID)
    );
    insta::assert_snapshot!(
        "error_invalid_authorization_message",
        encode::error(
            Service::Sts,
            &keyward_core::ops::invalid_authorization_message(),
            RID
        )
    );
    insta::assert_snapshot!(
        "error_session_token_refused_by_iam",
        encode::error(
            Service::Iam,
            &keyward_core::auth::session_token_refused_by_iam(),
            RID
        )
    );
}

#[test]
fn account_summary() {
    let out = Output::AccountSummary {
        entries: vec![
            ("Users", 27),
            ("UsersQuota", 5000),
            ("AccountMFAEnabled", 0),
        ],
    };
    insta::assert_snapshot!(iam("GetAccountSummary", &out));
}

#[test]
fn account_authorization_details() {
    use keyward_core::ops::{GroupDetail, PolicyDetail, UserDetail};
    let u = bob();
    let arn = u.arn("aws");
    let g = group();
    let garn = g.arn("aws");
    let out = Output::AuthorizationDetails {
        users: vec![UserDetail {
            user: u,
            arn,
            inline: vec![("AllAccessPolicy".into(), version("v1").document)],
            groups: vec!["Admins".into()],
            attached: vec![keyward_core::model::AttachedPolicy {
                name: "ReadUsers".into(),
                arn: "arn:aws:iam::123456789012:policy/team/ReadUsers".into(),
            }],
        }],
        groups: vec![GroupDetail {
            group: g,
            arn: garn,
            inline: vec![],
            attached: vec![],
        }],
        roles: vec![],
        policies: vec![PolicyDetail {
            policy: managed(),
            versions: vec![(version("v2"), true), (version("v1"), false)],
        }],
        page: Page {
            is_truncated: true,
            marker: Some("dQpCb2I=".into()),
        },
    };
    insta::assert_snapshot!(iam("GetAccountAuthorizationDetails", &out));
}

#[test]
fn group_and_role_inline_policies() {
    // GetGroupPolicy and GetRolePolicy return the document URL-encoded, as GetUserPolicy does
    // (API reference examples: `<PolicyDocument>%7B%22Version%22...`).
    insta::assert_snapshot!(
        "get_group_policy",
        iam(
            "GetGroupPolicy",
            &Output::InlinePolicy {
                entity: keyward_core::model::EntityKind::Group,
                entity_name: "Admins".into(),
                policy_name: "AdminRoot".into(),
                document: version("v1").document,
            }
        )
    );
    insta::assert_snapshot!(
        "get_role_policy",
        iam(
            "GetRolePolicy",
            &Output::InlinePolicy {
                entity: keyward_core::model::EntityKind::Role,
                entity_name: "S3Access".into(),
                policy_name: "S3AccessPolicy".into(),
                document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/a&b <c>"}]}"#.into(),
            }
        )
    );
}

#[test]
fn role_and_policy_tags_groups_for_user_login_profile_role_description() {
    let tags = vec![
        Tag {
            key: "Dept".into(),
            value: "Accounting".into(),
        },
        Tag {
            key: "CostCenter".into(),
            value: "12345 & <6>".into(),
        },
    ];
    insta::assert_snapshot!(
        "list_role_tags",
        iam(
            "ListRoleTags",
            &Output::Tags {
                tags: tags.clone(),
                page: Page {
                    is_truncated: false,
                    marker: None
                }
            }
        )
    );
    insta::assert_snapshot!(
        "list_policy_tags",
        iam(
            "ListPolicyTags",
            &Output::Tags {
                tags,
                page: Page {
                    is_truncated: true,
                    marker: Some("Q29zdENlbnRlcg==".into())
                }
            }
        )
    );
    let g = group();
    let arn = g.arn("aws");
    insta::assert_snapshot!(
        "list_groups_for_user",
        iam(
            "ListGroupsForUser",
            &Output::Groups {
                groups: vec![(g, arn)],
                page: Page {
                    is_truncated: false,
                    marker: None
                }
            }
        )
    );
    let profile = keyward_core::model::LoginProfile {
        user_id: "AIDACKCEVSQ6C2EXAMPLE".into(),
        password_hash: "$argon2id$never-shown".into(),
        password_reset_required: false,
        created: datetime!(2012-09-21 23:03:24 UTC),
        password_changed: datetime!(2012-09-21 23:03:24 UTC),
    };
    let out = iam(
        "GetLoginProfile",
        &Output::LoginProfile {
            user_name: "Anika".into(),
            profile,
        },
    );
    assert!(!out.contains("argon2"));
    insta::assert_snapshot!("get_login_profile", out);
    let r = test_role();
    let arn = r.arn("aws");
    insta::assert_snapshot!(
        "update_role_description",
        iam("UpdateRoleDescription", &Output::Role { role: r, arn })
    );
}

#[test]
fn client_errors_of_iam() {
    let cases = [
        (
            "error_validation",
            ApiError::validation(
                "1 validation error detected: Value 'a b' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+",
            ),
        ),
        (
            "error_limit_exceeded",
            ApiError::limit_exceeded("Cannot exceed quota for AccessKeysPerUser: 2"),
        ),
        (
            "error_delete_conflict",
            ApiError::delete_conflict("Cannot delete entity, must delete access keys first."),
        ),
        (
            "error_entity_already_exists",
            ApiError::entity_already_exists("User with name Bob already exists."),
        ),
        (
            "error_malformed_policy_document",
            ApiError::new(
                "MalformedPolicyDocument",
                400,
                "Policy document should not specify a principal.",
            ),
        ),
    ];
    for (name, err) in cases {
        insta::assert_snapshot!(name, encode::error(Service::Iam, &err, RID));
    }
}

/// `GenerateCredentialReport` as the API Reference's sample answers a first call; `COMPLETE`
/// carries no description (what IAM answers a second call). `GetCredentialReport`'s `Content`
/// is the CSV in Base64.
#[test]
fn credential_report() {
    insta::assert_snapshot!(
        "generate_credential_report_started",
        iam(
            "GenerateCredentialReport",
            &Output::CredentialReportState {
                state: "STARTED",
                description: Some(keyward_core::ops::reports::REPORT_STARTED),
            }
        )
    );
    insta::assert_snapshot!(
        "generate_credential_report_complete",
        iam(
            "GenerateCredentialReport",
            &Output::CredentialReportState {
                state: "COMPLETE",
                description: None,
            }
        )
    );
    insta::assert_snapshot!(
        "get_credential_report",
        iam(
            "GetCredentialReport",
            &Output::CredentialReport {
                csv: "user,arn\n<root_account>,arn:aws:iam::123456789012:root".into(),
                generated: datetime!(2014-08-28 21:42:50 UTC),
            }
        )
    );
    insta::assert_snapshot!(
        "error_report_not_present",
        encode::error(
            Service::Iam,
            &keyward_core::ops::reports::report_not_present(),
            RID
        )
    );
    insta::assert_snapshot!(
        "error_report_expired",
        encode::error(
            Service::Iam,
            &keyward_core::ops::reports::report_expired(),
            RID
        )
    );
}

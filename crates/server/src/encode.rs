//! Operation outputs and errors in AWS's XML shapes (botocore's IAM and STS models name every
//! element; the envelopes are `<XResponse xmlns=...><XResult>...</XResult><ResponseMetadata>`).

use keyward_core::ApiError;
use keyward_core::clock::iso8601;
use keyward_core::model::{
    AccessKey, EntityKind, Group, ManagedPolicy, MfaDevice, PolicyVersion, Role, Tag, User,
};
use keyward_core::ops::{Output, Page};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::decode::{QueryService, Service};
use crate::xml::Xml;

fn user(x: &mut Xml, u: &User, arn: &str, with_tags: bool) {
    x.elem("Path", &u.path)
        .elem("UserName", &u.name)
        .elem("UserId", &u.user_id)
        .elem("Arn", arn)
        .elem("CreateDate", &iso8601(u.created));
    if let Some(t) = u.password_last_used {
        x.elem("PasswordLastUsed", &iso8601(t));
    }
    if let Some(arn) = &u.permissions_boundary {
        boundary(x, arn);
    }
    if with_tags && !u.tags.is_empty() {
        tags(x, &u.tags);
    }
}

fn boundary(x: &mut Xml, arn: &str) {
    x.open("PermissionsBoundary")
        .elem("PermissionsBoundaryType", "PermissionsBoundaryPolicy")
        .elem("PermissionsBoundaryArn", arn)
        .close("PermissionsBoundary");
}

/// RFC 3986 unreserved characters stay; everything else is percent-encoded, as IAM encodes the
/// policy documents it returns.
const URL_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn url_encoded(document: &str) -> String {
    utf8_percent_encode(document, URL_ENCODE).to_string()
}

/// A role in botocore's member order. `ListRoles` leaves out the boundary, tags and last use, as
/// AWS does.
fn role(x: &mut Xml, r: &Role, arn: &str, full: bool) {
    x.elem("Path", &r.path)
        .elem("RoleName", &r.name)
        .elem("RoleId", &r.role_id)
        .elem("Arn", arn)
        .elem("CreateDate", &iso8601(r.created))
        .elem(
            "AssumeRolePolicyDocument",
            &url_encoded(&r.assume_role_policy),
        )
        .opt("Description", r.description.as_deref())
        .elem("MaxSessionDuration", &r.max_session_duration.to_string());
    if !full {
        return;
    }
    if let Some(arn) = &r.permissions_boundary {
        boundary(x, arn);
    }
    if !r.tags.is_empty() {
        tags(x, &r.tags);
    }
    x.open("RoleLastUsed");
    if let Some((date, region)) = &r.last_used {
        x.elem("LastUsedDate", &iso8601(*date))
            .elem("Region", region);
    }
    x.close("RoleLastUsed");
}

fn group(x: &mut Xml, g: &Group, arn: &str) {
    x.elem("Path", &g.path)
        .elem("GroupName", &g.name)
        .elem("GroupId", &g.group_id)
        .elem("Arn", arn)
        .elem("CreateDate", &iso8601(g.created));
}

fn policy(x: &mut Xml, p: &ManagedPolicy, with_description: bool) {
    x.elem("PolicyName", &p.name);
    if with_description {
        x.opt("Description", p.description.as_deref());
    }
    x.elem("DefaultVersionId", &p.default_version_id)
        .elem("PolicyId", &p.policy_id)
        .elem("Path", &p.path)
        .elem("Arn", &p.arn)
        .elem("AttachmentCount", &p.attachment_count.to_string())
        .elem(
            "PermissionsBoundaryUsageCount",
            &p.boundary_usage_count.to_string(),
        )
        .elem("IsAttachable", "true")
        .elem("CreateDate", &iso8601(p.created))
        .elem("UpdateDate", &iso8601(p.updated));
    if with_description && !p.tags.is_empty() {
        tags(x, &p.tags);
    }
}

fn policy_version(x: &mut Xml, v: &PolicyVersion, is_default: bool, with_document: bool) {
    if with_document {
        x.elem("Document", &url_encoded(&v.document));
    }
    x.elem("VersionId", &v.version_id)
        .elem(
            "IsDefaultVersion",
            if is_default { "true" } else { "false" },
        )
        .elem("CreateDate", &iso8601(v.created));
}

fn id_members(x: &mut Xml, list: &str, name_elem: &str, id_elem: &str, items: &[(String, String)]) {
    x.open(list);
    for (name, id) in items {
        x.open("member")
            .elem(name_elem, name)
            .elem(id_elem, id)
            .close("member");
    }
    x.close(list);
}

fn tags(x: &mut Xml, list: &[Tag]) {
    x.open("Tags");
    for t in list {
        x.open("member")
            .elem("Key", &t.key)
            .elem("Value", &t.value)
            .close("member");
    }
    x.close("Tags");
}

fn inline_list(x: &mut Xml, list: &str, policies: &[(String, String)]) {
    x.open(list);
    for (name, doc) in policies {
        x.open("member")
            .elem("PolicyName", name)
            .elem("PolicyDocument", &url_encoded(doc))
            .close("member");
    }
    x.close(list);
}

/// `PolicyName`/`PolicyArn` members under `list` (`AttachedPolicies`, `AttachedManagedPolicies`).
fn attached_list(x: &mut Xml, list: &str, attached: &[keyward_core::model::AttachedPolicy]) {
    x.open(list);
    for a in attached {
        x.open("member")
            .elem("PolicyName", &a.name)
            .elem("PolicyArn", &a.arn)
            .close("member");
    }
    x.close(list);
}

fn bool_text(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

fn page(x: &mut Xml, p: &Page) {
    x.elem("IsTruncated", if p.is_truncated { "true" } else { "false" });
    x.opt("Marker", p.marker.as_deref());
}

fn key_metadata(x: &mut Xml, user_name: Option<&str>, k: &AccessKey) {
    x.opt("UserName", user_name)
        .elem("AccessKeyId", &k.access_key_id)
        .elem("Status", k.status.as_str())
        .elem("CreateDate", &iso8601(k.created));
}

/// `Base32StringSeed` and `QRCodePNG` are blobs in botocore's model: base64 on the wire.
fn blob(bytes: &[u8]) -> String {
    data_encoding::BASE64.encode(bytes)
}

fn opt_date(x: &mut Xml, name: &str, date: Option<time::OffsetDateTime>) {
    if let Some(d) = date {
        x.elem(name, &iso8601(d));
    }
}

fn mfa_device(x: &mut Xml, user_name: &str, d: &MfaDevice) {
    x.elem("UserName", user_name)
        .elem("SerialNumber", &d.serial);
    opt_date(x, "EnableDate", d.enable_date);
}

/// Writes the `<ActionResult>` body of an output, if the output has one.
fn result_body(x: &mut Xml, output: &Output) {
    match output {
        Output::LoginProfile { user_name, profile } => {
            x.open("LoginProfile")
                .elem("UserName", user_name)
                .elem("CreateDate", &iso8601(profile.created))
                .elem(
                    "PasswordResetRequired",
                    bool_text(profile.password_reset_required),
                )
                .close("LoginProfile");
        }
        Output::PasswordPolicy { policy: p } => {
            x.open("PasswordPolicy")
                .elem(
                    "MinimumPasswordLength",
                    &p.minimum_password_length.to_string(),
                )
                .elem("RequireSymbols", bool_text(p.require_symbols))
                .elem("RequireNumbers", bool_text(p.require_numbers))
                .elem(
                    "RequireUppercaseCharacters",
                    bool_text(p.require_uppercase_characters),
                )
                .elem(
                    "RequireLowercaseCharacters",
                    bool_text(p.require_lowercase_characters),
                )
                .elem(
                    "AllowUsersToChangePassword",
                    bool_text(p.allow_users_to_change_password),
                )
                .elem("ExpirePasswords", bool_text(p.max_password_age.is_some()));
            if let Some(age) = p.max_password_age {
                x.elem("MaxPasswordAge", &age.to_string());
            }
            if let Some(n) = p.password_reuse_prevention {
                x.elem("PasswordReusePrevention", &n.to_string());
            }
            x.elem("HardExpiry", bool_text(p.hard_expiry))
                .close("PasswordPolicy");
        }
        Output::AuthorizationDetails {
            users,
            groups,
            roles,
            policies,
            page: pg,
        } => {
            x.open("UserDetailList");
            for d in users {
                let u = &d.user;
                x.open("member")
                    .elem("Path", &u.path)
                    .elem("UserName", &u.name)
                    .elem("UserId", &u.user_id)
                    .elem("Arn", &d.arn)
                    .elem("CreateDate", &iso8601(u.created));
                inline_list(x, "UserPolicyList", &d.inline);
                x.open("GroupList");
                for g in &d.groups {
                    x.elem("member", g);
                }
                x.close("GroupList");
                attached_list(x, "AttachedManagedPolicies", &d.attached);
                if let Some(arn) = &u.permissions_boundary {
                    boundary(x, arn);
                }
                if !u.tags.is_empty() {
                    tags(x, &u.tags);
                }
                x.close("member");
            }
            x.close("UserDetailList");
            x.open("GroupDetailList");
            for d in groups {
                x.open("member");
                group(x, &d.group, &d.arn);
                inline_list(x, "GroupPolicyList", &d.inline);
                attached_list(x, "AttachedManagedPolicies", &d.attached);
                x.close("member");
            }
            x.close("GroupDetailList");
            x.open("RoleDetailList");
            for d in roles {
                let r = &d.role;
                x.open("member")
                    .elem("Path", &r.path)
                    .elem("RoleName", &r.name)
                    .elem("RoleId", &r.role_id)
                    .elem("Arn", &d.arn)
                    .elem("CreateDate", &iso8601(r.created))
                    .elem(
                        "AssumeRolePolicyDocument",
                        &url_encoded(&r.assume_role_policy),
                    );
                x.open("InstanceProfileList").close("InstanceProfileList");
                inline_list(x, "RolePolicyList", &d.inline);
                attached_list(x, "AttachedManagedPolicies", &d.attached);
                if let Some(arn) = &r.permissions_boundary {
                    boundary(x, arn);
                }
                if !r.tags.is_empty() {
                    tags(x, &r.tags);
                }
                x.open("RoleLastUsed");
                if let Some((date, region)) = &r.last_used {
                    x.elem("LastUsedDate", &iso8601(*date))
                        .elem("Region", region);
                }
                x.close("RoleLastUsed");
                x.close("member");
            }
            x.close("RoleDetailList");
            x.open("Policies");
            for d in policies {
                let p = &d.policy;
                x.open("member")
                    .elem("PolicyName", &p.name)
                    .elem("PolicyId", &p.policy_id)
                    .elem("Arn", &p.arn)
                    .elem("Path", &p.path)
                    .elem("DefaultVersionId", &p.default_version_id)
                    .elem("AttachmentCount", &p.attachment_count.to_string())
                    .elem(
                        "PermissionsBoundaryUsageCount",
                        &p.boundary_usage_count.to_string(),
                    )
                    .elem("IsAttachable", "true")
                    .opt("Description", p.description.as_deref())
                    .elem("CreateDate", &iso8601(p.created))
                    .elem("UpdateDate", &iso8601(p.updated));
                x.open("PolicyVersionList");
                for (v, is_default) in &d.versions {
                    x.open("member");
                    policy_version(x, v, *is_default, true);
                    x.close("member");
                }
                x.close("PolicyVersionList");
                x.close("member");
            }
            x.close("Policies");
            page(x, pg);
        }
        Output::AccountSummary { entries } => {
            x.open("SummaryMap");
            for (key, value) in entries {
                x.open("entry")
                    .elem("key", key)
                    .elem("value", &value.to_string())
                    .close("entry");
            }
            x.close("SummaryMap");
        }
        Output::AccountAliases { aliases, page: pg } => {
            x.open("AccountAliases");
            for a in aliases {
                x.elem("member", a);
            }
            x.close("AccountAliases");
            page(x, pg);
        }
        Output::AccessKeyLastUsed {
            user_name,
            last_used,
        } => {
            x.opt("UserName", user_name.as_deref())
                .open("AccessKeyLastUsed");
            match last_used {
                Some(u) => {
                    x.elem("LastUsedDate", &iso8601(u.date))
                        .elem("ServiceName", &u.service)
                        .elem("Region", &u.region);
                }
                // Never used: AWS answers N/A for both.
                None => {
                    x.elem("ServiceName", "N/A").elem("Region", "N/A");
                }
            }
            x.close("AccessKeyLastUsed");
        }
        Output::Policy {
            policy: p,
            with_description,
        } => {
            x.open("Policy");
            policy(x, p, *with_description);
            x.close("Policy");
        }
        Output::Policies { policies, page: pg } => {
            x.open("Policies");
            for p in policies {
                x.open("member");
                policy(x, p, false);
                x.close("member");
            }
            x.close("Policies");
            page(x, pg);
        }
        Output::PolicyVersion {
            version,
            is_default,
            with_document,
        } => {
            x.open("PolicyVersion");
            policy_version(x, version, *is_default, *with_document);
            x.close("PolicyVersion");
        }
        Output::PolicyVersions { versions, page: pg } => {
            x.open("Versions");
            for (v, is_default) in versions {
                x.open("member");
                policy_version(x, v, *is_default, false);
                x.close("member");
            }
            x.close("Versions");
            page(x, pg);
        }
        Output::EntitiesForPolicy {
            groups,
            users,
            roles,
            page: pg,
        } => {
            id_members(x, "PolicyGroups", "GroupName", "GroupId", groups);
            id_members(x, "PolicyUsers", "UserName", "UserId", users);
            id_members(x, "PolicyRoles", "RoleName", "RoleId", roles);
            page(x, pg);
        }
        Output::AttachedPolicies { policies, page: pg } => {
            attached_list(x, "AttachedPolicies", policies);
            page(x, pg);
        }
        Output::InlinePolicy {
            entity,
            entity_name,
            policy_name,
            document,
        } => {
            let field = match entity {
                EntityKind::User => "UserName",
                EntityKind::Group => "GroupName",
                EntityKind::Role => "RoleName",
            };
            x.elem(field, entity_name)
                .elem("PolicyName", policy_name)
                .elem("PolicyDocument", &url_encoded(document));
        }
        Output::PolicyNames { names, page: pg } => {
            x.open("PolicyNames");
            for n in names {
                x.elem("member", n);
            }
            x.close("PolicyNames");
            page(x, pg);
        }
        Output::Group { group: g, arn } => {
            x.open("Group");
            group(x, g, arn);
            x.close("Group");
        }
        Output::GroupWithUsers {
            group: g,
            arn,
            users,
            page: pg,
        } => {
            x.open("Group");
            group(x, g, arn);
            x.close("Group");
            x.open("Users");
            for (u, uarn) in users {
                x.open("member");
                user(x, u, uarn, false);
                x.close("member");
            }
            x.close("Users");
            page(x, pg);
        }
        Output::Groups { groups, page: pg } => {
            x.open("Groups");
            for (g, arn) in groups {
                x.open("member");
                group(x, g, arn);
                x.close("member");
            }
            x.close("Groups");
            page(x, pg);
        }
        Output::Empty => {}
        Output::CallerIdentity {
            user_id,
            account,
            arn,
        } => {
            x.elem("UserId", user_id)
                .elem("Account", account)
                .elem("Arn", arn);
        }
        Output::User { user: u, arn } => {
            x.open("User");
            user(x, u, arn, true);
            x.close("User");
        }
        Output::RootUser {
            account_id,
            arn,
            created,
        } => {
            x.open("User")
                .elem("UserId", account_id)
                .elem("Arn", arn)
                .elem("CreateDate", &iso8601(*created))
                .close("User");
        }
        Output::Users { users, page: p } => {
            x.open("Users");
            for (u, arn) in users {
                x.open("member");
                user(x, u, arn, false);
                x.close("member");
            }
            x.close("Users");
            page(x, p);
        }
        Output::Tags {
            tags: list,
            page: p,
        } => {
            tags(x, list);
            page(x, p);
        }
        Output::AccessKeyCreated {
            user_name,
            key,
            secret,
        } => {
            x.open("AccessKey")
                .opt("UserName", user_name.as_deref())
                .elem("AccessKeyId", &key.access_key_id)
                .elem("Status", key.status.as_str())
                .elem("SecretAccessKey", secret.expose())
                .elem("CreateDate", &iso8601(key.created))
                .close("AccessKey");
        }
        Output::AccessKeys {
            user_name,
            keys,
            page: p,
        } => {
            x.opt("UserName", user_name.as_deref());
            x.open("AccessKeyMetadata");
            for k in keys {
                x.open("member");
                key_metadata(x, user_name.as_deref(), k);
                x.close("member");
            }
            x.close("AccessKeyMetadata");
            page(x, p);
        }
        Output::VirtualMfaDeviceCreated { device, secret } => {
            let seed = secret.seed.to_base32();
            x.open("VirtualMFADevice")
                .elem("SerialNumber", &device.serial)
                .elem("Base32StringSeed", &blob(seed.as_bytes()))
                .elem("QRCodePNG", &blob(&secret.qr_png));
            if !device.tags.is_empty() {
                tags(x, &device.tags);
            }
            x.close("VirtualMFADevice");
        }
        Output::MfaDevices { devices, page: p } => {
            x.open("MFADevices");
            for (user_name, d) in devices {
                x.open("member");
                mfa_device(x, user_name, d);
                x.close("member");
            }
            x.close("MFADevices");
            page(x, p);
        }
        Output::VirtualMfaDevices { devices, page: p } => {
            x.open("VirtualMFADevices");
            for (d, owner) in devices {
                x.open("member").elem("SerialNumber", &d.serial);
                if let Some((u, arn)) = owner {
                    x.open("User");
                    user(x, u, arn, false);
                    x.close("User");
                }
                opt_date(x, "EnableDate", d.enable_date);
                x.close("member");
            }
            x.close("VirtualMFADevices");
            page(x, p);
        }
        Output::SessionCredentials {
            credentials,
            assumed_role_user,
            federated_user,
            packed_policy_size,
            source_identity,
        } => {
            x.open("Credentials")
                .elem("AccessKeyId", &credentials.access_key_id)
                .elem("SecretAccessKey", credentials.secret_access_key.expose())
                .elem("SessionToken", credentials.session_token.expose())
                .elem("Expiration", &iso8601(credentials.expiration))
                .close("Credentials");
            if let Some((id, arn)) = assumed_role_user {
                x.open("AssumedRoleUser")
                    .elem("AssumedRoleId", id)
                    .elem("Arn", arn)
                    .close("AssumedRoleUser");
            }
            if let Some((id, arn)) = federated_user {
                x.open("FederatedUser")
                    .elem("FederatedUserId", id)
                    .elem("Arn", arn)
                    .close("FederatedUser");
            }
            if let Some(size) = packed_policy_size {
                x.elem("PackedPolicySize", &size.to_string());
            }
            x.opt("SourceIdentity", source_identity.as_deref());
        }
        Output::AccessKeyInfo { account } => {
            x.elem("Account", account);
        }
        // The API Reference's sample responses: `Description` before `State`, and `Content`,
        // `ReportFormat`, `GeneratedTime`.
        Output::CredentialReportState { state, description } => {
            x.opt("Description", *description).elem("State", state);
        }
        Output::CredentialReport { csv, generated } => {
            x.elem("Content", &data_encoding::BASE64.encode(csv.as_bytes()))
                .elem("ReportFormat", "text/csv")
                .elem("GeneratedTime", &iso8601(*generated));
        }
        Output::Role { role: r, arn } => {
            x.open("Role");
            role(x, r, arn, true);
            x.close("Role");
        }
        Output::Roles { roles, page: p } => {
            x.open("Roles");
            for (r, arn) in roles {
                x.open("member");
                role(x, r, arn, false);
                x.close("member");
            }
            x.close("Roles");
            page(x, p);
        }
        Output::MfaDevice { user_name, device } => {
            x.opt("UserName", user_name.as_deref())
                .elem("SerialNumber", &device.serial);
            opt_date(x, "EnableDate", device.enable_date);
        }
    }
}

/// The whole response document of a successful `action`.
pub fn response(service: Service, action: &str, output: &Output, request_id: &str) -> String {
    let mut x = Xml::new();
    let envelope = format!("{action}Response");
    x.open_ns(&envelope, service.namespace());
    if !matches!(output, Output::Empty) {
        let result = format!("{action}Result");
        x.open(&result);
        result_body(&mut x, output);
        x.close(&result);
    }
    x.open("ResponseMetadata")
        .elem("RequestId", request_id)
        .close("ResponseMetadata");
    x.close(&envelope);
    x.finish()
}

/// `<ErrorResponse>` with `Type`, `Code`, `Message` and the request ID.
pub fn error(service: Service, err: &ApiError, request_id: &str) -> String {
    let mut x = Xml::new();
    x.open_ns("ErrorResponse", service.namespace())
        .open("Error")
        .elem("Type", err.fault.as_str())
        .elem("Code", err.code);
    // IAM sends some errors (`ReportNotPresent`) without a message at all.
    if !err.message.is_empty() {
        x.elem("Message", &err.message);
    }
    x.close("Error")
        .elem("RequestId", request_id)
        .close("ErrorResponse");
    x.finish()
}

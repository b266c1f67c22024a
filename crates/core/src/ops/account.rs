//! Account-wide views: `GetAccountSummary`, `GetAccountAuthorizationDetails`.

use crate::error::{ApiError, OpError};
use crate::model::{AttachedPolicy, EntityKind, Group, ManagedPolicy, PolicyVersion, Role, User};
use crate::store::{PolicyUsage, Tx};

#[allow(unused_imports)]
use super::*;
use super::{Ctx, Output, Page, account_id, decode_marker, encode_marker, page_size};

/// `GetAccountSummary`: counts of the account's entities beside IAM's default quotas (IAM User
/// Guide, "IAM and AWS STS quotas"). Entities keyward does not model (server certificates,
/// instance profiles, identity providers, signing certificates) count 0.
pub(super) async fn summary<T: Tx>(tx: &mut T, ctx: &Ctx<'_>) -> Result<Output, OpError> {
    let c = tx.account_counts(account_id(ctx)).await?;
    let entries = vec![
        ("AccessKeysPerUserQuota", super::ACCESS_KEYS_PER_USER as i64),
        (
            "AccountAccessKeysPresent",
            i64::from(c.root_access_keys > 0),
        ),
        ("AccountMFAEnabled", 0),
        ("AccountSigningCertificatesPresent", 0),
        ("AssumeRolePolicySizeQuota", 2048),
        ("AttachedPoliciesPerGroupQuota", 10),
        ("AttachedPoliciesPerRoleQuota", 10),
        ("AttachedPoliciesPerUserQuota", 10),
        ("GlobalEndpointTokenVersion", 1),
        ("GroupPolicySizeQuota", 5120),
        ("Groups", c.groups),
        ("GroupsPerUserQuota", 10),
        ("GroupsQuota", 300),
        ("InstanceProfiles", 0),
        ("InstanceProfilesQuota", 1000),
        ("MFADevices", c.mfa_devices),
        ("MFADevicesInUse", c.mfa_devices_in_use),
        ("Policies", c.policies),
        ("PoliciesQuota", 1500),
        ("PolicySizeQuota", 6144),
        ("PolicyVersionsInUse", c.policy_versions_in_use),
        ("PolicyVersionsInUseQuota", 10000),
        ("Providers", 0),
        ("RolePolicySizeQuota", 10240),
        ("Roles", c.roles),
        ("RolesQuota", 1000),
        ("ServerCertificates", 0),
        ("ServerCertificatesQuota", 20),
        ("SigningCertificatesPerUserQuota", 2),
        ("UserPolicySizeQuota", 2048),
        ("Users", c.users),
        ("UsersQuota", 5000),
        ("VersionsPerPolicyQuota", 5),
    ];
    Ok(Output::AccountSummary { entries })
}

/// A user with everything that grants it permissions (`UserDetail`).
#[derive(Debug, Clone)]
pub struct UserDetail {
    pub user: User,
    pub arn: String,
    /// Inline policies: (name, document).
    pub inline: Vec<(String, String)>,
    pub groups: Vec<String>,
    pub attached: Vec<AttachedPolicy>,
}

#[derive(Debug, Clone)]
pub struct GroupDetail {
    pub group: Group,
    pub arn: String,
    pub inline: Vec<(String, String)>,
    pub attached: Vec<AttachedPolicy>,
}

#[derive(Debug, Clone)]
pub struct RoleDetail {
    pub role: Role,
    pub arn: String,
    pub inline: Vec<(String, String)>,
    pub attached: Vec<AttachedPolicy>,
}

/// A managed policy with all its versions (newest first) and which one is the default.
#[derive(Debug, Clone)]
pub struct PolicyDetail {
    pub policy: ManagedPolicy,
    pub versions: Vec<(PolicyVersion, bool)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Section {
    Users,
    Groups,
    Roles,
    Policies,
}

impl Section {
    const ALL: [Section; 4] = [
        Section::Users,
        Section::Groups,
        Section::Roles,
        Section::Policies,
    ];

    fn tag(self) -> &'static str {
        match self {
            Section::Users => "u",
            Section::Groups => "g",
            Section::Roles => "r",
            Section::Policies => "p",
        }
    }

    fn from_tag(t: &str) -> Option<Self> {
        Section::ALL.into_iter().find(|s| s.tag() == t)
    }
}

async fn inline_documents<T: Tx>(
    tx: &mut T,
    kind: EntityKind,
    id: &str,
) -> Result<Vec<(String, String)>, OpError> {
    let mut out = Vec::new();
    for name in tx.list_inline_policies(kind, id).await? {
        if let Some(doc) = tx.get_inline_policy(kind, id, &name).await? {
            out.push((name, doc));
        }
    }
    Ok(out)
}

/// `GetAccountAuthorizationDetails`: users, groups, roles and managed policies with everything
/// attached to them, filtered by `Filter`, paged in that order. The marker names the section and
/// the last key returned, so a page costs the same however many entities the account holds.
pub(super) async fn authorization_details<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    filter: Vec<String>,
    marker: Option<String>,
    max_items: Option<i64>,
) -> Result<Output, OpError> {
    let max = page_size(max_items);
    let wants = |name: &str| filter.is_empty() || filter.iter().any(|f| f == name);
    let local = wants("LocalManagedPolicy");
    let aws = wants("AWSManagedPolicy");
    let scope = match (local, aws) {
        (true, true) => "All",
        (true, false) => "Local",
        _ => "AWS",
    };
    let sections: Vec<Section> = Section::ALL
        .into_iter()
        .filter(|s| match s {
            Section::Users => wants("User"),
            Section::Groups => wants("Group"),
            Section::Roles => wants("Role"),
            Section::Policies => local || aws,
        })
        .collect();
    let (start, mut after) = match marker.as_deref().map(decode_marker).transpose()? {
        None => (Section::Users, None),
        Some(m) => {
            let (tag, key) = m
                .split_once('\n')
                .ok_or_else(|| ApiError::invalid_input("Invalid Marker."))?;
            let section =
                Section::from_tag(tag).ok_or_else(|| ApiError::invalid_input("Invalid Marker."))?;
            (section, Some(key.to_owned()))
        }
    };
    let acct = account_id(ctx).to_owned();
    let mut remaining = max;
    let mut users = Vec::new();
    let mut groups = Vec::new();
    let mut roles = Vec::new();
    let mut policies = Vec::new();
    let mut next: Option<String> = None;
    for section in sections.into_iter().filter(|s| *s >= start) {
        let after_key = after.take().filter(|k| !k.is_empty());
        // One more than fits tells whether the page is truncated.
        let limit = remaining + 1;
        let last_key: Option<String>;
        let fetched;
        match section {
            Section::Users => {
                let mut list = tx
                    .list_users(&acct, "/", after_key.as_deref(), limit)
                    .await?;
                fetched = list.len();
                list.truncate(remaining);
                last_key = list.last().map(|u| u.name.clone());
                for user in list {
                    let inline = inline_documents(tx, EntityKind::User, &user.user_id).await?;
                    let groups_of = tx
                        .list_groups_for_user(&user.user_id)
                        .await?
                        .into_iter()
                        .map(|g| g.name)
                        .collect();
                    let attached = tx
                        .list_attached_policies(EntityKind::User, &user.user_id)
                        .await?;
                    let arn = user.arn(ctx.partition);
                    users.push(UserDetail {
                        user,
                        arn,
                        inline,
                        groups: groups_of,
                        attached,
                    });
                }
            }
            Section::Groups => {
                let mut list = tx
                    .list_groups(&acct, "/", after_key.as_deref(), limit)
                    .await?;
                fetched = list.len();
                list.truncate(remaining);
                last_key = list.last().map(|g| g.name.clone());
                for group in list {
                    let inline = inline_documents(tx, EntityKind::Group, &group.group_id).await?;
                    let attached = tx
                        .list_attached_policies(EntityKind::Group, &group.group_id)
                        .await?;
                    let arn = group.arn(ctx.partition);
                    groups.push(GroupDetail {
                        group,
                        arn,
                        inline,
                        attached,
                    });
                }
            }
            Section::Roles => {
                let mut list = tx
                    .list_roles(&acct, "/", after_key.as_deref(), limit)
                    .await?;
                fetched = list.len();
                list.truncate(remaining);
                last_key = list.last().map(|r| r.name.clone());
                for role in list {
                    let inline = inline_documents(tx, EntityKind::Role, &role.role_id).await?;
                    let attached = tx
                        .list_attached_policies(EntityKind::Role, &role.role_id)
                        .await?;
                    let arn = role.arn(ctx.partition);
                    roles.push(RoleDetail {
                        role,
                        arn,
                        inline,
                        attached,
                    });
                }
            }
            Section::Policies => {
                let after_pair = after_key.as_deref().and_then(|k| k.split_once('\t'));
                let mut list = tx
                    .list_managed_policies(&acct, scope, PolicyUsage::Any, "/", after_pair, limit)
                    .await?;
                fetched = list.len();
                list.truncate(remaining);
                last_key = list.last().map(|p| format!("{}\t{}", p.name, p.arn));
                for policy in list {
                    let versions = super::policies::versions_of(tx, &policy).await?;
                    policies.push(PolicyDetail { policy, versions });
                }
            }
        }
        if fetched > remaining {
            // More in this section: resume after the last one returned (or at its start).
            next = Some(format!(
                "{}\n{}",
                section.tag(),
                last_key.unwrap_or_default()
            ));
            break;
        }
        remaining -= fetched;
    }
    let page = Page {
        is_truncated: next.is_some(),
        marker: next.as_deref().map(encode_marker),
    };
    Ok(Output::AuthorizationDetails {
        users,
        groups,
        roles,
        policies,
        page,
    })
}

// ── Operation inputs (rows of `table.rs`) ──────────────────────────────────────────────────────

input! {
    pub struct GetAccountSummary {}
}

impl Handler for GetAccountSummary {
    async fn target<T: Tx>(&self, op: OpName, _tx: &mut T, _ctx: &Ctx<'_>) -> Targeted {
        Ok(any_resource(op))
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        summary(tx, ctx).await
    }
}

input! {
    pub struct GetAccountAuthorizationDetails {
        filter: Vec<String> = list("Filter"),
        marker: Option<String> = string("Marker"),
        max_items: Option<i64> = integer("MaxItems"),
    }
}

impl Handler for GetAccountAuthorizationDetails {
    async fn target<T: Tx>(&self, op: OpName, _tx: &mut T, _ctx: &Ctx<'_>) -> Targeted {
        Ok(any_resource(op))
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let GetAccountAuthorizationDetails {
            filter,
            marker,
            max_items,
        } = self;
        authorization_details(tx, ctx, filter, marker, max_items).await
    }
}

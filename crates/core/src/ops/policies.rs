//! Customer managed policies and their versions; AWS managed policies are read-only here.

use keyward_policy::{ParseOptions, Policy, PolicyKind};

use crate::error::{ApiError, OpError};
use crate::ids::{self, IdKind};
use crate::model::{AWS_OWNER, EntityKind, ManagedPolicy, PolicyVersion, Tag};
use crate::store::{PolicyUsage, Tx};

#[allow(unused_imports)]
use super::*;
use super::{
    Ctx, Output, account_id, decode_marker, marker_offset, merge_tags, opt, page_size,
    reject_duplicate_tag_keys, remove_tags, slice_page,
};

/// Most versions a managed policy keeps.
pub const VERSIONS_PER_POLICY: usize = 5;
/// Managed policy documents may hold this many characters, white space not counted.
pub const MANAGED_POLICY_SIZE: usize = 6144;

/// Validates a document with IAM's rules; errors are `MalformedPolicyDocument` (400) or
/// `LimitExceeded` (409) with IAM's wording.
pub(crate) fn check_document(
    document: &str,
    kind: PolicyKind,
    id: &str,
    options: &ParseOptions,
) -> Result<(), ApiError> {
    Policy::parse_with(document, kind, id, options)
        .map(|_| ())
        .map_err(|e| {
            let status = if e.error_code() == "LimitExceeded" {
                409
            } else {
                400
            };
            ApiError::new(e.error_code(), status, e.to_string())
        })
}

fn managed_options() -> ParseOptions {
    ParseOptions {
        require_current_version: false,
        max_size: Some(MANAGED_POLICY_SIZE),
    }
}

fn not_found(arn: &str) -> ApiError {
    ApiError::no_such_entity(format!("Policy {arn} was not found."))
}

fn version_not_found(arn: &str, version_id: &str) -> ApiError {
    ApiError::no_such_entity(format!(
        "Policy {arn} version {version_id} does not exist or is not attachable."
    ))
}

/// Finds the policy `policyArn` names, visible to the caller's account.
pub(crate) async fn require_policy<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    policy_arn: Option<&str>,
) -> Result<ManagedPolicy, OpError> {
    let arn = policy_arn.unwrap_or_default();
    match tx.get_managed_policy(arn).await? {
        Some(p) if p.account_id == account_id(ctx) || p.account_id == AWS_OWNER => Ok(p),
        _ => Err(not_found(arn).into()),
    }
}

fn refuse_aws_managed(p: &ManagedPolicy) -> Result<(), ApiError> {
    if p.account_id == AWS_OWNER {
        return Err(ApiError::invalid_input(format!(
            "ARN {} is not valid: AWS managed policies cannot be changed.",
            p.arn
        )));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn create_policy<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    policy_name: Option<String>,
    path: Option<String>,
    policy_document: Option<String>,
    description: Option<String>,
    tags: Vec<Tag>,
) -> Result<Output, OpError> {
    let name = opt(&policy_name);
    let document = opt(&policy_document);
    reject_duplicate_tag_keys(&tags)?;
    let acct = account_id(ctx);
    let path = path.unwrap_or_else(|| "/".to_owned());
    let arn = format!("arn:{}:iam::{acct}:policy{path}{name}", ctx.partition);
    check_document(&document, PolicyKind::Identity, &arn, &managed_options())?;
    let existing = tx
        .list_managed_policies(acct, "Local", PolicyUsage::Any, "/", None, usize::MAX)
        .await?;
    if existing.iter().any(|p| p.name.eq_ignore_ascii_case(&name)) {
        return Err(ApiError::entity_already_exists(format!(
            "A policy called {name} already exists. Duplicate names are not allowed."
        ))
        .into());
    }
    let policy = ManagedPolicy {
        policy_id: ids::new_id(IdKind::Policy)?,
        account_id: acct.to_owned(),
        name,
        path,
        arn,
        description,
        default_version_id: "v1".to_owned(),
        next_version: 2,
        created: ctx.now,
        updated: ctx.now,
        tags,
        attachment_count: 0,
        boundary_usage_count: 0,
    };
    let first = PolicyVersion {
        policy_id: policy.policy_id.clone(),
        version_id: "v1".to_owned(),
        document,
        created: ctx.now,
    };
    tx.insert_managed_policy(&policy, &first).await?;
    Ok(Output::Policy {
        policy,
        with_description: false,
    })
}

async fn delete_policy<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    policy_arn: Option<String>,
) -> Result<Output, OpError> {
    let policy = require_policy(tx, ctx, policy_arn.as_deref()).await?;
    refuse_aws_managed(&policy)?;
    if policy.attachment_count > 0 {
        return Err(
            ApiError::delete_conflict("Cannot delete a policy attached to entities.").into(),
        );
    }
    if policy.boundary_usage_count > 0 {
        return Err(ApiError::delete_conflict(
            "Cannot delete a policy that is used as a permissions boundary.",
        )
        .into());
    }
    if tx.list_policy_versions(&policy.policy_id).await?.len() > 1 {
        return Err(ApiError::delete_conflict(
            "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.",
        )
        .into());
    }
    tx.delete_managed_policy(&policy.policy_id).await?;
    Ok(Output::Empty)
}

#[allow(clippy::too_many_arguments)]
async fn list_policies<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    scope: Option<String>,
    only_attached: bool,
    path_prefix: Option<String>,
    policy_usage_filter: Option<String>,
    marker: Option<String>,
    max_items: Option<i64>,
) -> Result<Output, OpError> {
    let max = page_size(max_items);
    let usage = match (only_attached, policy_usage_filter.as_deref()) {
        (_, Some("PermissionsPolicy")) => PolicyUsage::AsPermissions,
        (_, Some("PermissionsBoundary")) => PolicyUsage::AsBoundary,
        (true, _) => PolicyUsage::Attached,
        (false, _) => PolicyUsage::Any,
    };
    let after = marker.as_deref().map(decode_marker).transpose()?;
    let after_key = after.as_deref().and_then(|m| m.split_once('\n'));
    let policies = tx
        .list_managed_policies(
            account_id(ctx),
            scope.as_deref().unwrap_or("All"),
            usage,
            path_prefix.as_deref().unwrap_or("/"),
            after_key,
            max + 1,
        )
        .await?;
    let (policies, page) = keyed_page(policies, max, |p| format!("{}\n{}", p.name, p.arn));
    Ok(Output::Policies { policies, page })
}

/// A policy's versions, newest first, each with whether it is the default one.
pub(crate) async fn versions_of<T: Tx>(
    tx: &mut T,
    policy: &ManagedPolicy,
) -> Result<Vec<(PolicyVersion, bool)>, OpError> {
    Ok(tx
        .list_policy_versions(&policy.policy_id)
        .await?
        .into_iter()
        .rev()
        .map(|ver| {
            let is_default = ver.version_id == policy.default_version_id;
            (ver, is_default)
        })
        .collect())
}

async fn create_policy_version<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    policy_arn: Option<String>,
    policy_document: Option<String>,
    set_as_default: bool,
) -> Result<Output, OpError> {
    let document = opt(&policy_document);
    let mut policy = require_policy(tx, ctx, policy_arn.as_deref()).await?;
    refuse_aws_managed(&policy)?;
    check_document(
        &document,
        PolicyKind::Identity,
        &policy.arn,
        &managed_options(),
    )?;
    if tx.list_policy_versions(&policy.policy_id).await?.len() >= VERSIONS_PER_POLICY {
        return Err(ApiError::limit_exceeded(format!(
            "A managed policy can have up to {VERSIONS_PER_POLICY} versions. Before you create a new version, you must delete an existing version."
        ))
        .into());
    }
    let version = PolicyVersion {
        policy_id: policy.policy_id.clone(),
        version_id: format!("v{}", policy.next_version),
        document,
        created: ctx.now,
    };
    tx.insert_policy_version(&version).await?;
    policy.next_version += 1;
    policy.updated = ctx.now;
    if set_as_default {
        policy.default_version_id = version.version_id.clone();
    }
    tx.update_managed_policy(&policy).await?;
    Ok(Output::PolicyVersion {
        version,
        is_default: set_as_default,
        with_document: false,
    })
}

async fn require_version<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    policy_arn: Option<String>,
    version_id: Option<String>,
) -> Result<(ManagedPolicy, PolicyVersion), OpError> {
    let id = opt(&version_id);
    let policy = require_policy(tx, ctx, policy_arn.as_deref()).await?;
    let version = tx
        .list_policy_versions(&policy.policy_id)
        .await?
        .into_iter()
        .find(|ver| ver.version_id == id)
        .ok_or_else(|| version_not_found(&policy.arn, &id))?;
    Ok((policy, version))
}

#[allow(clippy::too_many_arguments)]
async fn list_entities<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    policy_arn: Option<String>,
    entity_filter: Option<String>,
    path_prefix: Option<String>,
    marker: Option<String>,
    max_items: Option<i64>,
) -> Result<Output, OpError> {
    let max = page_size(max_items);
    let policy = require_policy(tx, ctx, policy_arn.as_deref()).await?;
    let prefix = path_prefix.unwrap_or_else(|| "/".to_owned());
    let mut entries: Vec<(EntityKind, String, String)> = Vec::new();
    for (kind, id) in tx.list_policy_attachments(&policy.arn).await? {
        let wanted = match entity_filter.as_deref() {
            None => true,
            Some("User") => kind == EntityKind::User,
            Some("Group") => kind == EntityKind::Group,
            Some("Role") => kind == EntityKind::Role,
            Some(_) => false,
        };
        if !wanted {
            continue;
        }
        match kind {
            EntityKind::User => {
                if let Some(u) = tx.get_user_by_id(&id).await?
                    && u.path.starts_with(&prefix)
                {
                    entries.push((kind, u.name, u.user_id));
                }
            }
            EntityKind::Group => {
                let groups = tx
                    .list_groups(account_id(ctx), &prefix, None, usize::MAX)
                    .await?;
                if let Some(g) = groups.into_iter().find(|g| g.group_id == id) {
                    entries.push((kind, g.name, g.group_id));
                }
            }
            EntityKind::Role => {
                if let Some(r) = tx.get_role_by_id(&id).await?
                    && r.path.starts_with(&prefix)
                {
                    entries.push((kind, r.name, r.role_id));
                }
            }
        }
    }
    let (entries, page) = slice_page(&entries, marker_offset(marker.as_deref())?, max);
    let pick = |k: EntityKind| {
        entries
            .iter()
            .filter(|(kind, _, _)| *kind == k)
            .map(|(_, n, i)| (n.clone(), i.clone()))
            .collect()
    };
    Ok(Output::EntitiesForPolicy {
        groups: pick(EntityKind::Group),
        users: pick(EntityKind::User),
        roles: pick(EntityKind::Role),
        page,
    })
}

// ── Operation inputs (rows of `table.rs`) ──────────────────────────────────────────────────────

input! {
    pub struct CreatePolicy {
        policy_name: Option<String> = string("PolicyName"),
        path: Option<String> = string("Path"),
        policy_document: Option<String> = string("PolicyDocument"),
        description: Option<String> = string("Description"),
        tags: Vec<Tag> = tags("Tags"),
    }
}

impl Handler for CreatePolicy {
    async fn target<T: Tx>(&self, op: OpName, _tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let CreatePolicy {
            policy_name,
            path,
            tags,
            ..
        } = self;
        let arn = format!(
            "arn:{}:iam::{}:policy{}{}",
            ctx.partition,
            account_id(ctx),
            path.as_deref().unwrap_or("/"),
            opt(policy_name)
        );
        Ok(permission(op, arn, request_tag_keys(tags)))
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let CreatePolicy {
            policy_name,
            path,
            policy_document,
            description,
            tags,
        } = self;
        create_policy(
            tx,
            ctx,
            policy_name,
            path,
            policy_document,
            description,
            tags,
        )
        .await
    }
}

input! {
    pub struct GetPolicy {
        policy_arn: Option<String> = string("PolicyArn"),
    }
}

impl Handler for GetPolicy {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, _ctx: &Ctx<'_>) -> Targeted {
        let GetPolicy { policy_arn } = self;
        policy_permission(tx, op, &opt(policy_arn), Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let GetPolicy { policy_arn } = self;
        let policy = require_policy(tx, ctx, policy_arn.as_deref()).await?;
        Ok(Output::Policy {
            policy,
            with_description: true,
        })
    }
}

input! {
    pub struct DeletePolicy {
        policy_arn: Option<String> = string("PolicyArn"),
    }
}

impl Handler for DeletePolicy {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, _ctx: &Ctx<'_>) -> Targeted {
        let DeletePolicy { policy_arn } = self;
        policy_permission(tx, op, &opt(policy_arn), Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let DeletePolicy { policy_arn } = self;
        delete_policy(tx, ctx, policy_arn).await
    }
}

input! {
    pub struct ListPolicies {
        scope: Option<String> = string("Scope"),
        only_attached: bool = boolean("OnlyAttached"),
        path_prefix: Option<String> = string("PathPrefix"),
        policy_usage_filter: Option<String> = string("PolicyUsageFilter"),
        marker: Option<String> = string("Marker"),
        max_items: Option<i64> = integer("MaxItems"),
    }
}

impl Handler for ListPolicies {
    async fn target<T: Tx>(&self, op: OpName, _tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        Ok(list_target(ctx, op, "policy"))
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let ListPolicies {
            scope,
            only_attached,
            path_prefix,
            policy_usage_filter,
            marker,
            max_items,
        } = self;
        list_policies(
            tx,
            ctx,
            scope,
            only_attached,
            path_prefix,
            policy_usage_filter,
            marker,
            max_items,
        )
        .await
    }
}

input! {
    pub struct CreatePolicyVersion {
        policy_arn: Option<String> = string("PolicyArn"),
        policy_document: Option<String> = string("PolicyDocument"),
        set_as_default: bool = boolean("SetAsDefault"),
    }
}

impl Handler for CreatePolicyVersion {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, _ctx: &Ctx<'_>) -> Targeted {
        let CreatePolicyVersion { policy_arn, .. } = self;
        policy_permission(tx, op, &opt(policy_arn), Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let CreatePolicyVersion {
            policy_arn,
            policy_document,
            set_as_default,
        } = self;
        create_policy_version(tx, ctx, policy_arn, policy_document, set_as_default).await
    }
}

input! {
    pub struct GetPolicyVersion {
        policy_arn: Option<String> = string("PolicyArn"),
        version_id: Option<String> = string("VersionId"),
    }
}

impl Handler for GetPolicyVersion {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, _ctx: &Ctx<'_>) -> Targeted {
        let GetPolicyVersion { policy_arn, .. } = self;
        policy_permission(tx, op, &opt(policy_arn), Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let GetPolicyVersion {
            policy_arn,
            version_id,
        } = self;
        let (policy, version) = require_version(tx, ctx, policy_arn, version_id).await?;
        let is_default = version.version_id == policy.default_version_id;
        Ok(Output::PolicyVersion {
            version,
            is_default,
            with_document: true,
        })
    }
}

input! {
    pub struct ListPolicyVersions {
        policy_arn: Option<String> = string("PolicyArn"),
        marker: Option<String> = string("Marker"),
        max_items: Option<i64> = integer("MaxItems"),
    }
}

impl Handler for ListPolicyVersions {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, _ctx: &Ctx<'_>) -> Targeted {
        let ListPolicyVersions { policy_arn, .. } = self;
        policy_permission(tx, op, &opt(policy_arn), Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let ListPolicyVersions {
            policy_arn,
            marker,
            max_items,
        } = self;
        let max = page_size(max_items);
        let policy = require_policy(tx, ctx, policy_arn.as_deref()).await?;
        let versions = versions_of(tx, &policy).await?;
        let (versions, page) = slice_page(&versions, marker_offset(marker.as_deref())?, max);
        Ok(Output::PolicyVersions { versions, page })
    }
}

input! {
    pub struct DeletePolicyVersion {
        policy_arn: Option<String> = string("PolicyArn"),
        version_id: Option<String> = string("VersionId"),
    }
}

impl Handler for DeletePolicyVersion {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, _ctx: &Ctx<'_>) -> Targeted {
        let DeletePolicyVersion { policy_arn, .. } = self;
        policy_permission(tx, op, &opt(policy_arn), Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let DeletePolicyVersion {
            policy_arn,
            version_id,
        } = self;
        let (policy, version) = require_version(tx, ctx, policy_arn, version_id).await?;
        refuse_aws_managed(&policy)?;
        if version.version_id == policy.default_version_id {
            return Err(ApiError::delete_conflict(
                "Cannot delete the default version of a policy.",
            )
            .into());
        }
        tx.delete_policy_version(&policy.policy_id, &version.version_id)
            .await?;
        Ok(Output::Empty)
    }
}

input! {
    pub struct SetDefaultPolicyVersion {
        policy_arn: Option<String> = string("PolicyArn"),
        version_id: Option<String> = string("VersionId"),
    }
}

impl Handler for SetDefaultPolicyVersion {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, _ctx: &Ctx<'_>) -> Targeted {
        let SetDefaultPolicyVersion { policy_arn, .. } = self;
        policy_permission(tx, op, &opt(policy_arn), Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let SetDefaultPolicyVersion {
            policy_arn,
            version_id,
        } = self;
        let (mut policy, version) = require_version(tx, ctx, policy_arn, version_id).await?;
        refuse_aws_managed(&policy)?;
        policy.default_version_id = version.version_id;
        policy.updated = ctx.now;
        tx.update_managed_policy(&policy).await?;
        Ok(Output::Empty)
    }
}

input! {
    pub struct ListEntitiesForPolicy {
        policy_arn: Option<String> = string("PolicyArn"),
        entity_filter: Option<String> = string("EntityFilter"),
        path_prefix: Option<String> = string("PathPrefix"),
        marker: Option<String> = string("Marker"),
        max_items: Option<i64> = integer("MaxItems"),
    }
}

impl Handler for ListEntitiesForPolicy {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, _ctx: &Ctx<'_>) -> Targeted {
        let ListEntitiesForPolicy { policy_arn, .. } = self;
        policy_permission(tx, op, &opt(policy_arn), Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let ListEntitiesForPolicy {
            policy_arn,
            entity_filter,
            path_prefix,
            marker,
            max_items,
        } = self;
        list_entities(
            tx,
            ctx,
            policy_arn,
            entity_filter,
            path_prefix,
            marker,
            max_items,
        )
        .await
    }
}

input! {
    pub struct TagPolicy {
        policy_arn: Option<String> = string("PolicyArn"),
        tags: Vec<Tag> = tags("Tags"),
    }
}

impl Handler for TagPolicy {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, _ctx: &Ctx<'_>) -> Targeted {
        let TagPolicy { policy_arn, tags } = self;
        policy_permission(tx, op, &opt(policy_arn), request_tag_keys(tags)).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let TagPolicy { policy_arn, tags } = self;
        let mut policy = require_policy(tx, ctx, policy_arn.as_deref()).await?;
        refuse_aws_managed(&policy)?;
        reject_duplicate_tag_keys(&tags)?;
        merge_tags(&mut policy.tags, tags, "TagsPerPolicy")?;
        tx.update_managed_policy(&policy).await?;
        Ok(Output::Empty)
    }
}

input! {
    pub struct UntagPolicy {
        policy_arn: Option<String> = string("PolicyArn"),
        tag_keys: Vec<String> = list("TagKeys"),
    }
}

impl Handler for UntagPolicy {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, _ctx: &Ctx<'_>) -> Targeted {
        let UntagPolicy {
            policy_arn,
            tag_keys,
        } = self;
        let keys = untag_keys(tag_keys);
        policy_permission(tx, op, &opt(policy_arn), keys).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let UntagPolicy {
            policy_arn,
            tag_keys,
        } = self;
        let mut policy = require_policy(tx, ctx, policy_arn.as_deref()).await?;
        refuse_aws_managed(&policy)?;
        remove_tags(&mut policy.tags, &tag_keys);
        tx.update_managed_policy(&policy).await?;
        Ok(Output::Empty)
    }
}

input! {
    pub struct ListPolicyTags {
        policy_arn: Option<String> = string("PolicyArn"),
        marker: Option<String> = string("Marker"),
        max_items: Option<i64> = integer("MaxItems"),
    }
}

impl Handler for ListPolicyTags {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, _ctx: &Ctx<'_>) -> Targeted {
        let ListPolicyTags { policy_arn, .. } = self;
        policy_permission(tx, op, &opt(policy_arn), Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let ListPolicyTags {
            policy_arn,
            marker,
            max_items,
        } = self;
        let policy = require_policy(tx, ctx, policy_arn.as_deref()).await?;
        tags_page(&policy.tags, marker, max_items)
    }
}

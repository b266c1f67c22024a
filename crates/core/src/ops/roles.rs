//! Roles: create (with a trust policy), read, update, delete, list, tags, boundaries.

use keyward_policy::{ParseOptions, PolicyKind};

use crate::error::{ApiError, OpError};
use crate::ids::{self, IdKind};
use crate::model::{EntityKind, Role};
use crate::store::Tx;

use super::policies::check_document;
#[allow(unused_imports)]
use super::*;
use super::{
    Ctx, Output, account_id, decode_marker, merge_tags, opt, page_size, reject_duplicate_tag_keys,
    remove_tags,
};

/// A role's `MaxSessionDuration` when not given: one hour, the least of botocore's
/// `roleMaxSessionDurationType` (one to twelve hours).
pub const MIN_ROLE_SESSION: i64 = 3600;

/// IAM's default quota for a trust policy (`ACLSizePerRole`), white space not counted.
const TRUST_POLICY_QUOTA: usize = 2048;

pub(crate) fn no_such_role(name: &str) -> ApiError {
    ApiError::no_such_entity(format!("The role with name {name} cannot be found."))
}

pub(crate) async fn require_role<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    name: &str,
) -> Result<Role, OpError> {
    tx.get_role(account_id(ctx), name)
        .await?
        .ok_or_else(|| no_such_role(name).into())
}

/// A trust policy must parse as one (IAM's `MalformedPolicyDocument` wording) and fit the quota.
fn check_trust_policy(document: &str, role_name: &str) -> Result<(), ApiError> {
    check_document(
        document,
        PolicyKind::Trust,
        &format!("role/{role_name}/trust"),
        &ParseOptions::default(),
    )?;
    let size = document.chars().filter(|c| !c.is_whitespace()).count();
    if size > TRUST_POLICY_QUOTA {
        return Err(ApiError::limit_exceeded(format!(
            "Cannot exceed quota for ACLSizePerRole: {TRUST_POLICY_QUOTA}"
        )));
    }
    Ok(())
}

fn role_output(ctx: &Ctx<'_>, role: Role) -> Output {
    let arn = role.arn(ctx.partition);
    Output::Role { role, arn }
}

// ── Operation inputs (rows of `table.rs`) ──────────────────────────────────────────────────────

input! {
    pub struct CreateRole {
        role_name: Option<String> = string("RoleName"),
        path: Option<String> = string("Path"),
        assume_role_policy_document: Option<String> = string("AssumeRolePolicyDocument"),
        description: Option<String> = string("Description"),
        max_session_duration: Option<i64> = integer("MaxSessionDuration"),
        permissions_boundary: Option<String> = string("PermissionsBoundary"),
        tags: Vec<Tag> = tags("Tags"),
    }
}

impl Handler for CreateRole {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let CreateRole {
            role_name,
            path,
            permissions_boundary,
            tags,
            ..
        } = self;
        let mut keys = request_tag_keys(tags);
        keys.extend(
            permissions_boundary
                .iter()
                .map(|b| ("iam:PermissionsBoundary".to_owned(), vec![b.clone()])),
        );
        role_permission(tx, ctx, op, &opt(role_name), path.as_deref(), keys).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let CreateRole {
            role_name,
            path,
            assume_role_policy_document,
            description,
            max_session_duration,
            permissions_boundary,
            tags,
        } = self;
        let name = opt(&role_name);
        let document = opt(&assume_role_policy_document);
        reject_duplicate_tag_keys(&tags)?;
        check_trust_policy(&document, &name)?;
        let acct = account_id(ctx);
        if let Some(existing) = tx.get_role(acct, &name).await? {
            return Err(ApiError::entity_already_exists(format!(
                "Role with name {} already exists.",
                existing.name
            ))
            .into());
        }
        if let Some(arn) = &permissions_boundary {
            super::policy_refs::require_boundary(tx, ctx, arn).await?;
        }
        let role = Role {
            account_id: acct.to_owned(),
            role_id: ids::new_id(IdKind::Role)?,
            name,
            path: path.unwrap_or_else(|| "/".to_owned()),
            created: ctx.now,
            assume_role_policy: document,
            description,
            max_session_duration: max_session_duration.unwrap_or(MIN_ROLE_SESSION),
            permissions_boundary,
            tags,
            last_used: None,
        };
        tx.insert_role(&role).await?;
        Ok(role_output(ctx, role))
    }
}

input! {
    pub struct GetRole {
        role_name: Option<String> = string("RoleName"),
    }
}

impl Handler for GetRole {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let GetRole { role_name } = self;
        role_permission(tx, ctx, op, &opt(role_name), None, Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let GetRole { role_name } = self;
        let name = role_name.as_deref().unwrap_or_default();
        let role = require_role(tx, ctx, name).await?;
        Ok(role_output(ctx, role))
    }
}

input! {
    pub struct UpdateRole {
        role_name: Option<String> = string("RoleName"),
        description: Option<String> = string("Description"),
        max_session_duration: Option<i64> = integer("MaxSessionDuration"),
    }
}

impl Handler for UpdateRole {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let UpdateRole { role_name, .. } = self;
        role_permission(tx, ctx, op, &opt(role_name), None, Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let UpdateRole {
            role_name,
            description,
            max_session_duration,
        } = self;
        let name = role_name.as_deref().unwrap_or_default();
        let mut role = require_role(tx, ctx, name).await?;
        if let Some(d) = description {
            role.description = Some(d);
        }
        if let Some(d) = max_session_duration {
            role.max_session_duration = d;
        }
        tx.update_role(&role).await?;
        Ok(Output::Empty)
    }
}

input! {
    pub struct UpdateRoleDescription {
        role_name: Option<String> = string("RoleName"),
        description: Option<String> = string("Description"),
    }
}

impl Handler for UpdateRoleDescription {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let UpdateRoleDescription { role_name, .. } = self;
        role_permission(tx, ctx, op, &opt(role_name), None, Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let UpdateRoleDescription {
            role_name,
            description,
        } = self;
        let name = role_name.as_deref().unwrap_or_default();
        let d = opt(&description);
        let mut role = require_role(tx, ctx, name).await?;
        role.description = Some(d);
        tx.update_role(&role).await?;
        Ok(role_output(ctx, role))
    }
}

input! {
    pub struct UpdateAssumeRolePolicy {
        role_name: Option<String> = string("RoleName"),
        policy_document: Option<String> = string("PolicyDocument"),
    }
}

impl Handler for UpdateAssumeRolePolicy {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let UpdateAssumeRolePolicy { role_name, .. } = self;
        role_permission(tx, ctx, op, &opt(role_name), None, Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let UpdateAssumeRolePolicy {
            role_name,
            policy_document,
        } = self;
        let name = role_name.as_deref().unwrap_or_default();
        let document = opt(&policy_document);
        let mut role = require_role(tx, ctx, name).await?;
        check_trust_policy(&document, &role.name)?;
        role.assume_role_policy = document;
        tx.update_role(&role).await?;
        Ok(Output::Empty)
    }
}

input! {
    pub struct DeleteRole {
        role_name: Option<String> = string("RoleName"),
    }
}

impl Handler for DeleteRole {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let DeleteRole { role_name } = self;
        role_permission(tx, ctx, op, &opt(role_name), None, Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let DeleteRole { role_name } = self;
        let name = role_name.as_deref().unwrap_or_default();
        let role = require_role(tx, ctx, name).await?;
        super::policy_refs::refuse_delete_with_policies(tx, EntityKind::Role, &role.role_id)
            .await?;
        tx.delete_role(&role.role_id).await?;
        Ok(Output::Empty)
    }
}

input! {
    pub struct ListRoles {
        path_prefix: Option<String> = string("PathPrefix"),
        marker: Option<String> = string("Marker"),
        max_items: Option<i64> = integer("MaxItems"),
    }
}

impl Handler for ListRoles {
    async fn target<T: Tx>(&self, op: OpName, _tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        Ok(list_target(ctx, op, "role"))
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let ListRoles {
            path_prefix,
            marker,
            max_items,
        } = self;
        let max = page_size(max_items);
        let after = marker.as_deref().map(decode_marker).transpose()?;
        let prefix = path_prefix.as_deref().unwrap_or("/");
        let roles = tx
            .list_roles(account_id(ctx), prefix, after.as_deref(), max + 1)
            .await?;
        let (roles, page) = keyed_page(roles, max, |r| r.name.clone());
        Ok(Output::Roles {
            roles: with_arns(roles, |r| r.arn(ctx.partition)),
            page,
        })
    }
}

input! {
    pub struct TagRole {
        role_name: Option<String> = string("RoleName"),
        tags: Vec<Tag> = tags("Tags"),
    }
}

impl Handler for TagRole {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let TagRole { role_name, tags } = self;
        role_permission(tx, ctx, op, &opt(role_name), None, request_tag_keys(tags)).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let TagRole { role_name, tags } = self;
        let name = role_name.as_deref().unwrap_or_default();
        reject_duplicate_tag_keys(&tags)?;
        let mut role = require_role(tx, ctx, name).await?;
        merge_tags(&mut role.tags, tags, "TagsPerRole")?;
        tx.update_role(&role).await?;
        Ok(Output::Empty)
    }
}

input! {
    pub struct UntagRole {
        role_name: Option<String> = string("RoleName"),
        tag_keys: Vec<String> = list("TagKeys"),
    }
}

impl Handler for UntagRole {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let UntagRole {
            role_name,
            tag_keys,
        } = self;
        let keys = untag_keys(tag_keys);
        role_permission(tx, ctx, op, &opt(role_name), None, keys).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let UntagRole {
            role_name,
            tag_keys,
        } = self;
        let name = role_name.as_deref().unwrap_or_default();
        let mut role = require_role(tx, ctx, name).await?;
        remove_tags(&mut role.tags, &tag_keys);
        tx.update_role(&role).await?;
        Ok(Output::Empty)
    }
}

input! {
    pub struct ListRoleTags {
        role_name: Option<String> = string("RoleName"),
        marker: Option<String> = string("Marker"),
        max_items: Option<i64> = integer("MaxItems"),
    }
}

impl Handler for ListRoleTags {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let ListRoleTags { role_name, .. } = self;
        role_permission(tx, ctx, op, &opt(role_name), None, Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let ListRoleTags {
            role_name,
            marker,
            max_items,
        } = self;
        let name = role_name.as_deref().unwrap_or_default();
        let role = require_role(tx, ctx, name).await?;
        tags_page(&role.tags, marker, max_items)
    }
}

input! {
    pub struct PutRolePermissionsBoundary {
        role_name: Option<String> = string("RoleName"),
        permissions_boundary: Option<String> = string("PermissionsBoundary"),
    }
}

impl Handler for PutRolePermissionsBoundary {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let PutRolePermissionsBoundary {
            role_name,
            permissions_boundary,
        } = self;
        let keys = permissions_boundary
            .iter()
            .map(|b| ("iam:PermissionsBoundary".to_owned(), vec![b.clone()]))
            .collect();
        role_permission(tx, ctx, op, &opt(role_name), None, keys).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let PutRolePermissionsBoundary {
            role_name,
            permissions_boundary,
        } = self;
        let name = role_name.as_deref().unwrap_or_default();
        let arn = opt(&permissions_boundary);
        let mut role = require_role(tx, ctx, name).await?;
        super::policy_refs::require_boundary(tx, ctx, &arn).await?;
        role.permissions_boundary = Some(arn);
        tx.update_role(&role).await?;
        Ok(Output::Empty)
    }
}

input! {
    pub struct DeleteRolePermissionsBoundary {
        role_name: Option<String> = string("RoleName"),
    }
}

impl Handler for DeleteRolePermissionsBoundary {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let DeleteRolePermissionsBoundary { role_name } = self;
        role_permission(tx, ctx, op, &opt(role_name), None, Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let DeleteRolePermissionsBoundary { role_name } = self;
        let name = role_name.as_deref().unwrap_or_default();
        let mut role = require_role(tx, ctx, name).await?;
        role.permissions_boundary = None;
        tx.update_role(&role).await?;
        Ok(Output::Empty)
    }
}

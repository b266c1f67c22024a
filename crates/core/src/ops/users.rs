//! Users: create, read, update, delete, tags.

use crate::error::{ApiError, OpError};
use crate::ids::{self, IdKind};
use crate::model::{EntityKind, Tag, User};
use crate::principal::Principal;
use crate::store::Tx;

#[allow(unused_imports)]
use super::*;
use super::{
    Ctx, Output, account_id, decode_marker, merge_tags, opt, page_size, reject_duplicate_tag_keys,
    remove_tags,
};

pub(crate) fn no_such_user(name: &str) -> ApiError {
    ApiError::no_such_entity(format!("The user with name {name} cannot be found."))
}

pub(crate) async fn require_user<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    name: &str,
) -> Result<User, OpError> {
    tx.get_user(account_id(ctx), name)
        .await?
        .ok_or_else(|| no_such_user(name).into())
}

pub(super) async fn create_user<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    user_name: Option<String>,
    path: Option<String>,
    permissions_boundary: Option<String>,
    tags: Vec<Tag>,
) -> Result<Output, OpError> {
    let name = opt(&user_name);
    reject_duplicate_tag_keys(&tags)?;
    let acct = account_id(ctx);
    if let Some(existing) = tx.get_user(acct, &name).await? {
        return Err(ApiError::entity_already_exists(format!(
            "User with name {} already exists.",
            existing.name
        ))
        .into());
    }
    if let Some(arn) = &permissions_boundary {
        super::policy_refs::require_boundary(tx, ctx, arn).await?;
    }
    let user = User {
        account_id: acct.to_owned(),
        user_id: ids::new_id(IdKind::User)?,
        name,
        path: path.unwrap_or_else(|| "/".to_owned()),
        created: ctx.now,
        tags,
        permissions_boundary,
        password_last_used: None,
    };
    tx.insert_user(&user).await?;
    let arn = user.arn(ctx.partition);
    Ok(Output::User { user, arn })
}

pub(super) async fn get_user<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    user_name: Option<String>,
) -> Result<Output, OpError> {
    let user = match (user_name, &ctx.caller.principal) {
        (Some(name), _) => require_user(tx, ctx, &name).await?,
        (None, Principal::User(me)) => require_user(tx, ctx, &me.name).await?,
        (None, Principal::AssumedRole { .. } | Principal::FederatedUser { .. }) => {
            return Err(super::non_user_credentials().into());
        }
        (None, Principal::Root { account_id }) => {
            let created = tx
                .list_accounts()
                .await?
                .into_iter()
                .find(|a| &a.id == account_id)
                .map(|a| a.created)
                .unwrap_or(ctx.now);
            return Ok(Output::RootUser {
                account_id: account_id.clone(),
                arn: ctx.caller.principal.arn(ctx.partition),
                created,
            });
        }
    };
    let arn = user.arn(ctx.partition);
    Ok(Output::User { user, arn })
}

pub(super) async fn list_users<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    path_prefix: Option<String>,
    marker: Option<String>,
    max_items: Option<i64>,
) -> Result<Output, OpError> {
    let max = page_size(max_items);
    let after = marker.as_deref().map(decode_marker).transpose()?;
    let prefix = path_prefix.as_deref().unwrap_or("/");
    let users = tx
        .list_users(account_id(ctx), prefix, after.as_deref(), max + 1)
        .await?;
    let (users, page) = keyed_page(users, max, |u| u.name.clone());
    Ok(Output::Users {
        users: with_arns(users, |u| u.arn(ctx.partition)),
        page,
    })
}

pub(super) async fn update_user<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    user_name: Option<String>,
    new_user_name: Option<String>,
    new_path: Option<String>,
) -> Result<Output, OpError> {
    let mut user = require_user(tx, ctx, &opt(&user_name)).await?;
    if let Some(new_name) = new_user_name {
        if let Some(other) = tx.get_user(account_id(ctx), &new_name).await?
            && other.user_id != user.user_id
        {
            return Err(ApiError::entity_already_exists(format!(
                "User with name {new_name} already exists."
            ))
            .into());
        }
        user.name = new_name;
    }
    if let Some(path) = new_path {
        user.path = path;
    }
    tx.update_user(&user).await?;
    Ok(Output::Empty)
}

pub(super) async fn delete_user<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    user_name: Option<String>,
) -> Result<Output, OpError> {
    let user = require_user(tx, ctx, &opt(&user_name)).await?;
    if !tx
        .list_access_keys(account_id(ctx), Some(&user.user_id))
        .await?
        .is_empty()
    {
        return Err(ApiError::delete_conflict(
            "Cannot delete entity, must delete access keys first.",
        )
        .into());
    }
    if tx.get_login_profile(&user.user_id).await?.is_some() {
        return Err(ApiError::delete_conflict(
            "Cannot delete entity, must delete login profile first.",
        )
        .into());
    }
    super::policy_refs::refuse_delete_with_policies(tx, EntityKind::User, &user.user_id).await?;
    if !tx.list_groups_for_user(&user.user_id).await?.is_empty() {
        return Err(ApiError::delete_conflict(
            "Cannot delete entity, must remove users from group first.",
        )
        .into());
    }
    if !tx
        .list_mfa_devices(account_id(ctx), Some(&user.user_id))
        .await?
        .is_empty()
    {
        return Err(ApiError::delete_conflict(
            "Cannot delete entity, must delete MFA device first.",
        )
        .into());
    }
    tx.delete_user(&user.user_id).await?;
    Ok(Output::Empty)
}

pub(super) async fn tag_user<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    user_name: Option<String>,
    tags: Vec<Tag>,
) -> Result<Output, OpError> {
    reject_duplicate_tag_keys(&tags)?;
    let mut user = require_user(tx, ctx, &opt(&user_name)).await?;
    merge_tags(&mut user.tags, tags, "TagsPerUser")?;
    tx.update_user(&user).await?;
    Ok(Output::Empty)
}

pub(super) async fn untag_user<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    user_name: Option<String>,
    tag_keys: Vec<String>,
) -> Result<Output, OpError> {
    let mut user = require_user(tx, ctx, &opt(&user_name)).await?;
    remove_tags(&mut user.tags, &tag_keys);
    tx.update_user(&user).await?;
    Ok(Output::Empty)
}

pub(super) async fn list_user_tags<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    user_name: Option<String>,
    marker: Option<String>,
    max_items: Option<i64>,
) -> Result<Output, OpError> {
    let user = require_user(tx, ctx, &opt(&user_name)).await?;
    tags_page(&user.tags, marker, max_items)
}

// ── Operation inputs (rows of `table.rs`) ──────────────────────────────────────────────────────

input! {
    pub struct CreateUser {
        user_name: Option<String> = string("UserName"),
        path: Option<String> = string("Path"),
        permissions_boundary: Option<String> = string("PermissionsBoundary"),
        tags: Vec<Tag> = tags("Tags"),
    }
}

impl Handler for CreateUser {
    async fn target<T: Tx>(&self, op: OpName, _tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let CreateUser {
            user_name,
            path,
            permissions_boundary,
            tags,
        } = self;
        let name = opt(user_name);
        let mut keys = request_tag_keys(tags);
        keys.extend(
            permissions_boundary
                .iter()
                .map(|b| ("iam:PermissionsBoundary".to_owned(), vec![b.clone()])),
        );
        // The user to be: its ARN from the request's path and name, with no stored user to read
        // (a name already taken is refused after authorisation, as IAM orders it).
        let arn = crate::model::user_arn(
            ctx.partition,
            account_id(ctx),
            path.as_deref().unwrap_or("/"),
            &name,
        );
        Ok(permission(op, arn, keys))
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let CreateUser {
            user_name,
            path,
            permissions_boundary,
            tags,
        } = self;
        create_user(tx, ctx, user_name, path, permissions_boundary, tags).await
    }
}

input! {
    pub struct GetUser {
        user_name: Option<String> = string("UserName"),
    }
}

impl Handler for GetUser {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let GetUser { user_name } = self;
        user_permission(tx, ctx, op, user_name.as_deref(), None, Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let GetUser { user_name } = self;
        get_user(tx, ctx, user_name).await
    }
}

input! {
    pub struct ListUsers {
        path_prefix: Option<String> = string("PathPrefix"),
        marker: Option<String> = string("Marker"),
        max_items: Option<i64> = integer("MaxItems"),
    }
}

impl Handler for ListUsers {
    async fn target<T: Tx>(&self, op: OpName, _tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        Ok(list_target(ctx, op, "user"))
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let ListUsers {
            path_prefix,
            marker,
            max_items,
        } = self;
        list_users(tx, ctx, path_prefix, marker, max_items).await
    }
}

input! {
    pub struct UpdateUser {
        user_name: Option<String> = string("UserName"),
        new_user_name: Option<String> = string("NewUserName"),
        new_path: Option<String> = string("NewPath"),
    }
}

impl Handler for UpdateUser {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let UpdateUser { user_name, .. } = self;
        user_permission(tx, ctx, op, Some(&opt(user_name)), None, Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let UpdateUser {
            user_name,
            new_user_name,
            new_path,
        } = self;
        update_user(tx, ctx, user_name, new_user_name, new_path).await
    }
}

input! {
    pub struct DeleteUser {
        user_name: Option<String> = string("UserName"),
    }
}

impl Handler for DeleteUser {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let DeleteUser { user_name } = self;
        user_permission(tx, ctx, op, Some(&opt(user_name)), None, Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let DeleteUser { user_name } = self;
        delete_user(tx, ctx, user_name).await
    }
}

input! {
    pub struct TagUser {
        user_name: Option<String> = string("UserName"),
        tags: Vec<Tag> = tags("Tags"),
    }
}

impl Handler for TagUser {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let TagUser { user_name, tags } = self;
        user_permission(
            tx,
            ctx,
            op,
            Some(&opt(user_name)),
            None,
            request_tag_keys(tags),
        )
        .await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let TagUser { user_name, tags } = self;
        tag_user(tx, ctx, user_name, tags).await
    }
}

input! {
    pub struct UntagUser {
        user_name: Option<String> = string("UserName"),
        tag_keys: Vec<String> = list("TagKeys"),
    }
}

impl Handler for UntagUser {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let UntagUser {
            user_name,
            tag_keys,
        } = self;
        let keys = untag_keys(tag_keys);
        user_permission(tx, ctx, op, Some(&opt(user_name)), None, keys).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let UntagUser {
            user_name,
            tag_keys,
        } = self;
        untag_user(tx, ctx, user_name, tag_keys).await
    }
}

input! {
    pub struct ListUserTags {
        user_name: Option<String> = string("UserName"),
        marker: Option<String> = string("Marker"),
        max_items: Option<i64> = integer("MaxItems"),
    }
}

impl Handler for ListUserTags {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let ListUserTags { user_name, .. } = self;
        user_permission(tx, ctx, op, Some(&opt(user_name)), None, Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let ListUserTags {
            user_name,
            marker,
            max_items,
        } = self;
        list_user_tags(tx, ctx, user_name, marker, max_items).await
    }
}

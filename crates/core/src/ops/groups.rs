//! Groups and their members.

use crate::error::{ApiError, OpError};
use crate::ids::{self, IdKind};
use crate::model::{EntityKind, Group};
use crate::store::Tx;

use super::users::require_user;
#[allow(unused_imports)]
use super::*;
use super::{Ctx, Output, account_id, decode_marker, marker_offset, page_size, slice_page};

/// Most groups a user may belong to.
pub const GROUPS_PER_USER: usize = 10;

fn no_such_group(name: &str) -> ApiError {
    ApiError::no_such_entity(format!("The group with name {name} cannot be found."))
}

pub(crate) async fn require_group<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    name: &str,
) -> Result<Group, OpError> {
    tx.get_group(account_id(ctx), name)
        .await?
        .ok_or_else(|| no_such_group(name).into())
}

// ── Operation inputs (rows of `table.rs`) ──────────────────────────────────────────────────────

input! {
    pub struct CreateGroup {
        group_name: Option<String> = string("GroupName"),
        path: Option<String> = string("Path"),
    }
}

impl Handler for CreateGroup {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let CreateGroup { group_name, path } = self;
        group_permission(tx, ctx, op, &opt(group_name), path.as_deref(), Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let CreateGroup { group_name, path } = self;
        let name = opt(&group_name);
        if let Some(existing) = tx.get_group(account_id(ctx), &name).await? {
            return Err(ApiError::entity_already_exists(format!(
                "Group with name {} already exists.",
                existing.name
            ))
            .into());
        }
        let group = Group {
            account_id: account_id(ctx).to_owned(),
            group_id: ids::new_id(IdKind::Group)?,
            name,
            path: path.unwrap_or_else(|| "/".to_owned()),
            created: ctx.now,
        };
        tx.insert_group(&group).await?;
        let arn = group.arn(ctx.partition);
        Ok(Output::Group { group, arn })
    }
}

input! {
    pub struct GetGroup {
        group_name: Option<String> = string("GroupName"),
        marker: Option<String> = string("Marker"),
        max_items: Option<i64> = integer("MaxItems"),
    }
}

impl Handler for GetGroup {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let GetGroup { group_name, .. } = self;
        group_permission(tx, ctx, op, &opt(group_name), None, Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let GetGroup {
            group_name,
            marker,
            max_items,
        } = self;
        let name = opt(&group_name);
        let max = page_size(max_items);
        let group = require_group(tx, ctx, &name).await?;
        let after = marker.as_deref().map(decode_marker).transpose()?;
        let users = tx
            .list_group_members(&group.group_id, after.as_deref(), max + 1)
            .await?;
        let (users, page) = keyed_page(users, max, |u| u.name.clone());
        let arn = group.arn(ctx.partition);
        Ok(Output::GroupWithUsers {
            group,
            arn,
            users: with_arns(users, |u| u.arn(ctx.partition)),
            page,
        })
    }
}

input! {
    pub struct UpdateGroup {
        group_name: Option<String> = string("GroupName"),
        new_group_name: Option<String> = string("NewGroupName"),
        new_path: Option<String> = string("NewPath"),
    }
}

impl Handler for UpdateGroup {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let UpdateGroup { group_name, .. } = self;
        group_permission(tx, ctx, op, &opt(group_name), None, Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let UpdateGroup {
            group_name,
            new_group_name,
            new_path,
        } = self;
        let name = opt(&group_name);
        let mut group = require_group(tx, ctx, &name).await?;
        if let Some(new_name) = new_group_name {
            if let Some(other) = tx.get_group(account_id(ctx), &new_name).await?
                && other.group_id != group.group_id
            {
                return Err(ApiError::entity_already_exists(format!(
                    "Group with name {new_name} already exists."
                ))
                .into());
            }
            group.name = new_name;
        }
        if let Some(path) = new_path {
            group.path = path;
        }
        tx.update_group(&group).await?;
        Ok(Output::Empty)
    }
}

input! {
    pub struct DeleteGroup {
        group_name: Option<String> = string("GroupName"),
    }
}

impl Handler for DeleteGroup {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let DeleteGroup { group_name } = self;
        group_permission(tx, ctx, op, &opt(group_name), None, Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let DeleteGroup { group_name } = self;
        let name = opt(&group_name);
        let group = require_group(tx, ctx, &name).await?;
        if !tx
            .list_group_members(&group.group_id, None, 1)
            .await?
            .is_empty()
        {
            return Err(ApiError::delete_conflict(
                "Cannot delete entity, must remove users from group first.",
            )
            .into());
        }
        super::policy_refs::refuse_delete_with_policies(tx, EntityKind::Group, &group.group_id)
            .await?;
        tx.delete_group(&group.group_id).await?;
        Ok(Output::Empty)
    }
}

input! {
    pub struct ListGroups {
        path_prefix: Option<String> = string("PathPrefix"),
        marker: Option<String> = string("Marker"),
        max_items: Option<i64> = integer("MaxItems"),
    }
}

impl Handler for ListGroups {
    async fn target<T: Tx>(&self, op: OpName, _tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        Ok(list_target(ctx, op, "group"))
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let ListGroups {
            path_prefix,
            marker,
            max_items,
        } = self;
        let max = page_size(max_items);
        let after = marker.as_deref().map(decode_marker).transpose()?;
        let prefix = path_prefix.as_deref().unwrap_or("/");
        let groups = tx
            .list_groups(account_id(ctx), prefix, after.as_deref(), max + 1)
            .await?;
        let (groups, page) = keyed_page(groups, max, |g| g.name.clone());
        Ok(Output::Groups {
            groups: with_arns(groups, |g| g.arn(ctx.partition)),
            page,
        })
    }
}

input! {
    pub struct AddUserToGroup {
        group_name: Option<String> = string("GroupName"),
        user_name: Option<String> = string("UserName"),
    }
}

impl Handler for AddUserToGroup {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let AddUserToGroup { group_name, .. } = self;
        group_permission(tx, ctx, op, &opt(group_name), None, Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let AddUserToGroup {
            group_name,
            user_name,
        } = self;
        let gname = opt(&group_name);
        let uname = opt(&user_name);
        let group = require_group(tx, ctx, &gname).await?;
        let user = require_user(tx, ctx, &uname).await?;
        let current = tx.list_groups_for_user(&user.user_id).await?;
        if !current.iter().any(|g| g.group_id == group.group_id) {
            if current.len() >= GROUPS_PER_USER {
                return Err(ApiError::limit_exceeded(format!(
                    "Cannot exceed quota for GroupsPerUser: {GROUPS_PER_USER}"
                ))
                .into());
            }
            tx.add_group_member(&group.group_id, &user.user_id).await?;
        }
        Ok(Output::Empty)
    }
}

input! {
    pub struct RemoveUserFromGroup {
        group_name: Option<String> = string("GroupName"),
        user_name: Option<String> = string("UserName"),
    }
}

impl Handler for RemoveUserFromGroup {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let RemoveUserFromGroup { group_name, .. } = self;
        group_permission(tx, ctx, op, &opt(group_name), None, Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let RemoveUserFromGroup {
            group_name,
            user_name,
        } = self;
        let gname = opt(&group_name);
        let uname = opt(&user_name);
        let group = require_group(tx, ctx, &gname).await?;
        let user = require_user(tx, ctx, &uname).await?;
        if !tx
            .remove_group_member(&group.group_id, &user.user_id)
            .await?
        {
            return Err(ApiError::no_such_entity(format!(
                "The user with name {} cannot be found.",
                user.name
            ))
            .into());
        }
        Ok(Output::Empty)
    }
}

input! {
    pub struct ListGroupsForUser {
        user_name: Option<String> = string("UserName"),
        marker: Option<String> = string("Marker"),
        max_items: Option<i64> = integer("MaxItems"),
    }
}

impl Handler for ListGroupsForUser {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let ListGroupsForUser { user_name, .. } = self;
        user_permission(tx, ctx, op, Some(&opt(user_name)), None, Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let ListGroupsForUser {
            user_name,
            marker,
            max_items,
        } = self;
        let uname = opt(&user_name);
        let max = page_size(max_items);
        let user = require_user(tx, ctx, &uname).await?;
        let groups = with_arns(tx.list_groups_for_user(&user.user_id).await?, |g| {
            g.arn(ctx.partition)
        });
        let (groups, page) = slice_page(&groups, marker_offset(marker.as_deref())?, max);
        Ok(Output::Groups { groups, page })
    }
}

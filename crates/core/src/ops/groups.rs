//! Groups and their members.

use crate::error::{ApiError, OpError};
use crate::ids::{self, IdKind};
use crate::model::{EntityKind, Group};
use crate::store::Tx;

use super::users::require_user;
#[allow(unused_imports)]
use super::*;
use super::{
    Ctx, Output, Page, account_id, decode_marker, encode_marker, marker_offset, page_size,
    slice_page,
};

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

fn with_arns(ctx: &Ctx<'_>, groups: Vec<Group>) -> Vec<(Group, String)> {
    groups
        .into_iter()
        .map(|g| {
            let arn = g.arn(ctx.partition);
            (g, arn)
        })
        .collect()
}

// ── Operation inputs (rows of `table.rs`) ──────────────────────────────────────────────────────

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateGroup {
    pub group_name: Option<String>,
    pub path: Option<String>,
}

impl Handler for CreateGroup {
    fn decode(m: &dyn Members) -> Result<Self, ApiError> {
        Ok(CreateGroup {
            group_name: m.string("GroupName"),
            path: m.string("Path"),
        })
    }

    async fn target<T: Tx>(
        &self,
        op: OpName,
        tx: &mut T,
        ctx: &Ctx<'_>,
    ) -> Result<Target, OpError> {
        let CreateGroup { group_name, path } = self;
        group_permission(tx, ctx, op, &opt(group_name), path.as_deref(), Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Result<Output, OpError> {
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetGroup {
    pub group_name: Option<String>,
    pub marker: Option<String>,
    pub max_items: Option<i64>,
}

impl Handler for GetGroup {
    fn decode(m: &dyn Members) -> Result<Self, ApiError> {
        Ok(GetGroup {
            group_name: m.string("GroupName"),
            marker: m.string("Marker"),
            max_items: m.integer("MaxItems")?,
        })
    }

    async fn target<T: Tx>(
        &self,
        op: OpName,
        tx: &mut T,
        ctx: &Ctx<'_>,
    ) -> Result<Target, OpError> {
        let GetGroup { group_name, .. } = self;
        group_permission(tx, ctx, op, &opt(group_name), None, Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Result<Output, OpError> {
        let GetGroup {
            group_name,
            marker,
            max_items,
        } = self;
        let name = opt(&group_name);
        let max = page_size(max_items);
        let group = require_group(tx, ctx, &name).await?;
        let after = marker.as_deref().map(decode_marker).transpose()?;
        let mut users = tx
            .list_group_members(&group.group_id, after.as_deref(), max + 1)
            .await?;
        let is_truncated = users.len() > max;
        users.truncate(max);
        let marker = if is_truncated {
            users.last().map(|u| encode_marker(&u.name))
        } else {
            None
        };
        let users = users
            .into_iter()
            .map(|u| {
                let arn = u.arn(ctx.partition);
                (u, arn)
            })
            .collect();
        let arn = group.arn(ctx.partition);
        Ok(Output::GroupWithUsers {
            group,
            arn,
            users,
            page: Page {
                is_truncated,
                marker,
            },
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateGroup {
    pub group_name: Option<String>,
    pub new_group_name: Option<String>,
    pub new_path: Option<String>,
}

impl Handler for UpdateGroup {
    fn decode(m: &dyn Members) -> Result<Self, ApiError> {
        Ok(UpdateGroup {
            group_name: m.string("GroupName"),
            new_group_name: m.string("NewGroupName"),
            new_path: m.string("NewPath"),
        })
    }

    async fn target<T: Tx>(
        &self,
        op: OpName,
        tx: &mut T,
        ctx: &Ctx<'_>,
    ) -> Result<Target, OpError> {
        let UpdateGroup { group_name, .. } = self;
        group_permission(tx, ctx, op, &opt(group_name), None, Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Result<Output, OpError> {
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteGroup {
    pub group_name: Option<String>,
}

impl Handler for DeleteGroup {
    fn decode(m: &dyn Members) -> Result<Self, ApiError> {
        Ok(DeleteGroup {
            group_name: m.string("GroupName"),
        })
    }

    async fn target<T: Tx>(
        &self,
        op: OpName,
        tx: &mut T,
        ctx: &Ctx<'_>,
    ) -> Result<Target, OpError> {
        let DeleteGroup { group_name } = self;
        group_permission(tx, ctx, op, &opt(group_name), None, Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Result<Output, OpError> {
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListGroups {
    pub path_prefix: Option<String>,
    pub marker: Option<String>,
    pub max_items: Option<i64>,
}

impl Handler for ListGroups {
    fn decode(m: &dyn Members) -> Result<Self, ApiError> {
        Ok(ListGroups {
            path_prefix: m.string("PathPrefix"),
            marker: m.string("Marker"),
            max_items: m.integer("MaxItems")?,
        })
    }

    async fn target<T: Tx>(
        &self,
        op: OpName,
        _tx: &mut T,
        ctx: &Ctx<'_>,
    ) -> Result<Target, OpError> {
        Ok(list_target(ctx, op, "group"))
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Result<Output, OpError> {
        let ListGroups {
            path_prefix,
            marker,
            max_items,
        } = self;
        let max = page_size(max_items);
        let after = marker.as_deref().map(decode_marker).transpose()?;
        let prefix = path_prefix.as_deref().unwrap_or("/");
        let mut groups = tx
            .list_groups(account_id(ctx), prefix, after.as_deref(), max + 1)
            .await?;
        let is_truncated = groups.len() > max;
        groups.truncate(max);
        let marker = if is_truncated {
            groups.last().map(|g| encode_marker(&g.name))
        } else {
            None
        };
        Ok(Output::Groups {
            groups: with_arns(ctx, groups),
            page: Page {
                is_truncated,
                marker,
            },
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddUserToGroup {
    pub group_name: Option<String>,
    pub user_name: Option<String>,
}

impl Handler for AddUserToGroup {
    fn decode(m: &dyn Members) -> Result<Self, ApiError> {
        Ok(AddUserToGroup {
            group_name: m.string("GroupName"),
            user_name: m.string("UserName"),
        })
    }

    async fn target<T: Tx>(
        &self,
        op: OpName,
        tx: &mut T,
        ctx: &Ctx<'_>,
    ) -> Result<Target, OpError> {
        let AddUserToGroup { group_name, .. } = self;
        group_permission(tx, ctx, op, &opt(group_name), None, Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Result<Output, OpError> {
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoveUserFromGroup {
    pub group_name: Option<String>,
    pub user_name: Option<String>,
}

impl Handler for RemoveUserFromGroup {
    fn decode(m: &dyn Members) -> Result<Self, ApiError> {
        Ok(RemoveUserFromGroup {
            group_name: m.string("GroupName"),
            user_name: m.string("UserName"),
        })
    }

    async fn target<T: Tx>(
        &self,
        op: OpName,
        tx: &mut T,
        ctx: &Ctx<'_>,
    ) -> Result<Target, OpError> {
        let RemoveUserFromGroup { group_name, .. } = self;
        group_permission(tx, ctx, op, &opt(group_name), None, Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Result<Output, OpError> {
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListGroupsForUser {
    pub user_name: Option<String>,
    pub marker: Option<String>,
    pub max_items: Option<i64>,
}

impl Handler for ListGroupsForUser {
    fn decode(m: &dyn Members) -> Result<Self, ApiError> {
        Ok(ListGroupsForUser {
            user_name: m.string("UserName"),
            marker: m.string("Marker"),
            max_items: m.integer("MaxItems")?,
        })
    }

    async fn target<T: Tx>(
        &self,
        op: OpName,
        tx: &mut T,
        ctx: &Ctx<'_>,
    ) -> Result<Target, OpError> {
        let ListGroupsForUser { user_name, .. } = self;
        user_permission(tx, ctx, op, Some(&opt(user_name)), None, Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Result<Output, OpError> {
        let ListGroupsForUser {
            user_name,
            marker,
            max_items,
        } = self;
        let uname = opt(&user_name);
        let max = page_size(max_items);
        let user = require_user(tx, ctx, &uname).await?;
        let groups = with_arns(ctx, tx.list_groups_for_user(&user.user_id).await?);
        let (groups, page) = slice_page(&groups, marker_offset(marker.as_deref())?, max);
        Ok(Output::Groups { groups, page })
    }
}

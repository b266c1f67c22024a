//! Managed-policy attachments, inline policies and permissions boundaries of users, groups and
//! roles.

use keyward_policy::{ParseOptions, PolicyKind};

use crate::error::{ApiError, OpError};
use crate::model::EntityKind;
use crate::store::Tx;

use super::groups::require_group;
use super::policies::check_document;
use super::policy_refs::{require_attachable, require_boundary};
use super::roles::require_role;
use super::users::require_user;
#[allow(unused_imports)]
use super::*;
use super::{Ctx, Output, marker_offset, opt, page_size, slice_page};
use std::marker::PhantomData;

/// Most managed policies attached to one user, group or role.
pub const POLICIES_PER_ENTITY: usize = 10;

/// An addressed user or group: its unique ID and its name as stored.
struct Entity {
    kind: EntityKind,
    id: String,
    name: String,
}

/// IAM's quotas for the aggregate size of an entity's inline policies (characters, white space
/// not counted) and the noun its messages use.
fn inline_quota(kind: EntityKind) -> usize {
    match kind {
        EntityKind::User => 2048,
        EntityKind::Group => 5120,
        EntityKind::Role => 10240,
    }
}

fn quota_name(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::User => "PoliciesPerUser",
        EntityKind::Group => "PoliciesPerGroup",
        EntityKind::Role => "PoliciesPerRole",
    }
}

fn non_whitespace_len(s: &str) -> usize {
    s.chars().filter(|c| !c.is_whitespace()).count()
}

/// Finds the entity a request names.
async fn require_entity<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    kind: EntityKind,
    name: Option<&str>,
) -> Result<Entity, OpError> {
    let n = name.unwrap_or_default();
    match kind {
        EntityKind::Group => {
            let g = require_group(tx, ctx, n).await?;
            Ok(Entity {
                kind,
                id: g.group_id,
                name: g.name,
            })
        }
        EntityKind::Role => {
            let r = require_role(tx, ctx, n).await?;
            Ok(Entity {
                kind,
                id: r.role_id,
                name: r.name,
            })
        }
        EntityKind::User => {
            let u = require_user(tx, ctx, n).await?;
            Ok(Entity {
                kind,
                id: u.user_id,
                name: u.name,
            })
        }
    }
}

fn no_such_inline(kind: EntityKind, policy_name: &str) -> ApiError {
    ApiError::no_such_entity(format!(
        "The {} policy with name {policy_name} cannot be found.",
        kind.as_str()
    ))
}

/// Which entity an attachment or inline-policy operation is for (`AttachUserPolicy`,
/// `AttachGroupPolicy`, `AttachRolePolicy` share one input type and one handler).
pub trait EntityType: std::fmt::Debug + Clone + PartialEq + Eq + Send + Sync + 'static {
    const KIND: EntityKind;
    /// The member that names the entity (`UserName`, `GroupName`, `RoleName`).
    const NAME_MEMBER: &'static str;
}

/// The user operations of the family (`AttachUserPolicy`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfUser;
/// The group operations of the family (`AttachGroupPolicy`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfGroup;
/// The role operations of the family (`AttachRolePolicy`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfRole;

impl EntityType for OfUser {
    const KIND: EntityKind = EntityKind::User;
    const NAME_MEMBER: &'static str = "UserName";
}

impl EntityType for OfGroup {
    const KIND: EntityKind = EntityKind::Group;
    const NAME_MEMBER: &'static str = "GroupName";
}

impl EntityType for OfRole {
    const KIND: EntityKind = EntityKind::Role;
    const NAME_MEMBER: &'static str = "RoleName";
}

/// The permission an operation on the entity `E` named `name` needs.
async fn entity_permission<E: EntityType, T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    op: OpName,
    name: &Option<String>,
    keys: Vec<(String, Vec<String>)>,
) -> Targeted {
    let name = opt(name);
    match E::KIND {
        EntityKind::Group => group_permission(tx, ctx, op, &name, None, keys).await,
        EntityKind::Role => role_permission(tx, ctx, op, &name, None, keys).await,
        EntityKind::User => user_permission(tx, ctx, op, Some(&name), None, keys).await,
    }
}

/// Declares the input of an operation on the entity `E`, like `input!`, with the member that names
/// the entity (`E::NAME_MEMBER`) first.
macro_rules! entity_input {
    (
        pub struct $name:ident {
            $($field:ident: $ty:ty = $how:ident($($arg:expr),+)),* $(,)?
        }
    ) => {
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name<E: EntityType> {
            pub entity_name: Option<String>,
            $(pub $field: $ty,)*
            pub entity: PhantomData<E>,
        }

        impl<E: EntityType> Decode for $name<E> {
            fn decode(m: &dyn Members) -> Result<Self, ApiError> {
                Ok($name {
                    entity_name: m.string(E::NAME_MEMBER),
                    $($field: member!(m, $how, $($arg),+),)*
                    entity: PhantomData,
                })
            }
        }
    };
}

// ── Operation inputs (rows of `table.rs`) ──────────────────────────────────────────────────────

entity_input! {
    pub struct AttachPolicy {
        policy_arn: Option<String> = string("PolicyArn"),
    }
}

impl<E: EntityType> Handler for AttachPolicy<E> {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let keys = policy_arn_key(&self.policy_arn);
        entity_permission::<E, T>(tx, ctx, op, &self.entity_name, keys).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let AttachPolicy {
            entity_name,
            policy_arn,
            ..
        } = self;
        let arn = opt(&policy_arn);
        let e = require_entity(tx, ctx, E::KIND, entity_name.as_deref()).await?;
        require_attachable(tx, ctx, &arn).await?;
        let attached = tx.list_attached_policies(e.kind, &e.id).await?;
        if !attached.iter().any(|a| a.arn == arn) {
            if attached.len() >= POLICIES_PER_ENTITY {
                return Err(ApiError::limit_exceeded(format!(
                    "Cannot exceed quota for {}: {POLICIES_PER_ENTITY}",
                    quota_name(e.kind)
                ))
                .into());
            }
            tx.attach_policy(e.kind, &e.id, &arn).await?;
        }
        Ok(Output::Empty)
    }
}

entity_input! {
    pub struct DetachPolicy {
        policy_arn: Option<String> = string("PolicyArn"),
    }
}

impl<E: EntityType> Handler for DetachPolicy<E> {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let keys = policy_arn_key(&self.policy_arn);
        entity_permission::<E, T>(tx, ctx, op, &self.entity_name, keys).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let DetachPolicy {
            entity_name,
            policy_arn,
            ..
        } = self;
        let arn = opt(&policy_arn);
        let e = require_entity(tx, ctx, E::KIND, entity_name.as_deref()).await?;
        if !tx.detach_policy(e.kind, &e.id, &arn).await? {
            return Err(ApiError::no_such_entity(format!("Policy {arn} was not found.")).into());
        }
        Ok(Output::Empty)
    }
}

entity_input! {
    pub struct ListAttachedPolicies {
        path_prefix: Option<String> = string("PathPrefix"),
        marker: Option<String> = string("Marker"),
        max_items: Option<i64> = integer("MaxItems"),
    }
}

impl<E: EntityType> Handler for ListAttachedPolicies<E> {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        entity_permission::<E, T>(tx, ctx, op, &self.entity_name, Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let ListAttachedPolicies {
            entity_name,
            path_prefix,
            marker,
            max_items,
            ..
        } = self;
        let max = page_size(max_items);
        let e = require_entity(tx, ctx, E::KIND, entity_name.as_deref()).await?;
        let mut attached = tx.list_attached_policies(e.kind, &e.id).await?;
        if let Some(prefix) = path_prefix.as_deref().filter(|p| *p != "/") {
            let mut kept = Vec::with_capacity(attached.len());
            for a in attached {
                if tx
                    .get_managed_policy(&a.arn)
                    .await?
                    .is_some_and(|p| p.path.starts_with(prefix))
                {
                    kept.push(a);
                }
            }
            attached = kept;
        }
        let (policies, page) = slice_page(&attached, marker_offset(marker.as_deref())?, max);
        Ok(Output::AttachedPolicies { policies, page })
    }
}

entity_input! {
    pub struct PutInlinePolicy {
        policy_name: Option<String> = string("PolicyName"),
        policy_document: Option<String> = string("PolicyDocument"),
    }
}

impl<E: EntityType> Handler for PutInlinePolicy<E> {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        entity_permission::<E, T>(tx, ctx, op, &self.entity_name, Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let PutInlinePolicy {
            entity_name,
            policy_name,
            policy_document,
            ..
        } = self;
        let name = opt(&policy_name);
        let document = opt(&policy_document);
        let e = require_entity(tx, ctx, E::KIND, entity_name.as_deref()).await?;
        let id = format!("{}/{}/inline/{name}", e.kind.as_str(), e.name);
        check_document(
            &document,
            PolicyKind::Identity,
            &id,
            &ParseOptions::default(),
        )?;
        let mut total = non_whitespace_len(&document);
        for other in tx.list_inline_policies(e.kind, &e.id).await? {
            if other != name
                && let Some(doc) = tx.get_inline_policy(e.kind, &e.id, &other).await?
            {
                total += non_whitespace_len(&doc);
            }
        }
        let quota = inline_quota(e.kind);
        if total > quota {
            return Err(ApiError::limit_exceeded(format!(
                "Maximum policy size of {quota} bytes exceeded for {} {}",
                e.kind.as_str(),
                e.name
            ))
            .into());
        }
        tx.put_inline_policy(e.kind, &e.id, &name, &document)
            .await?;
        Ok(Output::Empty)
    }
}

entity_input! {
    pub struct GetInlinePolicy {
        policy_name: Option<String> = string("PolicyName"),
    }
}

impl<E: EntityType> Handler for GetInlinePolicy<E> {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        entity_permission::<E, T>(tx, ctx, op, &self.entity_name, Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let GetInlinePolicy {
            entity_name,
            policy_name,
            ..
        } = self;
        let name = opt(&policy_name);
        let e = require_entity(tx, ctx, E::KIND, entity_name.as_deref()).await?;
        let document = tx
            .get_inline_policy(e.kind, &e.id, &name)
            .await?
            .ok_or_else(|| no_such_inline(e.kind, &name))?;
        Ok(Output::InlinePolicy {
            entity: e.kind,
            entity_name: e.name,
            policy_name: name,
            document,
        })
    }
}

entity_input! {
    pub struct DeleteInlinePolicy {
        policy_name: Option<String> = string("PolicyName"),
    }
}

impl<E: EntityType> Handler for DeleteInlinePolicy<E> {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        entity_permission::<E, T>(tx, ctx, op, &self.entity_name, Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let DeleteInlinePolicy {
            entity_name,
            policy_name,
            ..
        } = self;
        let name = opt(&policy_name);
        let e = require_entity(tx, ctx, E::KIND, entity_name.as_deref()).await?;
        if !tx.delete_inline_policy(e.kind, &e.id, &name).await? {
            return Err(no_such_inline(e.kind, &name).into());
        }
        Ok(Output::Empty)
    }
}

entity_input! {
    pub struct ListInlinePolicies {
        marker: Option<String> = string("Marker"),
        max_items: Option<i64> = integer("MaxItems"),
    }
}

impl<E: EntityType> Handler for ListInlinePolicies<E> {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        entity_permission::<E, T>(tx, ctx, op, &self.entity_name, Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let ListInlinePolicies {
            entity_name,
            marker,
            max_items,
            ..
        } = self;
        let max = page_size(max_items);
        let e = require_entity(tx, ctx, E::KIND, entity_name.as_deref()).await?;
        let names = tx.list_inline_policies(e.kind, &e.id).await?;
        let (names, page) = slice_page(&names, marker_offset(marker.as_deref())?, max);
        Ok(Output::PolicyNames { names, page })
    }
}

input! {
    pub struct PutUserPermissionsBoundary {
        user_name: Option<String> = string("UserName"),
        permissions_boundary: Option<String> = string("PermissionsBoundary"),
    }
}

impl Handler for PutUserPermissionsBoundary {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let PutUserPermissionsBoundary {
            user_name,
            permissions_boundary,
        } = self;
        let keys = permissions_boundary
            .iter()
            .map(|b| ("iam:PermissionsBoundary".to_owned(), vec![b.clone()]))
            .collect();
        user_permission(tx, ctx, op, Some(&opt(user_name)), None, keys).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let PutUserPermissionsBoundary {
            user_name,
            permissions_boundary,
        } = self;
        let arn = opt(&permissions_boundary);
        let e = require_entity(tx, ctx, EntityKind::User, user_name.as_deref()).await?;
        require_boundary(tx, ctx, &arn).await?;
        let mut user = require_user(tx, ctx, &e.name).await?;
        user.permissions_boundary = Some(arn);
        tx.update_user(&user).await?;
        Ok(Output::Empty)
    }
}

input! {
    pub struct DeleteUserPermissionsBoundary {
        user_name: Option<String> = string("UserName"),
    }
}

impl Handler for DeleteUserPermissionsBoundary {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let DeleteUserPermissionsBoundary { user_name } = self;
        user_permission(tx, ctx, op, Some(&opt(user_name)), None, Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let DeleteUserPermissionsBoundary { user_name } = self;
        let e = require_entity(tx, ctx, EntityKind::User, user_name.as_deref()).await?;
        let mut user = require_user(tx, ctx, &e.name).await?;
        user.permissions_boundary = None;
        tx.update_user(&user).await?;
        Ok(Output::Empty)
    }
}

//! Access keys: create, list, activate/deactivate, delete.

use time::OffsetDateTime;

use crate::crypto::MasterKey;
use crate::error::{ApiError, OpError};
use crate::ids::{self, IdKind};
use crate::model::{AccessKey, KeyStatus, User};
use crate::principal::Principal;
use crate::store::Tx;
use crate::validate::Validator;
use keyward_sigv4::SecretKey;

use super::users::require_user;
#[allow(unused_imports)]
use super::*;
use super::{
    ACCESS_KEYS_PER_USER, Ctx, Output, account_id, marker_offset, opt, page_size, slice_page,
};

/// The key owner a key operation addresses: the named user, or the caller itself.
async fn key_owner<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    user_name: Option<&str>,
) -> Result<Option<User>, OpError> {
    match (user_name, &ctx.caller.principal) {
        (Some(name), _) => Ok(Some(require_user(tx, ctx, name).await?)),
        (None, Principal::User(me)) => Ok(Some(require_user(tx, ctx, &me.name).await?)),
        (None, Principal::Root { .. }) => Ok(None),
        (None, _) => Err(super::non_user_credentials().into()),
    }
}

pub(super) async fn create_access_key<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    user_name: Option<String>,
) -> Result<Output, OpError> {
    let owner = key_owner(tx, ctx, user_name.as_deref()).await?;
    let owner_id = owner.as_ref().map(|u| u.user_id.as_str());
    let existing = tx.list_access_keys(account_id(ctx), owner_id).await?;
    if existing.len() >= ACCESS_KEYS_PER_USER {
        return Err(ApiError::limit_exceeded(format!(
            "Cannot exceed quota for AccessKeysPerUser: {ACCESS_KEYS_PER_USER}"
        ))
        .into());
    }
    let (key, secret) = new_access_key(ctx.master_key, account_id(ctx), owner_id, ctx.now)?;
    tx.insert_access_key(&key).await?;
    Ok(Output::AccessKeyCreated {
        user_name: owner.map(|u| u.name),
        key,
        secret,
    })
}

/// Makes a fresh key pair with its secret sealed under the master key.
pub fn new_access_key(
    master_key: &MasterKey,
    account_id: &str,
    user_id: Option<&str>,
    now: OffsetDateTime,
) -> Result<(AccessKey, SecretKey), OpError> {
    let access_key_id = ids::new_id(IdKind::LongTermKey)?;
    let secret = SecretKey::new(ids::new_secret_access_key()?);
    let sealed_secret = master_key.seal(secret.expose().as_bytes(), &access_key_id)?;
    Ok((
        AccessKey {
            access_key_id,
            account_id: account_id.to_owned(),
            user_id: user_id.map(str::to_owned),
            status: KeyStatus::Active,
            created: now,
            sealed_secret,
            last_used: None,
        },
        secret,
    ))
}

pub(super) async fn list_access_keys<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    user_name: Option<String>,
    marker: Option<String>,
    max_items: Option<i64>,
) -> Result<Output, OpError> {
    let max = page_size(max_items);
    let owner = key_owner(tx, ctx, user_name.as_deref()).await?;
    let keys = tx
        .list_access_keys(account_id(ctx), owner.as_ref().map(|u| u.user_id.as_str()))
        .await?;
    let (keys, page) = slice_page(&keys, marker_offset(marker.as_deref())?, max);
    Ok(Output::AccessKeys {
        user_name: owner.map(|u| u.name),
        keys,
        page,
    })
}

/// Finds a key that belongs to the addressed owner, or AWS's `NoSuchEntity`.
async fn owned_key<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    user_name: Option<&str>,
    access_key_id: &str,
) -> Result<AccessKey, OpError> {
    let owner = key_owner(tx, ctx, user_name).await?;
    let owner_id = owner.as_ref().map(|u| u.user_id.clone());
    match tx.get_access_key(access_key_id).await? {
        Some(k) if k.account_id == account_id(ctx) && k.user_id == owner_id => Ok(k),
        _ => Err(ApiError::no_such_entity(format!(
            "The Access Key with id {access_key_id} cannot be found."
        ))
        .into()),
    }
}

pub(super) async fn update_access_key<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    user_name: Option<String>,
    access_key_id: Option<String>,
    status: Option<String>,
) -> Result<Output, OpError> {
    // botocore's statusType also has `Expired`, which a key cannot be set to: refused in the
    // generated validators' words with the values it can take.
    let status_text = status.as_deref().unwrap_or_default();
    let mut v = Validator::new();
    v.one_of("status", status_text, &["Active", "Inactive"]);
    v.finish()?;
    let new_status = KeyStatus::parse(status_text).ok_or_else(ApiError::internal)?;
    let key = owned_key(tx, ctx, user_name.as_deref(), &opt(&access_key_id)).await?;
    tx.set_access_key_status(&key.access_key_id, new_status)
        .await?;
    Ok(Output::Empty)
}

pub(super) async fn delete_access_key<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    user_name: Option<String>,
    access_key_id: Option<String>,
) -> Result<Output, OpError> {
    let key = owned_key(tx, ctx, user_name.as_deref(), &opt(&access_key_id)).await?;
    tx.delete_access_key(&key.access_key_id).await?;
    Ok(Output::Empty)
}

// ── Operation inputs (rows of `table.rs`) ──────────────────────────────────────────────────────

input! {
    pub struct CreateAccessKey {
        user_name: Option<String> = string("UserName"),
    }
}

impl Handler for CreateAccessKey {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let CreateAccessKey { user_name } = self;
        user_permission(tx, ctx, op, user_name.as_deref(), None, Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let CreateAccessKey { user_name } = self;
        create_access_key(tx, ctx, user_name).await
    }
}

input! {
    pub struct ListAccessKeys {
        user_name: Option<String> = string("UserName"),
        marker: Option<String> = string("Marker"),
        max_items: Option<i64> = integer("MaxItems"),
    }
}

impl Handler for ListAccessKeys {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let ListAccessKeys { user_name, .. } = self;
        user_permission(tx, ctx, op, user_name.as_deref(), None, Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let ListAccessKeys {
            user_name,
            marker,
            max_items,
        } = self;
        list_access_keys(tx, ctx, user_name, marker, max_items).await
    }
}

input! {
    pub struct UpdateAccessKey {
        user_name: Option<String> = string("UserName"),
        access_key_id: Option<String> = string("AccessKeyId"),
        status: Option<String> = string("Status"),
    }
}

impl Handler for UpdateAccessKey {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let UpdateAccessKey { user_name, .. } = self;
        user_permission(tx, ctx, op, user_name.as_deref(), None, Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let UpdateAccessKey {
            user_name,
            access_key_id,
            status,
        } = self;
        update_access_key(tx, ctx, user_name, access_key_id, status).await
    }
}

input! {
    pub struct DeleteAccessKey {
        user_name: Option<String> = string("UserName"),
        access_key_id: Option<String> = string("AccessKeyId"),
    }
}

impl Handler for DeleteAccessKey {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let DeleteAccessKey { user_name, .. } = self;
        user_permission(tx, ctx, op, user_name.as_deref(), None, Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let DeleteAccessKey {
            user_name,
            access_key_id,
        } = self;
        delete_access_key(tx, ctx, user_name, access_key_id).await
    }
}

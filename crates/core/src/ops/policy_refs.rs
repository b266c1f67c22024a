//! What users, groups, roles and attachments share about the managed policies they refer to:
//! whether a policy may be attached or set as a boundary, and the conflict of deleting an entity
//! that still has policies. Below `users`, `groups`, `roles` and `attachments`, which all use it.

use crate::error::{ApiError, OpError};
use crate::model::{AWS_OWNER, EntityKind};
use crate::store::Tx;

use super::{Ctx, account_id};

pub(crate) fn not_attachable(arn: &str) -> ApiError {
    ApiError::no_such_entity(format!("Policy {arn} does not exist or is not attachable."))
}

/// Whether `arn` is a managed policy of this account or an AWS managed one: what may be attached
/// or set as a permissions boundary.
pub(crate) async fn attachable<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    arn: &str,
) -> Result<bool, OpError> {
    Ok(tx
        .get_managed_policy(arn)
        .await?
        .is_some_and(|p| p.account_id == account_id(ctx) || p.account_id == AWS_OWNER))
}

pub(crate) async fn require_attachable<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    arn: &str,
) -> Result<(), OpError> {
    if attachable(tx, ctx, arn).await? {
        Ok(())
    } else {
        Err(not_attachable(arn).into())
    }
}

/// A policy to set as a permissions boundary; IAM calls it the scope when it is missing
/// ("Scope ARN: ARN does not exist or is not attachable.", where attaching says "Policy ARN ...").
pub(crate) async fn require_boundary<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    arn: &str,
) -> Result<(), OpError> {
    if attachable(tx, ctx, arn).await? {
        Ok(())
    } else {
        Err(ApiError::no_such_entity(format!(
            "Scope ARN: {arn} does not exist or is not attachable."
        ))
        .into())
    }
}

/// `DeleteConflict` while an entity still has inline or attached policies, with IAM's messages
/// (inline policies are reported first, as IAM does).
pub(crate) async fn refuse_delete_with_policies<T: Tx>(
    tx: &mut T,
    kind: EntityKind,
    entity_id: &str,
) -> Result<(), OpError> {
    if !tx.list_inline_policies(kind, entity_id).await?.is_empty() {
        return Err(
            ApiError::delete_conflict("Cannot delete entity, must delete policies first.").into(),
        );
    }
    if !tx.list_attached_policies(kind, entity_id).await?.is_empty() {
        return Err(ApiError::delete_conflict(
            "Cannot delete entity, must detach all policies first.",
        )
        .into());
    }
    Ok(())
}

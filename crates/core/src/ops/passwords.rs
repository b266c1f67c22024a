//! Console passwords (login profiles, `ChangePassword`), the account password policy, account
//! aliases, and access-key last use.

use crate::error::{ApiError, OpError};
use crate::model::LoginProfile;
use crate::password::{self, PasswordPolicy, Rules};
use crate::principal::Principal;
use crate::store::Tx;
use crate::validate::Validator;

use super::users::require_user;
#[allow(unused_imports)]
use super::*;
use super::{Ctx, Output, account_id, marker_offset, opt, page_size, slice_page};

pub use crate::password::Password;

fn no_login_profile(user: &str) -> ApiError {
    ApiError::no_such_entity(format!("Login Profile for User {user} cannot be found."))
}

/// The name a password may not be: the account's alias when it has one, else its ID.
async fn account_name<T: Tx>(tx: &mut T, account: &str) -> Result<String, OpError> {
    Ok(tx
        .get_account_alias(account)
        .await?
        .unwrap_or_else(|| account.to_owned()))
}

/// Checks `password` against the account's policy (or AWS's default) and its reuse rule.
async fn check_against_policy<T: Tx>(
    tx: &mut T,
    account: &str,
    user_id: &str,
    password: &str,
) -> Result<(), OpError> {
    let policy = tx.get_password_policy(account).await?;
    let name = account_name(tx, account).await?;
    match &policy {
        Some(p) => Rules::Custom(p).check(password, &name)?,
        None => Rules::Default.check(password, &name)?,
    }
    if let Some(n) = policy.as_ref().and_then(|p| p.password_reuse_prevention) {
        let earlier = tx
            .password_history(user_id, usize::try_from(n).unwrap_or(24))
            .await?;
        if earlier
            .iter()
            .any(|h| password::verify_password(h, password))
        {
            return Err(password::violation().into());
        }
    }
    Ok(())
}

/// Sets a new password on a login profile, remembering the old one for reuse prevention.
async fn set_password<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    profile: &mut LoginProfile,
    new_password: &str,
) -> Result<(), OpError> {
    tx.push_password_history(
        &profile.user_id,
        &profile.password_hash,
        profile.password_changed,
    )
    .await?;
    profile.password_hash = password::hash_password(new_password)?;
    profile.password_changed = ctx.now;
    Ok(())
}

fn no_password_policy(account: &str) -> ApiError {
    ApiError::no_such_entity(format!(
        "The Password Policy with domain name {account} cannot be found."
    ))
}

/// The login profile of the named user (or of the caller when no name is given).
async fn require_profile<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    user_name: Option<String>,
) -> Result<(String, LoginProfile), OpError> {
    // Optional in botocore's model, but only a user's own profile goes without it.
    let mut v = Validator::new();
    let name = match (&user_name, &ctx.caller.principal) {
        (Some(n), _) => n.clone(),
        (None, Principal::User(me)) => me.name.clone(),
        (None, _) => {
            v.required("userName", None);
            String::new()
        }
    };
    v.finish()?;
    let user = require_user(tx, ctx, &name).await?;
    let profile = tx
        .get_login_profile(&user.user_id)
        .await?
        .ok_or_else(|| no_login_profile(&user.name))?;
    Ok((user.name, profile))
}

// ── Operation inputs (rows of `table.rs`) ──────────────────────────────────────────────────────

input! {
    pub struct CreateLoginProfile {
        user_name: Option<String> = string("UserName"),
        password: Option<Password> = password("Password"),
        password_reset_required: bool = boolean("PasswordResetRequired"),
    }
}

impl Handler for CreateLoginProfile {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let CreateLoginProfile { user_name, .. } = self;
        user_permission(tx, ctx, op, user_name.as_deref(), None, Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let acct = account_id(ctx).to_owned();
        let CreateLoginProfile {
            user_name,
            password,
            password_reset_required,
        } = self;
        // Both optional in botocore's model; keyward has no passwordless login profile.
        let mut v = Validator::new();
        let name = v
            .required("userName", user_name.as_deref())
            .unwrap_or_default()
            .to_owned();
        v.required("password", password.as_ref().map(Password::expose));
        v.finish()?;
        let user = require_user(tx, ctx, &name).await?;
        if tx.get_login_profile(&user.user_id).await?.is_some() {
            return Err(ApiError::entity_already_exists(format!(
                "Login Profile for user {} already exists.",
                user.name
            ))
            .into());
        }
        let password = password.ok_or_else(ApiError::internal)?;
        check_against_policy(tx, &acct, &user.user_id, password.expose()).await?;
        let profile = LoginProfile {
            user_id: user.user_id.clone(),
            password_hash: password::hash_password(password.expose())?,
            password_reset_required,
            created: ctx.now,
            password_changed: ctx.now,
        };
        tx.put_login_profile(&profile).await?;
        Ok(Output::LoginProfile {
            user_name: user.name,
            profile,
        })
    }
}

input! {
    pub struct GetLoginProfile {
        user_name: Option<String> = string("UserName"),
    }
}

impl Handler for GetLoginProfile {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let GetLoginProfile { user_name } = self;
        user_permission(tx, ctx, op, user_name.as_deref(), None, Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let GetLoginProfile { user_name } = self;
        let (user, profile) = require_profile(tx, ctx, user_name).await?;
        Ok(Output::LoginProfile {
            user_name: user,
            profile,
        })
    }
}

input! {
    pub struct UpdateLoginProfile {
        user_name: Option<String> = string("UserName"),
        password: Option<Password> = password("Password"),
        password_reset_required: Option<bool> = opt_boolean("PasswordResetRequired"),
    }
}

impl Handler for UpdateLoginProfile {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let UpdateLoginProfile { user_name, .. } = self;
        user_permission(tx, ctx, op, user_name.as_deref(), None, Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let acct = account_id(ctx).to_owned();
        let UpdateLoginProfile {
            user_name,
            password,
            password_reset_required,
        } = self;
        let (_, mut profile) = require_profile(tx, ctx, user_name).await?;
        if let Some(p) = &password {
            check_against_policy(tx, &acct, &profile.user_id, p.expose()).await?;
            set_password(tx, ctx, &mut profile, p.expose()).await?;
        }
        if let Some(r) = password_reset_required {
            profile.password_reset_required = r;
        }
        tx.put_login_profile(&profile).await?;
        Ok(Output::Empty)
    }
}

input! {
    pub struct DeleteLoginProfile {
        user_name: Option<String> = string("UserName"),
    }
}

impl Handler for DeleteLoginProfile {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let DeleteLoginProfile { user_name } = self;
        user_permission(tx, ctx, op, user_name.as_deref(), None, Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let DeleteLoginProfile { user_name } = self;
        let (_, profile) = require_profile(tx, ctx, user_name).await?;
        tx.delete_login_profile(&profile.user_id).await?;
        Ok(Output::Empty)
    }
}

input! {
    pub struct ChangePassword {
        old_password: Option<Password> = password("OldPassword"),
        new_password: Option<Password> = password("NewPassword"),
    }
}

impl Handler for ChangePassword {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        // `AllowUsersToChangePassword` lets every IAM user change their own password without
        // an identity policy (IAM User Guide, "Setting an account password policy").
        let allowed = tx
            .get_password_policy(account_id(ctx))
            .await?
            .is_some_and(|p| p.allow_users_to_change_password);
        if allowed && matches!(ctx.caller.principal, crate::principal::Principal::User(_)) {
            Ok(Target::Unrestricted)
        } else {
            user_permission(tx, ctx, op, None, None, Vec::new()).await
        }
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let acct = account_id(ctx).to_owned();
        let ChangePassword {
            old_password,
            new_password,
        } = self;
        let me = match &ctx.caller.principal {
            Principal::User(u) => u.clone(),
            // Only IAM users have console passwords (AWS: root credentials give InvalidUserType).
            _ => {
                return Err(ApiError::new(
                        "InvalidUserType",
                        400,
                        "The request was rejected because the type of user for the transaction was incorrect.",
                    )
                    .into());
            }
        };
        let (old, new) = match (old_password, new_password) {
            (Some(o), Some(n)) => (o, n),
            _ => return Err(ApiError::internal().into()),
        };
        let mut profile = tx
            .get_login_profile(&me.user_id)
            .await?
            .ok_or_else(|| no_login_profile(&me.name))?;
        if !password::verify_password(&profile.password_hash, old.expose()) {
            return Err(ApiError::access_denied("The old password is incorrect.").into());
        }
        check_against_policy(tx, &acct, &me.user_id, new.expose()).await?;
        set_password(tx, ctx, &mut profile, new.expose()).await?;
        profile.password_reset_required = false;
        tx.put_login_profile(&profile).await?;
        Ok(Output::Empty)
    }
}

input! {
    pub struct UpdateAccountPasswordPolicy {
        minimum_password_length: Option<i64> = integer("MinimumPasswordLength"),
        require_symbols: bool = boolean("RequireSymbols"),
        require_numbers: bool = boolean("RequireNumbers"),
        require_uppercase_characters: bool = boolean("RequireUppercaseCharacters"),
        require_lowercase_characters: bool = boolean("RequireLowercaseCharacters"),
        allow_users_to_change_password: bool = boolean("AllowUsersToChangePassword"),
        max_password_age: Option<i64> = integer("MaxPasswordAge"),
        password_reuse_prevention: Option<i64> = integer("PasswordReusePrevention"),
        hard_expiry: bool = boolean("HardExpiry"),
    }
}

impl Handler for UpdateAccountPasswordPolicy {
    async fn target<T: Tx>(&self, op: OpName, _tx: &mut T, _ctx: &Ctx<'_>) -> Targeted {
        Ok(any_resource(op))
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let acct = account_id(ctx).to_owned();
        let UpdateAccountPasswordPolicy {
            minimum_password_length,
            require_symbols,
            require_numbers,
            require_uppercase_characters,
            require_lowercase_characters,
            allow_users_to_change_password,
            max_password_age,
            password_reuse_prevention,
            hard_expiry,
        } = self;
        // Not a partial update: every omitted parameter takes its default (API reference).
        let d = PasswordPolicy::default();
        let policy = PasswordPolicy {
            minimum_password_length: minimum_password_length
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(d.minimum_password_length),
            require_symbols,
            require_numbers,
            require_uppercase_characters,
            require_lowercase_characters,
            allow_users_to_change_password,
            max_password_age: max_password_age.and_then(|n| u32::try_from(n).ok()),
            password_reuse_prevention: password_reuse_prevention
                .and_then(|n| u32::try_from(n).ok()),
            hard_expiry,
        };
        tx.set_password_policy(&acct, Some(&policy)).await?;
        Ok(Output::Empty)
    }
}

input! {
    pub struct GetAccountPasswordPolicy {}
}

impl Handler for GetAccountPasswordPolicy {
    async fn target<T: Tx>(&self, op: OpName, _tx: &mut T, _ctx: &Ctx<'_>) -> Targeted {
        Ok(any_resource(op))
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let acct = account_id(ctx).to_owned();
        match tx.get_password_policy(&acct).await? {
            Some(policy) => Ok(Output::PasswordPolicy { policy }),
            None => Err(no_password_policy(&acct).into()),
        }
    }
}

input! {
    pub struct DeleteAccountPasswordPolicy {}
}

impl Handler for DeleteAccountPasswordPolicy {
    async fn target<T: Tx>(&self, op: OpName, _tx: &mut T, _ctx: &Ctx<'_>) -> Targeted {
        Ok(any_resource(op))
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let acct = account_id(ctx).to_owned();
        if tx.get_password_policy(&acct).await?.is_none() {
            return Err(no_password_policy(&acct).into());
        }
        tx.set_password_policy(&acct, None).await?;
        Ok(Output::Empty)
    }
}

input! {
    pub struct CreateAccountAlias {
        account_alias: Option<String> = string("AccountAlias"),
    }
}

impl Handler for CreateAccountAlias {
    async fn target<T: Tx>(&self, op: OpName, _tx: &mut T, _ctx: &Ctx<'_>) -> Targeted {
        Ok(any_resource(op))
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let acct = account_id(ctx).to_owned();
        let CreateAccountAlias { account_alias } = self;
        let alias = opt(&account_alias);
        match tx.account_by_alias(&alias).await? {
            Some(owner) if owner == acct => {}
            Some(_) => {
                return Err(ApiError::entity_already_exists(format!(
                    "The account alias {alias} already exists."
                ))
                .into());
            }
            // An account has one alias: a new one replaces it.
            None => tx.set_account_alias(&acct, Some(&alias)).await?,
        }
        Ok(Output::Empty)
    }
}

input! {
    pub struct DeleteAccountAlias {
        account_alias: Option<String> = string("AccountAlias"),
    }
}

impl Handler for DeleteAccountAlias {
    async fn target<T: Tx>(&self, op: OpName, _tx: &mut T, _ctx: &Ctx<'_>) -> Targeted {
        Ok(any_resource(op))
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let acct = account_id(ctx).to_owned();
        let DeleteAccountAlias { account_alias } = self;
        let alias = opt(&account_alias);
        if tx.get_account_alias(&acct).await?.as_deref() != Some(alias.as_str()) {
            return Err(ApiError::no_such_entity(format!(
                "The account alias {alias} cannot be found."
            ))
            .into());
        }
        tx.set_account_alias(&acct, None).await?;
        Ok(Output::Empty)
    }
}

input! {
    pub struct ListAccountAliases {
        marker: Option<String> = string("Marker"),
        max_items: Option<i64> = integer("MaxItems"),
    }
}

impl Handler for ListAccountAliases {
    async fn target<T: Tx>(&self, op: OpName, _tx: &mut T, _ctx: &Ctx<'_>) -> Targeted {
        Ok(any_resource(op))
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let acct = account_id(ctx).to_owned();
        let ListAccountAliases { marker, max_items } = self;
        let max = page_size(max_items);
        let aliases: Vec<String> = tx.get_account_alias(&acct).await?.into_iter().collect();
        let (aliases, page) = slice_page(&aliases, marker_offset(marker.as_deref())?, max);
        Ok(Output::AccountAliases { aliases, page })
    }
}

input! {
    pub struct GetAccessKeyLastUsed {
        access_key_id: Option<String> = string("AccessKeyId"),
    }
}

impl Handler for GetAccessKeyLastUsed {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let GetAccessKeyLastUsed { access_key_id } = self;
        let owner = match tx.get_access_key(&opt(access_key_id)).await? {
            Some(k) if k.account_id == account_id(ctx) => match &k.user_id {
                Some(uid) => tx.get_user_by_id(uid).await?.map(|u| u.name),
                None => None,
            },
            _ => None,
        };
        match owner {
            Some(name) => user_permission(tx, ctx, op, Some(&name), None, Vec::new()).await,
            None => Ok(any_resource(op)),
        }
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let acct = account_id(ctx).to_owned();
        let GetAccessKeyLastUsed { access_key_id } = self;
        let id = opt(&access_key_id);
        let key = match tx.get_access_key(&id).await? {
            Some(k) if k.account_id == acct => k,
            _ => {
                return Err(ApiError::no_such_entity(format!(
                    "The Access Key with id {id} cannot be found."
                ))
                .into());
            }
        };
        let user_name = match &key.user_id {
            Some(uid) => tx.get_user_by_id(uid).await?.map(|u| u.name),
            None => None,
        };
        Ok(Output::AccessKeyLastUsed {
            user_name,
            last_used: key.last_used,
        })
    }
}

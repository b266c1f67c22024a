//! IAM and STS operations: typed input, the target each one acts on, and execution.
//!
//! **Architecture invariant**: [`execute`] is the only public way to run an operation. It resolves
//! the action and resource the operation acts on, asks [`crate::authz::authorize`], and only then
//! reaches the handler. Handlers are private to this module.

use time::OffsetDateTime;

use crate::authz::{AuthzRequest, authorize};
use crate::crypto::MasterKey;
use crate::error::{ApiError, OpError};
use crate::ids::{self, IdKind};
use crate::model::{AccessKey, KeyStatus, Tag, User, user_arn};
use crate::principal::{Caller, Principal};
use crate::store::Tx;
use crate::validate::{self as v, Validator};
use keyward_sigv4::SecretKey;

/// Most access keys a user (or the root user) may have.
pub const ACCESS_KEYS_PER_USER: usize = 2;
/// Most tags on an IAM entity.
pub const TAGS_PER_ENTITY: usize = 50;
const DEFAULT_MAX_ITEMS: i64 = 100;

/// A decoded request. Fields are `Option` where the wire may omit them, so that a missing
/// required member is reported with AWS's `Member must not be null` wording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    GetCallerIdentity,
    CreateUser {
        user_name: Option<String>,
        path: Option<String>,
        tags: Vec<Tag>,
    },
    GetUser {
        user_name: Option<String>,
    },
    ListUsers {
        path_prefix: Option<String>,
        marker: Option<String>,
        max_items: Option<i64>,
    },
    UpdateUser {
        user_name: Option<String>,
        new_user_name: Option<String>,
        new_path: Option<String>,
    },
    DeleteUser {
        user_name: Option<String>,
    },
    TagUser {
        user_name: Option<String>,
        tags: Vec<Tag>,
    },
    UntagUser {
        user_name: Option<String>,
        tag_keys: Vec<String>,
    },
    ListUserTags {
        user_name: Option<String>,
        marker: Option<String>,
        max_items: Option<i64>,
    },
    CreateAccessKey {
        user_name: Option<String>,
    },
    ListAccessKeys {
        user_name: Option<String>,
        marker: Option<String>,
        max_items: Option<i64>,
    },
    UpdateAccessKey {
        user_name: Option<String>,
        access_key_id: Option<String>,
        status: Option<String>,
    },
    DeleteAccessKey {
        user_name: Option<String>,
        access_key_id: Option<String>,
    },
}

impl Operation {
    /// The API action name, as in `Action=` and CloudTrail's `eventName`.
    pub fn name(&self) -> &'static str {
        match self {
            Operation::GetCallerIdentity => "GetCallerIdentity",
            Operation::CreateUser { .. } => "CreateUser",
            Operation::GetUser { .. } => "GetUser",
            Operation::ListUsers { .. } => "ListUsers",
            Operation::UpdateUser { .. } => "UpdateUser",
            Operation::DeleteUser { .. } => "DeleteUser",
            Operation::TagUser { .. } => "TagUser",
            Operation::UntagUser { .. } => "UntagUser",
            Operation::ListUserTags { .. } => "ListUserTags",
            Operation::CreateAccessKey { .. } => "CreateAccessKey",
            Operation::ListAccessKeys { .. } => "ListAccessKeys",
            Operation::UpdateAccessKey { .. } => "UpdateAccessKey",
            Operation::DeleteAccessKey { .. } => "DeleteAccessKey",
        }
    }

    /// The service prefix of the action (`iam` or `sts`).
    pub fn service(&self) -> &'static str {
        match self {
            Operation::GetCallerIdentity => "sts",
            _ => "iam",
        }
    }

    /// CloudTrail's `readOnly`.
    pub fn read_only(&self) -> bool {
        matches!(
            self,
            Operation::GetCallerIdentity
                | Operation::GetUser { .. }
                | Operation::ListUsers { .. }
                | Operation::ListUserTags { .. }
                | Operation::ListAccessKeys { .. }
        )
    }
}

/// What an operation returns; the server encodes each variant in AWS's XML shape.
#[derive(Debug)]
pub enum Output {
    CallerIdentity {
        user_id: String,
        account: String,
        arn: String,
    },
    /// `CreateUser` and `GetUser`.
    User {
        user: User,
        arn: String,
    },
    /// `GetUser` called by the root user without `UserName`.
    RootUser {
        account_id: String,
        arn: String,
        created: OffsetDateTime,
    },
    Users {
        users: Vec<(User, String)>,
        page: Page,
    },
    Tags {
        tags: Vec<Tag>,
        page: Page,
    },
    AccessKeyCreated {
        user_name: Option<String>,
        key: AccessKey,
        secret: SecretKey,
    },
    AccessKeys {
        user_name: Option<String>,
        keys: Vec<AccessKey>,
        page: Page,
    },
    Empty,
}

/// AWS's pagination: `IsTruncated` and, when truncated, the `Marker` for the next call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub is_truncated: bool,
    pub marker: Option<String>,
}

/// What every operation needs besides its input and the transaction.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    pub partition: &'a str,
    pub now: OffsetDateTime,
    pub master_key: &'a MasterKey,
    pub caller: &'a Caller,
}

/// What an operation acts on, for authorisation.
enum Target {
    /// The action on this resource ARN must be allowed.
    Resource { action: String, resource: String },
    /// No permission is needed (`sts:GetCallerIdentity`, as AWS documents: an explicit deny of
    /// it does not stop it).
    Unrestricted,
}

/// Resolves, authorises and runs `op` in `tx`.
pub async fn execute<T: Tx>(tx: &mut T, ctx: &Ctx<'_>, op: Operation) -> Result<Output, OpError> {
    match target(tx, ctx, &op).await? {
        Target::Unrestricted => {}
        Target::Resource { action, resource } => {
            let principal_arn = ctx.caller.principal.arn(ctx.partition);
            authorize(&AuthzRequest {
                principal: &ctx.caller.principal,
                principal_arn: &principal_arn,
                action: &action,
                resource: &resource,
            })?;
        }
    }
    run(tx, ctx, op).await
}

fn account_id<'a>(ctx: &Ctx<'a>) -> &'a str {
    ctx.caller.principal.account_id()
}

/// The ARN a user-scoped action targets: the stored user's ARN (with its path) when it exists,
/// otherwise `user/NAME` under the given path, as AWS's authorisation layer builds it.
async fn user_resource<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    name: Option<&str>,
    path: Option<&str>,
) -> Result<String, OpError> {
    let acct = account_id(ctx);
    match name {
        None => Ok(ctx.caller.principal.arn(ctx.partition)),
        Some(name) => Ok(match tx.get_user(acct, name).await? {
            Some(u) => u.arn(ctx.partition),
            None => user_arn(ctx.partition, acct, path.unwrap_or("/"), name),
        }),
    }
}

async fn target<T: Tx>(tx: &mut T, ctx: &Ctx<'_>, op: &Operation) -> Result<Target, OpError> {
    let iam = |action: &str, resource: String| Target::Resource {
        action: format!("iam:{action}"),
        resource,
    };
    let name = op.name();
    Ok(match op {
        Operation::GetCallerIdentity => Target::Unrestricted,
        Operation::ListUsers { .. } => iam(
            name,
            format!("arn:{}:iam::{}:user/", ctx.partition, account_id(ctx)),
        ),
        Operation::CreateUser {
            user_name, path, ..
        } => iam(
            name,
            user_resource(tx, ctx, user_name.as_deref().or(Some("")), path.as_deref()).await?,
        ),
        Operation::GetUser { user_name }
        | Operation::CreateAccessKey { user_name }
        | Operation::ListAccessKeys { user_name, .. }
        | Operation::UpdateAccessKey { user_name, .. }
        | Operation::DeleteAccessKey { user_name, .. } => iam(
            name,
            user_resource(tx, ctx, user_name.as_deref(), None).await?,
        ),
        Operation::UpdateUser { user_name, .. }
        | Operation::DeleteUser { user_name }
        | Operation::TagUser { user_name, .. }
        | Operation::UntagUser { user_name, .. }
        | Operation::ListUserTags { user_name, .. } => iam(
            name,
            user_resource(tx, ctx, Some(user_name.as_deref().unwrap_or("")), None).await?,
        ),
    })
}

async fn run<T: Tx>(tx: &mut T, ctx: &Ctx<'_>, op: Operation) -> Result<Output, OpError> {
    match op {
        Operation::GetCallerIdentity => {
            let p = &ctx.caller.principal;
            Ok(Output::CallerIdentity {
                user_id: p.user_id().to_owned(),
                account: p.account_id().to_owned(),
                arn: p.arn(ctx.partition),
            })
        }
        Operation::CreateUser {
            user_name,
            path,
            tags,
        } => create_user(tx, ctx, user_name, path, tags).await,
        Operation::GetUser { user_name } => get_user(tx, ctx, user_name).await,
        Operation::ListUsers {
            path_prefix,
            marker,
            max_items,
        } => list_users(tx, ctx, path_prefix, marker, max_items).await,
        Operation::UpdateUser {
            user_name,
            new_user_name,
            new_path,
        } => update_user(tx, ctx, user_name, new_user_name, new_path).await,
        Operation::DeleteUser { user_name } => delete_user(tx, ctx, user_name).await,
        Operation::TagUser { user_name, tags } => tag_user(tx, ctx, user_name, tags).await,
        Operation::UntagUser {
            user_name,
            tag_keys,
        } => untag_user(tx, ctx, user_name, tag_keys).await,
        Operation::ListUserTags {
            user_name,
            marker,
            max_items,
        } => list_user_tags(tx, ctx, user_name, marker, max_items).await,
        Operation::CreateAccessKey { user_name } => create_access_key(tx, ctx, user_name).await,
        Operation::ListAccessKeys {
            user_name,
            marker,
            max_items,
        } => list_access_keys(tx, ctx, user_name, marker, max_items).await,
        Operation::UpdateAccessKey {
            user_name,
            access_key_id,
            status,
        } => update_access_key(tx, ctx, user_name, access_key_id, status).await,
        Operation::DeleteAccessKey {
            user_name,
            access_key_id,
        } => delete_access_key(tx, ctx, user_name, access_key_id).await,
    }
}

fn no_such_user(name: &str) -> ApiError {
    ApiError::no_such_entity(format!("The user with name {name} cannot be found."))
}

async fn require_user<T: Tx>(tx: &mut T, ctx: &Ctx<'_>, name: &str) -> Result<User, OpError> {
    tx.get_user(account_id(ctx), name)
        .await?
        .ok_or_else(|| no_such_user(name).into())
}

fn validate_tags(v: &mut Validator, tags: &[Tag]) {
    for (i, tag) in tags.iter().enumerate() {
        let n = i + 1;
        v.string(&format!("tags.{n}.member.key"), &tag.key, &v::TAG_KEY);
        v.string(&format!("tags.{n}.member.value"), &tag.value, &v::TAG_VALUE);
    }
    v.list_len("tags", &render_tags(tags), tags.len(), TAGS_PER_ENTITY);
}

fn render_tags(tags: &[Tag]) -> String {
    let inner: Vec<String> = tags
        .iter()
        .map(|t| format!("Tag(Key={}, Value={})", t.key, t.value))
        .collect();
    format!("[{}]", inner.join(", "))
}

/// IAM treats tag keys without regard to case; a request naming one twice is refused.
fn reject_duplicate_tag_keys(tags: &[Tag]) -> Result<(), ApiError> {
    for (i, t) in tags.iter().enumerate() {
        if tags
            .iter()
            .skip(i + 1)
            .any(|o| o.key.eq_ignore_ascii_case(&t.key))
        {
            return Err(ApiError::invalid_input(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
            ));
        }
    }
    Ok(())
}

fn page_params(v: &mut Validator, marker: Option<&str>, max_items: Option<i64>) -> usize {
    v.opt_string("marker", marker, &v::MARKER);
    let max = max_items.unwrap_or(DEFAULT_MAX_ITEMS);
    v.range("maxItems", max, 1, 1000);
    usize::try_from(max.clamp(1, 1000)).unwrap_or(100)
}

/// Markers are opaque to clients; ours carry the last item's sort key.
fn encode_marker(last: &str) -> String {
    data_encoding::BASE64.encode(last.as_bytes())
}

fn decode_marker(marker: &str) -> Result<String, ApiError> {
    data_encoding::BASE64
        .decode(marker.as_bytes())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| ApiError::invalid_input("Invalid Marker."))
}

/// Offsets into short lists (tags, keys) are the marker's payload.
fn marker_offset(marker: Option<&str>) -> Result<usize, ApiError> {
    match marker {
        None => Ok(0),
        Some(m) => decode_marker(m)?
            .parse()
            .map_err(|_| ApiError::invalid_input("Invalid Marker.")),
    }
}

fn slice_page<T: Clone>(items: &[T], offset: usize, max: usize) -> (Vec<T>, Page) {
    let page: Vec<T> = items.iter().skip(offset).take(max).cloned().collect();
    let end = offset.saturating_add(page.len());
    let is_truncated = end < items.len();
    let marker = is_truncated.then(|| encode_marker(&end.to_string()));
    (
        page,
        Page {
            is_truncated,
            marker,
        },
    )
}

async fn create_user<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    user_name: Option<String>,
    path: Option<String>,
    tags: Vec<Tag>,
) -> Result<Output, OpError> {
    let mut v = Validator::new();
    let name = v
        .required("userName", user_name.as_deref())
        .unwrap_or_default()
        .to_owned();
    if user_name.is_some() {
        v.string("userName", &name, &v::USER_NAME);
    }
    v.opt_string("path", path.as_deref(), &v::PATH);
    validate_tags(&mut v, &tags);
    v.finish()?;
    reject_duplicate_tag_keys(&tags)?;
    let acct = account_id(ctx);
    if let Some(existing) = tx.get_user(acct, &name).await? {
        return Err(ApiError::entity_already_exists(format!(
            "User with name {} already exists.",
            existing.name
        ))
        .into());
    }
    let user = User {
        account_id: acct.to_owned(),
        user_id: ids::new_id(IdKind::User)?,
        name,
        path: path.unwrap_or_else(|| "/".to_owned()),
        created: ctx.now,
        tags,
    };
    tx.insert_user(&user).await?;
    let arn = user.arn(ctx.partition);
    Ok(Output::User { user, arn })
}

async fn get_user<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    user_name: Option<String>,
) -> Result<Output, OpError> {
    let mut v = Validator::new();
    v.opt_string("userName", user_name.as_deref(), &v::EXISTING_USER_NAME);
    v.finish()?;
    let user = match (user_name, &ctx.caller.principal) {
        (Some(name), _) => require_user(tx, ctx, &name).await?,
        (None, Principal::User(me)) => require_user(tx, ctx, &me.name).await?,
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

async fn list_users<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    path_prefix: Option<String>,
    marker: Option<String>,
    max_items: Option<i64>,
) -> Result<Output, OpError> {
    let mut v = Validator::new();
    v.opt_string("pathPrefix", path_prefix.as_deref(), &v::PATH_PREFIX);
    let max = page_params(&mut v, marker.as_deref(), max_items);
    v.finish()?;
    let after = marker.as_deref().map(decode_marker).transpose()?;
    let prefix = path_prefix.as_deref().unwrap_or("/");
    let mut users = tx
        .list_users(account_id(ctx), prefix, after.as_deref(), max + 1)
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
    Ok(Output::Users {
        users,
        page: Page {
            is_truncated,
            marker,
        },
    })
}

async fn update_user<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    user_name: Option<String>,
    new_user_name: Option<String>,
    new_path: Option<String>,
) -> Result<Output, OpError> {
    let mut v = Validator::new();
    let name = v
        .required("userName", user_name.as_deref())
        .unwrap_or_default();
    if user_name.is_some() {
        v.string("userName", name, &v::EXISTING_USER_NAME);
    }
    v.opt_string("newUserName", new_user_name.as_deref(), &v::USER_NAME);
    v.opt_string("newPath", new_path.as_deref(), &v::PATH);
    v.finish()?;
    let mut user = require_user(tx, ctx, name).await?;
    if let Some(new_name) = new_user_name {
        if let Some(other) = tx.get_user(account_id(ctx), &new_name).await? {
            if other.user_id != user.user_id {
                return Err(ApiError::entity_already_exists(format!(
                    "User with name {new_name} already exists."
                ))
                .into());
            }
        }
        user.name = new_name;
    }
    if let Some(path) = new_path {
        user.path = path;
    }
    tx.update_user(&user).await?;
    Ok(Output::Empty)
}

async fn delete_user<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    user_name: Option<String>,
) -> Result<Output, OpError> {
    let mut v = Validator::new();
    let name = v
        .required("userName", user_name.as_deref())
        .unwrap_or_default();
    if user_name.is_some() {
        v.string("userName", name, &v::EXISTING_USER_NAME);
    }
    v.finish()?;
    let user = require_user(tx, ctx, name).await?;
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
    tx.delete_user(&user.user_id).await?;
    Ok(Output::Empty)
}

async fn tag_user<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    user_name: Option<String>,
    tags: Vec<Tag>,
) -> Result<Output, OpError> {
    let mut v = Validator::new();
    let name = v
        .required("userName", user_name.as_deref())
        .unwrap_or_default();
    if user_name.is_some() {
        v.string("userName", name, &v::EXISTING_USER_NAME);
    }
    if tags.is_empty() {
        v.required("tags", None);
    }
    validate_tags(&mut v, &tags);
    v.finish()?;
    reject_duplicate_tag_keys(&tags)?;
    let mut user = require_user(tx, ctx, name).await?;
    for tag in tags {
        match user
            .tags
            .iter_mut()
            .find(|t| t.key.eq_ignore_ascii_case(&tag.key))
        {
            Some(existing) => existing.value = tag.value,
            None => user.tags.push(tag),
        }
    }
    if user.tags.len() > TAGS_PER_ENTITY {
        return Err(ApiError::limit_exceeded(format!(
            "Cannot exceed quota for TagsPerUser: {TAGS_PER_ENTITY}"
        ))
        .into());
    }
    tx.update_user(&user).await?;
    Ok(Output::Empty)
}

async fn untag_user<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    user_name: Option<String>,
    tag_keys: Vec<String>,
) -> Result<Output, OpError> {
    let mut v = Validator::new();
    let name = v
        .required("userName", user_name.as_deref())
        .unwrap_or_default();
    if user_name.is_some() {
        v.string("userName", name, &v::EXISTING_USER_NAME);
    }
    if tag_keys.is_empty() {
        v.required("tagKeys", None);
    }
    for (i, k) in tag_keys.iter().enumerate() {
        v.string(&format!("tagKeys.{}.member", i + 1), k, &v::TAG_KEY);
    }
    v.list_len(
        "tagKeys",
        &format!("[{}]", tag_keys.join(", ")),
        tag_keys.len(),
        TAGS_PER_ENTITY,
    );
    v.finish()?;
    let mut user = require_user(tx, ctx, name).await?;
    user.tags
        .retain(|t| !tag_keys.iter().any(|k| k.eq_ignore_ascii_case(&t.key)));
    tx.update_user(&user).await?;
    Ok(Output::Empty)
}

async fn list_user_tags<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    user_name: Option<String>,
    marker: Option<String>,
    max_items: Option<i64>,
) -> Result<Output, OpError> {
    let mut v = Validator::new();
    let name = v
        .required("userName", user_name.as_deref())
        .unwrap_or_default();
    if user_name.is_some() {
        v.string("userName", name, &v::EXISTING_USER_NAME);
    }
    let max = page_params(&mut v, marker.as_deref(), max_items);
    v.finish()?;
    let user = require_user(tx, ctx, name).await?;
    let (tags, page) = slice_page(&user.tags, marker_offset(marker.as_deref())?, max);
    Ok(Output::Tags { tags, page })
}

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
    }
}

async fn create_access_key<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    user_name: Option<String>,
) -> Result<Output, OpError> {
    let mut v = Validator::new();
    v.opt_string("userName", user_name.as_deref(), &v::EXISTING_USER_NAME);
    v.finish()?;
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
        },
        secret,
    ))
}

async fn list_access_keys<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    user_name: Option<String>,
    marker: Option<String>,
    max_items: Option<i64>,
) -> Result<Output, OpError> {
    let mut v = Validator::new();
    v.opt_string("userName", user_name.as_deref(), &v::EXISTING_USER_NAME);
    let max = page_params(&mut v, marker.as_deref(), max_items);
    v.finish()?;
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

async fn update_access_key<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    user_name: Option<String>,
    access_key_id: Option<String>,
    status: Option<String>,
) -> Result<Output, OpError> {
    let mut v = Validator::new();
    v.opt_string("userName", user_name.as_deref(), &v::EXISTING_USER_NAME);
    let id = v
        .required("accessKeyId", access_key_id.as_deref())
        .unwrap_or_default();
    if access_key_id.is_some() {
        v.string("accessKeyId", id, &v::ACCESS_KEY_ID);
    }
    let status_text = v.required("status", status.as_deref()).unwrap_or_default();
    if status.is_some() {
        v.one_of("status", status_text, &["Active", "Inactive"]);
    }
    v.finish()?;
    let new_status = KeyStatus::parse(status_text).ok_or_else(ApiError::internal)?;
    let key = owned_key(tx, ctx, user_name.as_deref(), id).await?;
    tx.set_access_key_status(&key.access_key_id, new_status)
        .await?;
    Ok(Output::Empty)
}

async fn delete_access_key<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    user_name: Option<String>,
    access_key_id: Option<String>,
) -> Result<Output, OpError> {
    let mut v = Validator::new();
    v.opt_string("userName", user_name.as_deref(), &v::EXISTING_USER_NAME);
    let id = v
        .required("accessKeyId", access_key_id.as_deref())
        .unwrap_or_default();
    if access_key_id.is_some() {
        v.string("accessKeyId", id, &v::ACCESS_KEY_ID);
    }
    v.finish()?;
    let key = owned_key(tx, ctx, user_name.as_deref(), id).await?;
    tx.delete_access_key(&key.access_key_id).await?;
    Ok(Output::Empty)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::find_tag;

    #[test]
    fn pages_of_short_lists() {
        let items: Vec<u32> = (0..5).collect();
        let (p, page) = slice_page(&items, 0, 2);
        assert_eq!(p, vec![0, 1]);
        assert!(page.is_truncated);
        let off = marker_offset(page.marker.as_deref()).unwrap();
        let (p, page) = slice_page(&items, off, 10);
        assert_eq!(p, vec![2, 3, 4]);
        assert_eq!(
            page,
            Page {
                is_truncated: false,
                marker: None
            }
        );
    }

    #[test]
    fn duplicate_tag_keys_ignore_case() {
        let tags = vec![
            Tag {
                key: "Team".into(),
                value: "a".into(),
            },
            Tag {
                key: "team".into(),
                value: "b".into(),
            },
        ];
        assert_eq!(
            reject_duplicate_tag_keys(&tags).unwrap_err().code,
            "InvalidInput"
        );
        assert!(find_tag(&tags, "TEAM").is_some());
    }
}

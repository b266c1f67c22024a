//! IAM and STS operations: typed input, the target each one acts on, and execution.
//!
//! **Architecture invariant**: [`execute`] is the only public way to run an operation. It resolves
//! the action and resource the operation acts on, asks [`crate::authz::authorize`], and only then
//! reaches the handler. Handlers are private to this module.

/// Declares an operation's input: the struct (its members, public) and its [`table::Decode`] from
/// the request's members, one line a member: `user_name: Option<String> = string("UserName")`,
/// where the word after `=` is the [`Members`] method that reads it (`string`, `integer`,
/// `boolean`, `opt_boolean`, `list`, `tags`, `structure_list`, `code`, `password`).
macro_rules! input {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $($field:ident: $ty:ty = $how:ident($($arg:expr),+)),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            $(pub $field: $ty,)*
        }

        impl super::table::Decode for $name {
            #[allow(unused_variables)]
            fn decode(
                m: &dyn super::Members,
            ) -> Result<Self, crate::error::ApiError> {
                Ok($name {
                    $($field: member!(m, $how, $($arg),+),)*
                })
            }
        }
    };
}

/// One member read by `input!`: the fallible readers propagate AWS's validation error.
macro_rules! member {
    ($m:ident, integer, $($arg:expr),+) => { $m.integer($($arg),+)? };
    ($m:ident, list, $($arg:expr),+) => { $m.list($($arg),+)? };
    ($m:ident, tags, $($arg:expr),+) => { $m.tags($($arg),+)? };
    ($m:ident, structure_list, $($arg:expr),+) => { $m.structure_list($($arg),+)? };
    ($m:ident, $how:ident, $($arg:expr),+) => { $m.$how($($arg),+) };
}

pub mod access_keys;
pub mod account;
pub mod attachments;
pub mod groups;
pub mod mfa;
pub mod passwords;
pub mod policies;
mod policy_refs;
pub mod query;
pub mod reports;
pub mod roles;
#[rustfmt::skip]
pub mod shapes;
pub mod sts;
mod table;
pub mod users;

pub use access_keys::new_access_key;
pub use account::{GroupDetail, PolicyDetail, RoleDetail, UserDetail};
pub use mfa::{MFA_DEVICES_PER_USER, MfaVerdict, VirtualMfaSecret, verify_mfa};
pub use passwords::Password;
pub use query::MemberMap;
pub use sts::{Credentials, MFA_FAILED, account_of_temporary_key, invalid_authorization_message};
use table::{Decode, Handler, Ran, Targeted};
pub use table::{ListItem, Members, OpName, Operation, Service, lower_camel};

use time::OffsetDateTime;

use crate::authz::{Decision, Permission, Refusal, ResourcePolicy, authorize, authorize_with};
pub use crate::context::Ctx;
use crate::error::{ApiError, OpError};
use crate::model::{
    AccessKey, AttachedPolicy, EntityKind, Group, KeyLastUsed, LoginProfile, ManagedPolicy,
    MfaDevice, PolicyVersion, Role, Tag, User, role_arn, user_arn,
};
use crate::password::PasswordPolicy;
use crate::session::SessionKind;
use crate::store::Tx;
use keyward_sigv4::SecretKey;

/// Most access keys a user (or the root user) may have.
pub const ACCESS_KEYS_PER_USER: usize = 2;
/// How often an access key's last use is written: at most once per 15 minutes per key, as AWS
/// records it, so that using a key does not make every request a write.
pub const KEY_LAST_USED_INTERVAL: time::Duration = time::Duration::minutes(15);
/// Most tags on an IAM entity.
pub const TAGS_PER_ENTITY: usize = 50;
const DEFAULT_MAX_ITEMS: i64 = 100;

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
    /// `CreatePolicy` (no description) and `GetPolicy` (with it).
    Policy {
        policy: ManagedPolicy,
        with_description: bool,
    },
    Policies {
        policies: Vec<ManagedPolicy>,
        page: Page,
    },
    /// `CreatePolicyVersion` (no document) and `GetPolicyVersion` (with it).
    PolicyVersion {
        version: PolicyVersion,
        is_default: bool,
        with_document: bool,
    },
    PolicyVersions {
        versions: Vec<(PolicyVersion, bool)>,
        page: Page,
    },
    EntitiesForPolicy {
        groups: Vec<(String, String)>,
        users: Vec<(String, String)>,
        roles: Vec<(String, String)>,
        page: Page,
    },
    AttachedPolicies {
        policies: Vec<AttachedPolicy>,
        page: Page,
    },
    InlinePolicy {
        entity: EntityKind,
        entity_name: String,
        policy_name: String,
        document: String,
    },
    PolicyNames {
        names: Vec<String>,
        page: Page,
    },
    Group {
        group: Group,
        arn: String,
    },
    GroupWithUsers {
        group: Group,
        arn: String,
        users: Vec<(User, String)>,
        page: Page,
    },
    Groups {
        groups: Vec<(Group, String)>,
        page: Page,
    },
    /// `CreateVirtualMFADevice`: the only response that carries the seed and the QR code.
    VirtualMfaDeviceCreated {
        device: MfaDevice,
        secret: VirtualMfaSecret,
    },
    /// `ListMFADevices`: (user name, device).
    MfaDevices {
        devices: Vec<(String, MfaDevice)>,
        page: Page,
    },
    /// `ListVirtualMFADevices`: each device with its user (and the user's ARN) when assigned.
    VirtualMfaDevices {
        devices: Vec<(MfaDevice, Option<(User, String)>)>,
        page: Page,
    },
    LoginProfile {
        user_name: String,
        profile: LoginProfile,
    },
    PasswordPolicy {
        policy: PasswordPolicy,
    },
    AccountAliases {
        aliases: Vec<String>,
        page: Page,
    },
    AccessKeyLastUsed {
        user_name: Option<String>,
        last_used: Option<KeyLastUsed>,
    },
    AuthorizationDetails {
        users: Vec<UserDetail>,
        groups: Vec<GroupDetail>,
        roles: Vec<RoleDetail>,
        policies: Vec<PolicyDetail>,
        page: Page,
    },
    /// `GetAccountSummary`'s `SummaryMap`.
    AccountSummary {
        entries: Vec<(&'static str, i64)>,
    },
    /// `GetMFADevice`.
    MfaDevice {
        user_name: Option<String>,
        device: MfaDevice,
    },
    Empty,
    /// `CreateRole`, `GetRole`, `UpdateRoleDescription`.
    Role {
        role: Role,
        arn: String,
    },
    Roles {
        roles: Vec<(Role, String)>,
        page: Page,
    },
    /// `GetSessionToken`, `AssumeRole` (with the assumed role user: ID and ARN) and
    /// `GetFederationToken` (with the federated user: ID and ARN).
    SessionCredentials {
        credentials: Credentials,
        assumed_role_user: Option<(String, String)>,
        federated_user: Option<(String, String)>,
        packed_policy_size: Option<i64>,
        source_identity: Option<String>,
    },
    AccessKeyInfo {
        account: String,
    },
    /// `GenerateCredentialReport`: `STARTED` (with its description) or `COMPLETE`.
    CredentialReportState {
        state: &'static str,
        description: Option<&'static str>,
    },
    /// `GetCredentialReport`: the report's CSV (Base64-encoded on the wire) and when it was made.
    CredentialReport {
        csv: String,
        generated: OffsetDateTime,
    },
}

/// AWS's pagination: `IsTruncated` and, when truncated, the `Marker` for the next call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub is_truncated: bool,
    pub marker: Option<String>,
}

/// What an operation acts on, for authorisation.
pub(crate) enum Target {
    /// The action on this resource ARN, with these condition keys, must be allowed.
    Resource(Permission),
    /// No permission is needed (`sts:GetCallerIdentity`, as AWS documents: an explicit deny of
    /// it does not stop it).
    Unrestricted,
    /// `sts:AssumeRole`, decided together with the role's trust policy (none when no role has the
    /// ARN); refused in STS's words, which do not say which policy failed to allow it.
    AssumeRole(Permission, Option<ResourcePolicy>),
    /// Allowed unless a policy explicitly denies it (`sts:GetSessionToken`).
    DenyOnly(Permission),
}

/// Temporary credentials that may not call IAM at all: `GetSessionToken` credentials without MFA
/// and federated users' (IAM User Guide, "Comparing the AWS STS API operations").
fn session_may_call(ctx: &Ctx<'_>, op: OpName) -> bool {
    match &ctx.caller.session {
        Some(s) if op.service() == Service::Iam => match s.kind {
            SessionKind::Role => true,
            SessionKind::Federated => false,
            SessionKind::User | SessionKind::Root => s.mfa_auth_time.is_some(),
        },
        _ => true,
    }
}

/// What [`execute`] did: the decision that allowed the request (none for an operation that needs
/// no permission, or one refused) and the operation's result. A refusal carries its decision in
/// `Err(OpError::Denied(decision))`; [`decision_of`] finds it in either place.
#[derive(Debug)]
pub struct Executed {
    pub decision: Option<Decision>,
    pub result: Result<Output, OpError>,
}

/// The authorisation decision behind `result`: `allowed` when the request was allowed, the one
/// inside the error when it was refused.
pub fn decision_of<'a, T>(
    allowed: Option<&'a Decision>,
    result: &'a Result<T, OpError>,
) -> Option<&'a Decision> {
    match result {
        Err(OpError::Denied(d)) => Some(d),
        _ => allowed,
    }
}

/// Resolves, authorises and runs `op` in `tx`.
pub async fn execute<T: Tx>(tx: &mut T, ctx: &Ctx<'_>, op: Operation) -> Executed {
    let decision = match authorize_operation(tx, ctx, &op).await {
        Ok(decision) => decision,
        Err(e) => {
            return Executed {
                decision: None,
                result: Err(e),
            };
        }
    };
    Executed {
        decision,
        result: op.run(tx, ctx).await,
    }
}

/// The authorisation step of [`execute`]: the operation's target, decided.
async fn authorize_operation<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    op: &Operation,
) -> Result<Option<Decision>, OpError> {
    if !session_may_call(ctx, op.name()) {
        return Err(crate::auth::session_token_refused_by_iam().into());
    }
    Ok(match op.target(tx, ctx).await? {
        Target::Unrestricted => None,
        Target::Resource(permission) => Some(authorize(tx, ctx, &permission).await?),
        Target::AssumeRole(permission, trust) => {
            let refusal = Refusal::UnexplainedImplicitDeny;
            Some(authorize_with(tx, ctx, &permission, trust.as_ref(), refusal).await?)
        }
        Target::DenyOnly(permission) => {
            let refusal = Refusal::ExplicitDenyOnly;
            Some(authorize_with(tx, ctx, &permission, None, refusal).await?)
        }
    })
}

pub(crate) fn account_id<'a>(ctx: &Ctx<'a>) -> &'a str {
    ctx.caller.principal.account_id()
}

/// Condition keys of the tags a request sets: `aws:RequestTag/KEY` and `aws:TagKeys`.
fn request_tag_keys(tags: &[Tag]) -> Vec<(String, Vec<String>)> {
    let mut keys: Vec<(String, Vec<String>)> = tags
        .iter()
        .map(|t| (format!("aws:RequestTag/{}", t.key), vec![t.value.clone()]))
        .collect();
    if !tags.is_empty() {
        keys.push((
            "aws:TagKeys".to_owned(),
            tags.iter().map(|t| t.key.clone()).collect(),
        ));
    }
    keys
}

/// The condition key of the tags a request removes: `aws:TagKeys`.
fn untag_keys(tag_keys: &[String]) -> Vec<(String, Vec<String>)> {
    vec![("aws:TagKeys".to_owned(), tag_keys.to_vec())]
}

/// A page of an entity's tags (`List*Tags`).
fn tags_page(tags: &[Tag], marker: Option<String>, max_items: Option<i64>) -> Ran {
    let (tags, page) = slice_page(
        tags,
        marker_offset(marker.as_deref())?,
        page_size(max_items),
    );
    Ok(Output::Tags { tags, page })
}

/// Condition keys of the tags a resource carries: `aws:ResourceTag/KEY`.
fn resource_tag_keys(tags: &[Tag]) -> impl Iterator<Item = (String, Vec<String>)> + '_ {
    tags.iter()
        .map(|t| (format!("aws:ResourceTag/{}", t.key), vec![t.value.clone()]))
}

fn iam_action(op: OpName) -> String {
    op.action().to_owned()
}

/// The permission to call `op` on `resource`, with these condition keys.
fn permission(op: OpName, resource: String, context: Vec<(String, Vec<String>)>) -> Target {
    Target::Resource(Permission {
        action: iam_action(op),
        resource,
        context,
    })
}

/// The permission to call an action that has no resource-level permissions (resource `*`).
fn any_resource(op: OpName) -> Target {
    permission(op, "*".to_owned(), Vec::new())
}

/// A member that must be present, or `""` (its absence is the handler's validation error).
fn opt(s: &Option<String>) -> String {
    s.clone().unwrap_or_default()
}

/// Whether the Service Authorization Reference lists `iam:PermissionsBoundary` for the action on
/// an existing user or role, where the key is the entity's current boundary (unless the request
/// sets one: `CreateUser`, `CreateRole`, `Put*PermissionsBoundary`).
fn boundary_key_applies(op: OpName) -> bool {
    matches!(
        op,
        OpName::AttachUserPolicy
            | OpName::AttachRolePolicy
            | OpName::DetachUserPolicy
            | OpName::DetachRolePolicy
            | OpName::PutUserPolicy
            | OpName::PutRolePolicy
            | OpName::DeleteUserPolicy
            | OpName::DeleteRolePolicy
            | OpName::DeleteUserPermissionsBoundary
            | OpName::DeleteRolePermissionsBoundary
    )
}

/// Adds the entity's current boundary as `iam:PermissionsBoundary` where the action has that key.
fn current_boundary_key(
    op: OpName,
    boundary: Option<&String>,
    context: &mut Vec<(String, Vec<String>)>,
) {
    if boundary_key_applies(op)
        && let Some(b) = boundary
        && !context.iter().any(|(k, _)| k == "iam:PermissionsBoundary")
    {
        context.push(("iam:PermissionsBoundary".to_owned(), vec![b.clone()]));
    }
}

/// A permission on a user: the stored user's ARN and tags when it exists, otherwise
/// `user/PATH/NAME` as AWS's authorisation layer builds it for a user not yet created.
async fn user_permission<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    op: OpName,
    name: Option<&str>,
    path: Option<&str>,
    mut context: Vec<(String, Vec<String>)>,
) -> Result<Target, OpError> {
    let acct = account_id(ctx);
    let resource = match name {
        None => ctx.caller.principal.arn(ctx.partition),
        Some(name) => match tx.get_user(acct, name).await? {
            Some(u) => {
                context.extend(resource_tag_keys(&u.tags));
                current_boundary_key(op, u.permissions_boundary.as_ref(), &mut context);
                u.arn(ctx.partition)
            }
            None => user_arn(ctx.partition, acct, path.unwrap_or("/"), name),
        },
    };
    Ok(permission(op, resource, context))
}

async fn group_permission<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    op: OpName,
    name: &str,
    path: Option<&str>,
    context: Vec<(String, Vec<String>)>,
) -> Result<Target, OpError> {
    let acct = account_id(ctx);
    let resource = match tx.get_group(acct, name).await? {
        Some(g) => g.arn(ctx.partition),
        None => format!(
            "arn:{}:iam::{acct}:group{}{name}",
            ctx.partition,
            path.unwrap_or("/")
        ),
    };
    Ok(permission(op, resource, context))
}

/// A permission on a role: the stored role's ARN and tags when it exists, otherwise
/// `role/PATH/NAME`.
async fn role_permission<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    op: OpName,
    name: &str,
    path: Option<&str>,
    mut context: Vec<(String, Vec<String>)>,
) -> Result<Target, OpError> {
    let acct = account_id(ctx);
    let resource = match tx.get_role(acct, name).await? {
        Some(r) => {
            context.extend(resource_tag_keys(&r.tags));
            current_boundary_key(op, r.permissions_boundary.as_ref(), &mut context);
            r.arn(ctx.partition)
        }
        None => role_arn(ctx.partition, acct, path.unwrap_or("/"), name),
    };
    Ok(permission(op, resource, context))
}

async fn policy_permission<T: Tx>(
    tx: &mut T,
    op: OpName,
    arn: &str,
    mut context: Vec<(String, Vec<String>)>,
) -> Result<Target, OpError> {
    if let Some(p) = tx.get_managed_policy(arn).await? {
        context.extend(resource_tag_keys(&p.tags));
    }
    Ok(permission(op, arn.to_owned(), context))
}

/// A permission on a virtual MFA device: the stored device's serial number (its ARN) and tags
/// when it exists, otherwise the serial number as given.
async fn mfa_permission<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    op: OpName,
    serial: Option<&str>,
    mut context: Vec<(String, Vec<String>)>,
) -> Result<Target, OpError> {
    let serial = serial.unwrap_or("");
    let resource = match tx.get_mfa_device(account_id(ctx), serial).await? {
        Some(d) => {
            context.extend(resource_tag_keys(&d.tags));
            d.serial
        }
        None => serial.to_owned(),
    };
    Ok(permission(op, resource, context))
}

/// A list action's resource: `arn:aws:iam::ACCOUNT:KIND/`.
fn list_target(ctx: &Ctx<'_>, op: OpName, kind: &str) -> Target {
    permission(
        op,
        format!("arn:{}:iam::{}:{kind}/", ctx.partition, account_id(ctx)),
        Vec::new(),
    )
}

fn policy_arn_key(arn: &Option<String>) -> Vec<(String, Vec<String>)> {
    arn.iter()
        .map(|a| ("iam:PolicyARN".to_owned(), vec![a.clone()]))
        .collect()
}

/// What IAM answers when an operation that defaults to the caller is called by a role or
/// federated session without naming the user.
pub(crate) fn non_user_credentials() -> ApiError {
    ApiError::validation("Must specify userName when calling with non-User credentials")
}

/// Adds or overwrites `tags` (keys compared without regard to case), refusing with
/// `LimitExceeded` ("Cannot exceed quota for QUOTA: 50") when the entity would hold too many.
pub(crate) fn merge_tags(
    existing: &mut Vec<Tag>,
    tags: Vec<Tag>,
    quota: &str,
) -> Result<(), ApiError> {
    for tag in tags {
        match existing
            .iter_mut()
            .find(|t| t.key.eq_ignore_ascii_case(&tag.key))
        {
            Some(e) => e.value = tag.value,
            None => existing.push(tag),
        }
    }
    if existing.len() > TAGS_PER_ENTITY {
        return Err(ApiError::limit_exceeded(format!(
            "Cannot exceed quota for {quota}: {TAGS_PER_ENTITY}"
        )));
    }
    Ok(())
}

/// Removes the tags named by `keys`, compared without regard to case.
pub(crate) fn remove_tags(existing: &mut Vec<Tag>, keys: &[String]) {
    existing.retain(|t| !keys.iter().any(|k| k.eq_ignore_ascii_case(&t.key)));
}

/// IAM treats tag keys without regard to case; a request naming one twice is refused.
pub(crate) fn reject_duplicate_tag_keys(tags: &[Tag]) -> Result<(), ApiError> {
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

/// A page's size: `MaxItems` (which the input's shape bounds to 1–1,000), 100 by default.
pub(crate) fn page_size(max_items: Option<i64>) -> usize {
    let max = max_items.unwrap_or(DEFAULT_MAX_ITEMS);
    usize::try_from(max.clamp(1, 1000)).unwrap_or(100)
}

/// Markers are opaque to clients; ours carry the last item's sort key.
pub(crate) fn encode_marker(last: &str) -> String {
    data_encoding::BASE64.encode(last.as_bytes())
}

pub(crate) fn decode_marker(marker: &str) -> Result<String, ApiError> {
    data_encoding::BASE64
        .decode(marker.as_bytes())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| ApiError::invalid_input("Invalid Marker."))
}

/// Offsets into short lists (tags, keys) are the marker's payload.
pub(crate) fn marker_offset(marker: Option<&str>) -> Result<usize, ApiError> {
    match marker {
        None => Ok(0),
        Some(m) => decode_marker(m)?
            .parse()
            .map_err(|_| ApiError::invalid_input("Invalid Marker.")),
    }
}

/// A page of a store listing read with one item more than `max`: the extra item says the listing
/// goes on, and the sort key of the last item kept is the next marker.
pub(crate) fn keyed_page<T>(
    mut items: Vec<T>,
    max: usize,
    key: impl Fn(&T) -> String,
) -> (Vec<T>, Page) {
    let is_truncated = items.len() > max;
    items.truncate(max);
    let marker = if is_truncated {
        items.last().map(|i| encode_marker(&key(i)))
    } else {
        None
    };
    (
        items,
        Page {
            is_truncated,
            marker,
        },
    )
}

/// Each user, group or role with its ARN, as list responses carry them.
pub(crate) fn with_arns<T>(items: Vec<T>, arn: impl Fn(&T) -> String) -> Vec<(T, String)> {
    items
        .into_iter()
        .map(|i| {
            let arn = arn(&i);
            (i, arn)
        })
        .collect()
}

pub(crate) fn slice_page<T: Clone>(items: &[T], offset: usize, max: usize) -> (Vec<T>, Page) {
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

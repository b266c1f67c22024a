//! IAM and STS operations: typed input, the target each one acts on, and execution.
//!
//! **Architecture invariant**: [`execute`] is the only public way to run an operation. It resolves
//! the action and resource the operation acts on, asks [`crate::authz::authorize`], and only then
//! reaches the handler. Handlers are private to this module.

mod access_keys;
mod account;
mod attachments;
mod groups;
mod mfa;
mod passwords;
mod policies;
mod roles;
mod sts;
mod users;

pub use access_keys::new_access_key;
pub use account::{GroupDetail, PolicyDetail, RoleDetail, UserDetail};
pub use mfa::{MFA_DEVICES_PER_USER, MfaVerdict, VirtualMfaSecret, verify_mfa};
pub use passwords::Password;
pub use sts::{Credentials, MFA_FAILED, account_of_temporary_key, invalid_authorization_message};

use time::OffsetDateTime;

use crate::authz::{
    Permission, PolicyCache, Refusal, RequestInfo, ResourcePolicy, authorize, authorize_with,
};
use crate::crypto::MasterKey;
use crate::error::{ApiError, OpError};
use crate::model::{
    AccessKey, AttachedPolicy, EntityKind, Group, KeyLastUsed, LoginProfile, ManagedPolicy,
    MfaDevice, PolicyVersion, Role, Tag, User, mfa_serial, role_arn, user_arn,
};
use crate::password::PasswordPolicy;
use crate::principal::{Caller, Principal};
use crate::session::{SessionKeyRing, SessionKind};
use crate::store::Tx;
use crate::totp::CodeInput;
use crate::validate::{self as v, Validator};
use keyward_sigv4::SecretKey;

/// Most access keys a user (or the root user) may have.
pub const ACCESS_KEYS_PER_USER: usize = 2;
/// How often an access key's last use is written: at most once per 15 minutes per key, as AWS
/// records it, so that using a key does not make every request a write.
pub const KEY_LAST_USED_INTERVAL: time::Duration = time::Duration::minutes(15);
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
        permissions_boundary: Option<String>,
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
    // Managed policies.
    CreatePolicy {
        policy_name: Option<String>,
        path: Option<String>,
        policy_document: Option<String>,
        description: Option<String>,
        tags: Vec<Tag>,
    },
    GetPolicy {
        policy_arn: Option<String>,
    },
    DeletePolicy {
        policy_arn: Option<String>,
    },
    ListPolicies {
        scope: Option<String>,
        only_attached: bool,
        path_prefix: Option<String>,
        policy_usage_filter: Option<String>,
        marker: Option<String>,
        max_items: Option<i64>,
    },
    CreatePolicyVersion {
        policy_arn: Option<String>,
        policy_document: Option<String>,
        set_as_default: bool,
    },
    GetPolicyVersion {
        policy_arn: Option<String>,
        version_id: Option<String>,
    },
    ListPolicyVersions {
        policy_arn: Option<String>,
        marker: Option<String>,
        max_items: Option<i64>,
    },
    DeletePolicyVersion {
        policy_arn: Option<String>,
        version_id: Option<String>,
    },
    SetDefaultPolicyVersion {
        policy_arn: Option<String>,
        version_id: Option<String>,
    },
    ListEntitiesForPolicy {
        policy_arn: Option<String>,
        entity_filter: Option<String>,
        path_prefix: Option<String>,
        marker: Option<String>,
        max_items: Option<i64>,
    },
    // Attachments, inline policies and boundaries of users, groups (and later roles).
    AttachPolicy {
        entity: EntityKind,
        entity_name: Option<String>,
        policy_arn: Option<String>,
    },
    DetachPolicy {
        entity: EntityKind,
        entity_name: Option<String>,
        policy_arn: Option<String>,
    },
    ListAttachedPolicies {
        entity: EntityKind,
        entity_name: Option<String>,
        path_prefix: Option<String>,
        marker: Option<String>,
        max_items: Option<i64>,
    },
    PutInlinePolicy {
        entity: EntityKind,
        entity_name: Option<String>,
        policy_name: Option<String>,
        policy_document: Option<String>,
    },
    GetInlinePolicy {
        entity: EntityKind,
        entity_name: Option<String>,
        policy_name: Option<String>,
    },
    DeleteInlinePolicy {
        entity: EntityKind,
        entity_name: Option<String>,
        policy_name: Option<String>,
    },
    ListInlinePolicies {
        entity: EntityKind,
        entity_name: Option<String>,
        marker: Option<String>,
        max_items: Option<i64>,
    },
    PutUserPermissionsBoundary {
        user_name: Option<String>,
        permissions_boundary: Option<String>,
    },
    DeleteUserPermissionsBoundary {
        user_name: Option<String>,
    },
    // Groups.
    CreateGroup {
        group_name: Option<String>,
        path: Option<String>,
    },
    GetGroup {
        group_name: Option<String>,
        marker: Option<String>,
        max_items: Option<i64>,
    },
    UpdateGroup {
        group_name: Option<String>,
        new_group_name: Option<String>,
        new_path: Option<String>,
    },
    DeleteGroup {
        group_name: Option<String>,
    },
    ListGroups {
        path_prefix: Option<String>,
        marker: Option<String>,
        max_items: Option<i64>,
    },
    AddUserToGroup {
        group_name: Option<String>,
        user_name: Option<String>,
    },
    RemoveUserFromGroup {
        group_name: Option<String>,
        user_name: Option<String>,
    },
    ListGroupsForUser {
        user_name: Option<String>,
        marker: Option<String>,
        max_items: Option<i64>,
    },
    // Virtual MFA devices.
    CreateVirtualMfaDevice {
        name: Option<String>,
        path: Option<String>,
        tags: Vec<Tag>,
    },
    EnableMfaDevice {
        user_name: Option<String>,
        serial_number: Option<String>,
        code1: Option<CodeInput>,
        code2: Option<CodeInput>,
    },
    ResyncMfaDevice {
        user_name: Option<String>,
        serial_number: Option<String>,
        code1: Option<CodeInput>,
        code2: Option<CodeInput>,
    },
    DeactivateMfaDevice {
        user_name: Option<String>,
        serial_number: Option<String>,
    },
    DeleteVirtualMfaDevice {
        serial_number: Option<String>,
    },
    ListMfaDevices {
        user_name: Option<String>,
        marker: Option<String>,
        max_items: Option<i64>,
    },
    ListVirtualMfaDevices {
        assignment_status: Option<String>,
        marker: Option<String>,
        max_items: Option<i64>,
    },
    GetMfaDevice {
        serial_number: Option<String>,
        user_name: Option<String>,
    },
    TagMfaDevice {
        serial_number: Option<String>,
        tags: Vec<Tag>,
    },
    UntagMfaDevice {
        serial_number: Option<String>,
        tag_keys: Vec<String>,
    },
    ListMfaDeviceTags {
        serial_number: Option<String>,
        marker: Option<String>,
        max_items: Option<i64>,
    },
    // Console passwords, the account password policy, account aliases, key last use.
    CreateLoginProfile {
        user_name: Option<String>,
        password: Option<Password>,
        password_reset_required: bool,
    },
    GetLoginProfile {
        user_name: Option<String>,
    },
    UpdateLoginProfile {
        user_name: Option<String>,
        password: Option<Password>,
        password_reset_required: Option<bool>,
    },
    DeleteLoginProfile {
        user_name: Option<String>,
    },
    ChangePassword {
        old_password: Option<Password>,
        new_password: Option<Password>,
    },
    UpdateAccountPasswordPolicy {
        minimum_password_length: Option<i64>,
        require_symbols: bool,
        require_numbers: bool,
        require_uppercase_characters: bool,
        require_lowercase_characters: bool,
        allow_users_to_change_password: bool,
        max_password_age: Option<i64>,
        password_reuse_prevention: Option<i64>,
        hard_expiry: bool,
    },
    GetAccountPasswordPolicy,
    DeleteAccountPasswordPolicy,
    CreateAccountAlias {
        account_alias: Option<String>,
    },
    DeleteAccountAlias {
        account_alias: Option<String>,
    },
    ListAccountAliases {
        marker: Option<String>,
        max_items: Option<i64>,
    },
    GetAccessKeyLastUsed {
        access_key_id: Option<String>,
    },

    // Roles.
    CreateRole {
        role_name: Option<String>,
        path: Option<String>,
        assume_role_policy_document: Option<String>,
        description: Option<String>,
        max_session_duration: Option<i64>,
        permissions_boundary: Option<String>,
        tags: Vec<Tag>,
    },
    GetRole {
        role_name: Option<String>,
    },
    UpdateRole {
        role_name: Option<String>,
        description: Option<String>,
        max_session_duration: Option<i64>,
    },
    UpdateRoleDescription {
        role_name: Option<String>,
        description: Option<String>,
    },
    UpdateAssumeRolePolicy {
        role_name: Option<String>,
        policy_document: Option<String>,
    },
    DeleteRole {
        role_name: Option<String>,
    },
    ListRoles {
        path_prefix: Option<String>,
        marker: Option<String>,
        max_items: Option<i64>,
    },
    TagRole {
        role_name: Option<String>,
        tags: Vec<Tag>,
    },
    UntagRole {
        role_name: Option<String>,
        tag_keys: Vec<String>,
    },
    ListRoleTags {
        role_name: Option<String>,
        marker: Option<String>,
        max_items: Option<i64>,
    },
    PutRolePermissionsBoundary {
        role_name: Option<String>,
        permissions_boundary: Option<String>,
    },
    DeleteRolePermissionsBoundary {
        role_name: Option<String>,
    },
    // STS.
    GetSessionToken {
        duration_seconds: Option<i64>,
        serial_number: Option<String>,
        token_code: Option<CodeInput>,
    },
    AssumeRole {
        role_arn: Option<String>,
        role_session_name: Option<String>,
        policy_arns: Vec<String>,
        policy: Option<String>,
        duration_seconds: Option<i64>,
        tags: Vec<Tag>,
        transitive_tag_keys: Vec<String>,
        external_id: Option<String>,
        serial_number: Option<String>,
        token_code: Option<CodeInput>,
        source_identity: Option<String>,
    },
    GetFederationToken {
        name: Option<String>,
        policy: Option<String>,
        policy_arns: Vec<String>,
        duration_seconds: Option<i64>,
        tags: Vec<Tag>,
    },
    GetAccessKeyInfo {
        access_key_id: Option<String>,
    },
    DecodeAuthorizationMessage {
        encoded_message: Option<String>,
    },
    GetAccountSummary,
    TagPolicy {
        policy_arn: Option<String>,
        tags: Vec<Tag>,
    },
    UntagPolicy {
        policy_arn: Option<String>,
        tag_keys: Vec<String>,
    },
    ListPolicyTags {
        policy_arn: Option<String>,
        marker: Option<String>,
        max_items: Option<i64>,
    },
    GetAccountAuthorizationDetails {
        filter: Vec<String>,
        marker: Option<String>,
        max_items: Option<i64>,
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
            Operation::CreatePolicy { .. } => "CreatePolicy",
            Operation::GetPolicy { .. } => "GetPolicy",
            Operation::DeletePolicy { .. } => "DeletePolicy",
            Operation::ListPolicies { .. } => "ListPolicies",
            Operation::CreatePolicyVersion { .. } => "CreatePolicyVersion",
            Operation::GetPolicyVersion { .. } => "GetPolicyVersion",
            Operation::ListPolicyVersions { .. } => "ListPolicyVersions",
            Operation::DeletePolicyVersion { .. } => "DeletePolicyVersion",
            Operation::SetDefaultPolicyVersion { .. } => "SetDefaultPolicyVersion",
            Operation::ListEntitiesForPolicy { .. } => "ListEntitiesForPolicy",
            Operation::AttachPolicy { entity, .. } => by_entity(
                *entity,
                ["AttachUserPolicy", "AttachGroupPolicy", "AttachRolePolicy"],
            ),
            Operation::DetachPolicy { entity, .. } => by_entity(
                *entity,
                ["DetachUserPolicy", "DetachGroupPolicy", "DetachRolePolicy"],
            ),
            Operation::ListAttachedPolicies { entity, .. } => by_entity(
                *entity,
                [
                    "ListAttachedUserPolicies",
                    "ListAttachedGroupPolicies",
                    "ListAttachedRolePolicies",
                ],
            ),
            Operation::PutInlinePolicy { entity, .. } => by_entity(
                *entity,
                ["PutUserPolicy", "PutGroupPolicy", "PutRolePolicy"],
            ),
            Operation::GetInlinePolicy { entity, .. } => by_entity(
                *entity,
                ["GetUserPolicy", "GetGroupPolicy", "GetRolePolicy"],
            ),
            Operation::DeleteInlinePolicy { entity, .. } => by_entity(
                *entity,
                ["DeleteUserPolicy", "DeleteGroupPolicy", "DeleteRolePolicy"],
            ),
            Operation::ListInlinePolicies { entity, .. } => by_entity(
                *entity,
                ["ListUserPolicies", "ListGroupPolicies", "ListRolePolicies"],
            ),
            Operation::PutUserPermissionsBoundary { .. } => "PutUserPermissionsBoundary",
            Operation::DeleteUserPermissionsBoundary { .. } => "DeleteUserPermissionsBoundary",
            Operation::CreateGroup { .. } => "CreateGroup",
            Operation::GetGroup { .. } => "GetGroup",
            Operation::UpdateGroup { .. } => "UpdateGroup",
            Operation::DeleteGroup { .. } => "DeleteGroup",
            Operation::ListGroups { .. } => "ListGroups",
            Operation::AddUserToGroup { .. } => "AddUserToGroup",
            Operation::RemoveUserFromGroup { .. } => "RemoveUserFromGroup",
            Operation::ListGroupsForUser { .. } => "ListGroupsForUser",
            Operation::CreateVirtualMfaDevice { .. } => "CreateVirtualMFADevice",
            Operation::EnableMfaDevice { .. } => "EnableMFADevice",
            Operation::ResyncMfaDevice { .. } => "ResyncMFADevice",
            Operation::DeactivateMfaDevice { .. } => "DeactivateMFADevice",
            Operation::DeleteVirtualMfaDevice { .. } => "DeleteVirtualMFADevice",
            Operation::ListMfaDevices { .. } => "ListMFADevices",
            Operation::ListVirtualMfaDevices { .. } => "ListVirtualMFADevices",
            Operation::GetMfaDevice { .. } => "GetMFADevice",
            Operation::TagMfaDevice { .. } => "TagMFADevice",
            Operation::UntagMfaDevice { .. } => "UntagMFADevice",
            Operation::ListMfaDeviceTags { .. } => "ListMFADeviceTags",
            Operation::CreateLoginProfile { .. } => "CreateLoginProfile",
            Operation::GetLoginProfile { .. } => "GetLoginProfile",
            Operation::UpdateLoginProfile { .. } => "UpdateLoginProfile",
            Operation::DeleteLoginProfile { .. } => "DeleteLoginProfile",
            Operation::ChangePassword { .. } => "ChangePassword",
            Operation::UpdateAccountPasswordPolicy { .. } => "UpdateAccountPasswordPolicy",
            Operation::GetAccountPasswordPolicy => "GetAccountPasswordPolicy",
            Operation::DeleteAccountPasswordPolicy => "DeleteAccountPasswordPolicy",
            Operation::CreateAccountAlias { .. } => "CreateAccountAlias",
            Operation::DeleteAccountAlias { .. } => "DeleteAccountAlias",
            Operation::ListAccountAliases { .. } => "ListAccountAliases",
            Operation::GetAccessKeyLastUsed { .. } => "GetAccessKeyLastUsed",
            Operation::GetAccountSummary => "GetAccountSummary",
            Operation::GetAccountAuthorizationDetails { .. } => "GetAccountAuthorizationDetails",
            Operation::TagPolicy { .. } => "TagPolicy",
            Operation::UntagPolicy { .. } => "UntagPolicy",
            Operation::ListPolicyTags { .. } => "ListPolicyTags",
            Operation::CreateRole { .. } => "CreateRole",
            Operation::GetRole { .. } => "GetRole",
            Operation::UpdateRole { .. } => "UpdateRole",
            Operation::UpdateRoleDescription { .. } => "UpdateRoleDescription",
            Operation::UpdateAssumeRolePolicy { .. } => "UpdateAssumeRolePolicy",
            Operation::DeleteRole { .. } => "DeleteRole",
            Operation::ListRoles { .. } => "ListRoles",
            Operation::TagRole { .. } => "TagRole",
            Operation::UntagRole { .. } => "UntagRole",
            Operation::ListRoleTags { .. } => "ListRoleTags",
            Operation::PutRolePermissionsBoundary { .. } => "PutRolePermissionsBoundary",
            Operation::DeleteRolePermissionsBoundary { .. } => "DeleteRolePermissionsBoundary",
            Operation::GetSessionToken { .. } => "GetSessionToken",
            Operation::AssumeRole { .. } => "AssumeRole",
            Operation::GetFederationToken { .. } => "GetFederationToken",
            Operation::GetAccessKeyInfo { .. } => "GetAccessKeyInfo",
            Operation::DecodeAuthorizationMessage { .. } => "DecodeAuthorizationMessage",
        }
    }

    /// The service prefix of the action (`iam` or `sts`).
    pub fn service(&self) -> &'static str {
        match self {
            Operation::GetCallerIdentity
            | Operation::GetSessionToken { .. }
            | Operation::AssumeRole { .. }
            | Operation::GetFederationToken { .. }
            | Operation::GetAccessKeyInfo { .. }
            | Operation::DecodeAuthorizationMessage { .. } => "sts",
            _ => "iam",
        }
    }

    /// CloudTrail's `readOnly`: the operation changes nothing.
    ///
    /// It also chooses the request's transaction (a read transaction when true), so an operation
    /// that may write is never read-only here: `GetSessionToken` records the accepted MFA step,
    /// and `GetFederationToken` issues credentials. `DecodeAuthorizationMessage` only reads.
    pub fn read_only(&self) -> bool {
        let name = self.name();
        (["Get", "List"].iter().any(|p| name.starts_with(p))
            && !matches!(
                self,
                Operation::GetSessionToken { .. } | Operation::GetFederationToken { .. }
            ))
            || matches!(self, Operation::DecodeAuthorizationMessage { .. })
    }
}

fn by_entity(entity: EntityKind, names: [&'static str; 3]) -> &'static str {
    let [user, group, role] = names;
    match entity {
        EntityKind::User => user,
        EntityKind::Group => group,
        EntityKind::Role => role,
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
    pub info: &'a RequestInfo,
    pub policies: &'a PolicyCache,
    /// TOTP window and per-device throttle (configurable per server).
    pub totp: &'a crate::totp::TotpConfig,
    /// Seals the session tokens STS issues.
    pub session_keys: &'a SessionKeyRing,
}

/// What an operation acts on, for authorisation.
enum Target {
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
fn session_may_call(ctx: &Ctx<'_>, op: &Operation) -> bool {
    match &ctx.caller.session {
        Some(s) if op.service() == "iam" => match s.kind {
            SessionKind::Role => true,
            SessionKind::Federated => false,
            SessionKind::User | SessionKind::Root => s.mfa_auth_time.is_some(),
        },
        _ => true,
    }
}

/// Resolves, authorises and runs `op` in `tx`.
pub async fn execute<T: Tx>(tx: &mut T, ctx: &Ctx<'_>, op: Operation) -> Result<Output, OpError> {
    if !session_may_call(ctx, &op) {
        return Err(crate::auth::session_token_refused_by_iam().into());
    }
    match target(tx, ctx, &op).await? {
        Target::Unrestricted => {}
        Target::Resource(permission) => authorize(tx, ctx, &permission).await?,
        Target::AssumeRole(permission, trust) => {
            let refusal = Refusal::UnexplainedImplicitDeny;
            authorize_with(tx, ctx, &permission, trust.as_ref(), refusal).await?;
        }
        Target::DenyOnly(permission) => {
            authorize_with(tx, ctx, &permission, None, Refusal::ExplicitDenyOnly).await?;
        }
    }
    run(tx, ctx, op).await
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

/// Condition keys of the tags a resource carries: `aws:ResourceTag/KEY`.
fn resource_tag_keys(tags: &[Tag]) -> impl Iterator<Item = (String, Vec<String>)> + '_ {
    tags.iter()
        .map(|t| (format!("aws:ResourceTag/{}", t.key), vec![t.value.clone()]))
}

fn iam_action(op: &Operation) -> String {
    format!("iam:{}", op.name())
}

/// Whether the Service Authorization Reference lists `iam:PermissionsBoundary` for the action on
/// an existing user or role, where the key is the entity's current boundary (unless the request
/// sets one: `CreateUser`, `CreateRole`, `Put*PermissionsBoundary`).
fn boundary_key_applies(op: &Operation) -> bool {
    matches!(
        op,
        Operation::AttachPolicy { .. }
            | Operation::DetachPolicy { .. }
            | Operation::PutInlinePolicy { .. }
            | Operation::DeleteInlinePolicy { .. }
            | Operation::DeleteUserPermissionsBoundary { .. }
            | Operation::DeleteRolePermissionsBoundary { .. }
    )
}

/// Adds the entity's current boundary as `iam:PermissionsBoundary` where the action has that key.
fn current_boundary_key(
    op: &Operation,
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
    op: &Operation,
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
    Ok(Target::Resource(Permission {
        action: iam_action(op),
        resource,
        context,
    }))
}

async fn group_permission<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    op: &Operation,
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
    Ok(Target::Resource(Permission {
        action: iam_action(op),
        resource,
        context,
    }))
}

/// A permission on a role: the stored role's ARN and tags when it exists, otherwise
/// `role/PATH/NAME`.
async fn role_permission<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    op: &Operation,
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
    Ok(Target::Resource(Permission {
        action: iam_action(op),
        resource,
        context,
    }))
}

async fn policy_permission<T: Tx>(
    tx: &mut T,
    op: &Operation,
    arn: &str,
    mut context: Vec<(String, Vec<String>)>,
) -> Result<Target, OpError> {
    if let Some(p) = tx.get_managed_policy(arn).await? {
        context.extend(resource_tag_keys(&p.tags));
    }
    Ok(Target::Resource(Permission {
        action: iam_action(op),
        resource: arn.to_owned(),
        context,
    }))
}

/// A permission on a virtual MFA device: the stored device's serial number (its ARN) and tags
/// when it exists, otherwise the serial number as given.
async fn mfa_permission<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    op: &Operation,
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
    Ok(Target::Resource(Permission {
        action: iam_action(op),
        resource,
        context,
    }))
}

/// A list action's resource: `arn:aws:iam::ACCOUNT:KIND/`.
fn list_target(ctx: &Ctx<'_>, op: &Operation, kind: &str) -> Target {
    Target::Resource(Permission {
        action: iam_action(op),
        resource: format!("arn:{}:iam::{}:{kind}/", ctx.partition, account_id(ctx)),
        context: Vec::new(),
    })
}

fn policy_arn_key(arn: &Option<String>) -> Vec<(String, Vec<String>)> {
    arn.iter()
        .map(|a| ("iam:PolicyARN".to_owned(), vec![a.clone()]))
        .collect()
}

async fn target<T: Tx>(tx: &mut T, ctx: &Ctx<'_>, op: &Operation) -> Result<Target, OpError> {
    let opt = |s: &Option<String>| s.clone().unwrap_or_default();
    match op {
        Operation::GetCallerIdentity => Ok(Target::Unrestricted),
        Operation::ListUsers { .. } => Ok(list_target(ctx, op, "user")),
        Operation::ListGroups { .. } => Ok(list_target(ctx, op, "group")),
        Operation::ListPolicies { .. } => Ok(list_target(ctx, op, "policy")),
        Operation::ListVirtualMfaDevices { .. } => Ok(list_target(ctx, op, "mfa")),
        Operation::CreateLoginProfile { user_name, .. }
        | Operation::GetLoginProfile { user_name }
        | Operation::UpdateLoginProfile { user_name, .. }
        | Operation::DeleteLoginProfile { user_name } => {
            user_permission(tx, ctx, op, user_name.as_deref(), None, Vec::new()).await
        }
        Operation::ChangePassword { .. } => {
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
        Operation::UpdateAccountPasswordPolicy { .. }
        | Operation::GetAccountSummary
        | Operation::GetAccountAuthorizationDetails { .. }
        | Operation::GetAccountPasswordPolicy
        | Operation::DeleteAccountPasswordPolicy
        | Operation::CreateAccountAlias { .. }
        | Operation::DeleteAccountAlias { .. }
        | Operation::ListAccountAliases { .. } => Ok(Target::Resource(Permission {
            action: iam_action(op),
            resource: "*".to_owned(),
            context: Vec::new(),
        })),
        Operation::GetAccessKeyLastUsed { access_key_id } => {
            let owner = match tx.get_access_key(&opt(access_key_id)).await? {
                Some(k) if k.account_id == account_id(ctx) => match &k.user_id {
                    Some(uid) => tx.get_user_by_id(uid).await?.map(|u| u.name),
                    None => None,
                },
                _ => None,
            };
            match owner {
                Some(name) => user_permission(tx, ctx, op, Some(&name), None, Vec::new()).await,
                None => Ok(Target::Resource(Permission {
                    action: iam_action(op),
                    resource: "*".to_owned(),
                    context: Vec::new(),
                })),
            }
        }
        // The Service Authorization Reference: Create/Delete/Tag/Untag/ListTags act on the
        // device (`mfa`), Enable/Resync/Deactivate/List/Get on the user.
        Operation::CreateVirtualMfaDevice { name, path, tags } => {
            let serial = mfa_serial(
                ctx.partition,
                account_id(ctx),
                path.as_deref().unwrap_or("/"),
                &opt(name),
            );
            Ok(Target::Resource(Permission {
                action: iam_action(op),
                resource: serial,
                context: request_tag_keys(tags),
            }))
        }
        Operation::TagMfaDevice {
            serial_number,
            tags,
        } => {
            mfa_permission(
                tx,
                ctx,
                op,
                serial_number.as_deref(),
                request_tag_keys(tags),
            )
            .await
        }
        Operation::UntagMfaDevice {
            serial_number,
            tag_keys,
        } => {
            let keys = vec![("aws:TagKeys".to_owned(), tag_keys.clone())];
            mfa_permission(tx, ctx, op, serial_number.as_deref(), keys).await
        }
        Operation::DeleteVirtualMfaDevice { serial_number }
        | Operation::ListMfaDeviceTags { serial_number, .. } => {
            mfa_permission(tx, ctx, op, serial_number.as_deref(), Vec::new()).await
        }
        Operation::EnableMfaDevice { user_name, .. }
        | Operation::ResyncMfaDevice { user_name, .. } => {
            user_permission(tx, ctx, op, Some(&opt(user_name)), None, Vec::new()).await
        }
        Operation::DeactivateMfaDevice { user_name, .. }
        | Operation::ListMfaDevices { user_name, .. }
        | Operation::GetMfaDevice { user_name, .. } => {
            user_permission(tx, ctx, op, user_name.as_deref(), None, Vec::new()).await
        }
        Operation::CreateUser {
            user_name,
            path,
            permissions_boundary,
            tags,
        } => {
            let name = opt(user_name);
            let mut keys = request_tag_keys(tags);
            keys.extend(
                permissions_boundary
                    .iter()
                    .map(|b| ("iam:PermissionsBoundary".to_owned(), vec![b.clone()])),
            );
            user_permission(tx, ctx, op, Some(&name), path.as_deref(), keys).await
        }
        Operation::TagUser { user_name, tags } => {
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
        Operation::UntagUser {
            user_name,
            tag_keys,
        } => {
            let keys = vec![("aws:TagKeys".to_owned(), tag_keys.clone())];
            user_permission(tx, ctx, op, Some(&opt(user_name)), None, keys).await
        }
        Operation::GetUser { user_name }
        | Operation::CreateAccessKey { user_name }
        | Operation::ListAccessKeys { user_name, .. }
        | Operation::UpdateAccessKey { user_name, .. }
        | Operation::DeleteAccessKey { user_name, .. } => {
            user_permission(tx, ctx, op, user_name.as_deref(), None, Vec::new()).await
        }
        Operation::UpdateUser { user_name, .. }
        | Operation::DeleteUser { user_name }
        | Operation::ListUserTags { user_name, .. }
        | Operation::ListGroupsForUser { user_name, .. }
        | Operation::DeleteUserPermissionsBoundary { user_name } => {
            user_permission(tx, ctx, op, Some(&opt(user_name)), None, Vec::new()).await
        }
        Operation::PutUserPermissionsBoundary {
            user_name,
            permissions_boundary,
        } => {
            let keys = permissions_boundary
                .iter()
                .map(|b| ("iam:PermissionsBoundary".to_owned(), vec![b.clone()]))
                .collect();
            user_permission(tx, ctx, op, Some(&opt(user_name)), None, keys).await
        }
        Operation::AttachPolicy {
            entity,
            entity_name,
            policy_arn,
        }
        | Operation::DetachPolicy {
            entity,
            entity_name,
            policy_arn,
        } => {
            let keys = policy_arn_key(policy_arn);
            match entity {
                EntityKind::Group => {
                    group_permission(tx, ctx, op, &opt(entity_name), None, keys).await
                }
                EntityKind::Role => {
                    role_permission(tx, ctx, op, &opt(entity_name), None, keys).await
                }
                EntityKind::User => {
                    user_permission(tx, ctx, op, Some(&opt(entity_name)), None, keys).await
                }
            }
        }
        Operation::ListAttachedPolicies {
            entity,
            entity_name,
            ..
        }
        | Operation::PutInlinePolicy {
            entity,
            entity_name,
            ..
        }
        | Operation::GetInlinePolicy {
            entity,
            entity_name,
            ..
        }
        | Operation::DeleteInlinePolicy {
            entity,
            entity_name,
            ..
        }
        | Operation::ListInlinePolicies {
            entity,
            entity_name,
            ..
        } => match entity {
            EntityKind::Group => {
                group_permission(tx, ctx, op, &opt(entity_name), None, Vec::new()).await
            }
            EntityKind::Role => {
                role_permission(tx, ctx, op, &opt(entity_name), None, Vec::new()).await
            }
            EntityKind::User => {
                user_permission(tx, ctx, op, Some(&opt(entity_name)), None, Vec::new()).await
            }
        },
        Operation::ListRoles { .. } => Ok(list_target(ctx, op, "role")),
        Operation::GetSessionToken { .. } | Operation::GetFederationToken { .. }
            if ctx.caller.session.is_some() =>
        {
            Err(sts::session_credentials_refused(op.name()))
        }
        Operation::GetSessionToken { .. } => Ok(Target::DenyOnly(Permission {
            action: "sts:GetSessionToken".to_owned(),
            resource: "*".to_owned(),
            context: Vec::new(),
        })),
        // Federated users may call no STS operation but `GetCallerIdentity` (GetFederationToken's
        // API reference, "Permissions"), whatever their session policy allows.
        Operation::GetAccessKeyInfo { .. } | Operation::DecodeAuthorizationMessage { .. }
            if matches!(ctx.caller.principal, Principal::FederatedUser { .. }) =>
        {
            Err(ApiError::access_denied(format!(
                "User: {} is not authorized to perform: sts:{}",
                ctx.caller.principal.arn(ctx.partition),
                op.name()
            ))
            .into())
        }
        Operation::GetAccessKeyInfo { .. } | Operation::DecodeAuthorizationMessage { .. } => {
            Ok(Target::Resource(Permission {
                action: format!("sts:{}", op.name()),
                resource: "*".to_owned(),
                context: Vec::new(),
            }))
        }
        Operation::GetFederationToken { name, tags, .. } => Ok(Target::Resource(Permission {
            action: "sts:GetFederationToken".to_owned(),
            resource: crate::principal::federated_user_arn(
                ctx.partition,
                account_id(ctx),
                &opt(name),
            ),
            context: request_tag_keys(tags),
        })),
        Operation::AssumeRole {
            role_arn,
            role_session_name,
            tags,
            transitive_tag_keys,
            external_id,
            serial_number,
            token_code,
            source_identity,
            ..
        } => {
            let arn = opt(role_arn);
            // A chained request carries its session's source identity whether or not it names
            // it again (IAM User Guide, "Monitor and control actions taken with assumed roles").
            let source_identity = source_identity.as_deref().or(ctx
                .caller
                .session
                .as_ref()
                .and_then(|s| s.source_identity.as_deref()));
            let context = sts::assume_role_context(
                tags,
                transitive_tag_keys,
                external_id.as_deref(),
                role_session_name.as_deref(),
                source_identity,
                serial_number.is_some() && token_code.is_some(),
            );
            let permission = Permission {
                action: "sts:AssumeRole".to_owned(),
                resource: arn.clone(),
                context,
            };
            let trust = sts::role_of_arn(tx, ctx, &arn)
                .await?
                .map(|role| sts::trust_policy(ctx, &role));
            Ok(Target::AssumeRole(permission, trust))
        }
        Operation::CreateRole {
            role_name,
            path,
            permissions_boundary,
            tags,
            ..
        } => {
            let mut keys = request_tag_keys(tags);
            keys.extend(
                permissions_boundary
                    .iter()
                    .map(|b| ("iam:PermissionsBoundary".to_owned(), vec![b.clone()])),
            );
            role_permission(tx, ctx, op, &opt(role_name), path.as_deref(), keys).await
        }
        Operation::TagRole { role_name, tags } => {
            role_permission(tx, ctx, op, &opt(role_name), None, request_tag_keys(tags)).await
        }
        Operation::UntagRole {
            role_name,
            tag_keys,
        } => {
            let keys = vec![("aws:TagKeys".to_owned(), tag_keys.clone())];
            role_permission(tx, ctx, op, &opt(role_name), None, keys).await
        }
        Operation::PutRolePermissionsBoundary {
            role_name,
            permissions_boundary,
        } => {
            let keys = permissions_boundary
                .iter()
                .map(|b| ("iam:PermissionsBoundary".to_owned(), vec![b.clone()]))
                .collect();
            role_permission(tx, ctx, op, &opt(role_name), None, keys).await
        }
        Operation::GetRole { role_name }
        | Operation::UpdateRole { role_name, .. }
        | Operation::UpdateRoleDescription { role_name, .. }
        | Operation::UpdateAssumeRolePolicy { role_name, .. }
        | Operation::DeleteRole { role_name }
        | Operation::ListRoleTags { role_name, .. }
        | Operation::DeleteRolePermissionsBoundary { role_name } => {
            role_permission(tx, ctx, op, &opt(role_name), None, Vec::new()).await
        }
        Operation::CreateGroup { group_name, path } => {
            group_permission(tx, ctx, op, &opt(group_name), path.as_deref(), Vec::new()).await
        }
        Operation::GetGroup { group_name, .. }
        | Operation::UpdateGroup { group_name, .. }
        | Operation::DeleteGroup { group_name }
        | Operation::AddUserToGroup { group_name, .. }
        | Operation::RemoveUserFromGroup { group_name, .. } => {
            group_permission(tx, ctx, op, &opt(group_name), None, Vec::new()).await
        }
        Operation::CreatePolicy {
            policy_name,
            path,
            tags,
            ..
        } => {
            let arn = format!(
                "arn:{}:iam::{}:policy{}{}",
                ctx.partition,
                account_id(ctx),
                path.as_deref().unwrap_or("/"),
                opt(policy_name)
            );
            Ok(Target::Resource(Permission {
                action: iam_action(op),
                resource: arn,
                context: request_tag_keys(tags),
            }))
        }
        Operation::TagPolicy { policy_arn, tags } => {
            policy_permission(tx, op, &opt(policy_arn), request_tag_keys(tags)).await
        }
        Operation::UntagPolicy {
            policy_arn,
            tag_keys,
        } => {
            let keys = vec![("aws:TagKeys".to_owned(), tag_keys.clone())];
            policy_permission(tx, op, &opt(policy_arn), keys).await
        }
        Operation::ListPolicyTags { policy_arn, .. }
        | Operation::GetPolicy { policy_arn }
        | Operation::DeletePolicy { policy_arn }
        | Operation::CreatePolicyVersion { policy_arn, .. }
        | Operation::GetPolicyVersion { policy_arn, .. }
        | Operation::ListPolicyVersions { policy_arn, .. }
        | Operation::DeletePolicyVersion { policy_arn, .. }
        | Operation::SetDefaultPolicyVersion { policy_arn, .. }
        | Operation::ListEntitiesForPolicy { policy_arn, .. } => {
            policy_permission(tx, op, &opt(policy_arn), Vec::new()).await
        }
    }
}

async fn run<T: Tx>(tx: &mut T, ctx: &Ctx<'_>, op: Operation) -> Result<Output, OpError> {
    match op {
        Operation::GetCallerIdentity => {
            let p = &ctx.caller.principal;
            Ok(Output::CallerIdentity {
                user_id: p.user_id().into_owned(),
                account: p.account_id().to_owned(),
                arn: p.arn(ctx.partition),
            })
        }
        Operation::CreateUser {
            user_name,
            path,
            permissions_boundary,
            tags,
        } => users::create_user(tx, ctx, user_name, path, permissions_boundary, tags).await,
        Operation::GetUser { user_name } => users::get_user(tx, ctx, user_name).await,
        Operation::ListUsers {
            path_prefix,
            marker,
            max_items,
        } => users::list_users(tx, ctx, path_prefix, marker, max_items).await,
        Operation::UpdateUser {
            user_name,
            new_user_name,
            new_path,
        } => users::update_user(tx, ctx, user_name, new_user_name, new_path).await,
        Operation::DeleteUser { user_name } => users::delete_user(tx, ctx, user_name).await,
        Operation::TagUser { user_name, tags } => users::tag_user(tx, ctx, user_name, tags).await,
        Operation::UntagUser {
            user_name,
            tag_keys,
        } => users::untag_user(tx, ctx, user_name, tag_keys).await,
        Operation::ListUserTags {
            user_name,
            marker,
            max_items,
        } => users::list_user_tags(tx, ctx, user_name, marker, max_items).await,
        Operation::CreateAccessKey { user_name } => {
            access_keys::create_access_key(tx, ctx, user_name).await
        }
        Operation::ListAccessKeys {
            user_name,
            marker,
            max_items,
        } => access_keys::list_access_keys(tx, ctx, user_name, marker, max_items).await,
        Operation::UpdateAccessKey {
            user_name,
            access_key_id,
            status,
        } => access_keys::update_access_key(tx, ctx, user_name, access_key_id, status).await,
        Operation::DeleteAccessKey {
            user_name,
            access_key_id,
        } => access_keys::delete_access_key(tx, ctx, user_name, access_key_id).await,
        op @ (Operation::CreatePolicy { .. }
        | Operation::GetPolicy { .. }
        | Operation::DeletePolicy { .. }
        | Operation::ListPolicies { .. }
        | Operation::CreatePolicyVersion { .. }
        | Operation::GetPolicyVersion { .. }
        | Operation::ListPolicyVersions { .. }
        | Operation::DeletePolicyVersion { .. }
        | Operation::SetDefaultPolicyVersion { .. }
        | Operation::ListEntitiesForPolicy { .. }
        | Operation::TagPolicy { .. }
        | Operation::UntagPolicy { .. }
        | Operation::ListPolicyTags { .. }) => policies::run(tx, ctx, op).await,
        op @ (Operation::AttachPolicy { .. }
        | Operation::DetachPolicy { .. }
        | Operation::ListAttachedPolicies { .. }
        | Operation::PutInlinePolicy { .. }
        | Operation::GetInlinePolicy { .. }
        | Operation::DeleteInlinePolicy { .. }
        | Operation::ListInlinePolicies { .. }
        | Operation::PutUserPermissionsBoundary { .. }
        | Operation::DeleteUserPermissionsBoundary { .. }) => attachments::run(tx, ctx, op).await,
        op @ (Operation::CreateGroup { .. }
        | Operation::GetGroup { .. }
        | Operation::UpdateGroup { .. }
        | Operation::DeleteGroup { .. }
        | Operation::ListGroups { .. }
        | Operation::AddUserToGroup { .. }
        | Operation::RemoveUserFromGroup { .. }
        | Operation::ListGroupsForUser { .. }) => groups::run(tx, ctx, op).await,
        Operation::CreateVirtualMfaDevice { name, path, tags } => {
            mfa::create_virtual_mfa_device(tx, ctx, name, path, tags).await
        }
        Operation::EnableMfaDevice {
            user_name,
            serial_number,
            code1,
            code2,
        } => mfa::enable_mfa_device(tx, ctx, user_name, serial_number, code1, code2).await,
        Operation::ResyncMfaDevice {
            user_name,
            serial_number,
            code1,
            code2,
        } => mfa::resync_mfa_device(tx, ctx, user_name, serial_number, code1, code2).await,
        Operation::DeactivateMfaDevice {
            user_name,
            serial_number,
        } => mfa::deactivate_mfa_device(tx, ctx, user_name, serial_number).await,
        Operation::DeleteVirtualMfaDevice { serial_number } => {
            mfa::delete_virtual_mfa_device(tx, ctx, serial_number).await
        }
        Operation::ListMfaDevices {
            user_name,
            marker,
            max_items,
        } => mfa::list_mfa_devices(tx, ctx, user_name, marker, max_items).await,
        Operation::ListVirtualMfaDevices {
            assignment_status,
            marker,
            max_items,
        } => mfa::list_virtual_mfa_devices(tx, ctx, assignment_status, marker, max_items).await,
        Operation::GetMfaDevice {
            serial_number,
            user_name,
        } => mfa::get_mfa_device(tx, ctx, serial_number, user_name).await,
        Operation::TagMfaDevice {
            serial_number,
            tags,
        } => mfa::tag_mfa_device(tx, ctx, serial_number, tags).await,
        Operation::UntagMfaDevice {
            serial_number,
            tag_keys,
        } => mfa::untag_mfa_device(tx, ctx, serial_number, tag_keys).await,
        Operation::ListMfaDeviceTags {
            serial_number,
            marker,
            max_items,
        } => mfa::list_mfa_device_tags(tx, ctx, serial_number, marker, max_items).await,
        op @ (Operation::CreateLoginProfile { .. }
        | Operation::GetLoginProfile { .. }
        | Operation::UpdateLoginProfile { .. }
        | Operation::DeleteLoginProfile { .. }
        | Operation::ChangePassword { .. }
        | Operation::UpdateAccountPasswordPolicy { .. }
        | Operation::GetAccountPasswordPolicy
        | Operation::DeleteAccountPasswordPolicy
        | Operation::CreateAccountAlias { .. }
        | Operation::DeleteAccountAlias { .. }
        | Operation::ListAccountAliases { .. }
        | Operation::GetAccessKeyLastUsed { .. }) => passwords::run(tx, ctx, op).await,
        Operation::GetAccountSummary => account::summary(tx, ctx).await,
        Operation::GetAccountAuthorizationDetails {
            filter,
            marker,
            max_items,
        } => account::authorization_details(tx, ctx, filter, marker, max_items).await,
        op @ (Operation::CreateRole { .. }
        | Operation::GetRole { .. }
        | Operation::UpdateRole { .. }
        | Operation::UpdateRoleDescription { .. }
        | Operation::UpdateAssumeRolePolicy { .. }
        | Operation::DeleteRole { .. }
        | Operation::ListRoles { .. }
        | Operation::TagRole { .. }
        | Operation::UntagRole { .. }
        | Operation::ListRoleTags { .. }
        | Operation::PutRolePermissionsBoundary { .. }
        | Operation::DeleteRolePermissionsBoundary { .. }) => roles::run(tx, ctx, op).await,
        Operation::GetSessionToken {
            duration_seconds,
            serial_number,
            token_code,
        } => sts::get_session_token(tx, ctx, duration_seconds, serial_number, token_code).await,
        Operation::AssumeRole {
            role_arn,
            role_session_name,
            policy_arns,
            policy,
            duration_seconds,
            tags,
            transitive_tag_keys,
            external_id,
            serial_number,
            token_code,
            source_identity,
        } => {
            sts::assume_role(
                tx,
                ctx,
                role_arn,
                role_session_name,
                policy_arns,
                policy,
                duration_seconds,
                tags,
                transitive_tag_keys,
                external_id,
                serial_number,
                token_code,
                source_identity,
            )
            .await
        }
        Operation::GetFederationToken {
            name,
            policy,
            policy_arns,
            duration_seconds,
            tags,
        } => {
            sts::get_federation_token(tx, ctx, name, policy, policy_arns, duration_seconds, tags)
                .await
        }
        Operation::GetAccessKeyInfo { access_key_id } => {
            sts::get_access_key_info(tx, ctx, access_key_id).await
        }
        Operation::DecodeAuthorizationMessage { encoded_message } => {
            sts::decode_authorization_message(encoded_message)
        }
    }
}

/// What IAM answers when an operation that defaults to the caller is called by a role or
/// federated session without naming the user.
pub(crate) fn non_user_credentials() -> ApiError {
    ApiError::validation("Must specify userName when calling with non-User credentials")
}

pub(crate) fn validate_tags(v: &mut Validator, tags: &[Tag]) {
    for (i, tag) in tags.iter().enumerate() {
        let n = i + 1;
        v.string(&format!("tags.{n}.member.key"), &tag.key, &v::TAG_KEY);
        v.string(&format!("tags.{n}.member.value"), &tag.value, &v::TAG_VALUE);
    }
    v.list_len("tags", &render_tags(tags), tags.len(), TAGS_PER_ENTITY);
}

/// The `tagKeys` member of an Untag request: required, each a tag key, at most 50.
pub(crate) fn validate_tag_keys(v: &mut Validator, tag_keys: &[String]) {
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
}

pub(crate) fn render_tags(tags: &[Tag]) -> String {
    let inner: Vec<String> = tags
        .iter()
        .map(|t| format!("Tag(Key={}, Value={})", t.key, t.value))
        .collect();
    format!("[{}]", inner.join(", "))
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

pub(crate) fn page_params(
    v: &mut Validator,
    marker: Option<&str>,
    max_items: Option<i64>,
) -> usize {
    v.opt_string("marker", marker, &v::MARKER);
    let max = max_items.unwrap_or(DEFAULT_MAX_ITEMS);
    v.range("maxItems", max, 1, 1000);
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

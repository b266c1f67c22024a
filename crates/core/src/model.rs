//! The entities IAM manages, as the store keeps them.

use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    pub created: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub account_id: String,
    /// `AIDA...`; stable across renames, so everything a user owns refers to it.
    pub user_id: String,
    pub name: String,
    pub path: String,
    pub created: OffsetDateTime,
    pub tags: Vec<Tag>,
    /// ARN of the managed policy that bounds this user's permissions.
    pub permissions_boundary: Option<String>,
    /// Last successful console sign-in (`PasswordLastUsed`).
    pub password_last_used: Option<OffsetDateTime>,
}

impl User {
    pub fn arn(&self, partition: &str) -> String {
        user_arn(partition, &self.account_id, &self.path, &self.name)
    }
}

/// `arn:aws:iam::ACCOUNT:user/PATH/NAME`; the path's slashes frame the name as AWS prints it.
pub fn user_arn(partition: &str, account_id: &str, path: &str, name: &str) -> String {
    format!("arn:{partition}:iam::{account_id}:user{path}{name}")
}

pub fn root_arn(partition: &str, account_id: &str) -> String {
    format!("arn:{partition}:iam::{account_id}:root")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    Active,
    Inactive,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "Active",
            KeyStatus::Inactive => "Inactive",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "Active" => Some(KeyStatus::Active),
            "Inactive" => Some(KeyStatus::Inactive),
            _ => None,
        }
    }
}

/// A long-term access key. The secret is kept sealed under the master key; whoever needs it
/// (signature verification) opens it with [`crate::crypto::MasterKey::open`] and the key ID.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessKey {
    pub access_key_id: String,
    pub account_id: String,
    /// `None` for a root user's key.
    pub user_id: Option<String>,
    pub status: KeyStatus,
    pub created: OffsetDateTime,
    pub sealed_secret: Vec<u8>,
    /// Last use, recorded at most once per [`crate::ops::KEY_LAST_USED_INTERVAL`].
    pub last_used: Option<KeyLastUsed>,
}

impl std::fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKey")
            .field("access_key_id", &self.access_key_id)
            .field("account_id", &self.account_id)
            .field("user_id", &self.user_id)
            .field("status", &self.status)
            .field("created", &self.created)
            .field("sealed_secret", &"**sealed**")
            .field("last_used", &self.last_used)
            .finish()
    }
}

/// Who a policy is attached to, or who owns an inline policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntityKind {
    User,
    Group,
    Role,
}

impl EntityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::User => "user",
            EntityKind::Group => "group",
            EntityKind::Role => "role",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "user" => Some(EntityKind::User),
            "group" => Some(EntityKind::Group),
            "role" => Some(EntityKind::Role),
            _ => None,
        }
    }
}

/// The account that owns AWS managed policies (`arn:aws:iam::aws:policy/...`).
pub const AWS_OWNER: &str = "aws";

/// A managed policy, customer or AWS managed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedPolicy {
    /// `ANPA...`.
    pub policy_id: String,
    /// Owning account, or [`AWS_OWNER`].
    pub account_id: String,
    pub name: String,
    pub path: String,
    pub arn: String,
    pub description: Option<String>,
    pub default_version_id: String,
    /// Number the next version gets (`v{n}`); version IDs are never reused.
    pub next_version: i64,
    pub created: OffsetDateTime,
    pub updated: OffsetDateTime,
    pub tags: Vec<Tag>,
    /// Users, groups and roles it is attached to (computed by the store).
    pub attachment_count: i64,
    /// Users and roles that use it as permissions boundary (computed by the store).
    pub boundary_usage_count: i64,
}

impl ManagedPolicy {
    pub fn is_attachable(&self) -> bool {
        true
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyVersion {
    pub policy_id: String,
    pub version_id: String,
    /// The document as the client sent it.
    pub document: String,
    pub created: OffsetDateTime,
}

/// A policy attachment as listed: the policy's name and ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachedPolicy {
    pub name: String,
    pub arn: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub account_id: String,
    /// `AGPA...`.
    pub group_id: String,
    pub name: String,
    pub path: String,
    pub created: OffsetDateTime,
}

impl Group {
    pub fn arn(&self, partition: &str) -> String {
        format!(
            "arn:{partition}:iam::{}:group{}{}",
            self.account_id, self.path, self.name
        )
    }
}

/// A policy document that applies to a principal, as gathered for authorisation: `id` names it
/// in decisions (`arn:aws:iam::...:policy/X`, `user/alice/inline/P`, `group/dev/inline/P`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySource {
    pub id: String,
    pub document: String,
}

/// `arn:aws:iam::ACCOUNT:mfa/PATH/NAME`, a virtual MFA device's serial number.
pub fn mfa_serial(partition: &str, account_id: &str, path: &str, name: &str) -> String {
    format!("arn:{partition}:iam::{account_id}:mfa{path}{name}")
}

/// A virtual MFA device. The seed is kept sealed under the master key with the serial number as
/// context; `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct MfaDevice {
    pub serial: String,
    pub account_id: String,
    pub name: String,
    pub path: String,
    /// The user the device is assigned to (`EnableMFADevice`), if any.
    pub user_id: Option<String>,
    pub enable_date: Option<OffsetDateTime>,
    pub created: OffsetDateTime,
    pub sealed_seed: Vec<u8>,
    /// How many 30-second steps the device's clock runs ahead of the server's (set by enabling
    /// and by `ResyncMFADevice`).
    pub offset_steps: i64,
    /// The last time step whose code was accepted: no code of it or an earlier step is accepted.
    pub last_step: Option<i64>,
    pub tags: Vec<Tag>,
}

impl std::fmt::Debug for MfaDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaDevice")
            .field("serial", &self.serial)
            .field("user_id", &self.user_id)
            .field("enable_date", &self.enable_date)
            .field("offset_steps", &self.offset_steps)
            .field("last_step", &self.last_step)
            .field("sealed_seed", &"**sealed**")
            .finish_non_exhaustive()
    }
}

/// Why an MFA code was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfaFailureReason {
    /// No step within the accepted window has this code.
    WrongCode,
    /// The code's step was already used.
    Replay,
    /// The device exists but is not assigned to any user.
    NotEnabled,
    /// The device is assigned to another user.
    NotAssignedToUser,
    /// No device has this serial number.
    WrongSerial,
    /// Too many recent failures: the device refuses every code for a while.
    Throttled,
}

impl MfaFailureReason {
    pub fn as_str(self) -> &'static str {
        match self {
            MfaFailureReason::WrongCode => "wrong_code",
            MfaFailureReason::Replay => "replay",
            MfaFailureReason::NotEnabled => "device_not_enabled",
            MfaFailureReason::NotAssignedToUser => "device_not_assigned_to_user",
            MfaFailureReason::WrongSerial => "wrong_serial",
            MfaFailureReason::Throttled => "throttled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            MfaFailureReason::WrongCode,
            MfaFailureReason::Replay,
            MfaFailureReason::NotEnabled,
            MfaFailureReason::NotAssignedToUser,
            MfaFailureReason::WrongSerial,
            MfaFailureReason::Throttled,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

/// One refused MFA code: what the doctor reads to diagnose drift, and the audit beside it. It
/// never holds the code itself. (The throttle counts [`MfaAttempt`]s.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaFailure {
    /// The serial number as the request gave it.
    pub serial: String,
    pub account_id: String,
    /// The user the code was offered for, when known.
    pub user_id: Option<String>,
    pub reason: MfaFailureReason,
    /// Where, relative to the server's clock, the code would have matched (±10 minutes).
    pub matched_offset_secs: Option<i64>,
    pub time: OffsetDateTime,
    /// The request that offered the code (links the record to the audit trail).
    pub request_id: Option<String>,
}

/// An attempt at a code of one MFA device, reserved before the code is looked at
/// ([`crate::store::Tx::reserve_mfa_attempt`]): the throttle counts the attempts that were not
/// released (their code was refused, or is still being checked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MfaAttempt(pub i64);

/// A user's console password. The hash is argon2id (see [`crate::password`]); `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct LoginProfile {
    pub user_id: String,
    pub password_hash: String,
    pub password_reset_required: bool,
    pub created: OffsetDateTime,
    /// When the current password was set (for `MaxPasswordAge`).
    pub password_changed: OffsetDateTime,
}

impl std::fmt::Debug for LoginProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginProfile")
            .field("user_id", &self.user_id)
            .field("password_hash", &"**redacted**")
            .field("password_reset_required", &self.password_reset_required)
            .field("created", &self.created)
            .field("password_changed", &self.password_changed)
            .finish()
    }
}

/// When, for which service and in which region an access key was last used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLastUsed {
    pub date: OffsetDateTime,
    pub service: String,
    pub region: String,
}

/// An IAM role: its trust policy says who may assume it; its attached and inline policies (and
/// boundary) say what its sessions may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub account_id: String,
    /// `AROA...`; stable for the role's life, so sessions and attachments refer to it.
    pub role_id: String,
    pub name: String,
    pub path: String,
    pub created: OffsetDateTime,
    /// The trust policy, as the client sent it.
    pub assume_role_policy: String,
    pub description: Option<String>,
    /// Longest session `AssumeRole` may grant, in seconds (3,600–43,200).
    pub max_session_duration: i64,
    pub permissions_boundary: Option<String>,
    pub tags: Vec<Tag>,
    /// When a session of the role was last issued, and in which region.
    pub last_used: Option<(OffsetDateTime, String)>,
}

impl Role {
    pub fn arn(&self, partition: &str) -> String {
        role_arn(partition, &self.account_id, &self.path, &self.name)
    }
}

/// `arn:aws:iam::ACCOUNT:role/PATH/NAME`.
pub fn role_arn(partition: &str, account_id: &str, path: &str, name: &str) -> String {
    format!("arn:{partition}:iam::{account_id}:role{path}{name}")
}

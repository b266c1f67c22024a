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
            .finish()
    }
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

/// One refused MFA code: what the doctor reads to diagnose drift and what the throttle counts.
/// It never holds the code itself.
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

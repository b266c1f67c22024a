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

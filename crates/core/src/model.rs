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

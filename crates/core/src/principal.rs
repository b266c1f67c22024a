//! Who is making a request, once authenticated.

use crate::model::{User, root_arn};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The account's root user.
    Root { account_id: String },
    /// An IAM user.
    User(User),
}

impl Principal {
    pub fn account_id(&self) -> &str {
        match self {
            Principal::Root { account_id } => account_id,
            Principal::User(u) => &u.account_id,
        }
    }

    pub fn arn(&self, partition: &str) -> String {
        match self {
            Principal::Root { account_id } => root_arn(partition, account_id),
            Principal::User(u) => u.arn(partition),
        }
    }

    /// What `GetCallerIdentity` reports as `UserId`: the account ID for root, `AIDA...` for users.
    pub fn user_id(&self) -> &str {
        match self {
            Principal::Root { account_id } => account_id,
            Principal::User(u) => &u.user_id,
        }
    }

    /// CloudTrail's `userIdentity.type`.
    pub fn identity_type(&self) -> &'static str {
        match self {
            Principal::Root { .. } => "Root",
            Principal::User(_) => "IAMUser",
        }
    }

    pub fn user_name(&self) -> Option<&str> {
        match self {
            Principal::Root { .. } => None,
            Principal::User(u) => Some(&u.name),
        }
    }
}

/// An authenticated caller: the principal and the access key that signed the request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    pub access_key_id: String,
    /// When the key's last use was recorded (see [`crate::ops::KEY_LAST_USED_INTERVAL`]).
    pub key_last_used: Option<time::OffsetDateTime>,
}

//! Who is making a request, once authenticated.

use std::borrow::Cow;

use crate::model::{Role, User, root_arn};
use crate::session::Session;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The account's root user.
    Root { account_id: String },
    /// An IAM user.
    User(User),
    /// A session of a role (`AssumeRole`).
    AssumedRole { role: Role, session_name: String },
    /// A `GetFederationToken` session of an IAM user (`parent`), or of the root user (`None`).
    FederatedUser {
        account_id: String,
        parent: Option<User>,
        name: String,
    },
}

/// `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION` (the role's path is not part of it).
pub fn assumed_role_arn(partition: &str, account_id: &str, role: &str, session: &str) -> String {
    format!("arn:{partition}:sts::{account_id}:assumed-role/{role}/{session}")
}

/// `arn:aws:sts::ACCOUNT:federated-user/NAME`.
pub fn federated_user_arn(partition: &str, account_id: &str, name: &str) -> String {
    format!("arn:{partition}:sts::{account_id}:federated-user/{name}")
}

impl Principal {
    pub fn account_id(&self) -> &str {
        match self {
            Principal::Root { account_id } | Principal::FederatedUser { account_id, .. } => {
                account_id
            }
            Principal::User(u) => &u.account_id,
            Principal::AssumedRole { role, .. } => &role.account_id,
        }
    }

    pub fn arn(&self, partition: &str) -> String {
        match self {
            Principal::Root { account_id } => root_arn(partition, account_id),
            Principal::User(u) => u.arn(partition),
            Principal::AssumedRole { role, session_name } => {
                assumed_role_arn(partition, &role.account_id, &role.name, session_name)
            }
            Principal::FederatedUser {
                account_id, name, ..
            } => federated_user_arn(partition, account_id, name),
        }
    }

    /// What `GetCallerIdentity` reports as `UserId`: the account ID for root, `AIDA...` for
    /// users, `AROA...:SESSION` for role sessions, `ACCOUNT:NAME` for federated users.
    pub fn user_id(&self) -> Cow<'_, str> {
        match self {
            Principal::Root { account_id } => Cow::Borrowed(account_id),
            Principal::User(u) => Cow::Borrowed(&u.user_id),
            Principal::AssumedRole { role, session_name } => {
                Cow::Owned(format!("{}:{session_name}", role.role_id))
            }
            Principal::FederatedUser {
                account_id, name, ..
            } => Cow::Owned(format!("{account_id}:{name}")),
        }
    }

    /// CloudTrail's `userIdentity.type`.
    pub fn identity_type(&self) -> &'static str {
        match self {
            Principal::Root { .. } => "Root",
            Principal::User(_) => "IAMUser",
            Principal::AssumedRole { .. } => "AssumedRole",
            Principal::FederatedUser { .. } => "FederatedUser",
        }
    }

    pub fn user_name(&self) -> Option<&str> {
        match self {
            Principal::User(u) => Some(&u.name),
            _ => None,
        }
    }
}

/// An authenticated caller: the principal, the access key that signed the request and, for
/// temporary credentials, the session the token carried.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    pub access_key_id: String,
    /// When the key's last use was recorded (see [`crate::ops::KEY_LAST_USED_INTERVAL`]).
    pub key_last_used: Option<time::OffsetDateTime>,
    pub session: Option<Session>,
}

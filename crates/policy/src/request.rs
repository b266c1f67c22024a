//! The request being authorised: who, what, on which resource, with which context.

use crate::context::Context;

/// What kind of caller makes the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrincipalKind {
    /// The account root user (`arn:aws:iam::ACCT:root`).
    Root,
    /// An IAM user with long-term (or `GetSessionToken`) credentials.
    User,
    /// A role session (`arn:aws:sts::ACCT:assumed-role/ROLE/SESSION`).
    AssumedRole,
    /// A `GetFederationToken` session (`arn:aws:sts::ACCT:federated-user/NAME`).
    FederatedUser,
    /// An AWS service principal; `arn` holds its name (`ec2.amazonaws.com`).
    Service,
    /// A web-identity or SAML caller of `AssumeRoleWith*`; `arn` holds the provider.
    WebIdentity,
    /// An S3-style canonical user id in `arn`.
    CanonicalUser,
    /// Unauthenticated.
    Anonymous,
}

/// The caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub kind: PrincipalKind,
    /// The caller's ARN (session ARN for sessions).
    pub arn: String,
    /// The caller's 12-digit account id (empty for services and anonymous callers).
    pub account: String,
    /// For sessions: the role ARN (assumed role) or IAM user ARN (federated user) behind it.
    pub source_arn: Option<String>,
}

fn account_of(arn: &str) -> String {
    arn.split(':').nth(4).unwrap_or_default().to_owned()
}

impl Principal {
    pub fn root(account: &str) -> Principal {
        Principal {
            kind: PrincipalKind::Root,
            arn: format!("arn:aws:iam::{account}:root"),
            account: account.to_owned(),
            source_arn: None,
        }
    }

    /// An IAM user, from its ARN.
    pub fn user(arn: &str) -> Principal {
        Principal {
            kind: PrincipalKind::User,
            arn: arn.to_owned(),
            account: account_of(arn),
            source_arn: None,
        }
    }

    /// A role session: its `assumed-role` ARN and the role's ARN.
    pub fn assumed_role(session_arn: &str, role_arn: &str) -> Principal {
        Principal {
            kind: PrincipalKind::AssumedRole,
            arn: session_arn.to_owned(),
            account: account_of(session_arn),
            source_arn: Some(role_arn.to_owned()),
        }
    }

    /// A federated-user session: its `federated-user` ARN and the IAM user that called `GetFederationToken`.
    pub fn federated_user(session_arn: &str, user_arn: &str) -> Principal {
        Principal {
            kind: PrincipalKind::FederatedUser,
            arn: session_arn.to_owned(),
            account: account_of(session_arn),
            source_arn: Some(user_arn.to_owned()),
        }
    }

    pub fn service(name: &str) -> Principal {
        Principal {
            kind: PrincipalKind::Service,
            arn: name.to_owned(),
            account: String::new(),
            source_arn: None,
        }
    }

    pub fn web_identity(provider: &str) -> Principal {
        Principal {
            kind: PrincipalKind::WebIdentity,
            arn: provider.to_owned(),
            account: String::new(),
            source_arn: None,
        }
    }

    pub fn anonymous() -> Principal {
        Principal {
            kind: PrincipalKind::Anonymous,
            arn: "anonymous".to_owned(),
            account: String::new(),
            source_arn: None,
        }
    }

    pub(crate) fn is_iam(&self) -> bool {
        matches!(
            self.kind,
            PrincipalKind::Root
                | PrincipalKind::User
                | PrincipalKind::AssumedRole
                | PrincipalKind::FederatedUser
        )
    }

    pub(crate) fn is_session(&self) -> bool {
        matches!(
            self.kind,
            PrincipalKind::AssumedRole | PrincipalKind::FederatedUser
        )
    }
}

/// One authorisation question: may `principal` do `action` on `resource` given `context`?
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub principal: Principal,
    /// `service:Action`, compared case-insensitively.
    pub action: String,
    /// The resource ARN (case-sensitive), or `*` where the action has no resource.
    pub resource: String,
    pub context: Context,
}

impl Request {
    pub fn new(principal: Principal, action: &str, resource: &str) -> Request {
        Request {
            principal,
            action: action.to_owned(),
            resource: resource.to_owned(),
            context: Context::new(),
        }
    }

    pub fn with_context(mut self, context: Context) -> Request {
        self.context = context;
        self
    }

    /// The first half of AWS's `AccessDenied` message, without the reason: `User: ARN is not
    /// authorized to perform: ACTION on resource: RESOURCE` (actions without a resource, `*`, end
    /// at the action). STS words a refused `AssumeRole` exactly so.
    pub fn not_authorized(&self) -> String {
        let mut msg = format!(
            "User: {} is not authorized to perform: {}",
            self.principal.arn, self.action
        );
        // Actions without a resource (`*`) read "... perform: codecommit:ListRepositories because ...".
        if !self.resource.is_empty() && self.resource != "*" {
            msg.push_str(" on resource: ");
            msg.push_str(&self.resource);
        }
        msg
    }
}

//! The authorisation decision of one request, as the policy engine made it: the one value the
//! refusal, the audit record, the metrics, the simulator and the doctor read.

use keyward_policy::{DecisionKind, Effect, PolicyKind};

/// When a decision refuses the request, and how the refusal reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Refused unless allowed; the message names the policy type that decided.
    Explained,
    /// Refused only by an explicit deny (actions AWS lets through unless a policy denies them,
    /// such as `sts:GetSessionToken`).
    ExplicitDenyOnly,
    /// Refused unless allowed; an implicit deny reads without its reason, as STS words a refused
    /// `AssumeRole` whichever policy failed to allow it (and whether or not the role exists).
    UnexplainedImplicitDeny,
}

/// A statement that applied to the request (the engine's `MatchedStatement`, owned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchedStatement {
    pub policy_kind: PolicyKind,
    pub policy_id: String,
    /// Zero-based position in the policy's `Statement` list.
    pub index: usize,
    pub sid: Option<String>,
    pub effect: Effect,
}

/// What one policy type said about the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeResult {
    /// A statement of this type explicitly denies.
    Deny,
    /// A statement of this type allows (and none denies).
    Allow,
    /// Policies of this type apply to the principal, but no statement matched.
    NoMatch,
}

/// The authorisation decision of one request: the engine's decision, owned (it outlives the
/// compiled policies), with the request it was made for and how a refusal reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub principal_arn: String,
    pub action: String,
    pub resource: String,
    /// The engine's outcome (before `refusal` says what an implicit deny means here).
    pub kind: DecisionKind,
    /// The policy type that decided (for an implicit deny: the type that failed to allow).
    pub policy_kind: Option<PolicyKind>,
    /// The deciding policy, where one policy decided.
    pub policy_id: Option<String>,
    /// Every statement that applied, in evaluation order.
    pub matched: Vec<MatchedStatement>,
    /// Context keys the applicable statements referenced but the request lacked.
    pub missing_context_keys: Vec<String>,
    /// Each policy type the principal has, and what it said.
    pub per_type: Vec<(PolicyKind, TypeResult)>,
    pub refusal: Refusal,
    /// AWS's `AccessDenied` message when the request is refused; `None` when allowed.
    pub denial: Option<String>,
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        self.denial.is_none()
    }

    /// The policy type that decided, as a metric label (`none` when no single type did).
    pub fn policy_type(&self) -> &'static str {
        match self.policy_kind {
            None => "none",
            Some(PolicyKind::Identity) => "identity",
            Some(PolicyKind::Resource) => "resource",
            Some(PolicyKind::Trust) => "trust",
            Some(PolicyKind::ServiceControl) => "service_control",
            Some(PolicyKind::Boundary) => "boundary",
            Some(PolicyKind::Session) => "session",
        }
    }

    /// `Allow`, `ExplicitDeny` or `ImplicitDeny`: the outcome as the request saw it.
    pub fn effect(&self) -> &'static str {
        match (self.kind, self.is_allowed()) {
            (DecisionKind::ExplicitDeny, _) => "ExplicitDeny",
            (_, true) => "Allow",
            (_, false) => "ImplicitDeny",
        }
    }
}

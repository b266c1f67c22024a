//! AWS's policy evaluation logic over every policy type, with the explanation of the decision.
//!
//! Order (IAM User Guide, "Policy evaluation logic"): explicit deny anywhere → SCPs must allow
//! (their refusal counts as explicit) → same-account resource-based policy → identity-based
//! policies → permissions boundary → session policies. Cross-account, the identity side and the
//! resource-based policy must both allow.

use crate::policy::{Effect, Grant, Missing, Policy, PolicyKind};
use crate::request::{PrincipalKind, Request};

/// The policies that apply to one request, borrowed and grouped by type.
#[derive(Debug, Clone, Default)]
pub struct PolicySet<'p> {
    /// Service control policies, one list per level (root, OUs, account); every level must allow.
    pub service_control: Vec<Vec<&'p Policy>>,
    /// Identity-based policies: inline and managed, the user's and its groups', or the role's.
    pub identity: Vec<&'p Policy>,
    pub boundary: Option<&'p Policy>,
    /// Session policies (inline `Policy` and `PolicyArns`); any of them may allow.
    pub session: Vec<&'p Policy>,
    /// The resource's policy (kind `Resource` or `Trust`).
    pub resource: Option<&'p Policy>,
    /// The account owning the resource; `None` means the caller's own account.
    pub resource_account: Option<&'p str>,
}

/// The outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DecisionKind {
    Allow,
    ExplicitDeny,
    ImplicitDeny,
}

/// A statement that applied to the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatchedStatement<'p> {
    pub policy_kind: PolicyKind,
    pub policy_id: &'p str,
    /// Zero-based position in the policy's `Statement` list.
    pub index: usize,
    pub sid: Option<&'p str>,
    pub effect: Effect,
}

/// A decision and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision<'p> {
    pub kind: DecisionKind,
    /// The policy type that decided (for `ImplicitDeny`: the type that failed to allow).
    pub policy_kind: Option<PolicyKind>,
    /// The deciding policy, where one policy decided.
    pub policy_id: Option<&'p str>,
    /// Every statement that applied, in evaluation order.
    pub matched: Vec<MatchedStatement<'p>>,
    /// Context keys the applicable statements referenced but the request lacked (deduplicated).
    pub missing_context_keys: Vec<&'p str>,
}

#[derive(Default, Clone, Copy)]
struct Scan<'p> {
    allow: Option<(Grant, &'p str)>,
    deny: Option<&'p str>,
}

struct Evaluator<'r, 'p> {
    request: &'r Request,
    /// The action's service prefix (`iam` of `iam:CreateUser`).
    service: &'r str,
    matched: Vec<MatchedStatement<'p>>,
    missing: Missing<'p>,
}

impl<'p> Evaluator<'_, 'p> {
    fn scan(&mut self, policy: &'p Policy, scan: &mut Scan<'p>) {
        let r = self.request;
        for (index, st) in policy.statements.iter().enumerate() {
            let Some(grant) = st.applies(policy.kind(), r, self.service, &mut self.missing) else {
                continue;
            };
            self.matched.push(MatchedStatement {
                policy_kind: policy.kind(),
                policy_id: policy.id(),
                index,
                sid: st.sid.as_deref(),
                effect: st.effect,
            });
            match st.effect {
                Effect::Deny => {
                    scan.deny.get_or_insert(policy.id());
                }
                Effect::Allow => {
                    if scan.allow.is_none_or(|(g, _)| grant > g) {
                        scan.allow = Some((grant, policy.id()));
                    }
                }
            }
        }
    }

    fn finish(
        mut self,
        kind: DecisionKind,
        policy_kind: Option<PolicyKind>,
        policy_id: Option<&'p str>,
    ) -> Decision<'p> {
        if self.missing.len() > 1 {
            self.missing.sort_unstable();
            self.missing.dedup();
        }
        Decision {
            kind,
            policy_kind,
            policy_id,
            matched: self.matched,
            missing_context_keys: self.missing,
        }
    }
}

/// Evaluates a request against a policy set with AWS's logic.
pub fn evaluate<'p>(request: &Request, set: &PolicySet<'p>) -> Decision<'p> {
    let service = request.action.split_once(':').map_or("", |(s, _)| s);
    let mut ev = Evaluator {
        request,
        service,
        matched: Vec::new(),
        missing: Vec::new(),
    };
    let principal = &request.principal;
    let in_account = principal.is_iam();

    // Scan everything once: explicit denies anywhere win, and every applicable statement is reported.
    let mut first_unallowed_level: Option<Option<&'p str>> = None;
    let mut scp_deny = None;
    if in_account {
        for level in &set.service_control {
            let mut scan = Scan::default();
            for p in level {
                ev.scan(p, &mut scan);
            }
            scp_deny = scp_deny.or(scan.deny);
            if scan.allow.is_none() && !level.is_empty() && first_unallowed_level.is_none() {
                first_unallowed_level = Some(level.first().map(|p| p.id()));
            }
        }
    }
    let mut identity = Scan::default();
    let mut boundary = Scan::default();
    let mut session = Scan::default();
    if in_account {
        for p in &set.identity {
            ev.scan(p, &mut identity);
        }
        if let Some(b) = set.boundary {
            ev.scan(b, &mut boundary);
        }
        for p in &set.session {
            ev.scan(p, &mut session);
        }
    }
    let mut resource = Scan::default();
    if let Some(r) = set.resource {
        ev.scan(r, &mut resource);
    }
    let resource_kind = set.resource.map_or(PolicyKind::Resource, |r| r.kind());

    let denies = [
        (PolicyKind::ServiceControl, scp_deny),
        (PolicyKind::Identity, identity.deny),
        (PolicyKind::Boundary, boundary.deny),
        (PolicyKind::Session, session.deny),
        (resource_kind, resource.deny),
    ];
    if let Some((kind, id)) = denies.into_iter().find(|(_, d)| d.is_some()) {
        return ev.finish(DecisionKind::ExplicitDeny, Some(kind), id);
    }
    if let Some(level) = first_unallowed_level {
        return ev.finish(
            DecisionKind::ExplicitDeny,
            Some(PolicyKind::ServiceControl),
            level,
        );
    }

    // Callers outside IAM (services, identity providers, anonymous) have only the resource side.
    if !in_account {
        return match resource.allow {
            Some((_, id)) => ev.finish(DecisionKind::Allow, Some(resource_kind), Some(id)),
            None => ev.finish(
                DecisionKind::ImplicitDeny,
                Some(resource_kind),
                set.resource.map(|r| r.id()),
            ),
        };
    }

    let is_root = principal.kind == PrincipalKind::Root;
    let same_account = set.resource_account.is_none_or(|a| a == principal.account);
    let resource_grant = resource.allow.map(|(g, _)| g);

    if same_account {
        // A grant to the IAM user itself or to the session is not limited by implicit denies.
        let direct = match resource_grant {
            Some(Grant::Session) => true,
            Some(Grant::Direct) => {
                matches!(principal.kind, PrincipalKind::User | PrincipalKind::Root)
            }
            _ => false,
        };
        if direct {
            return ev.finish(
                DecisionKind::Allow,
                Some(resource_kind),
                resource.allow.map(|(_, id)| id),
            );
        }
        if resource_kind == PolicyKind::Trust && resource_grant.is_none() {
            return ev.finish(
                DecisionKind::ImplicitDeny,
                Some(PolicyKind::Trust),
                set.resource.map(|r| r.id()),
            );
        }
    }
    // Grants to the role behind a session, to the user behind a federated session, or to "*",
    // stand in for an identity-based allow in the same account but stay under boundary and session policy.
    let resource_stands_in = same_account
        && matches!(
            resource_grant,
            Some(Grant::Parent | Grant::Wildcard | Grant::Direct)
        );
    let identity_allows = is_root || identity.allow.is_some() || resource_stands_in;
    if !identity_allows {
        return ev.finish(DecisionKind::ImplicitDeny, Some(PolicyKind::Identity), None);
    }
    if !is_root
        && let Some(b) = set.boundary
        && boundary.allow.is_none()
    {
        return ev.finish(
            DecisionKind::ImplicitDeny,
            Some(PolicyKind::Boundary),
            Some(b.id()),
        );
    }
    if principal.is_session() {
        let required = !set.session.is_empty() || principal.kind == PrincipalKind::FederatedUser;
        if required && session.allow.is_none() {
            return ev.finish(
                DecisionKind::ImplicitDeny,
                Some(PolicyKind::Session),
                set.session.first().map(|p| p.id()),
            );
        }
    }
    if !same_account && resource_grant.is_none() {
        return ev.finish(
            DecisionKind::ImplicitDeny,
            Some(resource_kind),
            set.resource.map(|r| r.id()),
        );
    }
    match identity.allow {
        Some((_, id)) => ev.finish(DecisionKind::Allow, Some(PolicyKind::Identity), Some(id)),
        None if is_root => ev.finish(DecisionKind::Allow, Some(PolicyKind::Identity), None),
        None => ev.finish(
            DecisionKind::Allow,
            Some(resource_kind),
            resource.allow.map(|(_, id)| id),
        ),
    }
}

impl Decision<'_> {
    pub fn is_allowed(&self) -> bool {
        self.kind == DecisionKind::Allow
    }

    /// AWS's AccessDenied message for a denied decision, e.g. `User: arn:aws:iam::111122223333:user/bob
    /// is not authorized to perform: iam:CreateUser on resource: arn:aws:iam::111122223333:user/x
    /// because no identity-based policy allows the iam:CreateUser action`. `None` when allowed.
    pub fn access_denied_message(&self, request: &Request) -> Option<String> {
        let mut msg = request.not_authorized();
        let kind = self.policy_kind.unwrap_or(PolicyKind::Identity);
        match self.kind {
            DecisionKind::Allow => return None,
            DecisionKind::ExplicitDeny => {
                msg.push_str(match kind {
                    PolicyKind::Identity => " with an explicit deny in an identity-based policy",
                    PolicyKind::Resource => " with an explicit deny in a resource-based policy",
                    PolicyKind::Trust => " with an explicit deny in the role trust policy",
                    PolicyKind::ServiceControl => {
                        " with an explicit deny in a service control policy"
                    }
                    PolicyKind::Boundary => " with an explicit deny in a permissions boundary",
                    // Sic: AWS's documented message says "sessions policy".
                    PolicyKind::Session => " with an explicit deny in a sessions policy",
                });
            }
            DecisionKind::ImplicitDeny => {
                msg.push_str(" because no ");
                msg.push_str(kind.denial_phrase());
                msg.push_str(" allows the ");
                msg.push_str(&request.action);
                msg.push_str(" action");
            }
        }
        Some(msg)
    }
}

//! The authorisation step every operation passes before it runs.
//!
//! **Architecture invariant**: [`crate::ops::execute`] is the only way to run an operation, and it
//! calls [`authorize`] with the operation's action, resource and condition keys before the handler
//! is reached. The decision is `keyward-policy`'s, over the policies the store holds for the caller:
//! its inline and attached policies, those of its groups, and its permissions boundary. The
//! account root is evaluated like any principal: its implicit allow is one rule inside the
//! engine's evaluation, so service control policies can bound it.
//!
//! **Architecture invariant**: authorisation answers with the engine's [`Decision`] (effect,
//! deciding policy and statement, policy type, what each policy type said). A refusal is
//! [`OpError::Denied`] carrying it, and its `AccessDenied` text, the audit record's error, the
//! metrics and the simulator all read that one value.

use std::sync::Arc;

use keyward_policy::{
    self as policy, Context, DecisionKind, Effect, Policy, PolicyKind, PolicySet, Request,
};

use crate::clock::iso8601;
use crate::context::Ctx;
pub use crate::context::RequestInfo;
pub use crate::decision::{Decision, MatchedStatement, Refusal, TypeResult};
use crate::error::OpError;
use crate::model::{PolicySource, Role, User};
pub use crate::policy_cache::{PolicyCache, PrincipalPolicies};
use crate::principal::Principal;
use crate::session::Session;
use crate::store::Tx;

/// A permission an operation needs: `action` on `resource`, with the operation's own condition
/// keys (`iam:PolicyARN`, `aws:RequestTag/...`, `aws:ResourceTag/...`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    pub action: String,
    pub resource: String,
    pub context: Vec<(String, Vec<String>)>,
}

/// The global condition keys of a request by `user` (IAM User Guide, "AWS global condition
/// context keys"). `aws:MultiFactorAuthPresent` is absent for long-term access keys, as AWS.
pub fn user_context(ctx: &Ctx<'_>, user: &User) -> Context {
    let mut c = request_context(ctx);
    c.insert("aws:username", user.name.clone());
    c.insert("aws:userid", user.user_id.clone());
    c.insert("aws:PrincipalArn", user.arn(ctx.partition));
    c.insert("aws:PrincipalAccount", user.account_id.clone());
    c.insert("aws:PrincipalType", "User");
    for tag in &user.tags {
        c.insert(&format!("aws:PrincipalTag/{}", tag.key), tag.value.clone());
    }
    c
}

/// The keys every request has, whoever makes it: time, source, transport, region.
fn request_context(ctx: &Ctx<'_>) -> Context {
    let mut c = Context::new();
    let now = ctx.now;
    c.insert("aws:CurrentTime", iso8601(now));
    c.insert("aws:EpochTime", now.unix_timestamp().to_string());
    c.insert("aws:SourceIp", ctx.info.source_ip.clone());
    c.insert(
        "aws:SecureTransport",
        if ctx.info.secure_transport {
            "true"
        } else {
            "false"
        },
    );
    if let Some(ua) = &ctx.info.user_agent {
        c.insert("aws:UserAgent", ua.clone());
    }
    c.insert("aws:RequestedRegion", ctx.info.region.clone());
    c.insert("aws:ViaAWSService", "false");
    c.insert("aws:PrincipalIsAWSService", "false");
    c
}

/// Every key of the request's context: what every request has, the principal's, its session's.
fn principal_context(ctx: &Ctx<'_>, principal: &Principal) -> Context {
    let mut c = match principal {
        Principal::Root { account_id } => {
            let mut c = request_context(ctx);
            c.insert("aws:userid", account_id.clone());
            c.insert("aws:PrincipalArn", principal.arn(ctx.partition));
            c.insert("aws:PrincipalAccount", account_id.clone());
            c.insert("aws:PrincipalType", "Account");
            c
        }
        Principal::User(user) => user_context(ctx, user),
        Principal::AssumedRole { role, session_name } => role_context(ctx, role, session_name),
        Principal::FederatedUser { account_id, .. } => {
            let mut c = request_context(ctx);
            c.insert("aws:userid", principal.user_id().into_owned());
            c.insert("aws:PrincipalArn", principal.arn(ctx.partition));
            c.insert("aws:PrincipalAccount", account_id.clone());
            c.insert("aws:PrincipalType", "FederatedUser");
            c
        }
    };
    if let Some(session) = &ctx.caller.session {
        session_context(&mut c, session, ctx.now);
    }
    c
}

/// The keys of a role session: `aws:userid` is `AROA...:SESSION`, `aws:PrincipalArn` the role's
/// ARN, principal tags the role's (session tags are added by [`session_context`]).
fn role_context(ctx: &Ctx<'_>, role: &Role, session_name: &str) -> Context {
    let mut c = request_context(ctx);
    c.insert("aws:userid", format!("{}:{session_name}", role.role_id));
    c.insert("aws:PrincipalArn", role.arn(ctx.partition));
    c.insert("aws:PrincipalAccount", role.account_id.clone());
    c.insert("aws:PrincipalType", "AssumedRole");
    for tag in &role.tags {
        c.insert(&format!("aws:PrincipalTag/{}", tag.key), tag.value.clone());
    }
    c
}

/// The keys a session adds: `aws:TokenIssueTime`, `aws:MultiFactorAuthPresent` (`false` without
/// MFA, as AWS sets it for temporary credentials), `aws:MultiFactorAuthAge`, `aws:SourceIdentity`,
/// and session tags as `aws:PrincipalTag/*` (overriding the principal's own tags).
pub fn session_context(c: &mut Context, session: &Session, now: time::OffsetDateTime) {
    c.set("aws:TokenIssueTime", [iso8601(session.issued_at())]);
    match session.mfa_auth_time {
        Some(at) => {
            c.set("aws:MultiFactorAuthPresent", ["true".to_owned()]);
            let age = (now.unix_timestamp() - at).max(0);
            c.set("aws:MultiFactorAuthAge", [age.to_string()]);
        }
        None => {
            c.set("aws:MultiFactorAuthPresent", ["false".to_owned()]);
        }
    }
    if let Some(si) = &session.source_identity {
        c.set("aws:SourceIdentity", [si.clone()]);
    }
    for (k, v) in &session.tags {
        c.set(&format!("aws:PrincipalTag/{k}"), [v.clone()]);
    }
}

/// The document of a managed policy's default version, if the policy exists.
async fn default_document<T: Tx>(tx: &mut T, arn: &str) -> Result<Option<String>, OpError> {
    let Some(p) = tx.get_managed_policy(arn).await? else {
        return Ok(None);
    };
    Ok(tx
        .list_policy_versions(&p.policy_id)
        .await?
        .into_iter()
        .find(|v| v.version_id == p.default_version_id)
        .map(|v| v.document))
}

/// A resource-based policy that applies to a request, such as a role's trust policy for
/// `sts:AssumeRole`.
#[derive(Debug, Clone)]
pub struct ResourcePolicy {
    pub kind: PolicyKind,
    /// Names the policy in decisions.
    pub id: String,
    pub document: String,
    /// The account that owns the resource.
    pub account_id: String,
}

/// Grants everything; stands for the root user's identity behind a federated session.
const ALLOW_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

/// Where a principal's identity policies come from.
#[derive(Debug, Clone, Copy)]
enum Sources<'a> {
    User(&'a str),
    Role(&'a str),
    /// The root user's identity behind a federated session: everything.
    AllowAll,
}

/// The compiled identity policies and boundary of a principal: from the cache when nothing was
/// written since they were gathered, otherwise gathered from the store in the request's
/// transaction.
async fn principal_policies<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    sources: Sources<'_>,
    boundary_arn: Option<&str>,
) -> Result<Arc<PrincipalPolicies>, OpError> {
    let cache = ctx.policies;
    let key = match sources {
        Sources::User(id) => format!("user:{id}"),
        Sources::Role(id) => format!("role:{id}"),
        Sources::AllowAll => "root".to_owned(),
    };
    let epoch = cache.epoch();
    if let Some(set) = cache.cached(&key, epoch) {
        return Ok(set);
    }
    let docs = match sources {
        Sources::User(id) => tx.user_policy_sources(id).await?,
        Sources::Role(id) => tx.role_policy_sources(id).await?,
        Sources::AllowAll => vec![PolicySource {
            id: "root".to_owned(),
            document: ALLOW_ALL.to_owned(),
        }],
    };
    let identity = docs
        .iter()
        .filter_map(|s| compile(cache, PolicyKind::Identity, &s.id, &s.document))
        .collect();
    let boundary = match boundary_arn {
        Some(arn) => default_document(tx, arn)
            .await?
            .and_then(|doc| compile(cache, PolicyKind::Boundary, arn, &doc)),
        None => None,
    };
    let set = Arc::new(PrincipalPolicies { identity, boundary });
    cache.remember(&key, epoch, &set);
    Ok(set)
}

fn compile(cache: &PolicyCache, kind: PolicyKind, id: &str, doc: &str) -> Option<Arc<Policy>> {
    match cache.compile(kind, id, doc) {
        Ok(p) => Some(p),
        Err(e) => {
            // Stored documents were validated when written; one that no longer parses grants
            // nothing, and a human should look at it.
            tracing::error!(policy = %id, error = %e, "stored policy document does not parse");
            None
        }
    }
}

/// The cache key of a user's gathered policies (for [`PolicyCache::keep`] and `gathered`).
pub fn user_cache_key(user: &User) -> String {
    format!("user:{}", user.user_id)
}

/// Allows, or refuses with AWS's exact `AccessDenied` text naming the deciding policy type
/// ([`OpError::Denied`]).
pub async fn authorize<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    perm: &Permission,
) -> Result<Decision, OpError> {
    authorize_with(tx, ctx, perm, None, Refusal::Explained).await
}

/// [`authorize`] with a resource-based policy, refusing as `refusal` says.
pub async fn authorize_with<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    perm: &Permission,
    resource: Option<&ResourcePolicy>,
    refusal: Refusal,
) -> Result<Decision, OpError> {
    let principal = &ctx.caller.principal;
    let (engine_principal, set) = match principal {
        Principal::Root { account_id } => (
            policy::Principal::root(account_id),
            Arc::new(PrincipalPolicies {
                identity: Vec::new(),
                boundary: None,
            }),
        ),
        Principal::User(user) => (
            policy::Principal::user(&user.arn(ctx.partition)),
            principal_policies(
                tx,
                ctx,
                Sources::User(&user.user_id),
                user.permissions_boundary.as_deref(),
            )
            .await?,
        ),
        Principal::AssumedRole { role, .. } => (
            policy::Principal::assumed_role(
                &principal.arn(ctx.partition),
                &role.arn(ctx.partition),
            ),
            principal_policies(
                tx,
                ctx,
                Sources::Role(&role.role_id),
                role.permissions_boundary.as_deref(),
            )
            .await?,
        ),
        Principal::FederatedUser {
            account_id, parent, ..
        } => {
            let arn = principal.arn(ctx.partition);
            match parent {
                Some(user) => (
                    policy::Principal::federated_user(&arn, &user.arn(ctx.partition)),
                    principal_policies(
                        tx,
                        ctx,
                        Sources::User(&user.user_id),
                        user.permissions_boundary.as_deref(),
                    )
                    .await?,
                ),
                None => (
                    policy::Principal::federated_user(
                        &arn,
                        &crate::model::root_arn(ctx.partition, account_id),
                    ),
                    principal_policies(tx, ctx, Sources::AllowAll, None).await?,
                ),
            }
        }
    };
    let mut session_policies: Vec<Arc<Policy>> = Vec::new();
    if let Some(session) = &ctx.caller.session {
        if let Some(doc) = &session.policy {
            session_policies.extend(compile(
                ctx.policies,
                PolicyKind::Session,
                "session-policy",
                doc,
            ));
        }
        for arn in &session.policy_arns {
            if let Some(doc) = default_document(tx, arn).await? {
                session_policies.extend(compile(ctx.policies, PolicyKind::Session, arn, &doc));
            }
        }
    }
    let resource_policy = resource.and_then(|r| compile(ctx.policies, r.kind, &r.id, &r.document));
    let reads = reads_context(
        set.identity
            .iter()
            .chain(&set.boundary)
            .chain(&session_policies)
            .chain(&resource_policy),
    );
    let decision = evaluate_set(
        engine_principal,
        reads.then(|| principal_context(ctx, principal)),
        &set,
        &session_policies,
        resource_policy
            .as_deref()
            .zip(resource.map(|r| r.account_id.as_str())),
        perm,
        refusal,
    );
    if decision.is_allowed() {
        Ok(decision)
    } else {
        Err(OpError::Denied(Box::new(decision)))
    }
}

/// Whether any of `policies` can read the request context (a condition or a policy variable).
/// When none can, every context gives the same decision, so the context is not built.
fn reads_context<'a>(policies: impl IntoIterator<Item = &'a Arc<Policy>>) -> bool {
    policies.into_iter().any(|p| p.reads_context())
}

/// The decision itself: pure, no store access. `context` is `None` when no policy of the set
/// reads it ([`reads_context`]); the permission's own keys join it otherwise.
fn evaluate_set(
    principal: policy::Principal,
    context: Option<Context>,
    set: &PrincipalPolicies,
    session: &[Arc<Policy>],
    resource: Option<(&Policy, &str)>,
    perm: &Permission,
    refusal: Refusal,
) -> Decision {
    let context = match context {
        Some(mut context) => {
            for (key, values) in &perm.context {
                context.set(key, values.iter().cloned());
            }
            context
        }
        None => Context::new(),
    };
    let request = Request::new(principal, &perm.action, &perm.resource).with_context(context);
    let set = PolicySet {
        identity: set.identity.iter().map(Arc::as_ref).collect(),
        boundary: set.boundary.as_deref(),
        session: session.iter().map(Arc::as_ref).collect(),
        resource: resource.map(|(p, _)| p),
        resource_account: resource.map(|(_, a)| a),
        ..PolicySet::default()
    };
    let decision = policy::evaluate(&request, &set);
    let denial = match (decision.kind, refusal) {
        (DecisionKind::Allow, _) | (DecisionKind::ImplicitDeny, Refusal::ExplicitDenyOnly) => None,
        (DecisionKind::ImplicitDeny, Refusal::UnexplainedImplicitDeny) => {
            Some(request.not_authorized())
        }
        _ => decision.access_denied_message(&request),
    };
    let mut present: Vec<PolicyKind> = Vec::new();
    if !set.identity.is_empty() {
        present.push(PolicyKind::Identity);
    }
    if set.boundary.is_some() {
        present.push(PolicyKind::Boundary);
    }
    if !set.session.is_empty() {
        present.push(PolicyKind::Session);
    }
    if let Some(r) = set.resource {
        present.push(r.kind());
    }
    let per_type = present
        .into_iter()
        .map(|kind| {
            let of_kind = decision.matched.iter().filter(|m| m.policy_kind == kind);
            let result = of_kind.fold(TypeResult::NoMatch, |acc, m| match (acc, m.effect) {
                (TypeResult::Deny, _) | (_, Effect::Deny) => TypeResult::Deny,
                _ => TypeResult::Allow,
            });
            (kind, result)
        })
        .collect();
    Decision {
        principal_arn: request.principal.arn.clone(),
        action: request.action.clone(),
        resource: request.resource.clone(),
        kind: decision.kind,
        policy_kind: decision.policy_kind,
        policy_id: decision.policy_id.map(str::to_owned),
        matched: decision
            .matched
            .iter()
            .map(|m| MatchedStatement {
                policy_kind: m.policy_kind,
                policy_id: m.policy_id.to_owned(),
                index: m.index,
                sid: m.sid.map(str::to_owned),
                effect: m.effect,
            })
            .collect(),
        missing_context_keys: decision
            .missing_context_keys
            .iter()
            .map(|k| (*k).to_owned())
            .collect(),
        per_type,
        refusal,
        denial,
    }
}

/// The decision for an IAM user signed with a long-term key, given its gathered policies: pure,
/// no store access (the authorisation bench measures this with the cached set).
pub fn decide(ctx: &Ctx<'_>, user: &User, set: &PrincipalPolicies, perm: &Permission) -> Decision {
    let reads = reads_context(set.identity.iter().chain(&set.boundary));
    evaluate_set(
        policy::Principal::user(&user.arn(ctx.partition)),
        reads.then(|| user_context(ctx, user)),
        set,
        &[],
        None,
        perm,
        Refusal::Explained,
    )
}

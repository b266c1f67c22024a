//! The authorisation step every operation passes before it runs.
//!
//! **Architecture invariant**: [`crate::ops::execute`] is the only way to run an operation, and it
//! calls [`authorize`] with the operation's action, resource and condition keys before the handler
//! is reached. The decision is `keyward-policy`'s, over the policies the store holds for the caller:
//! its inline and attached policies, those of its groups, and its permissions boundary. The
//! account root is allowed (no service control policies exist yet to bound it).

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};

use keyward_policy::{self as policy, Context, Policy, PolicyKind, PolicySet, Request};

use crate::clock::iso8601;
use crate::error::{ApiError, OpError};
use crate::model::{PolicySource, Role, User};
use crate::ops::Ctx;
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

/// Facts about the HTTP request that become global condition keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestInfo {
    pub source_ip: String,
    pub user_agent: Option<String>,
    pub secure_transport: bool,
    /// The credential scope's region (`aws:RequestedRegion`).
    pub region: String,
}

/// Compiled policies by (id, document). A document is immutable once written (a new managed
/// version or a new inline document is a new key), so the cache never serves a stale policy and
/// needs no invalidation: the next request after a write gathers the new document and compiles it.
#[derive(Debug, Default)]
pub struct PolicyCache {
    entries: Mutex<HashMap<u64, Vec<CacheEntry>>>,
}

#[derive(Debug)]
struct CacheEntry {
    kind: PolicyKind,
    id: String,
    document: String,
    policy: Arc<Policy>,
}

/// Entries kept before the cache starts over; far above any realistic working set.
const POLICY_CACHE_CAPACITY: usize = 20_000;

impl PolicyCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// The compiled form of `document`, parsing it only the first time it is seen.
    pub fn compile(
        &self,
        kind: PolicyKind,
        id: &str,
        document: &str,
    ) -> Result<Arc<Policy>, policy::PolicyError> {
        let mut h = DefaultHasher::new();
        (kind, id, document).hash(&mut h);
        let key = h.finish();
        if let Ok(entries) = self.entries.lock()
            && let Some(hit) = entries.get(&key).and_then(|bucket| {
                bucket
                    .iter()
                    .find(|e| e.kind == kind && e.id == id && e.document == document)
            })
        {
            return Ok(Arc::clone(&hit.policy));
        }
        let policy = Arc::new(Policy::parse(document, kind, id)?);
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= POLICY_CACHE_CAPACITY {
                entries.clear();
            }
            entries.entry(key).or_default().push(CacheEntry {
                kind,
                id: id.to_owned(),
                document: document.to_owned(),
                policy: Arc::clone(&policy),
            });
        }
        Ok(policy)
    }
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

/// Allows, or refuses with AWS's exact `AccessDenied` text naming the deciding policy type.
pub async fn authorize<T: Tx>(tx: &mut T, ctx: &Ctx<'_>, perm: &Permission) -> Result<(), OpError> {
    authorize_with(tx, ctx, perm, None, false).await
}

/// [`authorize`] with a resource-based policy, and optionally refusing only on an explicit deny
/// (for actions AWS lets through unless a policy denies them).
pub async fn authorize_with<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    perm: &Permission,
    resource: Option<&ResourcePolicy>,
    deny_only: bool,
) -> Result<(), OpError> {
    let compile = |kind, id: &str, doc: &str| match ctx.policies.compile(kind, id, doc) {
        Ok(p) => Some(p),
        Err(e) => {
            // Stored documents were validated when written; one that no longer parses grants
            // nothing, and a human should look at it.
            tracing::error!(policy = %id, error = %e, "stored policy document does not parse");
            None
        }
    };
    let principal = &ctx.caller.principal;
    let (engine_principal, sources, boundary_arn, mut context) = match principal {
        Principal::Root { .. } => return Ok(()),
        Principal::User(user) => (
            policy::Principal::user(&user.arn(ctx.partition)),
            tx.user_policy_sources(&user.user_id).await?,
            user.permissions_boundary.clone(),
            user_context(ctx, user),
        ),
        Principal::AssumedRole { role, session_name } => (
            policy::Principal::assumed_role(
                &principal.arn(ctx.partition),
                &role.arn(ctx.partition),
            ),
            tx.role_policy_sources(&role.role_id).await?,
            role.permissions_boundary.clone(),
            role_context(ctx, role, session_name),
        ),
        Principal::FederatedUser {
            account_id, parent, ..
        } => {
            let arn = principal.arn(ctx.partition);
            let mut c = request_context(ctx);
            c.insert("aws:userid", principal.user_id().into_owned());
            c.insert("aws:PrincipalArn", arn.clone());
            c.insert("aws:PrincipalAccount", account_id.clone());
            c.insert("aws:PrincipalType", "FederatedUser");
            match parent {
                Some(user) => (
                    policy::Principal::federated_user(&arn, &user.arn(ctx.partition)),
                    tx.user_policy_sources(&user.user_id).await?,
                    user.permissions_boundary.clone(),
                    c,
                ),
                None => (
                    policy::Principal::federated_user(
                        &arn,
                        &crate::model::root_arn(ctx.partition, account_id),
                    ),
                    vec![PolicySource {
                        id: "root".to_owned(),
                        document: ALLOW_ALL.to_owned(),
                    }],
                    None,
                    c,
                ),
            }
        }
    };
    let identity: Vec<Arc<Policy>> = sources
        .iter()
        .filter_map(|s| compile(PolicyKind::Identity, &s.id, &s.document))
        .collect();
    let boundary = match &boundary_arn {
        Some(arn) => default_document(tx, arn)
            .await?
            .and_then(|doc| compile(PolicyKind::Boundary, arn, &doc)),
        None => None,
    };
    let mut session_policies: Vec<Arc<Policy>> = Vec::new();
    if let Some(session) = &ctx.caller.session {
        session_context(&mut context, session, ctx.now);
        if let Some(doc) = &session.policy {
            session_policies.extend(compile(PolicyKind::Session, "session-policy", doc));
        }
        for arn in &session.policy_arns {
            if let Some(doc) = default_document(tx, arn).await? {
                session_policies.extend(compile(PolicyKind::Session, arn, &doc));
            }
        }
    }
    let resource_policy = resource.and_then(|r| compile(r.kind, &r.id, &r.document));

    for (key, values) in &perm.context {
        context.set(key, values.iter().cloned());
    }
    let request =
        Request::new(engine_principal, &perm.action, &perm.resource).with_context(context);
    let set = PolicySet {
        identity: identity.iter().map(Arc::as_ref).collect(),
        boundary: boundary.as_deref(),
        session: session_policies.iter().map(Arc::as_ref).collect(),
        resource: resource_policy.as_deref(),
        resource_account: resource.map(|r| r.account_id.as_str()),
        ..PolicySet::default()
    };
    let decision = policy::evaluate(&request, &set);
    if deny_only && decision.kind != policy::DecisionKind::ExplicitDeny {
        return Ok(());
    }
    match decision.access_denied_message(&request) {
        None => Ok(()),
        Some(message) => Err(ApiError::access_denied(message).into()),
    }
}

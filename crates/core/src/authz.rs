//! The authorisation step every operation passes before it runs.
//!
//! **Architecture invariant**: [`crate::ops::execute`] is the only way to run an operation, and it
//! calls [`authorize`] with the operation's action, resource and condition keys before the handler
//! is reached. The decision is `keyward-policy`'s, over the policies the store holds for the caller:
//! its inline and attached policies, those of its groups, and its permissions boundary. The
//! account root is allowed (no service control policies exist yet to bound it).

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use keyward_policy::{self as policy, Context, Policy, PolicyKind, PolicySet, Request};

use crate::clock::iso8601;
use crate::error::{ApiError, OpError};
use crate::model::User;
use crate::ops::Ctx;
use crate::principal::Principal;
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
    /// Bumped after every committed write; a principal's gathered set is valid only for the
    /// epoch it was gathered in.
    epoch: AtomicU64,
    principals: Mutex<HashMap<String, (u64, Arc<PrincipalPolicies>)>>,
}

/// The compiled identity policies and boundary that apply to one principal.
#[derive(Debug)]
pub struct PrincipalPolicies {
    pub identity: Vec<Arc<Policy>>,
    pub boundary: Option<Arc<Policy>>,
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

    /// Marks every gathered principal policy set stale. The server calls this after each committed
    /// write, so the next request gathers again (read-your-writes); a request that gathered before
    /// the write committed tagged its set with the older epoch, which no later request accepts.
    pub fn invalidate(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// The set gathered for `principal_id` if nothing was written since.
    pub fn gathered(&self, principal_id: &str) -> Option<Arc<PrincipalPolicies>> {
        self.cached(principal_id, self.epoch.load(Ordering::Acquire))
    }

    /// Keeps a gathered set for the current epoch (the benches and tools prime the cache with it).
    pub fn keep(&self, principal_id: &str, set: PrincipalPolicies) -> Arc<PrincipalPolicies> {
        let set = Arc::new(set);
        self.remember(principal_id, self.epoch.load(Ordering::Acquire), &set);
        set
    }

    fn cached(&self, principal_id: &str, epoch: u64) -> Option<Arc<PrincipalPolicies>> {
        let map = self.principals.lock().ok()?;
        map.get(principal_id)
            .filter(|(e, _)| *e == epoch)
            .map(|(_, p)| Arc::clone(p))
    }

    fn remember(&self, principal_id: &str, epoch: u64, set: &Arc<PrincipalPolicies>) {
        if let Ok(mut map) = self.principals.lock() {
            if map.len() >= POLICY_CACHE_CAPACITY {
                map.clear();
            }
            map.insert(principal_id.to_owned(), (epoch, Arc::clone(set)));
        }
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
    let mut c = Context::new();
    let now = ctx.now;
    c.insert("aws:username", user.name.clone());
    c.insert("aws:userid", user.user_id.clone());
    c.insert("aws:PrincipalArn", user.arn(ctx.partition));
    c.insert("aws:PrincipalAccount", user.account_id.clone());
    c.insert("aws:PrincipalType", "User");
    for tag in &user.tags {
        c.insert(&format!("aws:PrincipalTag/{}", tag.key), tag.value.clone());
    }
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

/// The compiled policies of `user`: from the cache when nothing was written since they were
/// gathered, otherwise gathered from the store in the request's transaction.
pub async fn user_policies<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    user: &User,
) -> Result<Arc<PrincipalPolicies>, OpError> {
    let cache = ctx.policies;
    let epoch = cache.epoch.load(Ordering::Acquire);
    if let Some(set) = cache.cached(&user.user_id, epoch) {
        return Ok(set);
    }
    let compile = |kind, id: &str, doc: &str| match cache.compile(kind, id, doc) {
        Ok(p) => Some(p),
        Err(e) => {
            // Stored documents were validated when written; one that no longer parses grants
            // nothing, and a human should look at it.
            tracing::error!(policy = %id, error = %e, "stored policy document does not parse");
            None
        }
    };
    let identity: Vec<Arc<Policy>> = tx
        .user_policy_sources(&user.user_id)
        .await?
        .iter()
        .filter_map(|s| compile(PolicyKind::Identity, &s.id, &s.document))
        .collect();
    let boundary = match &user.permissions_boundary {
        Some(arn) => default_document(tx, arn)
            .await?
            .and_then(|doc| compile(PolicyKind::Boundary, arn, &doc)),
        None => None,
    };
    let set = Arc::new(PrincipalPolicies { identity, boundary });
    cache.remember(&user.user_id, epoch, &set);
    Ok(set)
}

/// Allows, or refuses with AWS's exact `AccessDenied` text naming the deciding policy type.
pub async fn authorize<T: Tx>(tx: &mut T, ctx: &Ctx<'_>, perm: &Permission) -> Result<(), OpError> {
    let user = match &ctx.caller.principal {
        Principal::Root { .. } => return Ok(()),
        Principal::User(user) => user,
    };
    let set = user_policies(tx, ctx, user).await?;
    Ok(decide(ctx, user, &set, perm)?)
}

/// The decision for `user` with its gathered policies: pure, no store access.
pub fn decide(
    ctx: &Ctx<'_>,
    user: &User,
    set: &PrincipalPolicies,
    perm: &Permission,
) -> Result<(), ApiError> {
    let mut context = user_context(ctx, user);
    for (key, values) in &perm.context {
        context.set(key, values.iter().cloned());
    }
    let request = Request::new(
        policy::Principal::user(&user.arn(ctx.partition)),
        &perm.action,
        &perm.resource,
    )
    .with_context(context);
    let set = PolicySet {
        identity: set.identity.iter().map(Arc::as_ref).collect(),
        boundary: set.boundary.as_deref(),
        ..PolicySet::default()
    };
    let decision = policy::evaluate(&request, &set);
    match decision.access_denied_message(&request) {
        None => Ok(()),
        Some(message) => Err(ApiError::access_denied(message)),
    }
}

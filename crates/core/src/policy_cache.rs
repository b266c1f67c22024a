//! Compiled policies, cached by their document text, and each principal's gathered set, valid for
//! the epoch it was gathered in.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use keyward_policy::{self as policy, Policy, PolicyKind};

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

    /// The current epoch: a set gathered now is valid until the next [`PolicyCache::invalidate`].
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
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

    pub(crate) fn cached(&self, principal_id: &str, epoch: u64) -> Option<Arc<PrincipalPolicies>> {
        let map = self.principals.lock().ok()?;
        map.get(principal_id)
            .filter(|(e, _)| *e == epoch)
            .map(|(_, p)| Arc::clone(p))
    }

    pub(crate) fn remember(&self, principal_id: &str, epoch: u64, set: &Arc<PrincipalPolicies>) {
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

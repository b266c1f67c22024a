//! The request pipeline: authenticate → authorise → run → audit → commit → invalidate, in one
//! place for every adapter (DESIGN.md, "A request's path").
//!
//! An adapter (the Query/XML protocol, the admin CLI, later the console) parses its request into a
//! [`Call`], hands it to [`Pipeline::call`] and renders the [`Outcome`]. Everything between is
//! here: which transaction the operation runs in (a read-only operation, by the operation table,
//! gets a read transaction), authentication (SigV4, or a principal the adapter vouches for),
//! decoding by the table for the service the request is signed for, [`ops::execute`] (the
//! authorisation [`Decision`] and the handler), the audit record (committed with a change, queued
//! for the group commit for a read, written alone with a refused MFA code's row), the commit, the
//! cache invalidation that makes the next request see the write, and the access key's last use.
//!
//! **Architecture invariant**: no adapter writes audit records or chooses transactions itself;
//! it supplies a [`Recorder`] (where queued and committed records go) and reads the outcome.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use keyward_sigv4::{RequestParts, SigningKeyCache};
use time::OffsetDateTime;

use crate::audit::{AuditEvent, ReadRecords, SessionAttributes, SessionIssuer, event_source};
use crate::auth::{self, CredentialCache, KeyHint};
use crate::authz::{Decision, PolicyCache, RequestInfo};
use crate::clock::Clock;
use crate::crypto::MasterKey;
use crate::error::{ApiError, OpError};
use crate::model::{KeyLastUsed, MfaFailure, root_arn};
use crate::ops::{self, Ctx, Members, OpName, Operation, Output, Service};
use crate::principal::{Caller, Principal};
use crate::session::SessionKeyRing;
use crate::store::{Store, Tx};
use crate::totp::TotpConfig;

/// Everything a request needs that outlives it: the store, the keys, the caches, the clock and
/// the partition (both injected: tests and tools use their own).
pub struct Pipeline<S: Store> {
    pub store: S,
    /// Resolved access keys (invalidated by every committed write).
    pub credentials: CredentialCache,
    pub master_key: MasterKey,
    /// Seals and opens session tokens (derived from the master key).
    pub session_keys: SessionKeyRing,
    pub signing_keys: SigningKeyCache,
    pub clock: Arc<dyn Clock>,
    pub partition: String,
    pub policies: PolicyCache,
    pub totp: TotpConfig,
    /// Whether requests are audited at all. Always `true` in service; `false` only for the audit
    /// overhead benchmark (`keyward serve --bench-without-audit`): no record is built, stored or
    /// copied. Refused MFA codes' rows are written either way.
    pub record_audit: bool,
    /// Which records of read-only requests are kept (`--audit-reads`).
    pub read_records: ReadRecords,
    /// When this node last recorded each access key's use (rate limit of `GetAccessKeyLastUsed`'s
    /// data).
    key_use: Mutex<HashMap<String, OffsetDateTime>>,
    /// The store's change token when a request last looked ([`Pipeline::observe_changes`]).
    seen_token: AtomicU64,
    /// How often, at most, requests look at the change token (zero: every request).
    change_check: Duration,
    /// When a request last looked, in microseconds since `started`.
    last_check_us: AtomicU64,
    started: Instant,
}

/// Where the pipeline's records go besides the request's own transaction; the host implements it
/// (the server: its audit writer's group commit and its JSON-lines sink; the CLI: nothing queued).
pub trait Recorder: Sync {
    /// Queues the record of a request that changed nothing. `Err` gives the record back when the
    /// queue is gone; the pipeline then writes it alone.
    fn queue(&self, event: AuditEvent) -> impl Future<Output = Result<(), AuditEvent>> + Send;
    /// A record that committed (with its change, or alone).
    fn committed(&self, event: &AuditEvent);
    /// How long a commit took.
    fn commit_took(&self, elapsed: Duration) {
        let _ = elapsed;
    }
}

/// A recorder with no queue and no copy: every record is written alone, in its own transaction
/// (tools that run one operation at a time).
#[derive(Debug, Default, Clone, Copy)]
pub struct WriteAlone;

impl Recorder for WriteAlone {
    async fn queue(&self, event: AuditEvent) -> Result<(), AuditEvent> {
        Err(event)
    }

    fn committed(&self, _event: &AuditEvent) {}
}

/// Who makes the request.
pub enum Credentials<'a> {
    /// A SigV4-signed HTTP request, as received.
    Signed(&'a RequestParts<'a>),
    /// A principal the adapter vouches for itself (the admin CLI acts as the account's root).
    Trusted(Box<Caller>),
}

/// What the request asks for.
pub enum Input<'a> {
    /// An action by its wire name and the request's members, decoded by the operation table for
    /// the service the request is signed for. A protocol error in the members is reported after
    /// authentication, as AWS orders them.
    Wire {
        action: &'a str,
        members: Result<&'a (dyn Members + Sync), ApiError>,
    },
    /// An operation the adapter built itself. It skips the check of botocore's input shapes
    /// that [`Operation::decode`] makes: an adapter with members to send (the admin CLI) sends
    /// them as `Wire`, with an [`crate::ops::MemberMap`].
    Decoded(Operation),
}

/// One request, as an adapter hands it to the pipeline.
pub struct Call<'a> {
    pub request_id: String,
    pub now: OffsetDateTime,
    pub source_ip: String,
    pub user_agent: Option<String>,
    /// The service the request is for until its credential scope says otherwise.
    pub service: Service,
    pub credentials: Credentials<'a>,
    pub input: Input<'a>,
    /// The record the adapter began (request parameters, resources); the pipeline completes it.
    pub event: AuditEvent,
}

/// What the pipeline did with a request.
#[derive(Debug)]
pub struct Outcome {
    /// The service the request was finally for (its credential scope's).
    pub service: Service,
    pub result: Result<Output, OpError>,
    /// The decision that allowed the request, where policies were evaluated; a refusal's is in
    /// `result` ([`Outcome::decision`] reads either).
    pub decision: Option<Decision>,
    /// The access key ID the request was signed with, as its record names it.
    pub access_key_id: Option<String>,
    /// The user name its record names (the caller's, once authenticated).
    pub user_name: Option<String>,
    /// What the store said about a refused long-term key.
    pub key_hint: Option<Box<KeyHint>>,
    /// A refused MFA code, recorded beside the audit record.
    pub mfa_failure: Option<MfaFailure>,
}

impl Outcome {
    /// The authorisation decision of the request, allowed or refused.
    pub fn decision(&self) -> Option<&Decision> {
        ops::decision_of(self.decision.as_ref(), &self.result)
    }
}

/// Whether the request's record was committed in its own transaction.
enum Recorded {
    /// A write: the record committed with the change.
    Yes,
    /// A read: the record is still to be written (group commit).
    No,
}

/// What the run stage hands back besides its result.
#[derive(Default)]
struct Facts {
    service: Option<Service>,
    decision: Option<Decision>,
    key_hint: Option<Box<KeyHint>>,
}

impl<S: Store> Pipeline<S> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: S,
        master_key: MasterKey,
        session_keys: SessionKeyRing,
        clock: Arc<dyn Clock>,
        partition: String,
        totp: TotpConfig,
        record_audit: bool,
    ) -> Self {
        Pipeline {
            store,
            credentials: CredentialCache::new(),
            master_key,
            session_keys,
            signing_keys: SigningKeyCache::new(4096),
            clock,
            partition,
            policies: PolicyCache::new(),
            totp,
            record_audit,
            read_records: ReadRecords::All,
            key_use: Mutex::new(HashMap::new()),
            seen_token: AtomicU64::new(u64::MAX),
            change_check: Duration::ZERO,
            last_check_us: AtomicU64::new(0),
            started: Instant::now(),
        }
    }

    /// Looks at the store's change token at most once per `every` (zero: at every request).
    /// Changes made by other processes are then seen within `every`; this process's own writes
    /// are seen by the next request whatever it is.
    pub fn with_change_check(mut self, every: Duration) -> Self {
        self.change_check = every;
        self
    }

    /// Keeps only the records of read-only requests that `reads` selects.
    pub fn with_read_records(mut self, reads: ReadRecords) -> Self {
        self.read_records = reads;
        self
    }

    /// A fresh record of an API call, stamped with the pipeline's clock.
    pub fn begin_event(
        &self,
        now: OffsetDateTime,
        service: &str,
        action: &str,
        request_id: String,
        source_ip: String,
        user_agent: Option<String>,
    ) -> AuditEvent {
        AuditEvent::api_call(
            crate::ids::new_event_id(now),
            now,
            service,
            action,
            request_id,
            source_ip,
            user_agent,
        )
    }

    /// The context an operation (or an adapter's own authorisation) runs with.
    pub fn ctx<'a>(
        &'a self,
        caller: &'a Caller,
        info: &'a RequestInfo,
        now: OffsetDateTime,
    ) -> Ctx<'a> {
        Ctx {
            partition: &self.partition,
            now,
            master_key: &self.master_key,
            caller,
            info,
            policies: &self.policies,
            totp: &self.totp,
            session_keys: &self.session_keys,
        }
    }

    /// Authenticates a signed request in `tx` (cached credentials, sessions opened without a
    /// database read).
    pub async fn authenticate(
        &self,
        tx: &mut S::Tx,
        req: &RequestParts<'_>,
        parsed: &keyward_sigv4::ParsedAuth,
        now: OffsetDateTime,
    ) -> Result<Caller, auth::AuthFailure> {
        auth::authenticate_cached(
            tx,
            &self.credentials,
            &self.master_key,
            &self.session_keys,
            &self.signing_keys,
            req,
            parsed,
            now,
        )
        .await
    }

    /// Runs one request through every stage and records it.
    pub async fn call<R: Recorder>(&self, call: Call<'_>, recorder: &R) -> Outcome {
        let Call {
            request_id,
            now,
            source_ip,
            user_agent,
            service,
            credentials,
            input,
            mut event,
        } = call;
        let info = RequestInfo {
            source_ip,
            user_agent,
            secure_transport: false,
            region: String::new(),
        };
        let mut facts = Facts {
            service: Some(service),
            ..Facts::default()
        };
        let result = self
            .run(
                credentials,
                input,
                now,
                info,
                &mut event,
                &mut facts,
                recorder,
            )
            .await;
        let service = facts.service.unwrap_or(service);
        let mut mfa_failure = None;
        let (access_key_id, user_name, result) = match result {
            Ok((output, Recorded::Yes)) => {
                if self.record_audit {
                    recorder.committed(&event);
                }
                (event.access_key_id, event.user_name, Ok(output))
            }
            Ok((output, Recorded::No)) => {
                let (key, user) = (event.access_key_id.clone(), event.user_name.clone());
                self.record_unchanged(event, recorder).await;
                (key, user, Ok(output))
            }
            Err(e) => {
                if let OpError::Store(cause) = &e {
                    tracing::error!(request_id = %request_id, action = %event.event_name, error = %cause, "request failed in the store");
                }
                let api = e.to_api();
                event.error_code = Some(api.code.to_owned());
                event.error_message = Some(api.message.clone());
                // What the failed change would have answered (set before its record's insert
                // failed, or its commit) was never answered: a failure has no response elements.
                event.response_elements = None;
                if let OpError::MfaRejected { failure, .. } = &e {
                    let mut f = (**failure).clone();
                    f.request_id = Some(request_id.clone());
                    event.additional_event_data = Some(serde_json::json!({
                        "MFAUsed": "Yes",
                        "MFAIdentifier": f.serial,
                        "MFAFailureReason": f.reason.as_str(),
                    }));
                    mfa_failure = Some(f);
                }
                // The failed request's own transaction was rolled back (a refused MFA code's
                // attempt, which the throttle counts, outlived it). The refusal is written at once
                // with its record, for the doctor; any other refused request changed nothing, so
                // its record joins the group commit.
                if let Some(f) = &mfa_failure {
                    event.bound();
                    let record =
                        (self.record_audit && self.read_records.keeps(&event)).then_some(&event);
                    let kept = record.is_some();
                    match self.record_alone(record, Some(f)).await {
                        Ok(()) if kept => recorder.committed(&event),
                        Ok(()) => {}
                        Err(cause) => {
                            tracing::error!(request_id = %request_id, error = %cause, "audit record of a failed request was not written");
                        }
                    }
                    (event.access_key_id, event.user_name, Err(e))
                } else {
                    let (key, user) = (event.access_key_id.clone(), event.user_name.clone());
                    self.record_unchanged(event, recorder).await;
                    (key, user, Err(e))
                }
            }
        };
        Outcome {
            service,
            result,
            decision: facts.decision,
            access_key_id,
            user_name,
            key_hint: facts.key_hint,
            mfa_failure,
        }
    }

    /// Authenticates, decodes, executes, audits and commits. A write commits its audit record in
    /// its own transaction; a read commits nothing and leaves its record to the caller. On
    /// failure nothing of the request's transaction is kept.
    #[allow(clippy::too_many_arguments)]
    async fn run<R: Recorder>(
        &self,
        credentials: Credentials<'_>,
        input: Input<'_>,
        now: OffsetDateTime,
        mut info: RequestInfo,
        event: &mut AuditEvent,
        facts: &mut Facts,
        recorder: &R,
    ) -> Result<(Output, Recorded), OpError> {
        // Who: a signed request's scope also names the service and region.
        let signed = match &credentials {
            Credentials::Signed(req) => {
                let parsed = auth::parse(req).map_err(|f| f.error)?;
                event.access_key_id = Some(parsed.access_key_id.clone());
                event.aws_region = parsed.scope.region.clone();
                // The endpoint serves IAM and STS; a scope naming another service is refused the
                // way AWS refuses a request signed for the wrong service.
                let service = Service::from_scope(&parsed.scope.service)
                    .or(facts.service)
                    .unwrap_or(Service::Iam);
                keyward_sigv4::check_scope(&parsed, is_region, service.name())
                    .map_err(|e| ApiError::new(e.code(), e.http_status(), e.message()))?;
                facts.service = Some(service);
                event.event_source = event_source(service.name());
                info.region = parsed.scope.region.clone();
                Some((*req, parsed))
            }
            Credentials::Trusted(_) => None,
        };
        let service = facts.service.unwrap_or(Service::Iam);

        // Decoded before authentication only to choose the transaction; its errors are reported
        // after authentication's, as AWS orders them.
        let decoded: Option<Result<Operation, ApiError>> = match input {
            Input::Decoded(op) => Some(Ok(op)),
            Input::Wire {
                action,
                members: Ok(members),
            } if !action.is_empty() => Some(
                OpName::from_wire(service, action)
                    .ok_or_else(|| ApiError::invalid_action(action))
                    .and_then(|op| Operation::decode(op, members)),
            ),
            Input::Wire {
                members: Err(e), ..
            } => Some(Err(e)),
            Input::Wire { .. } => None,
        };
        // ── The transaction mode is chosen here, from the operation table. ─────────────────────
        // A read-only operation (and any request that will fail to decode) runs in a read
        // transaction: concurrent, no write lock; its record goes to the group commit. Anything
        // else takes the write transaction and commits its record with its change.
        let read_only = match &decoded {
            Some(Ok(op)) => op.name().read_only(),
            _ => true,
        };
        event.read_only = matches!(&decoded, Some(Ok(op)) if op.name().read_only());
        self.observe_changes().await?;
        let mut tx = if read_only {
            self.store.begin_read().await?
        } else {
            self.store.begin().await?
        };
        let caller = match (credentials, &signed) {
            (Credentials::Trusted(caller), _) => *caller,
            (Credentials::Signed(_), Some((req, parsed))) => self
                .authenticate(&mut tx, req, parsed, now)
                .await
                .map_err(|f| {
                    facts.key_hint = f.key_hint;
                    event.account_id = f.account_id;
                    f.error
                })?,
            (Credentials::Signed(_), None) => return Err(ApiError::internal().into()),
        };
        describe_caller(event, &caller, &self.partition);

        let op: Operation = match decoded {
            Some(op) => op?,
            None => return Err(ApiError::new("MissingAction", 400, "Missing Action").into()),
        };
        let ctx = self.ctx(&caller, &info, now);
        let read_only = op.name().read_only();
        let executed = ops::execute(&mut tx, &ctx, op).await;
        facts.decision = executed.decision;
        let output = executed.result?;
        if read_only {
            self.timed_commit(tx, recorder).await?;
            if let Some((_, parsed)) = &signed {
                self.record_key_use(&caller, &parsed.scope, now).await;
            }
            return Ok((output, Recorded::No));
        }
        if self.record_audit {
            event.response_elements = crate::trail::response_elements(&output);
            event.bound();
            tx.insert_audit_event(event).await?;
        }
        self.timed_commit(tx, recorder).await?;
        // After the commit and before the response: the next request resolves its key and
        // gathers its policies afresh (read-your-writes).
        self.invalidate();
        if let Some((_, parsed)) = &signed {
            self.record_key_use(&caller, &parsed.scope, now).await;
        }
        Ok((output, Recorded::Yes))
    }

    /// Drops the caches when the store's change token moved since a request last looked: a write
    /// committed by another process on the same database is seen within the change-check period
    /// ([`Pipeline::with_change_check`]; at the next request when it is zero). Called before the request's transaction begins, so whatever it then resolves
    /// from the store is at least as new as the change that moved the token; an entry resolved
    /// from older data was tagged with the generation this invalidation ends.
    pub async fn observe_changes(&self) -> Result<(), OpError> {
        if !self.change_check.is_zero() {
            let now_us = u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX);
            let every_us = u64::try_from(self.change_check.as_micros()).unwrap_or(u64::MAX);
            let last = self.last_check_us.load(Ordering::Acquire);
            // One request per period looks; the others go on with what it found.
            if now_us.saturating_sub(last) < every_us
                || self
                    .last_check_us
                    .compare_exchange(last, now_us, Ordering::AcqRel, Ordering::Acquire)
                    .is_err()
            {
                return Ok(());
            }
        }
        let token = self.store.change_token().await?;
        if self.seen_token.swap(token, Ordering::AcqRel) != token {
            self.invalidate();
        }
        Ok(())
    }

    /// Marks every cached credential and gathered policy set stale.
    pub fn invalidate(&self) {
        self.credentials.invalidate();
        self.policies.invalidate();
    }

    async fn timed_commit<R: Recorder>(&self, tx: S::Tx, recorder: &R) -> Result<(), OpError> {
        let started = Instant::now();
        let result = tx.commit().await;
        recorder.commit_took(started.elapsed());
        Ok(result?)
    }

    /// Records when, for which service and in which region a key was used, at most once per
    /// [`ops::KEY_LAST_USED_INTERVAL`]; a failure to record is logged, never the request's failure.
    async fn record_key_use(
        &self,
        caller: &Caller,
        scope: &keyward_sigv4::CredentialScope,
        now: OffsetDateTime,
    ) {
        let recent = |t: OffsetDateTime| now - t < ops::KEY_LAST_USED_INTERVAL;
        if caller.key_last_used.is_some_and(recent) {
            return;
        }
        // Cached credentials carry the last use as it was when they were resolved; this node also
        // remembers what it recorded since.
        if let Ok(mut seen) = self.key_use.lock() {
            if seen.get(&caller.access_key_id).copied().is_some_and(recent) {
                return;
            }
            if seen.len() >= 100_000 {
                seen.clear();
            }
            seen.insert(caller.access_key_id.clone(), now);
        }
        let used = KeyLastUsed {
            date: now,
            service: scope.service.clone(),
            region: scope.region.clone(),
        };
        let result: Result<(), OpError> = async {
            let mut tx = self.store.begin().await?;
            tx.set_access_key_last_used(&caller.access_key_id, &used)
                .await?;
            tx.commit().await?;
            Ok(())
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(access_key_id = %caller.access_key_id, error = %e, "access key last use not recorded");
        }
    }

    /// Queues the record of a request that changed nothing, bounded ([`AuditEvent::bound`]),
    /// if the trail keeps it (`--audit-reads`); written at once if the queue is gone.
    pub async fn record_unchanged<R: Recorder>(&self, mut event: AuditEvent, recorder: &R) {
        if !self.record_audit || !self.read_records.keeps(&event) {
            return;
        }
        event.bound();
        if let Err(event) = recorder.queue(event).await {
            match self.record_alone(Some(&event), None).await {
                Ok(()) => recorder.committed(&event),
                Err(cause) => {
                    tracing::error!(request_id = %event.request_id, error = %cause, "audit record was not written");
                }
            }
        }
    }

    /// Writes a record (`None` only when auditing is off) and a refused MFA code's row in one
    /// transaction of their own.
    async fn record_alone(
        &self,
        event: Option<&AuditEvent>,
        mfa_failure: Option<&MfaFailure>,
    ) -> Result<(), OpError> {
        let mut tx = self.store.begin().await?;
        if let Some(event) = event {
            tx.insert_audit_event(event).await?;
        }
        if let Some(f) = mfa_failure {
            tx.insert_mfa_failure(f).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// A region name as AWS spells them (`us-east-1`, `eu-central-2`, `local`).
pub fn is_region(region: &str) -> bool {
    !region.is_empty()
        && region.len() <= 32
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// CloudTrail's `userIdentity` of an authenticated caller.
pub fn describe_caller(event: &mut AuditEvent, caller: &Caller, partition: &str) {
    let p = &caller.principal;
    event.identity_type = Some(p.identity_type().to_owned());
    event.principal_id = Some(p.user_id().into_owned());
    event.principal_arn = Some(p.arn(partition));
    event.account_id = Some(p.account_id().to_owned());
    event.user_name = p.user_name().map(str::to_owned);
    event.session = caller.session.as_ref().map(|s| SessionAttributes {
        mfa_authenticated: s.mfa_auth_time.is_some(),
        creation_date: s.issued_at(),
        issuer: session_issuer(p, partition),
        source_identity: s.source_identity.clone(),
    });
}

/// CloudTrail's `sessionIssuer`: the role of a role session, the user (or root) whose
/// `GetFederationToken` made a federated user's; none for a `GetSessionToken` session.
fn session_issuer(p: &Principal, partition: &str) -> Option<SessionIssuer> {
    match p {
        Principal::AssumedRole { role, .. } => Some(SessionIssuer {
            kind: "Role".to_owned(),
            principal_id: role.role_id.clone(),
            arn: role.arn(partition),
            account_id: role.account_id.clone(),
            user_name: Some(role.name.clone()),
        }),
        Principal::FederatedUser {
            parent: Some(user), ..
        } => Some(SessionIssuer {
            kind: "IAMUser".to_owned(),
            principal_id: user.user_id.clone(),
            arn: user.arn(partition),
            account_id: user.account_id.clone(),
            user_name: Some(user.name.clone()),
        }),
        Principal::FederatedUser {
            parent: None,
            account_id,
            ..
        } => Some(SessionIssuer {
            kind: "Root".to_owned(),
            principal_id: account_id.clone(),
            arn: root_arn(partition, account_id),
            account_id: account_id.clone(),
            user_name: None,
        }),
        Principal::Root { .. } | Principal::User(_) => None,
    }
}

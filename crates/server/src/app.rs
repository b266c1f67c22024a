//! The request path: decode → authenticate → authorise and execute → audit → encode, each
//! request in one store transaction (DESIGN.md, "A request's path").

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use keyward_core::audit::{
    AuditEvent, SessionAttributes, SessionIssuer, event_source, request_parameters,
};
use keyward_core::auth::{self, AuthFailure, CredentialCache, KeyHint};
use keyward_core::authz::{PolicyCache, RequestInfo};
use keyward_core::clock::Clock;
use keyward_core::crypto::MasterKey;
use keyward_core::ids::{new_event_id, new_request_id};
use keyward_core::model::MfaFailure;
use keyward_core::model::root_arn;
use keyward_core::ops::{self, Ctx, Operation, Output};
use keyward_core::principal::{Caller, Principal};
use keyward_core::session::SessionKeyRing;
use keyward_core::store::{Store, Tx};
use keyward_core::{ApiError, OpError};
use keyward_sigv4::{RequestParts, SigningKeyCache};
use time::OffsetDateTime;

use crate::alarms::Alarms;
use crate::audit_writer::AuditWriter;
use crate::decode::{Service, decode};
use crate::encode;
use crate::form::Params;
use crate::metrics::{AuthFailureReason, Metrics};
use crate::trail;

/// Largest request body accepted. IAM's largest documents (role policies, 10,240 characters,
/// URL-encoded) fit many times over.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Everything a request needs, shared by all requests.
pub struct AppState<S: Store> {
    /// The JSON-lines copy of every committed audit record (`--audit-log`).
    pub sink: Arc<crate::sink::AuditSink>,
    pub store: S,
    /// Resolved access keys (invalidated by every committed write).
    pub credentials: CredentialCache,
    /// Group commit of the records of requests that changed nothing.
    pub audit: AuditWriter,
    /// Whether requests are audited at all. Always `true` in service; `false` only for the audit
    /// overhead benchmark (`keyward serve --bench-without-audit`, `scripts/bench-audit`): no record
    /// is built, stored or copied to the sink. Metrics, alarms and the MFA throttle's rows are
    /// unaffected.
    pub record_audit: bool,
    pub master_key: MasterKey,
    /// Seals and opens session tokens (derived from the master key).
    pub session_keys: SessionKeyRing,
    pub signing_keys: SigningKeyCache,
    pub clock: Arc<dyn Clock>,
    pub partition: String,
    pub policies: PolicyCache,
    pub totp: keyward_core::totp::TotpConfig,
    /// When this node last recorded each access key's use (rate limit of `GetAccessKeyLastUsed`'s data).
    pub key_use: std::sync::Mutex<std::collections::HashMap<String, OffsetDateTime>>,
    /// Counters and histograms served at `/metrics`.
    pub metrics: Arc<Metrics>,
    /// `IAMMFAFailure` and the alerts, served at `/alarms`.
    pub alarms: Arc<Alarms>,
}

impl<S: Store> AppState<S> {
    /// What the console reports after each `signin::sign_in` attempt: counted in
    /// `keyward_console_signins_total` and watched for repeated failures.
    pub fn console_sign_in(
        &self,
        account: &str,
        user_name: &str,
        result: &keyward_core::signin::SignInResult,
    ) {
        self.metrics.console_sign_in(result);
        self.alarms.console_sign_in(account, user_name, result);
    }
}

/// The HTTP application: the AWS Query endpoint on every path but `/healthz`, `/metrics` and
/// `/alarms` (GET, no authentication).
pub fn router<S: Store>(state: Arc<AppState<S>>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics::<S>))
        .route("/alarms", get(alarms::<S>))
        .fallback(handle::<S>)
        .with_state(state)
}

async fn metrics<S: Store>(State(state): State<Arc<AppState<S>>>) -> Response {
    let text = state.metrics.render(&state.alarms.states());
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

async fn alarms<S: Store>(State(state): State<Arc<AppState<S>>>) -> Response {
    let mut response = state.alarms.snapshot().to_string().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Facts about the connection and request that the audit record keeps.
pub(crate) struct RequestMeta {
    pub(crate) source_ip: String,
    pub(crate) user_agent: Option<String>,
}

/// What one request produced, before encoding.
struct Reply {
    service: Service,
    action: String,
    request_id: String,
    result: Result<Output, ApiError>,
    /// What the store said about a refused long-term key.
    key_hint: Option<Box<KeyHint>>,
}

async fn handle<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let started = std::time::Instant::now();
    let (parts, body) = request.into_parts();
    let body = match to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            let err = ApiError::new(
                "RequestEntityTooLarge",
                413,
                format!("Request body must be at most {MAX_BODY_BYTES} bytes."),
            );
            state.metrics.request("iam", "", err.code);
            return respond(Service::Iam, &new_request_id(), Err(err), "");
        }
    };
    let headers: Vec<(&str, &str)> = parts
        .headers
        .iter()
        .filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?)))
        .collect();
    let req = RequestParts {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &headers,
        body: &body,
    };
    let meta = RequestMeta {
        source_ip: peer.ip().to_string(),
        user_agent: parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    };
    // CloudTrail's JSON protocol names its operation in a header.
    if let Some(target) = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .filter(|t| t.starts_with(crate::cloudtrail::TARGET_PREFIX))
    {
        let response = crate::cloudtrail::handle(&state, &req, &meta, target).await;
        state
            .metrics
            .request_duration("cloudtrail", started.elapsed());
        return response;
    }
    let reply = process(&state, &req, &meta).await;
    state
        .metrics
        .request_duration(reply.service.name(), started.elapsed());
    respond(
        reply.service,
        &reply.request_id,
        reply.result,
        &reply.action,
    )
}

fn respond(
    service: Service,
    request_id: &str,
    result: Result<Output, ApiError>,
    action: &str,
) -> Response {
    let (status, body) = match result {
        Ok(output) => (
            StatusCode::OK,
            encode::response(service, action, &output, request_id),
        ),
        Err(err) => (
            StatusCode::from_u16(err.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            encode::error(service, &err, request_id),
        ),
    };
    let mut response = (status, Body::from(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-RequestId", id);
    }
    response
}

/// STS's actions, to pick the namespace of an error for a request that is not signed at all.
const STS_ACTIONS: &[&str] = &[
    "AssumeRole",
    "AssumeRoleWithSAML",
    "AssumeRoleWithWebIdentity",
    "DecodeAuthorizationMessage",
    "GetAccessKeyInfo",
    "GetCallerIdentity",
    "GetFederationToken",
    "GetSessionToken",
];

fn parameters(req: &RequestParts<'_>) -> Result<Params, ApiError> {
    let bad = |_| {
        ApiError::new(
            "MalformedQueryString",
            400,
            "The request parameters are not valid form encoding.",
        )
    };
    let mut params = Params::parse(req.query.as_bytes()).map_err(bad)?;
    if req.method.eq_ignore_ascii_case("POST") {
        params.extend_from_form(req.body).map_err(bad)?;
    }
    Ok(params)
}

async fn process<S: Store>(
    state: &AppState<S>,
    req: &RequestParts<'_>,
    meta: &RequestMeta,
) -> Reply {
    let request_id = new_request_id();
    let now = state.clock.now();
    let params = parameters(req);
    let action = params
        .as_ref()
        .ok()
        .and_then(|p| p.get("Action"))
        .unwrap_or_default()
        .to_owned();
    // For the metrics and alarms: the user an MFA code is offered for, and whether one is.
    let target_user = params
        .as_ref()
        .ok()
        .and_then(|p| p.get("UserName"))
        .map(str::to_owned);
    let offers_mfa_code = params
        .as_ref()
        .is_ok_and(|p| p.get("TokenCode").is_some() || p.get("AuthenticationCode1").is_some());
    let guessed = if STS_ACTIONS.contains(&action.as_str()) {
        Service::Sts
    } else {
        Service::Iam
    };
    let mut event = AuditEvent::api_call(
        new_event_id(now),
        now,
        guessed.name(),
        &action,
        request_id.clone(),
        meta.source_ip.clone(),
        meta.user_agent.clone(),
    );
    if let Ok(p) = &params
        && state.record_audit
    {
        event.request_parameters = request_parameters(p.iter());
        event.resources = trail::resources(p);
    }
    let mut reply = Reply {
        service: guessed,
        action,
        request_id,
        result: Err(ApiError::internal()),
        key_hint: None,
    };

    let outcome = run(state, req, params, now, &mut event, &mut reply).await;
    let result = match outcome {
        Ok((output, Recorded::Yes)) => {
            if offers_mfa_code {
                state.metrics.mfa_verification("success", "none");
            }
            if state.record_audit {
                state.sink.send(&event);
            }
            Ok(output)
        }
        Ok((output, Recorded::No)) => {
            if offers_mfa_code {
                state.metrics.mfa_verification("success", "none");
            }
            submit_unchanged(state, event).await;
            Ok(output)
        }
        Err(e) => {
            if let OpError::Store(cause) = &e {
                tracing::error!(request_id = %reply.request_id, action = %reply.action, error = %cause, "request failed in the store");
            }
            let api = e.to_api();
            event.error_code = Some(api.code.to_owned());
            event.error_message = Some(api.message.clone());
            // What the failed change would have answered (set before its record's insert failed,
            // or its commit) was never answered: a failure has no response elements.
            event.response_elements = None;
            observe_refusal(state, &api, &event, reply.key_hint.as_deref());
            // The failed request's own transaction was rolled back; its record gets one of its own,
            // and so does a refused MFA code (the throttle and the doctor read those).
            let mut mfa_failure = match e {
                OpError::MfaRejected { failure, .. } => Some(*failure),
                _ => None,
            };
            if let Some(f) = mfa_failure.as_mut() {
                f.request_id = Some(reply.request_id.clone());
                state.metrics.mfa_verification("failure", f.reason.as_str());
                let user = target_user
                    .as_deref()
                    .or(event.user_name.as_deref())
                    .or(f.user_id.as_deref())
                    .unwrap_or("unknown");
                state.alarms.mfa_failure(&f.account_id, user);
                event.additional_event_data = Some(serde_json::json!({
                    "MFAUsed": "Yes",
                    "MFAIdentifier": f.serial,
                    "MFAFailureReason": f.reason.as_str(),
                }));
            }
            // A refused MFA code is written at once (the throttle counts it); any other refused
            // request changed nothing, so its record joins the group commit.
            if mfa_failure.is_some() {
                let record = state.record_audit.then_some(&event);
                match record_alone(&state.store, record, mfa_failure.as_ref()).await {
                    Ok(()) if state.record_audit => state.sink.send(&event),
                    Ok(()) => {}
                    Err(cause) => {
                        tracing::error!(request_id = %reply.request_id, error = %cause, "audit record of a failed request was not written");
                    }
                }
            } else {
                submit_unchanged(state, event).await;
            }
            Err(api)
        }
    };
    tracing::debug!(
        request_id = %reply.request_id,
        action = %reply.action,
        code = result.as_ref().err().map(|e| e.code).unwrap_or("OK"),
        "request"
    );
    state.metrics.request(
        reply.service.name(),
        &reply.action,
        result.as_ref().err().map(|e| e.code).unwrap_or("OK"),
    );
    reply.result = result;
    reply
}

/// Counts an authentication failure by reason and raises the refused-key alert.
pub(crate) fn observe_refusal<S: Store>(
    state: &AppState<S>,
    api: &ApiError,
    event: &AuditEvent,
    hint: Option<&KeyHint>,
) {
    let inactive = matches!(hint, Some(KeyHint::Inactive { .. }));
    if let Some(reason) = AuthFailureReason::classify(api.code, &api.message, inactive) {
        state.metrics.auth_failure(reason);
        if let (Some(hint), Some(key_id)) = (hint, event.access_key_id.as_deref())
            && api.code == "InvalidClientTokenId"
        {
            state.alarms.refused_key(key_id, hint);
        }
    }
}

/// Commits `tx`, timing it for `keyward_store_duration_seconds`.
async fn timed_commit<S: Store>(state: &AppState<S>, tx: S::Tx) -> Result<(), OpError> {
    let started = std::time::Instant::now();
    let result = tx.commit().await;
    state.metrics.store_duration(started.elapsed());
    Ok(result?)
}

/// A region name as AWS spells them (`us-east-1`, `eu-central-2`, `local`).
pub(crate) fn is_region(region: &str) -> bool {
    !region.is_empty()
        && region.len() <= 32
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Records when, for which service and in which region a key was used, at most once per
/// [`ops::KEY_LAST_USED_INTERVAL`]; a failure to record is logged, never the request's failure.
async fn record_key_use<S: Store>(
    state: &AppState<S>,
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
    if let Ok(mut seen) = state.key_use.lock() {
        if seen.get(&caller.access_key_id).copied().is_some_and(recent) {
            return;
        }
        if seen.len() >= 100_000 {
            seen.clear();
        }
        seen.insert(caller.access_key_id.clone(), now);
    }
    let used = keyward_core::model::KeyLastUsed {
        date: now,
        service: scope.service.clone(),
        region: scope.region.clone(),
    };
    let result: Result<(), OpError> = async {
        let mut tx = state.store.begin().await?;
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

/// Queues the record of a request that changed nothing; written at once if the writer has stopped.
pub(crate) async fn submit_unchanged<S: Store>(state: &AppState<S>, event: AuditEvent) {
    if !state.record_audit {
        return;
    }
    if let Err(event) = state.audit.submit(event).await
        && let Err(cause) = record_alone(&state.store, Some(&event), None).await
    {
        tracing::error!(request_id = %event.request_id, error = %cause, "audit record was not written");
    }
}

/// Writes a record (`None` only when auditing is off) and a refused MFA code's row in one
/// transaction of their own.
async fn record_alone<S: Store>(
    store: &S,
    event: Option<&AuditEvent>,
    mfa_failure: Option<&MfaFailure>,
) -> Result<(), OpError> {
    let mut tx = store.begin().await?;
    if let Some(event) = event {
        tx.insert_audit_event(event).await?;
    }
    if let Some(f) = mfa_failure {
        tx.insert_mfa_failure(f).await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(crate) fn describe_caller(event: &mut AuditEvent, caller: &Caller, partition: &str) {
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

/// Whether the request's record was committed in its own transaction.
enum Recorded {
    /// A write: the record committed with the change.
    Yes,
    /// A read: the record is still to be written (group commit).
    No,
}

/// Authenticates, decodes and executes. A write commits its audit record in its own transaction;
/// a read commits nothing and leaves its record to the caller. On failure nothing of the request's
/// transaction is kept.
async fn run<S: Store>(
    state: &AppState<S>,
    req: &RequestParts<'_>,
    params: Result<Params, ApiError>,
    now: OffsetDateTime,
    event: &mut AuditEvent,
    reply: &mut Reply,
) -> Result<(Output, Recorded), OpError> {
    let parsed = auth::parse(req).map_err(|f: AuthFailure| f.error)?;
    event.access_key_id = Some(parsed.access_key_id.clone());
    event.aws_region = parsed.scope.region.clone();
    // The endpoint serves IAM and STS; a scope naming another service is refused the way AWS
    // refuses a request signed for the wrong service.
    let service = Service::from_scope(&parsed.scope.service).unwrap_or(reply.service);
    keyward_sigv4::check_scope(&parsed, is_region, service.name())
        .map_err(|e| ApiError::new(e.code(), e.http_status(), e.message()))?;
    reply.service = service;
    event.event_source = event_source(service.name());

    // Decoded before authentication only to choose the transaction; its errors are reported
    // after authentication's, as AWS orders them.
    let decoded = match &params {
        Ok(p) if !reply.action.is_empty() => Some(decode(service, &reply.action, p)),
        _ => None,
    };
    // ── The transaction mode is chosen here. ──────────────────────────────────────────────────
    // A read-only operation (and any request that will fail to decode) runs in a read transaction:
    // concurrent under WAL, no write lock; its record goes to the group commit. Anything else takes
    // the write transaction and commits its record with its change. An operation that writes must
    // not answer `true` to `Operation::read_only`.
    let read_only = match &decoded {
        Some(Ok(op)) => op.name().read_only(),
        _ => true,
    };
    event.read_only = matches!(&decoded, Some(Ok(op)) if op.name().read_only());
    let mut tx = if read_only {
        state.store.begin_read().await?
    } else {
        state.store.begin().await?
    };
    let caller = auth::authenticate_cached(
        &mut tx,
        &state.credentials,
        &state.master_key,
        &state.session_keys,
        &state.signing_keys,
        req,
        &parsed,
        now,
    )
    .await
    .map_err(|f| {
        reply.key_hint = f.key_hint;
        event.account_id = f.account_id;
        f.error
    })?;
    describe_caller(event, &caller, &state.partition);

    params?;
    let op: Operation = match decoded {
        Some(op) => op?,
        None => return Err(ApiError::new("MissingAction", 400, "Missing Action").into()),
    };
    let info = RequestInfo {
        source_ip: event.source_ip.clone(),
        user_agent: event.user_agent.clone(),
        secure_transport: false,
        region: parsed.scope.region.clone(),
    };
    let ctx = Ctx {
        partition: &state.partition,
        now,
        master_key: &state.master_key,
        caller: &caller,
        info: &info,
        policies: &state.policies,
        totp: &state.totp,
        session_keys: &state.session_keys,
    };
    let read_only = op.name().read_only();
    let output = ops::execute(&mut tx, &ctx, op).await?;
    if read_only {
        timed_commit(state, tx).await?;
        record_key_use(state, &caller, &parsed.scope, now).await;
        return Ok((output, Recorded::No));
    }
    if state.record_audit {
        event.response_elements = trail::response_elements(&output);
        tx.insert_audit_event(event).await?;
    }
    timed_commit(state, tx).await?;
    // After the commit and before the response: the next request resolves its key and gathers
    // its policies afresh (read-your-writes).
    state.credentials.invalidate();
    state.policies.invalidate();
    record_key_use(state, &caller, &parsed.scope, now).await;
    Ok((output, Recorded::Yes))
}

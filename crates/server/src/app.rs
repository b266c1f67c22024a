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
use keyward_core::audit::{AuditEvent, event_source};
use keyward_core::auth::{self, AuthFailure};
use keyward_core::authz::{PolicyCache, RequestInfo};
use keyward_core::clock::Clock;
use keyward_core::crypto::MasterKey;
use keyward_core::ids::new_request_id;
use keyward_core::model::MfaFailure;
use keyward_core::ops::{self, Ctx, Operation, Output};
use keyward_core::principal::Caller;
use keyward_core::session::SessionKeyRing;
use keyward_core::store::{Store, Tx};
use keyward_core::{ApiError, OpError};
use keyward_sigv4::{RequestParts, SigningKeyCache};
use time::OffsetDateTime;

use crate::decode::{Service, decode};
use crate::encode;
use crate::form::Params;

/// Largest request body accepted. IAM's largest documents (role policies, 10,240 characters,
/// URL-encoded) fit many times over.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Everything a request needs, shared by all requests.
pub struct AppState<S: Store> {
    pub store: S,
    pub master_key: MasterKey,
    /// Seals and opens session tokens (derived from the master key).
    pub session_keys: SessionKeyRing,
    pub signing_keys: SigningKeyCache,
    pub clock: Arc<dyn Clock>,
    pub partition: String,
    pub policies: PolicyCache,
}

/// The HTTP application: the AWS Query endpoint on every path but `/healthz`.
pub fn router<S: Store>(state: Arc<AppState<S>>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .fallback(handle::<S>)
        .with_state(state)
}

/// Facts about the connection and request that the audit record keeps.
struct RequestMeta {
    source_ip: String,
    user_agent: Option<String>,
}

/// What one request produced, before encoding.
struct Reply {
    service: Service,
    action: String,
    request_id: String,
    result: Result<Output, ApiError>,
}

async fn handle<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let body = match to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            let err = ApiError::new(
                "RequestEntityTooLarge",
                413,
                format!("Request body must be at most {MAX_BODY_BYTES} bytes."),
            );
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
    let reply = process(&state, &req, &meta).await;
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
    let guessed = if STS_ACTIONS.contains(&action.as_str()) {
        Service::Sts
    } else {
        Service::Iam
    };
    let mut event = AuditEvent {
        event_id: new_request_id(),
        event_time: now,
        event_source: event_source(guessed.name()),
        event_name: action.clone(),
        aws_region: "us-east-1".to_owned(),
        source_ip: meta.source_ip.clone(),
        user_agent: meta.user_agent.clone(),
        request_id: request_id.clone(),
        read_only: false,
        identity_type: None,
        principal_id: None,
        principal_arn: None,
        account_id: None,
        access_key_id: None,
        user_name: None,
        error_code: None,
        error_message: None,
    };
    let mut reply = Reply {
        service: guessed,
        action,
        request_id,
        result: Err(ApiError::internal()),
    };

    let outcome = run(state, req, params, now, &mut event, &mut reply).await;
    let result = match outcome {
        Ok(output) => Ok(output),
        Err(e) => {
            if let OpError::Store(cause) = &e {
                tracing::error!(request_id = %reply.request_id, action = %reply.action, error = %cause, "request failed in the store");
            }
            let api = e.to_api();
            event.error_code = Some(api.code.to_owned());
            event.error_message = Some(api.message.clone());
            // The failed request's own transaction was rolled back; its record gets one of its own,
            // and so does a refused MFA code (the throttle and the doctor read those).
            let mut mfa_failure = match e {
                OpError::MfaRejected { failure, .. } => Some(*failure),
                _ => None,
            };
            if let Some(f) = mfa_failure.as_mut() {
                f.request_id = Some(reply.request_id.clone());
            }
            if let Err(cause) = record_alone(&state.store, &event, mfa_failure.as_ref()).await {
                tracing::error!(request_id = %reply.request_id, error = %cause, "audit record of a failed request was not written");
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
    reply.result = result;
    reply
}

/// A region name as AWS spells them (`us-east-1`, `eu-central-2`, `local`).
fn is_region(region: &str) -> bool {
    !region.is_empty()
        && region.len() <= 32
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

async fn record_alone<S: Store>(
    store: &S,
    event: &AuditEvent,
    mfa_failure: Option<&MfaFailure>,
) -> Result<(), OpError> {
    let mut tx = store.begin().await?;
    tx.insert_audit_event(event).await?;
    if let Some(f) = mfa_failure {
        tx.insert_mfa_failure(f).await?;
    }
    tx.commit().await?;
    Ok(())
}

fn describe_caller(event: &mut AuditEvent, caller: &Caller, partition: &str) {
    let p = &caller.principal;
    event.identity_type = Some(p.identity_type().to_owned());
    event.principal_id = Some(p.user_id().into_owned());
    event.principal_arn = Some(p.arn(partition));
    event.account_id = Some(p.account_id().to_owned());
    event.user_name = p.user_name().map(str::to_owned);
}

/// Authenticates, decodes and executes; on success writes the audit record in the same
/// transaction and commits. On failure nothing of the request's transaction is kept.
async fn run<S: Store>(
    state: &AppState<S>,
    req: &RequestParts<'_>,
    params: Result<Params, ApiError>,
    now: OffsetDateTime,
    event: &mut AuditEvent,
    reply: &mut Reply,
) -> Result<Output, OpError> {
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

    let mut tx = state.store.begin().await?;
    let caller = auth::authenticate(
        &mut tx,
        &state.master_key,
        &state.session_keys,
        &state.signing_keys,
        req,
        &parsed,
        now,
    )
    .await
    .map_err(|f| f.error)?;
    describe_caller(event, &caller, &state.partition);

    let params = params?;
    if reply.action.is_empty() {
        return Err(ApiError::new("MissingAction", 400, "Missing Action").into());
    }
    let op: Operation = decode(service, &reply.action, &params)?;
    event.read_only = op.read_only();
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
        session_keys: &state.session_keys,
    };
    let output = ops::execute(&mut tx, &ctx, op).await?;
    tx.insert_audit_event(event).await?;
    tx.commit().await?;
    Ok(output)
}

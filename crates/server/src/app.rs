//! The Query protocol's adapter: parse the request, hand it to the core pipeline
//! (`keyward_core::pipeline`: authenticate → authorise → run → audit → commit → invalidate),
//! observe the outcome (metrics, alarms) and render it in AWS's XML.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use keyward_core::ApiError;
use keyward_core::audit::request_parameters;
use keyward_core::ids::new_request_id;
use keyward_core::ops::{Members, Output};
use keyward_core::pipeline::{Call, Credentials, Input, Outcome};
use keyward_core::store::Store;
use keyward_sigv4::RequestParts;

use crate::decode::Service;
use crate::encode;
use crate::form::Params;
use crate::metrics::TimeoutPhase;
use crate::state::{AppState, RequestMeta, observe_refusal};

/// Largest request body accepted. IAM's largest documents (role policies, 10,240 characters,
/// URL-encoded) fit many times over.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

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

/// The AWS endpoint alone (and `/healthz`): what `--metrics-listen` leaves on the API port.
pub fn api_router<S: Store>(state: Arc<AppState<S>>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .fallback(handle::<S>)
        .with_state(state)
}

/// `/metrics` and `/alarms` (no authentication, and `/alarms` names users): served on the
/// `--metrics-listen` address when one is given, for the monitoring network only.
pub fn monitoring_router<S: Store>(state: Arc<AppState<S>>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics::<S>))
        .route("/alarms", get(alarms::<S>))
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

async fn handle<S: Store>(
    State(state): State<Arc<AppState<S>>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let started = std::time::Instant::now();
    let (parts, body) = request.into_parts();
    let body = match tokio::time::timeout(state.body_read_timeout, to_bytes(body, MAX_BODY_BYTES))
        .await
    {
        Ok(Ok(b)) => b,
        Err(_elapsed) => {
            state.metrics.connection_timed_out(TimeoutPhase::Body);
            // S3's code and words for the same refusal (IAM and STS document none).
            let err = ApiError::new(
                "RequestTimeout",
                400,
                "Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed.",
            );
            state.metrics.request("iam", "", err.code);
            let mut response = respond(Service::Iam, &new_request_id(), Err(err), "");
            // The rest of the body is never read: the connection cannot carry another request.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return response;
        }
        Ok(Err(_)) => {
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
    let pipeline = &state.pipeline;
    let request_id = new_request_id();
    let now = pipeline.clock.now();
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
    let mut event = pipeline.begin_event(
        now,
        guessed.name(),
        &action,
        request_id.clone(),
        meta.source_ip.clone(),
        meta.user_agent.clone(),
    );
    if let Ok(p) = &params
        && pipeline.record_audit
    {
        event.request_parameters = request_parameters(p.iter());
        event.resources = keyward_core::trail::resources(p);
    }
    let members = match &params {
        Ok(p) => Ok(p as &(dyn Members + Sync)),
        Err(e) => Err(e.clone()),
    };
    let call = Call {
        request_id: request_id.clone(),
        now,
        source_ip: meta.source_ip.clone(),
        user_agent: meta.user_agent.clone(),
        service: guessed,
        credentials: Credentials::Signed(req),
        input: Input::Wire {
            action: &action,
            members,
        },
        event,
    };
    let outcome = pipeline.call(call, state).await;
    observe(state, &outcome, offers_mfa_code, target_user.as_deref());
    let result = outcome.result.map_err(|e| e.to_api());
    tracing::debug!(
        request_id = %request_id,
        action = %action,
        code = result.as_ref().err().map(|e| e.code).unwrap_or("OK"),
        "request"
    );
    state.metrics.request(
        outcome.service.name(),
        &action,
        result.as_ref().err().map(|e| e.code).unwrap_or("OK"),
    );
    Reply {
        service: outcome.service,
        action,
        request_id,
        result,
    }
}

/// What one request produced, before encoding.
struct Reply {
    service: Service,
    action: String,
    request_id: String,
    result: Result<Output, ApiError>,
}

/// What the metrics and alarms learn from a request's outcome.
fn observe<S: Store>(
    state: &AppState<S>,
    outcome: &Outcome,
    offers_mfa_code: bool,
    target_user: Option<&str>,
) {
    if let Some(decision) = outcome.decision() {
        state.metrics.authz_decision(decision);
    }
    match &outcome.result {
        Ok(_) => {
            if offers_mfa_code {
                state.metrics.mfa_verification("success", "none");
            }
        }
        Err(e) => {
            let api = e.to_api();
            observe_refusal(
                state,
                &api,
                outcome.access_key_id.as_deref(),
                outcome.key_hint.as_deref(),
            );
            if let Some(f) = &outcome.mfa_failure {
                state.metrics.mfa_verification("failure", f.reason.as_str());
                let user = target_user
                    .or(outcome.user_name.as_deref())
                    .or(f.user_id.as_deref())
                    .unwrap_or("unknown");
                state.alarms.mfa_failure(&f.account_id, user);
            }
        }
    }
}

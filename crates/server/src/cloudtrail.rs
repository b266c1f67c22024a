//! CloudTrail's `LookupEvents` on the JSON 1.1 protocol (`X-Amz-Target:
//! com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents`), over the audit trail.
//! Authorised as `cloudtrail:LookupEvents` on `*`; the call itself is recorded like any read.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keyward_core::audit::{
    AuditEvent, AuditQuery, LookupKey, MAX_PARAMETERS_BYTES, StoredRecord, omitted,
};
use keyward_core::auth;
use keyward_core::authz::{Permission, RequestInfo, authorize};
use keyward_core::ids::new_request_id;
use keyward_core::pipeline::{describe_caller, is_region};
use keyward_core::store::{Store, Tx};
use keyward_core::{ApiError, OpError};
use keyward_sigv4::RequestParts;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::state::{AppState, RequestMeta, observe_refusal};

/// The `X-Amz-Target` prefix of CloudTrail's operations.
pub const TARGET_PREFIX: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.";
const MAX_RESULTS: usize = 50;
/// Most bytes of records one `LookupEvents` page holds (beyond its first record): a page stays
/// a few MB however large its records (older ones may exceed today's bounds).
pub const MAX_PAGE_BYTES: usize = 1024 * 1024;

pub(crate) async fn handle<S: Store>(
    state: &AppState<S>,
    req: &RequestParts<'_>,
    meta: &RequestMeta,
    target: &str,
) -> Response {
    let request_id = new_request_id();
    let now = state.pipeline.clock.now();
    let action = target.strip_prefix(TARGET_PREFIX).unwrap_or(target);
    let mut event = state.pipeline.begin_event(
        now,
        "cloudtrail",
        action,
        request_id.clone(),
        meta.source_ip.clone(),
        meta.user_agent.clone(),
    );
    event.read_only = true;
    let mut key_hint = None;
    let result = lookup(state, req, now, action, &mut event, &mut key_hint).await;
    if let Err(e) = &result {
        if let OpError::Store(cause) = e {
            tracing::error!(request_id = %request_id, error = %cause, "LookupEvents failed in the store");
        }
        let api = e.to_api();
        event.error_code = Some(api.code.to_owned());
        event.error_message = Some(api.message.clone());
        observe_refusal(
            state,
            &api,
            event.access_key_id.as_deref(),
            key_hint.as_deref(),
        );
    }
    state.metrics.request(
        "cloudtrail",
        action,
        event.error_code.as_deref().unwrap_or("OK"),
    );
    state.pipeline.record_unchanged(event, state).await;
    let (status, body) = match result {
        Ok(body) => (StatusCode::OK, body),
        Err(e) => {
            let api = e.to_api();
            (
                StatusCode::from_u16(api.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                json!({ "__type": json_error_code(api.code), "message": api.message }),
            )
        }
    };
    let mut response = (status, Body::from(body.to_string())).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    if let Ok(id) = HeaderValue::from_str(&request_id) {
        headers.insert("x-amzn-RequestId", id);
    }
    response
}

/// The JSON protocol's names of the authentication errors.
fn json_error_code(query_code: &str) -> &str {
    match query_code {
        "InvalidClientTokenId" => "UnrecognizedClientException",
        "SignatureDoesNotMatch" => "InvalidSignatureException",
        "AccessDenied" => "AccessDeniedException",
        other => other,
    }
}

fn invalid(code: &'static str, message: impl Into<String>) -> OpError {
    ApiError::new(code, 400, message).into()
}

/// A JSON 1.1 timestamp: epoch seconds (a number) or an ISO 8601 string.
fn timestamp(v: &Value) -> Option<OffsetDateTime> {
    if let Some(secs) = v.as_f64() {
        let nanos = (secs * 1e9) as i128;
        return OffsetDateTime::from_unix_timestamp_nanos(nanos).ok();
    }
    v.as_str()
        .and_then(|s| OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok())
}

async fn lookup<S: Store>(
    state: &AppState<S>,
    req: &RequestParts<'_>,
    now: OffsetDateTime,
    action: &str,
    event: &mut AuditEvent,
    key_hint: &mut Option<Box<auth::KeyHint>>,
) -> Result<Value, OpError> {
    let parsed = auth::parse(req).map_err(|f| f.error)?;
    event.access_key_id = Some(parsed.access_key_id.clone());
    event.aws_region = parsed.scope.region.clone();
    keyward_sigv4::check_scope(&parsed, is_region, "cloudtrail")
        .map_err(|e| ApiError::new(e.code(), e.http_status(), e.message()))?;
    let pipeline = &state.pipeline;
    pipeline.observe_changes().await?;
    let mut tx = pipeline.store.begin_read().await?;
    let caller = pipeline
        .authenticate(&mut tx, req, &parsed, now)
        .await
        .map_err(|f| {
            *key_hint = f.key_hint;
            event.account_id = f.account_id;
            f.error
        })?;
    describe_caller(event, &caller, &pipeline.partition);
    if action != "LookupEvents" {
        return Err(ApiError::new(
            "UnknownOperationException",
            400,
            format!("keyward serves CloudTrail's LookupEvents only, not {action}."),
        )
        .into());
    }
    let body = parse_body(req.body)?;
    event.request_parameters = lookup_parameters(&body, req.body.len());

    let info = RequestInfo {
        source_ip: event.source_ip.clone(),
        user_agent: event.user_agent.clone(),
        secure_transport: false,
        region: parsed.scope.region.clone(),
    };
    let ctx = pipeline.ctx(&caller, &info, now);
    authorize(
        &mut tx,
        &ctx,
        &Permission {
            action: "cloudtrail:LookupEvents".to_owned(),
            resource: "*".to_owned(),
            context: Vec::new(),
        },
    )
    .await?;

    let query = parse_query(&body, caller.principal.account_id())?;
    tx.commit().await?;
    // The records of requests already answered may still be queued for their group commit: the
    // caller sees them all (read in a transaction begun after they are written).
    state.audit.flush().await;
    let mut tx = pipeline.store.begin_read().await?;
    let mut records = tx.lookup_audit_events(&query).await?;
    tx.commit().await?;
    // A page ends at `MaxResults` records or once it holds `MAX_PAGE_BYTES` of them: the next
    // page begins after its last.
    let full = records.len() == query.limit;
    let page = page_len(&records);
    let cut = page < records.len();
    records.truncate(page);
    let next = (full || cut)
        .then(|| records.last().map(|r| format!("kw1-{}", r.seq)))
        .flatten();
    let events: Vec<Value> = records.iter().filter_map(lookup_event).collect();
    let mut out = json!({ "Events": events });
    if let Some(token) = next {
        out["NextToken"] = json!(token);
    }
    Ok(out)
}

/// How many of `records` (newest first) one page holds: every one while they total at most
/// [`MAX_PAGE_BYTES`], and always the first.
fn page_len(records: &[StoredRecord]) -> usize {
    let mut bytes = 0usize;
    let mut n = 0;
    for r in records {
        bytes = bytes.saturating_add(r.record.len());
        if n > 0 && bytes > MAX_PAGE_BYTES {
            break;
        }
        n += 1;
    }
    n
}

/// A JSON 1.1 request body (empty: no members).
fn parse_body(body: &[u8]) -> Result<Value, OpError> {
    if body.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(body)
        .map_err(|_| invalid("SerializationException", "The request body is not JSON."))
}

/// Everything the JSON protocol's adapter makes of a `LookupEvents` body before it reads the
/// trail: its members, the record's `requestParameters` and the query (the fuzz target's entry;
/// the handler runs the same steps with authorisation between them).
#[doc(hidden)]
pub fn decode_lookup_body(body: &[u8]) -> Result<(Option<Value>, AuditQuery), OpError> {
    let members = parse_body(body)?;
    let parameters = lookup_parameters(&members, body.len());
    Ok((parameters, parse_query(&members, "123456789012")?))
}

/// `requestParameters` of a `LookupEvents` call: its members in camelCase ([`omitted`] for a
/// body larger than CloudTrail keeps).
fn lookup_parameters(body: &Value, size: usize) -> Option<Value> {
    if size > MAX_PARAMETERS_BYTES {
        return Some(omitted());
    }
    let mut p = serde_json::Map::new();
    for (k, v) in body.as_object()? {
        let mut chars = k.chars();
        let camel: String = chars
            .next()
            .map(|c| c.to_lowercase().chain(chars).collect())
            .unwrap_or_default();
        p.insert(camel, v.clone());
    }
    (!p.is_empty()).then_some(Value::Object(p))
}

fn parse_query(body: &Value, account_id: &str) -> Result<AuditQuery, OpError> {
    let attribute = match body.get("LookupAttributes").and_then(Value::as_array) {
        None => None,
        Some(list) if list.is_empty() => None,
        Some(list) if list.len() > 1 => {
            return Err(invalid(
                "InvalidLookupAttributesException",
                "You cannot specify more than one lookup attribute.",
            ));
        }
        Some(list) => {
            let a = list.first().unwrap_or(&Value::Null);
            let key = a.get("AttributeKey").and_then(Value::as_str).unwrap_or("");
            let value = a.get("AttributeValue").and_then(Value::as_str);
            let key = LookupKey::parse(key).ok_or_else(|| {
                invalid(
                    "InvalidLookupAttributesException",
                    format!("Invalid attribute key: {key}"),
                )
            })?;
            let value = value.filter(|v| !v.is_empty()).ok_or_else(|| {
                invalid(
                    "InvalidLookupAttributesException",
                    "The attribute value must not be empty.",
                )
            })?;
            Some((key, value.to_owned()))
        }
    };
    let start = body.get("StartTime").map(|v| {
        timestamp(v).ok_or_else(|| invalid("InvalidTimeRangeException", "Invalid StartTime."))
    });
    let end = body.get("EndTime").map(|v| {
        timestamp(v).ok_or_else(|| invalid("InvalidTimeRangeException", "Invalid EndTime."))
    });
    let start = start.transpose()?;
    let end = end.transpose()?;
    if let (Some(s), Some(e)) = (start, end)
        && s > e
    {
        return Err(invalid(
            "InvalidTimeRangeException",
            "Start time must be less than or equal to end time.",
        ));
    }
    let limit = match body.get("MaxResults") {
        None => MAX_RESULTS,
        Some(v) => match v.as_u64() {
            Some(n @ 1..=50) => usize::try_from(n).unwrap_or(MAX_RESULTS),
            _ => {
                return Err(invalid(
                    "InvalidMaxResultsException",
                    "MaxResults must be between 1 and 50.",
                ));
            }
        },
    };
    let before = match body.get("NextToken").and_then(Value::as_str) {
        None => None,
        Some(token) => Some(
            token
                .strip_prefix("kw1-")
                .and_then(|n| n.parse::<i64>().ok())
                .ok_or_else(|| invalid("InvalidNextTokenException", "Invalid NextToken."))?,
        ),
    };
    Ok(AuditQuery {
        account_id: account_id.to_owned(),
        attribute,
        // CloudTrail's records have whole seconds: an end time covers its whole second.
        start: start.map(|s| s.replace_nanosecond(0).unwrap_or(s)),
        end: end.map(|e| e.replace_nanosecond(999_999_999).unwrap_or(e)),
        before,
        limit,
    })
}

/// One `Event` of the response, from a stored record.
fn lookup_event(stored: &StoredRecord) -> Option<Value> {
    let r: Value = serde_json::from_str(&stored.record).ok()?;
    let time = r["eventTime"].as_str().and_then(|s| {
        OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
    })?;
    let resources: Vec<Value> = r["resources"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|i| json!({ "ResourceType": i["type"], "ResourceName": i["ARN"] }))
                .collect()
        })
        .unwrap_or_default();
    let username = r["userIdentity"]["userName"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| (r["userIdentity"]["type"] == "Root").then(|| "root".to_owned()));
    let mut e = json!({
        "EventId": r["eventID"],
        "EventName": r["eventName"],
        "ReadOnly": if r["readOnly"] == true { "true" } else { "false" },
        "EventTime": time.unix_timestamp(),
        "EventSource": r["eventSource"],
        "Resources": resources,
        "CloudTrailEvent": stored.record,
    });
    if let Some(k) = r["userIdentity"]["accessKeyId"].as_str() {
        e["AccessKeyId"] = json!(k);
    }
    if let Some(u) = username {
        e["Username"] = json!(u);
    }
    Some(e)
}

//! The one place every request's outcome passes: one record per request (and per console sign-in
//! attempt) in CloudTrail's record format.
//!
//! Each request yields exactly one [`AuditEvent`]. A change's record is written in the change's own
//! transaction (see [`crate::store::Tx::insert_audit_event`]); the record of a request that changed
//! nothing may be group-committed (see `keyward_server::audit_writer`).
//!
//! **Architecture invariant: no secret in a record.** Request parameters pass through
//! [`request_parameters`], which replaces secret values with [`HIDDEN`]: every member botocore's IAM
//! and STS models mark sensitive ([`crate::sensitive`], generated from them: passwords, private
//! keys, SAML assertions, web identity tokens...) and the TOTP codes they do not; response elements
//! are built per operation and never hold a secret field at all.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::clock::iso8601;
use crate::sensitive::SENSITIVE_MEMBERS;
use crate::validate::MAX_LIST_INDEX;

/// CloudTrail's record format version written here.
pub const EVENT_VERSION: &str = "1.09";
/// What CloudTrail writes in place of a secret value.
pub const HIDDEN: &str = "HIDDEN_DUE_TO_SECURITY_REASONS";

/// CloudTrail's largest `requestParameters`: a larger one is replaced by [`omitted`] (CloudTrail
/// "truncates a field if the field's contents exceeds the maximum field size. If a field is
/// truncated, omitted is present with a value of true"; its record contents give 100 KB for
/// `requestParameters` and `responseElements`). Measured on the parameters as received (names
/// and values), which the JSON exceeds by at most its escaping.
pub const MAX_PARAMETERS_BYTES: usize = 100 * 1024;

/// Longest text a record keeps of a name the client chose (`eventName`, `awsRegion`,
/// `userIdentity.accessKeyId`): every real one is far shorter (IAM's longest action name is 39
/// characters, an access key ID at most 128).
pub const MAX_NAME_BYTES: usize = 128;

/// Longest `userAgent` and `errorMessage` a record keeps; the rest is cut, ending in `...`.
pub const MAX_TEXT_BYTES: usize = 1024;

/// What stands in a field too large to keep: `{"omitted": true}`.
pub fn omitted() -> Value {
    json!({ "omitted": true })
}

/// Which records of read-only requests the trail keeps (`--audit-reads`), as CloudTrail's
/// management-event selector chooses read events: every one, only those refused (an error of
/// any kind), or none. Records of writes are always kept, and a refused MFA code is counted by
/// the throttle whatever this says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReadRecords {
    #[default]
    All,
    Refused,
    None,
}

impl ReadRecords {
    /// `all`, `refused` or `none`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "all" => Some(ReadRecords::All),
            "refused" => Some(ReadRecords::Refused),
            "none" => Some(ReadRecords::None),
            _ => None,
        }
    }

    /// Whether the trail keeps `event`'s record.
    pub fn keeps(self, event: &AuditEvent) -> bool {
        !event.read_only
            || match self {
                ReadRecords::All => true,
                ReadRecords::Refused => event.error_code.is_some(),
                ReadRecords::None => false,
            }
    }
}

/// Cuts `text` to at most `max` bytes on a character boundary, marking a cut with `...`.
fn cut(text: &mut String, max: usize) {
    if text.len() <= max {
        return;
    }
    let mut end = max.saturating_sub(3);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push_str("...");
}

/// One request's record. It never holds a secret (see the module's invariant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub event_id: String,
    pub event_time: OffsetDateTime,
    /// `iam.amazonaws.com`, `sts.amazonaws.com` or `signin.amazonaws.com`.
    pub event_source: String,
    /// The API action, e.g. `CreateUser`, or `ConsoleLogin`.
    pub event_name: String,
    pub aws_region: String,
    pub source_ip: String,
    pub user_agent: Option<String>,
    pub request_id: String,
    pub read_only: bool,
    /// CloudTrail's `userIdentity.type` (`Root`, `IAMUser`), absent when authentication failed
    /// (and so are `principal_id`, `principal_arn` and `user_name`: nobody was authenticated).
    pub identity_type: Option<String>,
    pub principal_id: Option<String>,
    pub principal_arn: Option<String>,
    /// The account the record belongs to (`userIdentity.accountId`, `recipientAccountId`, and
    /// the account whose `LookupEvents` shows it). When authentication failed: the account of
    /// the presented credentials if they name one (a long-term key the store knows, or a session
    /// token that opens), so the account sees refused uses of its keys; `None` for a key nobody
    /// owns (stored without an account, so no `LookupEvents` shows it; the JSON-lines sink does).
    pub account_id: Option<String>,
    /// The access key ID the request was signed with (never its secret, never the signature).
    pub access_key_id: Option<String>,
    pub user_name: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    /// `AwsApiCall` or `AwsConsoleSignIn`.
    pub event_type: String,
    /// `userIdentity.sessionContext.attributes`: whether MFA authenticated the session and when
    /// the session began; `None` for long-term access keys (CloudTrail omits `sessionContext`).
    pub session: Option<SessionAttributes>,
    /// `requestParameters`, secrets already replaced by [`HIDDEN`].
    pub request_parameters: Option<Value>,
    /// `responseElements`: for a successful write, what it created or changed (never a secret);
    /// `null` for reads, as CloudTrail.
    pub response_elements: Option<Value>,
    /// `additionalEventData` (`MFAUsed`, `LoginTo`, an MFA failure's device and reason).
    pub additional_event_data: Option<Value>,
    /// `resources` for lookups by `ResourceName`: `(type, name)`, e.g.
    /// `("AWS::IAM::User", "bob")`.
    pub resources: Vec<(String, String)>,
}

/// `userIdentity.sessionContext`: how a session's credentials were obtained (`sessionIssuer`),
/// whether MFA authenticated it and when it began (`attributes`), and its source identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionAttributes {
    pub mfa_authenticated: bool,
    pub creation_date: OffsetDateTime,
    /// The role of an `AssumeRole` session, the user (or root) of a `GetFederationToken` one;
    /// `None` for `GetSessionToken` sessions and console sign-ins.
    pub issuer: Option<SessionIssuer>,
    /// `sts:SourceIdentity`, if the session has one.
    pub source_identity: Option<String>,
}

/// `sessionContext.sessionIssuer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionIssuer {
    /// `Role`, `IAMUser` or `Root`.
    pub kind: String,
    pub principal_id: String,
    pub arn: String,
    pub account_id: String,
    /// The role's or user's name; absent for root.
    pub user_name: Option<String>,
}

impl AuditEvent {
    /// A record of an API call that has not been attributed yet (no identity, no error).
    pub fn api_call(
        event_id: String,
        event_time: OffsetDateTime,
        service: &str,
        event_name: &str,
        request_id: String,
        source_ip: String,
        user_agent: Option<String>,
    ) -> Self {
        AuditEvent {
            event_id,
            event_time,
            event_source: event_source(service),
            event_name: event_name.to_owned(),
            aws_region: "us-east-1".to_owned(),
            source_ip,
            user_agent,
            request_id,
            read_only: false,
            identity_type: None,
            principal_id: None,
            principal_arn: None,
            account_id: None,
            access_key_id: None,
            user_name: None,
            error_code: None,
            error_message: None,
            event_type: "AwsApiCall".to_owned(),
            session: None,
            request_parameters: None,
            response_elements: None,
            additional_event_data: None,
            resources: Vec::new(),
        }
    }

    /// A `signin.amazonaws.com` `ConsoleLogin` record, as CloudTrail writes one: `responseElements`
    /// `{"ConsoleLogin": "Success"|"Failure"}`, `additionalEventData` with `LoginTo`, `MFAUsed`
    /// (`Yes`/`No`) and, when a code was refused, `MFAIdentifier` (the device serial) and
    /// `MFAFailureReason`; a failure carries `errorMessage` (`Failed authentication`). The caller
    /// (the console) fills `identity_type`, `principal_id`, `principal_arn`, `account_id` and
    /// `user_name` when it knows the user; for an unknown user name CloudTrail writes
    /// [`HIDDEN`] as the name, and so should the caller.
    pub fn console_login(sign_in: ConsoleLogin<'_>) -> Self {
        let mut e = AuditEvent::api_call(
            sign_in.event_id,
            sign_in.event_time,
            "signin",
            "ConsoleLogin",
            sign_in.request_id,
            sign_in.source_ip,
            sign_in.user_agent,
        );
        e.event_type = "AwsConsoleSignIn".to_owned();
        e.read_only = false;
        e.response_elements = Some(json!({
            "ConsoleLogin": if sign_in.success { "Success" } else { "Failure" }
        }));
        let mut data = Map::new();
        data.insert("LoginTo".into(), Value::String(sign_in.login_to.to_owned()));
        data.insert(
            "MobileVersion".into(),
            Value::String("No".to_owned()), // CloudTrail always writes it.
        );
        data.insert(
            "MFAUsed".into(),
            Value::String(if sign_in.mfa_used { "Yes" } else { "No" }.to_owned()),
        );
        if let Some((serial, reason)) = sign_in.mfa_failure {
            data.insert("MFAIdentifier".into(), Value::String(serial.to_owned()));
            data.insert("MFAFailureReason".into(), Value::String(reason.to_owned()));
        }
        e.additional_event_data = Some(Value::Object(data));
        if !sign_in.success {
            e.error_message = Some("Failed authentication".to_owned());
        }
        e.session = sign_in.success.then_some(SessionAttributes {
            mfa_authenticated: sign_in.mfa_used,
            creation_date: sign_in.event_time,
            issuer: None,
            source_identity: None,
        });
        e
    }

    /// Bounds the record before it is stored or copied, whatever the request held: the names a
    /// client chose to [`MAX_NAME_BYTES`], `userAgent` and `errorMessage` to [`MAX_TEXT_BYTES`],
    /// resources to ARN-sized names. A request refused before anyone was authenticated keeps a
    /// small fixed summary (who sent it from where, what it asked for, why it was refused): its
    /// parameters and resources are dropped, since anyone can send them.
    pub fn bound(&mut self) {
        cut(&mut self.event_name, MAX_NAME_BYTES);
        cut(&mut self.aws_region, MAX_NAME_BYTES);
        if let Some(key) = &mut self.access_key_id {
            cut(key, MAX_NAME_BYTES);
        }
        if let Some(agent) = &mut self.user_agent {
            cut(agent, MAX_TEXT_BYTES);
        }
        if let Some(message) = &mut self.error_message {
            cut(message, MAX_TEXT_BYTES);
        }
        if self.identity_type.is_none() && self.error_code.is_some() {
            self.request_parameters = None;
            self.resources.clear();
        }
        // IAM's ARNs are at most 2,048 characters.
        self.resources
            .retain(|(kind, name)| kind.len() <= MAX_NAME_BYTES && name.len() <= 2048);
    }

    /// The record as CloudTrail's JSON (the `CloudTrailEvent` of `LookupEvents`, one line of the
    /// JSON-lines sink), as a value.
    pub fn to_record(&self) -> Value {
        serde_json::to_value(self.record()).unwrap_or(Value::Null)
    }

    /// The record as CloudTrail's JSON text, fields in CloudTrail's order, written in one pass
    /// (what the store keeps and the sink writes).
    pub fn record_json(&self) -> String {
        serde_json::to_string(&self.record()).unwrap_or_default()
    }

    fn record(&self) -> Record<'_> {
        Record {
            event_version: EVENT_VERSION,
            user_identity: Identity {
                kind: self.identity_type.as_deref(),
                principal_id: self.principal_id.as_deref(),
                arn: self.principal_arn.as_deref(),
                account_id: self.account_id.as_deref(),
                access_key_id: self.access_key_id.as_deref(),
                user_name: self.user_name.as_deref(),
                session_context: self.session.as_ref().map(|s| SessionContext {
                    session_issuer: s.issuer.as_ref().map(|i| Issuer {
                        kind: &i.kind,
                        principal_id: &i.principal_id,
                        arn: &i.arn,
                        account_id: &i.account_id,
                        user_name: i.user_name.as_deref(),
                    }),
                    attributes: Attributes {
                        creation_date: iso8601(s.creation_date),
                        mfa_authenticated: if s.mfa_authenticated { "true" } else { "false" },
                    },
                    source_identity: s.source_identity.as_deref(),
                }),
            },
            event_time: iso8601(self.event_time),
            event_source: &self.event_source,
            event_name: &self.event_name,
            aws_region: &self.aws_region,
            source_ip: &self.source_ip,
            user_agent: self.user_agent.as_deref(),
            error_code: self.error_code.as_deref(),
            error_message: self.error_message.as_deref(),
            request_parameters: self.request_parameters.as_ref(),
            response_elements: self.response_elements.as_ref(),
            additional_event_data: self.additional_event_data.as_ref(),
            request_id: &self.request_id,
            event_id: &self.event_id,
            read_only: self.read_only,
            resources: self
                .resources
                .iter()
                .map(|(kind, arn)| Resource { kind, arn })
                .collect(),
            event_type: &self.event_type,
            management_event: true,
            recipient_account_id: self.account_id.as_deref(),
            event_category: "Management",
        }
    }
}

/// A record as CloudTrail writes it (field order and names of CloudTrail's record contents).
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Record<'a> {
    event_version: &'static str,
    user_identity: Identity<'a>,
    event_time: String,
    event_source: &'a str,
    event_name: &'a str,
    aws_region: &'a str,
    #[serde(rename = "sourceIPAddress")]
    source_ip: &'a str,
    user_agent: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_message: Option<&'a str>,
    request_parameters: Option<&'a Value>,
    response_elements: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    additional_event_data: Option<&'a Value>,
    #[serde(rename = "requestID")]
    request_id: &'a str,
    #[serde(rename = "eventID")]
    event_id: &'a str,
    read_only: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    resources: Vec<Resource<'a>>,
    event_type: &'a str,
    management_event: bool,
    recipient_account_id: Option<&'a str>,
    event_category: &'static str,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Identity<'a> {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    principal_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    arn: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    access_key_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_context: Option<SessionContext<'a>>,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionContext<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    session_issuer: Option<Issuer<'a>>,
    attributes: Attributes,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_identity: Option<&'a str>,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Issuer<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    principal_id: &'a str,
    arn: &'a str,
    account_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_name: Option<&'a str>,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Attributes {
    creation_date: String,
    mfa_authenticated: &'static str,
}

#[derive(serde::Serialize)]
struct Resource<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(rename = "ARN")]
    arn: &'a str,
}

/// `LookupEvents`' lookup attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupKey {
    EventName,
    Username,
    EventId,
    ReadOnly,
    AccessKeyId,
    EventSource,
    ResourceName,
}

impl LookupKey {
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "EventName" => LookupKey::EventName,
            "Username" => LookupKey::Username,
            "EventId" => LookupKey::EventId,
            "ReadOnly" => LookupKey::ReadOnly,
            "AccessKeyId" => LookupKey::AccessKeyId,
            "EventSource" => LookupKey::EventSource,
            "ResourceName" => LookupKey::ResourceName,
            _ => return None,
        })
    }
}

/// A query of the trail: one account's records, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    pub account_id: String,
    pub attribute: Option<(LookupKey, String)>,
    /// Inclusive bounds on `eventTime`.
    pub start: Option<OffsetDateTime>,
    pub end: Option<OffsetDateTime>,
    /// Only records older than this position (pagination).
    pub before: Option<i64>,
    pub limit: usize,
}

/// A stored record: its position in the trail and the CloudTrail JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    pub seq: i64,
    pub record: String,
}

impl AuditEvent {
    /// Reads a record written by [`AuditEvent::to_record`] back.
    pub fn from_record(r: &Value) -> Option<Self> {
        let text = |v: &Value| v.as_str().map(str::to_owned);
        let time = |v: &Value| {
            v.as_str().and_then(|s| {
                OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
            })
        };
        let id = &r["userIdentity"];
        let context = &id["sessionContext"];
        let issuer = context["sessionIssuer"].as_object().and_then(|i| {
            Some(SessionIssuer {
                kind: i.get("type")?.as_str()?.to_owned(),
                principal_id: i.get("principalId")?.as_str()?.to_owned(),
                arn: i.get("arn")?.as_str()?.to_owned(),
                account_id: i.get("accountId")?.as_str()?.to_owned(),
                user_name: i.get("userName").and_then(Value::as_str).map(str::to_owned),
            })
        });
        let session = context["attributes"].as_object().and_then(|a| {
            Some(SessionAttributes {
                mfa_authenticated: a.get("mfaAuthenticated")?.as_str()? == "true",
                creation_date: time(a.get("creationDate")?)?,
                issuer,
                source_identity: text(&context["sourceIdentity"]),
            })
        });
        let opt = |v: &Value| (!v.is_null()).then(|| v.clone());
        Some(AuditEvent {
            event_id: text(&r["eventID"])?,
            event_time: time(&r["eventTime"])?,
            event_source: text(&r["eventSource"])?,
            event_name: text(&r["eventName"])?,
            aws_region: text(&r["awsRegion"])?,
            source_ip: text(&r["sourceIPAddress"])?,
            user_agent: text(&r["userAgent"]),
            request_id: text(&r["requestID"])?,
            read_only: r["readOnly"].as_bool()?,
            identity_type: text(&id["type"]),
            principal_id: text(&id["principalId"]),
            principal_arn: text(&id["arn"]),
            account_id: text(&id["accountId"]),
            access_key_id: text(&id["accessKeyId"]),
            user_name: text(&id["userName"]),
            error_code: text(&r["errorCode"]),
            error_message: text(&r["errorMessage"]),
            event_type: text(&r["eventType"])?,
            session,
            request_parameters: opt(&r["requestParameters"]),
            response_elements: opt(&r["responseElements"]),
            additional_event_data: opt(&r["additionalEventData"]),
            resources: r["resources"]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|i| Some((text(&i["type"])?, text(&i["ARN"])?)))
                        .collect()
                })
                .unwrap_or_default(),
        })
    }
}

/// The columns a store keeps of every record, beside its [`AuditEvent::compact_json`]: what
/// `LookupEvents` filters and orders on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailColumns {
    pub event_id: String,
    pub event_time_ms: i64,
    pub account_id: Option<String>,
    pub event_source: String,
    pub event_name: String,
    pub read_only: bool,
    pub access_key_id: Option<String>,
    pub error_code: Option<String>,
}

/// The rest of a record, as stored: short names, none of CloudTrail's constants and nothing the
/// columns hold. A third of the bytes of the record's JSON, and far less to render: a store
/// writes this on the request path and renders the record only when it is read.
///
/// Written borrowing from the event; read back owned.
#[derive(serde::Serialize, serde::Deserialize)]
struct Compact<'a> {
    r: Cow<'a, str>,
    ip: Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ua: Option<Cow<'a, str>>,
    q: Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    t: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    p: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    a: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    u: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    m: Option<Cow<'a, str>>,
    /// The event type when it is not `AwsApiCall`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    e: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    s: Option<CompactSession>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rq: Option<Cow<'a, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rs: Option<Cow<'a, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    x: Option<Cow<'a, Value>>,
    #[serde(default, skip_serializing_if = "<[_]>::is_empty")]
    res: Cow<'a, [(String, String)]>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct CompactSession {
    /// MFA authenticated the session.
    m: bool,
    /// Its creation, Unix seconds (CloudTrail shows whole seconds).
    c: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    i: Option<CompactIssuer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    si: Option<String>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct CompactIssuer {
    t: String,
    p: String,
    a: String,
    c: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    u: Option<String>,
}

fn borrowed(v: &Option<String>) -> Option<Cow<'_, str>> {
    v.as_deref().map(Cow::Borrowed)
}

impl AuditEvent {
    /// The record's columns (see [`TrailColumns`]).
    pub fn columns(&self) -> TrailColumns {
        TrailColumns {
            event_id: self.event_id.clone(),
            event_time_ms: crate::clock::to_millis(self.event_time),
            account_id: self.account_id.clone(),
            event_source: self.event_source.clone(),
            event_name: self.event_name.clone(),
            read_only: self.read_only,
            access_key_id: self.access_key_id.clone(),
            error_code: self.error_code.clone(),
        }
    }

    /// What a store keeps beside the [`TrailColumns`]; [`AuditEvent::from_compact`] reads it
    /// back.
    pub fn compact_json(&self) -> String {
        let out = Compact {
            r: Cow::Borrowed(&self.aws_region),
            ip: Cow::Borrowed(&self.source_ip),
            ua: borrowed(&self.user_agent),
            q: Cow::Borrowed(&self.request_id),
            t: borrowed(&self.identity_type),
            p: borrowed(&self.principal_id),
            a: borrowed(&self.principal_arn),
            u: borrowed(&self.user_name),
            m: borrowed(&self.error_message),
            e: (self.event_type != "AwsApiCall").then_some(Cow::Borrowed(self.event_type.as_str())),
            s: self.session.as_ref().map(|s| CompactSession {
                m: s.mfa_authenticated,
                c: s.creation_date.unix_timestamp(),
                i: s.issuer.as_ref().map(|i| CompactIssuer {
                    t: i.kind.clone(),
                    p: i.principal_id.clone(),
                    a: i.arn.clone(),
                    c: i.account_id.clone(),
                    u: i.user_name.clone(),
                }),
                si: s.source_identity.clone(),
            }),
            rq: self.request_parameters.as_ref().map(Cow::Borrowed),
            rs: self.response_elements.as_ref().map(Cow::Borrowed),
            x: self.additional_event_data.as_ref().map(Cow::Borrowed),
            res: Cow::Borrowed(&self.resources),
        };
        serde_json::to_string(&out).unwrap_or_default()
    }

    /// The event a store kept as [`TrailColumns`] and [`AuditEvent::compact_json`]; `None` if
    /// the text is not such JSON.
    pub fn from_compact(columns: TrailColumns, compact: &str) -> Option<Self> {
        let c: Compact<'_> = serde_json::from_str(compact).ok()?;
        let owned = |v: Option<Cow<'_, str>>| v.map(Cow::into_owned);
        Some(AuditEvent {
            event_id: columns.event_id,
            event_time: crate::clock::from_millis(columns.event_time_ms),
            event_source: columns.event_source,
            event_name: columns.event_name,
            aws_region: c.r.into_owned(),
            source_ip: c.ip.into_owned(),
            user_agent: owned(c.ua),
            request_id: c.q.into_owned(),
            read_only: columns.read_only,
            identity_type: owned(c.t),
            principal_id: owned(c.p),
            principal_arn: owned(c.a),
            account_id: columns.account_id,
            access_key_id: columns.access_key_id,
            user_name: owned(c.u),
            error_code: columns.error_code,
            error_message: owned(c.m),
            event_type: owned(c.e).unwrap_or_else(|| "AwsApiCall".to_owned()),
            session: c.s.map(|s| SessionAttributes {
                mfa_authenticated: s.m,
                creation_date: OffsetDateTime::from_unix_timestamp(s.c)
                    .unwrap_or(OffsetDateTime::UNIX_EPOCH),
                issuer: s.i.map(|i| SessionIssuer {
                    kind: i.t,
                    principal_id: i.p,
                    arn: i.a,
                    account_id: i.c,
                    user_name: i.u,
                }),
                source_identity: s.si,
            }),
            request_parameters: c.rq.map(Cow::into_owned),
            response_elements: c.rs.map(Cow::into_owned),
            additional_event_data: c.x.map(Cow::into_owned),
            resources: c.res.into_owned(),
        })
    }
}

/// What a console sign-in attempt's record needs; see [`AuditEvent::console_login`].
#[derive(Debug, Clone)]
pub struct ConsoleLogin<'a> {
    pub event_id: String,
    pub event_time: OffsetDateTime,
    pub request_id: String,
    pub source_ip: String,
    pub user_agent: Option<String>,
    pub success: bool,
    pub mfa_used: bool,
    /// The console URL signed in to (`LoginTo`).
    pub login_to: &'a str,
    /// A refused MFA code: the device serial and the reason (`MfaFailureReason::as_str`).
    pub mfa_failure: Option<(&'a str, &'a str)>,
}

/// Event source of a service name from the credential scope.
pub fn event_source(service: &str) -> String {
    format!("{service}.amazonaws.com")
}

/// Secrets that botocore's models do not mark sensitive, hidden all the same:
/// `AuthenticationCode1` and `AuthenticationCode2` (`EnableMFADevice`, `ResyncMFADevice`) and
/// `TokenCode` (`AssumeRole`, `GetSessionToken`) are TOTP codes, still good for a while after they
/// are written (`authenticationCodeType` and `tokenCodeType` carry no `sensitive`); `SessionToken`
/// is part of a session's credentials (`Credentials.SessionToken`, `tokenType`; no request has it,
/// and no response element shows it).
const SECRET_EXTRAS: &[&str] = &[
    "AuthenticationCode1",
    "AuthenticationCode2",
    "SessionToken",
    "TokenCode",
];

/// Query parameters that describe the protocol, not the request.
fn is_protocol_parameter(name: &str) -> bool {
    name == "Action" || name == "Version" || name.starts_with("X-Amz-")
}

/// A secret parameter name? One whose segment (`Password`, `X.member.1.Password`,
/// `Credentials.SecretAccessKey`) is a sensitive member of botocore's IAM or STS model
/// ([`SENSITIVE_MEMBERS`]) or a secret it does not mark (the TOTP codes, `SessionToken`),
/// compared without regard to case: a secret structure, list or map is hidden with everything it
/// holds. A member botocore marks sensitive later is hidden once `scripts/sensitive-members
/// --write` has regenerated the list, which a test requires.
pub fn is_secret_parameter(name: &str) -> bool {
    name.split('.').any(is_secret_member)
}

/// A member name of a secret value (see [`is_secret_parameter`]).
pub fn is_secret_member(segment: &str) -> bool {
    SENSITIVE_MEMBERS
        .iter()
        .chain(SECRET_EXTRAS)
        .any(|s| segment.eq_ignore_ascii_case(s))
}

fn camel(segment: &str) -> String {
    let mut chars = segment.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// CloudTrail's `requestParameters` from Query parameters: names in camelCase (`UserName` →
/// `userName`), `X.member.N` lists as arrays, `X.member.N.Key` as arrays of objects, secrets
/// replaced by [`HIDDEN`], protocol parameters left out. `None` when nothing is left;
/// [`omitted`] when the parameters exceed [`MAX_PARAMETERS_BYTES`].
///
/// It runs before a request's signature is checked, so its work and memory are bounded by the
/// parameters' size: a list index is a key (lists are sparse until rendered, in index order),
/// an index above [`MAX_LIST_INDEX`] leaves its parameter out, and a name nested deeper than
/// 16 steps keeps the rest of its name as one key.
pub fn request_parameters<'a>(
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Option<Value> {
    let mut root = BTreeMap::new();
    let mut size = 0usize;
    for (name, value) in params {
        if is_protocol_parameter(name) {
            continue;
        }
        size = size.saturating_add(name.len() + value.len());
        if size > MAX_PARAMETERS_BYTES {
            return Some(omitted());
        }
        let value = if is_secret_parameter(name) {
            HIDDEN
        } else {
            value
        };
        insert_path(&mut root, name, value);
    }
    (!root.is_empty()).then(|| Node::Object(root).into_value())
}

/// How many steps (a member, or a list's item) of a parameter's name nest in `requestParameters`;
/// the rest of a deeper name is one key. IAM's and STS's deepest names take 4 steps
/// (`ReplacementValues.entry.1.value.Values.member.1`).
const MAX_NESTING: usize = 16;

/// `requestParameters` while it is built: lists keyed by index, so a large index costs a key.
enum Node<'a> {
    Leaf(&'a str),
    Object(BTreeMap<String, Node<'a>>),
    List(BTreeMap<u64, Node<'a>>),
}

impl Node<'_> {
    /// The JSON value; lists in index order, gaps closed. Recursion is bounded by
    /// [`MAX_NESTING`].
    fn into_value(self) -> Value {
        match self {
            Node::Leaf(v) => Value::String(v.to_owned()),
            Node::Object(map) => {
                Value::Object(map.into_iter().map(|(k, v)| (k, v.into_value())).collect())
            }
            Node::List(items) => Value::Array(items.into_values().map(Node::into_value).collect()),
        }
    }
}

/// What the segment after `member`/`entry` says: a list index in range, one out of range (all
/// digits, but above [`MAX_LIST_INDEX`]), or no index at all.
enum Index {
    In(u64),
    OutOfRange,
    None,
}

fn list_index(segment: &str) -> Index {
    if segment.is_empty() || !segment.bytes().all(|b| b.is_ascii_digit()) {
        return Index::None;
    }
    match segment.parse::<u64>() {
        Ok(n) if n <= MAX_LIST_INDEX => Index::In(n),
        _ => Index::OutOfRange,
    }
}

/// The object at `slot`, replacing whatever else is there (a later parameter wins a conflict).
fn object_at<'n, 'a>(slot: &'n mut Node<'a>) -> Option<&'n mut BTreeMap<String, Node<'a>>> {
    if !matches!(slot, Node::Object(_)) {
        *slot = Node::Object(BTreeMap::new());
    }
    match slot {
        Node::Object(map) => Some(map),
        _ => None,
    }
}

/// Inserts `a.member.2.b` as `{"a": {2: {"b": value}}}`: lists stay sparse until rendered.
fn insert_path<'a>(root: &mut BTreeMap<String, Node<'a>>, name: &str, value: &'a str) {
    let mut slot = root;
    let mut rest = name;
    let mut depth = 0;
    loop {
        let (key, tail) = match rest.split_once('.') {
            Some((part, tail)) if depth < MAX_NESTING => (camel(part), Some(tail)),
            // What is left of a name nested too deep stays one key, as sent.
            Some(_) => (rest.to_owned(), None),
            None => (camel(rest), None),
        };
        let Some(tail) = tail else {
            slot.insert(key, Node::Leaf(value));
            return;
        };
        depth += 1;
        // `member.N` (or `entry.N`) makes a list.
        if let Some((marker, after)) = tail.split_once('.')
            && matches!(marker, "member" | "entry")
        {
            let (index, after) = match after.split_once('.') {
                Some((index, after)) => (index, Some(after)),
                None => (after, None),
            };
            match list_index(index) {
                Index::OutOfRange => return,
                Index::None => {}
                Index::In(index) => {
                    let list = slot
                        .entry(key)
                        .or_insert_with(|| Node::List(BTreeMap::new()));
                    if !matches!(list, Node::List(_)) {
                        *list = Node::List(BTreeMap::new());
                    }
                    let Node::List(items) = list else { return };
                    let Some(after) = after else {
                        items.insert(index, Node::Leaf(value));
                        return;
                    };
                    let item = items
                        .entry(index)
                        .or_insert_with(|| Node::Object(BTreeMap::new()));
                    let Some(next) = object_at(item) else { return };
                    slot = next;
                    rest = after;
                    continue;
                }
            }
        }
        let entry = slot
            .entry(key)
            .or_insert_with(|| Node::Object(BTreeMap::new()));
        let Some(next) = object_at(entry) else { return };
        slot = next;
        rest = tail;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_in_camel_case_with_lists_and_secrets_hidden() {
        let p = request_parameters([
            ("Action", "EnableMFADevice"),
            ("Version", "2010-05-08"),
            ("UserName", "bob"),
            ("SerialNumber", "arn:aws:iam::123456789012:mfa/bob"),
            ("AuthenticationCode1", "123456"),
            ("AuthenticationCode2", "654321"),
            ("Tags.member.1.Key", "team"),
            ("Tags.member.1.Value", "red"),
            ("Tags.member.2.Key", "env"),
            ("TagKeys.member.1", "a"),
        ]);
        assert_eq!(
            p,
            Some(json!({
                "userName": "bob",
                "serialNumber": "arn:aws:iam::123456789012:mfa/bob",
                "authenticationCode1": HIDDEN,
                "authenticationCode2": HIDDEN,
                "tags": [{"key": "team", "value": "red"}, {"key": "env"}],
                "tagKeys": ["a"],
            }))
        );
        assert_eq!(request_parameters([("Action", "GetCallerIdentity")]), None);
    }

    #[test]
    fn list_indices_are_keys_and_out_of_range_ones_are_left_out() {
        let p = request_parameters([
            ("Action", "TagUser"),
            ("Tags.member.1000.Key", "last"),
            ("Tags.member.2.Key", "b"),
            ("Tags.member.2.Value", "2"),
            ("Tags.member.10.Key", "c"),
            ("TagKeys.member.5000000", "far"),
            ("TagKeys.member.1000000000", "farther"),
            ("TagKeys.member.99999999999999999999999", "overflowing"),
            ("TagKeys.member.0", "zero"),
            ("Names.member.x", "not an index"),
        ]);
        assert_eq!(
            p,
            Some(json!({
                "tags": [{"key": "b", "value": "2"}, {"key": "c"}, {"key": "last"}],
                "tagKeys": ["zero"],
                "names": {"member": {"x": "not an index"}},
            }))
        );
        // The request of the defect: one far index asks for nothing.
        let started = std::time::Instant::now();
        let p = request_parameters([
            ("Action", "GetCallerIdentity"),
            ("Version", "2011-06-15"),
            ("A.member.1000000000", "x"),
        ]);
        assert_eq!(p, None);
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn deep_names_nest_a_bounded_depth() {
        // 40,000 segments (within the size kept): nested as far as MAX_NESTING, the rest one
        // key (no deep recursion to render, drop or read back the record).
        let name = "a.".repeat(40_000) + "b";
        let p = request_parameters([(name.as_str(), "x")]).unwrap();
        let mut depth = 0;
        let mut at = &p;
        while let Some((_, next)) = at.as_object().and_then(|m| m.iter().next()) {
            depth += 1;
            at = next;
        }
        assert_eq!(depth, MAX_NESTING + 1);
        assert_eq!(at, "x");
        let text = serde_json::to_string(&p).unwrap();
        assert!(text.len() < name.len() + 100);
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, p);
        // IAM's deepest names are rendered in full.
        let p = request_parameters([
            ("ReplacementValues.entry.1.key", "k"),
            ("ReplacementValues.entry.1.value.Values.member.1", "v"),
        ]);
        assert_eq!(
            p,
            Some(json!({"replacementValues": [{"key": "k", "value": {"values": ["v"]}}]}))
        );
    }

    /// A value no record may show.
    const MARKER: &str = "s3cr3t-MARKER-9f2c";

    /// The record of a request with these parameters, as written.
    fn record_of(action: &str, params: &[(String, String)]) -> String {
        let mut e = AuditEvent::api_call(
            "e".into(),
            time::macros::datetime!(2026-11-25 10:00:00 UTC),
            "iam",
            action,
            "r".into(),
            "127.0.0.1".into(),
            None,
        );
        let all = [("Action", action), ("UserName", "bob")]
            .into_iter()
            .chain(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        e.request_parameters = request_parameters(all);
        e.record_json()
    }

    #[test]
    fn every_sensitive_input_of_the_model_is_hidden() {
        use crate::sensitive::SENSITIVE_INPUTS;
        // The TOTP codes botocore does not mark, with the operations that take them.
        let extras = [
            ("iam", "EnableMFADevice", "AuthenticationCode1"),
            ("iam", "EnableMFADevice", "AuthenticationCode2"),
            ("iam", "ResyncMFADevice", "AuthenticationCode1"),
            ("iam", "ResyncMFADevice", "AuthenticationCode2"),
            ("sts", "AssumeRole", "TokenCode"),
            ("sts", "GetSessionToken", "TokenCode"),
        ];
        let all: Vec<_> = SENSITIVE_INPUTS.iter().chain(&extras).collect();
        let mut actions: Vec<&str> = all.iter().map(|(_, action, _)| *action).collect();
        actions.sort_unstable();
        actions.dedup();
        assert!(actions.len() >= 13, "{actions:?}");
        for action in actions {
            let names: Vec<&str> = all
                .iter()
                .filter(|(_, a, _)| *a == action)
                .map(|(_, _, name)| *name)
                .collect();
            // As the SDKs send them, in other cases, and as a later item of a list.
            for spell in [
                |n: &str| n.to_owned(),
                |n: &str| n.to_ascii_lowercase(),
                |n: &str| {
                    n.replace(".member.1", ".member.7")
                        .replace(".entry.1", ".entry.3")
                },
            ] {
                let params: Vec<(String, String)> = names
                    .iter()
                    .map(|n| (spell(n), MARKER.to_owned()))
                    .collect();
                let record = record_of(action, &params);
                assert!(!record.contains(MARKER), "{action}: {record}");
                assert_eq!(
                    record.matches(HIDDEN).count(),
                    names.len(),
                    "{action}: {record}"
                );
                assert!(record.contains(r#""userName":"bob""#), "{record}");
            }
        }
    }

    #[test]
    fn secrets_nested_anywhere_are_hidden_and_nothing_else_is() {
        // The names hidden before the list came from botocore are hidden still.
        for name in [
            "Password",
            "OldPassword",
            "NewPassword",
            "AuthenticationCode1",
            "AuthenticationCode2",
            "TokenCode",
            "SecretAccessKey",
            "SessionToken",
            "Base32StringSeed",
            "QRCodePNG",
            "SAMLAssertion",
            "WebIdentityToken",
        ] {
            assert!(is_secret_parameter(name), "{name}");
        }
        // A secret structure, list or map hides all it holds.
        for name in [
            "TrustedIdentityPropagationContext.OriginIdentity.Subject",
            "X.member.3.PrivateKey",
            "IdentityProvider.entry.1.value",
            "Credentials.SecretAccessKey",
        ] {
            assert!(is_secret_parameter(name), "{name}");
        }
        for name in [
            "UserName",
            "PasswordResetRequired",
            "Tags.member.1.Value",
            "AccessKeyId",
            "SerialNumber",
            "PolicyDocument",
            "VirtualMFADeviceName",
        ] {
            assert!(!is_secret_parameter(name), "{name}");
        }
    }

    #[test]
    fn console_login_record_has_cloudtrails_fields() {
        let t = time::macros::datetime!(2026-11-25 10:00:00 UTC);
        let mut e = AuditEvent::console_login(ConsoleLogin {
            event_id: "e".into(),
            event_time: t,
            request_id: "r".into(),
            source_ip: "127.0.0.1".into(),
            user_agent: None,
            success: false,
            mfa_used: true,
            login_to: "http://127.0.0.1:4600/console",
            mfa_failure: Some(("arn:aws:iam::123456789012:mfa/bob", "wrong_code")),
        });
        e.account_id = Some("123456789012".into());
        let r = e.to_record();
        assert_eq!(r["eventSource"], "signin.amazonaws.com");
        assert_eq!(r["eventType"], "AwsConsoleSignIn");
        assert_eq!(r["responseElements"]["ConsoleLogin"], "Failure");
        assert_eq!(r["additionalEventData"]["MFAUsed"], "Yes");
        assert_eq!(
            r["additionalEventData"]["MFAIdentifier"],
            "arn:aws:iam::123456789012:mfa/bob"
        );
        assert_eq!(r["errorMessage"], "Failed authentication");
        assert_eq!(r["recipientAccountId"], "123456789012");
    }

    /// The record as built before `record()` existed: field by field into a map.
    fn reference_record(e: &AuditEvent) -> Value {
        let mut identity = Map::new();
        if let Some(t) = &e.identity_type {
            identity.insert("type".into(), json!(t));
        }
        for (k, v) in [
            ("principalId", &e.principal_id),
            ("arn", &e.principal_arn),
            ("accountId", &e.account_id),
            ("accessKeyId", &e.access_key_id),
            ("userName", &e.user_name),
        ] {
            if let Some(v) = v {
                identity.insert(k.into(), json!(v));
            }
        }
        if let Some(s) = &e.session {
            let mut context = Map::new();
            if let Some(i) = &s.issuer {
                let mut issuer = Map::new();
                issuer.insert("type".into(), json!(i.kind));
                issuer.insert("principalId".into(), json!(i.principal_id));
                issuer.insert("arn".into(), json!(i.arn));
                issuer.insert("accountId".into(), json!(i.account_id));
                if let Some(name) = &i.user_name {
                    issuer.insert("userName".into(), json!(name));
                }
                context.insert("sessionIssuer".into(), Value::Object(issuer));
            }
            context.insert(
                "attributes".into(),
                json!({
                    "creationDate": iso8601(s.creation_date),
                    "mfaAuthenticated": if s.mfa_authenticated { "true" } else { "false" },
                }),
            );
            if let Some(source) = &s.source_identity {
                context.insert("sourceIdentity".into(), json!(source));
            }
            identity.insert("sessionContext".into(), Value::Object(context));
        }
        let mut r = Map::new();
        r.insert("eventVersion".into(), json!(EVENT_VERSION));
        r.insert("userIdentity".into(), Value::Object(identity));
        r.insert("eventTime".into(), json!(iso8601(e.event_time)));
        r.insert("eventSource".into(), json!(e.event_source));
        r.insert("eventName".into(), json!(e.event_name));
        r.insert("awsRegion".into(), json!(e.aws_region));
        r.insert("sourceIPAddress".into(), json!(e.source_ip));
        r.insert("userAgent".into(), json!(e.user_agent));
        if let Some(code) = &e.error_code {
            r.insert("errorCode".into(), json!(code));
        }
        if let Some(message) = &e.error_message {
            r.insert("errorMessage".into(), json!(message));
        }
        r.insert(
            "requestParameters".into(),
            e.request_parameters.clone().unwrap_or(Value::Null),
        );
        r.insert(
            "responseElements".into(),
            e.response_elements.clone().unwrap_or(Value::Null),
        );
        if let Some(extra) = &e.additional_event_data {
            r.insert("additionalEventData".into(), extra.clone());
        }
        r.insert("requestID".into(), json!(e.request_id));
        r.insert("eventID".into(), json!(e.event_id));
        r.insert("readOnly".into(), json!(e.read_only));
        if !e.resources.is_empty() {
            r.insert(
                "resources".into(),
                Value::Array(
                    e.resources
                        .iter()
                        .map(|(t, n)| json!({ "type": t, "ARN": n }))
                        .collect(),
                ),
            );
        }
        r.insert("eventType".into(), json!(e.event_type));
        r.insert("managementEvent".into(), json!(true));
        r.insert("recipientAccountId".into(), json!(e.account_id));
        r.insert("eventCategory".into(), json!("Management"));
        Value::Object(r)
    }

    #[test]
    fn serialised_records_equal_the_field_by_field_reference() {
        let t = time::macros::datetime!(2026-11-25 10:00:00 UTC);
        let mut login = AuditEvent::console_login(ConsoleLogin {
            event_id: "e".into(),
            event_time: t,
            request_id: "r".into(),
            source_ip: "127.0.0.1".into(),
            user_agent: Some("Mozilla/5.0 \"quoted\"".into()),
            success: true,
            mfa_used: true,
            login_to: "http://127.0.0.1:4600/console",
            mfa_failure: None,
        });
        login.account_id = Some("123456789012".into());
        login.resources = vec![("AWS::IAM::User".into(), "bob".into())];
        let mut failed = login.clone();
        failed.session = None;
        failed.account_id = None;
        failed.user_agent = None;
        failed.error_code = Some("AccessDenied".into());
        failed.error_message = Some("User: x is not authorized".into());
        failed.request_parameters = Some(json!({"userName": "bob", "password": HIDDEN}));
        failed.additional_event_data = None;
        failed.resources.clear();
        // An API call with a role session that MFA authenticated and that has a source identity.
        let mut role_call = AuditEvent::api_call(
            "e2".into(),
            t,
            "iam",
            "GetUser",
            "r2".into(),
            "127.0.0.1".into(),
            None,
        );
        role_call.identity_type = Some("AssumedRole".into());
        role_call.principal_id = Some("AROAEXAMPLE:s".into());
        role_call.principal_arn = Some("arn:aws:sts::123456789012:assumed-role/r/s".into());
        role_call.account_id = Some("123456789012".into());
        role_call.access_key_id = Some("ASIAEXAMPLE".into());
        role_call.read_only = true;
        role_call.session = Some(SessionAttributes {
            mfa_authenticated: true,
            creation_date: t - time::Duration::minutes(5),
            issuer: Some(SessionIssuer {
                kind: "Role".into(),
                principal_id: "AROAEXAMPLE".into(),
                arn: "arn:aws:iam::123456789012:role/r".into(),
                account_id: "123456789012".into(),
                user_name: Some("r".into()),
            }),
            source_identity: Some("carol".into()),
        });
        // A federated user of root: the issuer has no user name.
        let mut federated = role_call.clone();
        if let Some(session) = federated.session.as_mut() {
            session.mfa_authenticated = false;
            session.source_identity = None;
            session.issuer = Some(SessionIssuer {
                kind: "Root".into(),
                principal_id: "123456789012".into(),
                arn: "arn:aws:iam::123456789012:root".into(),
                account_id: "123456789012".into(),
                user_name: None,
            });
        }
        for e in [&login, &failed, &role_call, &federated] {
            let reference = reference_record(e);
            assert_eq!(e.to_record(), reference);
            let text: Value = serde_json::from_str(&e.record_json()).unwrap();
            assert_eq!(text, reference);
            assert_eq!(AuditEvent::from_record(&reference).as_ref(), Some(e));
            // Kept as columns and compact JSON, it renders the same record.
            let kept = AuditEvent::from_compact(e.columns(), &e.compact_json()).unwrap();
            assert_eq!(kept.to_record(), reference);
            assert!(e.compact_json().len() * 2 < e.record_json().len());
        }
        assert!(role_call.record_json().contains(
            r#""sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLE","#
        ));
        // CloudTrail's order, not alphabetical.
        assert!(
            login
                .record_json()
                .starts_with(r#"{"eventVersion":"1.09","userIdentity":{"#)
        );
    }

    fn refused(identity: Option<&str>) -> AuditEvent {
        let mut e = AuditEvent::api_call(
            "id".into(),
            OffsetDateTime::UNIX_EPOCH,
            "sts",
            &"N".repeat(1000),
            "rid".into(),
            "127.0.0.1".into(),
            Some("é".repeat(2000)),
        );
        e.identity_type = identity.map(str::to_owned);
        e.error_code = Some("SignatureDoesNotMatch".into());
        e.error_message = Some("m".repeat(5000));
        e.access_key_id = Some("K".repeat(500));
        e.request_parameters = Some(json!({"userName": "bob"}));
        e.resources = vec![
            ("AWS::IAM::User".into(), "bob".into()),
            ("AWS::IAM::User".into(), "b".repeat(3000)),
        ];
        e
    }

    #[test]
    fn a_bounded_record_cuts_what_the_client_chose() {
        let mut e = refused(None);
        e.bound();
        assert_eq!(e.event_name.len(), MAX_NAME_BYTES);
        assert!(e.event_name.ends_with("..."));
        assert!(e.access_key_id.as_ref().unwrap().len() <= MAX_NAME_BYTES);
        // Cut on a character boundary (`é` is two bytes).
        let agent = e.user_agent.as_deref().unwrap();
        assert!(
            agent.len() <= MAX_TEXT_BYTES && agent.ends_with("..."),
            "{agent}"
        );
        assert!(e.error_message.as_ref().unwrap().len() <= MAX_TEXT_BYTES);
        // Nobody was authenticated: no parameters, no resources.
        assert_eq!(e.request_parameters, None);
        assert!(e.resources.is_empty());
        // At most its fixed fields, two cut texts and three cut names.
        assert!(e.record_json().len() < 3 * 1024, "{}", e.record_json());

        // An authenticated caller's parameters stay; an over-long resource name goes.
        let mut e = refused(Some("IAMUser"));
        e.bound();
        assert_eq!(e.request_parameters, Some(json!({"userName": "bob"})));
        assert_eq!(e.resources, vec![("AWS::IAM::User".into(), "bob".into())]);
    }

    #[test]
    fn parameters_beyond_cloudtrails_field_size_are_omitted() {
        let big = "v".repeat(MAX_PARAMETERS_BYTES);
        assert_eq!(
            request_parameters([("A", big.as_str())]),
            Some(json!({ "omitted": true }))
        );
        let fits = "v".repeat(MAX_PARAMETERS_BYTES - 1);
        assert_eq!(
            request_parameters([("A", fits.as_str())]),
            Some(json!({ "a": fits }))
        );
    }

    #[test]
    fn read_records_keep_writes_always() {
        let mut read = refused(Some("IAMUser"));
        read.read_only = true;
        let mut ok_read = read.clone();
        ok_read.error_code = None;
        let write = refused(Some("IAMUser"));
        for (reads, kept) in [
            (ReadRecords::All, [true, true, true]),
            (ReadRecords::Refused, [true, false, true]),
            (ReadRecords::None, [false, false, true]),
        ] {
            assert_eq!(
                [
                    reads.keeps(&read),
                    reads.keeps(&ok_read),
                    reads.keeps(&write)
                ],
                kept,
                "{reads:?}"
            );
        }
        assert_eq!(ReadRecords::parse("refused"), Some(ReadRecords::Refused));
        assert_eq!(ReadRecords::parse("some"), None);
    }
}

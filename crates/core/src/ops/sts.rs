//! STS: `GetSessionToken`, `AssumeRole`, `GetFederationToken`, `GetAccessKeyInfo`,
//! `DecodeAuthorizationMessage`.
//!
//! Every issued credential is an `ASIA...` key, a fresh secret and a session token sealed by
//! [`crate::session::SessionKeyRing`]; nothing is written to the store for it.

use keyward_policy::{ParseOptions, PolicyKind};
use keyward_sigv4::SecretKey;
use time::{Duration, OffsetDateTime};

use crate::authz::{Permission, Refusal, ResourcePolicy, authorize_with};
use crate::error::{ApiError, OpError};
use crate::ids::{self, IdKind};
use crate::model::{Role, Tag};
use crate::ops::mfa::verify_mfa;
use crate::principal::{Principal, assumed_role_arn, federated_user_arn};
use crate::session::{SealedClaims, Session, SessionKind};
use crate::store::Tx;
use crate::totp::CodeInput;
use crate::validate::{self as v, StringShape, Validator};

use super::policies::check_document;
#[allow(unused_imports)]
use super::*;
use super::{Ctx, Output, account_id, opt, reject_duplicate_tag_keys};

/// Temporary credentials as every STS response carries them. `Debug` hides the secret and token.
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: SecretKey,
    pub session_token: crate::session::SessionToken,
    pub expiration: OffsetDateTime,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"**redacted**")
            .field("session_token", &"**redacted**")
            .field("expiration", &self.expiration)
            .finish()
    }
}

pub const MFA_FAILED: &str =
    "MultiFactorAuthentication failed with invalid MFA one time pass code.";
/// Largest plaintext of inline plus managed session policies (STS API reference).
const SESSION_POLICY_PLAINTEXT: usize = 2048;
/// Most managed session policies.
const SESSION_POLICY_ARNS: usize = 10;
/// Role chaining caps a session at one hour.
const CHAINED_SESSION: i64 = 3600;
/// Root sessions last at most one hour.
const ROOT_SESSION: i64 = 3600;

/// botocore's `sourceIdentityType` allows 256 characters; the IAM User Guide: "between 2 and 64
/// characters long".
const SOURCE_IDENTITY: StringShape = StringShape {
    min: 2,
    max: 64,
    pattern: Some(r"[\w+=,.@-]*"),
    matches: v::name_chars,
};

const ID_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// `ASIA` + the account ID in 8 base32 characters + 8 random ones, so `GetAccessKeyInfo` can
/// answer for any temporary key without a lookup (AWS's key IDs also encode their account).
fn temporary_key_id(account: &str) -> Result<String, OpError> {
    let mut n: u64 = account.parse().map_err(|_| ApiError::internal())?;
    let mut encoded = [b'A'; 8];
    for slot in encoded.iter_mut().rev() {
        let i = usize::try_from(n & 31).unwrap_or(0);
        *slot = ID_ALPHABET.get(i).copied().unwrap_or(b'A');
        n >>= 5;
    }
    let random = ids::new_id(IdKind::TemporaryKey)?;
    Ok(format!(
        "ASIA{}{}",
        String::from_utf8_lossy(&encoded),
        random.get(12..).unwrap_or_default()
    ))
}

/// The account a temporary key ID of ours encodes.
pub fn account_of_temporary_key(key_id: &str) -> Option<String> {
    let encoded = key_id.strip_prefix("ASIA")?.get(..8)?;
    let mut n: u64 = 0;
    for b in encoded.bytes() {
        let i = ID_ALPHABET.iter().position(|c| *c == b)?;
        n = (n << 5) | u64::try_from(i).ok()?;
    }
    (n < 1_000_000_000_000).then(|| format!("{n:012}"))
}

fn mfa_failed() -> ApiError {
    ApiError::access_denied(MFA_FAILED)
}

pub(super) fn session_credentials_refused(action: &str) -> OpError {
    ApiError::access_denied(format!("Cannot call {action} with session credentials")).into()
}

/// Seals a session and returns its credentials.
fn issue(ctx: &Ctx<'_>, session: Session) -> Result<Credentials, OpError> {
    let secret = ids::new_secret_access_key()?;
    let expiration = session.expires_at();
    let access_key_id = session.access_key_id.clone();
    let claims = SealedClaims {
        secret: secret.clone(),
        session,
    };
    let session_token = ctx.session_keys.seal(&claims)?;
    Ok(Credentials {
        access_key_id,
        secret_access_key: SecretKey::new(secret),
        session_token: crate::session::SessionToken::new(session_token),
        expiration,
    })
}

fn new_session(ctx: &Ctx<'_>, kind: SessionKind, principal_id: &str, duration: i64) -> Session {
    Session {
        access_key_id: String::new(),
        kind,
        account_id: account_id(ctx).to_owned(),
        principal_id: principal_id.to_owned(),
        name: String::new(),
        issued: ctx.now.unix_timestamp(),
        expires: (ctx.now + Duration::seconds(duration)).unix_timestamp(),
        mfa_auth_time: None,
        source_identity: None,
        tags: Vec::new(),
        transitive_tag_keys: Vec::new(),
        policy: None,
        policy_arns: Vec::new(),
    }
}

/// Verifies `token_code` of `serial` for the calling user (or refuses when there is none).
async fn check_mfa<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    serial: &str,
    code: Option<&CodeInput>,
) -> Result<i64, OpError> {
    let user = match &ctx.caller.principal {
        Principal::User(u) => u,
        _ => return Err(mfa_failed().into()),
    };
    let Some(code) = code else {
        return Err(mfa_failed().into());
    };
    verify_mfa(
        tx,
        ctx.master_key,
        ctx.totp,
        user,
        serial,
        code.expose(),
        ctx.now,
    )
    .await?
    .into_result(mfa_failed())?;
    Ok(ctx.now.unix_timestamp())
}

/// Validates session policies: the inline one parses as a session policy, managed ones exist;
/// returns the packed size as a percentage of the allotted space.
async fn check_session_policies<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    policy: Option<&str>,
    policy_arns: &[String],
    tags: &[Tag],
) -> Result<i64, OpError> {
    if let Some(doc) = policy {
        // AssumeRole's model leaves `Policy` unbounded (`unrestrictedSessionPolicyDocumentType`),
        // but its API reference bounds the plaintext at 2,048 characters, counted as sent,
        // before the white space that the packed size leaves out: a document padded with spaces
        // must not ride into a session token. Worded as GetFederationToken's shape refuses it.
        let mut v = crate::validate::Validator::new();
        v.string(
            "policy",
            doc,
            &crate::validate::StringShape {
                min: 1,
                max: SESSION_POLICY_PLAINTEXT,
                pattern: None,
                matches: |_| true,
            },
        );
        v.finish()?;
        check_document(
            doc,
            PolicyKind::Session,
            "session-policy",
            &ParseOptions::default(),
        )?;
    }
    let mut plaintext = policy.map_or(0, |d| d.chars().filter(|c| !c.is_whitespace()).count());
    for arn in policy_arns {
        match tx.get_managed_policy(arn).await? {
            Some(p)
                if p.account_id == account_id(ctx) || p.account_id == crate::model::AWS_OWNER => {}
            _ => {
                return Err(ApiError::new(
                    "InvalidParameterValue",
                    400,
                    format!("Policy {arn} does not exist or is not attachable."),
                )
                .into());
            }
        }
        plaintext += arn.len();
    }
    if plaintext > SESSION_POLICY_PLAINTEXT {
        return Err(ApiError::new(
            "PackedPolicyTooLarge",
            400,
            format!(
                "Packed policy consumes {}% of allotted space, please use smaller policy.",
                packed_percent(plaintext, tags)
            ),
        )
        .into());
    }
    Ok(packed_percent(plaintext, tags))
}

/// keyward's packing is the plaintext itself: policies and tags against AWS's 2,048-character
/// plaintext allowance.
fn packed_percent(policy_chars: usize, tags: &[Tag]) -> i64 {
    let tag_chars: usize = tags.iter().map(|t| t.key.len() + t.value.len()).sum();
    let used = policy_chars + tag_chars;
    i64::try_from(used.saturating_mul(100).div_ceil(SESSION_POLICY_PLAINTEXT)).unwrap_or(i64::MAX)
}

/// "You can provide up to 10 managed policy ARNs" (STS API reference): botocore's model puts no
/// bound on `PolicyArns`.
fn validate_policy_arns(v: &mut Validator, policy_arns: &[String]) {
    v.list_len(
        "policyArns",
        &format!("[{}]", policy_arns.join(", ")),
        policy_arns.len(),
        SESSION_POLICY_ARNS,
    );
}

pub(super) async fn get_session_token<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    duration_seconds: Option<i64>,
    serial_number: Option<String>,
    token_code: Option<CodeInput>,
) -> Result<Output, OpError> {
    let mut duration = duration_seconds.unwrap_or(43_200);
    if ctx.caller.session.is_some() {
        return Err(session_credentials_refused("GetSessionToken"));
    }
    let (kind, principal_id) = match &ctx.caller.principal {
        Principal::Root { .. } => {
            duration = duration.min(ROOT_SESSION);
            (SessionKind::Root, String::new())
        }
        Principal::User(u) => (SessionKind::User, u.user_id.clone()),
        _ => return Err(session_credentials_refused("GetSessionToken")),
    };
    let mut session = new_session(ctx, kind, &principal_id, duration);
    if serial_number.is_some() || token_code.is_some() {
        let serial = serial_number.as_deref().unwrap_or_default();
        session.mfa_auth_time = Some(check_mfa(tx, ctx, serial, token_code.as_ref()).await?);
    }
    session.access_key_id = temporary_key_id(account_id(ctx))?;
    Ok(Output::SessionCredentials {
        credentials: issue(ctx, session)?,
        assumed_role_user: None,
        federated_user: None,
        packed_policy_size: None,
        source_identity: None,
    })
}

/// Splits `arn:PARTITION:iam::ACCOUNT:role/PATH/NAME` into the account and the role name.
pub(crate) fn parse_role_arn(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (_, _, service, _, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if service != "iam" {
        return None;
    }
    let rest = resource.strip_prefix("role/")?;
    Some((account, rest.rsplit('/').next()?))
}

/// The role an ARN names, if it exists with exactly that ARN.
pub(crate) async fn role_of_arn<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    arn: &str,
) -> Result<Option<Role>, OpError> {
    let Some((account, name)) = parse_role_arn(arn) else {
        return Ok(None);
    };
    Ok(tx
        .get_role(account, name)
        .await?
        .filter(|r| r.arn(ctx.partition) == arn))
}

pub(crate) fn trust_policy(ctx: &Ctx<'_>, role: &Role) -> ResourcePolicy {
    ResourcePolicy {
        kind: PolicyKind::Trust,
        id: format!("{}/trust", role.arn(ctx.partition)),
        document: role.assume_role_policy.clone(),
        account_id: role.account_id.clone(),
    }
}

/// The request keys of an `AssumeRole` call (IAM User Guide, "IAM and AWS STS condition context
/// keys"): `aws:RequestTag/*`, `aws:TagKeys`, `sts:ExternalId`, `sts:RoleSessionName`,
/// `sts:SourceIdentity`, `sts:TransitiveTagKeys`, and MFA when a code comes with the request (it
/// is verified before the session is issued; a wrong one fails the request). The same keys
/// decide `sts:AssumeRole`, `sts:TagSession` and `sts:SetSourceIdentity`.
pub(super) fn assume_role_context(
    tags: &[Tag],
    transitive_tag_keys: &[String],
    external_id: Option<&str>,
    session_name: Option<&str>,
    source_identity: Option<&str>,
    with_mfa: bool,
) -> Vec<(String, Vec<String>)> {
    let mut context = super::request_tag_keys(tags);
    for (key, value) in [
        ("sts:ExternalId", external_id),
        ("sts:RoleSessionName", session_name),
        ("sts:SourceIdentity", source_identity),
    ] {
        if let Some(v) = value {
            context.push((key.to_owned(), vec![v.to_owned()]));
        }
    }
    if !transitive_tag_keys.is_empty() {
        context.push((
            "sts:TransitiveTagKeys".to_owned(),
            transitive_tag_keys.to_vec(),
        ));
    }
    if with_mfa {
        context.push((
            "aws:MultiFactorAuthPresent".to_owned(),
            vec!["true".to_owned()],
        ));
        context.push(("aws:MultiFactorAuthAge".to_owned(), vec!["0".to_owned()]));
    }
    context
}

#[expect(
    clippy::too_many_arguments,
    reason = "AssumeRole has this many members"
)]
pub(super) async fn assume_role<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    role_arn: Option<String>,
    role_session_name: Option<String>,
    policy_arns: Vec<String>,
    policy: Option<String>,
    duration_seconds: Option<i64>,
    tags: Vec<Tag>,
    transitive_tag_keys: Vec<String>,
    external_id: Option<String>,
    serial_number: Option<String>,
    token_code: Option<CodeInput>,
    source_identity: Option<String>,
) -> Result<Output, OpError> {
    let arn = opt(&role_arn);
    let session_name = opt(&role_session_name);
    let duration = duration_seconds.unwrap_or(3600);
    let mut v = Validator::new();
    validate_policy_arns(&mut v, &policy_arns);
    v.opt_string(
        "sourceIdentity",
        source_identity.as_deref(),
        &SOURCE_IDENTITY,
    );
    v.finish()?;
    reject_duplicate_tag_keys(&tags)?;
    let caller_arn = ctx.caller.principal.arn(ctx.partition);
    let denied = || {
        ApiError::access_denied(format!(
            "User: {caller_arn} is not authorized to perform: sts:AssumeRole on resource: {arn}"
        ))
    };
    match &ctx.caller.principal {
        Principal::Root { .. } => {
            return Err(
                ApiError::access_denied("Roles may not be assumed by root accounts.").into(),
            );
        }
        Principal::FederatedUser { .. } => return Err(denied().into()),
        Principal::User(_) | Principal::AssumedRole { .. } => {}
    }
    let parent_session = ctx.caller.session.as_ref();
    let Some(mut role) = role_of_arn(tx, ctx, &arn).await? else {
        return Err(denied().into());
    };
    let chained = parent_session.is_some_and(Session::is_role);
    if chained && duration > CHAINED_SESSION {
        return Err(ApiError::validation(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
        )
        .into());
    }
    if duration > role.max_session_duration {
        return Err(ApiError::validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        )
        .into());
    }
    // A source identity is sticky: a chained session inherits it and cannot change it (IAM User
    // Guide, "Monitor and control actions taken with assumed roles").
    let inherited = parent_session.and_then(|s| s.source_identity.clone());
    let source_identity = match (inherited, source_identity) {
        (Some(kept), Some(asked)) if kept != asked => {
            return Err(ApiError::access_denied(format!(
                "User: {caller_arn} is not authorized to perform: sts:SetSourceIdentity on resource: {arn}"
            ))
            .into());
        }
        (inherited, asked) => asked.or(inherited),
    };
    // Passing session tags or a source identity (also an inherited one) needs its own permission
    // in the trust policy, decided on the same request keys as sts:AssumeRole, and refused in
    // STS's words (no "because").
    let trust = trust_policy(ctx, &role);
    let context = assume_role_context(
        &tags,
        &transitive_tag_keys,
        external_id.as_deref(),
        Some(&session_name),
        source_identity.as_deref(),
        serial_number.is_some() && token_code.is_some(),
    );
    for (needed, action) in [
        (!tags.is_empty(), "sts:TagSession"),
        (source_identity.is_some(), "sts:SetSourceIdentity"),
    ] {
        if needed {
            let perm = Permission {
                action: action.to_owned(),
                resource: arn.clone(),
                context: context.clone(),
            };
            authorize_with(
                tx,
                ctx,
                &perm,
                Some(&trust),
                Refusal::UnexplainedImplicitDeny,
            )
            .await?;
        }
    }
    let packed = check_session_policies(tx, ctx, policy.as_deref(), &policy_arns, &tags).await?;

    let mut session = new_session(ctx, SessionKind::Role, &role.role_id, duration);
    session.name = session_name.clone();
    session.mfa_auth_time = parent_session.and_then(|s| s.mfa_auth_time);
    if serial_number.is_some() || token_code.is_some() {
        let serial = serial_number.as_deref().unwrap_or_default();
        session.mfa_auth_time = Some(check_mfa(tx, ctx, serial, token_code.as_ref()).await?);
    }
    // Transitive tags of the calling session pass on, and cannot be overridden.
    if let Some(parent) = parent_session {
        for key in &parent.transitive_tag_keys {
            if let Some((k, val)) = parent
                .tags
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
            {
                session.tags.push((k.clone(), val.clone()));
                session.transitive_tag_keys.push(k.clone());
            }
        }
    }
    for t in &tags {
        if session
            .tags
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(&t.key))
        {
            return Err(ApiError::new(
                "InvalidParameterValue",
                400,
                "One or more tags in the request conflict with transitive tags of the calling session.",
            )
            .into());
        }
        session.tags.push((t.key.clone(), t.value.clone()));
    }
    for k in transitive_tag_keys {
        if !session
            .transitive_tag_keys
            .iter()
            .any(|t| t.eq_ignore_ascii_case(&k))
        {
            session.transitive_tag_keys.push(k);
        }
    }
    session.source_identity = source_identity.clone();
    session.policy = policy.clone();
    session.policy_arns = policy_arns.clone();
    session.access_key_id = temporary_key_id(&role.account_id)?;

    role.last_used = Some((ctx.now, ctx.info.region.clone()));
    tx.update_role(&role).await?;

    let assumed_id = format!("{}:{session_name}", role.role_id);
    let assumed_arn = assumed_role_arn(ctx.partition, &role.account_id, &role.name, &session_name);
    let with_packed = policy.is_some() || !policy_arns.is_empty() || !tags.is_empty();
    Ok(Output::SessionCredentials {
        credentials: issue(ctx, session)?,
        assumed_role_user: Some((assumed_id, assumed_arn)),
        federated_user: None,
        packed_policy_size: with_packed.then_some(packed),
        source_identity,
    })
}

pub(super) async fn get_federation_token<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    name: Option<String>,
    policy: Option<String>,
    policy_arns: Vec<String>,
    duration_seconds: Option<i64>,
    tags: Vec<Tag>,
) -> Result<Output, OpError> {
    let fed_name = opt(&name);
    let mut v = Validator::new();
    validate_policy_arns(&mut v, &policy_arns);
    v.finish()?;
    let mut duration = duration_seconds.unwrap_or(43_200);
    reject_duplicate_tag_keys(&tags)?;
    if ctx.caller.session.is_some() {
        return Err(session_credentials_refused("GetFederationToken"));
    }
    let principal_id = match &ctx.caller.principal {
        Principal::Root { .. } => {
            duration = duration.min(ROOT_SESSION);
            String::new()
        }
        Principal::User(u) => u.user_id.clone(),
        _ => return Err(session_credentials_refused("GetFederationToken")),
    };
    let packed = check_session_policies(tx, ctx, policy.as_deref(), &policy_arns, &tags).await?;
    let acct = account_id(ctx).to_owned();
    let mut session = new_session(ctx, SessionKind::Federated, &principal_id, duration);
    session.name = fed_name.clone();
    session.tags = tags
        .iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect();
    session.policy = policy.clone();
    session.policy_arns = policy_arns.clone();
    session.access_key_id = temporary_key_id(&acct)?;
    let with_packed = policy.is_some() || !policy_arns.is_empty() || !tags.is_empty();
    Ok(Output::SessionCredentials {
        credentials: issue(ctx, session)?,
        assumed_role_user: None,
        federated_user: Some((
            format!("{acct}:{fed_name}"),
            federated_user_arn(ctx.partition, &acct, &fed_name),
        )),
        packed_policy_size: with_packed.then_some(packed),
        source_identity: None,
    })
}

pub(super) async fn get_access_key_info<T: Tx>(
    tx: &mut T,
    _ctx: &Ctx<'_>,
    access_key_id: Option<String>,
) -> Result<Output, OpError> {
    let key = opt(&access_key_id);
    let account = match account_of_temporary_key(&key) {
        Some(a) => Some(a),
        None => tx.get_access_key(&key).await?.map(|k| k.account_id),
    };
    match account {
        Some(account) => Ok(Output::AccessKeyInfo { account }),
        None => Err(ApiError::new(
            "InvalidParameterValue",
            400,
            format!("The access key ID {key} is not valid."),
        )
        .into()),
    }
}

/// `InvalidAuthorizationMessageException` (400): the message cannot be decoded. Its wording follows
/// the STS API reference's description of the error.
pub fn invalid_authorization_message() -> ApiError {
    ApiError::new(
        "InvalidAuthorizationMessageException",
        400,
        "The message passed to DecodeAuthorizationMessage was invalid.",
    )
}

/// keyward never encodes an authorization message: its `AccessDenied` messages are clear text, as
/// IAM's and STS's are. So no message given here can be one of ours, and each is answered as AWS
/// answers a message it cannot decode (`EncodedMessage`'s shape was checked when decoded).
pub(super) fn decode_authorization_message() -> Result<Output, OpError> {
    Err(invalid_authorization_message().into())
}

/// `GetAccessKeyInfo` and `DecodeAuthorizationMessage` need their action on `*`; federated users
/// may call no STS operation but `GetCallerIdentity` (GetFederationToken's API reference,
/// "Permissions"), whatever their session policy allows.
fn sts_read_target(op: OpName, ctx: &Ctx<'_>) -> Result<Target, OpError> {
    if matches!(ctx.caller.principal, Principal::FederatedUser { .. }) {
        return Err(ApiError::access_denied(format!(
            "User: {} is not authorized to perform: {}",
            ctx.caller.principal.arn(ctx.partition),
            op.action()
        ))
        .into());
    }
    Ok(any_resource(op))
}

// ── Operation inputs (rows of `table.rs`) ──────────────────────────────────────────────────────

input! {
    pub struct GetCallerIdentity {}
}

impl Handler for GetCallerIdentity {
    async fn target<T: Tx>(&self, _op: OpName, _tx: &mut T, _ctx: &Ctx<'_>) -> Targeted {
        Ok(Target::Unrestricted)
    }

    async fn run<T: Tx>(self, _tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let p = &ctx.caller.principal;
        Ok(Output::CallerIdentity {
            user_id: p.user_id().into_owned(),
            account: p.account_id().to_owned(),
            arn: p.arn(ctx.partition),
        })
    }
}

input! {
    pub struct GetSessionToken {
        duration_seconds: Option<i64> = integer("DurationSeconds"),
        serial_number: Option<String> = string("SerialNumber"),
        token_code: Option<CodeInput> = code("TokenCode"),
    }
}

impl Handler for GetSessionToken {
    async fn target<T: Tx>(&self, op: OpName, _tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        if ctx.caller.session.is_some() {
            return Err(session_credentials_refused(op.name()));
        }
        Ok(Target::DenyOnly(Permission {
            action: op.action().to_owned(),
            resource: "*".to_owned(),
            context: Vec::new(),
        }))
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let GetSessionToken {
            duration_seconds,
            serial_number,
            token_code,
        } = self;
        get_session_token(tx, ctx, duration_seconds, serial_number, token_code).await
    }
}

input! {
    pub struct AssumeRole {
        role_arn: Option<String> = string("RoleArn"),
        role_session_name: Option<String> = string("RoleSessionName"),
        policy_arns: Vec<String> = structure_list("PolicyArns", "arn"),
        policy: Option<String> = string("Policy"),
        duration_seconds: Option<i64> = integer("DurationSeconds"),
        tags: Vec<Tag> = tags("Tags"),
        transitive_tag_keys: Vec<String> = list("TransitiveTagKeys"),
        external_id: Option<String> = string("ExternalId"),
        serial_number: Option<String> = string("SerialNumber"),
        token_code: Option<CodeInput> = code("TokenCode"),
        source_identity: Option<String> = string("SourceIdentity"),
    }
}

impl Handler for AssumeRole {
    async fn target<T: Tx>(&self, _op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let AssumeRole {
            role_arn,
            role_session_name,
            tags,
            transitive_tag_keys,
            external_id,
            serial_number,
            token_code,
            source_identity,
            ..
        } = self;
        let arn = opt(role_arn);
        // A chained request carries its session's source identity whether or not it names
        // it again (IAM User Guide, "Monitor and control actions taken with assumed roles").
        let source_identity = source_identity.as_deref().or(ctx
            .caller
            .session
            .as_ref()
            .and_then(|s| s.source_identity.as_deref()));
        let context = assume_role_context(
            tags,
            transitive_tag_keys,
            external_id.as_deref(),
            role_session_name.as_deref(),
            source_identity,
            serial_number.is_some() && token_code.is_some(),
        );
        let permission = Permission {
            action: "sts:AssumeRole".to_owned(),
            resource: arn.clone(),
            context,
        };
        let trust = role_of_arn(tx, ctx, &arn)
            .await?
            .map(|role| trust_policy(ctx, &role));
        Ok(Target::AssumeRole(permission, trust))
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let AssumeRole {
            role_arn,
            role_session_name,
            policy_arns,
            policy,
            duration_seconds,
            tags,
            transitive_tag_keys,
            external_id,
            serial_number,
            token_code,
            source_identity,
        } = self;
        assume_role(
            tx,
            ctx,
            role_arn,
            role_session_name,
            policy_arns,
            policy,
            duration_seconds,
            tags,
            transitive_tag_keys,
            external_id,
            serial_number,
            token_code,
            source_identity,
        )
        .await
    }
}

input! {
    pub struct GetFederationToken {
        name: Option<String> = string("Name"),
        policy: Option<String> = string("Policy"),
        policy_arns: Vec<String> = structure_list("PolicyArns", "arn"),
        duration_seconds: Option<i64> = integer("DurationSeconds"),
        tags: Vec<Tag> = tags("Tags"),
    }
}

impl Handler for GetFederationToken {
    async fn target<T: Tx>(&self, op: OpName, _tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        if ctx.caller.session.is_some() {
            return Err(session_credentials_refused(op.name()));
        }
        let GetFederationToken { name, tags, .. } = self;
        Ok(permission(
            op,
            crate::principal::federated_user_arn(ctx.partition, account_id(ctx), &opt(name)),
            request_tag_keys(tags),
        ))
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let GetFederationToken {
            name,
            policy,
            policy_arns,
            duration_seconds,
            tags,
        } = self;
        get_federation_token(tx, ctx, name, policy, policy_arns, duration_seconds, tags).await
    }
}

input! {
    pub struct GetAccessKeyInfo {
        access_key_id: Option<String> = string("AccessKeyId"),
    }
}

impl Handler for GetAccessKeyInfo {
    async fn target<T: Tx>(&self, op: OpName, _tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        sts_read_target(op, ctx)
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let GetAccessKeyInfo { access_key_id } = self;
        get_access_key_info(tx, ctx, access_key_id).await
    }
}

input! {
    pub struct DecodeAuthorizationMessage {
        encoded_message: Option<String> = string("EncodedMessage"),
    }
}

impl Handler for DecodeAuthorizationMessage {
    async fn target<T: Tx>(&self, op: OpName, _tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        sts_read_target(op, ctx)
    }

    async fn run<T: Tx>(self, _tx: &mut T, _ctx: &Ctx<'_>) -> Ran {
        let DecodeAuthorizationMessage { .. } = self;
        decode_authorization_message()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn temporary_keys_encode_their_account() {
        for acct in ["000000000001", "123456789012", "999999999999"] {
            let id = temporary_key_id(acct).unwrap();
            assert!(id.starts_with("ASIA"), "{id}");
            assert_eq!(id.len(), 20);
            assert_eq!(account_of_temporary_key(&id).as_deref(), Some(acct));
        }
        assert_eq!(account_of_temporary_key("AKIAIOSFODNN7EXAMPLE"), None);
    }

    #[test]
    fn role_arns() {
        assert_eq!(
            parse_role_arn("arn:aws:iam::123456789012:role/a/b/MyRole"),
            Some(("123456789012", "MyRole"))
        );
        assert_eq!(parse_role_arn("arn:aws:iam::123456789012:user/x"), None);
    }
}

//! Validation (IAM's `MalformedPolicyDocument` rules, in IAM's order) and compilation of a
//! [`PolicyDocument`] into the form the evaluator uses.

use std::collections::HashSet;

use crate::condition::{Condition, parse_operator};
use crate::context::Context;
use crate::error::PolicyError;
use crate::pattern::{Pattern, Template};
use crate::request::{Principal, PrincipalKind, Request};
use crate::wire::{OneOrMany, PolicyDocument, PrincipalDocument, StatementDocument};

/// What a policy document is used as. It decides which elements are required or forbidden, and
/// which policy type a decision names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PolicyKind {
    /// Attached to a user, group or role (inline or managed).
    Identity,
    /// Attached to a resource; names a `Principal`.
    Resource,
    /// A role's trust policy: a resource policy whose actions are `sts:*`.
    Trust,
    /// An AWS Organizations service control policy.
    ServiceControl,
    /// A permissions boundary (an identity-style policy used as a ceiling).
    Boundary,
    /// A session policy passed to `AssumeRole*` or `GetFederationToken`.
    Session,
}

impl PolicyKind {
    /// How AWS names the policy type in AccessDenied messages ("an identity-based policy").
    pub fn denial_phrase(self) -> &'static str {
        match self {
            PolicyKind::Identity => "identity-based policy",
            PolicyKind::Resource => "resource-based policy",
            PolicyKind::Trust => "role trust policy",
            PolicyKind::ServiceControl => "service control policy",
            PolicyKind::Boundary => "permissions boundary",
            PolicyKind::Session => "session policy",
        }
    }

    fn has_principal(self) -> bool {
        matches!(self, PolicyKind::Resource | PolicyKind::Trust)
    }
}

/// Policy language version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `2012-10-17`: policy variables are substituted.
    V2012_10_17,
    /// `2008-10-17` or no `Version`: `${...}` is literal text.
    V2008_10_17,
    Absent,
}

/// Options for [`Policy::parse_with`].
#[derive(Debug, Clone, Default)]
pub struct ParseOptions {
    /// Refuse documents without `"Version": "2012-10-17"` (as `CreatePolicy` does).
    pub require_current_version: bool,
    /// Size quota in characters, white space not counted (2048 user inline, 5120 group inline,
    /// 10240 role inline, 6144 managed).
    pub max_size: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    Allow,
    Deny,
}

/// How strongly a resource-based policy's `Principal` names the caller; decides whether the grant
/// is limited by implicit denies in identity policies, boundaries and session policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Grant {
    /// The caller's account (`"123456789012"` or `arn:aws:iam::123456789012:root`): delegation.
    Account,
    /// `"*"`, or a statement with `NotPrincipal`.
    Wildcard,
    /// The role ARN behind a session, or the IAM user ARN behind a federated user.
    Parent,
    /// The IAM user's own ARN, the root user, a service, an identity provider.
    Direct,
    /// The session ARN itself (assumed-role or federated-user).
    Session,
}

#[derive(Debug, Clone)]
enum AwsPrincipal {
    Any,
    Account(Box<str>),
    Arn(Box<str>),
}

#[derive(Debug, Clone, Default)]
struct PrincipalSpec {
    aws: Vec<AwsPrincipal>,
    service: Vec<Box<str>>,
    federated: Vec<Box<str>>,
    canonical: Vec<Box<str>>,
}

impl PrincipalSpec {
    fn compile(doc: &PrincipalDocument) -> Result<PrincipalSpec, PolicyError> {
        let mut spec = PrincipalSpec::default();
        match doc {
            PrincipalDocument::Star(s) if s == "*" => spec.aws.push(AwsPrincipal::Any),
            PrincipalDocument::Star(_) => return Err(PolicyError::Syntax),
            PrincipalDocument::Map(map) => {
                for (k, v) in map {
                    let list = v.as_slice();
                    match k.as_str() {
                        "AWS" => spec.aws.extend(list.iter().map(|a| aws_principal(a))),
                        "Service" => spec.service.extend(list.iter().map(|s| s.as_str().into())),
                        "Federated" => spec
                            .federated
                            .extend(list.iter().map(|s| s.as_str().into())),
                        "CanonicalUser" => spec
                            .canonical
                            .extend(list.iter().map(|s| s.as_str().into())),
                        _ => return Err(PolicyError::Syntax),
                    }
                }
            }
        }
        Ok(spec)
    }

    fn grant_for(&self, p: &Principal) -> Option<Grant> {
        let mut best: Option<Grant> = None;
        let mut take = |g: Grant| best = Some(best.map_or(g, |b| b.max(g)));
        let iam = matches!(
            p.kind,
            PrincipalKind::Root
                | PrincipalKind::User
                | PrincipalKind::AssumedRole
                | PrincipalKind::FederatedUser
        );
        for a in &self.aws {
            match a {
                AwsPrincipal::Any => take(Grant::Wildcard),
                AwsPrincipal::Account(acct) if iam && **acct == *p.account => {
                    take(if p.kind == PrincipalKind::Root {
                        Grant::Direct
                    } else {
                        Grant::Account
                    })
                }
                AwsPrincipal::Arn(arn) if iam && **arn == *p.arn => take(match p.kind {
                    PrincipalKind::AssumedRole | PrincipalKind::FederatedUser => Grant::Session,
                    _ => Grant::Direct,
                }),
                AwsPrincipal::Arn(arn) if iam && p.source_arn.as_deref() == Some(&**arn) => {
                    take(Grant::Parent)
                }
                _ => {}
            }
        }
        if p.kind == PrincipalKind::Service
            && self.service.iter().any(|s| s.eq_ignore_ascii_case(&p.arn))
        {
            take(Grant::Direct);
        }
        if p.kind == PrincipalKind::WebIdentity && self.federated.iter().any(|s| **s == *p.arn) {
            take(Grant::Direct);
        }
        if p.kind == PrincipalKind::CanonicalUser && self.canonical.iter().any(|s| **s == *p.arn) {
            take(Grant::Direct);
        }
        best
    }

    /// `NotPrincipal` excludes a caller only when every level of its identity is listed: the
    /// account, then the role or user, then the session (AWS checks them in turn).
    fn excludes(&self, p: &Principal) -> bool {
        let listed = |s: &str| {
            self.aws.iter().any(|a| match a {
                AwsPrincipal::Any => true,
                AwsPrincipal::Account(acct) => **acct == *s,
                AwsPrincipal::Arn(arn) => **arn == *s,
            })
        };
        match p.kind {
            PrincipalKind::Root => listed(&p.account),
            PrincipalKind::User | PrincipalKind::FederatedUser => {
                listed(&p.account) && listed(&p.arn)
            }
            PrincipalKind::AssumedRole => {
                listed(&p.account) && p.source_arn.as_deref().is_none_or(listed) && listed(&p.arn)
            }
            PrincipalKind::Service => self.service.iter().any(|s| s.eq_ignore_ascii_case(&p.arn)),
            PrincipalKind::WebIdentity => self.federated.iter().any(|s| **s == *p.arn),
            PrincipalKind::CanonicalUser => self.canonical.iter().any(|s| **s == *p.arn),
            PrincipalKind::Anonymous => false,
        }
    }
}

/// IAM's check of principal values: `*`, a 12-digit account id or an ARN for `AWS`; a DNS-style
/// name for `Service`; non-empty for the others.
fn check_principal(doc: &PrincipalDocument) -> Result<(), PolicyError> {
    let PrincipalDocument::Map(map) = doc else {
        return Ok(());
    };
    for (kind, values) in map {
        for v in values.as_slice() {
            let ok = match kind.as_str() {
                "AWS" => {
                    v == "*"
                        || (v.len() == 12 && v.bytes().all(|b| b.is_ascii_digit()))
                        || (v.starts_with("arn:") && v.split(':').count() >= 6)
                }
                "Service" => {
                    v == "*"
                        || (!v.is_empty() && v.contains('.') && !v.contains(char::is_whitespace))
                }
                _ => !v.is_empty(),
            };
            if !ok {
                return Err(PolicyError::InvalidPrincipal {
                    kind: kind.clone(),
                    value: v.clone(),
                });
            }
        }
    }
    Ok(())
}

fn aws_principal(a: &str) -> AwsPrincipal {
    if a == "*" {
        return AwsPrincipal::Any;
    }
    if a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()) {
        return AwsPrincipal::Account(a.into());
    }
    let parts: Vec<&str> = a.splitn(6, ':').collect();
    if let ["arn", _, "iam", "", acct, "root"] = parts.as_slice() {
        return AwsPrincipal::Account((*acct).into());
    }
    AwsPrincipal::Arn(a.into())
}

#[derive(Debug, Clone)]
pub(crate) struct Statement {
    pub(crate) sid: Option<String>,
    pub(crate) effect: Effect,
    actions: Vec<Pattern>,
    not_action: bool,
    /// Lower-cased service prefixes of `Action`; empty when any service may match (wildcard
    /// vendor or `NotAction`). A cheap filter before the action patterns.
    services: Vec<Box<str>>,
    /// `None`: no `Resource` element (resource policies): the resource the policy is attached to.
    resources: Option<Vec<Template>>,
    not_resource: bool,
    principal: Option<PrincipalSpec>,
    not_principal: Option<PrincipalSpec>,
    pub(crate) conditions: Vec<Condition>,
}

/// Keys a statement referenced but the request lacked.
pub(crate) type Missing<'p> = Vec<&'p str>;

impl Statement {
    fn reads_context(&self) -> bool {
        !self.conditions.is_empty()
            || self
                .resources
                .iter()
                .flatten()
                .any(|r| matches!(r, Template::Dynamic(..)))
    }

    #[inline]
    fn action_matches(&self, action: &str, service: &str) -> bool {
        if !self.services.is_empty()
            && !self
                .services
                .iter()
                .any(|s| s.eq_ignore_ascii_case(service))
        {
            return false;
        }
        self.actions.iter().any(|p| p.matches_ignore_case(action)) != self.not_action
    }

    fn resource_matches<'p>(
        &'p self,
        ctx: &Context,
        resource: &str,
        missing: &mut Missing<'p>,
    ) -> bool {
        let Some(list) = &self.resources else {
            return true;
        };
        let hit = list.iter().any(|t| t.matches_resource(ctx, resource));
        for key in list.iter().flat_map(|t| t.variable_keys()) {
            if ctx.get(key).is_none() {
                missing.push(key);
            }
        }
        hit != self.not_resource
    }

    /// Whether the statement applies to the request, and for resource policies how it names the caller.
    pub(crate) fn applies<'p>(
        &'p self,
        kind: PolicyKind,
        request: &Request,
        service: &str,
        missing: &mut Missing<'p>,
    ) -> Option<Grant> {
        let (principal, resource, ctx) = (
            &request.principal,
            request.resource.as_str(),
            &request.context,
        );
        if !self.action_matches(&request.action, service) {
            return None;
        }
        let grant = if kind.has_principal() {
            match (&self.principal, &self.not_principal) {
                (Some(spec), _) => spec.grant_for(principal)?,
                (None, Some(spec)) if !spec.excludes(principal) => Grant::Wildcard,
                _ => return None,
            }
        } else {
            Grant::Direct
        };
        if !self.resource_matches(ctx, resource, missing) {
            return None;
        }
        let mut ok = true;
        for c in &self.conditions {
            let mut absent = false;
            if !c.evaluate(ctx, &mut absent) {
                ok = false;
            }
            if absent {
                missing.push(&c.key);
            }
            for key in c.variable_keys() {
                if ctx.get(key).is_none() {
                    missing.push(key);
                }
            }
        }
        ok.then_some(grant)
    }
}

/// A parsed, validated and compiled policy document, ready for evaluation.
#[derive(Debug, Clone)]
pub struct Policy {
    id: String,
    kind: PolicyKind,
    version: Version,
    document: PolicyDocument,
    pub(crate) statements: Vec<Statement>,
    /// Whether evaluating it can read the request context (a `Condition`, or a policy variable
    /// in a `Resource`).
    reads_context: bool,
}

const PARTITIONS: &[&str] = &[
    "aws",
    "aws-cn",
    "aws-us-gov",
    "aws-iso",
    "aws-iso-b",
    "aws-iso-e",
    "aws-iso-f",
    "aws-eusc",
    "*",
];

const IAM_PATHS: &[&str] = &[
    "user/",
    "federated-user/",
    "role/",
    "group/",
    "instance-profile/",
    "mfa/",
    "server-certificate/",
    "policy/",
    "sms-mfa/",
    "saml-provider/",
    "oidc-provider/",
    "report/",
    "access-report/",
];

fn non_empty(list: &Option<OneOrMany<String>>) -> bool {
    list.as_ref().is_some_and(|l| !l.as_slice().is_empty())
}

/// IAM's "legacy parser" check of one resource string. It refuses an ARN whose service is empty,
/// and an ARN that has an empty segment (`::`) yet fewer than six segments, i.e. one that was
/// truncated (`arn:aws:s3::bucket`). An ARN that merely stops early (`arn:aws:sqs:*`,
/// `arn:aws:ec2:us-east-1:*`) passes: AWS accepts those, a trailing `*` covering the rest.
/// Strings IAM refuses for their format (not an ARN, a bad partition, ...) are not looked at
/// here; they get their own message later (recorded IAM answers: moto's `test_iam_policies.py`).
fn legacy_resource_ok(r: &str) -> bool {
    if r == "*" || check_resource(r).is_err() {
        return true;
    }
    let colons = r.bytes().filter(|&b| b == b':').count();
    let service = r.split(':').nth(2).unwrap_or("");
    (colons >= 5 || !r.contains("::")) && !service.is_empty()
}

/// IAM's checks of one resource string, with its messages.
fn check_resource(r: &str) -> Result<(), PolicyError> {
    if r == "*" {
        return Ok(());
    }
    let parts: Vec<&str> = r.split(':').collect();
    if parts.len() < 2 {
        return Err(PolicyError::ResourceNotArn(r.to_owned()));
    }
    let mut arn: Vec<&str> = parts.clone();
    arn[0] = "arn";
    while arn.len() < 6 {
        arn.push("*");
    }
    let partition = parts[1];
    if parts[0] != "arn" || !PARTITIONS.contains(&partition) {
        return Err(PolicyError::InvalidPartition {
            partition: partition.to_owned(),
            resource: arn.join(":"),
        });
    }
    let Some(service) = parts.get(2) else {
        return Err(PolicyError::ResourceVendorNotQualified);
    };
    if service.contains(['*', '?']) {
        return Err(PolicyError::ResourceVendorNotQualified);
    }
    let region = parts.get(3).copied().unwrap_or("");
    if *service == "iam" {
        if !region.is_empty() {
            return Err(PolicyError::IamResourceWithRegion(r.to_owned()));
        }
        let path = r.splitn(6, ':').nth(5).unwrap_or("");
        if path != "*"
            && !path.contains("${")
            && !IAM_PATHS.iter().any(|p| path.starts_with(p))
            && path != "root"
        {
            return Err(PolicyError::IamResourcePath);
        }
    }
    if *service == "s3" && !region.is_empty() {
        return Err(PolicyError::S3ResourceWithRegion(r.to_owned()));
    }
    Ok(())
}

fn check_action(a: &str) -> Result<(), PolicyError> {
    if a == "*" {
        return Ok(());
    }
    let mut it = a.split(':');
    let vendor = it.next().unwrap_or("");
    match (it.next(), it.next()) {
        (None, _) => Err(PolicyError::ActionWithoutVendor),
        (Some(_), Some(_)) => Err(PolicyError::ActionTooManyColons),
        (Some(_), None) => {
            let ok = !vendor.is_empty()
                && vendor
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if ok {
                Ok(())
            } else {
                Err(PolicyError::InvalidVendor(vendor.to_owned()))
            }
        }
    }
}

fn size_without_whitespace(json: &str) -> usize {
    json.chars().filter(|c| !c.is_whitespace()).count()
}

impl Policy {
    /// Parses and validates a policy document as IAM does, and compiles it. `id` names the policy in
    /// decisions (a policy ARN, `user/alice/inline/MyPolicy`, ...).
    pub fn parse(
        json: &str,
        kind: PolicyKind,
        id: impl Into<String>,
    ) -> Result<Policy, PolicyError> {
        Policy::parse_with(json, kind, id, &ParseOptions::default())
    }

    pub fn parse_with(
        json: &str,
        kind: PolicyKind,
        id: impl Into<String>,
        options: &ParseOptions,
    ) -> Result<Policy, PolicyError> {
        if let Some(max) = options.max_size
            && size_without_whitespace(json) > max
        {
            return Err(PolicyError::TooLarge(max));
        }
        let document: PolicyDocument =
            serde_json::from_str(json).map_err(|_| PolicyError::Syntax)?;
        Policy::from_document(document, kind, id, options)
    }

    /// Validates and compiles an already-deserialised document.
    pub fn from_document(
        document: PolicyDocument,
        kind: PolicyKind,
        id: impl Into<String>,
        options: &ParseOptions,
    ) -> Result<Policy, PolicyError> {
        let version = match document.version.as_deref() {
            Some("2012-10-17") => Version::V2012_10_17,
            Some("2008-10-17") if !options.require_current_version => Version::V2008_10_17,
            None if !options.require_current_version => Version::Absent,
            Some("2008-10-17") | None => return Err(PolicyError::VersionTooOld),
            Some(_) => return Err(PolicyError::Syntax),
        };
        let variables = version == Version::V2012_10_17;
        let docs = document.statement.as_slice();
        if docs.is_empty() {
            return Err(PolicyError::Syntax);
        }
        // 1. Shapes ("Syntax errors in policy.").
        for s in docs {
            let effect_ok = s
                .effect
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case("allow") || e.eq_ignore_ascii_case("deny"));
            if !effect_ok
                || (s.action.is_some() && s.not_action.is_some())
                || (s.resource.is_some() && s.not_resource.is_some())
                || (s.principal.is_some() && s.not_principal.is_some())
            {
                return Err(PolicyError::Syntax);
            }
            for p in [&s.principal, &s.not_principal].into_iter().flatten() {
                PrincipalSpec::compile(p)?;
            }
            for (op, block) in s.condition.iter().flatten() {
                if !block.is_empty() && parse_operator(op).is_none() {
                    return Err(PolicyError::Syntax);
                }
            }
        }
        // 2. IAM's legacy parser: effect case, resource ARNs, typed condition values.
        let mut compiled_conditions = Vec::with_capacity(docs.len());
        for s in docs {
            if !matches!(s.effect.as_deref(), Some("Allow" | "Deny")) {
                return Err(PolicyError::LegacyParsing);
            }
            for list in [&s.resource, &s.not_resource].into_iter().flatten() {
                if !list.as_slice().iter().all(|r| legacy_resource_ok(r)) {
                    return Err(PolicyError::LegacyParsing);
                }
            }
            let mut conditions = Vec::new();
            for (op, block) in s.condition.iter().flatten() {
                let Some(parsed) = parse_operator(op) else {
                    continue;
                };
                for (key, values) in block {
                    let raw: Vec<String> = values.as_slice().iter().map(|v| v.to_text()).collect();
                    conditions.push(Condition::new(parsed, key, &raw, variables)?);
                }
            }
            compiled_conditions.push(conditions);
        }
        // 3. Statement ids.
        let mut seen = HashSet::new();
        for sid in docs
            .iter()
            .filter_map(|s| s.sid.as_deref())
            .filter(|s| !s.is_empty())
        {
            if !seen.insert(sid) {
                return Err(PolicyError::DuplicateSid);
            }
        }
        // 4. Elements per policy type.
        for s in docs {
            for p in [&s.principal, &s.not_principal].into_iter().flatten() {
                check_principal(p)?;
            }
        }
        for s in docs {
            let has_principal = s.principal.is_some() || s.not_principal.is_some();
            if kind.has_principal() {
                if !has_principal {
                    return Err(PolicyError::MissingPrincipal);
                }
            } else if has_principal {
                return Err(PolicyError::PrincipalNotAllowed);
            }
        }
        if docs
            .iter()
            .any(|s| !non_empty(&s.action) && !non_empty(&s.not_action))
        {
            return Err(PolicyError::MissingActions);
        }
        match kind {
            PolicyKind::Trust => {
                if docs
                    .iter()
                    .any(|s| s.resource.is_some() || s.not_resource.is_some())
                {
                    return Err(PolicyError::ResourceNotAllowed);
                }
            }
            PolicyKind::Identity | PolicyKind::Boundary | PolicyKind::Session => {
                if docs
                    .iter()
                    .any(|s| !non_empty(&s.resource) && !non_empty(&s.not_resource))
                {
                    return Err(PolicyError::MissingResources);
                }
            }
            PolicyKind::Resource | PolicyKind::ServiceControl => {}
        }
        // 5. Resource, then action, syntax.
        for s in docs {
            for list in [&s.resource, &s.not_resource].into_iter().flatten() {
                list.as_slice().iter().try_for_each(|r| check_resource(r))?;
            }
        }
        for s in docs {
            for list in [&s.action, &s.not_action].into_iter().flatten() {
                list.as_slice().iter().try_for_each(|a| check_action(a))?;
                if kind == PolicyKind::Trust
                    && list.as_slice().iter().any(|a| {
                        !(a == "*" || a.get(..4).is_some_and(|v| v.eq_ignore_ascii_case("sts:")))
                    })
                {
                    return Err(PolicyError::TrustActionNotSts);
                }
            }
        }
        let statements = docs
            .iter()
            .zip(compiled_conditions)
            .map(|(s, conditions)| compile_statement(s, conditions, variables))
            .collect::<Result<Vec<_>, _>>()?;
        let reads_context = statements.iter().any(Statement::reads_context);
        Ok(Policy {
            id: id.into(),
            kind,
            version,
            document,
            statements,
            reads_context,
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn kind(&self) -> PolicyKind {
        self.kind
    }

    /// Whether its evaluation can read the request's context keys (a `Condition`, or a policy
    /// variable in a `Resource`): when no policy of a request does, the context need not be
    /// built, since the decision is the same whatever it holds.
    pub fn reads_context(&self) -> bool {
        self.reads_context
    }

    pub fn version(&self) -> Version {
        self.version
    }

    /// The document as written (wire model).
    pub fn document(&self) -> &PolicyDocument {
        &self.document
    }

    /// The document serialised back to JSON (canonical shapes; parses to an equal document).
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.document).unwrap_or_default()
    }

    pub fn statement_count(&self) -> usize {
        self.statements.len()
    }
}

fn compile_statement(
    s: &StatementDocument,
    conditions: Vec<Condition>,
    variables: bool,
) -> Result<Statement, PolicyError> {
    let (actions, not_action) = match (&s.action, &s.not_action) {
        (Some(a), _) => (a, false),
        (None, Some(a)) => (a, true),
        (None, None) => return Err(PolicyError::MissingActions),
    };
    let (resources, not_resource) = match (&s.resource, &s.not_resource) {
        (Some(r), _) => (Some(r), false),
        (None, Some(r)) => (Some(r), true),
        (None, None) => (None, false),
    };
    let effect = if s.effect.as_deref() == Some("Deny") {
        Effect::Deny
    } else {
        Effect::Allow
    };
    let mut services: Vec<Box<str>> = Vec::new();
    if !not_action {
        for a in actions.as_slice() {
            match a.split_once(':') {
                Some((vendor, _)) if !vendor.contains(['*', '?']) => {
                    let v = vendor.to_ascii_lowercase();
                    if !services.iter().any(|s| **s == *v) {
                        services.push(v.into());
                    }
                }
                _ => {
                    services.clear();
                    break;
                }
            }
        }
    }
    Ok(Statement {
        sid: s.sid.clone(),
        effect,
        actions: actions
            .as_slice()
            .iter()
            .map(|a| Pattern::parse(a))
            .collect(),
        not_action,
        services,
        resources: resources.map(|r| {
            r.as_slice()
                .iter()
                .map(|r| Template::parse(r, variables))
                .collect()
        }),
        not_resource,
        principal: s
            .principal
            .as_ref()
            .map(PrincipalSpec::compile)
            .transpose()?,
        not_principal: s
            .not_principal
            .as_ref()
            .map(PrincipalSpec::compile)
            .transpose()?,
        conditions,
    })
}

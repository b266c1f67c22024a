//! Workload "realistic principal": a user with 10 attached managed policies and 2 groups with 2
//! policies each (~60 statements), half with wildcards, a third with conditions (String, Bool,
//! Date, IP, ForAnyValue), policy variables, a permissions boundary and an SCP.
//!
//! `cargo bench -p keyward-policy --bench evaluate`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use keyward_policy::{
    Context, DecisionKind, Policy, PolicyKind, PolicySet, Principal, Request, evaluate,
};

struct Workload {
    policies: Vec<Policy>,
    boundary: Policy,
    scp: Policy,
    docs: Vec<String>,
}

fn workload() -> Workload {
    // 10 managed (4 statements each) + 4 group policies (5 each) = 60 statements, and one deny.
    let docs = keyward_policy::workload::identity_documents();
    let policies = docs
        .iter()
        .enumerate()
        .map(|(i, d)| {
            Policy::parse(
                d,
                PolicyKind::Identity,
                format!("arn:aws:iam::111122223333:policy/P{i}"),
            )
            .unwrap()
        })
        .collect();
    let boundary = Policy::parse(
        keyward_policy::workload::BOUNDARY,
        PolicyKind::Boundary,
        "arn:aws:iam::111122223333:policy/Boundary",
    )
    .unwrap();
    let scp = Policy::parse(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","NotAction":["iam:*","sts:*"],"Resource":"*","Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}]}"#,
        PolicyKind::ServiceControl,
        "p-scp",
    )
    .unwrap();
    Workload {
        policies,
        boundary,
        scp,
        docs,
    }
}

fn request(action: &str, resource: &str) -> Request {
    let ctx = Context::new()
        .with("aws:username", "alice")
        .with("aws:userid", "AIDAEXAMPLE")
        .with("aws:PrincipalTag/team", "blue")
        .with("aws:SecureTransport", "true")
        .with("aws:CurrentTime", "2026-11-25T00:00:00Z")
        .with("aws:SourceIp", "10.1.2.3")
        .with("aws:MultiFactorAuthPresent", "true")
        .with("aws:TagKeys", "team");
    Request::new(
        Principal::user("arn:aws:iam::111122223333:user/alice"),
        action,
        resource,
    )
    .with_context(ctx)
}

// ---------------------------------------------------------------------------------------------
// The same decisions with Cedar: each IAM statement translated by rule into a Cedar policy.
// Cedar has no action wildcards, no intersection of policy types and no policy variables inside
// `like` patterns, so: the action travels as `context.action` and is matched with `like`; the
// SCP, the boundary and the identity policies are three policy sets that must all allow (checked
// in that order, stopping at the first refusal); `${aws:username}` is substituted when the
// principal's policies are translated.

mod cedar {
    use std::str::FromStr;

    use cedar_policy::{Authorizer, Context, Decision, Entities, EntityUid, PolicySet, Request};
    use serde_json::json;

    use keyward_policy::workload::SERVICES;

    fn statement(p: usize, i: usize, username: &str) -> String {
        let svc = SERVICES[(p + i) % SERVICES.len()];
        let action = if i.is_multiple_of(2) {
            format!("(context.action like \"{svc}:Get*\" || context.action like \"{svc}:List*\")")
        } else {
            format!("context.action == \"{svc}:Describe{p}x{i}\"")
        };
        let resource = match i % 4 {
            0 => format!(" && resource.arn like \"arn:aws:{svc}:*:111122223333:res{p}/*\""),
            1 => format!(
                " && resource.arn == \"arn:aws:{svc}:us-east-1:111122223333:res{p}/item{i}\""
            ),
            2 => format!(" && resource.arn like \"arn:aws:{svc}:*:*:home/{username}/*\""),
            _ => String::new(),
        };
        let condition = match (i % 3, (p + i) % 5) {
            (0, 0) => " && principal.team == \"blue\"",
            (0, 1) => " && context.secure_transport",
            (0, 2) => " && context.now < 1893456000",
            (0, 3) => {
                " && (context.source_ip.isInRange(ip(\"10.0.0.0/8\")) || context.source_ip.isInRange(ip(\"192.168.0.0/16\")))"
            }
            (0, _) => " && context.tag_keys.containsAny([\"team\", \"project\"])",
            _ => "",
        };
        format!(
            "@id(\"S{p}x{i}\") permit(principal, action, resource) when {{ {action}{resource}{condition} }};\n"
        )
    }

    pub struct Cedar {
        scp: PolicySet,
        boundary: PolicySet,
        identity: PolicySet,
        entities: Entities,
        authorizer: Authorizer,
    }

    impl Cedar {
        pub fn new() -> Cedar {
            let mut identity = String::new();
            for p in 0..10 {
                (0..4).for_each(|i| identity.push_str(&statement(p, i, "alice")));
            }
            for p in 10..14 {
                (0..5).for_each(|i| identity.push_str(&statement(p, i, "alice")));
            }
            identity.push_str("forbid(principal, action, resource) when { context.action == \"kms:ScheduleKeyDeletion\" };\n");
            let boundary = "permit(principal, action, resource) when { context.action like \"logs:*\" || context.action like \"ec2:*\" || context.action like \"dynamodb:*\" || context.action like \"sqs:*\" || context.action like \"sns:*\" || context.action like \"lambda:*\" || context.action like \"kms:*\" };";
            let scp = "permit(principal, action, resource);\nforbid(principal, action, resource) when { !(context.action like \"iam:*\" || context.action like \"sts:*\") && !context.mfa };";
            let entities = Entities::from_json_value(
                json!([
                    {"uid": {"type": "User", "id": "alice"}, "attrs": {"team": "blue", "username": "alice"}, "parents": []},
                    {"uid": {"type": "Resource", "id": "allowed"}, "attrs": {"arn": "arn:aws:dynamodb:us-east-1:111122223333:home/alice/t1"}, "parents": []},
                    {"uid": {"type": "Resource", "id": "denied"}, "attrs": {"arn": "arn:aws:iam::111122223333:user/mallory"}, "parents": []}
                ]),
                None,
            )
            .unwrap();
            Cedar {
                scp: PolicySet::from_str(scp).unwrap(),
                boundary: PolicySet::from_str(boundary).unwrap(),
                identity: PolicySet::from_str(&identity).unwrap(),
                entities,
                authorizer: Authorizer::new(),
            }
        }

        pub fn request(&self, action: &str, resource: &str) -> Request {
            let context = Context::from_json_value(
                json!({
                    "action": action,
                    "secure_transport": true,
                    "now": 1795564800,
                    "source_ip": {"__extn": {"fn": "ip", "arg": "10.1.2.3"}},
                    "mfa": true,
                    "tag_keys": ["team"],
                }),
                None,
            )
            .unwrap();
            Request::new(
                EntityUid::from_str(r#"User::"alice""#).unwrap(),
                EntityUid::from_str(r#"Action::"call""#).unwrap(),
                EntityUid::from_str(&format!("Resource::\"{resource}\"")).unwrap(),
                context,
                None,
            )
            .unwrap()
        }

        pub fn allowed(&self, r: &Request) -> bool {
            [&self.scp, &self.identity, &self.boundary]
                .into_iter()
                .all(|set| {
                    self.authorizer
                        .is_authorized(r, set, &self.entities)
                        .decision()
                        == Decision::Allow
                })
        }
    }
}

fn bench(c: &mut Criterion) {
    let w = workload();
    let set = PolicySet {
        service_control: vec![vec![&w.scp]],
        identity: w.policies.iter().collect(),
        boundary: Some(&w.boundary),
        ..PolicySet::default()
    };
    let statements: usize = w.policies.iter().map(|p| p.statement_count()).sum();
    assert!((55..=65).contains(&statements), "{statements} statements");
    // Allowed through a variable-bearing wildcard statement; denied by nothing matching.
    let allowed = request(
        "dynamodb:GetItem",
        "arn:aws:dynamodb:us-east-1:111122223333:home/alice/t1",
    );
    let denied = request("iam:CreateUser", "arn:aws:iam::111122223333:user/mallory");
    assert_eq!(evaluate(&allowed, &set).kind, DecisionKind::Allow);
    assert_eq!(evaluate(&denied, &set).kind, DecisionKind::ImplicitDeny);

    let mut g = c.benchmark_group("realistic_principal");
    g.throughput(Throughput::Elements(1));
    g.bench_function("evaluate_allowed", |b| {
        b.iter(|| evaluate(black_box(&allowed), black_box(&set)).kind)
    });
    let cedar = cedar::Cedar::new();
    let (cedar_allowed, cedar_denied) = (
        cedar.request("dynamodb:GetItem", "allowed"),
        cedar.request("iam:CreateUser", "denied"),
    );
    assert!(cedar.allowed(&cedar_allowed));
    assert!(!cedar.allowed(&cedar_denied));
    g.bench_function("cedar_allowed", |b| {
        b.iter(|| cedar.allowed(black_box(&cedar_allowed)))
    });
    g.bench_function("cedar_implicit_deny", |b| {
        b.iter(|| cedar.allowed(black_box(&cedar_denied)))
    });
    g.bench_function("evaluate_implicit_deny", |b| {
        b.iter(|| evaluate(black_box(&denied), black_box(&set)).kind)
    });
    g.finish();

    let managed: Vec<&String> = w.docs.iter().take(10).collect();
    let mut g = c.benchmark_group("compile");
    g.bench_function("parse_10_managed_policies", |b| {
        b.iter(|| {
            managed
                .iter()
                .map(|d| Policy::parse(black_box(d), PolicyKind::Identity, "p").unwrap())
                .collect::<Vec<_>>()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

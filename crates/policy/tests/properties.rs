//! Property tests: the wildcard matcher against a reference implementation, parse → serialise →
//! parse round trips, and evaluation independent of statement and policy order.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use keyward_policy::{
    Context, Policy, PolicyKind, PolicySet, Principal, Request, arn_match, evaluate, wildcard_match,
};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Reference: the textbook dynamic programme over characters.
fn reference_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let mut dp = vec![vec![false; t.len() + 1]; p.len() + 1];
    dp[0][0] = true;
    for i in 1..=p.len() {
        if p[i - 1] == '*' {
            dp[i][0] = dp[i - 1][0];
        }
        for j in 1..=t.len() {
            dp[i][j] = match p[i - 1] {
                '*' => dp[i - 1][j] || dp[i][j - 1],
                '?' => dp[i - 1][j - 1],
                c => dp[i - 1][j - 1] && c == t[j - 1],
            };
        }
    }
    dp[p.len()][t.len()]
}

/// Reference for `Resource` matching, written from the IAM User Guide's sentences rather than
/// from the implementation: in an ARN pattern the first five colons separate partition, service,
/// region, account and resource; before the resource, `?` is one character other than a colon
/// and `*` any run without a colon, except a `*` that is "the last character of a resource ARN
/// segment", which "can expand to match beyond the colon boundaries"; in the resource part both
/// match anything. Then the same dynamic programme as [`reference_match`].
fn reference_resource_match(pattern: &str, text: &str) -> bool {
    #[derive(Clone, Copy)]
    enum C {
        Lit(char),
        One { colon: bool },
        Run { colon: bool },
    }
    if !pattern.starts_with("arn:") {
        return reference_match(pattern, text);
    }
    let chars: Vec<char> = pattern.chars().collect();
    let mut colons = 0;
    let mut p = Vec::new();
    for (i, &c) in chars.iter().enumerate() {
        let resource = colons >= 5;
        p.push(match c {
            ':' => {
                colons += 1;
                C::Lit(':')
            }
            '?' => C::One { colon: resource },
            '*' => C::Run {
                colon: resource || matches!(chars.get(i + 1), None | Some(':')),
            },
            c => C::Lit(c),
        });
    }
    let t: Vec<char> = text.chars().collect();
    let mut dp = vec![vec![false; t.len() + 1]; p.len() + 1];
    dp[0][0] = true;
    for i in 1..=p.len() {
        if let C::Run { .. } = p[i - 1] {
            dp[i][0] = dp[i - 1][0];
        }
        for j in 1..=t.len() {
            let ok_char = |colon: bool| colon || t[j - 1] != ':';
            dp[i][j] = match p[i - 1] {
                C::Run { colon } => dp[i - 1][j] || (dp[i][j - 1] && ok_char(colon)),
                C::One { colon } => dp[i - 1][j - 1] && ok_char(colon),
                C::Lit(c) => dp[i - 1][j - 1] && c == t[j - 1],
            };
        }
    }
    dp[p.len()][t.len()]
}

fn action() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "s3:GetObject",
        "s3:Get*",
        "s3:*",
        "iam:CreateUser",
        "iam:*User",
        "*",
        "ec2:Describe*",
        "iam:ListUsers",
    ])
}

fn resource() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "*",
        "arn:aws:s3:::b/*",
        "arn:aws:s3:::b/k",
        "arn:aws:iam::111122223333:user/${aws:username}",
        "arn:aws:iam::*:user/*",
        "arn:aws:s3:::other/*",
    ])
}

fn condition() -> impl Strategy<Value = Option<Value>> {
    prop::option::of(prop::sample::select(vec![
        json!({"Bool": {"aws:MultiFactorAuthPresent": "true"}}),
        json!({"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}),
        json!({"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]}}),
        json!({"StringLike": {"aws:username": "a*"}}),
        json!({"ForAnyValue:StringEquals": {"aws:TagKeys": ["team", "cost"]}}),
        json!({"ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}}),
        json!({"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}),
        json!({"NumericLessThan": {"aws:MultiFactorAuthAge": 3600}}),
        json!({"Null": {"aws:TokenIssueTime": "true"}}),
        json!({"StringNotEquals": {"aws:PrincipalTag/team": "${aws:username}"}}),
    ]))
}

fn statement() -> impl Strategy<Value = Value> {
    (
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(action(), 1..3),
        prop::collection::vec(resource(), 1..3),
        condition(),
        any::<bool>(),
    )
        .prop_map(|(deny, not_action, actions, resources, cond, list)| {
            let mut s = serde_json::Map::new();
            s.insert("Effect".into(), json!(if deny { "Deny" } else { "Allow" }));
            let a = if list {
                json!(actions)
            } else {
                json!(actions[0])
            };
            s.insert(
                if not_action && deny {
                    "NotAction"
                } else {
                    "Action"
                }
                .into(),
                a,
            );
            s.insert("Resource".into(), json!(resources));
            if let Some(c) = cond {
                s.insert("Condition".into(), c);
            }
            Value::Object(s)
        })
}

fn document() -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(statement(), 1..6),
        prop::sample::select(vec![Some("2012-10-17"), Some("2008-10-17"), None]),
    )
        .prop_map(|(sts, v)| match v {
            Some(v) => json!({"Version": v, "Statement": sts}),
            None => json!({"Statement": sts}),
        })
}

fn context() -> impl Strategy<Value = Context> {
    (
        any::<bool>(),
        any::<bool>(),
        prop::sample::select(vec!["alice", "bob"]),
        any::<bool>(),
    )
        .prop_map(|(mfa, ip, user, tags)| {
            let mut c = Context::new();
            c.insert("aws:username", user);
            if mfa {
                c.insert("aws:MultiFactorAuthPresent", "true");
                c.insert("aws:MultiFactorAuthAge", "60");
            }
            c.insert("aws:SourceIp", if ip { "10.1.2.3" } else { "192.0.2.1" });
            c.insert("aws:CurrentTime", "2026-01-01T00:00:00Z");
            if tags {
                c.set("aws:TagKeys", ["team", "cost"]);
            }
            c
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn wildcard_matches_reference(pattern in "[ab*?]{0,8}", text in "[ab]{0,10}") {
        prop_assert_eq!(wildcard_match(&pattern, &text), reference_match(&pattern, &text));
    }

    #[test]
    fn wildcard_matches_reference_unicode(pattern in "[aé*?]{0,6}", text in "[aéz]{0,8}") {
        prop_assert_eq!(wildcard_match(&pattern, &text), reference_match(&pattern, &text));
    }

    #[test]
    fn resource_match_matches_reference(pattern in "arn:[ab:*?]{0,10}", text in "arn:[ab:]{0,12}") {
        prop_assert_eq!(arn_match(&pattern, &text), reference_resource_match(&pattern, &text));
    }

    #[test]
    fn resource_match_matches_reference_arn_shaped(
        head in "[a*?]{0,3}:[ab*]{0,2}:[ab*?]{0,3}:[ab*?]{0,3}",
        resource in "[ab:*?/]{0,6}",
        text in "arn:[ab:/]{0,14}",
    ) {
        let pattern = format!("arn:{head}:{resource}");
        prop_assert_eq!(arn_match(&pattern, &text), reference_resource_match(&pattern, &text));
    }

    #[test]
    fn parse_serialize_parse(doc in document()) {
        let p = Policy::parse(&doc.to_string(), PolicyKind::Identity, "p").unwrap();
        let again = Policy::parse(&p.to_json(), PolicyKind::Identity, "p").unwrap();
        prop_assert_eq!(p.document(), again.document());
        prop_assert_eq!(p.to_json(), again.to_json());
    }

    /// A policy that says it reads no context decides the same under any context, an empty
    /// one included (what lets authorisation skip building it).
    #[test]
    fn a_policy_that_reads_no_context_ignores_it(
        doc in document(),
        ctx in context(),
        act in prop::sample::select(vec!["s3:GetObject", "iam:CreateUser", "ec2:DescribeVpcs"]),
        res in prop::sample::select(vec!["arn:aws:s3:::b/k", "arn:aws:iam::111122223333:user/alice"]),
    ) {
        let p = Policy::parse(&doc.to_string(), PolicyKind::Identity, "p").unwrap();
        let text = doc.to_string();
        let has_variable = text.contains("${") && text.contains("2012-10-17");
        prop_assert_eq!(p.reads_context(), text.contains("Condition") || has_variable);
        if !p.reads_context() {
            let principal = || Principal::user("arn:aws:iam::111122223333:user/alice");
            let set = PolicySet { identity: vec![&p], ..PolicySet::default() };
            let full = evaluate(&Request::new(principal(), act, res).with_context(ctx), &set);
            let empty = evaluate(&Request::new(principal(), act, res), &set);
            prop_assert_eq!(full.kind, empty.kind);
            prop_assert_eq!(full.matched.len(), empty.matched.len());
        }
    }

    #[test]
    fn evaluation_ignores_order(
        docs in prop::collection::vec(document(), 1..4),
        boundary in prop::option::of(document()),
        ctx in context(),
        act in prop::sample::select(vec!["s3:GetObject", "iam:CreateUser", "ec2:DescribeVpcs", "kms:Decrypt"]),
        res in prop::sample::select(vec!["arn:aws:s3:::b/k", "arn:aws:iam::111122223333:user/alice", "arn:aws:s3:::other/x"]),
        seed in any::<u64>(),
    ) {
        let request = Request::new(Principal::user("arn:aws:iam::111122223333:user/alice"), act, res).with_context(ctx);
        let parse = |d: &Value, k, id: String| Policy::parse(&d.to_string(), k, id).unwrap();
        let forward: Vec<Policy> = docs.iter().enumerate().map(|(i, d)| parse(d, PolicyKind::Identity, format!("p{i}"))).collect();
        // Reverse the policies and rotate every statement list.
        let mut backward: Vec<Policy> = docs.iter().enumerate().map(|(i, d)| {
            let mut d = d.clone();
            if let Some(list) = d["Statement"].as_array_mut() {
                let n = list.len();
                list.rotate_left((seed as usize) % n);
                list.reverse();
            }
            parse(&d, PolicyKind::Identity, format!("p{i}"))
        }).collect();
        backward.reverse();
        let b = boundary.map(|d| parse(&d, PolicyKind::Boundary, "b".into()));
        let s1 = PolicySet { identity: forward.iter().collect(), boundary: b.as_ref(), ..PolicySet::default() };
        let s2 = PolicySet { identity: backward.iter().collect(), boundary: b.as_ref(), ..PolicySet::default() };
        let (d1, d2) = (evaluate(&request, &s1), evaluate(&request, &s2));
        prop_assert_eq!(d1.kind, d2.kind);
        prop_assert_eq!(d1.policy_kind, d2.policy_kind);
        prop_assert_eq!(d1.matched.len(), d2.matched.len());
        let mut m1 = d1.missing_context_keys.clone();
        let mut m2 = d2.missing_context_keys.clone();
        m1.sort();
        m2.sort();
        prop_assert_eq!(m1, m2);
    }
}

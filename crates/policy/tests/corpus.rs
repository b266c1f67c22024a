//! The data-driven corpus: every `tests/corpus/*.json` file, run by one `check()` harness.
//!
//! A file holds named `policies` (`{"kind": ..., "doc": ...}`), an optional default `principal`,
//! `cases` (policies + request + context → decision, deciding type, matched statements, missing
//! keys, AccessDenied message) and `errors` (document → IAM's MalformedPolicyDocument message).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;

use keyward_policy::{
    Context, DecisionKind, Policy, PolicyKind, PolicySet, Principal, Request, evaluate,
};
use serde_json::Value;

fn kind(name: &str) -> PolicyKind {
    match name {
        "Identity" => PolicyKind::Identity,
        "Resource" => PolicyKind::Resource,
        "Trust" => PolicyKind::Trust,
        "ServiceControl" => PolicyKind::ServiceControl,
        "Boundary" => PolicyKind::Boundary,
        "Session" => PolicyKind::Session,
        other => panic!("unknown policy kind {other}"),
    }
}

fn principal(v: &Value) -> Principal {
    let s = |k: &str| v[k].as_str().unwrap_or_default();
    match s("type") {
        "root" => Principal::root(s("account")),
        "user" => Principal::user(s("arn")),
        "assumed-role" => Principal::assumed_role(s("arn"), s("role")),
        "federated-user" => Principal::federated_user(s("arn"), s("user")),
        "service" => Principal::service(s("name")),
        "web-identity" => Principal::web_identity(s("provider")),
        "anonymous" => Principal::anonymous(),
        other => panic!("unknown principal type {other}"),
    }
}

fn doc_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

struct File {
    named: BTreeMap<String, Policy>,
}

impl File {
    /// A reference is a policy name from the file's `policies`, or an inline document.
    fn policy(&self, v: &Value, default_kind: PolicyKind, id: String) -> Policy {
        match v {
            Value::String(name) => self
                .named
                .get(name)
                .cloned()
                .unwrap_or_else(|| panic!("no policy named {name}")),
            doc => Policy::parse(&doc_text(doc), default_kind, id)
                .unwrap_or_else(|e| panic!("inline policy does not parse: {e}")),
        }
    }
}

fn list(v: &Value) -> Vec<Value> {
    match v {
        Value::Null => Vec::new(),
        Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    }
}

fn check_case(file: &File, default_principal: &Value, case: &Value) -> Result<(), String> {
    let p = &case["policies"];
    let identity: Vec<Policy> = list(&p["identity"])
        .iter()
        .enumerate()
        .map(|(i, v)| file.policy(v, PolicyKind::Identity, format!("identity{i}")))
        .collect();
    let session: Vec<Policy> = list(&p["session"])
        .iter()
        .enumerate()
        .map(|(i, v)| file.policy(v, PolicyKind::Session, format!("session{i}")))
        .collect();
    let scp: Vec<Vec<Policy>> = list(&p["scp"])
        .iter()
        .enumerate()
        .map(|(l, level)| {
            list(level)
                .iter()
                .enumerate()
                .map(|(i, v)| file.policy(v, PolicyKind::ServiceControl, format!("scp{l}.{i}")))
                .collect()
        })
        .collect();
    let boundary = (!p["boundary"].is_null())
        .then(|| file.policy(&p["boundary"], PolicyKind::Boundary, "boundary".into()));
    let resource_kind = p["resource_kind"]
        .as_str()
        .map_or(PolicyKind::Resource, kind);
    let resource = (!p["resource"].is_null())
        .then(|| file.policy(&p["resource"], resource_kind, "resource".into()));
    let set = PolicySet {
        service_control: scp.iter().map(|l| l.iter().collect()).collect(),
        identity: identity.iter().collect(),
        boundary: boundary.as_ref(),
        session: session.iter().collect(),
        resource: resource.as_ref(),
        resource_account: p["resource_account"].as_str(),
    };
    let who = if case["principal"].is_null() {
        default_principal
    } else {
        &case["principal"]
    };
    let mut ctx = Context::new();
    if let Some(map) = case["context"].as_object() {
        for (k, v) in map {
            match v {
                Value::Array(vals) => {
                    ctx.set(k, vals.iter().map(doc_text));
                }
                other => {
                    ctx.insert(k, doc_text(other));
                }
            }
        }
    }
    let request = Request::new(
        principal(who),
        case["action"].as_str().ok_or("no action")?,
        case["resource"].as_str().unwrap_or("*"),
    )
    .with_context(ctx);
    let d = evaluate(&request, &set);
    let expect = &case["expect"];
    let want = match expect["decision"].as_str().ok_or("no expect.decision")? {
        "Allow" => DecisionKind::Allow,
        "ExplicitDeny" => DecisionKind::ExplicitDeny,
        "ImplicitDeny" => DecisionKind::ImplicitDeny,
        other => return Err(format!("bad decision {other}")),
    };
    if d.kind != want {
        return Err(format!("decision {:?}, expected {want:?} ({d:?})", d.kind));
    }
    if let Some(by) = expect["by"].as_str()
        && d.policy_kind != Some(kind(by))
    {
        return Err(format!("decided by {:?}, expected {by}", d.policy_kind));
    }
    if let Some(m) = expect["matched"].as_array() {
        let got: Vec<String> = d
            .matched
            .iter()
            .map(|m| format!("{}#{}", m.policy_id, m.index))
            .collect();
        let want: Vec<String> = m.iter().map(doc_text).collect();
        let (mut g, mut w) = (got.clone(), want.clone());
        g.sort();
        w.sort();
        if g != w {
            return Err(format!("matched {got:?}, expected {want:?}"));
        }
    }
    if let Some(m) = expect["missing"].as_array() {
        let want: Vec<String> = m.iter().map(|v| doc_text(v).to_ascii_lowercase()).collect();
        let got: Vec<String> = d
            .missing_context_keys
            .iter()
            .map(|s| s.to_string())
            .collect();
        if got != want {
            return Err(format!("missing keys {got:?}, expected {want:?}"));
        }
    }
    if let Some(msg) = expect["message"].as_str() {
        let got = d.access_denied_message(&request).unwrap_or_default();
        if got != msg {
            return Err(format!("message\n  got:      {got}\n  expected: {msg}"));
        }
    }
    Ok(())
}

fn run_file(path: &Path, failures: &mut Vec<String>) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    let root: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut named = BTreeMap::new();
    if let Some(map) = root["policies"].as_object() {
        for (name, v) in map {
            let k = kind(v["kind"].as_str().unwrap_or("Identity"));
            let p = Policy::parse(&doc_text(&v["doc"]), k, name.clone())
                .unwrap_or_else(|e| panic!("{}: policy {name}: {e}", path.display()));
            named.insert(name.clone(), p);
        }
    }
    let file = File { named };
    let default_principal = root["principal"].clone();
    let mut n = 0;
    for case in root["cases"].as_array().into_iter().flatten() {
        n += 1;
        if let Err(e) = check_case(&file, &default_principal, case) {
            failures.push(format!("{} / {}: {e}", path.display(), case["name"]));
        }
    }
    for case in root["errors"].as_array().into_iter().flatten() {
        n += 1;
        let k = kind(case["kind"].as_str().unwrap_or("Identity"));
        let got = match Policy::parse(&doc_text(&case["policy"]), k, "p") {
            Ok(_) => "(accepted)".to_string(),
            Err(e) => e.to_string(),
        };
        let want = case["error"].as_str().unwrap_or("(accepted)");
        if got != want {
            failures.push(format!(
                "{} / {}: error {got:?}, expected {want:?}",
                path.display(),
                case["name"]
            ));
        }
    }
    n
}

/// Every `.json` file of the corpus directory.
pub fn corpus_files() -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

#[test]
fn corpus() {
    let mut failures = Vec::new();
    let mut total = 0;
    for f in corpus_files() {
        total += run_file(&f, &mut failures);
    }
    eprintln!("corpus: {total} cases, {} failures", failures.len());
    assert!(
        failures.is_empty(),
        "{} of {total} corpus cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(total > 0);
}

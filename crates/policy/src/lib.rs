//! The IAM policy language: parse and validate documents as IAM does, compile them once, and
//! evaluate requests with AWS's policy evaluation logic, explaining every decision.
//!
//! Pure: no I/O, no clock, no globals. Time and everything else about the request arrive in the
//! [`Context`]. See the crate's README for the API in ten lines.

mod condition;
mod context;
mod error;
mod eval;
mod pattern;
mod policy;
mod request;
pub mod wire;
#[doc(hidden)]
pub mod workload;

pub use context::Context;
pub use error::PolicyError;
pub use eval::{Decision, DecisionKind, MatchedStatement, PolicySet, evaluate};
pub use policy::{Effect, ParseOptions, Policy, PolicyKind, Version};
pub use request::{Principal, PrincipalKind, Request};

/// Wildcard matching as IAM does it for `StringLike` (`*` any run, `?` one character),
/// exposed for property tests and tools.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    pattern::glob(&pattern::tokens(pattern), text, false)
}

/// Resource-ARN matching as a statement's `Resource` does it: wildcards confined to their ARN
/// segment, except a `*` that ends a segment, which may also match colons; the resource part is
/// one segment.
pub fn arn_match(pattern: &str, arn: &str) -> bool {
    pattern::resource_glob(&pattern::tokens(pattern), arn)
}

/// The fuzz entry point (shared by `fuzz/fuzz_targets/parse.rs` and the `fuzz_parse` test):
/// parses arbitrary bytes as every policy kind; whatever parses must serialise, re-parse to the
/// same document, and evaluate without panicking.
#[doc(hidden)]
pub fn fuzz_parse(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let kinds = [
        PolicyKind::Identity,
        PolicyKind::Resource,
        PolicyKind::Trust,
        PolicyKind::ServiceControl,
        PolicyKind::Boundary,
        PolicyKind::Session,
    ];
    for kind in kinds {
        let Ok(policy) = Policy::parse(text, kind, "fuzz") else {
            continue;
        };
        let again = Policy::parse(&policy.to_json(), kind, "fuzz");
        assert!(
            again
                .as_ref()
                .is_ok_and(|p| p.document() == policy.document()),
            "round trip changed the document: {again:?}"
        );
        let request = Request::new(
            Principal::user("arn:aws:iam::111122223333:user/fuzz"),
            "iam:CreateAccessKey",
            "arn:aws:iam::111122223333:user/fuzz",
        )
        .with_context(
            Context::new()
                .with("aws:username", "fuzz")
                .with("aws:SourceIp", "10.0.0.1"),
        );
        let mut set = PolicySet::default();
        match kind {
            PolicyKind::Resource | PolicyKind::Trust => set.resource = Some(&policy),
            PolicyKind::ServiceControl => set.service_control = vec![vec![&policy]],
            PolicyKind::Boundary => set.boundary = Some(&policy),
            PolicyKind::Session => set.session = vec![&policy],
            PolicyKind::Identity => set.identity = vec![&policy],
        }
        let decision = evaluate(&request, &set);
        let _ = decision.access_denied_message(&request);
    }
}

//! Prometheus metrics: a small registry of counters and histograms rendered as the text format
//! 0.0.4 at `GET /metrics`. Counters are atomics or short-locked maps with bounded label sets;
//! nothing here touches the store or blocks a request for longer than a map update.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use keyward_core::signin::SignInResult;

/// Histogram bucket upper bounds, in seconds.
pub const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0,
];

/// Distinct `(service, action, result)` series kept before new actions count as `other` (the
/// action name comes from the client).
const MAX_REQUEST_SERIES: usize = 2048;

/// Why a request was not authenticated, as the `reason` label of `keyward_auth_failures_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailureReason {
    InvalidClientTokenId,
    SignatureMismatch,
    SignatureExpired,
    ExpiredToken,
    InactiveKey,
    MissingAuthenticationToken,
    IncompleteSignature,
}

impl AuthFailureReason {
    pub const ALL: [AuthFailureReason; 7] = [
        AuthFailureReason::InvalidClientTokenId,
        AuthFailureReason::SignatureMismatch,
        AuthFailureReason::SignatureExpired,
        AuthFailureReason::ExpiredToken,
        AuthFailureReason::InactiveKey,
        AuthFailureReason::MissingAuthenticationToken,
        AuthFailureReason::IncompleteSignature,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuthFailureReason::InvalidClientTokenId => "invalid_client_token_id",
            AuthFailureReason::SignatureMismatch => "signature_mismatch",
            AuthFailureReason::SignatureExpired => "signature_expired",
            AuthFailureReason::ExpiredToken => "expired_token",
            AuthFailureReason::InactiveKey => "inactive_key",
            AuthFailureReason::MissingAuthenticationToken => "missing_authentication_token",
            AuthFailureReason::IncompleteSignature => "incomplete_signature",
        }
    }

    /// The reason behind an authentication error (`None` for any other error). `inactive` is
    /// the store's hint that the key exists but is inactive.
    pub fn classify(code: &str, message: &str, inactive: bool) -> Option<Self> {
        Some(match code {
            "InvalidClientTokenId" if inactive => AuthFailureReason::InactiveKey,
            "InvalidClientTokenId" => AuthFailureReason::InvalidClientTokenId,
            "SignatureDoesNotMatch" if message.starts_with("Signature expired") => {
                AuthFailureReason::SignatureExpired
            }
            "SignatureDoesNotMatch" => AuthFailureReason::SignatureMismatch,
            "ExpiredToken" => AuthFailureReason::ExpiredToken,
            "MissingAuthenticationToken" => AuthFailureReason::MissingAuthenticationToken,
            // SigV4's X-Amz-Expires refusals (S3's code for malformed query authentication).
            "IncompleteSignature" | "AuthorizationQueryParametersError" => {
                AuthFailureReason::IncompleteSignature
            }
            _ => return None,
        })
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Which wait ran out when the server closed a connection, as the `phase` label of
/// `keyward_connection_timeouts_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutPhase {
    /// A request's line and headers did not arrive within `--header-read-timeout-secs`.
    Header,
    /// A request's body did not arrive within `--body-read-timeout-secs`.
    Body,
    /// A kept-alive connection sent no new request within `--idle-timeout-secs`.
    Idle,
}

impl TimeoutPhase {
    pub const ALL: [TimeoutPhase; 3] =
        [TimeoutPhase::Header, TimeoutPhase::Body, TimeoutPhase::Idle];

    pub fn as_str(self) -> &'static str {
        match self {
            TimeoutPhase::Header => "header",
            TimeoutPhase::Body => "body",
            TimeoutPhase::Idle => "idle",
        }
    }
}

/// A cumulative histogram with [`BUCKETS`].
#[derive(Debug, Default)]
struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    /// Sum in nanoseconds.
    sum_nanos: AtomicU64,
}

impl Histogram {
    fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0u64;
        for (i, bound) in BUCKETS.iter().enumerate() {
            cumulative += self.buckets[i].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {cumulative}"
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {count}");
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {sum}");
        let _ = writeln!(out, "{name}_count{braces} {count}");
    }
}

/// The services a request can be for (the label set of the latency histogram).
const SERVICES: [&str; 3] = ["iam", "sts", "cloudtrail"];

/// Every metric keyward exports.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, String), u64>>,
    auth_failures: [AtomicU64; AuthFailureReason::ALL.len()],
    mfa: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    decisions: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    signins: Mutex<BTreeMap<&'static str, u64>>,
    request_duration: [Histogram; SERVICES.len()],
    store_duration: Histogram,
    audit_trimmed: AtomicU64,
    connections_open: AtomicU64,
    connections_refused: AtomicU64,
    connection_timeouts: [AtomicU64; TimeoutPhase::ALL.len()],
}

/// Whether a label value is safe to export as is (AWS action names are).
fn plain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one request: `result` is `OK` or the error code.
    pub fn request(&self, service: &str, action: &str, result: &str) {
        let Ok(mut map) = self.requests.lock() else {
            return;
        };
        let action = if action.is_empty() {
            "none"
        } else if plain(action) {
            action
        } else {
            "other"
        };
        let mut key = (service.to_owned(), action.to_owned(), result.to_owned());
        if !map.contains_key(&key) && map.len() >= MAX_REQUEST_SERIES {
            key.1 = "other".to_owned();
        }
        *map.entry(key).or_insert(0) += 1;
    }

    pub fn auth_failure(&self, reason: AuthFailureReason) {
        self.auth_failures[reason.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one verified MFA code: `result` `success` or `failure`, `reason` an
    /// `MfaFailureReason` name (`none` for a success).
    pub fn mfa_verification(&self, result: &'static str, reason: &'static str) {
        if let Ok(mut map) = self.mfa.lock() {
            *map.entry((result, reason)).or_insert(0) += 1;
        }
    }

    /// Counts one authorisation decision by effect and the policy type that decided it (the same
    /// decision the refusal and the audit record read).
    pub fn authz_decision(&self, decision: &keyward_core::authz::Decision) {
        let policy_type = decision.policy_type();
        if let Ok(mut map) = self.decisions.lock() {
            *map.entry((decision.effect(), policy_type)).or_insert(0) += 1;
        }
    }

    /// Counts one console sign-in attempt (the console calls this with `signin::sign_in`'s answer).
    pub fn console_sign_in(&self, result: &SignInResult) {
        let label = match result {
            SignInResult::Success { .. } => "success",
            SignInResult::MfaRequired { .. } => "mfa_required",
            SignInResult::PasswordChangeRequired { .. } => "password_change_required",
            SignInResult::Failed => "failed",
        };
        if let Ok(mut map) = self.signins.lock() {
            *map.entry(label).or_insert(0) += 1;
        }
    }

    pub fn request_duration(&self, service: &str, d: Duration) {
        if let Some(i) = SERVICES.iter().position(|s| *s == service) {
            self.request_duration[i].observe(d);
        }
    }

    /// Time spent committing a store transaction.
    pub fn store_duration(&self, d: Duration) {
        self.store_duration.observe(d);
    }

    /// Counts audit records deleted to keep the trail within `--audit-max-bytes`.
    pub fn audit_trimmed(&self, deleted: u64) {
        self.audit_trimmed.fetch_add(deleted, Ordering::Relaxed);
    }

    /// A connection was accepted and is being served.
    pub fn connection_opened(&self) {
        self.connections_open.fetch_add(1, Ordering::Relaxed);
    }

    /// A served connection was closed (by either side).
    pub fn connection_closed(&self) {
        self.connections_open.fetch_sub(1, Ordering::Relaxed);
    }

    /// A connection was closed at once because `--max-connections` were open.
    pub fn connection_refused(&self) {
        self.connections_refused.fetch_add(1, Ordering::Relaxed);
    }

    pub fn connection_timed_out(&self, phase: TimeoutPhase) {
        self.connection_timeouts[phase as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition (format 0.0.4); `alarm_states` are `(account, firing)`.
    pub fn render(&self, alarm_states: &[(String, bool)]) -> String {
        let mut out = String::with_capacity(8192);
        out.push_str("# HELP keyward_requests_total Requests by service, action and result (OK or the error code).\n# TYPE keyward_requests_total counter\n");
        if let Ok(map) = self.requests.lock() {
            for ((service, action, result), n) in map.iter() {
                let _ = writeln!(
                    out,
                    "keyward_requests_total{{service=\"{service}\",action=\"{action}\",result=\"{}\"}} {n}",
                    escape(result)
                );
            }
        }
        out.push_str("# HELP keyward_auth_failures_total Requests refused by authentication, by reason.\n# TYPE keyward_auth_failures_total counter\n");
        for reason in AuthFailureReason::ALL {
            let n = self.auth_failures[reason.index()].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "keyward_auth_failures_total{{reason=\"{}\"}} {n}",
                reason.as_str()
            );
        }
        out.push_str("# HELP keyward_mfa_verifications_total MFA codes verified, by result and failure reason.\n# TYPE keyward_mfa_verifications_total counter\n");
        if let Ok(map) = self.mfa.lock() {
            for ((result, reason), n) in map.iter() {
                let _ = writeln!(
                    out,
                    "keyward_mfa_verifications_total{{result=\"{result}\",reason=\"{reason}\"}} {n}"
                );
            }
        }
        out.push_str("# HELP keyward_authz_decisions_total Authorisation decisions, by effect and the policy type that decided.\n# TYPE keyward_authz_decisions_total counter\n");
        if let Ok(map) = self.decisions.lock() {
            for ((effect, policy_type), n) in map.iter() {
                let _ = writeln!(
                    out,
                    "keyward_authz_decisions_total{{effect=\"{effect}\",policy_type=\"{policy_type}\"}} {n}"
                );
            }
        }
        out.push_str("# HELP keyward_console_signins_total Console sign-in attempts, by result.\n# TYPE keyward_console_signins_total counter\n");
        if let Ok(map) = self.signins.lock() {
            for (result, n) in map.iter() {
                let _ = writeln!(
                    out,
                    "keyward_console_signins_total{{result=\"{result}\"}} {n}"
                );
            }
        }
        out.push_str("# HELP keyward_request_duration_seconds Time from a request's arrival to its response, by service.\n# TYPE keyward_request_duration_seconds histogram\n");
        for (i, service) in SERVICES.iter().enumerate() {
            self.request_duration[i].render(
                &mut out,
                "keyward_request_duration_seconds",
                &format!("service=\"{service}\""),
            );
        }
        out.push_str("# HELP keyward_store_duration_seconds Time spent committing store transactions on the request path.\n# TYPE keyward_store_duration_seconds histogram\n");
        self.store_duration
            .render(&mut out, "keyward_store_duration_seconds", "");
        single(
            &mut out,
            "keyward_audit_records_trimmed_total",
            "counter",
            "Audit records deleted, oldest first, to keep the trail within --audit-max-bytes.",
            self.audit_trimmed.load(Ordering::Relaxed),
        );
        single(
            &mut out,
            "keyward_connections_open",
            "gauge",
            "Connections being served.",
            self.connections_open.load(Ordering::Relaxed),
        );
        single(
            &mut out,
            "keyward_connections_refused_total",
            "counter",
            "Connections closed at once because the connection limit was reached.",
            self.connections_refused.load(Ordering::Relaxed),
        );
        out.push_str("# HELP keyward_connection_timeouts_total Connections closed because a read timeout ran out, by phase.\n# TYPE keyward_connection_timeouts_total counter\n");
        for phase in TimeoutPhase::ALL {
            let _ = writeln!(
                out,
                "keyward_connection_timeouts_total{{phase=\"{}\"}} {}",
                phase.as_str(),
                self.connection_timeouts[phase as usize].load(Ordering::Relaxed)
            );
        }
        out.push_str("# HELP keyward_alarm_state Alarm state per account (1 = ALARM, 0 = OK).\n# TYPE keyward_alarm_state gauge\n");
        for (account, firing) in alarm_states {
            let _ = writeln!(
                out,
                "keyward_alarm_state{{alarm=\"IAMMFAFailure\",account=\"{}\"}} {}",
                escape(account),
                u8::from(*firing)
            );
        }
        out
    }
}

/// A metric with one value and no labels, with its HELP and TYPE lines.
fn single(out: &mut String, name: &str, kind: &str, help: &str, value: u64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
    );
}

/// Escapes a label value (backslash, quote, newline).
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let m = Metrics::new();
        m.request("iam", "ListUsers", "OK");
        m.request("iam", "ListUsers", "OK");
        m.request("iam", "bad action\"", "InvalidAction");
        m.auth_failure(AuthFailureReason::SignatureMismatch);
        m.request_duration("iam", Duration::from_micros(700));
        m.console_sign_in(&SignInResult::Failed);
        m.connection_opened();
        m.connection_opened();
        m.connection_closed();
        m.connection_refused();
        m.connection_timed_out(TimeoutPhase::Idle);
        let text = m.render(&[("123456789012".to_owned(), true)]);
        assert!(text.contains(
            "keyward_requests_total{service=\"iam\",action=\"ListUsers\",result=\"OK\"} 2"
        ));
        assert!(text.contains("action=\"other\",result=\"InvalidAction\"} 1"));
        assert!(text.contains("keyward_auth_failures_total{reason=\"signature_mismatch\"} 1"));
        assert!(text.contains("keyward_auth_failures_total{reason=\"inactive_key\"} 0"));
        assert!(
            text.contains(
                "keyward_request_duration_seconds_bucket{service=\"iam\",le=\"0.0005\"} 0"
            )
        );
        assert!(
            text.contains(
                "keyward_request_duration_seconds_bucket{service=\"iam\",le=\"0.001\"} 1"
            )
        );
        assert!(text.contains("keyward_request_duration_seconds_count{service=\"iam\"} 1"));
        assert!(text.contains("keyward_console_signins_total{result=\"failed\"} 1"));
        assert!(text.contains("keyward_connections_open 1\n"));
        assert!(text.contains("keyward_connections_refused_total 1\n"));
        assert!(text.contains("keyward_connection_timeouts_total{phase=\"idle\"} 1\n"));
        assert!(text.contains("keyward_connection_timeouts_total{phase=\"header\"} 0\n"));
        assert!(
            text.contains(
                "keyward_alarm_state{alarm=\"IAMMFAFailure\",account=\"123456789012\"} 1"
            )
        );
    }

    #[test]
    fn classifies_auth_errors() {
        use AuthFailureReason as R;
        assert_eq!(
            R::classify("SignatureDoesNotMatch", "Signature expired: x", false),
            Some(R::SignatureExpired)
        );
        assert_eq!(
            R::classify("InvalidClientTokenId", "", true),
            Some(R::InactiveKey)
        );
        assert_eq!(
            R::classify("AuthorizationQueryParametersError", "X-Amz-Expires", false),
            Some(R::IncompleteSignature)
        );
        assert_eq!(R::classify("AccessDenied", "", false), None);
    }
}

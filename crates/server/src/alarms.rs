//! Alarms and alerts, CloudWatch-alarm-like, kept in memory:
//!
//! - `IAMMFAFailure`, per account: `ALARM` when refused MFA codes within the window reach the
//!   threshold (the account's own, if configured, else the default), back to `OK` when they fall
//!   below it; the transition names the users.
//! - `InactiveKeyUse`: a request signed with an inactive key, a key of a deleted user, or a
//!   well-formed `AKIA...` key the store does not know (deleted); at most once per key per window.
//! - `RepeatedSignInFailures`: a user's failed console sign-ins within the window reach the
//!   threshold (the console reports attempts through [`Alarms::console_sign_in`]).
//! - `AuditTrailCapReached`: records were deleted, oldest first, to keep the audit trail within
//!   `--audit-max-bytes`; at most once per window.
//!
//! Every transition and alert joins a bounded history (`GET /alarms`) and, with a webhook, a
//! bounded outbox that a background task POSTs as JSON with retries and exponential backoff.
//! Requests never wait for delivery: when the outbox is full the oldest notification is dropped
//! with a warning. Undelivered notifications are lost at shutdown.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, Weak};

use keyward_core::clock::Clock;
use keyward_core::signin::SignInResult;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Notify;

pub const MFA_ALARM: &str = "IAMMFAFailure";
pub const INACTIVE_KEY_ALERT: &str = "InactiveKeyUse";
pub const SIGNIN_ALERT: &str = "RepeatedSignInFailures";
pub const AUDIT_CAP_ALERT: &str = "AuditTrailCapReached";

/// Transitions and alerts kept for `GET /alarms`.
pub const HISTORY: usize = 256;
/// Notifications waiting for the webhook before the oldest is dropped.
pub const OUTBOX: usize = 256;
/// Delivery attempts per notification (backoff 250 ms, doubling).
pub const ATTEMPTS: u32 = 5;
/// Failures remembered per account (beyond this the oldest are forgotten).
const MAX_FAILURES: usize = 10_000;
/// Keys and users tracked for alerts before the tables start over.
const MAX_TRACKED: usize = 10_000;

#[derive(Debug, Clone)]
pub struct AlarmConfig {
    /// Refused MFA codes within `window` (per account) that put `IAMMFAFailure` in `ALARM`.
    /// Also the threshold and window of the alerts.
    pub threshold: usize,
    pub window: time::Duration,
    /// `IAMMFAFailure`'s threshold and window for particular accounts (`--mfa-alarm-account`);
    /// every other account has `threshold` and `window`.
    pub accounts: HashMap<String, MfaRule>,
    /// `http://host:port/path` to POST every transition and alert to.
    pub webhook: Option<String>,
}

impl Default for AlarmConfig {
    fn default() -> Self {
        AlarmConfig {
            threshold: 5,
            window: time::Duration::minutes(5),
            accounts: HashMap::new(),
            webhook: None,
        }
    }
}

impl AlarmConfig {
    /// The `IAMMFAFailure` rule of `account`.
    pub fn mfa_rule(&self, account: &str) -> MfaRule {
        self.accounts.get(account).copied().unwrap_or(MfaRule {
            threshold: self.threshold,
            window: self.window,
        })
    }
}

/// One account's `IAMMFAFailure` threshold and window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MfaRule {
    pub threshold: usize,
    pub window: time::Duration,
}

/// Parses `--mfa-alarm-account`'s `ACCOUNT_ID=THRESHOLD[/WINDOW_SECS]`; a missing window is
/// `default_window`.
pub fn parse_account_rule(
    text: &str,
    default_window: time::Duration,
) -> Result<(String, MfaRule), String> {
    let usage = "expected ACCOUNT_ID=THRESHOLD[/WINDOW_SECS], e.g. 123456789012=2/60";
    let (account, rule) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?}: {usage}"))?;
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "{text:?}: the account ID must be 12 digits, not {account:?}"
        ));
    }
    let (threshold, window) = match rule.split_once('/') {
        Some((t, w)) => (t, Some(w)),
        None => (rule, None),
    };
    let threshold = threshold
        .parse::<usize>()
        .ok()
        .filter(|t| *t >= 1)
        .ok_or_else(|| {
            format!(
                "{text:?}: the threshold must be a whole number of at least 1, not {threshold:?}"
            )
        })?;
    let window = match window {
        None => default_window,
        Some(w) => w
            .parse::<i64>()
            .ok()
            .filter(|w| *w >= 1)
            .map(time::Duration::seconds)
            .ok_or_else(|| {
                format!(
                    "{text:?}: the window must be a whole number of seconds, at least 1, not {w:?}"
                )
            })?,
    };
    Ok((account.to_owned(), MfaRule { threshold, window }))
}

#[derive(Debug, Default)]
struct AccountMfa {
    /// (time, user) of each refused code within the window, oldest first.
    failures: VecDeque<(OffsetDateTime, String)>,
    firing: bool,
}

#[derive(Debug, Default)]
struct Inner {
    mfa: BTreeMap<String, AccountMfa>,
    history: VecDeque<Value>,
    key_alerts: HashMap<String, OffsetDateTime>,
    sign_in_failures: HashMap<(String, String), VecDeque<OffsetDateTime>>,
    /// When the last `AuditTrailCapReached` alert went out, and what was deleted since.
    audit_cap: Option<(OffsetDateTime, u64)>,
}

#[derive(Debug, Default)]
struct Outbox {
    queue: Mutex<VecDeque<Value>>,
    ready: Notify,
}

pub struct Alarms {
    cfg: AlarmConfig,
    clock: Arc<dyn Clock>,
    inner: Mutex<Inner>,
    outbox: Option<Arc<Outbox>>,
}

impl std::fmt::Debug for Alarms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Alarms")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

impl Alarms {
    /// The alarms, with their background tasks (webhook delivery, and a re-evaluation every
    /// 5 seconds so an alarm returns to `OK` without new failures) on the current runtime.
    pub fn spawn(cfg: AlarmConfig, clock: Arc<dyn Clock>) -> Arc<Self> {
        let outbox = cfg.webhook.as_ref().map(|_| Arc::new(Outbox::default()));
        let alarms = Arc::new(Alarms {
            cfg,
            clock,
            inner: Mutex::default(),
            outbox,
        });
        if let (Some(url), Some(outbox)) = (alarms.cfg.webhook.clone(), alarms.outbox.clone()) {
            tokio::spawn(deliver(url, outbox));
        }
        let weak: Weak<Alarms> = Arc::downgrade(&alarms);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
            loop {
                tick.tick().await;
                match weak.upgrade() {
                    Some(a) => a.evaluate(),
                    None => break,
                }
            }
        });
        alarms
    }

    /// The alarms without background tasks or webhook (for tests and tools).
    pub fn new(cfg: AlarmConfig, clock: Arc<dyn Clock>) -> Self {
        Alarms {
            cfg: AlarmConfig {
                webhook: None,
                ..cfg
            },
            clock,
            inner: Mutex::default(),
            outbox: None,
        }
    }

    /// Shows `account` in `keyward_alarm_state` (as `OK`) before its first failure.
    pub fn watch_account(&self, account: &str) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.mfa.entry(account.to_owned()).or_default();
        }
    }

    fn emit(&self, inner: &mut Inner, notification: Value) {
        tracing::warn!(alarm = %notification, "alarm");
        if inner.history.len() >= HISTORY {
            inner.history.pop_front();
        }
        inner.history.push_back(notification.clone());
        if let Some(outbox) = &self.outbox {
            if let Ok(mut q) = outbox.queue.lock() {
                if q.len() >= OUTBOX {
                    q.pop_front();
                    tracing::warn!("alarm webhook outbox full: dropped the oldest notification");
                }
                q.push_back(notification);
            }
            outbox.ready.notify_one();
        }
    }

    fn mfa_transition(&self, account: &str, a: &AccountMfa, now: OffsetDateTime) -> Value {
        let mut users: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, user) in &a.failures {
            *users.entry(user.as_str()).or_insert(0) += 1;
        }
        let rule = self.cfg.mfa_rule(account);
        let window = rule.window.whole_seconds();
        let (new, old, reason) = if a.firing {
            (
                "ALARM",
                "OK",
                format!(
                    "Threshold Crossed: {} MFA failures in the last {window} seconds were greater than or equal to the threshold ({}).",
                    a.failures.len(),
                    rule.threshold
                ),
            )
        } else {
            (
                "OK",
                "ALARM",
                format!(
                    "Threshold Crossed: {} MFA failures in the last {window} seconds were less than the threshold ({}).",
                    a.failures.len(),
                    rule.threshold
                ),
            )
        };
        json!({
            "AlarmName": MFA_ALARM,
            "NewStateValue": new,
            "OldStateValue": old,
            "NewStateReason": reason,
            "StateChangeTime": rfc3339(now),
            "AccountId": account,
            "Users": users,
        })
    }

    /// Counts a refused MFA code of `user` in `account`.
    pub fn mfa_failure(&self, account: &str, user: &str) {
        let now = self.clock.now();
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        let rule = self.cfg.mfa_rule(account);
        let start = now - rule.window;
        let a = inner.mfa.entry(account.to_owned()).or_default();
        a.failures.push_back((now, user.to_owned()));
        while a
            .failures
            .front()
            .is_some_and(|(t, _)| *t <= start || a.failures.len() > MAX_FAILURES)
        {
            a.failures.pop_front();
        }
        if !a.firing && a.failures.len() >= rule.threshold {
            a.firing = true;
            let n = self.mfa_transition(account, a, now);
            self.emit(&mut inner, n);
        }
    }

    /// Forgets failures older than the window; an alarm whose count fell below the threshold
    /// returns to `OK`.
    pub fn evaluate(&self) {
        let now = self.clock.now();
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        let mut back_to_ok = Vec::new();
        for (account, a) in inner.mfa.iter_mut() {
            let rule = self.cfg.mfa_rule(account);
            let start = now - rule.window;
            while a.failures.front().is_some_and(|(t, _)| *t <= start) {
                a.failures.pop_front();
            }
            if a.firing && a.failures.len() < rule.threshold {
                a.firing = false;
                back_to_ok.push(self.mfa_transition(account, a, now));
            }
        }
        for n in back_to_ok {
            self.emit(&mut inner, n);
        }
    }

    /// `(account, in ALARM)` for every account seen.
    pub fn states(&self) -> Vec<(String, bool)> {
        self.evaluate();
        self.inner
            .lock()
            .map(|i| i.mfa.iter().map(|(k, a)| (k.clone(), a.firing)).collect())
            .unwrap_or_default()
    }

    /// The state of every alarm and the history of transitions and alerts, newest last.
    pub fn snapshot(&self) -> Value {
        self.evaluate();
        let Ok(inner) = self.inner.lock() else {
            return json!({});
        };
        let alarms: Vec<Value> = inner
            .mfa
            .iter()
            .map(|(account, a)| {
                let rule = self.cfg.mfa_rule(account);
                json!({
                    "AlarmName": MFA_ALARM,
                    "AccountId": account,
                    "StateValue": if a.firing { "ALARM" } else { "OK" },
                    "Failures": a.failures.len(),
                    "Threshold": rule.threshold,
                    "WindowSeconds": rule.window.whole_seconds(),
                })
            })
            .collect();
        json!({ "Alarms": alarms, "History": inner.history.iter().collect::<Vec<_>>() })
    }

    /// A long-term key was refused as `InvalidClientTokenId`; alerts if it exists but is
    /// inactive (or its user is gone), or is a well-formed `AKIA` key the store does not know.
    pub fn refused_key(&self, key_id: &str, hint: &keyward_core::auth::KeyHint) {
        use keyward_core::auth::KeyHint;
        let (account, user, why) = match hint {
            KeyHint::Inactive {
                account_id,
                user_id,
            } => (
                Some(account_id.as_str()),
                user_id.as_deref(),
                "inactive access key",
            ),
            KeyHint::UserGone { account_id } => (
                Some(account_id.as_str()),
                None,
                "access key of a deleted user",
            ),
            KeyHint::Unknown
                if key_id.len() == 20
                    && key_id.starts_with("AKIA")
                    && key_id
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) =>
            {
                (None, None, "unknown (deleted?) access key")
            }
            KeyHint::Unknown => return,
        };
        let now = self.clock.now();
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if inner
            .key_alerts
            .get(key_id)
            .is_some_and(|t| now - *t < self.cfg.window)
        {
            return;
        }
        if inner.key_alerts.len() >= MAX_TRACKED {
            inner.key_alerts.clear();
        }
        inner.key_alerts.insert(key_id.to_owned(), now);
        let n = json!({
            "AlarmName": INACTIVE_KEY_ALERT,
            "NewStateValue": "ALARM",
            "NewStateReason": format!("A request was signed with an {why} ({key_id})."),
            "StateChangeTime": rfc3339(now),
            "AccountId": account,
            "AccessKeyId": key_id,
            "UserId": user,
        });
        self.emit(&mut inner, n);
    }

    /// `deleted` audit records were removed to keep the trail within `max_bytes`: alerts at
    /// once, then at most once per window (with what was deleted meanwhile).
    pub fn audit_trimmed(&self, deleted: u64, max_bytes: u64) {
        if deleted == 0 {
            return;
        }
        let now = self.clock.now();
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        let (since, pending) = match inner.audit_cap {
            Some((at, pending)) if now - at < self.cfg.window => {
                inner.audit_cap = Some((at, pending + deleted));
                return;
            }
            Some((at, pending)) => (Some(at), pending + deleted),
            None => (None, deleted),
        };
        inner.audit_cap = Some((now, 0));
        let n = json!({
            "AlarmName": AUDIT_CAP_ALERT,
            "NewStateValue": "ALARM",
            "NewStateReason": format!(
                "{pending} audit records were deleted, oldest first, to keep the trail within \
                 {max_bytes} bytes (--audit-max-bytes)."
            ),
            "StateChangeTime": rfc3339(now),
            "Deleted": pending,
            "Since": since.map(rfc3339),
        });
        self.emit(&mut inner, n);
    }

    /// A console sign-in attempt's result: alerts when a user's failures within the window reach
    /// the threshold.
    pub fn console_sign_in(&self, account: &str, user_name: &str, result: &SignInResult) {
        if *result != SignInResult::Failed {
            return;
        }
        let now = self.clock.now();
        let start = now - self.cfg.window;
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if inner.sign_in_failures.len() >= MAX_TRACKED {
            inner.sign_in_failures.clear();
        }
        let q = inner
            .sign_in_failures
            .entry((account.to_owned(), user_name.to_owned()))
            .or_default();
        q.push_back(now);
        while q.front().is_some_and(|t| *t <= start) {
            q.pop_front();
        }
        if q.len() == self.cfg.threshold {
            let n = json!({
                "AlarmName": SIGNIN_ALERT,
                "NewStateValue": "ALARM",
                "NewStateReason": format!(
                    "{} failed console sign-ins in the last {} seconds.",
                    q.len(),
                    self.cfg.window.whole_seconds()
                ),
                "StateChangeTime": rfc3339(now),
                "AccountId": account,
                "Users": { user_name: q.len() },
            });
            self.emit(&mut inner, n);
        }
    }
}

/// Delivers queued notifications one at a time, forever.
async fn deliver(url: String, outbox: Arc<Outbox>) {
    loop {
        let next = outbox.queue.lock().ok().and_then(|mut q| q.pop_front());
        let Some(notification) = next else {
            outbox.ready.notified().await;
            continue;
        };
        let body = notification.to_string();
        let mut delay = std::time::Duration::from_millis(250);
        for attempt in 1..=ATTEMPTS {
            match post(&url, &body).await {
                Ok(()) => break,
                Err(e) if attempt == ATTEMPTS => {
                    tracing::error!(url = %url, error = %e, "alarm webhook: giving up after {ATTEMPTS} attempts");
                }
                Err(e) => {
                    tracing::warn!(url = %url, attempt, error = %e, "alarm webhook failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
            }
        }
    }
}

/// Splits `http://host[:port][/path]` into (host:port, path).
pub fn parse_http_url(url: &str) -> Result<(String, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("only http:// webhooks are supported: {url}"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() {
        return Err(format!("no host in {url}"));
    }
    let authority = if authority.rsplit_once(':').is_some_and(|(_, p)| {
        !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && !authority.ends_with(']')
    }) {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    Ok((authority, path.to_owned()))
}

/// One HTTP/1.1 POST of a JSON body; a 2xx status is success.
async fn post(url: &str, body: &str) -> Result<(), String> {
    let (authority, path) = parse_http_url(url)?;
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(&authority)
            .await
            .map_err(|e| e.to_string())?;
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nUser-Agent: keyward-alarms\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut head = [0u8; 64];
        let mut n = 0;
        while n < 12 {
            let read = stream
                .read(&mut head[n..])
                .await
                .map_err(|e| e.to_string())?;
            if read == 0 {
                break;
            }
            n += read;
        }
        let status = String::from_utf8_lossy(&head[..n]);
        match status.split_whitespace().nth(1) {
            Some(code) if code.starts_with('2') => Ok(()),
            Some(code) => Err(format!("HTTP {code}")),
            None => Err("no HTTP status".to_owned()),
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(5), exchange)
        .await
        .map_err(|_| "timed out".to_owned())?
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyward_core::auth::KeyHint;

    struct FixedClock(OffsetDateTime);

    impl Clock for FixedClock {
        fn now(&self) -> OffsetDateTime {
            self.0
        }
    }

    fn alarms(threshold: usize) -> Alarms {
        Alarms::new(
            AlarmConfig {
                threshold,
                ..AlarmConfig::default()
            },
            Arc::new(FixedClock(time::macros::datetime!(2026-01-01 0:00 UTC))),
        )
    }

    #[test]
    fn fires_at_the_threshold_with_users() {
        let a = alarms(3);
        a.mfa_failure("111111111111", "alice");
        a.mfa_failure("111111111111", "bob");
        assert_eq!(a.states(), vec![("111111111111".to_owned(), false)]);
        a.mfa_failure("111111111111", "alice");
        assert_eq!(a.states(), vec![("111111111111".to_owned(), true)]);
        let snap = a.snapshot();
        let h = &snap["History"][0];
        assert_eq!(h["AlarmName"], "IAMMFAFailure");
        assert_eq!(h["NewStateValue"], "ALARM");
        assert_eq!(h["Users"]["alice"], 2);
        assert_eq!(h["Users"]["bob"], 1);
        // Once firing, further failures add no transition.
        a.mfa_failure("111111111111", "alice");
        assert_eq!(a.snapshot()["History"].as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn an_accounts_own_threshold_applies_to_it_alone() {
        let a = Alarms::new(
            AlarmConfig {
                accounts: HashMap::from([(
                    "222222222222".to_owned(),
                    MfaRule {
                        threshold: 2,
                        window: time::Duration::seconds(60),
                    },
                )]),
                ..AlarmConfig::default()
            },
            Arc::new(FixedClock(time::macros::datetime!(2026-01-01 0:00 UTC))),
        );
        a.mfa_failure("222222222222", "alice");
        for _ in 0..4 {
            a.mfa_failure("111111111111", "bob");
        }
        assert_eq!(
            a.states(),
            vec![
                ("111111111111".to_owned(), false),
                ("222222222222".to_owned(), false)
            ]
        );
        a.mfa_failure("222222222222", "alice");
        assert_eq!(a.states()[1], ("222222222222".to_owned(), true));
        assert_eq!(a.states()[0], ("111111111111".to_owned(), false));
        a.mfa_failure("111111111111", "bob");
        assert_eq!(a.states()[0], ("111111111111".to_owned(), true));
        let snap = a.snapshot();
        assert_eq!(snap["Alarms"][0]["Threshold"], 5);
        assert_eq!(snap["Alarms"][0]["WindowSeconds"], 300);
        assert_eq!(snap["Alarms"][1]["Threshold"], 2);
        assert_eq!(snap["Alarms"][1]["WindowSeconds"], 60);
        let reason = snap["History"][0]["NewStateReason"].as_str().unwrap();
        assert!(
            reason.contains("2 MFA failures in the last 60 seconds") && reason.contains("(2)"),
            "{reason}"
        );
    }

    #[test]
    fn an_accounts_own_window_forgets_on_its_own_schedule() {
        let clock = Arc::new(keyward_core::clock::SystemClock::default());
        let a = Alarms::new(
            AlarmConfig {
                threshold: 2,
                accounts: HashMap::from([(
                    "222222222222".to_owned(),
                    MfaRule {
                        threshold: 2,
                        window: time::Duration::seconds(60),
                    },
                )]),
                ..AlarmConfig::default()
            },
            clock.clone(),
        );
        for account in ["111111111111", "222222222222"] {
            a.mfa_failure(account, "alice");
            a.mfa_failure(account, "alice");
        }
        clock.set_offset(61);
        assert_eq!(
            a.states(),
            vec![
                ("111111111111".to_owned(), true),
                ("222222222222".to_owned(), false)
            ]
        );
    }

    #[test]
    fn parses_account_rules() {
        let five = time::Duration::minutes(5);
        assert_eq!(
            parse_account_rule("123456789012=2", five),
            Ok((
                "123456789012".to_owned(),
                MfaRule {
                    threshold: 2,
                    window: five
                }
            ))
        );
        assert_eq!(
            parse_account_rule("123456789012=3/60", five),
            Ok((
                "123456789012".to_owned(),
                MfaRule {
                    threshold: 3,
                    window: time::Duration::seconds(60)
                }
            ))
        );
        for bad in [
            "123456789012",
            "12345678901=2",
            "12345678901a=2",
            "123456789012=0",
            "123456789012=x",
            "123456789012=2/0",
            "123456789012=2/",
            "123456789012=-1",
        ] {
            assert!(parse_account_rule(bad, five).is_err(), "{bad}");
        }
    }

    #[test]
    fn key_alerts_once_per_key() {
        let a = alarms(3);
        a.refused_key("AKIAIOSFODNN7EXAMPLE", &KeyHint::Unknown);
        a.refused_key("AKIAIOSFODNN7EXAMPLE", &KeyHint::Unknown);
        a.refused_key("garbage", &KeyHint::Unknown);
        let snap = a.snapshot();
        assert_eq!(snap["History"].as_array().map(Vec::len), Some(1));
        assert_eq!(snap["History"][0]["AlarmName"], "InactiveKeyUse");
    }

    #[test]
    fn returns_to_ok_when_failures_leave_the_window() {
        let clock = Arc::new(keyward_core::clock::SystemClock::default());
        let a = Alarms::new(
            AlarmConfig {
                threshold: 2,
                ..AlarmConfig::default()
            },
            clock.clone(),
        );
        a.mfa_failure("111111111111", "alice");
        a.mfa_failure("111111111111", "alice");
        assert_eq!(a.states(), vec![("111111111111".to_owned(), true)]);
        clock.set_offset(301);
        assert_eq!(a.states(), vec![("111111111111".to_owned(), false)]);
        let snap = a.snapshot();
        assert_eq!(snap["History"][1]["NewStateValue"], "OK");
        assert_eq!(snap["History"][1]["OldStateValue"], "ALARM");
        assert_eq!(snap["Alarms"][0]["StateValue"], "OK");
    }

    #[test]
    fn a_full_outbox_drops_the_oldest() {
        let mut a = alarms(3);
        a.outbox = Some(Arc::new(Outbox::default()));
        for i in 0..OUTBOX + 10 {
            a.refused_key(&format!("AKIA{i:016}"), &KeyHint::Unknown);
        }
        let outbox = a.outbox.as_ref().unwrap();
        let q = outbox.queue.lock().unwrap();
        assert_eq!(q.len(), OUTBOX);
        assert_eq!(q[0]["AccessKeyId"], format!("AKIA{:016}", 10));
    }

    #[tokio::test]
    async fn the_webhook_is_retried_until_it_answers_2xx() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let mut bodies = Vec::new();
            for status in ["503 Service Unavailable", "200 OK"] {
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                // The client closes nothing before the answer: read until the body is complete.
                loop {
                    let n = stream.read(&mut buf).await.unwrap();
                    request.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&request).into_owned();
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let length: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("Content-Length: "))
                            .unwrap()
                            .parse()
                            .unwrap();
                        if body.len() >= length {
                            bodies.push(body.to_owned());
                            break;
                        }
                    }
                }
                let answer = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n");
                stream.write_all(answer.as_bytes()).await.unwrap();
            }
            bodies
        });
        let alarms = Alarms::spawn(
            AlarmConfig {
                threshold: 1,
                webhook: Some(url),
                ..AlarmConfig::default()
            },
            Arc::new(keyward_core::clock::SystemClock::default()),
        );
        alarms.mfa_failure("111111111111", "alice");
        let bodies = tokio::time::timeout(std::time::Duration::from_secs(10), server)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(bodies.len(), 2);
        assert_eq!(bodies[0], bodies[1]);
        let n: Value = serde_json::from_str(&bodies[1]).unwrap();
        assert_eq!(n["AlarmName"], "IAMMFAFailure");
        assert_eq!(n["Users"]["alice"], 1);
    }

    #[test]
    fn repeated_sign_in_failures_alert_once_at_the_threshold() {
        let a = alarms(3);
        for _ in 0..4 {
            a.console_sign_in("111111111111", "alice", &SignInResult::Failed);
        }
        let history = a.snapshot()["History"].clone();
        assert_eq!(history.as_array().map(Vec::len), Some(1));
        assert_eq!(history[0]["AlarmName"], "RepeatedSignInFailures");
        assert_eq!(history[0]["Users"]["alice"], 3);
    }

    #[test]
    fn parses_webhook_urls() {
        assert_eq!(
            parse_http_url("http://127.0.0.1:9000/hook"),
            Ok(("127.0.0.1:9000".to_owned(), "/hook".to_owned()))
        );
        assert_eq!(
            parse_http_url("http://example.com"),
            Ok(("example.com:80".to_owned(), "/".to_owned()))
        );
        assert!(parse_http_url("https://example.com").is_err());
    }
}

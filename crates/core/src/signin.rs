//! Console sign-in: account (ID or alias) + user name + password → a result, with lockout after
//! repeated failures. The web console calls this; it has no HTTP of its own.
//!
//! What the caller learns never tells whether the user exists: an unknown account or user, a
//! user without a console password, a wrong password and a locked-out user are all
//! [`SignInResult::Failed`], and an unknown user costs the same argon2 verification as a wrong
//! password. Failures are counted in the store (so every node shares them) and each attempt is
//! audited as a `signin.amazonaws.com` `ConsoleLogin` event in the attempt's transaction.

use time::{Duration, OffsetDateTime};

use crate::audit::{AuditEvent, ConsoleLogin, HIDDEN};
use crate::error::OpError;
use crate::ids::{is_account_id, new_event_id, new_request_id};
use crate::model::User;
use crate::password::verify_password;
use crate::store::Tx;

/// Lockout settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInConfig {
    /// Failures within `window` that lock a user name out.
    pub max_failures: usize,
    pub window: Duration,
    /// How long the lock lasts, from the failure that set it.
    pub lockout: Duration,
}

impl Default for SignInConfig {
    /// 5 failures in 15 minutes lock the user name for 15 minutes.
    fn default() -> Self {
        SignInConfig {
            max_failures: 5,
            window: Duration::minutes(15),
            lockout: Duration::minutes(15),
        }
    }
}

impl SignInConfig {
    /// When the lock that `failures` (oldest first) set ends, if one is in force at `now`: any
    /// `max_failures` of them within `window` lock the user name for `lockout` from the last.
    /// Attempts while locked are not counted, so trying again does not prolong the lock.
    pub fn locked_until(
        &self,
        failures: &[OffsetDateTime],
        now: OffsetDateTime,
    ) -> Option<OffsetDateTime> {
        failures
            .windows(self.max_failures.max(1))
            .filter_map(|run| match (run.first(), run.last()) {
                (Some(first), Some(last)) if *last - *first <= self.window => {
                    Some(*last + self.lockout)
                }
                _ => None,
            })
            .filter(|end| *end > now)
            .max()
    }

    /// How far back failures can still matter.
    fn memory(&self) -> Duration {
        self.window + self.lockout
    }
}

/// An attempt, as the console received it.
#[derive(Debug, Clone, Copy)]
pub struct SignInAttempt<'a> {
    /// 12-digit account ID or account alias.
    pub account: &'a str,
    pub user_name: &'a str,
    pub password: &'a crate::ops::Password,
    pub source_ip: &'a str,
    pub user_agent: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInResult {
    /// Signed in; no MFA device and no password change pending.
    Success { user: User },
    /// The password was right; the user has MFA devices and must give a code next
    /// (`ops::verify_mfa`); `then_change_password` says a password change follows.
    MfaRequired {
        user: User,
        then_change_password: bool,
    },
    /// The password was right but must be changed before anything else (reset required, or
    /// expired under a policy without hard expiry).
    PasswordChangeRequired { user: User },
    /// Anything else; deliberately uninformative.
    Failed,
}

/// Runs one sign-in attempt in `tx`; the caller commits.
pub async fn sign_in<T: Tx>(
    tx: &mut T,
    partition: &str,
    attempt: &SignInAttempt<'_>,
    now: OffsetDateTime,
    cfg: &SignInConfig,
) -> Result<SignInResult, OpError> {
    let account = if is_account_id(attempt.account) {
        tx.list_accounts()
            .await?
            .into_iter()
            .find(|a| a.id == attempt.account)
            .map(|a| a.id)
    } else {
        tx.account_by_alias(attempt.account).await?
    };
    let user = match &account {
        Some(acct) => tx.get_user(acct, attempt.user_name).await?,
        None => None,
    };
    let profile = match &user {
        Some(u) => tx.get_login_profile(&u.user_id).await?,
        None => None,
    };
    let locked = match &account {
        Some(acct) => {
            let failures = tx
                .signin_failures_since(acct, attempt.user_name, now - cfg.memory())
                .await?;
            cfg.locked_until(&failures, now).is_some()
        }
        None => false,
    };
    // Verify even when there is nothing to verify against, so timing does not tell.
    let hash = profile
        .as_ref()
        .map_or(crate::password::decoy_hash(), |p| p.password_hash.as_str());
    let password_ok = verify_password(hash, attempt.password.expose()) && profile.is_some();

    let result = match (user, profile) {
        (Some(user), Some(profile)) if password_ok && !locked => {
            let policy = tx.get_password_policy(&user.account_id).await?;
            let expired = policy
                .as_ref()
                .and_then(|p| p.max_password_age)
                .is_some_and(|days| {
                    now - profile.password_changed > Duration::days(i64::from(days))
                });
            let hard_expired = expired && policy.as_ref().is_some_and(|p| p.hard_expiry);
            let change = profile.password_reset_required || expired;
            let has_mfa = !tx
                .list_mfa_devices(&user.account_id, Some(&user.user_id))
                .await?
                .is_empty();
            if hard_expired {
                SignInResult::Failed
            } else {
                tx.set_password_last_used(&user.user_id, now).await?;
                match (has_mfa, change) {
                    (true, then_change_password) => SignInResult::MfaRequired {
                        user,
                        then_change_password,
                    },
                    (false, true) => SignInResult::PasswordChangeRequired { user },
                    (false, false) => SignInResult::Success { user },
                }
            }
        }
        _ => SignInResult::Failed,
    };
    if result == SignInResult::Failed
        && let Some(acct) = &account
        && !locked
    {
        tx.insert_signin_failure(acct, attempt.user_name, now)
            .await?;
    }
    let mut event =
        console_login_event(partition, attempt, account.as_deref(), &result, locked, now);
    event.bound();
    tx.insert_audit_event(&event).await?;
    Ok(result)
}

/// The `ConsoleLogin` record of an attempt, in CloudTrail's form ([`AuditEvent::console_login`]).
/// A failure says only "Failed authentication"; an unknown user name is recorded as
/// [`HIDDEN`], as CloudTrail does; a refusal while locked out says so in `additionalEventData`.
fn console_login_event(
    partition: &str,
    attempt: &SignInAttempt<'_>,
    account: Option<&str>,
    result: &SignInResult,
    locked: bool,
    now: OffsetDateTime,
) -> AuditEvent {
    let user = match result {
        SignInResult::Success { user }
        | SignInResult::MfaRequired { user, .. }
        | SignInResult::PasswordChangeRequired { user } => Some(user),
        SignInResult::Failed => None,
    };
    let login_to = format!("/console (account {})", account.unwrap_or(attempt.account));
    let mut e = AuditEvent::console_login(ConsoleLogin {
        event_id: new_event_id(now),
        event_time: now,
        request_id: new_request_id(),
        source_ip: attempt.source_ip.to_owned(),
        user_agent: attempt.user_agent.map(str::to_owned),
        success: user.is_some(),
        mfa_used: false,
        login_to: &login_to,
        mfa_failure: None,
    });
    e.identity_type = Some("IAMUser".to_owned());
    e.account_id = account.map(str::to_owned);
    e.principal_id = user.map(|u| u.user_id.clone());
    e.principal_arn = user.map(|u| u.arn(partition));
    e.user_name = Some(user.map_or_else(|| HIDDEN.to_owned(), |u| u.name.clone()));
    if locked && let Some(serde_json::Value::Object(data)) = e.additional_event_data.as_mut() {
        data.insert(
            "LockedOut".to_owned(),
            serde_json::Value::String("Yes".to_owned()),
        );
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-12-02 10:00 UTC);

    fn at(minutes: &[i64]) -> Vec<OffsetDateTime> {
        minutes.iter().map(|m| T0 + Duration::minutes(*m)).collect()
    }

    #[test]
    fn five_failures_in_fifteen_minutes_lock_for_fifteen_minutes_from_the_fifth() {
        let cfg = SignInConfig::default();
        let failures = at(&[0, 1, 2, 3, 4]);
        assert_eq!(
            cfg.locked_until(&failures[..4], T0 + Duration::minutes(5)),
            None
        );
        let end = T0 + Duration::minutes(19);
        assert_eq!(
            cfg.locked_until(&failures, T0 + Duration::minutes(5)),
            Some(end)
        );
        // Still locked after the first failure has left the 15-minute window.
        assert_eq!(
            cfg.locked_until(&failures, T0 + Duration::minutes(17)),
            Some(end)
        );
        assert_eq!(cfg.locked_until(&failures, end), None);
    }

    #[test]
    fn failures_spread_wider_than_the_window_do_not_lock() {
        let cfg = SignInConfig::default();
        let failures = at(&[0, 4, 8, 12, 16]);
        assert_eq!(
            cfg.locked_until(&failures, T0 + Duration::minutes(17)),
            None
        );
        // A sixth within 15 minutes of the second does.
        let failures = at(&[0, 4, 8, 12, 16, 18]);
        assert_eq!(
            cfg.locked_until(&failures, T0 + Duration::minutes(18)),
            Some(T0 + Duration::minutes(33))
        );
    }

    #[test]
    fn settings_are_honoured() {
        let cfg = SignInConfig {
            max_failures: 2,
            window: Duration::minutes(1),
            lockout: Duration::hours(1),
        };
        let failures = at(&[0, 1]);
        assert_eq!(
            cfg.locked_until(&failures, T0 + Duration::minutes(30)),
            Some(T0 + Duration::minutes(61))
        );
        let none = SignInConfig {
            max_failures: 0,
            ..cfg
        };
        assert!(none.locked_until(&failures, T0).is_some());
    }
}

//! The credential report: `GenerateCredentialReport` and `GetCredentialReport`.
//!
//! The report's columns, their order and their values (`N/A`, `no_information`,
//! `not_supported`) are those of the IAM User Guide, "Getting credential reports for your AWS
//! account" (understanding the report format). A report is generated synchronously, within the
//! request, and kept in the store's settings under a key of its account; a report younger than
//! four hours is reused, as IAM does, and one older than that has expired.

use std::collections::HashSet;

use time::{Duration, OffsetDateTime};

use crate::error::{ApiError, OpError, StoreError};
use crate::model::{AccessKey, KeyStatus, root_arn};
use crate::store::Tx;

use super::table::{Handler, OpName, Ran, Targeted};
use super::{Ctx, Output, Target, account_id, iam_action};
use crate::authz::Permission;

/// How long a report is served and reused: IAM generates one at most every four hours.
pub const REPORT_LIFETIME: Duration = Duration::hours(4);

/// The report's header line, in AWS's column order.
pub const REPORT_HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,\
password_last_changed,password_next_rotation,mfa_active,access_key_1_active,\
access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,\
access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,\
access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,\
cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

/// The root user's row names it so (IAM User Guide's report format; AWS's reports).
const ROOT_USER: &str = "<root_account>";
const NOT_APPLICABLE: &str = "N/A";
const NO_INFORMATION: &str = "no_information";
const NOT_SUPPORTED: &str = "not_supported";

/// `GenerateCredentialReport`'s description of a new report: the API Reference's sample response.
pub const REPORT_STARTED: &str = "No report exists. Starting a new report generation task";

/// Users read per store call while the report is built.
const USERS_PER_READ: usize = 1000;

/// A generated report as kept in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReport {
    pub generated: OffsetDateTime,
    pub csv: String,
}

impl StoredReport {
    /// `UNIX-SECONDS\nCSV`: the settings table holds text.
    fn to_setting(&self) -> String {
        format!("{}\n{}", self.generated.unix_timestamp(), self.csv)
    }

    fn from_setting(value: &str) -> Result<StoredReport, StoreError> {
        let corrupt = || StoreError::corrupt("read credential report: malformed setting");
        let (seconds, csv) = value.split_once('\n').ok_or_else(corrupt)?;
        let seconds: i64 = seconds.parse().map_err(|_| corrupt())?;
        let generated = OffsetDateTime::from_unix_timestamp(seconds).map_err(|_| corrupt())?;
        Ok(StoredReport {
            generated,
            csv: csv.to_owned(),
        })
    }

    /// Whether the report is past its four hours at `now`.
    pub fn expired(&self, now: OffsetDateTime) -> bool {
        now - self.generated >= REPORT_LIFETIME
    }
}

fn setting_key(account_id: &str) -> String {
    format!("credential_report/{account_id}")
}

async fn stored_report<T: Tx>(
    tx: &mut T,
    account_id: &str,
) -> Result<Option<StoredReport>, StoreError> {
    match tx.get_setting(&setting_key(account_id)).await? {
        None => Ok(None),
        Some(value) => StoredReport::from_setting(&value).map(Some),
    }
}

/// A time as the report writes it: ISO 8601 with the offset spelled out
/// (`2024-01-02T03:04:05+00:00`).
pub fn report_time(t: OffsetDateTime) -> String {
    crate::clock::iso8601_offset(t)
}

fn flag(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// One CSV field: quoted (RFC 4180) only when it holds a comma, a quote or a line break, which
/// only a user name or path can.
fn field(out: &mut String, value: &str) {
    if value.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

fn row(out: &mut String, fields: &[&str]) {
    out.push('\n');
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        field(out, f);
    }
}

/// The five access key columns of one key slot: active, last rotated (created), last used date,
/// region and service; `false` and `N/A` for a slot without a key, `N/A` for a use never recorded.
fn key_columns(key: Option<&AccessKey>) -> [String; 5] {
    let na = || NOT_APPLICABLE.to_owned();
    let Some(k) = key else {
        return [flag(false).to_owned(), na(), na(), na(), na()];
    };
    let nonempty = |s: &str| if s.is_empty() { na() } else { s.to_owned() };
    let (date, region, service) = match &k.last_used {
        Some(u) => (
            report_time(u.date),
            nonempty(&u.region),
            nonempty(&u.service),
        ),
        None => (na(), na(), na()),
    };
    [
        flag(k.status == KeyStatus::Active).to_owned(),
        report_time(k.created),
        date,
        region,
        service,
    ]
}

/// The facts of one row besides its keys.
struct Identity<'a> {
    user: &'a str,
    arn: &'a str,
    created: OffsetDateTime,
    password_enabled: &'a str,
    password_last_used: String,
    password_last_changed: String,
    password_next_rotation: String,
    mfa_active: bool,
}

fn push_row(out: &mut String, id: &Identity<'_>, keys: &[AccessKey]) {
    let created = report_time(id.created);
    let [k1a, k1r, k1d, k1g, k1s] = key_columns(keys.first());
    let [k2a, k2r, k2d, k2g, k2s] = key_columns(keys.get(1));
    // keyward has no X.509 signing certificates: their slots are empty.
    row(
        out,
        &[
            id.user,
            id.arn,
            &created,
            id.password_enabled,
            &id.password_last_used,
            &id.password_last_changed,
            &id.password_next_rotation,
            flag(id.mfa_active),
            &k1a,
            &k1r,
            &k1d,
            &k1g,
            &k1s,
            &k2a,
            &k2r,
            &k2d,
            &k2g,
            &k2s,
            flag(false),
            NOT_APPLICABLE,
            flag(false),
            NOT_APPLICABLE,
        ],
    );
}

/// Builds the account's report as of now: the root user's row, then every user's, by name.
async fn build<T: Tx>(tx: &mut T, ctx: &Ctx<'_>) -> Result<String, OpError> {
    let acct = account_id(ctx);
    let mut out = String::from(REPORT_HEADER);

    let accounts = tx.list_accounts().await?;
    let account = accounts
        .iter()
        .find(|a| a.id == acct)
        .ok_or_else(|| StoreError::not_found(format!("account {acct}")))?;
    let root_keys = tx.list_access_keys(acct, None).await?;
    let arn = root_arn(ctx.partition, acct);
    // keyward keeps no root password and assigns no MFA device to the root user.
    let root = Identity {
        user: ROOT_USER,
        arn: &arn,
        created: account.created,
        password_enabled: NOT_SUPPORTED,
        password_last_used: NO_INFORMATION.to_owned(),
        password_last_changed: NOT_SUPPORTED.to_owned(),
        password_next_rotation: NOT_SUPPORTED.to_owned(),
        mfa_active: false,
    };
    push_row(&mut out, &root, &root_keys);

    let max_age = tx
        .get_password_policy(acct)
        .await?
        .and_then(|p| p.max_password_age);
    let mfa_users: HashSet<String> = tx
        .list_mfa_devices(acct, None)
        .await?
        .into_iter()
        .filter(|d| d.enable_date.is_some())
        .filter_map(|d| d.user_id)
        .collect();

    let mut after: Option<String> = None;
    loop {
        let users = tx
            .list_users(acct, "/", after.as_deref(), USERS_PER_READ)
            .await?;
        let Some(last) = users.last() else { break };
        after = Some(last.name.clone());
        let full = users.len() == USERS_PER_READ;
        for u in &users {
            let profile = tx.get_login_profile(&u.user_id).await?;
            let keys = tx.list_access_keys(acct, Some(&u.user_id)).await?;
            let arn = u.arn(ctx.partition);
            let (enabled, last_used, changed, next) = match &profile {
                None => (
                    false,
                    NOT_APPLICABLE.to_owned(),
                    NOT_APPLICABLE.to_owned(),
                    NOT_APPLICABLE.to_owned(),
                ),
                Some(p) => (
                    true,
                    u.password_last_used
                        .map_or_else(|| NO_INFORMATION.to_owned(), report_time),
                    report_time(p.password_changed),
                    max_age.map_or_else(
                        || NOT_APPLICABLE.to_owned(),
                        |days| report_time(p.password_changed + Duration::days(i64::from(days))),
                    ),
                ),
            };
            let id = Identity {
                user: &u.name,
                arn: &arn,
                created: u.created,
                password_enabled: flag(enabled),
                password_last_used: last_used,
                password_last_changed: changed,
                password_next_rotation: next,
                mfa_active: mfa_users.contains(&u.user_id),
            };
            push_row(&mut out, &id, &keys);
        }
        if !full {
            break;
        }
    }
    Ok(out)
}

/// The permission an account-wide report action needs: the action on `*` (the Service
/// Authorization Reference lists no resource type for either).
fn on_everything(op: OpName) -> Targeted {
    Ok(Target::Resource(Permission {
        action: iam_action(op),
        resource: "*".to_owned(),
        context: Vec::new(),
    }))
}

// ── Operation inputs (rows of `table.rs`) ──────────────────────────────────────────────────────

input! {
    pub struct GenerateCredentialReport {}
}

impl Handler for GenerateCredentialReport {
    async fn target<T: Tx>(&self, op: OpName, _tx: &mut T, _ctx: &Ctx<'_>) -> Targeted {
        on_everything(op)
    }

    /// Reuses a report younger than four hours (`COMPLETE`); otherwise generates one, within
    /// this request, and answers `STARTED` as IAM does when it starts one.
    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let acct = account_id(ctx);
        if let Some(report) = stored_report(tx, acct).await?
            && !report.expired(ctx.now)
        {
            return Ok(Output::CredentialReportState {
                state: "COMPLETE",
                description: None,
            });
        }
        let csv = build(tx, ctx).await?;
        let report = StoredReport {
            generated: ctx.now,
            csv,
        };
        tx.set_setting(&setting_key(acct), &report.to_setting())
            .await?;
        Ok(Output::CredentialReportState {
            state: "STARTED",
            description: Some(REPORT_STARTED),
        })
    }
}

input! {
    pub struct GetCredentialReport {}
}

impl Handler for GetCredentialReport {
    async fn target<T: Tx>(&self, op: OpName, _tx: &mut T, _ctx: &Ctx<'_>) -> Targeted {
        on_everything(op)
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        match stored_report(tx, account_id(ctx)).await? {
            None => Err(report_not_present().into()),
            Some(r) if r.expired(ctx.now) => Err(report_expired().into()),
            Some(r) => Ok(Output::CredentialReport {
                csv: r.csv,
                generated: r.generated,
            }),
        }
    }
}

/// `ReportNotPresent` (410). IAM sends it without a message (the CLI prints "Unknown").
pub fn report_not_present() -> ApiError {
    ApiError::new("ReportNotPresent", 410, "")
}

/// `ReportExpired` (410), without a message like `ReportNotPresent`.
pub fn report_expired() -> ApiError {
    ApiError::new("ReportExpired", 410, "")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn times_carry_the_offset_as_aws_writes_them() {
        assert_eq!(
            report_time(datetime!(2024-01-02 03:04:05 UTC)),
            "2024-01-02T03:04:05+00:00"
        );
        assert_eq!(
            report_time(datetime!(2024-01-02 05:04:05 +02:00)),
            "2024-01-02T03:04:05+00:00"
        );
    }

    #[test]
    fn a_report_expires_after_four_hours() {
        let generated = datetime!(2024-01-02 03:00:00 UTC);
        let r = StoredReport {
            generated,
            csv: REPORT_HEADER.to_owned(),
        };
        assert!(!r.expired(generated));
        assert!(!r.expired(generated + Duration::hours(4) - Duration::seconds(1)));
        assert!(r.expired(generated + Duration::hours(4)));
    }

    #[test]
    fn stored_reports_round_trip() {
        let r = StoredReport {
            generated: datetime!(2024-01-02 03:04:05 UTC),
            csv: format!("{REPORT_HEADER}\na,b"),
        };
        assert_eq!(StoredReport::from_setting(&r.to_setting()).unwrap(), r);
        assert!(StoredReport::from_setting("not a report").is_err());
        assert!(StoredReport::from_setting("x\ny").is_err());
    }

    #[test]
    fn header_has_aws_columns_in_order() {
        let cols: Vec<&str> = REPORT_HEADER.split(',').collect();
        assert_eq!(cols.len(), 22);
        assert_eq!(cols.first(), Some(&"user"));
        assert_eq!(cols.get(7), Some(&"mfa_active"));
        assert_eq!(cols.last(), Some(&"cert_2_last_rotated"));
    }

    #[test]
    fn fields_are_quoted_only_when_needed() {
        let mut out = String::new();
        row(&mut out, &["a,b", "c\"d", "plain"]);
        assert_eq!(out, "\n\"a,b\",\"c\"\"d\",plain");
    }

    #[test]
    fn key_slots_without_a_key_or_a_use() {
        assert_eq!(
            key_columns(None),
            ["false", "N/A", "N/A", "N/A", "N/A"].map(String::from)
        );
    }
}

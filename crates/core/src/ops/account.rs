//! Account-wide views: `GetAccountSummary`.

use crate::error::OpError;
use crate::store::Tx;

use super::{Ctx, Output, account_id};

/// `GetAccountSummary`: counts of the account's entities beside IAM's default quotas (IAM User
/// Guide, "IAM and AWS STS quotas"). Entities keyward does not model (server certificates,
/// instance profiles, identity providers, signing certificates) count 0.
pub(super) async fn summary<T: Tx>(tx: &mut T, ctx: &Ctx<'_>) -> Result<Output, OpError> {
    let c = tx.account_counts(account_id(ctx)).await?;
    let entries = vec![
        ("AccessKeysPerUserQuota", super::ACCESS_KEYS_PER_USER as i64),
        (
            "AccountAccessKeysPresent",
            i64::from(c.root_access_keys > 0),
        ),
        ("AccountMFAEnabled", 0),
        ("AccountSigningCertificatesPresent", 0),
        ("AssumeRolePolicySizeQuota", 2048),
        ("AttachedPoliciesPerGroupQuota", 10),
        ("AttachedPoliciesPerRoleQuota", 10),
        ("AttachedPoliciesPerUserQuota", 10),
        ("GlobalEndpointTokenVersion", 1),
        ("GroupPolicySizeQuota", 5120),
        ("Groups", c.groups),
        ("GroupsPerUserQuota", 10),
        ("GroupsQuota", 300),
        ("InstanceProfiles", 0),
        ("InstanceProfilesQuota", 1000),
        ("MFADevices", c.mfa_devices),
        ("MFADevicesInUse", c.mfa_devices_in_use),
        ("Policies", c.policies),
        ("PoliciesQuota", 1500),
        ("PolicySizeQuota", 6144),
        ("PolicyVersionsInUse", c.policy_versions_in_use),
        ("PolicyVersionsInUseQuota", 10000),
        ("Providers", 0),
        ("RolePolicySizeQuota", 10240),
        ("Roles", c.roles),
        ("RolesQuota", 1000),
        ("ServerCertificates", 0),
        ("ServerCertificatesQuota", 20),
        ("SigningCertificatesPerUserQuota", 2),
        ("UserPolicySizeQuota", 2048),
        ("Users", c.users),
        ("UsersQuota", 5000),
        ("VersionsPerPolicyQuota", 5),
    ];
    Ok(Output::AccountSummary { entries })
}

//! What a request's CloudTrail record says beyond who and when: `responseElements` of a write and
//! the resources a request names.

use crate::clock::iso8601;
use crate::ops::{Members, Output};
use serde_json::{Value, json};

/// `responseElements` of a successful write, as CloudTrail shows them; `None` (`null`) for reads
/// and for writes that return nothing. Secrets (a new key's secret, a new device's seed and QR
/// code) are never included: CloudTrail leaves them out of the record.
pub fn response_elements(output: &Output) -> Option<Value> {
    match output {
        Output::User { user, arn } => Some(json!({ "user": {
            "path": user.path,
            "userName": user.name,
            "userId": user.user_id,
            "arn": arn,
            "createDate": iso8601(user.created),
        }})),
        Output::AccessKeyCreated { user_name, key, .. } => Some(json!({ "accessKey": {
            "userName": user_name,
            "accessKeyId": key.access_key_id,
            "status": key.status.as_str(),
            "createDate": iso8601(key.created),
        }})),
        Output::Policy { policy, .. } => Some(json!({ "policy": {
            "policyName": policy.name,
            "policyId": policy.policy_id,
            "arn": policy.arn,
            "path": policy.path,
            "defaultVersionId": policy.default_version_id,
            "attachmentCount": policy.attachment_count,
            "isAttachable": true,
            "createDate": iso8601(policy.created),
            "updateDate": iso8601(policy.updated),
        }})),
        Output::PolicyVersion {
            version,
            is_default,
            ..
        } => Some(json!({ "policyVersion": {
            "versionId": version.version_id,
            "isDefaultVersion": is_default,
            "createDate": iso8601(version.created),
        }})),
        Output::Group { group, arn } => Some(json!({ "group": {
            "path": group.path,
            "groupName": group.name,
            "groupId": group.group_id,
            "arn": arn,
            "createDate": iso8601(group.created),
        }})),
        Output::VirtualMfaDeviceCreated { device, .. } => Some(json!({ "virtualMFADevice": {
            "serialNumber": device.serial,
        }})),
        _ => None,
    }
}

/// The resources a request names, for `LookupEvents`' `ResourceName`: `(type, name)`.
pub fn resources(params: &dyn Members) -> Vec<(String, String)> {
    const NAMED: &[(&str, &str)] = &[
        ("UserName", "AWS::IAM::User"),
        ("NewUserName", "AWS::IAM::User"),
        ("GroupName", "AWS::IAM::Group"),
        ("PolicyArn", "AWS::IAM::Policy"),
        ("PermissionsBoundary", "AWS::IAM::Policy"),
        ("AccessKeyId", "AWS::IAM::AccessKey"),
        ("SerialNumber", "AWS::IAM::MFADevice"),
        ("VirtualMFADeviceName", "AWS::IAM::MFADevice"),
        ("RoleName", "AWS::IAM::Role"),
    ];
    NAMED
        .iter()
        .filter_map(|(param, kind)| {
            params
                .get(param)
                .filter(|v| !v.is_empty() && !v.contains('\n'))
                .map(|v| ((*kind).to_owned(), v.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::audit::is_secret_member;
    use crate::model::{AccessKey, KeyStatus, LoginProfile, MfaDevice};
    use crate::ops::{Credentials, VirtualMfaSecret};
    use crate::totp::Seed;
    use keyward_sigv4::SecretKey;

    use super::*;

    const SECRET: &str = "s3cr3t-MARKER-4b1e";

    /// Every key of `value`, at any depth.
    fn keys(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    out.push(k.clone());
                    keys(v, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| keys(v, out)),
            _ => {}
        }
    }

    /// The responses that carry a secret (a new key's, a new device's seed and QR code, a
    /// session's key and token, a password's hash) keep it out of `responseElements`, and no
    /// element is named as a secret member of botocore's models (`secretAccessKey`,
    /// `base32StringSeed`, `qRCodePNG`, `sessionToken`, `password`...).
    #[test]
    fn response_elements_never_hold_a_secret() {
        let t = time::macros::datetime!(2026-11-25 10:00:00 UTC);
        let seed = Seed::from_bytes(SECRET.as_bytes().to_vec());
        let seed_b32 = seed.to_base32();
        let device = MfaDevice {
            serial: "arn:aws:iam::123456789012:mfa/bob".into(),
            account_id: "123456789012".into(),
            name: "bob".into(),
            path: "/".into(),
            user_id: None,
            enable_date: None,
            created: t,
            sealed_seed: SECRET.as_bytes().to_vec(),
            offset_steps: 0,
            last_step: None,
            tags: Vec::new(),
        };
        let key = AccessKey {
            access_key_id: "AKIAEXAMPLE".into(),
            account_id: "123456789012".into(),
            user_id: Some("AIDAEXAMPLE".into()),
            status: KeyStatus::Active,
            created: t,
            sealed_secret: SECRET.as_bytes().to_vec(),
            last_used: None,
        };
        let outputs = [
            Output::AccessKeyCreated {
                user_name: Some("bob".into()),
                key,
                secret: SecretKey::new(SECRET),
            },
            Output::VirtualMfaDeviceCreated {
                device,
                secret: VirtualMfaSecret {
                    seed,
                    qr_png: SECRET.as_bytes().to_vec(),
                },
            },
            Output::SessionCredentials {
                credentials: Credentials {
                    access_key_id: "ASIAEXAMPLE".into(),
                    secret_access_key: SecretKey::new(SECRET),
                    session_token: crate::session::SessionToken::new(format!("{SECRET}-token")),
                    expiration: t,
                },
                assumed_role_user: Some(("AROAEXAMPLE:s".into(), "arn:aws:sts::1:x".into())),
                federated_user: None,
                packed_policy_size: Some(6),
                source_identity: None,
            },
            Output::LoginProfile {
                user_name: "bob".into(),
                profile: LoginProfile {
                    user_id: "AIDAEXAMPLE".into(),
                    password_hash: SECRET.into(),
                    password_reset_required: false,
                    created: t,
                    password_changed: t,
                },
            },
        ];
        let mut shown = 0;
        for output in &outputs {
            let Some(elements) = response_elements(output) else {
                continue;
            };
            shown += 1;
            let text = elements.to_string();
            assert!(!text.contains(SECRET), "{text}");
            assert!(!text.contains(seed_b32.as_str()), "{text}");
            let mut names = Vec::new();
            keys(&elements, &mut names);
            for name in names {
                assert!(!is_secret_member(&name), "{name} in {text}");
            }
        }
        // The new key's and the new device's elements are there, without their secrets.
        assert_eq!(shown, 2);
    }
}

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

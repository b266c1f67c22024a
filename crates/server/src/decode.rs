//! From `Action` and parameters to a typed [`Operation`].

use keyward_core::ApiError;
use keyward_core::model::EntityKind;
use keyward_core::ops::{Operation, Password};
use keyward_core::totp::CodeInput;

use crate::form::Params;

/// The services this endpoint speaks, chosen by the credential scope's service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Iam,
    Sts,
}

impl Service {
    pub fn from_scope(service: &str) -> Option<Self> {
        match service {
            "iam" => Some(Service::Iam),
            "sts" => Some(Service::Sts),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Service::Iam => "iam",
            Service::Sts => "sts",
        }
    }

    pub fn namespace(self) -> &'static str {
        match self {
            Service::Iam => crate::xml::IAM_NS,
            Service::Sts => crate::xml::STS_NS,
        }
    }

    /// The API version the Query protocol's `Version` parameter names.
    pub fn version(self) -> &'static str {
        match self {
            Service::Iam => "2010-05-08",
            Service::Sts => "2011-06-15",
        }
    }
}

/// A non-integer where AWS's model has an integer: the generated validators' wording.
fn integer(params: &Params, name: &str, field: &str) -> Result<Option<i64>, ApiError> {
    params.integer(name).map_err(|text| {
        ApiError::validation(format!(
            "1 validation error detected: Value '{text}' at '{field}' failed to satisfy constraint: Member must be a number"
        ))
    })
}

/// A boolean member: `true` in any case; anything else is false, as the SDKs only send the two.
fn boolean(params: &Params, name: &str) -> bool {
    params
        .get(name)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// `PolicyArns.member.N.arn`, in index order.
fn policy_arns(p: &Params) -> Result<Vec<String>, ApiError> {
    p.list_of("PolicyArns", "arn")
}

/// Operations that exist for users, groups and roles alike, named `{Verb}{User|Group|Role}{Noun}`.
fn entity_operation(action: &str, p: &Params) -> Result<Option<Operation>, ApiError> {
    let (entity, name_param, rest) = if let Some(i) = action.find("User") {
        (
            EntityKind::User,
            "UserName",
            (
                action.get(..i).unwrap_or(""),
                action.get(i + 4..).unwrap_or(""),
            ),
        )
    } else if let Some(i) = action.find("Group") {
        (
            EntityKind::Group,
            "GroupName",
            (
                action.get(..i).unwrap_or(""),
                action.get(i + 5..).unwrap_or(""),
            ),
        )
    } else if let Some(i) = action.find("Role") {
        (
            EntityKind::Role,
            "RoleName",
            (
                action.get(..i).unwrap_or(""),
                action.get(i + 4..).unwrap_or(""),
            ),
        )
    } else {
        return Ok(None);
    };
    let entity_name = p.string(name_param);
    let op = match rest {
        ("Attach", "Policy") => Operation::AttachPolicy {
            entity,
            entity_name,
            policy_arn: p.string("PolicyArn"),
        },
        ("Detach", "Policy") => Operation::DetachPolicy {
            entity,
            entity_name,
            policy_arn: p.string("PolicyArn"),
        },
        ("ListAttached", "Policies") => Operation::ListAttachedPolicies {
            entity,
            entity_name,
            path_prefix: p.string("PathPrefix"),
            marker: p.string("Marker"),
            max_items: integer(p, "MaxItems", "maxItems")?,
        },
        ("Put", "Policy") => Operation::PutInlinePolicy {
            entity,
            entity_name,
            policy_name: p.string("PolicyName"),
            policy_document: p.string("PolicyDocument"),
        },
        ("Get", "Policy") => Operation::GetInlinePolicy {
            entity,
            entity_name,
            policy_name: p.string("PolicyName"),
        },
        ("Delete", "Policy") => Operation::DeleteInlinePolicy {
            entity,
            entity_name,
            policy_name: p.string("PolicyName"),
        },
        ("List", "Policies") => Operation::ListInlinePolicies {
            entity,
            entity_name,
            marker: p.string("Marker"),
            max_items: integer(p, "MaxItems", "maxItems")?,
        },
        _ => return Ok(None),
    };
    Ok(Some(op))
}

/// Decodes the operation `action` of `service`, or AWS's `InvalidAction`.
pub fn decode(service: Service, action: &str, p: &Params) -> Result<Operation, ApiError> {
    let s = |name: &str| p.string(name);
    let op = match (service, action) {
        (Service::Sts, "GetCallerIdentity") => Operation::GetCallerIdentity,
        (Service::Sts, "GetSessionToken") => Operation::GetSessionToken {
            duration_seconds: integer(p, "DurationSeconds", "durationSeconds")?,
            serial_number: s("SerialNumber"),
            token_code: s("TokenCode").map(CodeInput::new),
        },
        (Service::Sts, "AssumeRole") => Operation::AssumeRole {
            role_arn: s("RoleArn"),
            role_session_name: s("RoleSessionName"),
            policy_arns: policy_arns(p)?,
            policy: s("Policy"),
            duration_seconds: integer(p, "DurationSeconds", "durationSeconds")?,
            tags: p.tags("Tags")?,
            transitive_tag_keys: p.list("TransitiveTagKeys")?,
            external_id: s("ExternalId"),
            serial_number: s("SerialNumber"),
            token_code: s("TokenCode").map(CodeInput::new),
            source_identity: s("SourceIdentity"),
        },
        (Service::Sts, "GetFederationToken") => Operation::GetFederationToken {
            name: s("Name"),
            policy: s("Policy"),
            policy_arns: policy_arns(p)?,
            duration_seconds: integer(p, "DurationSeconds", "durationSeconds")?,
            tags: p.tags("Tags")?,
        },
        (Service::Sts, "GetAccessKeyInfo") => Operation::GetAccessKeyInfo {
            access_key_id: s("AccessKeyId"),
        },
        (Service::Sts, "DecodeAuthorizationMessage") => Operation::DecodeAuthorizationMessage {
            encoded_message: s("EncodedMessage"),
        },
        (Service::Iam, "CreateUser") => Operation::CreateUser {
            user_name: s("UserName"),
            path: s("Path"),
            permissions_boundary: s("PermissionsBoundary"),
            tags: p.tags("Tags")?,
        },
        (Service::Iam, "GetUser") => Operation::GetUser {
            user_name: s("UserName"),
        },
        (Service::Iam, "ListUsers") => Operation::ListUsers {
            path_prefix: s("PathPrefix"),
            marker: s("Marker"),
            max_items: integer(p, "MaxItems", "maxItems")?,
        },
        (Service::Iam, "UpdateUser") => Operation::UpdateUser {
            user_name: s("UserName"),
            new_user_name: s("NewUserName"),
            new_path: s("NewPath"),
        },
        (Service::Iam, "DeleteUser") => Operation::DeleteUser {
            user_name: s("UserName"),
        },
        (Service::Iam, "TagUser") => Operation::TagUser {
            user_name: s("UserName"),
            tags: p.tags("Tags")?,
        },
        (Service::Iam, "UntagUser") => Operation::UntagUser {
            user_name: s("UserName"),
            tag_keys: p.list("TagKeys")?,
        },
        (Service::Iam, "ListUserTags") => Operation::ListUserTags {
            user_name: s("UserName"),
            marker: s("Marker"),
            max_items: integer(p, "MaxItems", "maxItems")?,
        },
        (Service::Iam, "CreateAccessKey") => Operation::CreateAccessKey {
            user_name: s("UserName"),
        },
        (Service::Iam, "ListAccessKeys") => Operation::ListAccessKeys {
            user_name: s("UserName"),
            marker: s("Marker"),
            max_items: integer(p, "MaxItems", "maxItems")?,
        },
        (Service::Iam, "UpdateAccessKey") => Operation::UpdateAccessKey {
            user_name: s("UserName"),
            access_key_id: s("AccessKeyId"),
            status: s("Status"),
        },
        (Service::Iam, "DeleteAccessKey") => Operation::DeleteAccessKey {
            user_name: s("UserName"),
            access_key_id: s("AccessKeyId"),
        },
        (Service::Iam, "CreatePolicy") => Operation::CreatePolicy {
            policy_name: s("PolicyName"),
            path: s("Path"),
            policy_document: s("PolicyDocument"),
            description: s("Description"),
            tags: p.tags("Tags")?,
        },
        (Service::Iam, "GetPolicy") => Operation::GetPolicy {
            policy_arn: s("PolicyArn"),
        },
        (Service::Iam, "DeletePolicy") => Operation::DeletePolicy {
            policy_arn: s("PolicyArn"),
        },
        (Service::Iam, "ListPolicies") => Operation::ListPolicies {
            scope: s("Scope"),
            only_attached: boolean(p, "OnlyAttached"),
            path_prefix: s("PathPrefix"),
            policy_usage_filter: s("PolicyUsageFilter"),
            marker: s("Marker"),
            max_items: integer(p, "MaxItems", "maxItems")?,
        },
        (Service::Iam, "CreatePolicyVersion") => Operation::CreatePolicyVersion {
            policy_arn: s("PolicyArn"),
            policy_document: s("PolicyDocument"),
            set_as_default: boolean(p, "SetAsDefault"),
        },
        (Service::Iam, "GetPolicyVersion") => Operation::GetPolicyVersion {
            policy_arn: s("PolicyArn"),
            version_id: s("VersionId"),
        },
        (Service::Iam, "ListPolicyVersions") => Operation::ListPolicyVersions {
            policy_arn: s("PolicyArn"),
            marker: s("Marker"),
            max_items: integer(p, "MaxItems", "maxItems")?,
        },
        (Service::Iam, "DeletePolicyVersion") => Operation::DeletePolicyVersion {
            policy_arn: s("PolicyArn"),
            version_id: s("VersionId"),
        },
        (Service::Iam, "SetDefaultPolicyVersion") => Operation::SetDefaultPolicyVersion {
            policy_arn: s("PolicyArn"),
            version_id: s("VersionId"),
        },
        (Service::Iam, "ListEntitiesForPolicy") => Operation::ListEntitiesForPolicy {
            policy_arn: s("PolicyArn"),
            entity_filter: s("EntityFilter"),
            path_prefix: s("PathPrefix"),
            marker: s("Marker"),
            max_items: integer(p, "MaxItems", "maxItems")?,
        },
        (Service::Iam, "PutUserPermissionsBoundary") => Operation::PutUserPermissionsBoundary {
            user_name: s("UserName"),
            permissions_boundary: s("PermissionsBoundary"),
        },
        (Service::Iam, "DeleteUserPermissionsBoundary") => {
            Operation::DeleteUserPermissionsBoundary {
                user_name: s("UserName"),
            }
        }
        (Service::Iam, "CreateGroup") => Operation::CreateGroup {
            group_name: s("GroupName"),
            path: s("Path"),
        },
        (Service::Iam, "GetGroup") => Operation::GetGroup {
            group_name: s("GroupName"),
            marker: s("Marker"),
            max_items: integer(p, "MaxItems", "maxItems")?,
        },
        (Service::Iam, "UpdateGroup") => Operation::UpdateGroup {
            group_name: s("GroupName"),
            new_group_name: s("NewGroupName"),
            new_path: s("NewPath"),
        },
        (Service::Iam, "DeleteGroup") => Operation::DeleteGroup {
            group_name: s("GroupName"),
        },
        (Service::Iam, "ListGroups") => Operation::ListGroups {
            path_prefix: s("PathPrefix"),
            marker: s("Marker"),
            max_items: integer(p, "MaxItems", "maxItems")?,
        },
        (Service::Iam, "AddUserToGroup") => Operation::AddUserToGroup {
            group_name: s("GroupName"),
            user_name: s("UserName"),
        },
        (Service::Iam, "RemoveUserFromGroup") => Operation::RemoveUserFromGroup {
            group_name: s("GroupName"),
            user_name: s("UserName"),
        },
        (Service::Iam, "ListGroupsForUser") => Operation::ListGroupsForUser {
            user_name: s("UserName"),
            marker: s("Marker"),
            max_items: integer(p, "MaxItems", "maxItems")?,
        },
        (Service::Iam, "CreateVirtualMFADevice") => Operation::CreateVirtualMfaDevice {
            name: s("VirtualMFADeviceName"),
            path: s("Path"),
            tags: p.tags("Tags")?,
        },
        (Service::Iam, "EnableMFADevice") => Operation::EnableMfaDevice {
            user_name: s("UserName"),
            serial_number: s("SerialNumber"),
            code1: s("AuthenticationCode1").map(CodeInput::new),
            code2: s("AuthenticationCode2").map(CodeInput::new),
        },
        (Service::Iam, "ResyncMFADevice") => Operation::ResyncMfaDevice {
            user_name: s("UserName"),
            serial_number: s("SerialNumber"),
            code1: s("AuthenticationCode1").map(CodeInput::new),
            code2: s("AuthenticationCode2").map(CodeInput::new),
        },
        (Service::Iam, "DeactivateMFADevice") => Operation::DeactivateMfaDevice {
            user_name: s("UserName"),
            serial_number: s("SerialNumber"),
        },
        (Service::Iam, "DeleteVirtualMFADevice") => Operation::DeleteVirtualMfaDevice {
            serial_number: s("SerialNumber"),
        },
        (Service::Iam, "ListMFADevices") => Operation::ListMfaDevices {
            user_name: s("UserName"),
            marker: s("Marker"),
            max_items: integer(p, "MaxItems", "maxItems")?,
        },
        (Service::Iam, "ListVirtualMFADevices") => Operation::ListVirtualMfaDevices {
            assignment_status: s("AssignmentStatus"),
            marker: s("Marker"),
            max_items: integer(p, "MaxItems", "maxItems")?,
        },
        (Service::Iam, "GetMFADevice") => Operation::GetMfaDevice {
            serial_number: s("SerialNumber"),
            user_name: s("UserName"),
        },
        (Service::Iam, "TagMFADevice") => Operation::TagMfaDevice {
            serial_number: s("SerialNumber"),
            tags: p.tags("Tags")?,
        },
        (Service::Iam, "UntagMFADevice") => Operation::UntagMfaDevice {
            serial_number: s("SerialNumber"),
            tag_keys: p.list("TagKeys")?,
        },
        (Service::Iam, "ListMFADeviceTags") => Operation::ListMfaDeviceTags {
            serial_number: s("SerialNumber"),
            marker: s("Marker"),
            max_items: integer(p, "MaxItems", "maxItems")?,
        },
        (Service::Iam, "CreateLoginProfile") => Operation::CreateLoginProfile {
            user_name: s("UserName"),
            password: p.get("Password").map(Password::new),
            password_reset_required: boolean(p, "PasswordResetRequired"),
        },
        (Service::Iam, "GetLoginProfile") => Operation::GetLoginProfile {
            user_name: s("UserName"),
        },
        (Service::Iam, "UpdateLoginProfile") => Operation::UpdateLoginProfile {
            user_name: s("UserName"),
            password: p.get("Password").map(Password::new),
            password_reset_required: p
                .get("PasswordResetRequired")
                .map(|v| v.eq_ignore_ascii_case("true")),
        },
        (Service::Iam, "DeleteLoginProfile") => Operation::DeleteLoginProfile {
            user_name: s("UserName"),
        },
        (Service::Iam, "ChangePassword") => Operation::ChangePassword {
            old_password: p.get("OldPassword").map(Password::new),
            new_password: p.get("NewPassword").map(Password::new),
        },
        (Service::Iam, "UpdateAccountPasswordPolicy") => Operation::UpdateAccountPasswordPolicy {
            minimum_password_length: integer(p, "MinimumPasswordLength", "minimumPasswordLength")?,
            require_symbols: boolean(p, "RequireSymbols"),
            require_numbers: boolean(p, "RequireNumbers"),
            require_uppercase_characters: boolean(p, "RequireUppercaseCharacters"),
            require_lowercase_characters: boolean(p, "RequireLowercaseCharacters"),
            allow_users_to_change_password: boolean(p, "AllowUsersToChangePassword"),
            max_password_age: integer(p, "MaxPasswordAge", "maxPasswordAge")?,
            password_reuse_prevention: integer(
                p,
                "PasswordReusePrevention",
                "passwordReusePrevention",
            )?,
            hard_expiry: boolean(p, "HardExpiry"),
        },
        (Service::Iam, "GetAccountPasswordPolicy") => Operation::GetAccountPasswordPolicy,
        (Service::Iam, "GetAccountSummary") => Operation::GetAccountSummary,
        (Service::Iam, "GetAccountAuthorizationDetails") => {
            Operation::GetAccountAuthorizationDetails {
                filter: p.list("Filter")?,
                marker: s("Marker"),
                max_items: integer(p, "MaxItems", "maxItems")?,
            }
        }
        (Service::Iam, "TagPolicy") => Operation::TagPolicy {
            policy_arn: s("PolicyArn"),
            tags: p.tags("Tags")?,
        },
        (Service::Iam, "UntagPolicy") => Operation::UntagPolicy {
            policy_arn: s("PolicyArn"),
            tag_keys: p.list("TagKeys")?,
        },
        (Service::Iam, "ListPolicyTags") => Operation::ListPolicyTags {
            policy_arn: s("PolicyArn"),
            marker: s("Marker"),
            max_items: integer(p, "MaxItems", "maxItems")?,
        },
        (Service::Iam, "DeleteAccountPasswordPolicy") => Operation::DeleteAccountPasswordPolicy,
        (Service::Iam, "CreateAccountAlias") => Operation::CreateAccountAlias {
            account_alias: s("AccountAlias"),
        },
        (Service::Iam, "DeleteAccountAlias") => Operation::DeleteAccountAlias {
            account_alias: s("AccountAlias"),
        },
        (Service::Iam, "ListAccountAliases") => Operation::ListAccountAliases {
            marker: s("Marker"),
            max_items: integer(p, "MaxItems", "maxItems")?,
        },
        (Service::Iam, "GetAccessKeyLastUsed") => Operation::GetAccessKeyLastUsed {
            access_key_id: s("AccessKeyId"),
        },
        (Service::Iam, "CreateRole") => Operation::CreateRole {
            role_name: s("RoleName"),
            path: s("Path"),
            assume_role_policy_document: s("AssumeRolePolicyDocument"),
            description: s("Description"),
            max_session_duration: integer(p, "MaxSessionDuration", "maxSessionDuration")?,
            permissions_boundary: s("PermissionsBoundary"),
            tags: p.tags("Tags")?,
        },
        (Service::Iam, "GetRole") => Operation::GetRole {
            role_name: s("RoleName"),
        },
        (Service::Iam, "UpdateRole") => Operation::UpdateRole {
            role_name: s("RoleName"),
            description: s("Description"),
            max_session_duration: integer(p, "MaxSessionDuration", "maxSessionDuration")?,
        },
        (Service::Iam, "UpdateRoleDescription") => Operation::UpdateRoleDescription {
            role_name: s("RoleName"),
            description: s("Description"),
        },
        (Service::Iam, "UpdateAssumeRolePolicy") => Operation::UpdateAssumeRolePolicy {
            role_name: s("RoleName"),
            policy_document: s("PolicyDocument"),
        },
        (Service::Iam, "DeleteRole") => Operation::DeleteRole {
            role_name: s("RoleName"),
        },
        (Service::Iam, "ListRoles") => Operation::ListRoles {
            path_prefix: s("PathPrefix"),
            marker: s("Marker"),
            max_items: integer(p, "MaxItems", "maxItems")?,
        },
        (Service::Iam, "TagRole") => Operation::TagRole {
            role_name: s("RoleName"),
            tags: p.tags("Tags")?,
        },
        (Service::Iam, "UntagRole") => Operation::UntagRole {
            role_name: s("RoleName"),
            tag_keys: p.list("TagKeys")?,
        },
        (Service::Iam, "ListRoleTags") => Operation::ListRoleTags {
            role_name: s("RoleName"),
            marker: s("Marker"),
            max_items: integer(p, "MaxItems", "maxItems")?,
        },
        (Service::Iam, "PutRolePermissionsBoundary") => Operation::PutRolePermissionsBoundary {
            role_name: s("RoleName"),
            permissions_boundary: s("PermissionsBoundary"),
        },
        (Service::Iam, "DeleteRolePermissionsBoundary") => {
            Operation::DeleteRolePermissionsBoundary {
                role_name: s("RoleName"),
            }
        }
        (Service::Iam, _) => match entity_operation(action, p)? {
            Some(op) => op,
            None => return Err(ApiError::invalid_action(action)),
        },
        _ => return Err(ApiError::invalid_action(action)),
    };
    Ok(op)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_actions_and_services() {
        let p = Params::default();
        assert_eq!(
            decode(Service::Iam, "GetCallerIdentity", &p)
                .unwrap_err()
                .code,
            "InvalidAction"
        );
        assert_eq!(
            decode(Service::Sts, "Nope", &p).unwrap_err().message,
            "The action Nope is not valid for this web service."
        );
        let p = Params::parse(b"MaxItems=ten").unwrap();
        assert_eq!(
            decode(Service::Iam, "ListUsers", &p).unwrap_err().code,
            "ValidationError"
        );
    }
}

//! From `Action` and parameters to a typed [`Operation`].

use keyward_core::ApiError;
use keyward_core::ops::Operation;
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

/// Decodes the operation `action` of `service`, or AWS's `InvalidAction`.
pub fn decode(service: Service, action: &str, p: &Params) -> Result<Operation, ApiError> {
    let s = |name: &str| p.string(name);
    let op = match (service, action) {
        (Service::Sts, "GetCallerIdentity") => Operation::GetCallerIdentity,
        (Service::Iam, "CreateUser") => Operation::CreateUser {
            user_name: s("UserName"),
            path: s("Path"),
            tags: p.tags("Tags"),
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
            tags: p.tags("Tags"),
        },
        (Service::Iam, "UntagUser") => Operation::UntagUser {
            user_name: s("UserName"),
            tag_keys: p.list("TagKeys"),
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
        (Service::Iam, "CreateVirtualMFADevice") => Operation::CreateVirtualMfaDevice {
            name: s("VirtualMFADeviceName"),
            path: s("Path"),
            tags: p.tags("Tags"),
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
            tags: p.tags("Tags"),
        },
        (Service::Iam, "UntagMFADevice") => Operation::UntagMfaDevice {
            serial_number: s("SerialNumber"),
            tag_keys: p.list("TagKeys"),
        },
        (Service::Iam, "ListMFADeviceTags") => Operation::ListMfaDeviceTags {
            serial_number: s("SerialNumber"),
            marker: s("Marker"),
            max_items: integer(p, "MaxItems", "maxItems")?,
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

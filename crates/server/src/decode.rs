//! From `Action` and parameters to a typed [`Operation`]: the operation table
//! (`keyward_core::ops::OpName`) names the operations, and each one's input decodes itself from
//! the request's [`Members`]. This module only adapts the Query protocol's form parameters.

use keyward_core::ApiError;
use keyward_core::model::Tag;
pub use keyward_core::ops::Service;
use keyward_core::ops::{ListItem, Members, OpName, Operation};

use crate::form::Params;

/// What the Query protocol needs to know of a service besides its name.
pub trait QueryService {
    /// The XML namespace of its responses.
    fn namespace(self) -> &'static str;
    /// The API version the Query protocol's `Version` parameter names.
    fn version(self) -> &'static str;
}

impl QueryService for Service {
    fn namespace(self) -> &'static str {
        match self {
            Service::Iam => crate::xml::IAM_NS,
            Service::Sts => crate::xml::STS_NS,
        }
    }

    fn version(self) -> &'static str {
        match self {
            Service::Iam => "2010-05-08",
            Service::Sts => "2011-06-15",
        }
    }
}

impl Members for Params {
    fn get(&self, name: &str) -> Option<&str> {
        Params::get(self, name)
    }

    fn list(&self, name: &str) -> Result<Vec<String>, ApiError> {
        Params::list(self, name)
    }

    fn tags(&self, name: &str) -> Result<Vec<Tag>, ApiError> {
        Params::tags(self, name)
    }

    fn structure_list(&self, name: &str, field: &str) -> Result<Vec<String>, ApiError> {
        Params::list_of(self, name, field)
    }

    fn items(&self, name: &str) -> Result<Vec<ListItem>, ApiError> {
        Params::items(self, name)
    }
}

/// The operation `action` of `service`, or AWS's `InvalidAction`.
pub fn operation(service: Service, action: &str) -> Result<OpName, ApiError> {
    OpName::from_wire(service, action).ok_or_else(|| ApiError::invalid_action(action))
}

/// Decodes the operation `action` of `service`, or AWS's `InvalidAction`.
pub fn decode(service: Service, action: &str, p: &Params) -> Result<Operation, ApiError> {
    Operation::decode(operation(service, action)?, p)
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
        let err = decode(Service::Iam, "ListUsers", &p).unwrap_err();
        assert_eq!(err.code, "ValidationError");
        assert_eq!(
            err.message,
            "1 validation error detected: Value 'ten' at 'maxItems' failed to satisfy constraint: Member must be a number"
        );
    }

    #[test]
    fn entity_operations_decode_for_their_entity() {
        let p = Params::parse(b"GroupName=g&PolicyArn=arn:aws:iam::aws:policy/X").unwrap();
        let op = decode(Service::Iam, "AttachGroupPolicy", &p).unwrap();
        assert_eq!(op.name(), OpName::AttachGroupPolicy);
        assert_eq!(op.name().action(), "iam:AttachGroupPolicy");
    }

    #[test]
    fn policy_arns_in_member_order() {
        let p = Params::parse(
            b"PolicyArns.member.2.arn=b&PolicyArns.member.1.arn=a&PolicyArns.member.10.arn=c",
        )
        .unwrap();
        assert_eq!(p.list_of("PolicyArns", "arn").unwrap(), vec!["a", "b", "c"]);
    }
}

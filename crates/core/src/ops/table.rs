//! The operation table: every IAM and STS operation keyward serves, declared once.
//!
//! Each row names the operation as it is on the wire (`Action=`, CloudTrail's `eventName`), its
//! service, whether CloudTrail records it as read-only, and its typed input, which implements
//! [`Handler`]: how the input is decoded, what it needs to be allowed (action, resource ARN,
//! condition keys) and what it does. From the rows come [`OpName`] (name, service, action,
//! `readOnly`, `eventCategory`, lookup by wire name) and [`Operation`] (decoding and dispatch).
//! There is no other list of operations: a row without a handler, or a handler without a row,
//! does not compile, and README's table is checked against [`OpName::ALL`] by a test.
//!
//! Every request's members are checked against its input's shapes, generated from botocore's
//! models into [`super::shapes`], when it is decoded ([`Operation::decode`]): a handler's `decode`
//! and `run` see only members that satisfy the model, and check by hand only what the model does
//! not say (quotas, cross-field rules, policy documents).
//!
//! **Adding an operation** = one row here, its input type with its `Handler` impl in the module
//! of its family, `scripts/iam-shapes --write` (its input's constraints: `shapes::input` does not
//! compile without them), and its tests (ARCHITECTURE.md, "Adding an operation").

use std::future::Future;

pub use crate::members::{ListItem, Members, lower_camel};

use crate::error::{ApiError, OpError};
use crate::store::Tx;

use super::{
    Ctx, Output, Target, access_keys, account, attachments, groups, mfa, passwords, policies,
    reports, roles, sts, users,
};
use attachments::{OfGroup, OfRole, OfUser};

/// The services this endpoint speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Iam,
    Sts,
}

impl Service {
    /// The service prefix of actions and credential scopes (`iam`, `sts`).
    pub fn name(self) -> &'static str {
        match self {
            Service::Iam => "iam",
            Service::Sts => "sts",
        }
    }

    /// The service a credential scope names, if this endpoint speaks it.
    pub fn from_scope(service: &str) -> Option<Self> {
        match service {
            "iam" => Some(Service::Iam),
            "sts" => Some(Service::Sts),
            _ => None,
        }
    }
}

/// What one operation's typed input knows: how to decode it, what it needs to be allowed, and
/// what it does. Implemented next to each family's handlers (`ops::users`, `ops::roles`, ...).
pub(crate) trait Handler: Decode {
    /// The permission the request needs (action, resource ARN, condition keys), or why it is
    /// refused before any policy is read. `op` is the row the input was decoded for.
    fn target<T: Tx>(
        &self,
        op: OpName,
        tx: &mut T,
        ctx: &Ctx<'_>,
    ) -> impl Future<Output = Targeted> + Send;

    /// Runs the operation, once authorised.
    fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> impl Future<Output = Ran> + Send;
}

/// An input decoded from a request's members (the request was already checked against the
/// operation's botocore shapes). Written by the `input!` macro (`ops/mod.rs`) for most inputs.
pub(crate) trait Decode: Sized {
    fn decode(m: &dyn Members) -> Result<Self, ApiError>;
}

/// What [`Handler::target`] answers.
pub(crate) type Targeted = Result<Target, OpError>;
/// What [`Handler::run`] answers.
pub(crate) type Ran = Result<Output, OpError>;

macro_rules! service {
    (iam) => {
        Service::Iam
    };
    (sts) => {
        Service::Sts
    };
}

macro_rules! read_only {
    (read) => {
        true
    };
    (write) => {
        false
    };
}

macro_rules! operations {
    ($( $name:ident : $svc:ident, $access:ident, $input:ty; )*) => {
        /// An operation of the table, by its wire name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum OpName {
            $($name,)*
        }

        impl OpName {
            /// Every operation keyward serves, in the table's order.
            pub const ALL: &'static [OpName] = &[$(OpName::$name,)*];

            /// The API action name, as in `Action=` and CloudTrail's `eventName`.
            pub fn name(self) -> &'static str {
                match self {
                    $(OpName::$name => stringify!($name),)*
                }
            }

            pub fn service(self) -> Service {
                match self {
                    $(OpName::$name => service!($svc),)*
                }
            }

            /// The IAM action that authorises it (`iam:CreateUser`): `service:Name`, as the Service
            /// Authorization Reference names every IAM and STS action.
            pub fn action(self) -> &'static str {
                match self {
                    $(OpName::$name => concat!(stringify!($svc), ":", stringify!($name)),)*
                }
            }

            /// CloudTrail's `readOnly`. It also chooses the request's transaction: a read-only
            /// operation never writes (STS's `GetSessionToken`, `GetFederationToken` and
            /// `AssumeRole` are not read-only: CloudTrail records them as change events, and they
            /// record an accepted MFA step).
            pub fn read_only(self) -> bool {
                match self {
                    $(OpName::$name => read_only!($access),)*
                }
            }

            /// The operation `name` of `service`, if keyward serves it.
            pub fn from_wire(service: Service, name: &str) -> Option<OpName> {
                let op = match name {
                    $(stringify!($name) => OpName::$name,)*
                    _ => return None,
                };
                (op.service() == service).then_some(op)
            }
        }

        /// A decoded request: one operation's typed input.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum Operation {
            $($name($input),)*
        }

        impl Operation {
            /// Decodes the input of `op` from a request's members, with AWS's validation errors:
            /// first every constraint of botocore's model on the input's members
            /// ([`super::shapes`]), then the handler's own decoding. The pipeline reports these
            /// errors after authentication and before authorisation: AWS validates a request
            /// against its model before it authorises it.
            pub fn decode(op: OpName, m: &dyn Members) -> Result<Operation, ApiError> {
                crate::validate::check_members(super::shapes::input(op), m)?;
                Ok(match op {
                    $(OpName::$name => Operation::$name(<$input as Decode>::decode(m)?),)*
                })
            }

            /// The table row of this input.
            pub fn name(&self) -> OpName {
                match self {
                    $(Operation::$name(_) => OpName::$name,)*
                }
            }

            pub(crate) async fn target<T: Tx>(
                &self,
                tx: &mut T,
                ctx: &Ctx<'_>,
            ) -> Result<Target, OpError> {
                match self {
                    $(Operation::$name(input) => input.target(OpName::$name, tx, ctx).await,)*
                }
            }

            pub(crate) async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Result<Output, OpError> {
                match self {
                    $(Operation::$name(input) => input.run(tx, ctx).await,)*
                }
            }
        }
    };
}

impl OpName {
    /// CloudTrail's `eventCategory`: every IAM and STS API call is a management event.
    pub fn event_category(self) -> &'static str {
        "Management"
    }
}

operations! {
    // name: service, CloudTrail readOnly (read|write), typed input (with its Handler).
    GetCallerIdentity: sts, read, sts::GetCallerIdentity;
    GetSessionToken: sts, write, sts::GetSessionToken;
    AssumeRole: sts, write, sts::AssumeRole;
    GetFederationToken: sts, write, sts::GetFederationToken;
    GetAccessKeyInfo: sts, read, sts::GetAccessKeyInfo;
    DecodeAuthorizationMessage: sts, read, sts::DecodeAuthorizationMessage;
    CreateUser: iam, write, users::CreateUser;
    GetUser: iam, read, users::GetUser;
    ListUsers: iam, read, users::ListUsers;
    UpdateUser: iam, write, users::UpdateUser;
    DeleteUser: iam, write, users::DeleteUser;
    TagUser: iam, write, users::TagUser;
    UntagUser: iam, write, users::UntagUser;
    ListUserTags: iam, read, users::ListUserTags;
    CreateAccessKey: iam, write, access_keys::CreateAccessKey;
    ListAccessKeys: iam, read, access_keys::ListAccessKeys;
    UpdateAccessKey: iam, write, access_keys::UpdateAccessKey;
    DeleteAccessKey: iam, write, access_keys::DeleteAccessKey;
    CreatePolicy: iam, write, policies::CreatePolicy;
    GetPolicy: iam, read, policies::GetPolicy;
    DeletePolicy: iam, write, policies::DeletePolicy;
    ListPolicies: iam, read, policies::ListPolicies;
    CreatePolicyVersion: iam, write, policies::CreatePolicyVersion;
    GetPolicyVersion: iam, read, policies::GetPolicyVersion;
    ListPolicyVersions: iam, read, policies::ListPolicyVersions;
    DeletePolicyVersion: iam, write, policies::DeletePolicyVersion;
    SetDefaultPolicyVersion: iam, write, policies::SetDefaultPolicyVersion;
    ListEntitiesForPolicy: iam, read, policies::ListEntitiesForPolicy;
    PutUserPermissionsBoundary: iam, write, attachments::PutUserPermissionsBoundary;
    DeleteUserPermissionsBoundary: iam, write, attachments::DeleteUserPermissionsBoundary;
    CreateGroup: iam, write, groups::CreateGroup;
    GetGroup: iam, read, groups::GetGroup;
    UpdateGroup: iam, write, groups::UpdateGroup;
    DeleteGroup: iam, write, groups::DeleteGroup;
    ListGroups: iam, read, groups::ListGroups;
    AddUserToGroup: iam, write, groups::AddUserToGroup;
    RemoveUserFromGroup: iam, write, groups::RemoveUserFromGroup;
    ListGroupsForUser: iam, read, groups::ListGroupsForUser;
    CreateVirtualMFADevice: iam, write, mfa::CreateVirtualMfaDevice;
    EnableMFADevice: iam, write, mfa::EnableMfaDevice;
    ResyncMFADevice: iam, write, mfa::ResyncMfaDevice;
    DeactivateMFADevice: iam, write, mfa::DeactivateMfaDevice;
    DeleteVirtualMFADevice: iam, write, mfa::DeleteVirtualMfaDevice;
    ListMFADevices: iam, read, mfa::ListMfaDevices;
    ListVirtualMFADevices: iam, read, mfa::ListVirtualMfaDevices;
    GetMFADevice: iam, read, mfa::GetMfaDevice;
    TagMFADevice: iam, write, mfa::TagMfaDevice;
    UntagMFADevice: iam, write, mfa::UntagMfaDevice;
    ListMFADeviceTags: iam, read, mfa::ListMfaDeviceTags;
    CreateLoginProfile: iam, write, passwords::CreateLoginProfile;
    GetLoginProfile: iam, read, passwords::GetLoginProfile;
    UpdateLoginProfile: iam, write, passwords::UpdateLoginProfile;
    DeleteLoginProfile: iam, write, passwords::DeleteLoginProfile;
    ChangePassword: iam, write, passwords::ChangePassword;
    UpdateAccountPasswordPolicy: iam, write, passwords::UpdateAccountPasswordPolicy;
    GetAccountPasswordPolicy: iam, read, passwords::GetAccountPasswordPolicy;
    GetAccountSummary: iam, read, account::GetAccountSummary;
    GetAccountAuthorizationDetails: iam, read, account::GetAccountAuthorizationDetails;
    GenerateCredentialReport: iam, write, reports::GenerateCredentialReport;
    GetCredentialReport: iam, read, reports::GetCredentialReport;
    TagPolicy: iam, write, policies::TagPolicy;
    UntagPolicy: iam, write, policies::UntagPolicy;
    ListPolicyTags: iam, read, policies::ListPolicyTags;
    DeleteAccountPasswordPolicy: iam, write, passwords::DeleteAccountPasswordPolicy;
    CreateAccountAlias: iam, write, passwords::CreateAccountAlias;
    DeleteAccountAlias: iam, write, passwords::DeleteAccountAlias;
    ListAccountAliases: iam, read, passwords::ListAccountAliases;
    GetAccessKeyLastUsed: iam, read, passwords::GetAccessKeyLastUsed;
    CreateRole: iam, write, roles::CreateRole;
    GetRole: iam, read, roles::GetRole;
    UpdateRole: iam, write, roles::UpdateRole;
    UpdateRoleDescription: iam, write, roles::UpdateRoleDescription;
    UpdateAssumeRolePolicy: iam, write, roles::UpdateAssumeRolePolicy;
    DeleteRole: iam, write, roles::DeleteRole;
    ListRoles: iam, read, roles::ListRoles;
    TagRole: iam, write, roles::TagRole;
    UntagRole: iam, write, roles::UntagRole;
    ListRoleTags: iam, read, roles::ListRoleTags;
    PutRolePermissionsBoundary: iam, write, roles::PutRolePermissionsBoundary;
    DeleteRolePermissionsBoundary: iam, write, roles::DeleteRolePermissionsBoundary;
    AttachUserPolicy: iam, write, attachments::AttachPolicy<OfUser>;
    AttachGroupPolicy: iam, write, attachments::AttachPolicy<OfGroup>;
    AttachRolePolicy: iam, write, attachments::AttachPolicy<OfRole>;
    DetachUserPolicy: iam, write, attachments::DetachPolicy<OfUser>;
    DetachGroupPolicy: iam, write, attachments::DetachPolicy<OfGroup>;
    DetachRolePolicy: iam, write, attachments::DetachPolicy<OfRole>;
    ListAttachedUserPolicies: iam, read, attachments::ListAttachedPolicies<OfUser>;
    ListAttachedGroupPolicies: iam, read, attachments::ListAttachedPolicies<OfGroup>;
    ListAttachedRolePolicies: iam, read, attachments::ListAttachedPolicies<OfRole>;
    PutUserPolicy: iam, write, attachments::PutInlinePolicy<OfUser>;
    PutGroupPolicy: iam, write, attachments::PutInlinePolicy<OfGroup>;
    PutRolePolicy: iam, write, attachments::PutInlinePolicy<OfRole>;
    GetUserPolicy: iam, read, attachments::GetInlinePolicy<OfUser>;
    GetGroupPolicy: iam, read, attachments::GetInlinePolicy<OfGroup>;
    GetRolePolicy: iam, read, attachments::GetInlinePolicy<OfRole>;
    DeleteUserPolicy: iam, write, attachments::DeleteInlinePolicy<OfUser>;
    DeleteGroupPolicy: iam, write, attachments::DeleteInlinePolicy<OfGroup>;
    DeleteRolePolicy: iam, write, attachments::DeleteInlinePolicy<OfRole>;
    ListUserPolicies: iam, read, attachments::ListInlinePolicies<OfUser>;
    ListGroupPolicies: iam, read, attachments::ListInlinePolicies<OfGroup>;
    ListRolePolicies: iam, read, attachments::ListInlinePolicies<OfRole>;
}

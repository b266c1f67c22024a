//! IAM and STS operations: typed input, the target each one acts on, and execution.
//!
//! **Architecture invariant**: [`execute`] is the only public way to run an operation. It resolves
//! the action and resource the operation acts on, asks [`crate::authz::authorize`], and only then
//! reaches the handler. Handlers are private to this module.

mod access_keys;
mod mfa;
mod users;

pub use access_keys::new_access_key;
pub use mfa::{MFA_DEVICES_PER_USER, MfaVerdict, VirtualMfaSecret, verify_mfa};

use time::OffsetDateTime;

use crate::authz::{AuthzRequest, authorize};
use crate::crypto::MasterKey;
use crate::error::{ApiError, OpError};
use crate::model::{AccessKey, MfaDevice, Tag, User, mfa_serial, user_arn};
use crate::principal::Caller;
use crate::store::Tx;
use crate::totp::CodeInput;
use crate::validate::{self as v, Validator};
use keyward_sigv4::SecretKey;

/// Most access keys a user (or the root user) may have.
pub const ACCESS_KEYS_PER_USER: usize = 2;
/// Most tags on an IAM entity.
pub const TAGS_PER_ENTITY: usize = 50;
const DEFAULT_MAX_ITEMS: i64 = 100;

/// A decoded request. Fields are `Option` where the wire may omit them, so that a missing
/// required member is reported with AWS's `Member must not be null` wording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    GetCallerIdentity,
    CreateUser {
        user_name: Option<String>,
        path: Option<String>,
        tags: Vec<Tag>,
    },
    GetUser {
        user_name: Option<String>,
    },
    ListUsers {
        path_prefix: Option<String>,
        marker: Option<String>,
        max_items: Option<i64>,
    },
    UpdateUser {
        user_name: Option<String>,
        new_user_name: Option<String>,
        new_path: Option<String>,
    },
    DeleteUser {
        user_name: Option<String>,
    },
    TagUser {
        user_name: Option<String>,
        tags: Vec<Tag>,
    },
    UntagUser {
        user_name: Option<String>,
        tag_keys: Vec<String>,
    },
    ListUserTags {
        user_name: Option<String>,
        marker: Option<String>,
        max_items: Option<i64>,
    },
    CreateAccessKey {
        user_name: Option<String>,
    },
    ListAccessKeys {
        user_name: Option<String>,
        marker: Option<String>,
        max_items: Option<i64>,
    },
    UpdateAccessKey {
        user_name: Option<String>,
        access_key_id: Option<String>,
        status: Option<String>,
    },
    DeleteAccessKey {
        user_name: Option<String>,
        access_key_id: Option<String>,
    },
    CreateVirtualMfaDevice {
        name: Option<String>,
        path: Option<String>,
        tags: Vec<Tag>,
    },
    EnableMfaDevice {
        user_name: Option<String>,
        serial_number: Option<String>,
        code1: Option<CodeInput>,
        code2: Option<CodeInput>,
    },
    ResyncMfaDevice {
        user_name: Option<String>,
        serial_number: Option<String>,
        code1: Option<CodeInput>,
        code2: Option<CodeInput>,
    },
    DeactivateMfaDevice {
        user_name: Option<String>,
        serial_number: Option<String>,
    },
    DeleteVirtualMfaDevice {
        serial_number: Option<String>,
    },
    ListMfaDevices {
        user_name: Option<String>,
        marker: Option<String>,
        max_items: Option<i64>,
    },
    ListVirtualMfaDevices {
        assignment_status: Option<String>,
        marker: Option<String>,
        max_items: Option<i64>,
    },
    GetMfaDevice {
        serial_number: Option<String>,
        user_name: Option<String>,
    },
    TagMfaDevice {
        serial_number: Option<String>,
        tags: Vec<Tag>,
    },
    UntagMfaDevice {
        serial_number: Option<String>,
        tag_keys: Vec<String>,
    },
    ListMfaDeviceTags {
        serial_number: Option<String>,
        marker: Option<String>,
        max_items: Option<i64>,
    },
}

impl Operation {
    /// The API action name, as in `Action=` and CloudTrail's `eventName`.
    pub fn name(&self) -> &'static str {
        match self {
            Operation::GetCallerIdentity => "GetCallerIdentity",
            Operation::CreateUser { .. } => "CreateUser",
            Operation::GetUser { .. } => "GetUser",
            Operation::ListUsers { .. } => "ListUsers",
            Operation::UpdateUser { .. } => "UpdateUser",
            Operation::DeleteUser { .. } => "DeleteUser",
            Operation::TagUser { .. } => "TagUser",
            Operation::UntagUser { .. } => "UntagUser",
            Operation::ListUserTags { .. } => "ListUserTags",
            Operation::CreateAccessKey { .. } => "CreateAccessKey",
            Operation::ListAccessKeys { .. } => "ListAccessKeys",
            Operation::UpdateAccessKey { .. } => "UpdateAccessKey",
            Operation::DeleteAccessKey { .. } => "DeleteAccessKey",
            Operation::CreateVirtualMfaDevice { .. } => "CreateVirtualMFADevice",
            Operation::EnableMfaDevice { .. } => "EnableMFADevice",
            Operation::ResyncMfaDevice { .. } => "ResyncMFADevice",
            Operation::DeactivateMfaDevice { .. } => "DeactivateMFADevice",
            Operation::DeleteVirtualMfaDevice { .. } => "DeleteVirtualMFADevice",
            Operation::ListMfaDevices { .. } => "ListMFADevices",
            Operation::ListVirtualMfaDevices { .. } => "ListVirtualMFADevices",
            Operation::GetMfaDevice { .. } => "GetMFADevice",
            Operation::TagMfaDevice { .. } => "TagMFADevice",
            Operation::UntagMfaDevice { .. } => "UntagMFADevice",
            Operation::ListMfaDeviceTags { .. } => "ListMFADeviceTags",
        }
    }

    /// The service prefix of the action (`iam` or `sts`).
    pub fn service(&self) -> &'static str {
        match self {
            Operation::GetCallerIdentity => "sts",
            _ => "iam",
        }
    }

    /// CloudTrail's `readOnly`.
    pub fn read_only(&self) -> bool {
        matches!(
            self,
            Operation::GetCallerIdentity
                | Operation::GetUser { .. }
                | Operation::ListUsers { .. }
                | Operation::ListUserTags { .. }
                | Operation::ListAccessKeys { .. }
                | Operation::ListMfaDevices { .. }
                | Operation::ListVirtualMfaDevices { .. }
                | Operation::GetMfaDevice { .. }
                | Operation::ListMfaDeviceTags { .. }
        )
    }
}

/// What an operation returns; the server encodes each variant in AWS's XML shape.
#[derive(Debug)]
pub enum Output {
    CallerIdentity {
        user_id: String,
        account: String,
        arn: String,
    },
    /// `CreateUser` and `GetUser`.
    User {
        user: User,
        arn: String,
    },
    /// `GetUser` called by the root user without `UserName`.
    RootUser {
        account_id: String,
        arn: String,
        created: OffsetDateTime,
    },
    Users {
        users: Vec<(User, String)>,
        page: Page,
    },
    Tags {
        tags: Vec<Tag>,
        page: Page,
    },
    AccessKeyCreated {
        user_name: Option<String>,
        key: AccessKey,
        secret: SecretKey,
    },
    AccessKeys {
        user_name: Option<String>,
        keys: Vec<AccessKey>,
        page: Page,
    },
    /// `CreateVirtualMFADevice`: the only response that carries the seed and the QR code.
    VirtualMfaDeviceCreated {
        device: MfaDevice,
        secret: VirtualMfaSecret,
    },
    /// `ListMFADevices`: (user name, device).
    MfaDevices {
        devices: Vec<(String, MfaDevice)>,
        page: Page,
    },
    /// `ListVirtualMFADevices`: each device with its user (and the user's ARN) when assigned.
    VirtualMfaDevices {
        devices: Vec<(MfaDevice, Option<(User, String)>)>,
        page: Page,
    },
    /// `GetMFADevice`.
    MfaDevice {
        user_name: Option<String>,
        device: MfaDevice,
    },
    Empty,
}

/// AWS's pagination: `IsTruncated` and, when truncated, the `Marker` for the next call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub is_truncated: bool,
    pub marker: Option<String>,
}

/// What every operation needs besides its input and the transaction.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    pub partition: &'a str,
    pub now: OffsetDateTime,
    pub master_key: &'a MasterKey,
    pub caller: &'a Caller,
}

/// What an operation acts on, for authorisation.
enum Target {
    /// The action on this resource ARN must be allowed.
    Resource { action: String, resource: String },
    /// No permission is needed (`sts:GetCallerIdentity`, as AWS documents: an explicit deny of
    /// it does not stop it).
    Unrestricted,
}

/// Resolves, authorises and runs `op` in `tx`.
pub async fn execute<T: Tx>(tx: &mut T, ctx: &Ctx<'_>, op: Operation) -> Result<Output, OpError> {
    match target(tx, ctx, &op).await? {
        Target::Unrestricted => {}
        Target::Resource { action, resource } => {
            let principal_arn = ctx.caller.principal.arn(ctx.partition);
            authorize(&AuthzRequest {
                principal: &ctx.caller.principal,
                principal_arn: &principal_arn,
                action: &action,
                resource: &resource,
            })?;
        }
    }
    run(tx, ctx, op).await
}

pub(crate) fn account_id<'a>(ctx: &Ctx<'a>) -> &'a str {
    ctx.caller.principal.account_id()
}

/// The ARN a user-scoped action targets: the stored user's ARN (with its path) when it exists,
/// otherwise `user/NAME` under the given path, as AWS's authorisation layer builds it.
pub(crate) async fn user_resource<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    name: Option<&str>,
    path: Option<&str>,
) -> Result<String, OpError> {
    let acct = account_id(ctx);
    match name {
        None => Ok(ctx.caller.principal.arn(ctx.partition)),
        Some(name) => Ok(match tx.get_user(acct, name).await? {
            Some(u) => u.arn(ctx.partition),
            None => user_arn(ctx.partition, acct, path.unwrap_or("/"), name),
        }),
    }
}

/// The ARN a device action targets: the stored device's serial number (its ARN) when it exists,
/// otherwise the serial number as given.
async fn mfa_resource<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    serial: Option<&str>,
) -> Result<String, OpError> {
    let serial = serial.unwrap_or("");
    Ok(match tx.get_mfa_device(account_id(ctx), serial).await? {
        Some(d) => d.serial,
        None => serial.to_owned(),
    })
}

async fn target<T: Tx>(tx: &mut T, ctx: &Ctx<'_>, op: &Operation) -> Result<Target, OpError> {
    let iam = |action: &str, resource: String| Target::Resource {
        action: format!("iam:{action}"),
        resource,
    };
    let name = op.name();
    Ok(match op {
        Operation::GetCallerIdentity => Target::Unrestricted,
        Operation::ListUsers { .. } => iam(
            name,
            format!("arn:{}:iam::{}:user/", ctx.partition, account_id(ctx)),
        ),
        Operation::CreateUser {
            user_name, path, ..
        } => iam(
            name,
            user_resource(tx, ctx, user_name.as_deref().or(Some("")), path.as_deref()).await?,
        ),
        Operation::GetUser { user_name }
        | Operation::CreateAccessKey { user_name }
        | Operation::ListAccessKeys { user_name, .. }
        | Operation::UpdateAccessKey { user_name, .. }
        | Operation::DeleteAccessKey { user_name, .. } => iam(
            name,
            user_resource(tx, ctx, user_name.as_deref(), None).await?,
        ),
        Operation::UpdateUser { user_name, .. }
        | Operation::DeleteUser { user_name }
        | Operation::TagUser { user_name, .. }
        | Operation::UntagUser { user_name, .. }
        | Operation::ListUserTags { user_name, .. } => iam(
            name,
            user_resource(tx, ctx, Some(user_name.as_deref().unwrap_or("")), None).await?,
        ),
        // The Service Authorization Reference: Create/Delete/Tag/Untag/ListTags act on the
        // device (`mfa`), Enable/Resync/Deactivate/List/Get on the user.
        Operation::CreateVirtualMfaDevice { name: n, path, .. } => iam(
            name,
            mfa_serial(
                ctx.partition,
                account_id(ctx),
                path.as_deref().unwrap_or("/"),
                n.as_deref().unwrap_or(""),
            ),
        ),
        Operation::DeleteVirtualMfaDevice { serial_number }
        | Operation::TagMfaDevice { serial_number, .. }
        | Operation::UntagMfaDevice { serial_number, .. }
        | Operation::ListMfaDeviceTags { serial_number, .. } => {
            iam(name, mfa_resource(tx, ctx, serial_number.as_deref()).await?)
        }
        Operation::EnableMfaDevice { user_name, .. }
        | Operation::ResyncMfaDevice { user_name, .. } => iam(
            name,
            user_resource(tx, ctx, Some(user_name.as_deref().unwrap_or("")), None).await?,
        ),
        Operation::DeactivateMfaDevice { user_name, .. }
        | Operation::ListMfaDevices { user_name, .. }
        | Operation::GetMfaDevice { user_name, .. } => iam(
            name,
            user_resource(tx, ctx, user_name.as_deref(), None).await?,
        ),
        Operation::ListVirtualMfaDevices { .. } => iam(
            name,
            format!("arn:{}:iam::{}:mfa/", ctx.partition, account_id(ctx)),
        ),
    })
}

async fn run<T: Tx>(tx: &mut T, ctx: &Ctx<'_>, op: Operation) -> Result<Output, OpError> {
    match op {
        Operation::GetCallerIdentity => {
            let p = &ctx.caller.principal;
            Ok(Output::CallerIdentity {
                user_id: p.user_id().to_owned(),
                account: p.account_id().to_owned(),
                arn: p.arn(ctx.partition),
            })
        }
        Operation::CreateUser {
            user_name,
            path,
            tags,
        } => users::create_user(tx, ctx, user_name, path, tags).await,
        Operation::GetUser { user_name } => users::get_user(tx, ctx, user_name).await,
        Operation::ListUsers {
            path_prefix,
            marker,
            max_items,
        } => users::list_users(tx, ctx, path_prefix, marker, max_items).await,
        Operation::UpdateUser {
            user_name,
            new_user_name,
            new_path,
        } => users::update_user(tx, ctx, user_name, new_user_name, new_path).await,
        Operation::DeleteUser { user_name } => users::delete_user(tx, ctx, user_name).await,
        Operation::TagUser { user_name, tags } => users::tag_user(tx, ctx, user_name, tags).await,
        Operation::UntagUser {
            user_name,
            tag_keys,
        } => users::untag_user(tx, ctx, user_name, tag_keys).await,
        Operation::ListUserTags {
            user_name,
            marker,
            max_items,
        } => users::list_user_tags(tx, ctx, user_name, marker, max_items).await,
        Operation::CreateAccessKey { user_name } => {
            access_keys::create_access_key(tx, ctx, user_name).await
        }
        Operation::ListAccessKeys {
            user_name,
            marker,
            max_items,
        } => access_keys::list_access_keys(tx, ctx, user_name, marker, max_items).await,
        Operation::UpdateAccessKey {
            user_name,
            access_key_id,
            status,
        } => access_keys::update_access_key(tx, ctx, user_name, access_key_id, status).await,
        Operation::DeleteAccessKey {
            user_name,
            access_key_id,
        } => access_keys::delete_access_key(tx, ctx, user_name, access_key_id).await,
        Operation::CreateVirtualMfaDevice { name, path, tags } => {
            mfa::create_virtual_mfa_device(tx, ctx, name, path, tags).await
        }
        Operation::EnableMfaDevice {
            user_name,
            serial_number,
            code1,
            code2,
        } => mfa::enable_mfa_device(tx, ctx, user_name, serial_number, code1, code2).await,
        Operation::ResyncMfaDevice {
            user_name,
            serial_number,
            code1,
            code2,
        } => mfa::resync_mfa_device(tx, ctx, user_name, serial_number, code1, code2).await,
        Operation::DeactivateMfaDevice {
            user_name,
            serial_number,
        } => mfa::deactivate_mfa_device(tx, ctx, user_name, serial_number).await,
        Operation::DeleteVirtualMfaDevice { serial_number } => {
            mfa::delete_virtual_mfa_device(tx, ctx, serial_number).await
        }
        Operation::ListMfaDevices {
            user_name,
            marker,
            max_items,
        } => mfa::list_mfa_devices(tx, ctx, user_name, marker, max_items).await,
        Operation::ListVirtualMfaDevices {
            assignment_status,
            marker,
            max_items,
        } => mfa::list_virtual_mfa_devices(tx, ctx, assignment_status, marker, max_items).await,
        Operation::GetMfaDevice {
            serial_number,
            user_name,
        } => mfa::get_mfa_device(tx, ctx, serial_number, user_name).await,
        Operation::TagMfaDevice {
            serial_number,
            tags,
        } => mfa::tag_mfa_device(tx, ctx, serial_number, tags).await,
        Operation::UntagMfaDevice {
            serial_number,
            tag_keys,
        } => mfa::untag_mfa_device(tx, ctx, serial_number, tag_keys).await,
        Operation::ListMfaDeviceTags {
            serial_number,
            marker,
            max_items,
        } => mfa::list_mfa_device_tags(tx, ctx, serial_number, marker, max_items).await,
    }
}

pub(crate) fn validate_tags(v: &mut Validator, tags: &[Tag]) {
    for (i, tag) in tags.iter().enumerate() {
        let n = i + 1;
        v.string(&format!("tags.{n}.member.key"), &tag.key, &v::TAG_KEY);
        v.string(&format!("tags.{n}.member.value"), &tag.value, &v::TAG_VALUE);
    }
    v.list_len("tags", &render_tags(tags), tags.len(), TAGS_PER_ENTITY);
}

pub(crate) fn render_tags(tags: &[Tag]) -> String {
    let inner: Vec<String> = tags
        .iter()
        .map(|t| format!("Tag(Key={}, Value={})", t.key, t.value))
        .collect();
    format!("[{}]", inner.join(", "))
}

/// IAM treats tag keys without regard to case; a request naming one twice is refused.
pub(crate) fn reject_duplicate_tag_keys(tags: &[Tag]) -> Result<(), ApiError> {
    for (i, t) in tags.iter().enumerate() {
        if tags
            .iter()
            .skip(i + 1)
            .any(|o| o.key.eq_ignore_ascii_case(&t.key))
        {
            return Err(ApiError::invalid_input(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
            ));
        }
    }
    Ok(())
}

pub(crate) fn page_params(
    v: &mut Validator,
    marker: Option<&str>,
    max_items: Option<i64>,
) -> usize {
    v.opt_string("marker", marker, &v::MARKER);
    let max = max_items.unwrap_or(DEFAULT_MAX_ITEMS);
    v.range("maxItems", max, 1, 1000);
    usize::try_from(max.clamp(1, 1000)).unwrap_or(100)
}

/// Markers are opaque to clients; ours carry the last item's sort key.
pub(crate) fn encode_marker(last: &str) -> String {
    data_encoding::BASE64.encode(last.as_bytes())
}

pub(crate) fn decode_marker(marker: &str) -> Result<String, ApiError> {
    data_encoding::BASE64
        .decode(marker.as_bytes())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| ApiError::invalid_input("Invalid Marker."))
}

/// Offsets into short lists (tags, keys) are the marker's payload.
pub(crate) fn marker_offset(marker: Option<&str>) -> Result<usize, ApiError> {
    match marker {
        None => Ok(0),
        Some(m) => decode_marker(m)?
            .parse()
            .map_err(|_| ApiError::invalid_input("Invalid Marker.")),
    }
}

pub(crate) fn slice_page<T: Clone>(items: &[T], offset: usize, max: usize) -> (Vec<T>, Page) {
    let page: Vec<T> = items.iter().skip(offset).take(max).cloned().collect();
    let end = offset.saturating_add(page.len());
    let is_truncated = end < items.len();
    let marker = is_truncated.then(|| encode_marker(&end.to_string()));
    (
        page,
        Page {
            is_truncated,
            marker,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::find_tag;

    #[test]
    fn pages_of_short_lists() {
        let items: Vec<u32> = (0..5).collect();
        let (p, page) = slice_page(&items, 0, 2);
        assert_eq!(p, vec![0, 1]);
        assert!(page.is_truncated);
        let off = marker_offset(page.marker.as_deref()).unwrap();
        let (p, page) = slice_page(&items, off, 10);
        assert_eq!(p, vec![2, 3, 4]);
        assert_eq!(
            page,
            Page {
                is_truncated: false,
                marker: None
            }
        );
    }

    #[test]
    fn duplicate_tag_keys_ignore_case() {
        let tags = vec![
            Tag {
                key: "Team".into(),
                value: "a".into(),
            },
            Tag {
                key: "team".into(),
                value: "b".into(),
            },
        ];
        assert_eq!(
            reject_duplicate_tag_keys(&tags).unwrap_err().code,
            "InvalidInput"
        );
        assert!(find_tag(&tags, "TEAM").is_some());
    }
}

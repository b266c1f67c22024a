//! Virtual MFA devices: create, enable with two consecutive codes, resync, deactivate, delete,
//! list, tags; and [`verify_mfa`], the one place a single code is checked (STS and the console).
//!
//! Before a code is looked at, its request reserves an attempt in the store, in one atomic step
//! with counting the device's earlier ones (`Tx::reserve_mfa_attempt`); a locked-out device's
//! code is refused unseen. The reservation outlives the request's transaction, so a refused code
//! counts at once, however many requests race: at most `throttle_failures` codes of a device are
//! ever checked per lockout window, on one node or many. An accepted code releases its attempt.
//!
//! Every refused code becomes an [`MfaFailure`] (reason, and the offset at which the code would
//! have matched) for the doctor and the audit. A request that fails is rolled back, so a refusal
//! travels as [`OpError::MfaRejected`] and the server writes it afterwards.

use std::fmt;

use time::{Duration, OffsetDateTime};

use crate::crypto::MasterKey;
use crate::error::{ApiError, OpError, StoreError};
use crate::model::{MfaAttempt, MfaDevice, MfaFailure, MfaFailureReason, Tag, User, mfa_serial};
use crate::principal::Principal;
use crate::store::Tx;
use crate::totp::{self, Check, Code, CodeInput, DeviceClock, Seed, TotpConfig};
use crate::validate::{self as v, Validator};

use super::users::require_user;
#[allow(unused_imports)]
use super::*;
use super::{
    Ctx, Output, account_id, marker_offset, merge_tags, opt, page_size, reject_duplicate_tag_keys,
    remove_tags, slice_page,
};

/// Most MFA devices assigned to one user.
pub const MFA_DEVICES_PER_USER: usize = 8;

/// `CreateVirtualMFADevice`'s secrets: returned once, never logged (`Debug` is redacted).
pub struct VirtualMfaSecret {
    pub seed: Seed,
    /// The PNG of the `otpauth://` URI's QR code (it holds the seed too).
    pub qr_png: Vec<u8>,
}

impl fmt::Debug for VirtualMfaSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VirtualMfaSecret(**redacted**)")
    }
}

impl Drop for VirtualMfaSecret {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.qr_png);
    }
}

fn no_such_device(serial: &str) -> ApiError {
    ApiError::no_such_entity(format!(
        "VirtualMFADevice with serial number {serial} doesn't exist."
    ))
}

fn invalid_for_user() -> ApiError {
    ApiError::no_such_entity("MFA Device invalid for user.")
}

async fn require_device<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    serial: &str,
) -> Result<MfaDevice, OpError> {
    tx.get_mfa_device(account_id(ctx), serial)
        .await?
        .ok_or_else(|| no_such_device(serial).into())
}

fn open_seed(master_key: &MasterKey, device: &MfaDevice) -> Result<Seed, StoreError> {
    master_key
        .open(&device.sealed_seed, &device.serial)
        .map(Seed::from_bytes)
}

/// `true` while `times` (a device's counted attempts, oldest first) lock it at `now`:
/// `throttle_failures` of them within `throttle_window_secs`, the last less than `lockout_secs` ago.
fn locked_out(times: &[OffsetDateTime], now: OffsetDateTime, cfg: &TotpConfig) -> bool {
    cfg.throttle_failures > 0
        && times
            .windows(cfg.throttle_failures)
            .any(|w| match (w.first(), w.last()) {
                (Some(first), Some(last)) => {
                    *last - *first <= Duration::seconds(cfg.throttle_window_secs)
                        && now - *last < Duration::seconds(cfg.lockout_secs)
                }
                _ => false,
            })
}

/// The throttle's answer to one code.
enum Gate {
    /// The code may be checked; its attempt (none while the throttle is off) counts until it is
    /// released.
    Open(Option<MfaAttempt>),
    /// The device is locked out: the code is refused without being looked at.
    Locked,
}

/// Reserves an attempt at a code of `serial` unless the device is locked out. Refusals made during
/// a lockout reserve nothing, so they do not extend it.
async fn reserve_attempt<T: Tx>(
    tx: &mut T,
    serial: &str,
    now: OffsetDateTime,
    cfg: &TotpConfig,
) -> Result<Gate, StoreError> {
    if cfg.throttle_failures == 0 {
        return Ok(Gate::Open(None));
    }
    let since = now - Duration::seconds(cfg.throttle_window_secs + cfg.lockout_secs);
    let admit = |times: &[OffsetDateTime]| !locked_out(times, now, cfg);
    let reserved = tx.reserve_mfa_attempt(serial, now, since, &admit).await?;
    Ok(reserved.map_or(Gate::Locked, |attempt| Gate::Open(Some(attempt))))
}

/// An accepted code's attempt no longer counts.
async fn release_attempt<T: Tx>(tx: &mut T, attempt: Option<MfaAttempt>) -> Result<(), StoreError> {
    match attempt {
        Some(attempt) => tx.release_mfa_attempt(attempt).await,
        None => Ok(()),
    }
}

fn failure(
    account_id: &str,
    serial: &str,
    user_id: Option<&str>,
    reason: MfaFailureReason,
    matched_offset_secs: Option<i64>,
    now: OffsetDateTime,
) -> MfaFailure {
    MfaFailure {
        serial: serial.to_owned(),
        account_id: account_id.to_owned(),
        user_id: user_id.map(str::to_owned),
        reason,
        matched_offset_secs,
        time: now,
        request_id: None,
    }
}

/// What [`verify_mfa`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MfaVerdict {
    /// The code of this step was accepted and the step recorded: it will not be accepted again.
    Accepted { step: i64 },
    /// Refused; the caller must keep the record (see [`MfaVerdict::into_result`]).
    Refused(MfaFailure),
}

impl MfaVerdict {
    /// `Ok(step)`, or the refusal carrying `error` (what the client is told) and the record the
    /// server writes after rolling the request back.
    pub fn into_result(self, error: ApiError) -> Result<i64, OpError> {
        match self {
            MfaVerdict::Accepted { step } => Ok(step),
            MfaVerdict::Refused(f) => Err(OpError::MfaRejected {
                error,
                failure: Box::new(f),
            }),
        }
    }
}

/// Checks one code of `user`'s device `serial` at `now`: the device must not be locked out (the
/// code's attempt is reserved first, whatever follows), must exist and be assigned to the user,
/// and the code must match a step within the window around the device's offset that is later
/// than the last accepted one. An accepted step is recorded atomically, so of two concurrent
/// requests with the same code exactly one wins.
pub async fn verify_mfa<T: Tx>(
    tx: &mut T,
    master_key: &MasterKey,
    cfg: &TotpConfig,
    user: &User,
    serial: &str,
    code: &str,
    now: OffsetDateTime,
) -> Result<MfaVerdict, StoreError> {
    let acct = user.account_id.as_str();
    let refuse = |reason, drift| {
        Ok(MfaVerdict::Refused(failure(
            acct,
            serial,
            Some(&user.user_id),
            reason,
            drift,
            now,
        )))
    };
    let attempt = match reserve_attempt(tx, serial, now, cfg).await? {
        Gate::Open(attempt) => attempt,
        Gate::Locked => return refuse(MfaFailureReason::Throttled, None),
    };
    let Some(device) = tx.get_mfa_device(acct, serial).await? else {
        return refuse(MfaFailureReason::WrongSerial, None);
    };
    match device.user_id.as_deref() {
        None => return refuse(MfaFailureReason::NotEnabled, None),
        Some(owner) if owner != user.user_id => {
            return refuse(MfaFailureReason::NotAssignedToUser, None);
        }
        Some(_) => {}
    }
    let Some(code) = Code::parse(code) else {
        return refuse(MfaFailureReason::WrongCode, None);
    };
    let seed = open_seed(master_key, &device)?;
    let clock = DeviceClock {
        offset_steps: device.offset_steps,
        last_step: device.last_step,
    };
    match totp::check(&seed, &code, now, clock, cfg) {
        Check::Accepted { step } => {
            if tx.advance_mfa_step(&device.serial, step).await? {
                release_attempt(tx, attempt).await?;
                Ok(MfaVerdict::Accepted { step })
            } else {
                refuse(MfaFailureReason::Replay, None)
            }
        }
        Check::Replay { .. } => refuse(MfaFailureReason::Replay, None),
        Check::Wrong { drift_secs } => refuse(MfaFailureReason::WrongCode, drift_secs),
    }
}

fn reject(f: MfaFailure) -> OpError {
    OpError::MfaRejected {
        error: ApiError::invalid_authentication_code(),
        failure: Box::new(f),
    }
}

/// The two codes of Enable and Resync as parsed codes (validation has checked their shape).
fn parse_pair(code1: &CodeInput, code2: &CodeInput) -> Result<(Code, Code), OpError> {
    match (Code::parse(code1.expose()), Code::parse(code2.expose())) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(ApiError::invalid_authentication_code().into()),
    }
}

pub(super) async fn create_virtual_mfa_device<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    name: Option<String>,
    path: Option<String>,
    tags: Vec<Tag>,
) -> Result<Output, OpError> {
    // botocore's `virtualMFADeviceName` has no maximum; the API reference's is 226.
    let device_name = opt(&name);
    let mut v = Validator::new();
    v.string(
        "virtualMFADeviceName",
        &device_name,
        &v::VIRTUAL_MFA_DEVICE_NAME,
    );
    v.finish()?;
    reject_duplicate_tag_keys(&tags)?;
    let acct = account_id(ctx);
    let path = path.unwrap_or_else(|| "/".to_owned());
    let serial = mfa_serial(ctx.partition, acct, &path, &device_name);
    if tx.get_mfa_device(acct, &serial).await?.is_some() {
        return Err(ApiError::entity_already_exists(
            "MFADevice entity at the same path and name already exists.",
        )
        .into());
    }
    let seed = Seed::generate()?;
    let device = MfaDevice {
        sealed_seed: ctx.master_key.seal(seed.expose(), &serial)?,
        serial,
        account_id: acct.to_owned(),
        name: device_name,
        path,
        user_id: None,
        enable_date: None,
        created: ctx.now,
        offset_steps: 0,
        last_step: None,
        tags,
    };
    tx.insert_mfa_device(&device).await?;
    let uri = totp::otpauth_uri(&device.name, acct, &seed);
    let qr_png = totp::qr_png(&uri)?;
    Ok(Output::VirtualMfaDeviceCreated {
        device,
        secret: VirtualMfaSecret { seed, qr_png },
    })
}

pub(super) async fn enable_mfa_device<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    user_name: Option<String>,
    serial: Option<String>,
    code1: Option<CodeInput>,
    code2: Option<CodeInput>,
) -> Result<Output, OpError> {
    let name = user_name.as_deref().unwrap_or_default();
    let serial = serial.as_deref().unwrap_or_default();
    let (Some(code1), Some(code2)) = (code1, code2) else {
        return Err(ApiError::invalid_authentication_code().into());
    };
    let user = require_user(tx, ctx, name).await?;
    let mut device = require_device(tx, ctx, serial).await?;
    if device.user_id.is_some() {
        return Err(ApiError::entity_already_exists("MFA Device is already in use.").into());
    }
    let assigned = tx
        .list_mfa_devices(account_id(ctx), Some(&user.user_id))
        .await?;
    if assigned.len() >= MFA_DEVICES_PER_USER {
        return Err(ApiError::limit_exceeded(format!(
            "Cannot exceed quota for MFADevicesPerUser: {MFA_DEVICES_PER_USER}"
        ))
        .into());
    }
    let cfg = *ctx.totp;
    let acct = account_id(ctx);
    let fail = |reason, drift| {
        reject(failure(
            acct,
            serial,
            Some(&user.user_id),
            reason,
            drift,
            ctx.now,
        ))
    };
    let (c1, c2) = parse_pair(&code1, &code2)?;
    let attempt = match reserve_attempt(tx, &device.serial, ctx.now, &cfg).await? {
        Gate::Open(attempt) => attempt,
        Gate::Locked => return Err(fail(MfaFailureReason::Throttled, None)),
    };
    let seed = open_seed(ctx.master_key, &device)?;
    let now_step = totp::step_of(ctx.now);
    // The second code must be within the accepted window of a device with no offset.
    match totp::find_pair(&seed, &c1, &c2, now_step, cfg.window_steps) {
        Some(second) if device.last_step.is_some_and(|last| second - 1 <= last) => {
            Err(fail(MfaFailureReason::Replay, None))
        }
        Some(second) => {
            device.user_id = Some(user.user_id.clone());
            device.enable_date = Some(ctx.now);
            device.offset_steps = second - now_step;
            device.last_step = Some(second);
            tx.update_mfa_device(&device).await?;
            release_attempt(tx, attempt).await?;
            Ok(Output::Empty)
        }
        None => {
            let drift = totp::drift_of(&seed, &c2, ctx.now, cfg.drift_search_steps);
            Err(fail(MfaFailureReason::WrongCode, drift))
        }
    }
}

pub(super) async fn resync_mfa_device<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    user_name: Option<String>,
    serial: Option<String>,
    code1: Option<CodeInput>,
    code2: Option<CodeInput>,
) -> Result<Output, OpError> {
    let name = user_name.as_deref().unwrap_or_default();
    let serial = serial.as_deref().unwrap_or_default();
    let (Some(code1), Some(code2)) = (code1, code2) else {
        return Err(ApiError::invalid_authentication_code().into());
    };
    let user = require_user(tx, ctx, name).await?;
    let mut device = require_device(tx, ctx, serial).await?;
    if device.user_id.as_deref() != Some(user.user_id.as_str()) {
        return Err(invalid_for_user().into());
    }
    let cfg = *ctx.totp;
    let acct = account_id(ctx);
    let fail = |reason, drift| {
        reject(failure(
            acct,
            serial,
            Some(&user.user_id),
            reason,
            drift,
            ctx.now,
        ))
    };
    let (c1, c2) = parse_pair(&code1, &code2)?;
    let attempt = match reserve_attempt(tx, &device.serial, ctx.now, &cfg).await? {
        Gate::Open(attempt) => attempt,
        Gate::Locked => return Err(fail(MfaFailureReason::Throttled, None)),
    };
    let seed = open_seed(ctx.master_key, &device)?;
    let now_step = totp::step_of(ctx.now);
    match totp::find_pair(&seed, &c1, &c2, now_step, cfg.resync_window_steps) {
        Some(second) => {
            // The device's clock defines its steps from now on: a device that went back in time
            // would otherwise be locked out until it caught up with its last accepted step.
            device.offset_steps = second - now_step;
            device.last_step = Some(second);
            tx.update_mfa_device(&device).await?;
            release_attempt(tx, attempt).await?;
            Ok(Output::Empty)
        }
        None => {
            let drift = totp::drift_of(&seed, &c2, ctx.now, cfg.drift_search_steps);
            Err(fail(MfaFailureReason::WrongCode, drift))
        }
    }
}

/// The user an MFA operation addresses: the named user, or the caller (`None` for root).
async fn device_owner<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    user_name: Option<&str>,
) -> Result<Option<User>, OpError> {
    match (user_name, &ctx.caller.principal) {
        (Some(name), _) => Ok(Some(require_user(tx, ctx, name).await?)),
        (None, Principal::User(me)) => Ok(Some(require_user(tx, ctx, &me.name).await?)),
        (None, Principal::Root { .. }) => Ok(None),
        (None, _) => Err(super::non_user_credentials().into()),
    }
}

pub(super) async fn deactivate_mfa_device<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    user_name: Option<String>,
    serial: Option<String>,
) -> Result<Output, OpError> {
    let serial = serial.as_deref().unwrap_or_default();
    let owner = device_owner(tx, ctx, user_name.as_deref()).await?;
    let mut device = require_device(tx, ctx, serial).await?;
    match (&owner, device.user_id.as_deref()) {
        (Some(u), Some(assigned)) if u.user_id == assigned => {}
        _ => return Err(invalid_for_user().into()),
    }
    // The last accepted step stays: codes used before cannot be replayed after re-enabling.
    device.user_id = None;
    device.enable_date = None;
    device.offset_steps = 0;
    tx.update_mfa_device(&device).await?;
    Ok(Output::Empty)
}

pub(super) async fn delete_virtual_mfa_device<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    serial: Option<String>,
) -> Result<Output, OpError> {
    let device = require_device(tx, ctx, &opt(&serial)).await?;
    if device.user_id.is_some() {
        return Err(
            ApiError::delete_conflict("MFA VirtualDevice in use. Must deactivate first.").into(),
        );
    }
    tx.delete_mfa_device(&device.serial).await?;
    Ok(Output::Empty)
}

pub(super) async fn list_mfa_devices<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    user_name: Option<String>,
    marker: Option<String>,
    max_items: Option<i64>,
) -> Result<Output, OpError> {
    let max = page_size(max_items);
    let owner = device_owner(tx, ctx, user_name.as_deref()).await?;
    let devices: Vec<(String, MfaDevice)> = match owner {
        // keyward does not assign MFA devices to the root user (yet): root has none.
        None => Vec::new(),
        Some(u) => tx
            .list_mfa_devices(account_id(ctx), Some(&u.user_id))
            .await?
            .into_iter()
            .map(|d| (u.name.clone(), d))
            .collect(),
    };
    let (devices, page) = slice_page(&devices, marker_offset(marker.as_deref())?, max);
    Ok(Output::MfaDevices { devices, page })
}

pub(super) async fn list_virtual_mfa_devices<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    assignment_status: Option<String>,
    marker: Option<String>,
    max_items: Option<i64>,
) -> Result<Output, OpError> {
    let max = page_size(max_items);
    let wanted = |d: &MfaDevice| match assignment_status.as_deref() {
        Some("Assigned") => d.user_id.is_some(),
        Some("Unassigned") => d.user_id.is_none(),
        _ => true,
    };
    let all = tx.list_mfa_devices(account_id(ctx), None).await?;
    let mut devices = Vec::new();
    for d in all.into_iter().filter(|d| wanted(d)) {
        let user = match &d.user_id {
            Some(id) => tx.get_user_by_id(id).await?.map(|u| {
                let arn = u.arn(ctx.partition);
                (u, arn)
            }),
            None => None,
        };
        devices.push((d, user));
    }
    let (devices, page) = slice_page(&devices, marker_offset(marker.as_deref())?, max);
    Ok(Output::VirtualMfaDevices { devices, page })
}

pub(super) async fn get_mfa_device<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    serial: Option<String>,
    user_name: Option<String>,
) -> Result<Output, OpError> {
    let device = require_device(tx, ctx, &opt(&serial)).await?;
    let assigned = match &device.user_id {
        Some(id) => tx.get_user_by_id(id).await?,
        None => None,
    };
    if let Some(name) = &user_name {
        let user = require_user(tx, ctx, name).await?;
        if assigned.as_ref().map(|u| &u.user_id) != Some(&user.user_id) {
            return Err(invalid_for_user().into());
        }
    }
    Ok(Output::MfaDevice {
        user_name: assigned.map(|u| u.name),
        device,
    })
}

pub(super) async fn tag_mfa_device<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    serial: Option<String>,
    tags: Vec<Tag>,
) -> Result<Output, OpError> {
    reject_duplicate_tag_keys(&tags)?;
    let mut device = require_device(tx, ctx, &opt(&serial)).await?;
    merge_tags(&mut device.tags, tags, "TagsPerMFADevice")?;
    tx.update_mfa_device(&device).await?;
    Ok(Output::Empty)
}

pub(super) async fn untag_mfa_device<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    serial: Option<String>,
    tag_keys: Vec<String>,
) -> Result<Output, OpError> {
    let mut device = require_device(tx, ctx, &opt(&serial)).await?;
    remove_tags(&mut device.tags, &tag_keys);
    tx.update_mfa_device(&device).await?;
    Ok(Output::Empty)
}

pub(super) async fn list_mfa_device_tags<T: Tx>(
    tx: &mut T,
    ctx: &Ctx<'_>,
    serial: Option<String>,
    marker: Option<String>,
    max_items: Option<i64>,
) -> Result<Output, OpError> {
    let device = require_device(tx, ctx, &opt(&serial)).await?;
    tags_page(&device.tags, marker, max_items)
}

// ── Operation inputs (rows of `table.rs`) ──────────────────────────────────────────────────────

input! {
    pub struct CreateVirtualMfaDevice {
        name: Option<String> = string("VirtualMFADeviceName"),
        path: Option<String> = string("Path"),
        tags: Vec<Tag> = tags("Tags"),
    }
}

impl Handler for CreateVirtualMfaDevice {
    async fn target<T: Tx>(&self, op: OpName, _tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let CreateVirtualMfaDevice { name, path, tags } = self;
        // The Service Authorization Reference: Create/Delete/Tag/Untag/ListTags act on the
        // device (`mfa`), Enable/Resync/Deactivate/List/Get on the user.
        let serial = mfa_serial(
            ctx.partition,
            account_id(ctx),
            path.as_deref().unwrap_or("/"),
            &opt(name),
        );
        Ok(permission(op, serial, request_tag_keys(tags)))
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let CreateVirtualMfaDevice { name, path, tags } = self;
        create_virtual_mfa_device(tx, ctx, name, path, tags).await
    }
}

input! {
    pub struct EnableMfaDevice {
        user_name: Option<String> = string("UserName"),
        serial_number: Option<String> = string("SerialNumber"),
        code1: Option<CodeInput> = code("AuthenticationCode1"),
        code2: Option<CodeInput> = code("AuthenticationCode2"),
    }
}

impl Handler for EnableMfaDevice {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let EnableMfaDevice { user_name, .. } = self;
        user_permission(tx, ctx, op, Some(&opt(user_name)), None, Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let EnableMfaDevice {
            user_name,
            serial_number,
            code1,
            code2,
        } = self;
        enable_mfa_device(tx, ctx, user_name, serial_number, code1, code2).await
    }
}

input! {
    pub struct ResyncMfaDevice {
        user_name: Option<String> = string("UserName"),
        serial_number: Option<String> = string("SerialNumber"),
        code1: Option<CodeInput> = code("AuthenticationCode1"),
        code2: Option<CodeInput> = code("AuthenticationCode2"),
    }
}

impl Handler for ResyncMfaDevice {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let ResyncMfaDevice { user_name, .. } = self;
        user_permission(tx, ctx, op, Some(&opt(user_name)), None, Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let ResyncMfaDevice {
            user_name,
            serial_number,
            code1,
            code2,
        } = self;
        resync_mfa_device(tx, ctx, user_name, serial_number, code1, code2).await
    }
}

input! {
    pub struct DeactivateMfaDevice {
        user_name: Option<String> = string("UserName"),
        serial_number: Option<String> = string("SerialNumber"),
    }
}

impl Handler for DeactivateMfaDevice {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let DeactivateMfaDevice { user_name, .. } = self;
        user_permission(tx, ctx, op, user_name.as_deref(), None, Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let DeactivateMfaDevice {
            user_name,
            serial_number,
        } = self;
        deactivate_mfa_device(tx, ctx, user_name, serial_number).await
    }
}

input! {
    pub struct DeleteVirtualMfaDevice {
        serial_number: Option<String> = string("SerialNumber"),
    }
}

impl Handler for DeleteVirtualMfaDevice {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let DeleteVirtualMfaDevice { serial_number } = self;
        mfa_permission(tx, ctx, op, serial_number.as_deref(), Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let DeleteVirtualMfaDevice { serial_number } = self;
        delete_virtual_mfa_device(tx, ctx, serial_number).await
    }
}

input! {
    pub struct ListMfaDevices {
        user_name: Option<String> = string("UserName"),
        marker: Option<String> = string("Marker"),
        max_items: Option<i64> = integer("MaxItems"),
    }
}

impl Handler for ListMfaDevices {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let ListMfaDevices { user_name, .. } = self;
        user_permission(tx, ctx, op, user_name.as_deref(), None, Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let ListMfaDevices {
            user_name,
            marker,
            max_items,
        } = self;
        list_mfa_devices(tx, ctx, user_name, marker, max_items).await
    }
}

input! {
    pub struct ListVirtualMfaDevices {
        assignment_status: Option<String> = string("AssignmentStatus"),
        marker: Option<String> = string("Marker"),
        max_items: Option<i64> = integer("MaxItems"),
    }
}

impl Handler for ListVirtualMfaDevices {
    async fn target<T: Tx>(&self, op: OpName, _tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        Ok(list_target(ctx, op, "mfa"))
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let ListVirtualMfaDevices {
            assignment_status,
            marker,
            max_items,
        } = self;
        list_virtual_mfa_devices(tx, ctx, assignment_status, marker, max_items).await
    }
}

input! {
    pub struct GetMfaDevice {
        serial_number: Option<String> = string("SerialNumber"),
        user_name: Option<String> = string("UserName"),
    }
}

impl Handler for GetMfaDevice {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let GetMfaDevice { user_name, .. } = self;
        user_permission(tx, ctx, op, user_name.as_deref(), None, Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let GetMfaDevice {
            serial_number,
            user_name,
        } = self;
        get_mfa_device(tx, ctx, serial_number, user_name).await
    }
}

input! {
    pub struct TagMfaDevice {
        serial_number: Option<String> = string("SerialNumber"),
        tags: Vec<Tag> = tags("Tags"),
    }
}

impl Handler for TagMfaDevice {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let TagMfaDevice {
            serial_number,
            tags,
        } = self;
        mfa_permission(
            tx,
            ctx,
            op,
            serial_number.as_deref(),
            request_tag_keys(tags),
        )
        .await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let TagMfaDevice {
            serial_number,
            tags,
        } = self;
        tag_mfa_device(tx, ctx, serial_number, tags).await
    }
}

input! {
    pub struct UntagMfaDevice {
        serial_number: Option<String> = string("SerialNumber"),
        tag_keys: Vec<String> = list("TagKeys"),
    }
}

impl Handler for UntagMfaDevice {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let UntagMfaDevice {
            serial_number,
            tag_keys,
        } = self;
        let keys = untag_keys(tag_keys);
        mfa_permission(tx, ctx, op, serial_number.as_deref(), keys).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let UntagMfaDevice {
            serial_number,
            tag_keys,
        } = self;
        untag_mfa_device(tx, ctx, serial_number, tag_keys).await
    }
}

input! {
    pub struct ListMfaDeviceTags {
        serial_number: Option<String> = string("SerialNumber"),
        marker: Option<String> = string("Marker"),
        max_items: Option<i64> = integer("MaxItems"),
    }
}

impl Handler for ListMfaDeviceTags {
    async fn target<T: Tx>(&self, op: OpName, tx: &mut T, ctx: &Ctx<'_>) -> Targeted {
        let ListMfaDeviceTags { serial_number, .. } = self;
        mfa_permission(tx, ctx, op, serial_number.as_deref(), Vec::new()).await
    }

    async fn run<T: Tx>(self, tx: &mut T, ctx: &Ctx<'_>) -> Ran {
        let ListMfaDeviceTags {
            serial_number,
            marker,
            max_items,
        } = self;
        list_mfa_device_tags(tx, ctx, serial_number, marker, max_items).await
    }
}

//! Virtual MFA (scenarios S1–S3 of `../shared/SCENARIOS.md`) driven by aws-sdk-iam against a
//! running keyward. Codes come from an independent TOTP implementation (the `totp-rs` crate),
//! never from keyward's own generator.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use aws_sdk_iam::types::{AssignmentStatusType, Tag};
use common::{Server, aws_error, fresh_step, totp_code};
use keyward_core::crypto::MasterKey;
use keyward_core::model::MfaFailureReason;
use keyward_core::ops::{MfaVerdict, verify_mfa};
use keyward_core::store::{Store, Tx};
use keyward_core::totp::TotpConfig;
use keyward_store::SqliteStore;

/// Decodes a PNG holding one QR code back to its text.
fn decode_qr(png_bytes: &[u8]) -> String {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    let (w, h) = (info.width as usize, info.height as usize);
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| buf[y * w + x]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1);
    grids[0].decode().unwrap().1
}

fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build().unwrap()
}

/// Creates a device and returns (serial, base32 seed).
async fn create_device(iam: &aws_sdk_iam::Client, name: &str) -> (String, String) {
    let out = iam
        .create_virtual_mfa_device()
        .virtual_mfa_device_name(name)
        .send()
        .await
        .unwrap();
    let d = out.virtual_mfa_device.unwrap();
    let seed = String::from_utf8(d.base32_string_seed.unwrap().into_inner()).unwrap();
    (d.serial_number, seed)
}

async fn enable(
    iam: &aws_sdk_iam::Client,
    user: &str,
    serial: &str,
    c1: &str,
    c2: &str,
) -> Result<(), (String, String, u16)> {
    iam.enable_mfa_device()
        .user_name(user)
        .serial_number(serial)
        .authentication_code1(c1)
        .authentication_code2(c2)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| aws_error(&e))
}

fn invalid_code() -> (String, String, u16) {
    (
        "InvalidAuthenticationCode".into(),
        "Authentication code for device is not valid.".into(),
        403,
    )
}

/// S1: a user whose policies do not allow `iam:EnableMFADevice` is refused with AWS's
/// implicit-deny message on the user's own ARN.
#[tokio::test]
async fn s1_enabling_mfa_without_permission_is_implicitly_denied() {
    let server = Server::start();
    let root = server.root_iam();
    root.create_user().user_name("bob").send().await.unwrap();
    let key = root
        .create_access_key()
        .user_name("bob")
        .send()
        .await
        .unwrap()
        .access_key
        .unwrap();
    let (serial, seed) = create_device(&root, "bob").await;
    let t = fresh_step();
    let bob = server.iam(&key.access_key_id, &key.secret_access_key);
    let err = enable(
        &bob,
        "bob",
        &serial,
        &totp_code(&seed, t - 1),
        &totp_code(&seed, t),
    )
    .await
    .unwrap_err();
    let acct = &server.account_id;
    assert_eq!(
        err,
        common::access_denied(format!(
            "User: arn:aws:iam::{acct}:user/bob is not authorized to perform: iam:EnableMFADevice on resource: arn:aws:iam::{acct}:user/bob because no identity-based policy allows the iam:EnableMFADevice action"
        ))
    );
}

/// S2: create (seed and QR code), enable with two consecutive codes, list, drift refused and
/// resynced (−5 and +5 minutes), replay refused, admin deactivation and a new device, one
/// device per user, eight devices per user.
#[tokio::test]
async fn s2_virtual_mfa_lifecycle() {
    let server = Server::start();
    let root = server.root_iam();
    let acct = server.account_id.clone();
    for u in ["alice", "bob"] {
        root.create_user().user_name(u).send().await.unwrap();
    }

    // Create: serial number, base32 seed, and a QR code of the otpauth URI.
    let out = root
        .create_virtual_mfa_device()
        .virtual_mfa_device_name("alice")
        .tags(tag("Owner", "alice"))
        .send()
        .await
        .unwrap();
    let d = out.virtual_mfa_device.unwrap();
    let serial = d.serial_number.clone();
    assert_eq!(serial, format!("arn:aws:iam::{acct}:mfa/alice"));
    let seed = String::from_utf8(d.base32_string_seed.unwrap().into_inner()).unwrap();
    assert_eq!(seed.len(), 64);
    let png = d.qr_code_png.unwrap().into_inner();
    assert_eq!(
        decode_qr(&png),
        format!("otpauth://totp/keyward:alice%40{acct}?secret={seed}&issuer=keyward")
    );
    let err = root
        .create_virtual_mfa_device()
        .virtual_mfa_device_name("alice")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "EntityAlreadyExists".into(),
            "MFADevice entity at the same path and name already exists.".into(),
            409
        )
    );

    // Enable: malformed codes, codes of a device 5 minutes ahead, then the right pair.
    let t = fresh_step();
    let err = enable(&root, "alice", &serial, "12345", &totp_code(&seed, t))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        (
            "ValidationError".into(),
            "1 validation error detected: Value '12345' at 'authenticationCode1' failed to satisfy constraint: Member must have length greater than or equal to 6".into(),
            400
        )
    );
    let err = enable(
        &root,
        "alice",
        &serial,
        &totp_code(&seed, t + 10),
        &totp_code(&seed, t + 11),
    )
    .await
    .unwrap_err();
    assert_eq!(err, invalid_code());
    enable(
        &root,
        "alice",
        &serial,
        &totp_code(&seed, t - 1),
        &totp_code(&seed, t),
    )
    .await
    .unwrap();
    let listed = root
        .list_mfa_devices()
        .user_name("alice")
        .send()
        .await
        .unwrap()
        .mfa_devices;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].serial_number, serial);
    assert_eq!(listed[0].user_name, "alice");

    // One user per device.
    let err = enable(
        &root,
        "bob",
        &serial,
        &totp_code(&seed, t),
        &totp_code(&seed, t + 1),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err,
        (
            "EntityAlreadyExists".into(),
            "MFA Device is already in use.".into(),
            409
        )
    );

    // The admin deactivates the lost device; its old codes are not accepted again.
    root.deactivate_mfa_device()
        .user_name("alice")
        .serial_number(&serial)
        .send()
        .await
        .unwrap();
    assert!(
        root.list_mfa_devices()
            .user_name("alice")
            .send()
            .await
            .unwrap()
            .mfa_devices
            .is_empty()
    );
    let err = enable(
        &root,
        "alice",
        &serial,
        &totp_code(&seed, t - 1),
        &totp_code(&seed, t),
    )
    .await
    .unwrap_err();
    assert_eq!(err, invalid_code());

    // Alice assigns a new device.
    let (serial2, seed2) = create_device(&root, "alice-phone").await;
    let t = fresh_step();
    enable(
        &root,
        "alice",
        &serial2,
        &totp_code(&seed2, t - 1),
        &totp_code(&seed2, t),
    )
    .await
    .unwrap();

    // Refused codes are on record with the request and, for a drifted device, its offset.
    let store = SqliteStore::open(&server.dir).await.unwrap();
    let master =
        MasterKey::from_file_text(&std::fs::read_to_string(server.dir.join("master.key")).unwrap())
            .unwrap();
    let mut tx = store.begin().await.unwrap();
    let failures = tx
        .list_mfa_failures(Some(&serial), time::OffsetDateTime::UNIX_EPOCH)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let reasons: Vec<_> = failures.iter().map(|f| f.reason).collect();
    assert_eq!(
        reasons,
        vec![MfaFailureReason::WrongCode, MfaFailureReason::Replay]
    );
    let drift = failures[0].matched_offset_secs.unwrap();
    assert!((300..=360).contains(&drift), "{drift}");
    assert!(failures.iter().all(|f| f.request_id.is_some()));

    // Drift: codes of a device 5 minutes ahead or behind are refused until a resync.
    let verify = |code: String| {
        let store = store.clone();
        let master = master.clone();
        let serial2 = serial2.clone();
        async move {
            let mut tx = store.begin().await.unwrap();
            let acct = tx_account(&mut tx).await;
            let alice = tx.get_user(&acct, "alice").await.unwrap().unwrap();
            let now = time::OffsetDateTime::now_utc();
            let v = verify_mfa(
                &mut tx,
                &master,
                &TotpConfig::default(),
                &alice,
                &serial2,
                &code,
                now,
            )
            .await
            .unwrap();
            tx.commit().await.unwrap();
            v
        }
    };
    for drift in [10, -10] {
        let t = fresh_step();
        let refused = verify(totp_code(&seed2, t + drift)).await;
        assert!(
            matches!(&refused, MfaVerdict::Refused(f) if f.reason == MfaFailureReason::WrongCode && f.matched_offset_secs == Some(drift * 30)),
            "{refused:?}"
        );
        root.resync_mfa_device()
            .user_name("alice")
            .serial_number(&serial2)
            .authentication_code1(totp_code(&seed2, t + drift - 1))
            .authentication_code2(totp_code(&seed2, t + drift))
            .send()
            .await
            .unwrap();
        let accepted = verify(totp_code(&seed2, t + drift + 1)).await;
        assert_eq!(
            accepted,
            MfaVerdict::Accepted {
                step: t + drift + 1
            }
        );
        // Accepted once only.
        let replay = verify(totp_code(&seed2, t + drift + 1)).await;
        assert!(matches!(replay, MfaVerdict::Refused(f) if f.reason == MfaFailureReason::Replay));
    }

    // Eight devices per user.
    let t = fresh_step();
    for i in 0..7 {
        let (s, seed) = create_device(&root, &format!("alice-{i}")).await;
        enable(
            &root,
            "alice",
            &s,
            &totp_code(&seed, t - 1),
            &totp_code(&seed, t),
        )
        .await
        .unwrap();
    }
    let (ninth, seed9) = create_device(&root, "alice-9").await;
    let err = enable(
        &root,
        "alice",
        &ninth,
        &totp_code(&seed9, t - 1),
        &totp_code(&seed9, t),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err,
        (
            "LimitExceeded".into(),
            "Cannot exceed quota for MFADevicesPerUser: 8".into(),
            409
        )
    );
    // The freed device can go to someone else.
    enable(
        &root,
        "bob",
        &ninth,
        &totp_code(&seed9, t - 1),
        &totp_code(&seed9, t),
    )
    .await
    .unwrap();
}

async fn tx_account<T: Tx>(tx: &mut T) -> String {
    tx.list_accounts().await.unwrap()[0].id.clone()
}

/// S3: a device created and never enabled is listed as Unassigned and the admin deletes it; an
/// assigned device cannot be deleted. Also GetMFADevice and the device's tags.
#[tokio::test]
async fn s3_abandoned_assignment_is_unassigned_and_deleted() {
    let server = Server::start();
    let root = server.root_iam();
    let acct = server.account_id.clone();
    root.create_user().user_name("Diego").send().await.unwrap();
    let (abandoned, _) = create_device(&root, "Diego").await;
    let (used, seed) = create_device(&root, "Diego-phone").await;
    let t = fresh_step();
    enable(
        &root,
        "Diego",
        &used,
        &totp_code(&seed, t - 1),
        &totp_code(&seed, t),
    )
    .await
    .unwrap();

    let list = |status: AssignmentStatusType| {
        let root = root.clone();
        async move {
            root.list_virtual_mfa_devices()
                .assignment_status(status)
                .send()
                .await
                .unwrap()
                .virtual_mfa_devices
        }
    };
    let unassigned = list(AssignmentStatusType::Unassigned).await;
    assert_eq!(unassigned.len(), 1);
    assert_eq!(unassigned[0].serial_number, abandoned);
    assert!(unassigned[0].user.is_none() && unassigned[0].enable_date.is_none());
    assert!(unassigned[0].base32_string_seed.is_none() && unassigned[0].qr_code_png.is_none());
    let assigned = list(AssignmentStatusType::Assigned).await;
    assert_eq!(assigned.len(), 1);
    assert_eq!(assigned[0].serial_number, used);
    let user = assigned[0].user.as_ref().unwrap();
    assert_eq!(user.user_name, "Diego");
    assert_eq!(user.arn, format!("arn:aws:iam::{acct}:user/Diego"));
    assert!(assigned[0].enable_date.is_some());
    assert_eq!(list(AssignmentStatusType::Any).await.len(), 2);

    let err = root
        .delete_virtual_mfa_device()
        .serial_number(&used)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "DeleteConflict".into(),
            "MFA VirtualDevice in use. Must deactivate first.".into(),
            409
        )
    );
    root.delete_virtual_mfa_device()
        .serial_number(&abandoned)
        .send()
        .await
        .unwrap();
    let err = root
        .delete_virtual_mfa_device()
        .serial_number(&abandoned)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        (
            "NoSuchEntity".into(),
            format!("VirtualMFADevice with serial number {abandoned} doesn't exist."),
            404
        )
    );
    assert!(list(AssignmentStatusType::Unassigned).await.is_empty());

    // A user with an MFA device cannot be deleted.
    let err = root
        .delete_user()
        .user_name("Diego")
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err).0, "DeleteConflict");

    // GetMFADevice and tags.
    let got = root
        .get_mfa_device()
        .serial_number(&used)
        .send()
        .await
        .unwrap();
    assert_eq!(got.user_name.as_deref(), Some("Diego"));
    assert!(got.enable_date.is_some());
    root.tag_mfa_device()
        .serial_number(&used)
        .tags(tag("Team", "blue"))
        .tags(tag("Site", "lab"))
        .send()
        .await
        .unwrap();
    root.untag_mfa_device()
        .serial_number(&used)
        .tag_keys("site")
        .send()
        .await
        .unwrap();
    let tags = root
        .list_mfa_device_tags()
        .serial_number(&used)
        .send()
        .await
        .unwrap()
        .tags;
    assert_eq!(tags, vec![tag("Team", "blue")]);
}

/// AWS's "Allows MFA-authenticated IAM users to manage their own credentials on the Security
/// credentials page", verbatim (IAM User Guide, reference_policies_examples_aws_my-sec-creds-self-manage).
const SELF_MANAGE_MFA: &str = include_str!("data/self_manage_mfa.json");

/// S1 with the seed's policy (000 §1, plus CreateVirtualMFADevice): the user sets up, lists
/// and resyncs their own device.
#[tokio::test]
async fn s1_the_seed_policy_lets_a_user_enable_their_own_device() {
    let server = Server::start();
    let root = server.root_iam();
    root.create_user().user_name("mia").send().await.unwrap();
    let key = root
        .create_access_key()
        .user_name("mia")
        .send()
        .await
        .unwrap()
        .access_key
        .unwrap();
    let seed_policy = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":["iam:EnableMFADevice","iam:ListMFADevices","iam:ResyncMFADevice"],"Resource":"*"},
        {"Effect":"Allow","Action":"iam:CreateVirtualMFADevice","Resource":"*"}]}"#;
    root.put_user_policy()
        .user_name("mia")
        .policy_name("mfa-seed")
        .policy_document(seed_policy)
        .send()
        .await
        .unwrap();
    let mia = server.iam(&key.access_key_id, &key.secret_access_key);
    let (serial, seed) = create_device(&mia, "mia").await;
    let t = fresh_step();
    enable(
        &mia,
        "mia",
        &serial,
        &totp_code(&seed, t - 1),
        &totp_code(&seed, t),
    )
    .await
    .unwrap();
    let listed = mia
        .list_mfa_devices()
        .user_name("mia")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.mfa_devices()[0].serial_number(), serial);
    // Not granted by the seed's policy.
    let err = mia
        .deactivate_mfa_device()
        .user_name("mia")
        .serial_number(&serial)
        .send()
        .await
        .unwrap_err();
    assert_eq!(aws_error(&err).0, "AccessDenied");
}

/// S3 and S19: under AWS's self-manage policy attached as is, a user signed in without MFA may
/// set up MFA and nothing else; deleting the abandoned device is refused with the explicit-deny
/// form, and an administrator deletes it.
#[tokio::test]
async fn s3_self_manage_policy_refuses_delete_without_mfa_with_an_explicit_deny() {
    let server = Server::start();
    let root = server.root_iam();
    let acct = &server.account_id;
    root.create_user().user_name("Diego").send().await.unwrap();
    let key = root
        .create_access_key()
        .user_name("Diego")
        .send()
        .await
        .unwrap()
        .access_key
        .unwrap();
    let policy = root
        .create_policy()
        .policy_name("SelfManageCredentialsWithMFA")
        .policy_document(SELF_MANAGE_MFA)
        .send()
        .await
        .unwrap();
    root.attach_user_policy()
        .user_name("Diego")
        .policy_arn(policy.policy().unwrap().arn().unwrap())
        .send()
        .await
        .unwrap();
    let diego = server.iam(&key.access_key_id, &key.secret_access_key);

    // Allowed without MFA: create a device, see devices, see himself.
    let (serial, _seed) = create_device(&diego, "Diego").await;
    diego.list_virtual_mfa_devices().send().await.unwrap();
    diego.get_user().send().await.unwrap();

    // Everything else is denied explicitly while not MFA-authenticated (003, "I am not
    // authorized to perform: iam:DeleteVirtualMFADevice").
    let err = diego
        .delete_virtual_mfa_device()
        .serial_number(&serial)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_error(&err),
        common::access_denied(format!(
            "User: arn:aws:iam::{acct}:user/Diego is not authorized to perform: iam:DeleteVirtualMFADevice on resource: arn:aws:iam::{acct}:mfa/Diego with an explicit deny in an identity-based policy"
        ))
    );
    let err = diego.create_access_key().send().await.unwrap_err();
    assert!(
        aws_error(&err)
            .1
            .ends_with("with an explicit deny in an identity-based policy")
    );
    let err = diego.list_users().send().await.unwrap_err();
    assert_eq!(aws_error(&err).0, "AccessDenied");

    // The abandoned device is Unassigned, and an administrator removes it.
    let unassigned = root
        .list_virtual_mfa_devices()
        .assignment_status(AssignmentStatusType::Unassigned)
        .send()
        .await
        .unwrap();
    assert!(
        unassigned
            .virtual_mfa_devices()
            .iter()
            .any(|d| d.serial_number() == serial)
    );
    root.delete_virtual_mfa_device()
        .serial_number(&serial)
        .send()
        .await
        .unwrap();
}

//! Virtual MFA devices, their steps and the refused codes.

use keyward_core::StoreErrorKind;
use keyward_core::crypto::MasterKey;
use keyward_core::model::{MfaDevice, MfaFailure, MfaFailureReason, User};
use keyward_core::ops::{MfaVerdict, verify_mfa};
use keyward_core::store::{Store, Tx};
use keyward_core::totp::{Seed, TotpConfig, step_of};
use time::macros::datetime;

use super::{ACCOUNT, Engine, OTHER, seeded, user};

const SERIAL: &str = "arn:aws:iam::123456789012:mfa/Alice";

fn device(key: &MasterKey, seed: &Seed, user_id: Option<&str>) -> MfaDevice {
    MfaDevice {
        serial: SERIAL.into(),
        account_id: ACCOUNT.into(),
        name: "Alice".into(),
        path: "/".into(),
        user_id: user_id.map(str::to_owned),
        enable_date: user_id.map(|_| datetime!(2024-01-02 03:04:05 UTC)),
        created: datetime!(2024-01-02 03:04:05 UTC),
        sealed_seed: key.seal(seed.expose(), SERIAL).unwrap(),
        offset_steps: 0,
        last_step: None,
        tags: vec![],
    }
}

fn bare(serial: &str, user_id: Option<&str>) -> MfaDevice {
    MfaDevice {
        serial: serial.into(),
        account_id: ACCOUNT.into(),
        name: serial.rsplit('/').next().unwrap_or_default().into(),
        path: "/".into(),
        user_id: user_id.map(str::to_owned),
        enable_date: None,
        created: datetime!(2024-01-02 03:04:05 UTC),
        sealed_seed: vec![7, 7],
        offset_steps: 0,
        last_step: None,
        tags: vec![],
    }
}

pub async fn devices_round_trip_and_steps_only_advance<E: Engine>() {
    let (_engine, store) = seeded::<E>().await;
    let key = MasterKey::generate(1).unwrap();
    let seed = Seed::generate().unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.insert_user(&user("AIDA1", "alice", "/")).await.unwrap();
    let mut d = device(&key, &seed, None);
    tx.insert_mfa_device(&d).await.unwrap();
    assert_eq!(
        tx.get_mfa_device(
            ACCOUNT,
            &SERIAL.to_uppercase().replace("ARN:AWS:IAM", "arn:aws:iam")
        )
        .await
        .unwrap()
        .unwrap(),
        d
    );
    assert_eq!(tx.get_mfa_device(OTHER, SERIAL).await.unwrap(), None);
    assert!(
        tx.list_mfa_devices(ACCOUNT, Some("AIDA1"))
            .await
            .unwrap()
            .is_empty()
    );
    d.user_id = Some("AIDA1".into());
    d.enable_date = Some(datetime!(2024-02-03 04:05:06.789 UTC));
    d.offset_steps = -3;
    d.last_step = Some(100);
    d.tags = vec![keyward_core::model::Tag {
        key: "k".into(),
        value: "v".into(),
    }];
    tx.update_mfa_device(&d).await.unwrap();
    assert_eq!(
        tx.list_mfa_devices(ACCOUNT, Some("AIDA1")).await.unwrap(),
        vec![d.clone()]
    );
    // An assigned user must exist.
    let mut stray = d.clone();
    stray.user_id = Some("AIDA9".into());
    assert_eq!(
        tx.update_mfa_device(&stray).await.unwrap_err().kind(),
        StoreErrorKind::Conflict
    );
    // A step is recorded only when it is later than the last one: a replay loses.
    assert!(!tx.advance_mfa_step(SERIAL, 100).await.unwrap());
    assert!(!tx.advance_mfa_step(SERIAL, 99).await.unwrap());
    assert!(tx.advance_mfa_step(SERIAL, 101).await.unwrap());
    assert!(!tx.advance_mfa_step(SERIAL, 101).await.unwrap());
    assert!(!tx.advance_mfa_step("arn:nope", 1).await.unwrap());
    assert_eq!(
        tx.get_mfa_device(ACCOUNT, SERIAL)
            .await
            .unwrap()
            .unwrap()
            .last_step,
        Some(101)
    );
    let f = MfaFailure {
        serial: SERIAL.into(),
        account_id: ACCOUNT.into(),
        user_id: Some("AIDA1".into()),
        reason: MfaFailureReason::WrongCode,
        matched_offset_secs: Some(-300),
        time: datetime!(2024-01-02 03:04:05 UTC),
        request_id: Some("r1".into()),
    };
    tx.insert_mfa_failure(&f).await.unwrap();
    let mut other = f.clone();
    other.serial = "arn:aws:iam::123456789012:mfa/Other".into();
    other.reason = MfaFailureReason::Throttled;
    other.matched_offset_secs = None;
    other.user_id = None;
    other.request_id = None;
    other.time = datetime!(2024-01-02 03:04:06 UTC);
    tx.insert_mfa_failure(&other).await.unwrap();
    assert_eq!(
        tx.list_mfa_failures(Some(SERIAL), datetime!(2024-01-02 00:00 UTC))
            .await
            .unwrap(),
        vec![f.clone()]
    );
    // Without regard to case; `since` is inclusive; every serial when none is given.
    assert_eq!(
        tx.list_mfa_failures(
            Some(&SERIAL.to_uppercase()),
            datetime!(2024-01-02 03:04:05 UTC)
        )
        .await
        .unwrap(),
        vec![f.clone()]
    );
    assert_eq!(
        tx.list_mfa_failures(None, datetime!(2024-01-02 00:00 UTC))
            .await
            .unwrap(),
        vec![f, other.clone()]
    );
    assert_eq!(
        tx.list_mfa_failures(None, datetime!(2024-01-02 03:04:05.001 UTC))
            .await
            .unwrap(),
        vec![other]
    );
    assert!(
        tx.list_mfa_failures(None, datetime!(2024-01-03 00:00 UTC))
            .await
            .unwrap()
            .is_empty()
    );
    // An assigned device keeps its user from being deleted.
    assert_eq!(
        tx.delete_user("AIDA1").await.unwrap_err().kind(),
        StoreErrorKind::Conflict
    );
    d.user_id = None;
    tx.update_mfa_device(&d).await.unwrap();
    tx.delete_mfa_device(SERIAL).await.unwrap();
    assert!(tx.get_mfa_device(ACCOUNT, SERIAL).await.unwrap().is_none());
    tx.delete_user("AIDA1").await.unwrap();
    tx.commit().await.unwrap();
}

pub async fn devices_list_by_serial_and_are_unique<E: Engine>() {
    let (_engine, store) = seeded::<E>().await;
    let mut tx = store.begin().await.unwrap();
    tx.insert_user(&user("AIDA1", "alice", "/")).await.unwrap();
    let serials = [
        "arn:aws:iam::123456789012:mfa/carol",
        "arn:aws:iam::123456789012:mfa/Bob",
        "arn:aws:iam::123456789012:mfa/alice",
    ];
    for (i, s) in serials.into_iter().enumerate() {
        tx.insert_mfa_device(&bare(s, (i == 0).then_some("AIDA1")))
            .await
            .unwrap();
    }
    let mut theirs = bare("arn:aws:iam::210987654321:mfa/dave", None);
    theirs.account_id = OTHER.into();
    tx.insert_mfa_device(&theirs).await.unwrap();
    let listed = |ds: Vec<MfaDevice>| ds.into_iter().map(|d| d.name).collect::<Vec<_>>();
    assert_eq!(
        listed(tx.list_mfa_devices(ACCOUNT, None).await.unwrap()),
        ["alice", "Bob", "carol"]
    );
    assert_eq!(
        listed(tx.list_mfa_devices(ACCOUNT, Some("AIDA1")).await.unwrap()),
        ["carol"]
    );
    assert_eq!(
        listed(tx.list_mfa_devices(OTHER, None).await.unwrap()),
        ["dave"]
    );
    // A serial number differing only by case is taken.
    assert_eq!(
        tx.insert_mfa_device(&bare("arn:aws:iam::123456789012:mfa/BOB", None))
            .await
            .unwrap_err()
            .kind(),
        StoreErrorKind::Conflict
    );
    tx.delete_mfa_device("arn:aws:iam::123456789012:mfa/Bob")
        .await
        .unwrap();
    assert_eq!(
        listed(tx.list_mfa_devices(ACCOUNT, None).await.unwrap()),
        ["alice", "carol"]
    );
    tx.commit().await.unwrap();
}

/// Two concurrent requests with the same valid code: exactly one is accepted.
pub async fn same_code_concurrently_exactly_one_wins<E: Engine>() {
    let (_engine, store) = seeded::<E>().await;
    let key = MasterKey::generate(1).unwrap();
    let seed = Seed::generate().unwrap();
    let alice = user("AIDA1", "alice", "/");
    let mut tx = store.begin().await.unwrap();
    tx.insert_user(&alice).await.unwrap();
    tx.insert_mfa_device(&device(&key, &seed, Some("AIDA1")))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let now = time::OffsetDateTime::now_utc();
    let code = seed.code_at(step_of(now));
    let attempt = |store: E::Store, key: MasterKey, alice: User, code: String| async move {
        let mut tx = store.begin().await.unwrap();
        let verdict = verify_mfa(
            &mut tx,
            &key,
            &TotpConfig::default(),
            &alice,
            SERIAL,
            &code,
            now,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        verdict
    };
    let (a, b) = tokio::join!(
        tokio::spawn(attempt(
            store.clone(),
            key.clone(),
            alice.clone(),
            code.clone()
        )),
        tokio::spawn(attempt(
            store.clone(),
            key.clone(),
            alice.clone(),
            code.clone()
        )),
    );
    let verdicts = [a.unwrap(), b.unwrap()];
    let accepted = verdicts
        .iter()
        .filter(|v| matches!(v, MfaVerdict::Accepted { .. }))
        .count();
    assert_eq!(accepted, 1, "{verdicts:?}");
    assert!(
        verdicts
            .iter()
            .any(|v| matches!(v, MfaVerdict::Refused(f) if f.reason == MfaFailureReason::Replay))
    );
}

/// Refusals name their reason; a drifted code reports its offset; five failures in a minute
/// lock the device for a minute, even against a right code.
pub async fn refusals_drift_and_throttle<E: Engine>() {
    let (_engine, store) = seeded::<E>().await;
    let key = MasterKey::generate(1).unwrap();
    let seed = Seed::generate().unwrap();
    let alice = user("AIDA1", "alice", "/");
    let bob = user("AIDA2", "bob", "/");
    let cfg = TotpConfig::default();
    let mut tx = store.begin().await.unwrap();
    tx.insert_user(&alice).await.unwrap();
    tx.insert_user(&bob).await.unwrap();
    tx.insert_mfa_device(&device(&key, &seed, Some("AIDA1")))
        .await
        .unwrap();
    let now = datetime!(2024-05-06 07:08:09 UTC);
    let step = step_of(now);
    let reason = |v: MfaVerdict| match v {
        MfaVerdict::Refused(f) => (f.reason, f.matched_offset_secs),
        other => panic!("accepted: {other:?}"),
    };
    let v = verify_mfa(&mut tx, &key, &cfg, &bob, SERIAL, &seed.code_at(step), now)
        .await
        .unwrap();
    assert_eq!(reason(v), (MfaFailureReason::NotAssignedToUser, None));
    let v = verify_mfa(
        &mut tx,
        &key,
        &cfg,
        &alice,
        "arn:aws:iam::123456789012:mfa/nope",
        "123456",
        now,
    )
    .await
    .unwrap();
    assert_eq!(reason(v), (MfaFailureReason::WrongSerial, None));
    let v = verify_mfa(
        &mut tx,
        &key,
        &cfg,
        &alice,
        SERIAL,
        &seed.code_at(step - 10),
        now,
    )
    .await
    .unwrap();
    assert_eq!(reason(v), (MfaFailureReason::WrongCode, Some(-300)));
    for i in 0..5 {
        let f = MfaFailure {
            serial: SERIAL.into(),
            account_id: ACCOUNT.into(),
            user_id: Some("AIDA1".into()),
            reason: MfaFailureReason::WrongCode,
            matched_offset_secs: None,
            time: now - time::Duration::seconds(50 - i),
            request_id: None,
        };
        tx.insert_mfa_failure(&f).await.unwrap();
    }
    let v = verify_mfa(
        &mut tx,
        &key,
        &cfg,
        &alice,
        SERIAL,
        &seed.code_at(step),
        now,
    )
    .await
    .unwrap();
    assert_eq!(reason(v), (MfaFailureReason::Throttled, None));
    // A minute after the fifth failure the device accepts codes again.
    let later = now + time::Duration::seconds(60);
    let v = verify_mfa(
        &mut tx,
        &key,
        &cfg,
        &alice,
        SERIAL,
        &seed.code_at(step_of(later)),
        later,
    )
    .await
    .unwrap();
    assert!(matches!(v, MfaVerdict::Accepted { .. }), "{v:?}");
}

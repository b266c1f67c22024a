//! Virtual MFA devices, their steps and the refused codes.

use keyward_core::StoreErrorKind;
use keyward_core::crypto::MasterKey;
use std::sync::Mutex;

use keyward_core::model::{MfaDevice, MfaFailure, MfaFailureReason, User};
use keyward_core::ops::{MfaVerdict, verify_mfa};
use keyward_core::store::{Store, Tx};
use keyward_core::totp::{Seed, TotpConfig, step_of};
use time::OffsetDateTime;
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

/// Refusals name their reason; a drifted code reports its offset; five refused codes in a minute
/// lock the device for a minute, even against a right code, and refusals during the lockout do not
/// extend it.
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
    // One refusal above was for this device; four more make five.
    for _ in 0..4 {
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
    let v = verify_mfa(
        &mut tx,
        &key,
        &cfg,
        &alice,
        SERIAL,
        &seed.code_at(step),
        now + time::Duration::seconds(59),
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

/// The throttle's attempts: a reservation is admitted or not by the attempts it is shown (the
/// device's unreleased ones since `since`, oldest first, the serial number without regard to
/// case); a reservation and a release stay when their transaction rolls back, and another handle
/// counts them; of concurrent reservations, exactly as many are admitted as the rule allows.
pub async fn mfa_attempts_are_reserved_atomically_and_outlive_their_transaction<E: Engine>() {
    let (engine, store) = seeded::<E>().await;
    let t0 = datetime!(2024-05-06 07:08:00 UTC);
    let at = move |secs: i64| t0 + time::Duration::seconds(secs);
    let below = |n: usize| move |times: &[OffsetDateTime]| times.len() < n;
    let other = "arn:aws:iam::123456789012:mfa/Other";

    let mut tx = store.begin().await.unwrap();
    let first = tx
        .reserve_mfa_attempt(SERIAL, at(1), t0, &below(2))
        .await
        .unwrap()
        .unwrap();
    let second = tx
        .reserve_mfa_attempt(&SERIAL.to_uppercase(), at(2), t0, &below(2))
        .await
        .unwrap()
        .unwrap();
    assert_ne!(first, second);
    assert_eq!(
        tx.reserve_mfa_attempt(SERIAL, at(3), t0, &below(2))
            .await
            .unwrap(),
        None
    );
    // Each device counts its own.
    assert!(
        tx.reserve_mfa_attempt(other, at(3), t0, &below(1))
            .await
            .unwrap()
            .is_some()
    );
    drop(tx);

    // What a reservation is shown: times at or after `since`, oldest first.
    let shown = |store: E::Store, since: OffsetDateTime| async move {
        let seen = Mutex::new(Vec::new());
        let record = |times: &[OffsetDateTime]| {
            seen.lock().unwrap().extend_from_slice(times);
            false
        };
        let mut tx = store.begin().await.unwrap();
        let reserved = tx
            .reserve_mfa_attempt(SERIAL, at(9), since, &record)
            .await
            .unwrap();
        assert_eq!(reserved, None);
        tx.commit().await.unwrap();
        seen.into_inner().unwrap()
    };
    // The rolled-back transaction's reservations stay.
    assert_eq!(shown(store.clone(), t0).await, vec![at(1), at(2)]);
    assert_eq!(shown(store.clone(), at(2)).await, vec![at(2)]);

    // A release stays too, and frees its place.
    let mut tx = store.begin().await.unwrap();
    tx.release_mfa_attempt(first).await.unwrap();
    drop(tx);
    assert_eq!(shown(store.clone(), t0).await, vec![at(2)]);
    let mut tx = store.begin().await.unwrap();
    assert!(
        tx.reserve_mfa_attempt(SERIAL, at(4), t0, &below(2))
            .await
            .unwrap()
            .is_some()
    );
    tx.commit().await.unwrap();
    // Another handle (another process) counts them.
    let elsewhere = engine.open().await;
    assert_eq!(shown(elsewhere.clone(), t0).await, vec![at(2), at(4)]);
    let mut tx = elsewhere.begin().await.unwrap();
    assert_eq!(
        tx.reserve_mfa_attempt(SERIAL, at(5), t0, &below(2))
            .await
            .unwrap(),
        None
    );
    tx.commit().await.unwrap();
    drop(elsewhere);

    // A read transaction cannot reserve.
    let mut tx = store.begin_read().await.unwrap();
    assert!(
        tx.reserve_mfa_attempt(SERIAL, at(6), t0, &below(9))
            .await
            .is_err()
    );
    drop(tx);

    // Twenty requests race for five places, each rolling back after it looked at its code.
    let racer = |store: E::Store| async move {
        let mut tx = store.begin().await.unwrap();
        let reserved = tx
            .reserve_mfa_attempt("arn:aws:iam::123456789012:mfa/raced", at(7), t0, &below(5))
            .await
            .unwrap();
        tokio::task::yield_now().await;
        drop(tx);
        reserved.is_some()
    };
    let racers: Vec<_> = (0..20)
        .map(|_| tokio::spawn(racer(store.clone())))
        .collect();
    let mut admitted = 0;
    for r in racers {
        admitted += usize::from(r.await.unwrap());
    }
    assert_eq!(admitted, 5);
}

//! The authz mix against the real keyward binary: its setup creates the realistic principal, the
//! load signs as that user, allowed calls answer 200 and denied ones 403 AccessDenied.
//!
//! The binary is `target/<profile>/keyward`, next to this test's `deps/` directory (or
//! `KEYWARD_BIN`). `cargo test -p keyward-bench` alone does not build it; `scripts/test`
//! (`cargo nextest run --workspace`) does, for keyward's own integration tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use keyward_bench::client::{Conn, Service};
use keyward_bench::compare::{start_keyward, wait_ready};
use keyward_bench::load::{RunConfig, run};
use keyward_bench::workload::{AUTHZ_DENIED_USER, IAM_VERSION, STS_VERSION, Workload, setup};

fn keyward_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("KEYWARD_BIN") {
        return PathBuf::from(bin);
    }
    let exe = std::env::current_exe().expect("the test's own path");
    // target/<profile>/deps/keyward-<hash> → target/<profile>/keyward
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test binary lives in target/<profile>/deps");
    let bin = profile_dir.join(format!("keyward{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "{} not found: build keyward first (`cargo build -p keyward`, with the same \
         CARGO_TARGET_DIR and profile; scripts/test builds it), or set KEYWARD_BIN",
        bin.display()
    );
    bin
}

fn config(concurrency: usize, count: u64) -> RunConfig {
    RunConfig {
        workload: Workload::AuthzMix,
        concurrency,
        duration: Duration::ZERO,
        warmup: Duration::ZERO,
        max_ops: Some(count),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authz_mix_against_keyward() -> anyhow::Result<()> {
    let bin = keyward_bin();
    let dir = tempfile::tempdir()?;
    let keyward = start_keyward(&bin, dir.path(), "keyward", &[])?;
    wait_ready(&keyward.target, "keyward", Duration::from_secs(30)).await?;
    let root = &keyward.target;
    assert!(root.enforces_iam);

    let prepared = setup(root, &[Workload::AuthzMix]).await?;
    assert!(prepared.notes.is_empty(), "{:?}", prepared.notes);
    let principal = prepared.target_for(Workload::AuthzMix, root);
    let name = principal.user_name.clone().expect("the principal's name");
    assert!(name.starts_with("bench-authz-"), "{name}");
    assert_ne!(principal.access_key_id, root.access_key_id);

    // The load really signs as the principal, not as root.
    let mut conn = Conn::new(principal.clone());
    let me = conn
        .call(
            Service::Sts,
            &format!("Action=GetCallerIdentity&Version={STS_VERSION}"),
        )
        .await?;
    assert!(me.ok(), "{}", me.describe());
    let arn = me.element("Arn").unwrap_or_default();
    assert!(arn.ends_with(&format!(":user/{name}")), "{arn}");
    // The denied target exists: root reads it; the refusal is the principal's policies.
    let mut as_root = Conn::new(root.clone());
    let body = format!("Action=GetUser&UserName={AUTHZ_DENIED_USER}&Version={IAM_VERSION}");
    let reply = as_root.call(Service::Iam, &body).await?;
    assert!(reply.ok(), "{}", reply.describe());

    // One connection: the calls alternate exactly, half of them denied.
    let one = run(&principal, &config(1, 100), "t1").await?;
    assert_eq!(one.errors, 0, "{:?}", one.error_kinds);
    assert_eq!(one.ops, 100);
    assert_eq!(one.denied, 50);
    assert_eq!(one.not_enforced, 0);

    // Several connections: still no error, both outcomes.
    let many = run(&principal, &config(8, 200), "t8").await?;
    assert_eq!(many.errors, 0, "{:?}", many.error_kinds);
    assert_eq!(many.ops, 200);
    assert!(many.denied > 0 && many.denied < many.ops, "{}", many.denied);
    assert_eq!(many.not_enforced, 0);

    // Rerun of the setup against the same server: new principal, shared target users.
    let again = setup(root, &[Workload::AuthzMix]).await?;
    let second = again.target_for(Workload::AuthzMix, root);
    assert_ne!(second.user_name, principal.user_name);
    let rerun = run(&second, &config(1, 20), "t2").await?;
    assert_eq!(rerun.errors, 0, "{:?}", rerun.error_kinds);
    assert_eq!(rerun.denied, 10);
    Ok(())
}

//! The load generator against the floor server: every request answered, the count exact.

use std::time::Duration;

use keyward_bench::client::Target;
use keyward_bench::load::{RunConfig, run};
use keyward_bench::workload::Workload;

async fn against_floor(workload: Workload, concurrency: usize, count: u64) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(keyward_bench::floor::serve(listener));
    let target = Target::new(addr, "AKIAIOSFODNN7EXAMPLE", "secret", false);
    let config = RunConfig {
        workload,
        concurrency,
        duration: Duration::ZERO,
        warmup: Duration::ZERO,
        max_ops: Some(count),
    };
    let result = run(&target, &config, "t").await?;
    server.abort();
    assert_eq!(result.errors, 0, "{:?}", result.error_kinds);
    assert_eq!(result.ops, count);
    assert_eq!(result.latencies_ns.len() as u64, count);
    assert!(result.quantile_ms(0.5) <= result.max_ms());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_caller_identity_200_requests() -> anyhow::Result<()> {
    against_floor(Workload::GetCallerIdentity, 8, 200).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_mix_50_lifecycles_one_connection() -> anyhow::Result<()> {
    against_floor(Workload::WriteMix, 1, 50).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_delete_user_50_pairs() -> anyhow::Result<()> {
    against_floor(Workload::CreateDeleteUser, 4, 50).await
}

/// The authz mix's setup against the floor (every answer a fixed 200) must not fail; the floor
/// enforces no policy, so the denied calls answer 200 and count as not enforced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authz_mix_setup_and_100_requests() -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(keyward_bench::floor::serve(listener));
    let root = Target::new(addr, "AKIAIOSFODNN7EXAMPLE", "secret", false);
    let prepared = keyward_bench::workload::setup(&root, &[Workload::AuthzMix]).await?;
    let target = prepared.target_for(Workload::AuthzMix, &root);
    assert_eq!(target.access_key_id, "AKIAFLOORFLOORFLOOR0");
    assert!(!target.enforces_iam);
    let config = RunConfig {
        workload: Workload::AuthzMix,
        concurrency: 1,
        duration: Duration::ZERO,
        warmup: Duration::ZERO,
        max_ops: Some(100),
    };
    let result = run(&target, &config, "t").await?;
    server.abort();
    assert_eq!(result.errors, 0, "{:?}", result.error_kinds);
    assert_eq!(result.ops, 100);
    assert_eq!(result.not_enforced, 50);
    assert_eq!(result.denied, 0);
    Ok(())
}

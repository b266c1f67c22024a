//! The load generator: N workers, one keep-alive connection each, for a time or a count.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::client::{Conn, Target};
use crate::workload::{Outcome, Workload, run_op};

/// How long and how hard to run.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// The workload.
    pub workload: Workload,
    /// Concurrent workers, each with its own connection.
    pub concurrency: usize,
    /// Measured time (ignored when `max_ops` is set).
    pub duration: Duration,
    /// Unmeasured time before, to open connections and warm caches.
    pub warmup: Duration,
    /// Stop after this many operations in total instead of after `duration`.
    pub max_ops: Option<u64>,
}

/// What a run measured.
#[derive(Clone, Debug, Default)]
pub struct RunResult {
    /// Successful operations in the measured window: every request answered as expected,
    /// including the authz mix's refusals.
    pub ops: u64,
    /// Of `ops`, the authz mix's calls refused with 403 `AccessDenied`, as expected.
    pub denied: u64,
    /// Of `ops`, the authz mix's calls to its denied target answered 2xx by a target that does
    /// not enforce IAM.
    pub not_enforced: u64,
    /// Failed operations in the measured window.
    pub errors: u64,
    /// Failures grouped by description.
    pub error_kinds: BTreeMap<String, u64>,
    /// Length of the measured window.
    pub elapsed: Duration,
    /// Latencies of successful operations, sorted, in nanoseconds.
    pub latencies_ns: Vec<u64>,
    /// Connections reopened because the server closed them.
    pub reconnects: u64,
    /// Operations completed (successful or not) in the whole run, warm-up included.
    pub all_ops: u64,
    /// Wall time of the whole run, warm-up included.
    pub wall: Duration,
}

impl RunResult {
    /// Successful operations per second.
    pub fn throughput(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.ops as f64 / secs
        } else {
            0.0
        }
    }

    /// The `q` quantile (0..=1) of latency, in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.latencies_ns.is_empty() {
            return f64::NAN;
        }
        let last = self.latencies_ns.len() - 1;
        let idx = ((q * self.latencies_ns.len() as f64).ceil() as usize).saturating_sub(1);
        self.latencies_ns[idx.min(last)] as f64 / 1e6
    }

    /// The largest latency, in milliseconds.
    pub fn max_ms(&self) -> f64 {
        self.quantile_ms(1.0)
    }
}

struct WorkerOut {
    ops: u64,
    denied: u64,
    not_enforced: u64,
    errors: u64,
    error_kinds: BTreeMap<String, u64>,
    latencies_ns: Vec<u64>,
    reconnects: u64,
    all_ops: u64,
    last_end: Instant,
}

/// Runs `config` against `target`, every request signed with its key (for the authz mix, the
/// principal's: see `workload::Prepared::target_for`). `tag` makes the names the write mix
/// creates unique.
pub async fn run(target: &Arc<Target>, config: &RunConfig, tag: &str) -> Result<RunResult> {
    let started = Instant::now();
    let measure_from = started + config.warmup;
    let stop_at = measure_from + config.duration;
    let budget = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(config.concurrency);
    for worker in 0..config.concurrency {
        let target = target.clone();
        let budget = budget.clone();
        let workload = config.workload;
        let max_ops = config.max_ops;
        let tag = tag.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::new(target);
            let mut out = WorkerOut {
                ops: 0,
                denied: 0,
                not_enforced: 0,
                errors: 0,
                error_kinds: BTreeMap::new(),
                latencies_ns: Vec::with_capacity(4096),
                reconnects: 0,
                all_ops: 0,
                last_end: Instant::now(),
            };
            let mut seq = 0u64;
            loop {
                if let Some(max) = max_ops
                    && budget.fetch_add(1, Ordering::Relaxed) >= max
                {
                    break;
                }
                let begin = Instant::now();
                if max_ops.is_none() && begin >= stop_at {
                    break;
                }
                let result = run_op(workload, &mut conn, &tag, worker, seq).await;
                seq += 1;
                out.all_ops += 1;
                let end = Instant::now();
                let measured = max_ops.is_some() || begin >= measure_from;
                if !measured {
                    if result.is_err() {
                        // Don't spin on a refusing server during warm-up.
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                    continue;
                }
                out.last_end = end;
                match result {
                    Ok(outcome) => {
                        out.ops += 1;
                        match outcome {
                            Outcome::Done => {}
                            Outcome::Denied => out.denied += 1,
                            Outcome::NotEnforced => out.not_enforced += 1,
                        }
                        out.latencies_ns
                            .push(end.duration_since(begin).as_nanos() as u64);
                    }
                    Err(kind) => {
                        out.errors += 1;
                        *out.error_kinds.entry(kind).or_insert(0) += 1;
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                }
            }
            out.reconnects = conn.reconnects;
            out
        }));
    }
    let mut result = RunResult::default();
    let mut last_end = measure_from;
    for task in tasks {
        let out = task.await?;
        result.ops += out.ops;
        result.denied += out.denied;
        result.not_enforced += out.not_enforced;
        result.errors += out.errors;
        for (k, v) in out.error_kinds {
            *result.error_kinds.entry(k).or_insert(0) += v;
        }
        result.latencies_ns.extend(out.latencies_ns);
        result.reconnects += out.reconnects;
        result.all_ops += out.all_ops;
        last_end = last_end.max(out.last_end);
    }
    let window_start = if config.max_ops.is_some() {
        started
    } else {
        measure_from
    };
    result.elapsed = last_end.saturating_duration_since(window_start);
    result.wall = started.elapsed();
    result.latencies_ns.sort_unstable();
    Ok(result)
}

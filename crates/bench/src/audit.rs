//! `keyward-bench audit`: what auditing costs. Starts two keyward servers on fresh data folders —
//! one as in service, one with the benchmark-only `--bench-without-audit` — and runs the same
//! workloads against both in alternating rounds (so drift on a shared machine hits both alike),
//! then reports median throughput, server CPU per operation and the overhead of each against the
//! issue's targets: under 10% for a write-heavy load (`CreateUser`/`DeleteUser`), under 2% for a
//! read-only one (`GetCallerIdentity`). 127.0.0.1 only; every process it starts is killed when it
//! returns.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::compare::{Server, fmt_rate, machine, per_op, start_keyward, wait_ready};
use crate::load::{self, RunConfig};
use crate::procstat;
use crate::workload::{self, Workload};

/// Options of `audit`.
#[derive(Clone, Debug)]
pub struct AuditOptions {
    /// The `keyward` binary.
    pub keyward_bin: PathBuf,
    /// Measured time of each run.
    pub duration: Duration,
    /// Warm-up before each run.
    pub warmup: Duration,
    /// Runs per workload and server (alternating which server goes first).
    pub rounds: usize,
    /// Concurrent connections.
    pub concurrency: usize,
}

/// The workloads and the overhead the issue allows each, in percent.
pub const TARGETS: [(Workload, f64); 2] = [
    (Workload::CreateDeleteUser, 10.0),
    (Workload::GetCallerIdentity, 2.0),
];

/// One measured run.
#[derive(Clone, Copy, Debug)]
struct Run {
    ops_per_sec: f64,
    errors: u64,
    /// Server CPU per operation (warm-up included in both numerator and denominator).
    cpu_us_per_op: Option<f64>,
}

fn median(mut xs: Vec<f64>) -> Option<f64> {
    xs.retain(|x| x.is_finite());
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    Some(if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    })
}

async fn measure(server: &Server, config: &RunConfig, tag: &str) -> Result<Run> {
    let cpu0 = procstat::cpu_time(server.proc.pid());
    let r = load::run(&server.target, config, tag).await?;
    let cpu1 = procstat::cpu_time(server.proc.pid());
    let cpu = match (cpu0, cpu1) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a)),
        _ => None,
    };
    Ok(Run {
        ops_per_sec: r.throughput(),
        errors: r.errors,
        cpu_us_per_op: per_op(cpu, r.all_ops).map(|d| d.as_secs_f64() * 1e6),
    })
}

/// Runs the measurement and returns the markdown report.
pub async fn audit(opts: &AuditOptions) -> Result<String> {
    if opts.rounds == 0 || opts.concurrency == 0 {
        bail!("--rounds and --concurrency must be at least 1");
    }
    let started = Instant::now();
    let dir = tempfile::tempdir()?;
    let with_dir = dir.path().join("with-audit");
    let without_dir = dir.path().join("without-audit");
    std::fs::create_dir_all(&with_dir)?;
    std::fs::create_dir_all(&without_dir)?;
    let with = start_keyward(&opts.keyward_bin, &with_dir, "keyward (audit)", &[])?;
    let without = start_keyward(
        &opts.keyward_bin,
        &without_dir,
        "keyward (--bench-without-audit)",
        &["--bench-without-audit"],
    )?;
    wait_ready(&with.target, with.name, Duration::from_secs(30)).await?;
    wait_ready(&without.target, without.name, Duration::from_secs(30)).await?;
    let tag = workload::run_tag();

    // (workload, [runs with audit], [runs without])
    let mut results: Vec<(Workload, Vec<Run>, Vec<Run>)> = Vec::new();
    for (w, _) in TARGETS {
        let config = RunConfig {
            workload: w,
            concurrency: opts.concurrency,
            duration: opts.duration,
            warmup: opts.warmup,
            max_ops: None,
        };
        let mut on = Vec::new();
        let mut off = Vec::new();
        for round in 0..opts.rounds {
            // Alternate which server goes first.
            let order = if round % 2 == 0 {
                [(&with, true), (&without, false)]
            } else {
                [(&without, false), (&with, true)]
            };
            for (server, audited) in order {
                eprintln!(
                    "bench-audit: {} round {}/{} on {} ...",
                    w.label(),
                    round + 1,
                    opts.rounds,
                    server.name
                );
                let run = measure(server, &config, &format!("{tag}r{round}")).await?;
                eprintln!(
                    "bench-audit:   {:.0} {}, {} errors",
                    run.ops_per_sec,
                    w.unit(),
                    run.errors
                );
                if audited {
                    on.push(run);
                } else {
                    off.push(run);
                }
            }
        }
        results.push((w, on, off));
    }
    drop(with);
    drop(without);

    let mut out = String::new();
    writeln!(out, "Machine: {}", machine())?;
    writeln!(
        out,
        "keyward with its audit (as in service) and with `--bench-without-audit`, both running \
         side by side on fresh data folders; per workload {} rounds alternating which goes first, \
         each {:.0} s warm-up then {:.0} s measured at concurrency {}; medians. Took {:.0} s.",
        opts.rounds,
        opts.warmup.as_secs_f64(),
        opts.duration.as_secs_f64(),
        opts.concurrency,
        started.elapsed().as_secs_f64()
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "| workload | unit | with audit | without audit | throughput overhead | server CPU µs/op with | without | CPU overhead | target | errors |"
    )?;
    writeln!(out, "|---|---|--:|--:|--:|--:|--:|--:|---|--:|")?;
    let mut verdicts = Vec::new();
    for ((w, on, off), (_, target)) in results.iter().zip(TARGETS) {
        let t_on = median(on.iter().map(|r| r.ops_per_sec).collect());
        let t_off = median(off.iter().map(|r| r.ops_per_sec).collect());
        let c_on = median(on.iter().filter_map(|r| r.cpu_us_per_op).collect());
        let c_off = median(off.iter().filter_map(|r| r.cpu_us_per_op).collect());
        let errors: u64 = on.iter().chain(off).map(|r| r.errors).sum();
        let overhead = match (t_on, t_off) {
            (Some(a), Some(b)) if b > 0.0 => Some((1.0 - a / b) * 100.0),
            _ => None,
        };
        let cpu_overhead = match (c_on, c_off) {
            (Some(a), Some(b)) if b > 0.0 => Some((a / b - 1.0) * 100.0),
            _ => None,
        };
        let pct = |p: Option<f64>| p.map_or("?".to_owned(), |p| format!("{p:+.1}%"));
        let num = |x: Option<f64>| x.map_or("?".to_owned(), fmt_rate);
        let cpu = |x: Option<f64>| x.map_or("?".to_owned(), |x| format!("{x:.0}"));
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | < {target:.0}% | {errors} |",
            w.label(),
            w.unit(),
            num(t_on),
            num(t_off),
            pct(overhead),
            cpu(c_on),
            cpu(c_off),
            pct(cpu_overhead),
        )?;
        let verdict = match overhead {
            Some(o) if errors > 0 => format!("{o:.1}% (but {errors} errors: not a valid run)"),
            Some(o) if o < target => format!("{o:.1}% — met"),
            Some(o) => format!("{o:.1}% — NOT met"),
            None => "not measured".to_owned(),
        };
        verdicts.push(format!(
            "- {}: audit overhead < {target:.0}% of throughput: {verdict}",
            w.label()
        ));
    }
    writeln!(out)?;
    writeln!(out, "Every run (ops/s, with / without audit):")?;
    for (w, on, off) in &results {
        let list = |runs: &[Run]| {
            runs.iter()
                .map(|r| format!("{:.0}", r.ops_per_sec))
                .collect::<Vec<_>>()
                .join(", ")
        };
        writeln!(out, "- {}: {} / {}", w.label(), list(on), list(off))?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "Throughput overhead = 1 − with/without (positive: auditing is slower). CPU overhead = \
         with/without − 1 of the server's CPU time per operation. The load generator shares the \
         machine's cores with the servers."
    )?;
    writeln!(out, "\nTargets (issue):")?;
    for v in verdicts {
        writeln!(out, "{v}")?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn medians() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(vec![f64::NAN, 1.0]), Some(1.0));
    }
}

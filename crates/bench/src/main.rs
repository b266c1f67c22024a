//! `keyward-bench`: load benchmark for keyward. `compare` is what `scripts/bench` runs, `audit`
//! what `scripts/bench-audit` runs.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use keyward_bench::audit::{AuditOptions, audit};
use keyward_bench::client::Target;
use keyward_bench::compare::{CompareOptions, compare};
use keyward_bench::load::{self, RunConfig};
use keyward_bench::workload::{self, Workload};

#[derive(Parser)]
#[command(
    about = "Load benchmark for keyward: SigV4-signed keep-alive load, side by side with moto"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve the loopback floor: a keep-alive HTTP server answering a fixed small XML.
    Floor {
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
    },
    /// Run one workload against one running server.
    Run {
        /// The server, e.g. 127.0.0.1:4600.
        #[arg(long)]
        addr: SocketAddr,
        #[arg(long, env = "AWS_ACCESS_KEY_ID")]
        access_key_id: String,
        #[arg(long, env = "AWS_SECRET_ACCESS_KEY", hide_env_values = true)]
        secret_access_key: String,
        #[arg(long, value_enum, default_value = "get-caller-identity")]
        workload: Workload,
        #[arg(long, short = 'c', default_value_t = 64)]
        concurrency: usize,
        /// Measured seconds.
        #[arg(long, short = 'd', default_value_t = 5.0)]
        duration: f64,
        /// Warm-up seconds.
        #[arg(long, default_value_t = 1.0)]
        warmup: f64,
        /// Stop after this many operations instead of after the duration.
        #[arg(long)]
        count: Option<u64>,
        /// Create the users the workload reads first (for the authz mix: its principal, whose
        /// key then signs the load).
        #[arg(long)]
        setup: bool,
        /// The server enforces no IAM policy (moto, the floor): accept 200 from the authz mix's
        /// denied target instead of requiring 403 AccessDenied.
        #[arg(long)]
        no_iam_enforcement: bool,
    },
    /// Start keyward (fresh data folder), moto and the floor; run every workload against each
    /// at each concurrency; print a markdown report; stop everything.
    Compare {
        /// The keyward binary.
        #[arg(long, default_value = "target/release/keyward")]
        keyward_bin: PathBuf,
        /// moto's server executable.
        #[arg(long, default_value = "target/bench-venv/bin/moto_server")]
        moto_server: PathBuf,
        /// Leave moto out.
        #[arg(long)]
        no_moto: bool,
        /// Measured seconds per run.
        #[arg(long, short = 'd', default_value_t = 4.0)]
        duration: f64,
        /// Warm-up seconds per run.
        #[arg(long, default_value_t = 1.0)]
        warmup: f64,
        /// Concurrencies (comma-separated).
        #[arg(long, value_delimiter = ',', default_value = "1,64")]
        concurrency: Vec<usize>,
        /// Workloads (comma-separated); all by default.
        #[arg(long, value_enum, value_delimiter = ',')]
        workloads: Vec<Workload>,
        /// Also write the report to this file.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// What auditing costs: keyward with and without its audit (the benchmark-only
    /// `--bench-without-audit`) side by side, CreateUser+DeleteUser and GetCallerIdentity in
    /// alternating rounds; prints throughput, server CPU per op and the overhead in percent.
    Audit {
        /// The keyward binary.
        #[arg(long, default_value = "target/release/keyward")]
        keyward_bin: PathBuf,
        /// Measured seconds per run.
        #[arg(long, short = 'd', default_value_t = 4.0)]
        duration: f64,
        /// Warm-up seconds per run.
        #[arg(long, default_value_t = 1.0)]
        warmup: f64,
        /// Runs per workload and server, alternating which server goes first.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Concurrent connections.
        #[arg(long, short = 'c', default_value_t = 64)]
        concurrency: usize,
        /// Also write the report to this file.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn secs(s: f64) -> Result<Duration> {
    Duration::try_from_secs_f64(s).context("bad number of seconds")
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            Cmd::Floor { listen } => {
                let listener = tokio::net::TcpListener::bind(listen).await?;
                println!("floor listening on http://{}", listener.local_addr()?);
                keyward_bench::floor::serve(listener).await
            }
            Cmd::Run {
                addr,
                access_key_id,
                secret_access_key,
                workload,
                concurrency,
                duration,
                warmup,
                count,
                setup,
                no_iam_enforcement,
            } => {
                let root = Target::new(
                    addr,
                    &access_key_id,
                    &secret_access_key,
                    !no_iam_enforcement,
                );
                if workload == Workload::AuthzMix && !setup {
                    anyhow::bail!(
                        "{} runs as a user its setup creates: pass --setup",
                        workload.label()
                    );
                }
                let target = if setup {
                    let prepared = workload::setup(&root, &[workload]).await?;
                    for note in &prepared.notes {
                        eprintln!("setup: {note}");
                    }
                    prepared.target_for(workload, &root)
                } else {
                    root
                };
                let config = RunConfig {
                    workload,
                    concurrency,
                    duration: secs(duration)?,
                    warmup: secs(warmup)?,
                    max_ops: count,
                };
                let r = load::run(&target, &config, &workload::run_tag()).await?;
                println!(
                    "{}: c={concurrency} {:.0} {} p50 {:.3} ms p90 {:.3} ms p99 {:.3} ms max {:.3} ms, {} ok, {} errors {:?}",
                    workload.label(),
                    r.throughput(),
                    workload.unit(),
                    r.quantile_ms(0.5),
                    r.quantile_ms(0.9),
                    r.quantile_ms(0.99),
                    r.max_ms(),
                    r.ops,
                    r.errors,
                    r.error_kinds
                );
                if workload == Workload::AuthzMix {
                    println!(
                        "  as {}: of the {} ok, {} refused 403 AccessDenied (expected), {} denied calls answered 200 (server marked as not enforcing IAM)",
                        target.user_name.as_deref().unwrap_or("?"),
                        r.ops,
                        r.denied,
                        r.not_enforced
                    );
                }
                Ok(())
            }
            Cmd::Compare {
                keyward_bin,
                moto_server,
                no_moto,
                duration,
                warmup,
                concurrency,
                workloads,
                out,
            } => {
                let moto_server = if no_moto {
                    None
                } else if moto_server.exists() {
                    Some(moto_server)
                } else {
                    anyhow::bail!(
                        "{} not found: create the venv (scripts/bench does) or pass --no-moto",
                        moto_server.display()
                    );
                };
                let opts = CompareOptions {
                    keyward_bin,
                    moto_server,
                    duration: secs(duration)?,
                    warmup: secs(warmup)?,
                    concurrency,
                    workloads: if workloads.is_empty() {
                        Workload::ALL.to_vec()
                    } else {
                        workloads
                    },
                };
                let report = compare(&opts).await?;
                print!("{report}");
                if let Some(path) = out {
                    std::fs::write(&path, &report)
                        .with_context(|| format!("write {}", path.display()))?;
                }
                Ok(())
            }
            Cmd::Audit {
                keyward_bin,
                duration,
                warmup,
                rounds,
                concurrency,
                out,
            } => {
                let opts = AuditOptions {
                    keyward_bin,
                    duration: secs(duration)?,
                    warmup: secs(warmup)?,
                    rounds,
                    concurrency,
                };
                let report = audit(&opts).await?;
                print!("{report}");
                if let Some(path) = out {
                    std::fs::write(&path, &report)
                        .with_context(|| format!("write {}", path.display()))?;
                }
                Ok(())
            }
        }
    })
}

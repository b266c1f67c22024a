//! `keyward serve`: the server.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use keyward_core::bootstrap::bootstrap;
use keyward_core::clock::{Clock, SystemClock};
use keyward_core::store::{Store, Tx};
use keyward_server::AppState;
use keyward_store::SqliteStore;

use crate::data_dir;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Folder holding the database, the master key and the first root credentials.
    #[arg(long, env = "KEYWARD_DATA_DIR", default_value = "./keyward-data")]
    data_dir: PathBuf,
    /// Address to listen on (port 0 picks a free port; the chosen address is printed).
    #[arg(long, env = "KEYWARD_LISTEN", default_value = "127.0.0.1:4600")]
    listen: SocketAddr,
    /// Serve `/metrics` and `/alarms` on this address instead of the API's (they need no
    /// authentication and `/alarms` names users: expose this one to monitoring only).
    #[arg(long, env = "KEYWARD_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// Connections served at once on the API address; another is answered 503 and closed at
    /// once. Default 1000, or fewer to fit the open-file limit (`ulimit -n`) less
    /// the files kept for the store, logs and the metrics address.
    #[arg(long, env = "KEYWARD_MAX_CONNECTIONS", value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: Option<u32>,
    /// Seconds a client has to send a request's line and headers, from the connection's opening
    /// or the request's first byte.
    #[arg(long, env = "KEYWARD_HEADER_READ_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    header_read_timeout_secs: u64,
    /// Seconds a client has to send a request's body, from the end of its headers (answered
    /// `RequestTimeout` after that).
    #[arg(long, env = "KEYWARD_BODY_READ_TIMEOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    body_read_timeout_secs: u64,
    /// Seconds a kept-alive connection may wait for its next request before it is closed.
    #[arg(long, env = "KEYWARD_IDLE_TIMEOUT_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    idle_timeout_secs: u64,
    /// Account ID for the first start (12 digits); random when omitted. Ignored once the store
    /// holds an account.
    #[arg(long, env = "KEYWARD_ACCOUNT_ID")]
    account_id: Option<String>,
    /// Master key file (default: master.key in the data folder, created on first start).
    #[arg(long, env = "KEYWARD_MASTER_KEY_FILE")]
    master_key_file: Option<PathBuf>,
    /// ARN partition.
    #[arg(long, env = "KEYWARD_PARTITION", default_value = "aws")]
    partition: String,
    /// Generation of the key that seals session tokens (derived from the master key). Rotate it
    /// by restarting every node with the next number: sessions sealed under the previous
    /// generation keep working until they expire; older ones are refused.
    #[arg(long, env = "KEYWARD_SESSION_KEY_GENERATION", default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=i64::from(keyward_core::session::MAX_GENERATION)))]
    session_key_generation: u32,
    /// TOTP codes accepted this many 30-second steps either side of a device's expected step.
    #[arg(long, env = "KEYWARD_MFA_WINDOW_STEPS", default_value_t = 1)]
    mfa_window_steps: i64,
    /// Failed MFA codes for one device within `--mfa-throttle-window-secs` that lock the device.
    #[arg(long, env = "KEYWARD_MFA_THROTTLE_FAILURES", default_value_t = 5)]
    mfa_throttle_failures: usize,
    #[arg(long, env = "KEYWARD_MFA_THROTTLE_WINDOW_SECS", default_value_t = 60)]
    mfa_throttle_window_secs: i64,
    /// How long a locked MFA device refuses every code.
    #[arg(long, env = "KEYWARD_MFA_LOCKOUT_SECS", default_value_t = 60)]
    mfa_lockout_secs: i64,
    /// Refused MFA codes in one account within `--mfa-alarm-window-secs` that put the
    /// `IAMMFAFailure` alarm in ALARM.
    #[arg(long, env = "KEYWARD_MFA_ALARM_THRESHOLD", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    mfa_alarm_threshold: u64,
    #[arg(long, env = "KEYWARD_MFA_ALARM_WINDOW_SECS", default_value_t = 300, value_parser = clap::value_parser!(i64).range(1..))]
    mfa_alarm_window_secs: i64,
    /// `IAMMFAFailure`'s threshold (and window, default `--mfa-alarm-window-secs`) for one
    /// account: `ACCOUNT_ID=THRESHOLD[/WINDOW_SECS]`. Repeatable (comma-separated in the
    /// environment); other accounts keep `--mfa-alarm-threshold`.
    #[arg(
        long,
        env = "KEYWARD_MFA_ALARM_ACCOUNTS",
        value_name = "ACCOUNT_ID=THRESHOLD[/WINDOW_SECS]",
        value_delimiter = ','
    )]
    mfa_alarm_account: Vec<String>,
    /// `http://host:port/path` receiving every alarm transition and alert as a JSON POST.
    #[arg(long, env = "KEYWARD_ALARM_WEBHOOK")]
    alarm_webhook: Option<String>,
    /// Also write every audit record as a JSON line to this file (`-` for standard output).
    #[arg(long, env = "KEYWARD_AUDIT_LOG")]
    audit_log: Option<String>,
    /// Delete audit records older than this many days (0 keeps them forever); CloudTrail's
    /// event history keeps 90 days.
    #[arg(long, env = "KEYWARD_AUDIT_RETENTION_DAYS", default_value_t = 90)]
    audit_retention_days: u32,
    /// Which records of read-only requests the trail keeps: `all`, `refused` (those that failed:
    /// refused signatures, denials, errors) or `none`, as CloudTrail's read/write selector of
    /// management events. Records of writes are always kept.
    #[arg(long, env = "KEYWARD_AUDIT_READS", default_value = "all", value_parser = parse_read_records)]
    audit_reads: keyward_core::audit::ReadRecords,
    /// Keep the audit trail's records within this many bytes, deleting the oldest first (checked
    /// every minute; each deletion is counted in `keyward_audit_records_trimmed_total` and raises
    /// the `AuditTrailCapReached` alert). 0: no cap, only `--audit-retention-days`.
    #[arg(long, env = "KEYWARD_AUDIT_MAX_BYTES", default_value_t = 0)]
    audit_max_bytes: u64,
    /// Seconds between two checks of `--audit-max-bytes` (tests use less).
    #[arg(long, default_value_t = 60, hide = true, value_parser = clap::value_parser!(u64).range(1..))]
    audit_cap_check_secs: u64,
    /// How often, at most, a request checks whether another process changed the store (which
    /// drops this server's caches of credentials and policies); 0 checks at every request. This
    /// server's own writes are seen by the next request whatever the value.
    #[arg(long, env = "KEYWARD_CHANGE_CHECK_MS", default_value_t = 5)]
    change_check_ms: u64,
    /// Benchmark only, never in service: record no audit at all (no record in the store, none in
    /// `--audit-log`), to measure what auditing costs (`scripts/bench-audit`).
    #[arg(long, hide = true)]
    bench_without_audit: bool,
    /// Shifts the server's clock by this many seconds (for tests of time-dependent behaviour).
    #[arg(
        long,
        env = "KEYWARD_CLOCK_OFFSET_SECS",
        default_value_t = 0,
        hide = true
    )]
    clock_offset_secs: i64,
}

fn parse_read_records(text: &str) -> Result<keyward_core::audit::ReadRecords, String> {
    keyward_core::audit::ReadRecords::parse(text)
        .ok_or_else(|| format!("`{text}` is not one of all, refused, none"))
}

/// `--mfa-alarm-account` rules, each account at most once.
fn mfa_alarm_accounts(
    args: &ServeArgs,
) -> Result<std::collections::HashMap<String, keyward_server::alarms::MfaRule>> {
    let default_window = time::Duration::seconds(args.mfa_alarm_window_secs);
    let mut rules = std::collections::HashMap::new();
    for text in &args.mfa_alarm_account {
        let (account, rule) = keyward_server::alarms::parse_account_rule(text, default_window)
            .map_err(|e| anyhow::anyhow!("--mfa-alarm-account: {e}"))?;
        if rules.insert(account.clone(), rule).is_some() {
            anyhow::bail!("--mfa-alarm-account: account {account} is given more than once");
        }
    }
    Ok(rules)
}

/// `--max-connections` when none is given.
const DEFAULT_MAX_CONNECTIONS: u32 = 1000;

/// Connections served at once on the `--metrics-listen` address (a scraper or two).
const MONITORING_MAX_CONNECTIONS: u32 = 16;

/// Open files kept for everything but API connections: the store's SQLite files, the logs, the
/// runtime's own (about 20 at start) and the `--metrics-listen` connections.
const RESERVED_FILES: u64 = 64 + MONITORING_MAX_CONNECTIONS as u64;

/// The process's soft limit on open files, where the system tells it (Linux); `None` when
/// unknown or unlimited.
fn open_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// `--max-connections`, lowered to what the open-file limit allows: past it, `accept` fails and
/// every client waits, refused connections and signed requests alike.
fn max_connections(requested: Option<u32>, open_files: Option<u64>) -> u32 {
    let wanted = requested.unwrap_or(DEFAULT_MAX_CONNECTIONS);
    let Some(files) = open_files else {
        return wanted;
    };
    let fits = u32::try_from(files.saturating_sub(RESERVED_FILES))
        .unwrap_or(u32::MAX)
        .max(1);
    if wanted <= fits {
        return wanted;
    }
    if requested.is_some() {
        tracing::warn!(
            max_connections = wanted,
            open_file_limit = files,
            using = fits,
            "--max-connections lowered to fit the open-file limit (raise `ulimit -n` for more)"
        );
    }
    fits
}

pub async fn run(args: ServeArgs) -> Result<()> {
    let started = std::time::Instant::now();
    let shutdown = shutdown_signal()?;
    // Configuration errors stop the start before anything is created.
    let mfa_alarm_accounts = mfa_alarm_accounts(&args)?;
    if let Some(url) = &args.alarm_webhook {
        keyward_server::alarms::parse_http_url(url)
            .map_err(|e| anyhow::anyhow!("--alarm-webhook: {e}"))?;
    }
    if args.bench_without_audit {
        tracing::warn!("--bench-without-audit: NO AUDIT RECORDS are written (benchmark use only)");
    }
    data_dir::create(&args.data_dir)?;
    data_dir::secure(&args.data_dir);
    let key_path = args
        .master_key_file
        .clone()
        .unwrap_or_else(|| args.data_dir.join(data_dir::MASTER_KEY_FILE));
    let master_key = data_dir::load_or_create_master_key(&key_path)?;
    if args.master_key_file.is_some() {
        data_dir::check_key_file(&key_path);
    }
    let store = SqliteStore::open(&args.data_dir)
        .await
        .context("open the store")?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::with_offset(args.clock_offset_secs));

    let mut tx = store.begin().await.context("begin bootstrap")?;
    let boot = bootstrap(
        &mut tx,
        &master_key,
        args.account_id.as_deref(),
        &args.partition,
        clock.now(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("bootstrap the first account: {e:?}"))?;
    if let Some(requested) = &args.account_id
        && requested != &boot.account_id
    {
        tracing::warn!(requested = %requested, existing = %boot.account_id, "--account-id ignored: the store already holds an account");
    }
    if let Some((key_id, secret)) = &boot.root_key {
        let csv_path = args.data_dir.join(data_dir::ROOT_KEYS_FILE);
        data_dir::write_private(
            &csv_path,
            format!(
                "Access key ID,Secret access key\n{key_id},{}\n",
                secret.expose()
            )
            .as_bytes(),
        )?;
        // Commit only once the credentials are safely on disk: a crash before this point leaves an
        // empty store, and the next start bootstraps again.
        tx.commit().await.context("commit bootstrap")?;
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "Created account {} with a root access key (shown once; also in {}):",
            boot.account_id,
            csv_path.display()
        )?;
        writeln!(out, "  AWS_ACCESS_KEY_ID={key_id}")?;
        writeln!(out, "  AWS_SECRET_ACCESS_KEY={}", secret.expose())?;
        out.flush()?;
    } else {
        tx.commit().await.context("commit bootstrap")?;
    }

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listen on {}", args.listen))?;
    let addr = listener
        .local_addr()
        .context("read the listening address")?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "keyward listening on http://{addr} (account {})",
            boot.account_id
        )?;
        out.flush()?;
    }
    let monitoring = match args.metrics_listen {
        Some(at) => {
            let listener = tokio::net::TcpListener::bind(at)
                .await
                .with_context(|| format!("listen on {at} (--metrics-listen)"))?;
            let maddr = listener
                .local_addr()
                .context("read the metrics listening address")?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "keyward metrics on http://{maddr}/metrics")?;
            out.flush()?;
            Some(listener)
        }
        None => None,
    };
    tracing::info!(%addr, account = %boot.account_id, startup_ms = started.elapsed().as_millis() as u64, "ready");

    let alarms = keyward_server::Alarms::spawn(
        keyward_server::AlarmConfig {
            threshold: usize::try_from(args.mfa_alarm_threshold).unwrap_or(usize::MAX),
            window: time::Duration::seconds(args.mfa_alarm_window_secs),
            accounts: mfa_alarm_accounts,
            webhook: args.alarm_webhook.clone(),
        },
        Arc::clone(&clock),
    );
    alarms.watch_account(&boot.account_id);
    let sink = Arc::new(match &args.audit_log {
        Some(target) => keyward_server::AuditSink::open(target)
            .with_context(|| format!("open the audit log {target}"))?,
        None => keyward_server::AuditSink::disabled(),
    });
    let sink_for_writer = Arc::clone(&sink);
    let audit = keyward_server::AuditWriter::spawn(
        store.clone(),
        Arc::new(move |batch: &[_]| batch.iter().for_each(|e| sink_for_writer.send(e))),
    );
    if args.audit_retention_days > 0 {
        tokio::spawn(retain_audit_records(
            store.clone(),
            Arc::clone(&clock),
            args.audit_retention_days,
        ));
    }
    let session_keys =
        keyward_core::session::SessionKeyRing::generation(&master_key, args.session_key_generation);
    let pipeline = keyward_core::pipeline::Pipeline::new(
        store.clone(),
        master_key,
        session_keys,
        clock,
        args.partition,
        keyward_core::totp::TotpConfig {
            window_steps: args.mfa_window_steps,
            throttle_failures: args.mfa_throttle_failures,
            throttle_window_secs: args.mfa_throttle_window_secs,
            lockout_secs: args.mfa_lockout_secs,
            ..keyward_core::totp::TotpConfig::default()
        },
        !args.bench_without_audit,
    )
    .with_change_check(Duration::from_millis(args.change_check_ms))
    .with_read_records(args.audit_reads);
    let metrics = Arc::new(keyward_server::Metrics::new());
    if args.audit_max_bytes > 0 {
        tokio::spawn(cap_audit_trail(
            store.clone(),
            args.audit_max_bytes,
            Duration::from_secs(args.audit_cap_check_secs),
            Arc::clone(&metrics),
            Arc::clone(&alarms),
        ));
    }
    let state = Arc::new(AppState {
        pipeline,
        sink: Arc::clone(&sink),
        audit,
        metrics,
        alarms,
        body_read_timeout: Duration::from_secs(args.body_read_timeout_secs),
    });
    let limits = keyward_server::ConnectionLimits {
        max_connections: max_connections(args.max_connections, open_file_limit()),
        header_read_timeout: Duration::from_secs(args.header_read_timeout_secs),
        idle_timeout: Duration::from_secs(args.idle_timeout_secs),
    };
    tracing::debug!(?limits, "connection limits");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let router = match monitoring {
        Some(listener) => {
            let router = keyward_server::monitoring_router(Arc::clone(&state));
            let limits = keyward_server::ConnectionLimits {
                max_connections: MONITORING_MAX_CONNECTIONS,
                ..limits
            };
            tokio::spawn(keyward_server::connections::serve(
                listener,
                router,
                limits,
                Arc::clone(&state.metrics),
                stop_rx.clone(),
            ));
            keyward_server::api_router(Arc::clone(&state))
        }
        None => keyward_server::router(Arc::clone(&state)),
    };
    let server = keyward_server::connections::serve(
        listener,
        router,
        limits,
        Arc::clone(&state.metrics),
        stop_rx.clone(),
    );
    let mut server = std::pin::pin!(server);
    tokio::select! {
        () = &mut server => {}
        () = shutdown => {
            tracing::info!("shutting down: finishing in-flight requests (at most 5 s)");
            let _ = stop_tx.send(true);
            if tokio::time::timeout(Duration::from_secs(5), &mut server).await.is_err() {
                tracing::warn!("in-flight requests did not finish within 5 s; stopping anyway");
            }
        }
    }
    drop(stop_rx);
    // The last requests have finished: write the audit records still queued, then close.
    state.audit.shutdown().await;
    sink.close();
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C. The handlers are installed when this is called, not when the
/// future is first polled: a signal that arrives as soon as the server says it is listening
/// stops it cleanly instead of killing it with the default action.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("listen for SIGTERM")?;
        let mut interrupt = signal(SignalKind::interrupt()).context("listen for SIGINT")?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {},
                _ = interrupt.recv() => {},
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        })
    }
}

/// Deletes audit records older than the retention period: at start, then every hour.
async fn retain_audit_records(store: SqliteStore, clock: Arc<dyn Clock>, days: u32) {
    let job = TrailJob::Retention { clock, days };
    every(&store, Duration::from_secs(3600), job, |n| {
        tracing::info!(deleted = n, days, "audit records past retention deleted");
    })
    .await;
}

/// Keeps the audit trail within `max_bytes`: at start, then every `period`, the oldest records
/// beyond the cap are deleted, counted and alerted on.
async fn cap_audit_trail(
    store: SqliteStore,
    max_bytes: u64,
    period: Duration,
    metrics: Arc<keyward_server::Metrics>,
    alarms: Arc<keyward_server::Alarms>,
) {
    every(&store, period, TrailJob::Cap { max_bytes }, |n| {
        tracing::warn!(
            deleted = n,
            max_bytes,
            "audit records deleted to keep the trail within --audit-max-bytes"
        );
        metrics.audit_trimmed(n);
        alarms.audit_trimmed(n, max_bytes);
    })
    .await;
}

/// What a periodic run deletes from the trail.
enum TrailJob {
    /// Records older than `days`.
    Retention { clock: Arc<dyn Clock>, days: u32 },
    /// The oldest records beyond `max_bytes`.
    Cap { max_bytes: u64 },
}

impl TrailJob {
    fn name(&self) -> &'static str {
        match self {
            TrailJob::Retention { .. } => "audit retention",
            TrailJob::Cap { .. } => "audit size cap",
        }
    }

    async fn run(&self, store: &SqliteStore) -> Result<u64, keyward_core::StoreError> {
        let mut tx = store.begin().await?;
        let n = match self {
            TrailJob::Retention { clock, days } => {
                let before = clock.now() - time::Duration::days(i64::from(*days));
                tx.delete_audit_events_before(before).await?
            }
            TrailJob::Cap { max_bytes } => tx.trim_audit_events(*max_bytes).await?,
        };
        tx.commit().await?;
        Ok(n)
    }
}

/// Runs `job` at start, then every `period`; `deleted` hears of every run that deleted records,
/// the log of every run that failed.
async fn every(store: &SqliteStore, period: Duration, job: TrailJob, deleted: impl Fn(u64)) {
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match job.run(store).await {
            Ok(0) => {}
            Ok(n) => deleted(n),
            Err(e) => tracing::warn!(error = %e, "{} run failed", job.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_connections_fit_the_open_file_limit() {
        assert_eq!(max_connections(None, None), DEFAULT_MAX_CONNECTIONS);
        assert_eq!(max_connections(None, Some(1024)), 944);
        assert_eq!(max_connections(Some(20), Some(1024)), 20);
        assert_eq!(max_connections(Some(5000), Some(1024)), 944);
        assert_eq!(
            max_connections(None, Some(1_048_576)),
            DEFAULT_MAX_CONNECTIONS
        );
        assert_eq!(max_connections(None, Some(10)), 1);
    }
}

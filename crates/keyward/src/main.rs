//! `keyward`: the server and its admin command line.

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use keyward_core::bootstrap::bootstrap;
use keyward_core::clock::{Clock, SystemClock};
use keyward_core::crypto::MasterKey;
use keyward_core::store::{Store, Tx};
use keyward_server::AppState;
use keyward_sigv4::SigningKeyCache;
use keyward_store::SqliteStore;

#[derive(Debug, Parser)]
#[command(
    name = "keyward",
    version,
    about = "A self-hosted AWS IAM and STS endpoint"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Administer the store directly (works while the server runs).
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create an IAM user in the first account, optionally with a console password.
    CreateUser(CreateUserArgs),
}

#[derive(Debug, clap::Args)]
struct CreateUserArgs {
    #[arg(long, env = "KEYWARD_DATA_DIR", default_value = "./keyward-data")]
    data_dir: PathBuf,
    #[arg(long)]
    user_name: String,
    #[arg(long, default_value = "/")]
    path: String,
    /// A console password, or `generate` for a random one that meets the account's password
    /// policy (printed once).
    #[arg(long)]
    console_password: Option<String>,
    /// The user must change the password at first sign-in.
    #[arg(long)]
    password_reset_required: bool,
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Folder holding the database, the master key and the first root credentials.
    #[arg(long, env = "KEYWARD_DATA_DIR", default_value = "./keyward-data")]
    data_dir: PathBuf,
    /// Address to listen on (port 0 picks a free port; the chosen address is printed).
    #[arg(long, env = "KEYWARD_LISTEN", default_value = "127.0.0.1:4600")]
    listen: SocketAddr,
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

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the async runtime")?;
    match cli.command {
        Command::Serve(args) => runtime.block_on(serve(args)),
        Command::Admin(AdminCommand::CreateUser(args)) => runtime.block_on(admin_create_user(args)),
    }
}

/// Writes `contents` to a new file readable by its owner only.
fn write_private(path: &Path, contents: &[u8]) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("create {}", path.display()))?;
    file.write_all(contents)
        .with_context(|| format!("write {}", path.display()))?;
    file.sync_all()
        .with_context(|| format!("sync {}", path.display()))?;
    Ok(())
}

fn load_or_create_master_key(path: &Path) -> Result<MasterKey> {
    match std::fs::read_to_string(path) {
        Ok(text) => MasterKey::from_file_text(&text)
            .with_context(|| format!("read master key {}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = MasterKey::generate(1).context("generate master key")?;
            write_private(path, key.to_file_text().as_bytes())?;
            tracing::info!(path = %path.display(), "created master key");
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("read master key {}", path.display())),
    }
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

async fn serve(args: ServeArgs) -> Result<()> {
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
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("create data folder {}", args.data_dir.display()))?;
    let key_path = args
        .master_key_file
        .clone()
        .unwrap_or_else(|| args.data_dir.join("master.key"));
    let master_key = load_or_create_master_key(&key_path)?;
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
        let csv_path = args.data_dir.join("root_accessKeys.csv");
        write_private(
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
    let state = Arc::new(AppState {
        sink: Arc::clone(&sink),
        store: store.clone(),
        credentials: keyward_core::auth::CredentialCache::new(),
        audit,
        record_audit: !args.bench_without_audit,
        master_key,
        session_keys,
        signing_keys: SigningKeyCache::new(4096),
        clock,
        partition: args.partition,
        policies: keyward_core::authz::PolicyCache::new(),
        totp: keyward_core::totp::TotpConfig {
            window_steps: args.mfa_window_steps,
            throttle_failures: args.mfa_throttle_failures,
            throttle_window_secs: args.mfa_throttle_window_secs,
            lockout_secs: args.mfa_lockout_secs,
            ..keyward_core::totp::TotpConfig::default()
        },
        key_use: std::sync::Mutex::default(),
        metrics: Arc::new(keyward_server::Metrics::new()),
        alarms,
    });
    let app = keyward_server::router(Arc::clone(&state))
        .into_make_service_with_connect_info::<SocketAddr>();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut stop_wait = stop_rx.clone();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = stop_wait.wait_for(|stop| *stop).await;
    });
    let mut server = std::pin::pin!(server.into_future());
    tokio::select! {
        result = &mut server => result.context("serve")?,
        () = shutdown => {
            tracing::info!("shutting down: finishing in-flight requests (at most 5 s)");
            let _ = stop_tx.send(true);
            match tokio::time::timeout(Duration::from_secs(5), &mut server).await {
                Ok(result) => result.context("serve")?,
                Err(_) => tracing::warn!("in-flight requests did not finish within 5 s; stopping anyway"),
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

/// `keyward admin create-user`: the same operations the API runs, as the account's root user, in
/// one transaction with their audit records.
async fn admin_create_user(args: CreateUserArgs) -> Result<()> {
    use keyward_core::authz::{PolicyCache, RequestInfo};
    use keyward_core::ops::{self, Ctx, Operation, Password};
    use keyward_core::password::Rules;
    use keyward_core::principal::{Caller, Principal};

    let master_key = load_or_create_master_key(&args.data_dir.join("master.key"))?;
    let store = SqliteStore::open(&args.data_dir)
        .await
        .context("open the store")?;
    let mut tx = store.begin().await.context("begin")?;
    let account_id = tx
        .list_accounts()
        .await
        .context("read accounts")?
        .into_iter()
        .next()
        .map(|a| a.id)
        .context("the store has no account yet: start the server once first")?;
    let password = match args.console_password.as_deref() {
        None => None,
        Some("generate") => {
            let policy = tx
                .get_password_policy(&account_id)
                .await
                .context("read the password policy")?;
            let rules = policy.as_ref().map_or(Rules::Default, Rules::Custom);
            Some(rules.generate().context("generate a password")?)
        }
        Some(p) => Some(p.to_owned()),
    };
    let caller = Caller {
        principal: Principal::Root {
            account_id: account_id.clone(),
        },
        access_key_id: String::new(),
        key_last_used: None,
        session: None,
    };
    let info = RequestInfo {
        source_ip: "127.0.0.1".to_owned(),
        user_agent: Some("keyward-admin".to_owned()),
        secure_transport: true,
        region: "us-east-1".to_owned(),
    };
    let policies = PolicyCache::new();
    let ctx = Ctx {
        partition: "aws",
        now: time::OffsetDateTime::now_utc(),
        master_key: &master_key,
        caller: &caller,
        info: &info,
        policies: &policies,
        totp: &keyward_core::totp::TotpConfig::default(),
        session_keys: &keyward_core::session::SessionKeyRing::new(&master_key),
    };
    let mut todo = vec![Operation::CreateUser(ops::users::CreateUser {
        user_name: Some(args.user_name.clone()),
        path: Some(args.path.clone()),
        permissions_boundary: None,
        tags: Vec::new(),
    })];
    if let Some(p) = &password {
        todo.push(Operation::CreateLoginProfile(
            ops::passwords::CreateLoginProfile {
                user_name: Some(args.user_name.clone()),
                password: Some(Password::new(p.clone())),
                password_reset_required: args.password_reset_required,
            },
        ));
    }
    for op in todo {
        let name = op.name().name();
        let mut event = keyward_core::audit::AuditEvent::api_call(
            keyward_core::ids::new_event_id(ctx.now),
            ctx.now,
            "iam",
            name,
            keyward_core::ids::new_request_id(),
            info.source_ip.clone(),
            info.user_agent.clone(),
        );
        event.read_only = false;
        event.identity_type = Some("Root".to_owned());
        event.principal_id = Some(account_id.clone());
        event.principal_arn = Some(caller.principal.arn("aws"));
        event.account_id = Some(account_id.clone());
        if let Err(e) = ops::execute(&mut tx, &ctx, op).await {
            let api = e.to_api();
            event.error_code = Some(api.code.to_owned());
            event.error_message = Some(api.message.clone());
            drop(tx);
            let mut tx = store.begin().await.context("begin")?;
            tx.insert_audit_event(&event).await.context("audit")?;
            tx.commit().await.context("commit")?;
            anyhow::bail!("{name}: {}: {}", api.code, api.message);
        }
        tx.insert_audit_event(&event).await.context("audit")?;
    }
    tx.commit().await.context("commit")?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Created user {} in account {account_id}",
        args.user_name
    )?;
    if args.console_password.as_deref() == Some("generate")
        && let Some(p) = &password
    {
        writeln!(out, "Console password (shown once): {p}")?;
    }
    if password.is_some() {
        let url = format!("sign in at /console with account {account_id}");
        writeln!(
            out,
            "{url}{}",
            if args.password_reset_required {
                "; the password must be changed at first sign-in"
            } else {
                ""
            }
        )?;
    }
    store.close().await;
    Ok(())
}

/// Deletes audit records older than the retention period: at start, then every hour.
async fn retain_audit_records(store: SqliteStore, clock: Arc<dyn Clock>, days: u32) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        let before = clock.now() - time::Duration::days(i64::from(days));
        let result = async {
            let mut tx = store.begin().await?;
            let n = tx.delete_audit_events_before(before).await?;
            tx.commit().await?;
            Ok::<u64, keyward_core::StoreError>(n)
        }
        .await;
        match result {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, days, "audit records past retention deleted"),
            Err(e) => tracing::warn!(error = %e, "audit retention run failed"),
        }
    }
}

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

async fn serve(args: ServeArgs) -> Result<()> {
    let started = std::time::Instant::now();
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

    let session_keys = keyward_core::session::SessionKeyRing::new(&master_key);
    let state = Arc::new(AppState {
        store: store.clone(),
        master_key,
        session_keys,
        signing_keys: SigningKeyCache::new(4096),
        clock,
        partition: args.partition,
        policies: keyward_core::authz::PolicyCache::new(),
    });
    let app = keyward_server::router(state).into_make_service_with_connect_info::<SocketAddr>();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut stop_wait = stop_rx.clone();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = stop_wait.wait_for(|stop| *stop).await;
    });
    let mut server = std::pin::pin!(server.into_future());
    tokio::select! {
        result = &mut server => result.context("serve")?,
        () = shutdown_signal() => {
            tracing::info!("shutting down: finishing in-flight requests (at most 5 s)");
            let _ = stop_tx.send(true);
            match tokio::time::timeout(Duration::from_secs(5), &mut server).await {
                Ok(result) => result.context("serve")?,
                Err(_) => tracing::warn!("in-flight requests did not finish within 5 s; stopping anyway"),
            }
        }
    }
    drop(stop_rx);
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

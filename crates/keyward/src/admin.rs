//! `keyward admin`: administers the store directly, beside a running server.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Subcommand;
use keyward_core::clock::{Clock, SystemClock};
use keyward_core::store::{Store, Tx};
use keyward_store::SqliteStore;

use crate::data_dir;

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an IAM user in the first account, optionally with a console password.
    CreateUser(CreateUserArgs),
}

/// What every admin subcommand works on, with `serve`'s flags and environment variables: the data
/// folder, the ARN partition and the clock.
#[derive(Debug, clap::Args)]
pub struct StoreArgs {
    #[arg(long, env = "KEYWARD_DATA_DIR", default_value = "./keyward-data")]
    data_dir: PathBuf,
    /// Master key file (the server's; default: master.key in the data folder). It must exist:
    /// `admin` never creates one.
    #[arg(long, env = "KEYWARD_MASTER_KEY_FILE")]
    master_key_file: Option<PathBuf>,
    /// ARN partition (the server's).
    #[arg(long, env = "KEYWARD_PARTITION", default_value = "aws")]
    partition: String,
    /// Shifts the clock by this many seconds (for tests of time-dependent behaviour).
    #[arg(
        long,
        env = "KEYWARD_CLOCK_OFFSET_SECS",
        default_value_t = 0,
        hide = true
    )]
    clock_offset_secs: i64,
}

impl StoreArgs {
    /// The server's master key, read from `--master-key-file` or the data folder. A missing key
    /// is an error: a new one would not open the secrets the server sealed.
    fn master_key(&self) -> Result<keyward_core::crypto::MasterKey> {
        let path = self
            .master_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join(data_dir::MASTER_KEY_FILE));
        anyhow::ensure!(
            path.exists(),
            "no master key at {}: start the server once first, and give admin the server's \
             --master-key-file if it has one",
            path.display()
        );
        data_dir::load_or_create_master_key(&path)
    }

    /// The system clock, shifted as `serve` shifts it.
    fn clock(&self) -> SystemClock {
        SystemClock::with_offset(self.clock_offset_secs)
    }
}

#[derive(Debug, clap::Args)]
pub struct CreateUserArgs {
    #[command(flatten)]
    store: StoreArgs,
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

pub async fn run(command: AdminCommand) -> Result<()> {
    match command {
        AdminCommand::CreateUser(args) => {
            let clock = Arc::new(args.store.clock());
            create_user(args, clock).await
        }
    }
}

/// `keyward admin create-user`: the same operations the API runs, through the same pipeline
/// (authorisation, audit record, commit), as the account's root user. The login profile is
/// created after the user; if it is refused, the user is deleted again (both recorded), so the
/// command leaves nothing half-done.
async fn create_user(args: CreateUserArgs, clock: Arc<dyn Clock>) -> Result<()> {
    use keyward_core::ops::{self, MemberMap};
    use keyward_core::password::Rules;
    use keyward_core::pipeline::{Call, Credentials, Input, Pipeline, WriteAlone};
    use keyward_core::principal::{Caller, Principal};

    let dir = &args.store.data_dir;
    data_dir::secure(dir);
    let master_key = args.store.master_key()?;
    let store = SqliteStore::open(dir).await.context("open the store")?;
    let mut tx = store.begin_read().await.context("begin")?;
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
    drop(tx);
    let session_keys = keyward_core::session::SessionKeyRing::new(&master_key);
    let pipeline = Pipeline::new(
        store.clone(),
        master_key,
        session_keys,
        clock,
        args.store.partition.clone(),
        keyward_core::totp::TotpConfig::default(),
        true,
    );
    let root = Caller {
        principal: Principal::Root {
            account_id: account_id.clone(),
        },
        access_key_id: String::new(),
        key_last_used: None,
        session: None,
    };
    // Each request goes in as its members, so it is decoded and validated as the API's are.
    let run = |action: &'static str, members: MemberMap| {
        let pipeline = &pipeline;
        let root = &root;
        async move {
            let now = pipeline.clock.now();
            let request_id = keyward_core::ids::new_request_id();
            let event = pipeline.begin_event(
                now,
                "iam",
                action,
                request_id.clone(),
                "127.0.0.1".to_owned(),
                Some("keyward-admin".to_owned()),
            );
            let call = Call {
                request_id,
                now,
                source_ip: "127.0.0.1".to_owned(),
                user_agent: Some("keyward-admin".to_owned()),
                service: ops::Service::Iam,
                credentials: Credentials::Trusted(Box::new(root.clone())),
                input: Input::Wire {
                    action,
                    members: Ok(&members),
                },
                event,
            };
            pipeline.call(call, &WriteAlone).await
        }
    };
    let failed = |name: &str, e: &keyward_core::OpError| {
        let api = e.to_api();
        anyhow::anyhow!("{name}: {}: {}", api.code, api.message)
    };
    let user = || MemberMap::new().with("UserName", args.user_name.clone());
    let created = run("CreateUser", user().with("Path", args.path.clone())).await;
    if let Err(e) = &created.result {
        return Err(failed("CreateUser", e));
    }
    if let Some(p) = &password {
        let profile = run(
            "CreateLoginProfile",
            user().with("Password", p.clone()).with(
                "PasswordResetRequired",
                args.password_reset_required.to_string(),
            ),
        )
        .await;
        if let Err(e) = &profile.result {
            let undo = run("DeleteUser", user()).await;
            if let Err(u) = &undo.result {
                tracing::error!(error = %u, "the user created before the refused password was not deleted");
            }
            return Err(failed("CreateLoginProfile", e));
        }
    }
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

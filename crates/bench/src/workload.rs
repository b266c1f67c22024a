//! The workloads: what one operation is, and the setup each needs on a target.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Result, bail};

use crate::client::{Conn, Reply, Service, Target};

/// IAM's Query API version.
pub const IAM_VERSION: &str = "2010-05-08";
/// STS's Query API version.
pub const STS_VERSION: &str = "2011-06-15";

/// The user `GetUser` reads.
pub const GET_USER_TARGET: &str = "bench-target";
/// How many users `ListUsers` runs over.
pub const LIST_USERS_COUNT: usize = 1000;

/// A benchmark workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Workload {
    /// `sts:GetCallerIdentity` as root.
    GetCallerIdentity,
    /// `iam:GetUser` of one user, as root.
    GetUser,
    /// `iam:ListUsers` (first page, AWS's default of 100) with 1,000 users in the account.
    ListUsers,
    /// One user lifecycle: `CreateUser` → `CreateAccessKey` → `DeleteAccessKey` → `DeleteUser`.
    WriteMix,
    /// `CreateUser` then `DeleteUser` of a new user: two writes, each one transaction with its
    /// audit record. The write-heavy load of the audit benchmark (`keyward-bench audit`); not in
    /// [`Workload::ALL`].
    CreateDeleteUser,
    /// A non-root user with the realistic policy set calls `iam:GetUser` on allowed and denied
    /// targets. Needs the IAM policy API.
    AuthzMix,
}

impl Workload {
    /// The workloads `compare` runs by default, in report order.
    pub const ALL: [Workload; 5] = [
        Workload::GetCallerIdentity,
        Workload::GetUser,
        Workload::ListUsers,
        Workload::WriteMix,
        Workload::AuthzMix,
    ];

    /// The name used in the report.
    pub fn label(self) -> &'static str {
        match self {
            Workload::GetCallerIdentity => "sts:GetCallerIdentity",
            Workload::GetUser => "iam:GetUser",
            Workload::ListUsers => "iam:ListUsers (1,000 users)",
            Workload::WriteMix => "write mix (user lifecycle)",
            Workload::CreateDeleteUser => "iam:CreateUser + iam:DeleteUser",
            Workload::AuthzMix => "authz mix (non-root GetUser)",
        }
    }

    /// What one operation of the workload is, for the throughput unit.
    pub fn unit(self) -> &'static str {
        match self {
            Workload::WriteMix => "lifecycles/s (4 requests each)",
            Workload::CreateDeleteUser => "pairs/s (2 requests each)",
            _ => "requests/s",
        }
    }

    /// HTTP requests per operation.
    pub fn requests_per_op(self) -> u64 {
        match self {
            Workload::WriteMix => 4,
            Workload::CreateDeleteUser => 2,
            _ => 1,
        }
    }
}

/// Why an operation failed: a short, groupable description.
pub type OpError = String;

fn iam(action: &str, rest: &str) -> String {
    if rest.is_empty() {
        format!("Action={action}&Version={IAM_VERSION}")
    } else {
        format!("Action={action}&{rest}&Version={IAM_VERSION}")
    }
}

async fn expect_ok(conn: &mut Conn, service: Service, body: &str) -> Result<Reply, OpError> {
    match conn.call(service, body).await {
        Ok(r) if r.ok() => Ok(r),
        Ok(r) => Err(r.describe()),
        Err(e) => Err(format!("transport: {e:#}")),
    }
}

/// A run-unique prefix for the names the write mix creates, so runs against a server that keeps
/// its state (moto) never collide.
pub fn run_tag() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{:x}", nanos & 0xffff_ffff_ffff)
}

/// Runs one operation of `workload`. `worker` and `seq` make names unique within a run.
pub async fn run_op(
    workload: Workload,
    conn: &mut Conn,
    tag: &str,
    worker: usize,
    seq: u64,
) -> Result<(), OpError> {
    match workload {
        Workload::GetCallerIdentity => {
            let body = format!("Action=GetCallerIdentity&Version={STS_VERSION}");
            expect_ok(conn, Service::Sts, &body).await.map(drop)
        }
        Workload::GetUser => {
            let body = iam("GetUser", &format!("UserName={GET_USER_TARGET}"));
            expect_ok(conn, Service::Iam, &body).await.map(drop)
        }
        Workload::ListUsers => expect_ok(conn, Service::Iam, &iam("ListUsers", ""))
            .await
            .map(drop),
        Workload::WriteMix => {
            let user = format!("bw-{tag}-{worker}-{seq}");
            let u = format!("UserName={user}");
            expect_ok(conn, Service::Iam, &iam("CreateUser", &u)).await?;
            let created = expect_ok(conn, Service::Iam, &iam("CreateAccessKey", &u)).await?;
            let key_id = created
                .element("AccessKeyId")
                .ok_or_else(|| "CreateAccessKey: no AccessKeyId in the response".to_owned())?
                .to_owned();
            let del = format!("{u}&AccessKeyId={key_id}");
            expect_ok(conn, Service::Iam, &iam("DeleteAccessKey", &del)).await?;
            expect_ok(conn, Service::Iam, &iam("DeleteUser", &u)).await?;
            Ok(())
        }
        Workload::CreateDeleteUser => {
            let u = format!("UserName=bc-{tag}-{worker}-{seq}");
            expect_ok(conn, Service::Iam, &iam("CreateUser", &u)).await?;
            expect_ok(conn, Service::Iam, &iam("DeleteUser", &u)).await?;
            Ok(())
        }
        Workload::AuthzMix => Err("authz mix: not available".to_owned()),
    }
}

/// Why a workload cannot run on a target.
pub const AUTHZ_UNAVAILABLE: &str = "not yet available (needs the IAM policy API)";

/// Prepares a target for `workloads` (creates the users they read). Users that already exist are
/// fine. Returns, per workload that cannot run, the reason.
pub async fn setup(
    target: &Arc<Target>,
    workloads: &[Workload],
) -> Result<Vec<(Workload, String)>> {
    let mut unavailable = Vec::new();
    let mut conn = Conn::new(target.clone());
    if workloads.contains(&Workload::GetUser) {
        create_user(&mut conn, GET_USER_TARGET).await?;
    }
    if workloads.contains(&Workload::ListUsers) {
        create_users(target, "bench-list-", LIST_USERS_COUNT, 16).await?;
    }
    if workloads.contains(&Workload::AuthzMix) {
        // The realistic principal needs CreatePolicy/AttachUserPolicy/groups. Probe for the policy
        // API rather than assuming; until it exists the workload is reported as unavailable.
        let probe = conn.call(Service::Iam, &iam("ListPolicies", "")).await?;
        if probe.ok() {
            unavailable.push((
                Workload::AuthzMix,
                "policy API present; the realistic-principal setup is not written yet".to_owned(),
            ));
        } else {
            unavailable.push((Workload::AuthzMix, AUTHZ_UNAVAILABLE.to_owned()));
        }
    }
    Ok(unavailable)
}

async fn create_user(conn: &mut Conn, name: &str) -> Result<()> {
    let reply = conn
        .call(
            Service::Iam,
            &iam("CreateUser", &format!("UserName={name}")),
        )
        .await?;
    if reply.ok() || reply.element("Code") == Some("EntityAlreadyExists") {
        Ok(())
    } else {
        bail!("CreateUser {name}: {}", reply.describe())
    }
}

/// Creates `prefix0000`..`prefix{count-1}` over `concurrency` connections.
pub async fn create_users(
    target: &Arc<Target>,
    prefix: &str,
    count: usize,
    concurrency: usize,
) -> Result<()> {
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let next = next.clone();
        let target = target.clone();
        let prefix = prefix.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::new(target);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count as u64 {
                    return Ok::<(), anyhow::Error>(());
                }
                create_user(&mut conn, &format!("{prefix}{i:04}")).await?;
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(())
}

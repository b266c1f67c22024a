//! The workloads: what one operation is, and the setup each needs on a target.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, bail};
use keyward_policy::workload::{BOUNDARY, identity_documents};

use crate::client::{Conn, Reply, Service, Target};

/// IAM's Query API version.
pub const IAM_VERSION: &str = "2010-05-08";
/// STS's Query API version.
pub const STS_VERSION: &str = "2011-06-15";

/// The user `GetUser` reads.
pub const GET_USER_TARGET: &str = "bench-target";
/// How many users `ListUsers` runs over.
pub const LIST_USERS_COUNT: usize = 1000;

/// The user the authz mix's principal may read besides itself.
pub const AUTHZ_ALLOWED_USER: &str = "bench-authz-allowed";
/// The user the authz mix's principal may not read.
pub const AUTHZ_DENIED_USER: &str = "bench-authz-denied";

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
    /// A non-root user with the realistic policy set (see [`setup`]) calls `iam:GetUser`,
    /// alternating an allowed target (itself, [`AUTHZ_ALLOWED_USER`]) and a denied one
    /// ([`AUTHZ_DENIED_USER`]). A denied call is done when the server answers 403 `AccessDenied`
    /// (or 200 on a target that does not enforce IAM, see [`Target::enforces_iam`]).
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

/// How an operation that went as expected ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every request answered 2xx.
    Done,
    /// The authz mix's denied call was refused with 403 `AccessDenied`, as it must be.
    Denied,
    /// The authz mix's denied call answered 2xx on a target that does not enforce IAM
    /// ([`Target::enforces_iam`] false: moto, the floor).
    NotEnforced,
}

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

/// Percent-encodes `value` for a form body: everything but RFC 3986's unreserved characters.
fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A run-unique prefix for the names the write mix and the authz mix's setup create, so runs
/// against a server that keeps its state (moto) never collide.
pub fn run_tag() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{:x}", nanos & 0xffff_ffff_ffff)
}

/// Runs one operation of `workload` on `conn`, signed with its target's key. `worker` and `seq`
/// make names unique within a run; the authz mix picks its target user from `seq`.
pub async fn run_op(
    workload: Workload,
    conn: &mut Conn,
    tag: &str,
    worker: usize,
    seq: u64,
) -> Result<Outcome, OpError> {
    let done = |_| Outcome::Done;
    match workload {
        Workload::GetCallerIdentity => {
            let body = format!("Action=GetCallerIdentity&Version={STS_VERSION}");
            expect_ok(conn, Service::Sts, &body).await.map(done)
        }
        Workload::GetUser => {
            let body = iam("GetUser", &format!("UserName={GET_USER_TARGET}"));
            expect_ok(conn, Service::Iam, &body).await.map(done)
        }
        Workload::ListUsers => expect_ok(conn, Service::Iam, &iam("ListUsers", ""))
            .await
            .map(done),
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
            expect_ok(conn, Service::Iam, &iam("DeleteUser", &u))
                .await
                .map(done)
        }
        Workload::CreateDeleteUser => {
            let u = format!("UserName=bc-{tag}-{worker}-{seq}");
            expect_ok(conn, Service::Iam, &iam("CreateUser", &u)).await?;
            expect_ok(conn, Service::Iam, &iam("DeleteUser", &u))
                .await
                .map(done)
        }
        Workload::AuthzMix => authz_op(conn, seq).await,
    }
}

/// One `iam:GetUser` as the authz mix's principal: `seq` 0, 1, 2, 3 (mod 4) read the principal
/// itself, the denied user, the allowed user, the denied user.
async fn authz_op(conn: &mut Conn, seq: u64) -> Result<Outcome, OpError> {
    let target = conn.target();
    let enforces_iam = target.enforces_iam;
    let (body, denied) = match seq % 4 {
        // Without a known user name (no setup: the floor), GetUser without UserName reads the
        // caller itself.
        0 => match &target.user_name {
            Some(me) => (iam("GetUser", &format!("UserName={me}")), false),
            None => (iam("GetUser", ""), false),
        },
        2 => (
            iam("GetUser", &format!("UserName={AUTHZ_ALLOWED_USER}")),
            false,
        ),
        _ => (
            iam("GetUser", &format!("UserName={AUTHZ_DENIED_USER}")),
            true,
        ),
    };
    let reply = conn
        .call(Service::Iam, &body)
        .await
        .map_err(|e| format!("transport: {e:#}"))?;
    match (denied, reply.ok()) {
        (false, true) => Ok(Outcome::Done),
        (false, false) => Err(format!("allowed target: {}", reply.describe())),
        (true, false) if reply.status == 403 && reply.element("Code") == Some("AccessDenied") => {
            Ok(Outcome::Denied)
        }
        (true, false) => Err(format!(
            "denied target: {} (expected 403 AccessDenied)",
            reply.describe()
        )),
        (true, true) if !enforces_iam => Ok(Outcome::NotEnforced),
        (true, true) => Err(format!(
            "denied target: {} (expected 403 AccessDenied)",
            reply.status
        )),
    }
}

/// What [`setup`] prepared on a target.
#[derive(Clone, Default)]
pub struct Prepared {
    /// The authz mix's principal: the same server, signing with the principal's access key.
    pub authz_principal: Option<Arc<Target>>,
    /// What the setup could not do as specified on a target that enforces no policy (where it
    /// changes nothing), for the report.
    pub notes: Vec<String>,
}

impl Prepared {
    /// The target `workload` runs against: the authz mix signs as its principal when one was
    /// set up, every other workload as `base` (root).
    pub fn target_for(&self, workload: Workload, base: &Arc<Target>) -> Arc<Target> {
        match (workload, &self.authz_principal) {
            (Workload::AuthzMix, Some(principal)) => principal.clone(),
            _ => base.clone(),
        }
    }
}

/// Prepares a target for `workloads`, as the root user of `target`: creates the users they read
/// (users that already exist are fine) and, for the authz mix, its principal (see
/// [`setup_authz`]).
pub async fn setup(target: &Arc<Target>, workloads: &[Workload]) -> Result<Prepared> {
    let mut prepared = Prepared::default();
    let mut conn = Conn::new(target.clone());
    if workloads.contains(&Workload::GetUser) {
        create_user(&mut conn, GET_USER_TARGET).await?;
    }
    if workloads.contains(&Workload::ListUsers) {
        create_users(target, "bench-list-", LIST_USERS_COUNT, 16).await?;
    }
    if workloads.contains(&Workload::AuthzMix) {
        prepared.authz_principal = Some(setup_authz(&mut conn, &mut prepared.notes).await?);
    }
    Ok(prepared)
}

/// The inline policy that lets the authz mix's principal read itself and [`AUTHZ_ALLOWED_USER`]:
/// the one statement the bench adds to the workload's policy set.
pub fn authz_get_user_policy() -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"BenchGetUser","Effect":"Allow","Action":"iam:GetUser","Resource":["arn:aws:iam::*:user/${{aws:username}}","arn:aws:iam::*:user/{AUTHZ_ALLOWED_USER}"]}}]}}"#
    )
}

/// The authz mix's permissions boundary: the workload's [`BOUNDARY`] (which allows only the
/// services its identity policies use) plus a statement allowing `iam:GetUser`, without which
/// the boundary would deny every call of the workload.
pub fn authz_boundary() -> Result<String> {
    let statements = BOUNDARY
        .strip_suffix("]}")
        .context("the workload's BOUNDARY no longer ends with its Statement array")?;
    Ok(format!(
        r#"{statements},{{"Sid":"BenchGetUser","Effect":"Allow","Action":"iam:GetUser","Resource":"arn:aws:iam::*:user/*"}}]}}"#
    ))
}

/// Creates, as root, the authz mix's "realistic principal" of `keyward_policy::workload` and
/// returns the target signing as it. The workload's identity documents are laid out as its
/// module describes: the first 10 as customer managed policies attached to the user (IAM's quota
/// of attached managed policies per user), the next 4 as customer managed policies attached two
/// each to 2 groups the user is a member of, the last (a deny) as an inline user policy. The
/// bench adds [`authz_get_user_policy`] inline and sets [`authz_boundary`] as the permissions
/// boundary. The user carries the tag `team=blue` its conditions test.
///
/// The principal, its policies and groups get run-unique names ([`run_tag`]), so a rerun against
/// a server that keeps its state starts from scratch; the target users are shared (an existing
/// one is fine). Every call must answer 2xx (the floor answers a fixed body that has the `Arn`,
/// `AccessKeyId` and `SecretAccessKey` elements read here), with one exception: on a target
/// that enforces no policy, a refused `PutUserPermissionsBoundary` (moto 5 does not implement
/// it) is written to `notes` and the setup goes on, since a boundary changes nothing there.
pub async fn setup_authz(conn: &mut Conn, notes: &mut Vec<String>) -> Result<Arc<Target>> {
    let docs = identity_documents();
    let [user_docs @ .., deny] = docs.as_slice() else {
        bail!("the workload has no identity documents");
    };
    if user_docs.len() != 14 {
        bail!(
            "the workload has {} identity documents, the authz mix's layout expects 15",
            docs.len()
        );
    }
    create_user(conn, AUTHZ_ALLOWED_USER).await?;
    create_user(conn, AUTHZ_DENIED_USER).await?;

    let me = format!("bench-authz-{}", run_tag());
    let u = format!("UserName={me}");
    call_ok(
        conn,
        "CreateUser",
        &format!("{u}&Tags.member.1.Key=team&Tags.member.1.Value=blue"),
    )
    .await?;

    let mut arns = Vec::with_capacity(user_docs.len());
    for (i, doc) in user_docs.iter().enumerate() {
        arns.push(create_policy(conn, &format!("{me}-p{i}"), doc).await?);
    }
    let (attached, grouped) = arns.split_at(10);
    for arn in attached {
        let rest = format!("{u}&PolicyArn={}", form_encode(arn));
        call_ok(conn, "AttachUserPolicy", &rest).await?;
    }
    for (g, pair) in grouped.chunks(2).enumerate() {
        let group = format!("GroupName={me}-g{g}");
        call_ok(conn, "CreateGroup", &group).await?;
        for arn in pair {
            let rest = format!("{group}&PolicyArn={}", form_encode(arn));
            call_ok(conn, "AttachGroupPolicy", &rest).await?;
        }
        call_ok(conn, "AddUserToGroup", &format!("{group}&{u}")).await?;
    }
    for (name, doc) in [
        ("deny", deny.clone()),
        ("get-user", authz_get_user_policy()),
    ] {
        let rest = format!("{u}&PolicyName={name}&PolicyDocument={}", form_encode(&doc));
        call_ok(conn, "PutUserPolicy", &rest).await?;
    }
    let boundary = create_policy(conn, &format!("{me}-boundary"), &authz_boundary()?).await?;
    let rest = format!("{u}&PermissionsBoundary={}", form_encode(&boundary));
    let body = iam("PutUserPermissionsBoundary", &rest);
    let reply = conn
        .call(Service::Iam, &body)
        .await
        .context("PutUserPermissionsBoundary")?;
    if !reply.ok() {
        if conn.target().enforces_iam {
            bail!("PutUserPermissionsBoundary: {}", reply.describe());
        }
        notes.push(format!(
            "PutUserPermissionsBoundary answered {}: the authz mix's principal has no boundary \
             here (the target enforces no policy, so it changes nothing)",
            reply.describe()
        ));
    }

    let key = call_ok(conn, "CreateAccessKey", &u).await?;
    let id = key
        .element("AccessKeyId")
        .context("CreateAccessKey: no AccessKeyId in the response")?;
    let secret = key
        .element("SecretAccessKey")
        .context("CreateAccessKey: no SecretAccessKey in the response")?;
    Ok(conn.target().as_user(&me, id, secret))
}

/// Calls the IAM `action` with the parameters `rest`; anything but 2xx is an error.
async fn call_ok(conn: &mut Conn, action: &str, rest: &str) -> Result<Reply> {
    let reply = conn
        .call(Service::Iam, &iam(action, rest))
        .await
        .with_context(|| action.to_owned())?;
    if !reply.ok() {
        bail!("{action}: {}", reply.describe());
    }
    Ok(reply)
}

/// Creates the customer managed policy `name` and returns its ARN.
async fn create_policy(conn: &mut Conn, name: &str, document: &str) -> Result<String> {
    let rest = format!("PolicyName={name}&PolicyDocument={}", form_encode(document));
    let reply = call_ok(conn, "CreatePolicy", &rest).await?;
    Ok(reply
        .element("Arn")
        .with_context(|| format!("CreatePolicy {name}: no Arn in the response"))?
        .to_owned())
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use keyward_policy::{Policy, PolicyKind};

    use super::*;

    #[test]
    fn authz_documents_are_valid_policies() {
        let boundary = authz_boundary().unwrap();
        Policy::parse(&boundary, PolicyKind::Boundary, "boundary").unwrap();
        assert!(boundary.starts_with(BOUNDARY.trim_end_matches("]}")));
        assert!(boundary.contains("iam:GetUser"));
        let get_user = authz_get_user_policy();
        Policy::parse(&get_user, PolicyKind::Identity, "get-user").unwrap();
        assert!(get_user.contains("user/${aws:username}"));
        assert!(get_user.contains(AUTHZ_ALLOWED_USER));
        assert!(!get_user.contains(AUTHZ_DENIED_USER));
    }

    #[test]
    fn form_encoding_keeps_only_unreserved_characters() {
        assert_eq!(
            form_encode(r#"{"a": "b/${c}+d"}"#),
            "%7B%22a%22%3A%20%22b%2F%24%7Bc%7D%2Bd%22%7D"
        );
        assert_eq!(form_encode("Az09-._~"), "Az09-._~");
    }
}

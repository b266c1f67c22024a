//! A keyward server on a free loopback port in a fresh data folder, and SDK clients for it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_iam::config::{BehaviorVersion, Credentials, Region};

pub struct Server {
    child: Option<Child>,
    pub addr: String,
    pub dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    pub account_id: String,
    pub root_key_id: String,
    pub root_secret: String,
    /// Everything the server printed on stdout before it was ready.
    pub banner: String,
}

impl Server {
    pub fn start() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let mut s = Self::start_in(&dir, &[]);
        s._tmp = Some(tmp);
        s
    }

    /// Starts on `dir` (which may hold an earlier run's data) with extra `serve` arguments.
    pub fn start_in(dir: &Path, extra: &[&str]) -> Self {
        Self::spawn(dir, extra, None, None)
    }

    /// Like [`Server::start_in`], logging at debug level into `log`.
    pub fn start_logged(dir: &Path, extra: &[&str], log: &Path) -> Self {
        Self::spawn(dir, extra, Some(log), None)
    }

    /// Like [`Server::start_logged`], under the file mode creation mask `umask` (e.g. `022`)
    /// rather than the one the tests run with.
    pub fn start_with_umask(dir: &Path, umask: &str, log: &Path) -> Self {
        Self::spawn(dir, &[], Some(log), Some(umask))
    }

    fn spawn(dir: &Path, extra: &[&str], log: Option<&Path>, umask: Option<&str>) -> Self {
        let (level, stderr) = match log {
            Some(path) => ("debug", Stdio::from(std::fs::File::create(path).unwrap())),
            None => ("warn", Stdio::inherit()),
        };
        let exe = env!("CARGO_BIN_EXE_keyward");
        let mut command = match umask {
            // The shell sets the mask and execs keyward in its place (same process ID).
            Some(mask) => {
                let mut c = Command::new("sh");
                c.arg("-c")
                    .arg(format!("umask {mask} && exec \"$0\" \"$@\""))
                    .arg(exe);
                c
            }
            None => Command::new(exe),
        };
        let mut child = command
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .args(extra)
            .env("RUST_LOG", level)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut banner = String::new();
        let addr = loop {
            let mut line = String::new();
            if out.read_line(&mut line).unwrap() == 0 {
                panic!("server exited before listening; printed:\n{banner}");
            }
            banner.push_str(&line);
            if let Some(rest) = line.strip_prefix("keyward listening on http://") {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = String::new();
            let _ = out.read_to_string(&mut sink);
        });
        let csv = std::fs::read_to_string(dir.join("root_accessKeys.csv")).unwrap();
        let row = csv.lines().nth(1).unwrap();
        let (key, secret) = row.split_once(',').unwrap();
        let account_id = banner
            .rsplit("(account ")
            .next()
            .unwrap()
            .trim()
            .trim_end_matches(')')
            .to_owned();
        Server {
            child: Some(child),
            addr,
            dir: dir.to_path_buf(),
            _tmp: None,
            account_id,
            root_key_id: key.to_owned(),
            root_secret: secret.to_owned(),
            banner,
        }
    }

    /// The server's process ID, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills the server with SIGKILL: no graceful shutdown, no flush of queued records.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Sends SIGTERM and waits for a clean exit; returns the exit status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("server already stopped");
        Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("server did not stop within 10 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn iam(&self, key: &str, secret: &str) -> aws_sdk_iam::Client {
        iam_client(&self.endpoint(), key, secret, None)
    }

    pub fn sts(&self, key: &str, secret: &str) -> aws_sdk_sts::Client {
        sts_client(&self.endpoint(), key, secret, None)
    }

    /// Creates a user (as root) with one access key; returns (key ID, secret).
    pub async fn new_user_with_key(&self, name: &str) -> (String, String) {
        let iam = self.root_iam();
        iam.create_user().user_name(name).send().await.unwrap();
        let k = iam
            .create_access_key()
            .user_name(name)
            .send()
            .await
            .unwrap()
            .access_key
            .unwrap();
        (k.access_key_id, k.secret_access_key)
    }

    pub fn root_iam(&self) -> aws_sdk_iam::Client {
        self.iam(&self.root_key_id, &self.root_secret)
    }

    pub fn root_sts(&self) -> aws_sdk_sts::Client {
        self.sts(&self.root_key_id, &self.root_secret)
    }

    /// A POST of `body` to `service`, header-signed with `key` and `secret` (any secret: a wrong
    /// one makes a refused request), with `extra` headers; returns (status, body).
    pub fn signed_post(
        &self,
        service: &str,
        key: &str,
        secret: &str,
        extra: &[(&str, &str)],
        body: &str,
    ) -> (u16, String) {
        let host = self.addr.clone();
        let content_type = if service == "cloudtrail" {
            "application/x-amz-json-1.1"
        } else {
            "application/x-www-form-urlencoded"
        };
        let mut headers = vec![("host", host.as_str()), ("content-type", content_type)];
        headers.extend_from_slice(extra);
        let secret = keyward_sigv4::SecretKey::new(secret);
        let signed = keyward_sigv4::sign_headers(
            &keyward_sigv4::RequestParts {
                method: "POST",
                path: "/",
                query: "",
                headers: &headers,
                body: body.as_bytes(),
            },
            &keyward_sigv4::SigningParams {
                access_key_id: key,
                secret: &secret,
                security_token: None,
                region: "us-east-1",
                service,
                time: time::OffsetDateTime::now_utc(),
            },
        );
        let mut request = format!(
            "POST / HTTP/1.1\r\nContent-Length: {}\r\nConnection: close\r\n",
            body.len()
        );
        for (name, value) in headers.iter().copied().chain(
            signed
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect::<Vec<_>>(),
        ) {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(body);
        self.raw(&request)
    }

    /// A GET of `path` (with its query), returns (status, body).
    pub fn get(&self, path: &str) -> (u16, String) {
        self.raw(&format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        ))
    }

    /// Sends raw bytes as one HTTP/1.1 request and returns (status, body).
    pub fn raw(&self, request: &str) -> (u16, String) {
        let mut s = TcpStream::connect(&self.addr).unwrap();
        // The server may answer (and close) before it has read everything; keep what it said.
        let _ = s.write_all(request.as_bytes());
        let mut bytes = Vec::new();
        let _ = s.read_to_end(&mut bytes);
        let resp = String::from_utf8_lossy(&bytes).into_owned();
        let status = resp.split_whitespace().nth(1).unwrap().parse().unwrap();
        let body = resp
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        (status, body)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A clock `offset_secs` away from the real one, for signing with a skewed client clock.
#[derive(Debug)]
pub struct SkewedClock(pub i64);

impl aws_smithy_async::time::TimeSource for SkewedClock {
    fn now(&self) -> SystemTime {
        let now = SystemTime::now();
        if self.0 >= 0 {
            now + Duration::from_secs(self.0.unsigned_abs())
        } else {
            now - Duration::from_secs(self.0.unsigned_abs())
        }
    }
}

/// An IAM client for `endpoint`: long-term keys when `token` is `None`, temporary credentials
/// with it; signing `skew` seconds off the real clock when given.
fn iam_signed(
    endpoint: &str,
    key: &str,
    secret: &str,
    token: Option<String>,
    skew: Option<i64>,
) -> aws_sdk_iam::Client {
    let mut b = aws_sdk_iam::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(key, secret, token, None, "test"))
        .retry_config(aws_sdk_iam::config::retry::RetryConfig::disabled());
    if let Some(s) = skew {
        b = b.time_source(SkewedClock(s));
    }
    aws_sdk_iam::Client::from_conf(b.build())
}

/// [`iam_signed`] for STS.
fn sts_signed(
    endpoint: &str,
    key: &str,
    secret: &str,
    token: Option<String>,
    skew: Option<i64>,
) -> aws_sdk_sts::Client {
    let mut b = aws_sdk_sts::Config::builder()
        .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_sdk_sts::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sts::config::Credentials::new(
            key, secret, token, None, "test",
        ))
        .retry_config(aws_sdk_sts::config::retry::RetryConfig::disabled());
    if let Some(s) = skew {
        b = b.time_source(SkewedClock(s));
    }
    aws_sdk_sts::Client::from_conf(b.build())
}

pub fn iam_client(
    endpoint: &str,
    key: &str,
    secret: &str,
    skew: Option<i64>,
) -> aws_sdk_iam::Client {
    iam_signed(endpoint, key, secret, None, skew)
}

pub fn sts_client(
    endpoint: &str,
    key: &str,
    secret: &str,
    skew: Option<i64>,
) -> aws_sdk_sts::Client {
    sts_signed(endpoint, key, secret, None, skew)
}

/// Temporary credentials: (key, secret, token).
pub type Temp = (String, String, String);

/// The temporary credentials an STS call returned, as [`Temp`].
pub fn temp(c: &aws_sdk_sts::types::Credentials) -> Temp {
    (
        c.access_key_id().to_owned(),
        c.secret_access_key().to_owned(),
        c.session_token().to_owned(),
    )
}

/// An IAM client on `server` signed with temporary credentials (and a skewed clock if given).
pub fn iam_with(server: &Server, t: &Temp, skew: Option<i64>) -> aws_sdk_iam::Client {
    iam_signed(&server.endpoint(), &t.0, &t.1, Some(t.2.clone()), skew)
}

/// An STS client on `server` signed with temporary credentials (and a skewed clock if given).
pub fn sts_with(server: &Server, t: &Temp, skew: Option<i64>) -> aws_sdk_sts::Client {
    sts_signed(&server.endpoint(), &t.0, &t.1, Some(t.2.clone()), skew)
}

/// Seconds since the Unix epoch, by the real clock.
pub fn now_secs() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// The current 30-second TOTP step, after waiting out the end of a step so that at least 10 s
/// of it remain: a code computed now is still current when the server checks it, and all of a
/// test's requests see the same step.
pub fn fresh_step() -> i64 {
    loop {
        let now = now_secs();
        if now % 30 < 20 {
            return now / 30;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The code an authenticator app shows at 30-second `step` for a base32 seed. It comes from an
/// independent TOTP implementation (the `totp-rs` crate), never from keyward's own generator, so
/// a test cannot pass by keyward agreeing with itself.
pub fn totp_code(seed_b32: &str, step: i64) -> String {
    let secret = totp_rs::Secret::try_from_base32(seed_b32).unwrap();
    let totp = totp_rs::Builder::new().with_secret(secret).build().unwrap();
    totp.generate(u64::try_from(step * 30).unwrap()).to_string()
}

/// `user` gets a virtual MFA device named after them, created and enabled through `iam` (root's
/// client, or the user's own) with the codes of two consecutive steps; returns (serial, base32
/// seed, the last step used).
pub async fn enable_mfa(iam: &aws_sdk_iam::Client, user: &str) -> (String, String, i64) {
    let d = iam
        .create_virtual_mfa_device()
        .virtual_mfa_device_name(user)
        .send()
        .await
        .unwrap()
        .virtual_mfa_device
        .unwrap();
    let seed = String::from_utf8(d.base32_string_seed.unwrap().into_inner()).unwrap();
    let t = fresh_step();
    iam.enable_mfa_device()
        .user_name(user)
        .serial_number(&d.serial_number)
        .authentication_code1(totp_code(&seed, t - 1))
        .authentication_code2(totp_code(&seed, t))
        .send()
        .await
        .unwrap();
    (d.serial_number, seed, t)
}

/// Runs `command` to its end and asserts that it succeeded (showing its stderr if not).
pub fn run_ok(command: &mut std::process::Command) -> std::process::Output {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// IAM's and STS's refusal, as [`aws_error`] reads it: `AccessDenied`, `message`, 403.
pub fn access_denied(message: impl Into<String>) -> (String, String, u16) {
    ("AccessDenied".into(), message.into(), 403)
}

/// Code, message and HTTP status of a failed SDK call (IAM and STS share these types).
pub fn aws_error<E>(
    err: &aws_sdk_iam::error::SdkError<E, aws_sdk_iam::config::http::HttpResponse>,
) -> (String, String, u16)
where
    E: aws_sdk_iam::error::ProvideErrorMetadata,
{
    use aws_sdk_iam::error::ProvideErrorMetadata;
    let status = err.raw_response().map(|r| r.status().as_u16()).unwrap_or(0);
    (
        err.code().unwrap_or_default().to_owned(),
        err.message().unwrap_or_default().to_owned(),
        status,
    )
}

/// The `aws` executable: `$KEYWARD_AWS_CLI`, the workspace's `.venv`, or `aws` on PATH. Under
/// CI a missing CLI is a failure, not a skip.
pub fn aws_cli() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("KEYWARD_AWS_CLI") {
        return Some(PathBuf::from(p));
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/aws");
    if venv.exists() {
        return Some(venv);
    }
    let on_path = Command::new("aws")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if on_path {
        return Some(PathBuf::from("aws"));
    }
    assert!(
        std::env::var("CI").is_err(),
        "the aws CLI is required under CI (scripts/test installs it)"
    );
    eprintln!("skipping: no aws CLI (run scripts/test to install it)");
    None
}

/// The `aws` CLI against one server, with its own empty `HOME` (no profile, no cache).
pub struct Aws {
    pub exe: PathBuf,
    pub endpoint: String,
    pub home: tempfile::TempDir,
}

impl Aws {
    /// Runs `aws --endpoint-url ... ARGS` with the given credentials; returns (success, stdout, stderr).
    pub fn run(&self, key: &str, secret: &str, args: &[&str]) -> (bool, String, String) {
        self.run_with_token(key, secret, None, args)
    }

    /// [`Aws::run`] with temporary credentials (`AWS_SESSION_TOKEN` in the environment).
    pub fn run_with_token(
        &self,
        key: &str,
        secret: &str,
        token: Option<&str>,
        args: &[&str],
    ) -> (bool, String, String) {
        let mut cmd = Command::new(&self.exe);
        cmd.arg("--endpoint-url")
            .arg(&self.endpoint)
            .args(["--output", "json"])
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("AWS_ACCESS_KEY_ID", key)
            .env("AWS_SECRET_ACCESS_KEY", secret)
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_MAX_ATTEMPTS", "1")
            .env("AWS_EC2_METADATA_DISABLED", "true");
        if let Some(t) = token {
            cmd.env("AWS_SESSION_TOKEN", t);
        }
        let out = cmd.output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// Every record of the trail — `keyward.db`'s and `audit_reads.db`'s — oldest first, as the
/// store renders them for `LookupEvents` (after a graceful stop, so none is still queued).
pub async fn trail(dir: &Path) -> Vec<serde_json::Value> {
    let store = keyward_store::SqliteStore::open(dir).await.unwrap();
    let mut tx = keyward_core::store::Store::begin_read(&store)
        .await
        .unwrap();
    let mut events = keyward_core::store::Tx::list_audit_events(&mut tx, usize::MAX)
        .await
        .unwrap();
    events.reverse();
    events
        .iter()
        .map(keyward_core::audit::AuditEvent::to_record)
        .collect()
}

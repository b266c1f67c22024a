//! `keyward-bench compare`: starts keyward (fresh SQLite data folder), moto's server and the floor,
//! runs every workload against each at each concurrency in one run, and prints a markdown report.
//! Every process it starts is killed when it returns, also on error (`Proc`'s `Drop`).

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};

use crate::client::{Conn, Service, Target};
use crate::load::{self, RunConfig, RunResult};
use crate::procstat;
use crate::workload::{
    self, AUTHZ_ALLOWED_USER, AUTHZ_DENIED_USER, Prepared, STS_VERSION, Workload,
};

/// Options of `compare`.
#[derive(Clone, Debug)]
pub struct CompareOptions {
    /// The `keyward` binary.
    pub keyward_bin: PathBuf,
    /// moto's `moto_server`, or `None` to leave moto out.
    pub moto_server: Option<PathBuf>,
    /// Measured time of each run.
    pub duration: Duration,
    /// Warm-up before each run.
    pub warmup: Duration,
    /// Concurrencies to run each workload at.
    pub concurrency: Vec<usize>,
    /// Workloads to run.
    pub workloads: Vec<Workload>,
}

/// A started child process, killed and reaped when dropped.
pub struct Proc {
    name: &'static str,
    child: Child,
}

impl Proc {
    /// The process ID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        eprintln!("bench: stopped {}", self.name);
    }
}

/// Reads the child's stdout until a line containing `marker`, returns what follows the marker up
/// to the next space, and keeps draining stdout in the background.
fn address_from_stdout(proc: &mut Proc, marker: &'static str) -> Result<SocketAddr> {
    let stdout = proc
        .child
        .stdout
        .take()
        .ok_or_else(|| anyhow!("{}: stdout not captured", proc.name))?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if !sent && let Some(pos) = line.find(marker) {
                let rest = &line[pos + marker.len()..];
                let addr = rest.split_whitespace().next().unwrap_or("").to_owned();
                let _ = tx.send(addr);
                sent = true;
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(60))
        .map_err(|_| anyhow!("{} did not print {marker:?} within 60 s", proc.name))?;
    addr.parse()
        .with_context(|| format!("{}: bad address {addr:?}", proc.name))
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// Waits until the target answers `GetCallerIdentity` with 200.
pub async fn wait_ready(target: &Arc<Target>, name: &str, within: Duration) -> Result<()> {
    let deadline = Instant::now() + within;
    let body = format!("Action=GetCallerIdentity&Version={STS_VERSION}");
    let mut last = String::new();
    while Instant::now() < deadline {
        let mut conn = Conn::new(target.clone());
        match conn.call(Service::Sts, &body).await {
            Ok(r) if r.ok() => return Ok(()),
            Ok(r) => last = r.describe(),
            Err(e) => last = format!("{e:#}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!("{name} not ready within {within:?}: {last}")
}

/// A server started for the benchmark: stopped when dropped.
pub struct Server {
    /// Its name in the report.
    pub name: &'static str,
    /// The process.
    pub proc: Proc,
    /// Its address, signing as its root user (keyward) or with any key (moto, the floor).
    pub target: Arc<Target>,
}

/// Starts keyward on a fresh data folder under `dir` (`dir/keyward-data`, log `dir/keyward.log`)
/// with `extra` serve flags, listening on a free port of 127.0.0.1; its target signs with the
/// root key keyward writes to `root_accessKeys.csv`.
pub fn start_keyward(bin: &Path, dir: &Path, name: &'static str, extra: &[&str]) -> Result<Server> {
    let data = dir.join("keyward-data");
    let log = std::fs::File::create(dir.join("keyward.log"))?;
    let child = Command::new(bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .with_context(|| format!("start {}", bin.display()))?;
    let mut proc = Proc { name, child };
    let addr = address_from_stdout(&mut proc, "keyward listening on http://")?;
    let csv = std::fs::read_to_string(data.join("root_accessKeys.csv"))
        .context("read root_accessKeys.csv")?;
    let row = csv
        .lines()
        .nth(1)
        .ok_or_else(|| anyhow!("root_accessKeys.csv has no key row"))?;
    let (key, secret) = row
        .split_once(',')
        .ok_or_else(|| anyhow!("root_accessKeys.csv: bad row"))?;
    Ok(Server {
        name,
        proc,
        target: Target::new(addr, key.trim(), secret.trim(), true),
    })
}

/// Credentials for moto and the floor, which accept any well-formed signature (and enforce no
/// policy: their targets have `enforces_iam` false).
const OTHER_KEY: (&str, &str) = (
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
);

fn start_floor() -> Result<Server> {
    let exe = std::env::current_exe()?;
    let child = Command::new(exe)
        .args(["floor", "--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("start the floor server")?;
    let mut proc = Proc {
        name: "floor",
        child,
    };
    let addr = address_from_stdout(&mut proc, "floor listening on http://")?;
    Ok(Server {
        name: "floor",
        proc,
        target: Target::new(addr, OTHER_KEY.0, OTHER_KEY.1, false),
    })
}

fn start_moto(bin: &Path) -> Result<Server> {
    let port = free_port()?;
    let child = Command::new(bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("start {}", bin.display()))?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    Ok(Server {
        name: "moto",
        proc: Proc {
            name: "moto",
            child,
        },
        target: Target::new(addr, OTHER_KEY.0, OTHER_KEY.1, false),
    })
}

/// One cell of the matrix.
struct Row {
    workload: Workload,
    concurrency: usize,
    server: &'static str,
    measured: Measured,
}

struct Measured {
    result: RunResult,
    /// CPU time of the server process per successful operation.
    server_cpu_per_op: Option<Duration>,
    /// CPU time of the load generator per successful operation.
    client_cpu_per_op: Option<Duration>,
}

pub(crate) fn per_op(cpu: Option<Duration>, ops: u64) -> Option<Duration> {
    if ops == 0 {
        return None;
    }
    cpu.map(|c| c / ops as u32)
}

fn fmt_rss(kib: Option<(u64, u64)>) -> (String, String) {
    match kib {
        Some((rss, hwm)) => (
            format!("{:.1} MB", rss as f64 / 1024.0),
            format!("{:.1} MB", hwm as f64 / 1024.0),
        ),
        None => ("?".to_owned(), "?".to_owned()),
    }
}

pub(crate) fn fmt_rate(r: f64) -> String {
    if r < 10.0 {
        format!("{r:.2}")
    } else {
        format!("{r:.0}")
    }
}

pub(crate) fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    format!("{cores} cores, {cpu}, Linux {kernel}")
}

/// Runs the comparison and returns the markdown report.
pub async fn compare(opts: &CompareOptions) -> Result<String> {
    let dir = tempfile::tempdir()?;
    let keyward = start_keyward(&opts.keyward_bin, dir.path(), "keyward", &[])?;
    wait_ready(&keyward.target, "keyward", Duration::from_secs(30)).await?;
    let floor = start_floor()?;
    wait_ready(&floor.target, "floor", Duration::from_secs(30)).await?;
    // Idle RSS of keyward: started, answered its first requests, nothing else.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let keyward_idle = procstat::rss_kib(keyward.proc.pid());
    eprintln!(
        "bench: keyward at {}, floor at {}",
        keyward.target.addr, floor.target.addr
    );

    let moto = match &opts.moto_server {
        Some(bin) => {
            let m = start_moto(bin)?;
            wait_ready(&m.target, "moto", Duration::from_secs(60)).await?;
            eprintln!("bench: moto at {}", m.target.addr);
            Some(m)
        }
        None => None,
    };

    let mut servers: Vec<&Server> = vec![&keyward];
    if let Some(m) = &moto {
        servers.push(m);
    }
    servers.push(&floor);

    // Setup on each real server. The floor answers anything, so the workloads run there with
    // nothing prepared (the authz mix signs with the floor's own key).
    let mut prepared: Vec<Prepared> = Vec::new();
    let mut setup_notes = Vec::new();
    for server in &servers {
        if server.name == "floor" {
            prepared.push(Prepared::default());
            continue;
        }
        let started = Instant::now();
        let p = workload::setup(&server.target, &opts.workloads)
            .await
            .with_context(|| format!("setup on {}", server.name))?;
        let took = started.elapsed();
        eprintln!("bench: setup on {} took {took:.1?}", server.name);
        let mut what = Vec::new();
        if opts.workloads.contains(&Workload::ListUsers) {
            what.push(format!(
                "{} users for ListUsers, over 16 connections",
                workload::LIST_USERS_COUNT
            ));
        }
        if let Some(principal) = &p.authz_principal {
            what.push(format!(
                "the authz mix's principal {}",
                principal.user_name.as_deref().unwrap_or("?")
            ));
        }
        setup_notes.push(format!(
            "setup on {} ({}): {:.1} s",
            server.name,
            if what.is_empty() {
                "nothing to create".to_owned()
            } else {
                what.join("; ")
            },
            took.as_secs_f64()
        ));
        for note in &p.notes {
            eprintln!("bench: setup on {}: {note}", server.name);
            setup_notes.push(format!("setup on {}: {note}", server.name));
        }
        prepared.push(p);
    }
    let keyward_after_setup = procstat::rss_kib(keyward.proc.pid());

    let tag = workload::run_tag();
    let mut rows = Vec::new();
    let self_pid = std::process::id();
    for &w in &opts.workloads {
        for &c in &opts.concurrency {
            for (server, prepared) in servers.iter().zip(&prepared) {
                let target = prepared.target_for(w, &server.target);
                let config = RunConfig {
                    workload: w,
                    concurrency: c,
                    duration: opts.duration,
                    warmup: opts.warmup,
                    max_ops: None,
                };
                eprintln!("bench: {} c={c} on {} ...", w.label(), server.name);
                let cpu0 = procstat::cpu_time(server.proc.pid());
                let self0 = procstat::cpu_time(self_pid);
                let result = load::run(&target, &config, &format!("{tag}{c}")).await?;
                let cpu1 = procstat::cpu_time(server.proc.pid());
                let self1 = procstat::cpu_time(self_pid);
                // CPU deltas cover the whole run, warm-up included: divide by every operation
                // the run completed.
                let delta = |a: Option<Duration>, b: Option<Duration>| Some(b?.saturating_sub(a?));
                let server_cpu = delta(cpu0, cpu1);
                let client_cpu = delta(self0, self1);
                eprintln!(
                    "bench:   {:.0} ops/s, p99 {:.2} ms, {} errors",
                    result.throughput(),
                    result.quantile_ms(0.99),
                    result.errors
                );
                rows.push(Row {
                    workload: w,
                    concurrency: c,
                    server: server.name,
                    measured: Measured {
                        server_cpu_per_op: per_op(server_cpu, result.all_ops),
                        client_cpu_per_op: per_op(client_cpu, result.all_ops),
                        result,
                    },
                });
            }
        }
    }
    let keyward_end = procstat::rss_kib(keyward.proc.pid());
    let moto_end = moto.as_ref().and_then(|m| procstat::rss_kib(m.proc.pid()));
    let floor_end = procstat::rss_kib(floor.proc.pid());

    let mut out = String::new();
    writeln!(out, "Machine: {}", machine())?;
    writeln!(
        out,
        "Each run: {:.0} s warm-up, then {:.0} s measured; one keep-alive HTTP/1.1 connection per \
         worker; every request SigV4-signed afresh.",
        opts.warmup.as_secs_f64(),
        opts.duration.as_secs_f64()
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "| workload | conc. | target | ops/s | p50 ms | p90 ms | p99 ms | max ms | errors | server CPU µs/op | client CPU µs/op | keyward/moto | keyward/floor |"
    )?;
    writeln!(out, "|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")?;
    let find = |w: Workload, c: usize, name: &str| {
        rows.iter()
            .find(|r| r.workload == w && r.concurrency == c && r.server == name)
            .map(|r| r.measured.result.throughput())
    };
    let ratio = |k: Option<f64>, other: Option<f64>| match (k, other) {
        (Some(k), Some(o)) if o > 0.0 && k / o < 10.0 => format!("{:.2}×", k / o),
        (Some(k), Some(o)) if o > 0.0 => format!("{:.0}×", k / o),
        _ => "—".to_owned(),
    };
    let us = |d: Option<Duration>| match d {
        Some(d) => format!("{:.0}", d.as_secs_f64() * 1e6),
        None => "?".to_owned(),
    };
    for row in &rows {
        let label = row.workload.label();
        let m = &row.measured;
        let r = &m.result;
        let (km, kf) = if row.server == "keyward" {
            let k = Some(r.throughput());
            (
                ratio(k, find(row.workload, row.concurrency, "moto")),
                ratio(k, find(row.workload, row.concurrency, "floor")),
            )
        } else {
            (String::new(), String::new())
        };
        writeln!(
            out,
            "| {label} | {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {} | {} | {km} | {kf} |",
            row.concurrency,
            row.server,
            fmt_rate(r.throughput()),
            r.quantile_ms(0.5),
            r.quantile_ms(0.9),
            r.quantile_ms(0.99),
            r.max_ms(),
            r.errors,
            us(m.server_cpu_per_op),
            us(m.client_cpu_per_op),
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "An op is one request, except for the write mix, where it is one user lifecycle \
         (CreateUser → CreateAccessKey → DeleteAccessKey → DeleteUser, 4 sequential requests), and \
         CreateUser + DeleteUser (2); latencies are per op. ListUsers reads the first page (AWS's default, 100 users) of an \
         account holding 1,000 users."
    )?;
    if opts.workloads.contains(&Workload::AuthzMix) {
        writeln!(
            out,
            "The authz mix runs as a non-root user holding the realistic policy set (10 managed \
             policies, 2 groups with 2 each, 2 inline, a permissions boundary; ~60 \
             statements), calling GetUser on itself, {AUTHZ_ALLOWED_USER} (allowed) and \
             {AUTHZ_DENIED_USER} (denied) in turn; a denied call counts as done when answered 403 \
             AccessDenied. moto and the floor enforce no policy: their denied calls answer 200, \
             accepted there only (on the floor the mix signs with the floor's key, nothing set up)."
        )?;
        for row in rows.iter().filter(|r| r.workload == Workload::AuthzMix) {
            let r = &row.measured.result;
            writeln!(
                out,
                "- authz mix c={} {}: {} ops, {} refused 403 AccessDenied, {} denied calls \
                 answered 200 (not enforced)",
                row.concurrency, row.server, r.ops, r.denied, r.not_enforced
            )?;
        }
    }
    for note in &setup_notes {
        writeln!(out, "- {note}")?;
    }
    let mut any_errors = false;
    for row in &rows {
        let r = &row.measured.result;
        for (kind, n) in &r.error_kinds {
            if !any_errors {
                writeln!(out, "\nErrors:")?;
                any_errors = true;
            }
            writeln!(
                out,
                "- {} c={} {}: {n} × {kind}",
                row.workload.label(),
                row.concurrency,
                row.server
            )?;
        }
        if r.reconnects > 0 {
            writeln!(
                out,
                "- {} c={} {}: {} reconnects (server closed keep-alive connections)",
                row.workload.label(),
                row.concurrency,
                row.server,
                r.reconnects
            )?;
        }
    }

    writeln!(out, "\nMemory (VmRSS now / VmHWM peak):")?;
    let (i, _) = fmt_rss(keyward_idle);
    writeln!(out, "- keyward idle after start: {i}")?;
    let (s, _) = fmt_rss(keyward_after_setup);
    let users = if opts.workloads.contains(&Workload::ListUsers) {
        ", ~1,000 users"
    } else {
        ""
    };
    writeln!(out, "- keyward after setup (idle{users}): {s}")?;
    let (e, p) = fmt_rss(keyward_end);
    writeln!(out, "- keyward after the load: {e}, peak {p}")?;
    if moto.is_some() {
        let (e, p) = fmt_rss(moto_end);
        writeln!(out, "- moto after the load: {e}, peak {p}")?;
    }
    let (e, p) = fmt_rss(floor_end);
    writeln!(out, "- floor after the load: {e}, peak {p}")?;

    writeln!(out, "\nTargets (issue):")?;
    let get = |w: Workload, c: usize, name: &str| {
        rows.iter()
            .find(|r| r.workload == w && r.concurrency == c && r.server == name)
            .map(|r| &r.measured.result)
    };
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    if let Some(k) = get(Workload::GetCallerIdentity, 64, "keyward") {
        let t = k.throughput();
        writeln!(
            out,
            "- GetCallerIdentity c=64 ≥ 20,000 req/s: {t:.0} — {}",
            verdict(t >= 20_000.0)
        )?;
        let p99 = k.quantile_ms(0.99);
        writeln!(
            out,
            "- GetCallerIdentity c=64 p99 < 5 ms: {p99:.2} ms — {}",
            verdict(p99 < 5.0)
        )?;
        if let Some(m) = get(Workload::GetCallerIdentity, 64, "moto") {
            let r = t / m.throughput().max(f64::MIN_POSITIVE);
            writeln!(out, "- ≥ 50× moto: {r:.1}× — {}", verdict(r >= 50.0))?;
        }
        if let Some(f) = get(Workload::GetCallerIdentity, 64, "floor") {
            let r = t / f.throughput().max(f64::MIN_POSITIVE);
            writeln!(
                out,
                "- ≥ 40% of the floor: {:.0}% — {}",
                r * 100.0,
                verdict(r >= 0.4)
            )?;
        }
    }
    let best_write = opts
        .concurrency
        .iter()
        .filter_map(|&c| get(Workload::WriteMix, c, "keyward"))
        .map(RunResult::throughput)
        .fold(None, |acc: Option<f64>, t| {
            Some(acc.map_or(t, |a| a.max(t)))
        });
    if let Some(t) = best_write {
        writeln!(
            out,
            "- write mix ≥ 2,000 lifecycles/s (SQLite, WAL, synchronous=NORMAL): {t:.0} — {}",
            verdict(t >= 2000.0)
        )?;
    }
    if let Some((rss, _)) = keyward_idle {
        let mb = rss as f64 / 1024.0;
        writeln!(
            out,
            "- idle RSS < 30 MB: {mb:.1} MB — {}",
            verdict(mb < 30.0)
        )?;
    }
    if let Some((_, hwm)) = keyward_end {
        let mb = hwm as f64 / 1024.0;
        writeln!(
            out,
            "- RSS under load < 100 MB: peak {mb:.1} MB — {}",
            verdict(mb < 100.0)
        )?;
    }
    drop(moto);
    drop(floor);
    drop(keyward);
    Ok(out)
}

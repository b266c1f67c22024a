//! The JSON-lines audit sink (`--audit-log FILE`, or `-` for standard output): every committed
//! audit record, one CloudTrail record per line, for shipping to a SIEM.
//!
//! Requests never wait on it: records go through a bounded channel to a writer thread; when the
//! channel is full a record is dropped and counted (the store still holds it), and the writer
//! flushes whenever the channel runs dry and at shutdown.

use std::io::{BufWriter, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;

use keyward_core::audit::AuditEvent;

/// Records queued before the sink drops new ones.
const CAPACITY: usize = 16_384;

pub struct AuditSink {
    sender: Mutex<Option<SyncSender<String>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    dropped: AtomicU64,
}

impl std::fmt::Debug for AuditSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditSink")
            .field("dropped", &self.dropped.load(Ordering::Relaxed))
            .finish()
    }
}

impl AuditSink {
    /// No sink: records stay in the store only.
    pub fn disabled() -> Self {
        AuditSink {
            sender: Mutex::new(None),
            writer: Mutex::new(None),
            dropped: AtomicU64::new(0),
        }
    }

    /// Appends to `target` (created if missing), or writes to standard output for `-`.
    pub fn open(target: &str) -> std::io::Result<Self> {
        let out: Box<dyn Write + Send> = if target == "-" {
            Box::new(std::io::stdout())
        } else {
            let mut options = std::fs::OpenOptions::new();
            options.create(true).append(true);
            // The trail names users, keys and addresses: owner-only, whatever the umask (an
            // existing file keeps its mode).
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            Box::new(options.open(target)?)
        };
        let (sender, receiver) = sync_channel::<String>(CAPACITY);
        let writer = std::thread::Builder::new()
            .name("audit-sink".into())
            .spawn(move || {
                let mut out = BufWriter::new(out);
                while let Ok(line) = receiver.recv() {
                    let mut ok = writeln!(out, "{line}").is_ok();
                    // Drain what is queued, then flush once.
                    while let Ok(more) = receiver.try_recv() {
                        ok &= writeln!(out, "{more}").is_ok();
                    }
                    ok &= out.flush().is_ok();
                    if !ok {
                        tracing::error!("audit sink: write failed");
                    }
                }
                let _ = out.flush();
            })?;
        Ok(AuditSink {
            sender: Mutex::new(Some(sender)),
            writer: Mutex::new(Some(writer)),
            dropped: AtomicU64::new(0),
        })
    }

    /// Queues a committed record.
    pub fn send(&self, event: &AuditEvent) {
        let Ok(guard) = self.sender.lock() else {
            return;
        };
        let Some(sender) = guard.as_ref() else { return };
        match sender.try_send(event.record_json()) {
            Ok(()) | Err(TrySendError::Disconnected(_)) => {}
            Err(TrySendError::Full(_)) => {
                let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if n.is_power_of_two() {
                    tracing::warn!(
                        dropped = n,
                        "audit sink is behind: records dropped from the sink (they are in the store)"
                    );
                }
            }
        }
    }

    /// Writes out everything queued and stops the writer (at shutdown).
    pub fn close(&self) {
        if let Ok(mut s) = self.sender.lock() {
            s.take();
        }
        if let Ok(mut w) = self.writer.lock()
            && let Some(handle) = w.take()
        {
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A new audit log is readable by its owner only, whatever the process's umask.
    #[cfg(unix)]
    #[test]
    fn a_new_log_is_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let sink = AuditSink::open(path.to_str().unwrap()).unwrap();
        sink.close();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
}

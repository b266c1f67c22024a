//! Group commit for the audit records of requests that changed nothing.
//!
//! A read-only request runs in a read transaction, so its record cannot be written there. It goes
//! to one background task through a bounded channel. The task waits for the first record, lets
//! more gather for up to [`LINGER`] (or until [`BATCH`] are waiting), and writes them in one
//! transaction ([`Store::append_unchanged_records`]; SQLite keeps them in a file of their own).
//! Writing a few hundred records at once rather than a few dozen is what keeps a record cheap:
//! each commit rewrites the trail's last page and a WAL frame header per page, and each batch
//! wakes a thread. A full channel makes requests wait (backpressure): a record is never dropped.
//!
//! [`AuditWriter::flush`] writes at once everything submitted before it; `LookupEvents` calls it,
//! so a caller always finds the records of the requests it has been answered.
//!
//! **Durability trade-off**: a process crash can lose the records still queued or in the batch
//! being written — records of requests that changed nothing (reads, refused requests), at most
//! [`LINGER`] plus the queue's worth. A record of a change is never here: it commits in the
//! change's own transaction. A refused MFA code is not here either (it is written at once, with
//! its `MfaFailure`). [`AuditWriter::shutdown`] drains the queue; the server's graceful shutdown calls it after
//! the last request has finished.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use keyward_core::audit::AuditEvent;
use keyward_core::store::Store;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinHandle;

/// Records written in one transaction at most.
pub const BATCH: usize = 512;
/// Records waiting before requests wait for the writer.
pub const CAPACITY: usize = 16_384;
/// How long the first record of a batch waits for others.
pub const LINGER: Duration = Duration::from_millis(10);

/// Called with every batch once it is committed (the JSON-lines sink, metrics).
pub type OnWritten = Arc<dyn Fn(&[AuditEvent]) + Send + Sync>;

// Nearly every message is a record: boxing it would cost each one an allocation.
#[allow(clippy::large_enum_variant)]
enum Message {
    Record(AuditEvent),
    /// Answered once every record queued before it is committed.
    Flush(oneshot::Sender<()>),
}

pub struct AuditWriter {
    sender: mpsc::Sender<Message>,
    stop: Arc<Notify>,
    /// Cuts a batch's linger short (a flush is waiting).
    hurry: Arc<Notify>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for AuditWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditWriter").finish_non_exhaustive()
    }
}

impl AuditWriter {
    /// Starts the writer task on the current tokio runtime. `on_written` sees every record once
    /// it is committed (the JSON-lines sink).
    pub fn spawn<S: Store>(store: S, on_written: OnWritten) -> Self {
        Self::spawn_with_linger(store, on_written, LINGER)
    }

    /// [`AuditWriter::spawn`] with another linger than [`LINGER`].
    pub fn spawn_with_linger<S: Store>(store: S, on_written: OnWritten, linger: Duration) -> Self {
        let (sender, mut receiver) = mpsc::channel::<Message>(CAPACITY);
        let stop = Arc::new(Notify::new());
        let stop_wait = Arc::clone(&stop);
        let hurry = Arc::new(Notify::new());
        let hurry_wait = Arc::clone(&hurry);
        let task = tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            loop {
                tokio::select! {
                    biased;
                    n = receiver.recv_many(&mut batch, BATCH) => {
                        if n == 0 {
                            break;
                        }
                        let flushing = batch.iter().any(|m| matches!(m, Message::Flush(_)));
                        if !flushing && batch.len() < BATCH {
                            tokio::select! {
                                () = tokio::time::sleep(linger) => {}
                                () = hurry_wait.notified() => {}
                                () = stop_wait.notified() => stop_wait.notify_one(),
                            }
                            while batch.len() < BATCH {
                                match receiver.try_recv() {
                                    Ok(m) => batch.push(m),
                                    Err(_) => break,
                                }
                            }
                        }
                        write(&store, &mut batch, on_written.as_ref()).await;
                    }
                    () = stop_wait.notified() => {
                        // No new records; everything already queued is still received.
                        receiver.close();
                        while receiver.recv_many(&mut batch, BATCH).await > 0 {
                            write(&store, &mut batch, on_written.as_ref()).await;
                        }
                        break;
                    }
                }
            }
        });
        AuditWriter {
            sender,
            stop,
            hurry,
            task: Mutex::new(Some(task)),
        }
    }

    /// Queues a record; waits while the queue is full. After shutdown the record is handed back.
    pub async fn submit(&self, event: AuditEvent) -> Result<(), AuditEvent> {
        match self.sender.send(Message::Record(event)).await {
            Ok(()) => Ok(()),
            Err(mpsc::error::SendError(Message::Record(event))) => Err(event),
            // What was sent is a record; there is nothing else to hand back.
            Err(mpsc::error::SendError(Message::Flush(_))) => Ok(()),
        }
    }

    /// Returns once every record submitted before the call is committed (or the writer stopped).
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        self.hurry.notify_one();
        if self.sender.send(Message::Flush(done)).await.is_ok() {
            // An error means the writer stopped, after writing what it had.
            let _ = wait.await;
        }
    }

    /// Writes every queued record and stops the task.
    pub async fn shutdown(&self) {
        self.stop.notify_one();
        let task = self.task.lock().ok().and_then(|mut t| t.take());
        if let Some(task) = task
            && let Err(e) = task.await
        {
            tracing::error!(error = %e, "audit writer task failed");
        }
    }
}

async fn write<S: Store>(
    store: &S,
    batch: &mut Vec<Message>,
    on_written: &(dyn Fn(&[AuditEvent]) + Send + Sync),
) {
    let mut records = Vec::with_capacity(batch.len());
    let mut flushes = Vec::new();
    for message in batch.drain(..) {
        match message {
            Message::Record(event) => records.push(event),
            Message::Flush(done) => flushes.push(done),
        }
    }
    if !records.is_empty() {
        // On a blocking thread, not on the runtime's workers: a batch is hundreds of inserts and a
        // commit (now and then with a WAL checkpoint), milliseconds that would stall every request
        // queued behind it on that worker (the load benchmark's p99).
        let store = store.clone();
        let runtime = tokio::runtime::Handle::current();
        let joined = tokio::task::spawn_blocking(move || {
            let result = runtime.block_on(store.append_unchanged_records(&records));
            (records, result)
        })
        .await;
        match joined {
            Ok((records, Ok(()))) => on_written(&records),
            Ok((records, Err(e))) => {
                tracing::error!(records = records.len(), error = %e, "audit records of read-only requests were not written");
            }
            Err(e) => {
                tracing::error!(error = %e, "audit records of read-only requests were not written: the writer thread failed");
            }
        }
    }
    for done in flushes {
        let _ = done.send(());
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use keyward_core::store::Tx;
    use keyward_store::SqliteStore;

    fn record(n: usize) -> AuditEvent {
        AuditEvent::api_call(
            format!("event-{n}"),
            time::OffsetDateTime::now_utc(),
            "sts",
            "GetCallerIdentity",
            format!("request-{n}"),
            "127.0.0.1".into(),
            None,
        )
    }

    async fn stored(store: &SqliteStore) -> usize {
        let mut tx = store.begin_read().await.unwrap();
        let n = tx.list_audit_events(10_000).await.unwrap().len();
        tx.commit().await.unwrap();
        n
    }

    /// With a linger far longer than the test, only a flush or the shutdown can have written the
    /// records: a flush writes everything submitted before it, the shutdown everything queued.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_flush_and_the_shutdown_write_what_was_submitted() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).await.unwrap();
        let seen = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = Arc::clone(&seen);
        let writer = AuditWriter::spawn_with_linger(
            store.clone(),
            Arc::new(move |batch: &[AuditEvent]| {
                counted.fetch_add(batch.len(), std::sync::atomic::Ordering::SeqCst);
            }),
            Duration::from_secs(3600),
        );
        for n in 0..700 {
            writer.submit(record(n)).await.unwrap();
        }
        writer.flush().await;
        assert_eq!(stored(&store).await, 700);
        // A flush with nothing queued returns too.
        writer.flush().await;
        for n in 700..750 {
            writer.submit(record(n)).await.unwrap();
        }
        writer.shutdown().await;
        assert_eq!(stored(&store).await, 750);
        assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 750);
        // After the shutdown a record is handed back, to be written by the caller.
        assert_eq!(
            writer.submit(record(750)).await.unwrap_err().event_id,
            "event-750"
        );
    }
}

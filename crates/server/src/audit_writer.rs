//! Group commit for the audit records of requests that changed nothing.
//!
//! A read-only request runs in a read transaction, so its record cannot be written there. It goes
//! to one background task through a bounded channel; the task writes whatever has queued up, up to
//! [`BATCH`] records, in one write transaction. A full channel makes requests wait (backpressure):
//! a record is never dropped.
//!
//! **Durability trade-off**: a process crash can lose the records still queued or in the batch
//! being written — records of requests that changed nothing (reads, refused requests). A record
//! of a change is never here: it commits in the change's own transaction. A refused MFA code is
//! not here either (the throttle counts those rows). [`AuditWriter::shutdown`] drains the queue;
//! the server's graceful shutdown calls it after the last request has finished.

use std::sync::{Arc, Mutex};

use keyward_core::StoreError;
use keyward_core::audit::AuditEvent;
use keyward_core::store::{Store, Tx};
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;

/// Records written in one transaction at most.
pub const BATCH: usize = 512;
/// Records waiting before requests wait for the writer.
pub const CAPACITY: usize = 16_384;

/// Called with every batch once it is committed (the JSON-lines sink, metrics).
pub type OnWritten = Arc<dyn Fn(&[AuditEvent]) + Send + Sync>;

pub struct AuditWriter {
    sender: mpsc::Sender<AuditEvent>,
    stop: Arc<Notify>,
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
        let (sender, mut receiver) = mpsc::channel::<AuditEvent>(CAPACITY);
        let stop = Arc::new(Notify::new());
        let stop_wait = Arc::clone(&stop);
        let task = tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            loop {
                tokio::select! {
                    biased;
                    n = receiver.recv_many(&mut batch, BATCH) => {
                        if n == 0 {
                            break;
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
            task: Mutex::new(Some(task)),
        }
    }

    /// Queues a record; waits while the queue is full. After shutdown the record is handed back.
    pub async fn submit(&self, event: AuditEvent) -> Result<(), AuditEvent> {
        self.sender.send(event).await.map_err(|e| e.0)
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
    batch: &mut Vec<AuditEvent>,
    on_written: &(dyn Fn(&[AuditEvent]) + Send + Sync),
) {
    // On a blocking thread, not on the runtime's workers: a batch is hundreds of inserts and a
    // commit (now and then with a WAL checkpoint), milliseconds that would stall every request
    // queued behind it on that worker (the load benchmark's p99).
    let records = std::mem::take(batch);
    let store = store.clone();
    let runtime = tokio::runtime::Handle::current();
    let joined = tokio::task::spawn_blocking(move || {
        let result = runtime.block_on(insert_all(&store, &records));
        (records, result)
    })
    .await;
    match joined {
        Ok((records, result)) => {
            match result {
                Ok(()) => on_written(&records),
                Err(e) => {
                    tracing::error!(records = records.len(), error = %e, "audit records of read-only requests were not written");
                }
            }
            *batch = records;
        }
        Err(e) => {
            tracing::error!(error = %e, "audit records of read-only requests were not written: the writer thread failed");
        }
    }
    batch.clear();
}

async fn insert_all<S: Store>(store: &S, records: &[AuditEvent]) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    for event in records {
        tx.insert_audit_event(event).await?;
    }
    tx.commit().await
}

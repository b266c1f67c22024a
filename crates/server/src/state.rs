//! What every adapter of this server shares: the core pipeline with the server's recorder
//! (audit writer, sink), metrics and alarms, and what they observe of a request.

use std::sync::Arc;
use std::time::Duration;

use keyward_core::ApiError;
use keyward_core::audit::AuditEvent;
use keyward_core::auth::KeyHint;
use keyward_core::pipeline::{Pipeline, Recorder};
use keyward_core::store::Store;

use crate::alarms::Alarms;
use crate::audit_writer::AuditWriter;
use crate::metrics::{AuthFailureReason, Metrics};

/// Everything a request needs, shared by all requests: the core pipeline and what this server
/// adds around it.
pub struct AppState<S: Store> {
    pub pipeline: Pipeline<S>,
    /// The JSON-lines copy of every committed audit record (`--audit-log`).
    pub sink: Arc<crate::sink::AuditSink>,
    /// Group commit of the records of requests that changed nothing.
    pub audit: AuditWriter,
    /// Counters and histograms served at `/metrics`.
    pub metrics: Arc<Metrics>,
    /// `IAMMFAFailure` and the alerts, served at `/alarms`.
    pub alarms: Arc<Alarms>,
    /// How long a request's body may take to arrive, from the end of its headers
    /// (`--body-read-timeout-secs`).
    pub body_read_timeout: Duration,
}

/// The server's side of the pipeline's records: reads go to the audit writer's group commit,
/// every committed record to the JSON-lines sink, commit times to the metrics.
impl<S: Store> Recorder for AppState<S> {
    async fn queue(&self, event: AuditEvent) -> Result<(), AuditEvent> {
        self.audit.submit(event).await
    }

    fn committed(&self, event: &AuditEvent) {
        self.sink.send(event);
    }

    fn commit_took(&self, elapsed: Duration) {
        self.metrics.store_duration(elapsed);
    }
}

impl<S: Store> AppState<S> {
    /// What the console reports after each `signin::sign_in` attempt: counted in
    /// `keyward_console_signins_total` and watched for repeated failures.
    pub fn console_sign_in(
        &self,
        account: &str,
        user_name: &str,
        result: &keyward_core::signin::SignInResult,
    ) {
        self.metrics.console_sign_in(result);
        self.alarms.console_sign_in(account, user_name, result);
    }
}

/// Facts about the connection and request that the audit record keeps.
pub(crate) struct RequestMeta {
    pub(crate) source_ip: String,
    pub(crate) user_agent: Option<String>,
}

/// Counts an authentication failure by reason and raises the refused-key alert.
pub(crate) fn observe_refusal<S: Store>(
    state: &AppState<S>,
    api: &ApiError,
    access_key_id: Option<&str>,
    hint: Option<&KeyHint>,
) {
    let inactive = matches!(hint, Some(KeyHint::Inactive { .. }));
    if let Some(reason) = AuthFailureReason::classify(api.code, &api.message, inactive) {
        state.metrics.auth_failure(reason);
        if let (Some(hint), Some(key_id)) = (hint, access_key_id)
            && api.code == "InvalidClientTokenId"
        {
            state.alarms.refused_key(key_id, hint);
        }
    }
}

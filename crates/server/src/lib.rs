#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
//! HTTP for keyward: the AWS Query protocol (IAM 2010-05-08, STS 2011-06-15) on one endpoint,
//! routed by the SigV4 credential scope's service.

pub mod alarms;
mod app;
pub mod audit_writer;
mod cloudtrail;
pub mod connections;
pub mod decode;
pub mod encode;
pub mod form;
pub mod metrics;
pub mod sink;
mod state;
mod xml;

pub use alarms::{AlarmConfig, Alarms};
pub use app::{MAX_BODY_BYTES, api_router, monitoring_router, router};
pub use audit_writer::AuditWriter;
pub use cloudtrail::decode_lookup_body;
pub use connections::ConnectionLimits;
pub use metrics::Metrics;
pub use sink::AuditSink;
pub use state::AppState;

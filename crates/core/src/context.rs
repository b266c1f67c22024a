//! What an operation, and the authorisation before it, runs with besides its input and the
//! transaction: the request's facts, the caller, the clock's reading, the partition, the keys and
//! the caches. Built by the pipeline (`crate::pipeline::Pipeline::ctx`).

use time::OffsetDateTime;

use crate::crypto::MasterKey;
use crate::policy_cache::PolicyCache;
use crate::principal::Caller;
use crate::session::SessionKeyRing;

/// Facts about the HTTP request that become global condition keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestInfo {
    pub source_ip: String,
    pub user_agent: Option<String>,
    pub secure_transport: bool,
    /// The credential scope's region (`aws:RequestedRegion`).
    pub region: String,
}

/// What every operation needs besides its input and the transaction.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    pub partition: &'a str,
    pub now: OffsetDateTime,
    pub master_key: &'a MasterKey,
    pub caller: &'a Caller,
    pub info: &'a RequestInfo,
    pub policies: &'a PolicyCache,
    /// TOTP window and per-device throttle (configurable per server).
    pub totp: &'a crate::totp::TotpConfig,
    /// Seals the session tokens STS issues.
    pub session_keys: &'a SessionKeyRing,
}

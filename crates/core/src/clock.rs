//! Time comes from an injected clock: production reads the system clock, tests move it.

use std::sync::atomic::{AtomicI64, Ordering};
use time::OffsetDateTime;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> OffsetDateTime;
}

/// The system clock, optionally shifted by a fixed number of seconds (set with `--clock-skew`,
/// used by tests that need the server's time to move).
#[derive(Debug, Default)]
pub struct SystemClock {
    offset_secs: AtomicI64,
}

impl SystemClock {
    pub fn with_offset(offset_secs: i64) -> Self {
        SystemClock {
            offset_secs: AtomicI64::new(offset_secs),
        }
    }

    pub fn set_offset(&self, offset_secs: i64) {
        self.offset_secs.store(offset_secs, Ordering::Relaxed);
    }
}

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
            + time::Duration::seconds(self.offset_secs.load(Ordering::Relaxed))
    }
}

/// AWS's timestamp format in XML: `2024-01-02T03:04:05Z`.
pub fn iso8601(t: OffsetDateTime) -> String {
    utc_seconds(t, "Z")
}

/// The same instant with its offset spelled out, as the credential report writes times:
/// `2024-01-02T03:04:05+00:00`.
pub fn iso8601_offset(t: OffsetDateTime) -> String {
    utc_seconds(t, "+00:00")
}

/// `t` in UTC to the second, followed by `zone`.
fn utc_seconds(t: OffsetDateTime, zone: &str) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{zone}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Milliseconds since the epoch, the store's time representation.
pub fn to_millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

pub fn from_millis(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

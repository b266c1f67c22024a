//! keyward's load benchmark: a SigV4-signing keep-alive load generator, the workloads, a loopback
//! floor server, the side-by-side comparison with moto, and the audit overhead measurement. See
//! README.md.

pub mod audit;
pub mod client;
pub mod compare;
pub mod floor;
pub mod load;
pub mod procstat;
pub mod workload;

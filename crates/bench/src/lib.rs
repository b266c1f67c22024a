//! keyward's load benchmark: a SigV4-signing keep-alive load generator, the workloads, a loopback
//! floor server, and the side-by-side comparison with moto. See README.md.

pub mod client;
pub mod compare;
pub mod floor;
pub mod load;
pub mod procstat;
pub mod workload;

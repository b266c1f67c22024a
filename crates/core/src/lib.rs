#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
//! The keyward domain: accounts, users, access keys, authentication, authorisation and the
//! operations of the IAM and STS APIs. No HTTP and no SQL: the server decodes requests into
//! [`ops::Operation`]s, a [`store::Store`] keeps the data.

pub mod audit;
pub mod auth;
pub mod authz;
pub mod aws_managed;
pub mod bootstrap;
pub mod clock;
pub mod context;
pub mod crypto;
pub mod decision;
pub mod error;
pub mod ids;
pub mod members;
pub mod model;
pub mod ops;
pub mod password;
pub mod pipeline;
pub mod policy_cache;
pub mod principal;
pub mod sensitive;
pub mod session;
pub mod signin;
pub mod store;
pub mod totp;
pub mod trail;
pub mod validate;

pub use error::{ApiError, OpError, StoreError, StoreErrorKind};

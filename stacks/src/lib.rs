//! The pure core of pypictl: `pypictl.toml` → validation and sizing →
//! CloudFormation templates, one per nested stack.
//!
//! Nothing here performs I/O or talks to AWS, so the same configuration always
//! gives byte-identical templates, and all of it is tested without an account.

pub mod alarms;
pub mod app;
pub mod catalogue;
pub mod cfn;
pub mod components;
pub mod config;
pub mod edit;
pub mod indexer;
pub mod init;
pub mod outputs;
pub mod permissions;
pub mod proxy;
pub mod pypiserver;
pub mod sizing;
pub mod staging;
pub mod validate;

pub use config::Config;
pub use sizing::CapacityPlan;
pub use validate::{Deployment, Invalid};

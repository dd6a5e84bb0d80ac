//! The effectful engine: staging templates, change sets, watching stacks,
//! naming the root cause of a failure. It reaches AWS only through the traits
//! in [`cloud`], so its logic runs the same against AWS, moto or a scripted
//! fake (`ScriptedCloud`, in the `pypictl-test-support` crate of
//! tests/support/, which only the integration tests use).

pub mod cloud;
pub mod model;
pub mod stack_status;
pub mod progress;
pub mod changeset;
pub mod rootcause;
pub mod rollback;
pub mod tail;
pub mod watch;
pub mod prereq;
pub mod assets;
pub mod deploy;
pub mod retry;
pub mod status;
pub mod destroy;
pub mod creds;
pub mod doctor;
pub mod images;
pub mod upgrade;

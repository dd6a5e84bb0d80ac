//! The effectful engine: staging templates, change sets, watching stacks,
//! naming the root cause of a failure. It reaches AWS only through the traits
//! in [`cloud`], so its logic runs the same against AWS, moto or a scripted
//! fake.

pub mod changeset;
pub mod cloud;
pub mod creds;
pub mod deploy;
pub mod destroy;
pub mod doctor;
pub mod model;
pub mod patient;
pub mod prereq;
pub mod progress;
pub mod rootcause;
pub mod scripted;
pub mod staging;
pub mod status;
pub mod tail;
pub mod watch;

//! pypictl's integration tests, as one test binary: the AWS SDK is linked
//! once instead of once per file. One module per area; `common` holds the
//! helpers (the binary, the pinned tools, moto, a local pypiserver).

mod common;

mod bench;
mod clock;
mod contract;
mod creds;
mod creds_format;
mod docs;
mod doctor;
mod engine;
mod iam_policy;
mod init;
mod invalid_configs;
mod lint;
mod moto_async;
mod moto_day_two;
mod moto_e2e;
mod moto_teardown;
mod readme;
mod registry;
mod render;
mod synth_and_size;
mod unreachable;
mod upgrade;

//! pypictl: run a private Python package index (pypiserver) on AWS.
//!
//! The pure core (configuration, sizing, templates) is the `pypictl_stacks`
//! crate. This crate holds the effectful parts: the engine that deploys and
//! watches stacks ([`engine`]), its AWS implementation ([`aws`]), the
//! renderers of its progress ([`ui`]), and the command-line interface.

pub mod aws;
pub mod bench;
pub mod cli;
pub mod commands;
pub mod config_file;
pub mod engine;
pub mod exit;
pub mod ui;

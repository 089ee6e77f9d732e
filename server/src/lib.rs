//! The mapframe server and the statistician's command-line toolbox.
//!
//! This crate is a shell around `sync-core`: it reads and writes files, parses command lines, and
//! (in later modules) speaks HTTP and SQL. Domain rules live in `sync-core`.

pub mod cli;
pub mod files;
pub mod formfile;

//! The mapframe server and the statistician's command-line toolbox.
//!
//! This crate is a shell around `sync-core`: it reads and writes files, parses command lines,
//! speaks HTTP (`api`, actix-web) and SQL (`db`, `store`, diesel over SQLite or PostgreSQL).
//! Domain rules live in `sync-core`.

pub mod api;
pub mod auth;
pub mod cli;
pub mod dashboard;
pub mod db;
pub mod fieldwork;
pub mod files;
pub mod formfile;
pub mod serve;
pub mod store;
pub mod sync;

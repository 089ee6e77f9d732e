//! Specification tests for operations and their merge.

mod cases;
mod log;
mod model;
mod replica;
mod support;
mod wire;

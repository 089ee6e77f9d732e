//! Specification tests for operations and their merge.

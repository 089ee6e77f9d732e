//! Specification tests for questionnaires: expressions, XLSForm import, the interview engine.

mod engine;
mod expr;
mod fuzz;
mod xlsform;

//! Specification tests for questionnaires: expressions, XLSForm import, the interview engine.

mod engine;
mod expr;
mod xlsform;

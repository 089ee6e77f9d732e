//! Questionnaires: the form model, XLSForm import, the expression engine and the interview engine.

pub mod expr;

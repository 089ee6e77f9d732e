//! Questionnaires: the form model, XLSForm import, the expression engine and the interview engine.

pub mod engine;
pub mod expr;
pub mod household;
pub mod model;
pub mod xlsform;

pub use model::{Choice, Form, Question, QuestionKind, Settings};

//! Specification tests for sampling, respondent selection, weighting and AAPOR rates.

mod aapor;
mod draw;
mod fuzz;
mod kish;
mod multistage;
mod weighting;

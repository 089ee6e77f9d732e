//! Specification tests for sampling, respondent selection, weighting and AAPOR rates.

mod aapor;
mod kish;
mod weighting;

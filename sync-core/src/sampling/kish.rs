//! Kish respondent selection (to be written).

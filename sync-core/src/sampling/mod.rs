//! Probability sampling: frames, designs, draws, reserve replicates, respondent selection and
//! weights. Every draw is reproducible from its selection record.

pub mod kish;
pub mod seed;
pub mod weighting;

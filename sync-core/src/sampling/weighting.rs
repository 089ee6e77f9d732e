//! Nonresponse weighting (to be written).

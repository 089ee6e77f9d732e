//! AAPOR dispositions and rates (to be written).

//! Formatting for progress lines and tables.

pub mod units;

//! The bench support library: what `cargo bench --bench skew`, `cargo bench --bench overhead`
//! and the examples share, so that each of them is written once.
//!
//! - `workloads`: the calibrated CPU spin and its hash, the stored binary tree;
//! - `peers`: the pools skewer is measured against (a crossbeam-channel pool, a
//!   `Mutex<mpsc::Receiver>` pool, a crossbeam-deque injector pool, fixed thread gangs) and
//!   the builders of the skewer, rayon and chili pools;
//! - `measurement`: per-thread CPU time, the machine and its load, medians, the per-thread
//!   tally that jobs record their results into;
//! - `reporting`: human-readable times and counts.
//!
//! A bench includes it with `#[path = "../support/mod.rs"] mod support;` and uses only part
//! of it, hence the `dead_code` allowance at each include.

pub mod measurement;
pub mod peers;
pub mod reporting;
pub mod workloads;

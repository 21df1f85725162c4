//! Workload building blocks shared by the benches.

pub mod binary_tree;
pub mod fork;
pub mod rng;
pub mod spin;

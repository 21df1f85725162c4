//! What the benches measure besides wall time, and how they check a run's result.

pub mod cputime;
pub mod machine;
pub mod stats;
pub mod tally;

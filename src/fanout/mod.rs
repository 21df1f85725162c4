//! Fan-out and fan-in above the backends: cancellation tokens, parallel maps with a
//! bounded window (ordered and unordered), error groups, bounded submission, per-item
//! deadlines, retries, rate limits and per-map statistics. `docs/fan-out.md` maps each
//! piece to its Go, futures and tokio-util counterpart.
//!
//! Everything here uses the pool's public verbs (`spawn`, `scope`) and works the same on
//! both backends.

pub(crate) mod attempt;
pub(crate) mod cancel;
pub(crate) mod capacity;
pub(crate) mod current;
pub(crate) mod engine;
pub(crate) mod error;
pub(crate) mod first_error;
pub(crate) mod group;
pub(crate) mod map;
pub(crate) mod options;
pub(crate) mod rate;
pub(crate) mod reorder;
pub(crate) mod retry;
pub(crate) mod scoped;
pub(crate) mod stats;
pub(crate) mod target;

#[cfg(all(test, loom))]
mod loom_models;

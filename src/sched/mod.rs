//! The scheduling layer: the threads that run a pool's work and what they share.
//!
//! From the bottom up (each file uses only the ones above it in this list, and `backend/`,
//! `job/`, `metrics.rs`, `sync.rs` below the layer; `docs/design.md` has the table):
//!
//! - `pool_id.rs`, `target.rs`: a pool's identity; what a wait waits for
//! - `sleep/`: the sleep/wake protocol and the pacing of idle threads (`pacing.rs`)
//! - `anchor.rs`, `watchers.rs`: the announcements and pokes waiting threads rely on
//! - `context/`: a thread's context (private forks, publication policy) and its chain
//! - `registry.rs`: a pool's shared state
//! - `role.rs`, `search.rs`, `member.rs`: worker, guest or spare; where a waiter looks;
//!   the one implementation of what a context needs from its pool
//! - `wait.rs`: waiting by helping, across every pool on the thread's chain
//! - `worker.rs`, `spare.rs`: the bodies of the pool's threads
//! - `running.rs`: starting a pool, and the pool as the public handle drives it

pub(crate) mod anchor;
pub(crate) mod context;
pub(crate) mod member;
pub(crate) mod pool_id;
pub(crate) mod registry;
pub(crate) mod role;
pub(crate) mod running;
pub(crate) mod search;
pub(crate) mod sleep;
pub(crate) mod spare;
pub(crate) mod target;
pub(crate) mod wait;
pub(crate) mod watchers;
pub(crate) mod worker;

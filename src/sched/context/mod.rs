//! The per-thread context, in six parts: the private fork stack (`forks.rs`), the
//! publication policy (`publish.rs`) and its view of whether searchers run (`stall.rs`),
//! the bulk settlement of a scope's count (`settle.rs`), the context itself and what it
//! needs from its pool (`ctx.rs`), and the thread's chain of contexts across pools
//! (`chain.rs`).

mod chain;
mod ctx;
mod forks;
mod publish;
mod settle;
mod stall;

pub use chain::MAX_CROSS_POOL_NESTING;
pub(crate) use ctx::{Ctx, Member, SharedPool};

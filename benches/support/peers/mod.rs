//! The pools skewer is measured against, and one builder per pool library.

pub mod channel;
pub mod gang;
pub mod injector;
pub mod mutex;
pub mod pending;
pub mod pools;

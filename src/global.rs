//! The global pool: the one the free functions (`skewer::join`, `scope`, `spawn`, ...) use
//! outside any pool. Set once per process, by `Builder::build_global` or, failing that, by
//! its first use with the default settings.

// std's types, not `crate::sync`'s: statics outside every modelled protocol (a loom
// object cannot live in a static).
use std::sync::{Mutex, OnceLock, PoisonError};

use crate::Pool;
use crate::builder::Builder;
use crate::error::BuildError;

/// The global pool and how it came to be.
struct Global {
    pool: Pool,
    /// Built with the default settings by a first use, not by `build_global`.
    by_first_use: bool,
}

static GLOBAL: OnceLock<Global> = OnceLock::new();
/// Held while the global pool is being built, so that only one builder starts threads and
/// a losing `build_global` can tell how the winner was set.
static BUILDING: Mutex<()> = Mutex::new(());

/// The global pool, built with the default settings (and so from `SKEWER_NUM_THREADS` /
/// `SKEWER_BACKEND`) if nothing built it yet.
///
/// # Panics
/// If it has to be built and the build fails. The free functions that call this are
/// `#[track_caller]` too, so the panic reports the user's call, not a line of skewer.
#[track_caller]
pub(crate) fn global() -> &'static Pool {
    if let Some(global) = GLOBAL.get() {
        return &global.pool;
    }
    match set(Builder::new(), true) {
        Ok(global) | Err(SetError::Exists(global)) => &global.pool,
        Err(SetError::Build(err)) => panic!("skewer: cannot build the global pool: {err}"),
    }
}

/// `Builder::build_global`.
fn build_global(builder: Builder) -> Result<(), BuildError> {
    match set(builder, false) {
        Ok(_) => Ok(()),
        Err(SetError::Exists(global)) => Err(BuildError::global_already_built(global.by_first_use)),
        Err(SetError::Build(err)) => Err(err),
    }
}

enum SetError {
    /// The global pool was already set (the builder was not started).
    Exists(&'static Global),
    Build(BuildError),
}

/// Builds the global pool from `builder` unless it exists.
fn set(builder: Builder, by_first_use: bool) -> Result<&'static Global, SetError> {
    // A panic while building (in a `thread_name` closure, say) leaves nothing half-set:
    // the lock guards no data, so a poisoned one is as good as any.
    let _building = BUILDING.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(global) = GLOBAL.get() {
        return Err(SetError::Exists(global));
    }
    let pool = builder.build().map_err(SetError::Build)?;
    let global = GLOBAL.get_or_init(|| Global { pool, by_first_use });
    Ok(global)
}

/// Setting the global pool from a builder: next to the global pool it sets.
impl Builder {
    /// Builds the pool and makes it the global pool: the one that [`join`](crate::join),
    /// [`scope`](crate::scope), [`spawn`](crate::spawn) and the other free functions use
    /// when called outside any pool. Call it once, early in `main`; without it the global
    /// pool is built with the default settings on its first use.
    ///
    /// # Errors
    /// Every error of [`build`](Builder::build), and an error for which
    /// [`BuildError::is_global_already_built`] holds when the global pool already exists:
    /// an earlier `build_global` set it, or a free function used it first. The builder's
    /// pool is not started then.
    ///
    /// # Examples
    /// ```
    /// skewer::Pool::builder()
    ///     .num_threads(3)
    ///     .thread_name(|i| format!("main-pool-{i}"))
    ///     .build_global()
    ///     .expect("nothing used the global pool yet");
    /// assert_eq!(skewer::current_num_threads(), 3);
    ///
    /// let again = skewer::Pool::builder().build_global().unwrap_err();
    /// assert!(again.is_global_already_built());
    /// assert!(again.to_string().contains("earlier build_global"));
    /// ```
    pub fn build_global(self) -> Result<(), BuildError> {
        build_global(self)
    }
}

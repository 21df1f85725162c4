//! The identity of a pool, as every layer compares it.

/// The address of a pool's registry: equal for two handles of the same pool, different for
/// two pools alive at once. Only compared, never dereferenced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PoolId(*const ());

impl PoolId {
    /// The identity of the pool whose registry is `registry`.
    pub(crate) fn of<T>(registry: &T) -> Self {
        PoolId((registry as *const T).cast())
    }
}

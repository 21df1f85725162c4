//! `Backend`: the public name of a scheduling discipline, as the builder and the
//! environment choose it.

/// Which scheduling discipline a [`Pool`](crate::Pool) uses.
///
/// Chosen with [`Builder::backend`](crate::Builder::backend) or the `SKEWER_BACKEND` environment variable
/// (`stealing` or `channel`). The API and every guarantee are the same for both; only where
/// jobs wait and who takes them differs.
///
/// # Examples
/// ```
/// use skewer::{Backend, Pool};
/// let pool = Pool::builder().backend(Backend::Channel).num_threads(2).build().unwrap();
/// assert_eq!(pool.backend(), Backend::Channel);
/// assert_eq!("stealing".parse::<Backend>(), Ok(Backend::Stealing));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Backend {
    /// Work stealing: per-worker deques, a global injector, idle workers steal from peers.
    #[default]
    Stealing,
    /// One shared channel read by every worker (the classic fan-out).
    Channel,
}

impl Backend {
    /// The name used by `SKEWER_BACKEND` and `Display`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Stealing => "stealing",
            Backend::Channel => "channel",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Backend {
    type Err = String;

    /// Parses `stealing` or `channel` (ASCII case-insensitive, surrounding blanks ignored).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "stealing" => Ok(Backend::Stealing),
            "channel" => Ok(Backend::Channel),
            other => Err(format!(
                "unknown backend {other:?}: expected \"stealing\" or \"channel\""
            )),
        }
    }
}

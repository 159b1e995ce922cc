//! The state every handler shares.

use std::path::PathBuf;
use std::sync::Arc;

use engine::{Engine, InMemoryGraph};

use crate::auth::jwt::Keys;
use crate::auth::ratelimit::Limiter;
use crate::config::ServeConfig;
use crate::cpu::CpuPool;
use crate::store::Store;

/// The engine as the API runs it: over the in-memory mirror of the social graph.
pub type FeedEngine = Engine<Arc<InMemoryGraph>>;

/// Shared state: cheap to clone (everything is behind an `Arc` or is a pool handle).
#[derive(Clone, Debug)]
pub struct AppState {
    pub store: Store,
    pub engine: Arc<FeedEngine>,
    /// The engine's view of the social graph, kept in step with the store by every write.
    pub graph: Arc<InMemoryGraph>,
    pub keys: Arc<Keys>,
    pub limiter: Limiter,
    /// Where CPU-heavy work runs, bounded (see [`crate::cpu`]).
    pub cpu: CpuPool,
    pub config: Arc<ServeConfig>,
    /// Where published models are looked for.
    pub models_dir: PathBuf,
    /// The bus that carries live events to the other replicas (with Redis only).
    pub events: Option<crate::events::EventBus>,
}

impl AppState {
    /// The authors `user` blocked or muted, from the in-memory graph.
    pub fn graph_hidden(&self, user: i64) -> std::collections::HashSet<i64> {
        use engine::SocialGraph as _;
        self.graph
            .hidden_authors(&user.to_string())
            .iter()
            .filter_map(|a| a.parse().ok())
            .collect()
    }
}

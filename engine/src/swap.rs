//! Hot swap: replacing the served model atomically, by hand or from a background reloader.
//!
//! The new model's state (maps, Gram matrix, item metadata from the catalog, author and topic
//! vectors, the fresh buffer in its space) is derived before the swap, while the old model
//! keeps serving; the swap itself is one `ArcSwap::swap`. A request loads the state once, so it
//! finishes on the model it started with however many swaps happen meanwhile. When the
//! catalog is reloaded under a served model, the same path installs a state derived again
//! from the same model.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use models::artifact::{Artifact, current_version, load_servable};

use crate::context::PostMeta;
use crate::engine::{Engine, lock};
use crate::error::Result;
use crate::live::FreshPost;
use crate::state::{Model, ModelState, UserVectors};

impl Engine {
    /// Swaps in a new model and returns the version it replaced (`""` when it is the first
    /// model of an engine built [`without_model`](Self::without_model)).
    ///
    /// The new state is derived before the swap (requests keep being served by the old one),
    /// its item metadata read from the catalog; requests in flight finish on the model they
    /// started with. Posts added since the engine started that the new model does not know
    /// stay candidates, with vectors recomputed in the new model's space; trending engagement
    /// carries over, and so do tombstones, except those of posts that neither the new model
    /// nor the one it replaces knows (nothing can serve those any more: they left the
    /// catalog), so tombstones do not pile up. Every cached ranked list is ranked again.
    pub fn swap(&self, artifact: Artifact) -> String {
        let model = Arc::new(Model::from_artifact(artifact, &self.config));
        let new = {
            let catalog = self.read_catalog();
            ModelState::new(
                model,
                &catalog,
                UserVectors::new(self.config.cache_capacity),
            )
        };
        let version = new.version().to_owned();
        let old = self.install(new, |_| true).unwrap_or_default();
        tracing::info!(from = old, to = version, "swapped model");
        old
    }

    /// Derives the served model's state from the catalog again and installs it (after the
    /// catalog was loaded or replaced under the model). A no-op without a model.
    pub(crate) fn rederive(&self) {
        loop {
            let current = self.state.load_full();
            if !current.has_model() {
                return;
            }
            let new = {
                let catalog = self.read_catalog();
                // The same model: its folded-in vectors are still right.
                ModelState::new(
                    Arc::clone(&current.model),
                    &catalog,
                    current.user_vectors.clone(),
                )
            };
            let model = Arc::clone(&new.model);
            // A swap that came meanwhile may have read the catalog before it changed: derive
            // its state again.
            if self
                .install(new, |served| Arc::ptr_eq(&served.model, &model))
                .is_some()
            {
                return;
            }
        }
    }

    /// Fills `new`'s fresh buffer with the added posts it does not know and swaps it in, if
    /// `still` accepts the state being served once the added posts are locked; returns the
    /// version it replaced (`None` if `still` refused).
    fn install(&self, new: ModelState, still: impl Fn(&ModelState) -> bool) -> Option<String> {
        let new = Arc::new(new);
        let mut added = lock(&self.added);
        if !still(&self.state.load()) {
            return None;
        }
        added.retain(|id, _| new.item(*id).is_none());
        {
            let mut fresh = new.fresh.write().unwrap_or_else(|e| e.into_inner());
            for meta in added.values() {
                fresh.push(fresh_post(&new, meta));
            }
        }
        let old = self.state.swap(Arc::clone(&new));
        self.generation.fetch_add(1, Ordering::SeqCst);
        {
            // A request still ranking on the old model keeps its tombstones (it loaded the old
            // state first); one on a model older than that finished long ago.
            let fresh = new.fresh.read().unwrap_or_else(|e| e.into_inner());
            self.tombstones
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|post| {
                    new.item(post).is_some() || old.item(post).is_some() || fresh.contains(post)
                });
        }
        drop(added);
        Some(old.version().to_owned())
    }

    /// Brings the served model in line with what `models_dir` publishes, and returns what
    /// happened; feeds are served by the old model during any load.
    ///
    /// With [`ReloadCheck::Pointer`] (the background poll) the `current` pointer is read and
    /// nothing else happens while it names the served version, or names the version that
    /// failed at the last check (it is not loaded again until the pointer moves or a
    /// [`ReloadCheck::Files`] asks). With [`ReloadCheck::Files`] (an operator's reload) the
    /// served version's files are verified on disk too, so damage under a running server is
    /// found before a restart would trip on it.
    ///
    /// When the version `current` names cannot be loaded (a missing or corrupt file, a
    /// damaged pointer), the newest valid older version the gate did not reject is served
    /// instead (then a newer one; see [`models::artifact::load_servable`]); when none is, the
    /// served model stays, or none is served, as before the first publish. Every refusal is
    /// logged and kept in [`Engine::model_health`].
    ///
    /// # Errors
    ///
    /// [`Error::Model`](crate::Error::Model) only if the models directory cannot be listed.
    pub fn reload(&self, models_dir: &Path, check: ReloadCheck) -> Result<Reload> {
        let served = self.model_version();
        let pointer = current_version(models_dir);
        let unchanged = |engine: &Self| Reload {
            changed: None,
            health: engine.model_health(),
        };
        let mut skip = (!served.is_empty()).then_some(served.as_str());
        match (&pointer, check) {
            (Ok(Some(wanted)), _) if *wanted == served => {
                let damage = match check {
                    ReloadCheck::Pointer => None,
                    ReloadCheck::Files => Artifact::verify(&models_dir.join(wanted)).err(),
                };
                match damage {
                    None => {
                        self.set_health(ModelHealth {
                            wanted: Some(wanted.clone()),
                            problems: Vec::new(),
                        });
                        return Ok(unchanged(self));
                    }
                    Some(error) => {
                        tracing::error!(version = served, %error, "the served model's files are damaged on disk");
                        // Choose again from the top: the served version will fail its load.
                        skip = None;
                    }
                }
            }
            (Ok(None), _) if served.is_empty() => {
                self.set_health(ModelHealth::default());
                return Ok(unchanged(self));
            }
            (Ok(wanted), ReloadCheck::Pointer)
                if self.model_health().refused(wanted.as_deref()) =>
            {
                return Ok(unchanged(self));
            }
            _ => {}
        }
        let choice = load_servable(models_dir, skip)?;
        self.set_health(ModelHealth {
            wanted: choice.wanted.clone(),
            problems: choice.problems,
        });
        let changed = choice.artifact.map(|artifact| {
            let version = artifact.manifest.version.clone();
            self.swap(artifact);
            version
        });
        Ok(Reload {
            changed,
            health: self.model_health(),
        })
    }

    /// What the last [`reload`](Self::reload) found: the version `current` names and the
    /// versions refused, with why.
    pub fn model_health(&self) -> ModelHealth {
        lock(&self.model_health).clone()
    }

    fn set_health(&self, health: ModelHealth) {
        *lock(&self.model_health) = health;
    }

    /// Starts a background thread that calls [`reload`](Self::reload) with
    /// [`ReloadCheck::Pointer`] every `interval` (errors are logged and the old model keeps
    /// serving) until the returned [`Reloader`] is dropped.
    pub fn spawn_reloader(self: &Arc<Self>, models_dir: PathBuf, interval: Duration) -> Reloader {
        let (stop, stopped) = mpsc::channel::<()>();
        let engine = Arc::clone(self);
        let handle = std::thread::spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                match engine.reload(&models_dir, ReloadCheck::Pointer) {
                    Ok(Reload {
                        changed: Some(version),
                        ..
                    }) => tracing::info!(version, "reloaded model"),
                    Ok(_) => {}
                    Err(error) => {
                        tracing::warn!(%error, dir = %models_dir.display(), "model reload failed")
                    }
                }
            }
        });
        Reloader {
            stop: Some(stop),
            handle: Some(handle),
        }
    }
}

/// How much [`Engine::reload`] checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReloadCheck {
    /// Only whether the `current` pointer moved (cheap: one small file read).
    Pointer,
    /// The pointer, and the served version's files on disk (every checksum).
    Files,
}

/// What [`Engine::reload`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reload {
    /// The version swapped in, `None` if the served model stayed.
    pub changed: Option<String>,
    /// What it found.
    pub health: ModelHealth,
}

/// The published models as the engine last found them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModelHealth {
    /// The version `current` names (`None`: nothing is published, or the pointer is damaged).
    pub wanted: Option<String>,
    /// Each version refused at the last check, with why (file names only: no paths, no
    /// checksums; the log has the details).
    pub problems: Vec<(String, String)>,
}

impl ModelHealth {
    /// Whether the served version is not the one `current` names (a fallback, or nothing
    /// while something is published).
    pub fn is_fallback(&self, served: &str) -> bool {
        !self.problems.is_empty() && self.wanted.as_deref() != Some(served)
    }

    /// Whether `wanted` is the pointer that was refused at the last check.
    fn refused(&self, wanted: Option<&str>) -> bool {
        !self.problems.is_empty() && self.wanted.as_deref() == wanted
    }
}

/// The background reloader of [`Engine::spawn_reloader`]; dropping it stops the thread (after
/// any load in progress).
#[derive(Debug)]
pub struct Reloader {
    stop: Option<mpsc::Sender<()>>,
    handle: Option<JoinHandle<()>>,
}

impl Drop for Reloader {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

/// A new post in `state`'s vector space: the content encoder's vector of its topics and text
/// when the artifact has an encoder and it knows one of the post's features, else the mean of
/// its author's item vectors, else the mean of its topics' mean vectors, else none.
pub(crate) fn fresh_post(state: &ModelState, meta: &PostMeta) -> FreshPost {
    let vector = state
        .model
        .content_encoder
        .as_ref()
        .and_then(|encoder| encoder.encode(&meta.topics, &meta.text))
        .or_else(|| state.new_post_vector(meta).map(|v| v.to_vec()));
    FreshPost {
        id: meta.id,
        author: meta.author,
        created_at: meta.created_at,
        vector,
    }
}

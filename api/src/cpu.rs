//! Bounded CPU work: password hashing (argon2id, 19 MiB and tens of milliseconds each) and feed
//! ranking run on tokio's blocking pool, at most [`CpuPool::workers`] at a time.
//!
//! The blocking pool alone does not bound anything: under a burst of logins it starts hundreds
//! of threads, each hashing in 19 MiB, and every request gets slower until memory runs out (the
//! login load test did that at 100 logins/s on 2 cores). Here a request waits for a slot at
//! most [`ServeConfig::cpu_queue_ms`](crate::ServeConfig::cpu_queue_ms); past that it is
//! answered `503 overloaded` with `Retry-After`, so the service sheds load it cannot serve in
//! time and keeps its latency for the load it can.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::error::ApiError;

/// A bounded runner of CPU-heavy closures. Cheap to clone (one shared semaphore).
#[derive(Clone, Debug)]
pub struct CpuPool {
    slots: Arc<Semaphore>,
    workers: usize,
    max_wait: Duration,
}

impl CpuPool {
    /// At most `workers` closures at once (0: one per available core); a closure that cannot
    /// start within `max_wait` is refused.
    pub fn new(workers: usize, max_wait: Duration) -> Self {
        let workers = if workers == 0 {
            std::thread::available_parallelism().map_or(1, usize::from)
        } else {
            workers
        };
        Self {
            slots: Arc::new(Semaphore::new(workers)),
            workers,
            max_wait,
        }
    }

    /// How many closures may run at once.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// How many workers are free now.
    pub fn idle(&self) -> usize {
        self.slots.available_permits()
    }

    /// Runs `work` on the blocking pool once a slot is free.
    ///
    /// # Errors
    ///
    /// [`ApiError::overloaded`] when no slot freed up within the maximum wait;
    /// [`ApiError::Internal`] when `work` panicked.
    pub async fn run<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let slot = tokio::time::timeout(self.max_wait, Arc::clone(&self.slots).acquire_owned())
            .await
            .ok()
            .and_then(Result::ok)
            .ok_or_else(|| {
                metrics::counter!("social_live_cpu_rejected_total").increment(1);
                ApiError::overloaded()
            })?;
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            work()
        })
        .await
        .map_err(|e| ApiError::Internal(crate::Error::Task(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    #[tokio::test]
    async fn work_runs_and_returns_its_value() {
        let pool = CpuPool::new(2, Duration::from_millis(100));
        assert_eq!(pool.workers(), 2);
        assert_eq!(pool.run(|| 6 * 7).await.unwrap(), 42);
        assert!(CpuPool::new(0, Duration::ZERO).workers() >= 1);
    }

    #[tokio::test]
    async fn a_full_pool_refuses_work_after_the_wait_and_frees_its_slots() {
        let pool = CpuPool::new(1, Duration::from_millis(50));
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let busy = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(move || wait.recv().unwrap()).await })
        };
        // Let the first closure take the only slot.
        while pool.idle() > 0 {
            tokio::task::yield_now().await;
        }
        let err = pool.run(|| ()).await.unwrap_err();
        assert_eq!(
            (err.status(), err.code()),
            (StatusCode::SERVICE_UNAVAILABLE, "overloaded")
        );
        release.send(()).unwrap();
        busy.await.unwrap().unwrap();
        // The slot is back: work runs again.
        assert_eq!(pool.run(|| 1).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn a_panic_is_an_internal_error_and_frees_the_slot() {
        let pool = CpuPool::new(1, Duration::from_millis(50));
        let err = pool.run(|| panic!("boom")).await.unwrap_err();
        assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(pool.run(|| 2).await.unwrap(), 2);
    }
}

//! The health of a background worker (the ingest, the rollout, the condition monitor, the
//! command delivery): how many transient errors it retried, its last error, and whether it has
//! stopped. A stopped worker makes `/readyz` not ready and shows in `/metrics`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// What one worker reports about itself.
#[derive(Debug)]
pub struct WorkerHealth {
    name: &'static str,
    retried: AtomicU64,
    last_error: Mutex<Option<String>>,
    stopped: Mutex<Option<String>>,
}

impl WorkerHealth {
    /// A healthy worker named `name`.
    pub fn new(name: &'static str) -> Arc<Self> {
        Arc::new(Self { name, retried: AtomicU64::new(0), last_error: Mutex::new(None), stopped: Mutex::new(None) })
    }

    /// Its name (a metric label).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Records a transient error that the worker retries.
    pub fn retrying(&self, error: &dyn std::fmt::Display) {
        self.retried.fetch_add(1, Ordering::Relaxed);
        let text = error.to_string();
        tracing::warn!(worker = self.name, error = %text, "transient error; retrying with backoff");
        *self.last_error.lock().unwrap_or_else(PoisonError::into_inner) = Some(text);
    }

    /// Records that the worker stopped for good after `error` (a storage failure).
    pub fn stopped_by(&self, error: &dyn std::fmt::Display) {
        let text = error.to_string();
        tracing::error!(worker = self.name, error = %text, "worker stopped; restart the process once the cause is fixed");
        *self.last_error.lock().unwrap_or_else(PoisonError::into_inner) = Some(text.clone());
        *self.stopped.lock().unwrap_or_else(PoisonError::into_inner) = Some(text);
    }

    /// Transient errors retried so far.
    pub fn retried(&self) -> u64 {
        self.retried.load(Ordering::Relaxed)
    }

    /// The last error seen, if any.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Why the worker stopped, if it did.
    pub fn stop_reason(&self) -> Option<String> {
        self.stopped.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// The workers of one running platform.
#[derive(Debug, Default)]
pub struct Workers {
    all: Mutex<Vec<Arc<WorkerHealth>>>,
}

impl Workers {
    /// Adds a worker's health to those reported.
    pub fn register(&self, health: Arc<WorkerHealth>) {
        self.all.lock().unwrap_or_else(PoisonError::into_inner).push(health);
    }

    /// Every registered worker.
    pub fn all(&self) -> Vec<Arc<WorkerHealth>> {
        self.all.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_are_counted_and_a_stop_is_kept_with_its_reason() {
        let health = WorkerHealth::new("ingest");
        health.retrying(&"actor busy");
        assert_eq!(health.retried(), 1);
        assert_eq!(health.last_error().as_deref(), Some("actor busy"));
        assert_eq!(health.stop_reason(), None);
        health.stopped_by(&"disk full");
        assert_eq!(health.stop_reason().as_deref(), Some("disk full"));
        let workers = Workers::default();
        workers.register(health);
        assert_eq!(workers.all().len(), 1);
    }
}

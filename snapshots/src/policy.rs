//! When to take snapshots and how many to keep.

/// Snapshot every `every` events of a stream; keep the `keep` most recent per stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotPolicy {
    /// Events between snapshots (0 disables snapshots).
    pub every: u64,
    /// Snapshots kept per stream (at least 1).
    pub keep: usize,
}

impl Default for SnapshotPolicy {
    fn default() -> Self {
        Self { every: 100, keep: 2 }
    }
}

impl SnapshotPolicy {
    /// Whether a stream that moved from version `before` to `after` crossed a snapshot point.
    pub fn is_due(&self, before: u64, after: u64) -> bool {
        self.every > 0 && after / self.every > before / self.every
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_when_a_multiple_is_crossed() {
        let policy = SnapshotPolicy { every: 10, keep: 2 };
        assert!(!policy.is_due(0, 9));
        assert!(policy.is_due(9, 10));
        assert!(policy.is_due(8, 12));
        assert!(!policy.is_due(10, 19));
        assert!(policy.is_due(19, 35));
        assert!(!SnapshotPolicy { every: 0, keep: 1 }.is_due(0, 1_000));
    }
}

//! How much finished history an aggregate's live state keeps.
//!
//! Finished commands, resolved alerts, completed maintenance and finished deployments stay in
//! the event stream (and in projections) for good; the live state keeps only the most recent
//! ones, so that state size, snapshots and rehydration stay bounded over a device's life.

/// How many finished items of each kind the live state keeps.
pub const FINISHED_ITEMS_KEPT: usize = 32;

/// Drops the oldest finished items beyond [`FINISHED_ITEMS_KEPT`], keeping every open one and
/// the order of the rest.
pub(crate) fn trim_finished<T>(items: &mut Vec<T>, is_finished: impl Fn(&T) -> bool) {
    let finished = items.iter().filter(|item| is_finished(item)).count();
    let mut excess = finished.saturating_sub(FINISHED_ITEMS_KEPT);
    items.retain(|item| {
        if excess > 0 && is_finished(item) {
            excess -= 1;
            false
        } else {
            true
        }
    });
}

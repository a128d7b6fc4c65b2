//! The Numenta Anomaly Benchmark's scoring, as its paper describes it (Lavin and Ahmad, 2015):
//! a detection inside a labelled window earns a scaled sigmoid of how early it came (only the
//! first detection of a window counts), a detection outside every window costs `fp_weight`
//! (less just after a window), a missed window costs `fn_weight`, the first 15 % of each series
//! (at most 750 rows) is probation and not scored, one threshold is chosen per detector to
//! maximise the score over the whole corpus, and the result is normalised so that never alarming
//! scores 0 and a perfect detector 100.

use std::collections::{BTreeMap, BTreeSet};

/// Share of each series that is probation.
pub const PROBATION_SHARE: f64 = 0.15;

/// A cost profile: what a hit, a false alarm and a miss are worth.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CostProfile {
    /// The weight of a detection at the very start of a window.
    pub tp_weight: f64,
    /// The cost of a detection far from any window.
    pub fp_weight: f64,
    /// The cost of a missed window.
    pub fn_weight: f64,
}

impl CostProfile {
    /// NAB's `standard` profile.
    pub const STANDARD: CostProfile = CostProfile { tp_weight: 1.0, fp_weight: 0.11, fn_weight: 1.0 };
    /// NAB's `reward_low_FP_rate` profile.
    pub const REWARD_LOW_FP_RATE: CostProfile = CostProfile { tp_weight: 1.0, fp_weight: 0.22, fn_weight: 1.0 };
    /// NAB's `reward_low_FN_rate` profile.
    pub const REWARD_LOW_FN_RATE: CostProfile = CostProfile { tp_weight: 1.0, fp_weight: 0.11, fn_weight: 2.0 };
}

/// One scored series: its anomaly scores in time order, and its labelled windows as inclusive
/// row ranges.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredSeries {
    /// The series' name (`category/file.csv`).
    pub name: String,
    /// The detector's anomaly score of each row.
    pub scores: Vec<f64>,
    /// Labelled windows: first and last row, inclusive, in order, not overlapping.
    pub windows: Vec<(usize, usize)>,
}

/// Why a series cannot be scored.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NabScoreError {
    /// A window is empty, out of the series, or overlaps or precedes the one before.
    #[error("{series}: window {index} ({start}..={end}) is not a range of rows after the one before")]
    BadWindow {
        /// The series.
        series: String,
        /// Which window (0-based).
        index: usize,
        /// Its first row.
        start: usize,
        /// Its last row.
        end: usize,
    },
    /// A score is not a finite number.
    #[error("{series}: row {row} has no finite anomaly score")]
    NotFinite {
        /// The series.
        series: String,
        /// The row.
        row: usize,
    },
}

/// One row's part in the score, once probation is left out.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Row {
    score: f64,
    /// What a detection here is worth (a hit's reward or a false alarm's cost).
    value: f64,
    /// The window it lies in, numbered across the corpus.
    window: Option<usize>,
}

/// The score of a detector at one threshold, over the corpus.
#[derive(Debug, Clone, PartialEq)]
pub struct CorpusScore {
    /// The threshold: a row is a detection when its anomaly score is at least this.
    pub threshold: f64,
    /// The raw score (sum over series).
    pub raw: f64,
    /// Normalised: 0 for never alarming, 100 for perfect.
    pub normalised: f64,
    /// Windows detected.
    pub detected_windows: usize,
    /// Windows scored (those not wholly in probation).
    pub windows: usize,
    /// Detections outside every window.
    pub false_positives: usize,
    /// Raw score per series at this threshold, in corpus order.
    pub per_series: Vec<(String, f64)>,
}

/// `2 sigmoid(-5 x) - 1`, and -1 from three window widths on: NAB's reward curve.
fn scaled_sigmoid(position: f64) -> f64 {
    if position >= 3.0 {
        -1.0
    } else {
        2.0 / (1.0 + (5.0 * position).exp()) - 1.0
    }
}

/// The probation rows of a series of `rows` rows.
pub fn probation_rows(rows: usize) -> usize {
    ((PROBATION_SHARE * rows as f64).floor()).min(PROBATION_SHARE * 5_000.0) as usize
}

/// What a detection at each row of `series` is worth, and its window (numbered from `first_window`).
fn rows_of(series: &ScoredSeries, profile: CostProfile, first_window: usize) -> Result<Vec<Row>, NabScoreError> {
    let max_tp = scaled_sigmoid(-1.0);
    let mut previous_end: Option<usize> = None;
    for (index, &(start, end)) in series.windows.iter().enumerate() {
        if start > end || end >= series.scores.len() || previous_end.is_some_and(|last| start <= last) {
            return Err(NabScoreError::BadWindow { series: series.name.clone(), index, start, end });
        }
        previous_end = Some(end);
    }
    let probation = probation_rows(series.scores.len());
    let mut rows = Vec::with_capacity(series.scores.len().saturating_sub(probation));
    let mut windows = series.windows.iter().enumerate().peekable();
    let mut current: Option<(usize, usize, usize)> = None;
    let mut last_window: Option<(usize, usize)> = None;
    for (row, &score) in series.scores.iter().enumerate() {
        if !score.is_finite() {
            return Err(NabScoreError::NotFinite { series: series.name.clone(), row });
        }
        if let Some(&(index, &(start, end))) = windows.peek() {
            if row == start {
                current = Some((index, start, end));
                windows.next();
            }
        }
        let (value, window) = match current {
            Some((index, start, end)) => {
                let width = (end - start + 1) as f64;
                let position = -((end - row + 1) as f64) / width;
                (scaled_sigmoid(position) * profile.tp_weight / max_tp, Some(first_window + index))
            }
            None => {
                let position = match last_window {
                    Some((end, width)) if width > 1 => (row - end) as f64 / (width - 1) as f64,
                    Some(_) => 3.0,
                    None => 3.0,
                };
                (scaled_sigmoid(position) * profile.fp_weight, None)
            }
        };
        if row >= probation {
            rows.push(Row { score, value, window });
        }
        if let Some((_, start, end)) = current.filter(|(_, _, end)| *end == row) {
            last_window = Some((end, end - start + 1));
            current = None;
        }
    }
    Ok(rows)
}

/// The raw score of one series' `rows` (scoring the windows `windows`) when detections are the
/// rows scoring at least `threshold`, with the windows detected and the false positives.
fn raw_score(rows: &[Row], windows: &BTreeSet<usize>, threshold: f64, profile: CostProfile) -> (f64, usize, usize) {
    let mut best: BTreeMap<usize, f64> = windows.iter().map(|w| (*w, -profile.fn_weight)).collect();
    let mut detected = BTreeSet::new();
    let mut false_alarms = 0.0;
    let mut false_positives = 0;
    for row in rows.iter().filter(|row| row.score >= threshold) {
        match row.window {
            Some(window) => {
                detected.insert(window);
                let part = best.entry(window).or_insert(-profile.fn_weight);
                *part = part.max(row.value);
            }
            None => {
                false_alarms += row.value;
                false_positives += 1;
            }
        }
    }
    (best.values().sum::<f64>() + false_alarms, detected.len(), false_positives)
}

/// Scores `corpus` with `profile` at every threshold its scores suggest and returns the best:
/// the threshold NAB would choose for this detector, with its normalised score. One sweep down
/// the scores of the whole corpus (each row joins the detections once), so a corpus of millions
/// of rows takes a sort and a pass.
pub fn best_threshold(corpus: &[ScoredSeries], profile: CostProfile) -> Result<CorpusScore, NabScoreError> {
    let mut scored = Vec::with_capacity(corpus.len());
    let mut first_window = 0;
    for series in corpus {
        let rows = rows_of(series, profile, first_window)?;
        let windows: BTreeSet<usize> = rows.iter().filter_map(|row| row.window).collect();
        first_window += series.windows.len();
        scored.push((series.name.clone(), rows, windows));
    }
    let windows: usize = scored.iter().map(|(_, _, windows)| windows.len()).sum();
    let null = -profile.fn_weight * windows as f64;
    let perfect = profile.tp_weight * windows as f64;
    let mut sweep: Vec<Row> = scored.iter().flat_map(|(_, rows, _)| rows.iter().copied()).collect();
    sweep.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut window_part = vec![-profile.fn_weight; first_window];
    let mut seen = vec![false; first_window];
    let (mut total, mut detected, mut false_positives) = (null, 0, 0);
    let mut best = (f64::INFINITY, null, 0, 0);
    let mut index = 0;
    while index < sweep.len() {
        let threshold = sweep[index].score;
        while index < sweep.len() && sweep[index].score == threshold {
            let row = sweep[index];
            match row.window {
                Some(window) => {
                    let better = window_part[window].max(row.value);
                    total += better - window_part[window];
                    window_part[window] = better;
                    if !seen[window] {
                        seen[window] = true;
                        detected += 1;
                    }
                }
                None => {
                    total += row.value;
                    false_positives += 1;
                }
            }
            index += 1;
        }
        if total > best.1 {
            best = (threshold, total, detected, false_positives);
        }
    }
    let (threshold, raw, detected_windows, false_positives) = best;
    let per_series = scored
        .iter()
        .map(|(name, rows, windows)| (name.clone(), raw_score(rows, windows, threshold, profile).0))
        .collect();
    let normalised = if perfect > null { 100.0 * (raw - null) / (perfect - null) } else { 0.0 };
    Ok(CorpusScore { threshold, raw, normalised, detected_windows, windows, false_positives, per_series })
}

#[cfg(test)]
mod tests {
    use super::*;

    const STANDARD: CostProfile = CostProfile::STANDARD;

    /// 100 rows: probation is rows 0..15; one window at rows 40..=49.
    fn series(scores: Vec<f64>) -> ScoredSeries {
        ScoredSeries { name: "test/one.csv".to_owned(), scores, windows: vec![(40, 49)] }
    }

    fn with_alarms(alarms: &[usize]) -> Vec<f64> {
        (0..100).map(|row| if alarms.contains(&row) { 1.0 } else { 0.0 }).collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn probation_is_fifteen_percent_and_at_most_750_rows() {
        assert_eq!(probation_rows(100), 15);
        assert_eq!(probation_rows(4_000), 600);
        assert_eq!(probation_rows(22_695), 750);
    }

    #[test]
    fn never_alarming_scores_zero_and_an_alarm_at_the_window_start_a_hundred() {
        let silent = best_threshold(&[series(vec![0.0; 100])], STANDARD).expect("scores");
        assert!(close(silent.raw, -1.0) && close(silent.normalised, 0.0), "{silent:?}");
        let perfect = best_threshold(&[series(with_alarms(&[40]))], STANDARD).expect("scores");
        assert!(close(perfect.raw, 1.0), "the first row of the window earns the whole weight: {perfect:?}");
        assert!(close(perfect.normalised, 100.0));
        assert_eq!((perfect.threshold, perfect.detected_windows, perfect.false_positives), (1.0, 1, 0));
    }

    #[test]
    fn a_later_hit_earns_less_and_only_the_first_detection_of_a_window_counts() {
        let late = best_threshold(&[series(with_alarms(&[45]))], STANDARD).expect("scores");
        let position: f64 = -(49.0 - 45.0 + 1.0) / 10.0;
        let expected = (2.0 / (1.0 + (5.0 * position).exp()) - 1.0) / scaled_sigmoid(-1.0);
        assert!(close(late.raw, expected), "{} != {expected}", late.raw);
        let twice = best_threshold(&[series(with_alarms(&[40, 45]))], STANDARD).expect("scores");
        assert!(close(twice.raw, 1.0), "the second detection in the window adds nothing: {twice:?}");
    }

    #[test]
    fn false_alarms_cost_their_weight_less_just_after_a_window_and_nothing_in_probation() {
        let before = best_threshold(&[series(with_alarms(&[20]))], STANDARD).expect("scores");
        assert!(close(before.raw, -1.0), "not worth alarming: the threshold stays above it: {before:?}");
        let scores: Vec<f64> = (0..100)
            .map(|row| {
                if row == 40 {
                    1.0
                } else if row == 20 {
                    0.9
                } else {
                    0.0
                }
            })
            .collect();
        let hit_and_early_alarm = best_threshold(&[series(scores)], STANDARD).expect("scores");
        assert!(close(hit_and_early_alarm.threshold, 1.0), "{hit_and_early_alarm:?}");
        let both = best_threshold(&[series(with_alarms(&[20, 40]))], STANDARD).expect("scores");
        assert!(close(both.raw, 1.0 - 0.11), "a far false alarm costs fp_weight: {both:?}");
        assert_eq!(both.false_positives, 1);
        let after = best_threshold(&[series(with_alarms(&[40, 51]))], STANDARD).expect("scores");
        let position = (51.0 - 49.0) / 9.0;
        let cost = (2.0 / (1.0 + (5.0_f64 * position).exp()) - 1.0) * 0.11;
        assert!(close(after.raw, 1.0 + cost) && cost > -0.11, "{after:?}");
        let probation = best_threshold(&[series(with_alarms(&[3, 40]))], STANDARD).expect("scores");
        assert!(close(probation.raw, 1.0), "probation rows are not scored: {probation:?}");
    }

    #[test]
    fn one_threshold_is_chosen_for_the_whole_corpus() {
        let first = ScoredSeries { name: "a.csv".to_owned(), ..series(with_alarms(&[40])) };
        let scores: Vec<f64> = (0..100)
            .map(|row| {
                if row == 42 {
                    0.6
                } else if row > 60 {
                    0.7
                } else {
                    0.0
                }
            })
            .collect();
        let second = ScoredSeries { name: "b.csv".to_owned(), ..series(scores) };
        let corpus = best_threshold(&[first, second], STANDARD).expect("scores");
        assert!(close(corpus.threshold, 1.0), "the second series' noise outweighs its hit: {corpus:?}");
        assert!(close(corpus.raw, 1.0 - 1.0));
        assert!(close(corpus.normalised, 50.0));
        assert_eq!(corpus.per_series.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>(), ["a.csv", "b.csv"]);
        let low_fn = CostProfile::REWARD_LOW_FN_RATE;
        let missed = best_threshold(&[series(vec![0.0; 100])], low_fn).expect("scores");
        assert!(close(missed.raw, -2.0) && close(missed.normalised, 0.0));
    }

    #[test]
    fn the_sweep_finds_the_same_best_score_as_trying_every_threshold() {
        let corpus: Vec<ScoredSeries> = (0..4u64)
            .map(|n| {
                let scores = (0..300u64).map(|row| ((row * 7_919 + n * 104_729) % 1_000) as f64 / 1_000.0).collect();
                ScoredSeries {
                    name: format!("s{n}.csv"),
                    scores,
                    windows: vec![(60 + 10 * n as usize, 90 + 10 * n as usize), (200, 229)],
                }
            })
            .collect();
        for profile in [CostProfile::STANDARD, CostProfile::REWARD_LOW_FP_RATE, CostProfile::REWARD_LOW_FN_RATE] {
            let best = best_threshold(&corpus, profile).expect("scores");
            let mut brute = f64::NEG_INFINITY;
            let mut first_window = 0;
            let mut parts = Vec::new();
            for series in &corpus {
                let rows = rows_of(series, profile, first_window).expect("rows");
                first_window += series.windows.len();
                let windows: BTreeSet<usize> = rows.iter().filter_map(|row| row.window).collect();
                parts.push((rows, windows));
            }
            for threshold in corpus.iter().flat_map(|s| s.scores.iter().copied()).chain([f64::INFINITY]) {
                let raw: f64 = parts.iter().map(|(rows, windows)| raw_score(rows, windows, threshold, profile).0).sum();
                brute = brute.max(raw);
            }
            assert!(close(best.raw, brute), "{} != {brute}", best.raw);
            let per_series: f64 = best.per_series.iter().map(|(_, raw)| raw).sum();
            assert!(close(per_series, best.raw), "the series add up to the corpus");
        }
    }

    #[test]
    fn bad_windows_and_scores_are_refused() {
        let overlapping = ScoredSeries { windows: vec![(40, 49), (45, 60)], ..series(vec![0.0; 100]) };
        assert!(matches!(best_threshold(&[overlapping], STANDARD), Err(NabScoreError::BadWindow { index: 1, .. })));
        let outside = ScoredSeries { windows: vec![(90, 100)], ..series(vec![0.0; 100]) };
        assert!(matches!(best_threshold(&[outside], STANDARD), Err(NabScoreError::BadWindow { index: 0, .. })));
        let mut scores = vec![0.0; 100];
        scores[7] = f64::NAN;
        assert!(matches!(best_threshold(&[series(scores)], STANDARD), Err(NabScoreError::NotFinite { row: 7, .. })));
    }
}

//! `optibid maintenance score-nab`: NAB's scoring of a detector's results on labelled series
//! (the benchmark's own results folders, or anyone's series in its format), with the threshold
//! chosen for the whole corpus, normalised so that never alarming is 0 and perfect is 100.

use anyhow::{bail, Context};
use chrono::NaiveDateTime;
use optibid_projections::maintenance::nab_score::{best_threshold, CostProfile, ScoredSeries};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Options of `maintenance score-nab`.
#[derive(Debug, clap::Args)]
pub struct ScoreNabArgs {
    /// The detector's results: one CSV per series with a header naming `timestamp` and
    /// `anomaly_score` (as `maintenance detect` writes and NAB's results folders hold), found as
    /// `DIR/category/file.csv`, `DIR/category/DETECTOR_file.csv` or `DIR/file.csv`.
    #[arg(long)]
    results: PathBuf,
    /// The labelled windows: `{"category/file.csv": [[start, end], ...], ...}` (NAB's
    /// `combined_windows.json`).
    #[arg(long)]
    windows: PathBuf,
    /// The cost profile; `all` scores the three.
    #[arg(long, value_enum, default_value_t = Profile::Standard)]
    profile: Profile,
    /// Cost profiles in NAB's `profiles.json` format, instead of NAB's published weights.
    #[arg(long)]
    profiles: Option<PathBuf>,
    /// Score the series that have results and name the others, instead of refusing.
    #[arg(long)]
    skip_missing: bool,
    /// Also print each series' raw score at the chosen threshold.
    #[arg(long)]
    per_series: bool,
}

/// NAB's cost profiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Profile {
    /// False alarms cost 0.11 of a hit.
    Standard,
    /// False alarms cost twice as much.
    #[value(name = "reward_low_FP_rate")]
    RewardLowFpRate,
    /// Misses cost twice as much.
    #[value(name = "reward_low_FN_rate")]
    RewardLowFnRate,
    /// The three, one after the other.
    All,
}

impl Profile {
    fn name(self) -> &'static str {
        match self {
            Profile::Standard => "standard",
            Profile::RewardLowFpRate => "reward_low_FP_rate",
            Profile::RewardLowFnRate => "reward_low_FN_rate",
            Profile::All => "all",
        }
    }

    fn published(self) -> CostProfile {
        match self {
            Profile::RewardLowFpRate => CostProfile::REWARD_LOW_FP_RATE,
            Profile::RewardLowFnRate => CostProfile::REWARD_LOW_FN_RATE,
            Profile::Standard | Profile::All => CostProfile::STANDARD,
        }
    }
}

/// A time as NAB writes it: `YYYY-MM-DD hh:mm:ss`, with or without a fraction of a second.
pub(super) fn nab_time(text: &str) -> anyhow::Result<NaiveDateTime> {
    let text = text.trim();
    let whole = text.split('.').next().unwrap_or(text);
    NaiveDateTime::parse_from_str(whole, "%Y-%m-%d %H:%M:%S")
        .with_context(|| format!("{text:?} is not a `YYYY-MM-DD hh:mm:ss` time"))
}

/// The first and last rows of `times` (in order) within `start ..= end`, if any row is.
pub(super) fn window_rows(times: &[NaiveDateTime], start: NaiveDateTime, end: NaiveDateTime) -> Option<(usize, usize)> {
    let first = times.iter().position(|t| *t >= start)?;
    let last = times.iter().rposition(|t| *t <= end)?;
    (first <= last).then_some((first, last))
}

/// Runs `score-nab`.
pub fn run(args: &ScoreNabArgs) -> anyhow::Result<ExitCode> {
    let text = super::maintenance::read(&args.windows)?;
    let labels: BTreeMap<String, Vec<[String; 2]>> =
        serde_json::from_str(&text).context("the windows file is not NAB label JSON")?;
    let mut corpus = Vec::new();
    let mut missing = Vec::new();
    for (name, windows) in &labels {
        match results_file(&args.results, name)? {
            Some(path) => corpus.push(series(name, &path, windows)?),
            None => missing.push(name.as_str()),
        }
    }
    if !missing.is_empty() {
        let listed = missing.iter().take(5).copied().collect::<Vec<_>>().join(", ");
        if !args.skip_missing {
            bail!(
                "{} of {} series have no results in {} ({listed}{}); pass --skip-missing to score the rest",
                missing.len(),
                labels.len(),
                args.results.display(),
                if missing.len() > 5 { ", …" } else { "" }
            );
        }
        eprintln!(
            "skipped {} series without results: {listed}{}",
            missing.len(),
            if missing.len() > 5 { ", …" } else { "" }
        );
    }
    if corpus.is_empty() {
        bail!("no series of {} has results in {}", args.windows.display(), args.results.display());
    }
    let rows: usize = corpus.iter().map(|s| s.scores.len()).sum();
    println!("{} series, {rows} rows", corpus.len());
    let profiles = match args.profile {
        Profile::All => vec![Profile::Standard, Profile::RewardLowFpRate, Profile::RewardLowFnRate],
        one => vec![one],
    };
    let configured = args.profiles.as_deref().map(read_profiles).transpose()?;
    for profile in profiles {
        let costs = match &configured {
            Some(table) => *table
                .get(profile.name())
                .with_context(|| format!("the profiles file has no {:?} profile", profile.name()))?,
            None => profile.published(),
        };
        let score = best_threshold(&corpus, costs)?;
        println!(
            "{}: score {:.2} (raw {:.3}, threshold {}; {} of {} windows detected, {} false positives)",
            profile.name(),
            score.normalised,
            score.raw,
            if score.threshold.is_finite() {
                format!("{:.6}", score.threshold)
            } else {
                "none: never alarming is best".to_owned()
            },
            score.detected_windows,
            score.windows,
            score.false_positives
        );
        if args.per_series {
            for (name, raw) in &score.per_series {
                println!("  {name}: {raw:.3}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Where the results of series `name` (`category/file.csv`) are under `dir`, if anywhere.
fn results_file(dir: &Path, name: &str) -> anyhow::Result<Option<PathBuf>> {
    let exact = dir.join(name);
    if exact.is_file() {
        return Ok(Some(exact));
    }
    let (category, file) = name.rsplit_once('/').unwrap_or(("", name));
    let folder = dir.join(category);
    if folder.is_dir() {
        let suffix = format!("_{file}");
        let mut found: Vec<PathBuf> = std::fs::read_dir(&folder)
            .with_context(|| format!("cannot read {}", folder.display()))?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.file_name().is_some_and(|f| f.to_string_lossy().ends_with(&suffix)))
            .collect();
        match found.len() {
            0 => {}
            1 => return Ok(found.pop()),
            _ => bail!("several results files in {} end with {suffix:?}", folder.display()),
        }
    }
    let flat = dir.join(file);
    Ok(flat.is_file().then_some(flat))
}

/// The anomaly scores of the results file `path` and the windows of series `name` as rows.
fn series(name: &str, path: &Path, windows: &[[String; 2]]) -> anyhow::Result<ScoredSeries> {
    let text = super::maintenance::read(path)?;
    let mut lines = text.lines().enumerate().filter(|(_, line)| !line.trim().is_empty());
    let Some((_, header)) = lines.next() else { bail!("{} is empty", path.display()) };
    let columns: Vec<&str> = header.split(',').map(str::trim).collect();
    let column = |wanted: &str| columns.iter().position(|c| *c == wanted);
    let (Some(time_column), Some(score_column)) = (column("timestamp"), column("anomaly_score")) else {
        bail!("{}: the header names no `timestamp` and `anomaly_score` columns: {header:?}", path.display());
    };
    let mut times = Vec::new();
    let mut scores = Vec::new();
    for (index, line) in lines {
        let cells: Vec<&str> = line.split(',').collect();
        let cell = |at: usize| {
            cells.get(at).copied().with_context(|| format!("{} line {}: too few columns", path.display(), index + 1))
        };
        times.push(nab_time(cell(time_column)?).with_context(|| format!("{} line {}", path.display(), index + 1))?);
        let score = cell(score_column)?;
        scores.push(score.trim().parse::<f64>().with_context(|| {
            format!("{} line {}: anomaly score {:?} is not a number", path.display(), index + 1, score.trim())
        })?);
    }
    let rows = windows
        .iter()
        .map(|[start, end]| {
            let (start, end) = (nab_time(start)?, nab_time(end)?);
            window_rows(&times, start, end)
                .with_context(|| format!("{name}: the window {start} .. {end} holds no row of {}", path.display()))
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(ScoredSeries { name: name.to_owned(), scores, windows: rows })
}

/// Cost profiles from NAB's `profiles.json`: `{"standard": {"CostMatrix": {"tpWeight": …}}}`.
fn read_profiles(path: &Path) -> anyhow::Result<BTreeMap<String, CostProfile>> {
    #[derive(serde::Deserialize)]
    struct Entry {
        #[serde(rename = "CostMatrix")]
        cost_matrix: Weights,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Weights {
        tp_weight: f64,
        fp_weight: f64,
        fn_weight: f64,
    }
    let text = super::maintenance::read(path)?;
    let entries: BTreeMap<String, Entry> =
        serde_json::from_str(&text).with_context(|| format!("{} is not NAB profiles JSON", path.display()))?;
    Ok(entries
        .into_iter()
        .map(|(name, entry)| {
            let w = entry.cost_matrix;
            (name, CostProfile { tp_weight: w.tp_weight, fp_weight: w.fp_weight, fn_weight: w.fn_weight })
        })
        .collect())
}

//! `optibid maintenance`: replay labelled data sets through the platform's anomaly detector
//! and remaining-useful-life estimator.

use anyhow::{bail, Context};
use chrono::NaiveDateTime;
use optibid_projections::maintenance::anomaly::{AnomalyConfig, AnomalyDetector};
use optibid_projections::maintenance::cmapss::{self, EngineRun};
use optibid_projections::maintenance::evaluation::{evaluate_rul, window_report, LabelledWindow};
use optibid_projections::maintenance::rul::RulConfig;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Fewest cycles a held-out engine keeps (the shortest official FD001 test engine has 31).
const MIN_SEEN: usize = 31;

/// Range of the true remaining cycles of a held-out engine (official FD001 truths: 7 to 145).
const MIN_REMAINING: usize = 5;
const MAX_REMAINING: usize = 145;

/// The maintenance verbs.
#[derive(Debug, clap::Subcommand)]
pub enum MaintenanceCommand {
    /// Score a `timestamp,value` CSV with the anomaly detector; writes
    /// `timestamp,value,anomaly_score` (0..1) to standard output.
    Detect(DetectArgs),
    /// Fit the RUL estimator on C-MAPSS training engines and report RMSE and the PHM08 score on
    /// test engines.
    EvaluateRul(EvaluateRulArgs),
    /// Split a C-MAPSS training file into train, test and truth files: the last engines are held
    /// out and cut 5 to 145 cycles before failure (keeping at least 31), as in the official
    /// FD001 test set.
    SplitCmapss(SplitArgs),
    /// Train a random-forest RUL model on C-MAPSS run-to-failure files and write its file.
    TrainRul(super::rul_forest::TrainRulArgs),
    /// Score a detector's results on labelled series the way NAB does: one threshold for the
    /// whole corpus, normalised so that never alarming is 0 and perfect is 100.
    ScoreNab(super::score_nab::ScoreNabArgs),
}

/// Options of `maintenance detect`.
#[derive(Debug, clap::Args)]
pub struct DetectArgs {
    /// The series: a header line, then `timestamp,value` rows.
    #[arg(long)]
    csv: PathBuf,
    /// NAB label windows (JSON: `{"category/file.csv": [[start, end], ...], ...}`, one series or
    /// NAB's combined file): print detections and false alarms at `--threshold` to standard
    /// error. The series is the one whose name ends with the CSV's file name.
    #[arg(long)]
    windows: Option<PathBuf>,
    /// The series of `--windows` to use, when its name does not end with the CSV's file name.
    #[arg(long, requires = "windows")]
    series: Option<String>,
    /// Score at which a value counts as an alarm in the `--windows` summary.
    #[arg(long, default_value_t = 0.5)]
    threshold: f64,
    /// Values in the detector's rolling window.
    #[arg(long, default_value_t = AnomalyConfig::default().window)]
    window: usize,
}

/// Options of `maintenance evaluate-rul`.
#[derive(Debug, clap::Args)]
pub struct EvaluateRulArgs {
    /// Training engines, each run to failure (fits the built-in estimator).
    #[arg(long, required_unless_present = "model", conflicts_with = "model")]
    train: Option<PathBuf>,
    /// A model file from `train-rul`, instead of fitting on `--train`.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Test engines, each cut before failure.
    #[arg(long)]
    test: PathBuf,
    /// True remaining cycles of the test engines, one per line.
    #[arg(long)]
    truth: PathBuf,
    /// Print every engine's estimate.
    #[arg(long)]
    verbose: bool,
    /// Remaining cycles are capped here in training (wear is invisible early in life).
    #[arg(long, default_value_t = RulConfig::default().cap)]
    cap: f64,
    /// Weight of the newest cycle in each metric's moving average (0..1].
    #[arg(long, default_value_t = RulConfig::default().smoothing)]
    smoothing: f64,
    /// Add the engine's age (cycles seen) to the features.
    #[arg(long)]
    with_age: bool,
}

/// Options of `maintenance split-cmapss`.
#[derive(Debug, clap::Args)]
pub struct SplitArgs {
    /// A C-MAPSS training file.
    #[arg(long)]
    input: PathBuf,
    /// How many of the last engines to hold out.
    #[arg(long, default_value_t = 20)]
    holdout: usize,
    /// Folder for train.txt, test.txt and truth.txt.
    #[arg(long)]
    out: PathBuf,
    /// Seed of the cut points.
    #[arg(long, default_value_t = 2008)]
    seed: u64,
}

/// Runs a maintenance verb.
pub fn run(command: MaintenanceCommand) -> anyhow::Result<ExitCode> {
    match command {
        MaintenanceCommand::Detect(args) => detect(&args),
        MaintenanceCommand::EvaluateRul(args) => evaluate(&args),
        MaintenanceCommand::SplitCmapss(args) => split(&args),
        MaintenanceCommand::ScoreNab(args) => super::score_nab::run(&args),
        MaintenanceCommand::TrainRul(args) => super::rul_forest::train(&args),
    }
}

/// The text of `path`, or an error naming it.
pub(super) fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// The engine runs of the C-MAPSS file `path`.
pub(super) fn runs(path: &Path) -> anyhow::Result<Vec<EngineRun>> {
    cmapss::parse_runs(&read(path)?).with_context(|| format!("{} is not a C-MAPSS file", path.display()))
}

fn detect(args: &DetectArgs) -> anyhow::Result<ExitCode> {
    let text = read(&args.csv)?;
    let mut detector = AnomalyDetector::new(AnomalyConfig { window: args.window, ..AnomalyConfig::default() });
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    writeln!(out, "timestamp,value,anomaly_score")?;
    let mut times = Vec::new();
    let mut scores = Vec::new();
    for (index, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let Some((timestamp, value)) = line.split_once(',') else {
            bail!("{} line {}: expected `timestamp,value`, found {line:?}", args.csv.display(), index + 1);
        };
        let value: f64 = value.trim().parse().with_context(|| {
            format!("{} line {}: {:?} is not a number", args.csv.display(), index + 1, value.trim())
        })?;
        let score = detector.observe(value).score;
        writeln!(out, "{timestamp},{value},{score:.6}")?;
        times.push(timestamp.trim().to_owned());
        scores.push(score);
    }
    out.flush()?;
    if let Some(path) = &args.windows {
        let windows = label_windows(&read(path)?, &times, &args.csv, args.series.as_deref())?;
        let report = window_report(&scores, &windows, args.threshold);
        eprintln!("{} values, threshold {}", report.len, report.threshold);
        for (window, first) in windows.iter().zip(&report.first_detection) {
            let span = window.end - window.start + 1;
            match first {
                Some(i) => eprintln!(
                    "window {} .. {}: first alarm at {} ({} of {} values into the window)",
                    times[window.start],
                    times[window.end],
                    times[*i],
                    i - window.start,
                    span
                ),
                None => eprintln!("window {} .. {}: missed", times[window.start], times[window.end]),
            }
        }
        eprintln!("false alarms outside the windows: {}", report.false_alarms);
    }
    Ok(ExitCode::SUCCESS)
}

/// The NAB windows of the series of `csv` (or the one named `series`), as indexes into `times`.
fn label_windows(
    json: &str,
    times: &[String],
    csv: &std::path::Path,
    series: Option<&str>,
) -> anyhow::Result<Vec<LabelledWindow>> {
    let mut labels: BTreeMap<String, Vec<[String; 2]>> =
        serde_json::from_str(json).context("the windows file is not NAB label JSON")?;
    let wanted = match series {
        Some(name) => name.to_owned(),
        None => csv.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default(),
    };
    let matching: Vec<String> =
        labels
            .keys()
            .filter(|key| {
                if series.is_some() {
                    key.as_str() == wanted
                } else {
                    key.rsplit('/').next() == Some(wanted.as_str())
                }
            })
            .cloned()
            .collect();
    let key = match matching.as_slice() {
        [one] => one.clone(),
        [] => {
            let known: Vec<&str> = labels.keys().take(5).map(String::as_str).collect();
            bail!(
                "the windows file has no series {wanted:?} (it has {} series, such as {}); name one with --series",
                labels.len(),
                known.join(", ")
            )
        }
        several => bail!(
            "several series of the windows file end with {wanted:?}: {}; name one with --series",
            several.join(", ")
        ),
    };
    let windows = labels.remove(&key).unwrap_or_default();
    let parse = super::score_nab::nab_time;
    let parsed: Vec<NaiveDateTime> = times.iter().map(|t| parse(t)).collect::<anyhow::Result<_>>()?;
    windows
        .iter()
        .map(|[start, end]| match super::score_nab::window_rows(&parsed, parse(start)?, parse(end)?) {
            Some((start, end)) => Ok(LabelledWindow { start, end }),
            _ => bail!("a window lies outside the series"),
        })
        .collect()
}

fn evaluate(args: &EvaluateRulArgs) -> anyhow::Result<ExitCode> {
    let test = runs(&args.test)?;
    let truth = cmapss::parse_truth(&read(&args.truth)?)
        .with_context(|| format!("{} is not a truth file", args.truth.display()))?;
    let train_path = match (&args.model, &args.train) {
        (Some(model), _) => return super::rul_forest::evaluate(model, &test, &truth, args.verbose),
        (None, Some(train)) => train,
        (None, None) => bail!("give --train or --model"),
    };
    let train = runs(train_path)?;
    let valid = args.smoothing > 0.0 && args.smoothing <= 1.0 && args.cap > 0.0;
    if !valid {
        bail!("--smoothing must be in (0, 1] and --cap above 0");
    }
    let config = RulConfig { cap: args.cap, smoothing: args.smoothing, use_age: args.with_age, ..RulConfig::default() };
    let evaluation = evaluate_rul(&train, &test, &truth, config)?;
    if args.verbose {
        println!("unit,cycles,estimate,truth");
        for engine in &evaluation.engines {
            println!("{},{},{:.1},{}", engine.unit, engine.cycles, engine.estimate, engine.truth);
        }
    }
    println!(
        "fitted on {} engines ({} cycles) of {}; cap {}, EWMA weight {}, age as a feature: {}",
        train.len(),
        train.iter().map(|r| r.cycles.len()).sum::<usize>(),
        train_path.display(),
        config.cap,
        config.smoothing,
        config.use_age
    );
    println!("test engines: {}", evaluation.engines.len());
    println!("RMSE: {:.2}", evaluation.rmse);
    println!("PHM08 score: {:.1}", evaluation.score);
    Ok(ExitCode::SUCCESS)
}

fn split(args: &SplitArgs) -> anyhow::Result<ExitCode> {
    let all = runs(&args.input)?;
    if args.holdout == 0 || args.holdout >= all.len() {
        bail!("--holdout must be between 1 and {} (the file has {} engines)", all.len() - 1, all.len());
    }
    let (train, held) = all.split_at(all.len() - args.holdout);
    let mut random = fastrand::Rng::with_seed(args.seed);
    let mut test = Vec::with_capacity(held.len());
    let mut truth = String::new();
    for run in held {
        let life = run.cycles.len();
        let remaining =
            random.usize(MIN_REMAINING..=MAX_REMAINING.min(life.saturating_sub(MIN_SEEN)).max(MIN_REMAINING));
        let keep = life.saturating_sub(remaining).max(1);
        test.push(EngineRun { unit: run.unit, cycles: run.cycles[..keep].to_vec() });
        truth.push_str(&format!("{}\n", life - keep));
    }
    std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    for (name, text) in
        [("train.txt", cmapss::format_runs(train)), ("test.txt", cmapss::format_runs(&test)), ("truth.txt", truth)]
    {
        let path = args.out.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    println!(
        "train: engines {}..{}; held out and cut: engines {}..{} (seed {}); written to {}",
        train[0].unit,
        train[train.len() - 1].unit,
        held[0].unit,
        held[held.len() - 1].unit,
        args.seed,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

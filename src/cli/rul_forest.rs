//! `optibid maintenance train-rul` and `evaluate-rul --model`: a random-forest RUL model trained
//! on run-to-failure histories, written to a versioned file, and scored on test engines.

use anyhow::{bail, Context};
use optibid_projections::maintenance::cmapss::EngineRun;
use optibid_projections::maintenance::rul::phm08_score;
use optibid_projections::maintenance::rul_forest::{ForestConfig, RulForest};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Options of `maintenance train-rul`.
#[derive(Debug, clap::Args)]
pub struct TrainRulArgs {
    /// Training files (C-MAPSS format), each engine run to failure.
    #[arg(long, num_args = 1.., required = true)]
    train: Vec<PathBuf>,
    /// Where the model file goes.
    #[arg(long)]
    out: PathBuf,
    /// Trees in the forest.
    #[arg(long, default_value_t = ForestConfig::default().trees)]
    trees: usize,
    /// Cycles the features look back over.
    #[arg(long, default_value_t = ForestConfig::default().window)]
    window: usize,
    /// Deepest a tree grows.
    #[arg(long, default_value_t = ForestConfig::default().max_depth)]
    max_depth: u16,
    /// Fewest training rows in a leaf.
    #[arg(long, default_value_t = ForestConfig::default().min_samples_leaf)]
    min_samples_leaf: usize,
    /// Every how many cycles a training row is taken.
    #[arg(long, default_value_t = ForestConfig::default().stride)]
    stride: usize,
    /// Remaining cycles are capped here in training.
    #[arg(long, default_value_t = ForestConfig::default().cap)]
    cap: f64,
}

/// Runs `train-rul`.
pub fn train(args: &TrainRulArgs) -> anyhow::Result<ExitCode> {
    if args.cap <= 0.0 || args.window == 0 || args.trees == 0 {
        bail!("--cap, --window and --trees must be above 0");
    }
    let mut engines = Vec::new();
    for path in &args.train {
        engines.extend(super::maintenance::runs(path)?);
    }
    let config = ForestConfig {
        window: args.window,
        cap: args.cap,
        trees: args.trees,
        max_depth: args.max_depth,
        min_samples_leaf: args.min_samples_leaf,
        stride: args.stride.max(1),
        ..ForestConfig::default()
    };
    let started = Instant::now();
    let forest = RulForest::fit(&engines, config)?;
    let trained = started.elapsed();
    let text = forest.to_json()?;
    std::fs::write(&args.out, &text).with_context(|| format!("cannot write {}", args.out.display()))?;
    println!(
        "trained on {} engines ({} cycles) in {:.1} s: {} trees, window {}, cap {}; {} written ({:.1} MiB)",
        engines.len(),
        engines.iter().map(|e| e.cycles.len()).sum::<usize>(),
        trained.as_secs_f64(),
        config.trees,
        config.window,
        config.cap,
        args.out.display(),
        text.len() as f64 / 1_048_576.0
    );
    Ok(ExitCode::SUCCESS)
}

/// `evaluate-rul --model`: each test engine's estimate at its last cycle against its truth.
pub fn evaluate(model: &Path, test: &[EngineRun], truth: &[f64], verbose: bool) -> anyhow::Result<ExitCode> {
    let text = super::maintenance::read(model)?;
    let forest = RulForest::from_json(&text).with_context(|| format!("{} is not a model file", model.display()))?;
    if test.len() != truth.len() {
        bail!("{} test engines but {} truth values", test.len(), truth.len());
    }
    if verbose {
        println!("unit,cycles,estimate,truth");
    }
    let started = Instant::now();
    let (mut squares, mut score) = (0.0, 0.0);
    for (engine, truth) in test.iter().zip(truth) {
        let estimate = forest.estimate(&engine.cycles, engine.cycles.len())?;
        if verbose {
            println!("{},{},{estimate:.1},{truth}", engine.unit, engine.cycles.len());
        }
        squares += (estimate - truth).powi(2);
        score += phm08_score(estimate, *truth);
    }
    let per_engine = started.elapsed().as_secs_f64() * 1e6 / test.len().max(1) as f64;
    println!("model {} (window {}, cap {})", model.display(), forest.config().window, forest.config().cap);
    println!("test engines: {} ({per_engine:.0} µs per estimate)", test.len());
    println!("RMSE: {:.2}", (squares / test.len().max(1) as f64).sqrt());
    println!("PHM08 score: {score:.1}");
    Ok(ExitCode::SUCCESS)
}

//! `optibid maintenance`: the real binary on generated series and engine histories.

mod common;

use common::{optibid, stderr, stdout};

#[test]
fn detect_writes_nab_scores_and_flags_the_spike() {
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = dir.path().join("series.csv");
    let mut text = String::from("timestamp,value\n");
    for hour in 0..600 {
        let daily = ((hour % 24) as f64 / 24.0 * std::f64::consts::TAU).sin() * 3.0;
        let value = if hour == 500 { 120.0 } else { 70.0 + daily + (hour * 7 % 5) as f64 * 0.1 };
        text.push_str(&format!("2024-01-{:02} {:02}:00:00,{value}\n", 1 + hour / 24, hour % 24));
    }
    std::fs::write(&csv, text).expect("written");
    let output = optibid(&["maintenance", "detect", "--csv", &csv.to_string_lossy()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let lines: Vec<String> = stdout(&output).lines().map(str::to_owned).collect();
    assert_eq!(lines[0], "timestamp,value,anomaly_score");
    assert_eq!(lines.len(), 601);
    let score = |line: &str| line.rsplit(',').next().and_then(|s| s.parse::<f64>().ok()).expect("a score");
    assert!(score(&lines[501]) > 0.9, "the spike: {}", lines[501]);
    assert!(lines[1..].iter().all(|l| (0.0..=1.0).contains(&score(l))));
    assert!(lines[100..500].iter().all(|l| score(l) < 0.5), "quiet before the spike");

    let windows = dir.path().join("combined_windows.json");
    let combined = serde_json::json!({
        "artificialWithAnomaly/aaa_first.csv": [["2024-01-02 00:00:00.000000", "2024-01-03 00:00:00.000000"]],
        "realKnownCause/series.csv": [["2024-01-21 12:00:00.000000", "2024-01-21 23:00:00.000000"]],
    });
    std::fs::write(&windows, combined.to_string()).expect("written");
    let with_windows = |extra: &[&str]| {
        let mut args = vec![
            "maintenance",
            "detect",
            "--csv",
            csv.to_str().expect("UTF-8"),
            "--windows",
            windows.to_str().expect("UTF-8"),
        ];
        args.extend_from_slice(extra);
        optibid(&args)
    };
    let output = with_windows(&[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let summary = stderr(&output);
    assert!(
        summary.contains("window 2024-01-21 12:00:00 .. 2024-01-21 23:00:00: first alarm at 2024-01-21 20:00:00"),
        "the CSV's own series, not the first: {summary}"
    );
    let output = with_windows(&["--series", "artificialWithAnomaly/aaa_first.csv"]);
    assert!(stderr(&output).contains("window 2024-01-02 00:00:00 .. 2024-01-03 00:00:00"), "{}", stderr(&output));
    let output = with_windows(&["--series", "realKnownCause/other.csv"]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("no series \"realKnownCause/other.csv\""), "{}", stderr(&output));

    std::fs::write(&csv, "timestamp,value\n2024-01-01 00:00:00,warm\n").expect("written");
    let output = optibid(&["maintenance", "detect", "--csv", &csv.to_string_lossy()]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("line 2"), "{}", stderr(&output));
}

#[test]
fn split_and_evaluate_rul_on_generated_engines() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut text = String::new();
    for unit in 1..=30u32 {
        let life = 150 + (unit as usize * 37) % 120;
        for cycle in 1..=life {
            let wear = (cycle as f64 - (life as f64 - 125.0)).max(0.0);
            let mut row = format!("{unit} {cycle} 0.0 0.0 100.0");
            for sensor in 0..21 {
                let value = match sensor {
                    0 => 518.67,
                    1 => 642.0 + 0.01 * wear + ((cycle * 13 + unit as usize) % 7) as f64 * 0.02,
                    2 => 1590.0 + 0.05 * wear + ((cycle * 11) % 5) as f64 * 0.1,
                    _ => 10.0 + sensor as f64 + ((cycle * sensor) % 3) as f64 * 0.01,
                };
                row.push_str(&format!(" {value}"));
            }
            text.push_str(&row);
            text.push('\n');
        }
    }
    let input = dir.path().join("train.txt");
    std::fs::write(&input, text).expect("written");
    let out = dir.path().join("split");
    let output = optibid(&[
        "maintenance",
        "split-cmapss",
        "--input",
        &input.to_string_lossy(),
        "--holdout",
        "6",
        "--out",
        &out.to_string_lossy(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("engines 1..24"), "{}", stdout(&output));
    let truth = std::fs::read_to_string(out.join("truth.txt")).expect("truth");
    assert_eq!(truth.lines().count(), 6);
    assert!(truth.lines().all(|l| (5..=145).contains(&l.parse::<usize>().expect("a count"))));

    let path = |name: &str| out.join(name).to_string_lossy().into_owned();
    let output = optibid(&[
        "maintenance",
        "evaluate-rul",
        "--train",
        &path("train.txt"),
        "--test",
        &path("test.txt"),
        "--truth",
        &path("truth.txt"),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let report = stdout(&output);
    let rmse: f64 =
        report.lines().find_map(|l| l.strip_prefix("RMSE: ")).and_then(|v| v.parse().ok()).expect("an RMSE line");
    assert!(rmse < 25.0, "a clean wear signal is followed: {report}");
    assert!(report.contains("PHM08 score: "), "{report}");

    let model = dir.path().join("model.json");
    let output = optibid(&[
        "maintenance",
        "train-rul",
        "--train",
        &path("train.txt"),
        "--out",
        &model.to_string_lossy(),
        "--trees",
        "30",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("trained on 24 engines"), "{}", stdout(&output));
    let with_model = |model: &std::path::Path| {
        optibid(&[
            "maintenance",
            "evaluate-rul",
            "--model",
            &model.to_string_lossy(),
            "--test",
            &path("test.txt"),
            "--truth",
            &path("truth.txt"),
        ])
    };
    let output = with_model(&model);
    assert!(output.status.success(), "{}", stderr(&output));
    let forest: f64 = stdout(&output)
        .lines()
        .find_map(|l| l.strip_prefix("RMSE: "))
        .and_then(|v| v.parse().ok())
        .expect("an RMSE line");
    assert!(forest < 25.0, "the forest follows the wear signal too: {}", stdout(&output));
    let future = dir.path().join("future.json");
    let text = std::fs::read_to_string(&model).expect("the model file");
    std::fs::write(&future, text.replacen("\"version\":1", "\"version\":2", 1)).expect("written");
    let output = with_model(&future);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("version 2"), "names the version it cannot read: {}", stderr(&output));

    let official = dir.path().join("RUL_FD001.txt");
    std::fs::write(&official, format!("RUL\n{truth}")).expect("written");
    let output = optibid(&[
        "maintenance",
        "evaluate-rul",
        "--train",
        &path("train.txt"),
        "--test",
        &path("test.txt"),
        "--truth",
        &official.to_string_lossy(),
    ]);
    assert!(output.status.success(), "the official truth file's `RUL` header: {}", stderr(&output));
    assert_eq!(stdout(&output), report, "the header changes nothing else");

    let output = optibid(&[
        "maintenance",
        "evaluate-rul",
        "--train",
        &path("train.txt"),
        "--test",
        &path("test.txt"),
        "--truth",
        &path("train.txt"),
    ]);
    assert!(!output.status.success(), "a train file is no truth file");
}

/// A results CSV of 100 hourly rows from 2024-03-01, alarming (score 1) at `alarms`.
fn results_csv(alarms: &[usize]) -> String {
    let mut text = String::from("timestamp,value,anomaly_score,label\n");
    for row in 0..100 {
        let score = if alarms.contains(&row) { 1.0 } else { 0.0 };
        text.push_str(&format!("2024-03-{:02} {:02}:00:00,{row}.5,{score},0\n", 1 + row / 24, row % 24));
    }
    text
}

#[test]
fn score_nab_scores_a_corpus_with_one_threshold_and_normalises_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let results = dir.path().join("results");
    std::fs::create_dir_all(results.join("realKnownCause")).expect("folders");
    std::fs::write(results.join("realKnownCause/mydetector_hit.csv"), results_csv(&[40])).expect("written");
    std::fs::write(results.join("realKnownCause/mydetector_miss.csv"), results_csv(&[])).expect("written");
    let window = ["2024-03-02 16:00:00.000000", "2024-03-03 01:00:00.000000"];
    let windows = dir.path().join("combined_windows.json");
    let labels = serde_json::json!({ "realKnownCause/hit.csv": [window], "realKnownCause/miss.csv": [window] });
    std::fs::write(&windows, labels.to_string()).expect("written");
    let score = |extra: &[&str]| {
        let mut args = vec!["maintenance", "score-nab", "--results", results.to_str().expect("UTF-8")];
        args.extend(["--windows", windows.to_str().expect("UTF-8")]);
        args.extend_from_slice(extra);
        optibid(&args)
    };
    let output = score(&["--profile", "all", "--per-series"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let report = stdout(&output);
    assert!(report.contains("2 series, 200 rows"), "{report}");
    assert!(
        report.contains(
            "standard: score 50.00 (raw 0.000, threshold 1.000000; 1 of 2 windows detected, 0 false positives)"
        ),
        "a perfect hit and a miss: {report}"
    );
    assert!(
        report.contains("realKnownCause/hit.csv: 1.000") && report.contains("realKnownCause/miss.csv: -1.000"),
        "{report}"
    );
    assert!(report.contains("reward_low_FN_rate: score 50.00 (raw -1.000"), "a miss costs 2: {report}");

    let extra = serde_json::json!({ "realKnownCause/hit.csv": [window], "realKnownCause/absent.csv": [window] });
    std::fs::write(&windows, extra.to_string()).expect("written");
    let output = score(&[]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("1 of 2 series have no results") && stderr(&output).contains("absent.csv"),
        "{}",
        stderr(&output)
    );
    let output = score(&["--skip-missing"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("standard: score 100.00"), "{}", stdout(&output));
}

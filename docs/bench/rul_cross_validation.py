"""Cross-validation by engine of the remaining-useful-life estimators on a C-MAPSS training file:
five folds of a fifth of the engines; each fold's engines are renumbered to come last, held out
and cut before failure by `optibid maintenance split-cmapss`, the others train; the random forest
(`train-rul`, extra arguments passed on) and the built-in estimator (`evaluate-rul --train`) are
scored on the same engines.

    python3 docs/bench/rul_cross_validation.py ../shared/data/cmapss/train_FD001.txt [--trees N ...]
"""

import math
import re
import subprocess
import sys
import tempfile
from pathlib import Path

OPTIBID = str(Path(__file__).resolve().parents[2] / "target" / "release" / "optibid")


def run(*args):
    return subprocess.run([OPTIBID, "maintenance", *args], check=True, capture_output=True, text=True).stdout


def figures(report):
    rmse = float(re.search(r"RMSE: ([\d.]+)", report).group(1))
    return rmse, float(re.search(r"PHM08 score: ([\d.]+)", report).group(1))


def main():
    source, extra = sys.argv[1], sys.argv[2:]
    rows = [line.split() for line in open(source) if line.strip() and line.split()[0].isdigit()]
    units = sorted({int(row[0]) for row in rows})
    fold_size = len(units) // 5
    results = {"forest": [], "built-in": []}
    with tempfile.TemporaryDirectory() as work:
        for fold in range(5):
            held = units[fold * fold_size:(fold + 1) * fold_size]
            order = [u for u in units if u not in held] + held
            number = {unit: n + 1 for n, unit in enumerate(order)}
            renumbered = sorted((number[int(r[0])], int(r[1]), " ".join([str(number[int(r[0])])] + r[1:])) for r in rows)
            folder = Path(work) / f"fold{fold}"
            folder.mkdir()
            (folder / "all.txt").write_text("\n".join(r[2] for r in renumbered) + "\n")
            run("split-cmapss", "--input", str(folder / "all.txt"), "--holdout", str(len(held)),
                "--out", str(folder), "--seed", str(2008 + fold))
            run("train-rul", "--train", str(folder / "train.txt"), "--out", str(folder / "model.json"), *extra)
            test = ["--test", str(folder / "test.txt"), "--truth", str(folder / "truth.txt")]
            results["forest"].append(figures(run("evaluate-rul", "--model", str(folder / "model.json"), *test)))
            results["built-in"].append(figures(run("evaluate-rul", "--train", str(folder / "train.txt"), *test)))
    for name, folds in results.items():
        pooled = math.sqrt(sum(rmse ** 2 for rmse, _ in folds) / len(folds))
        print(f"{name}: RMSE per fold {[round(rmse, 2) for rmse, _ in folds]}, pooled {pooled:.2f}, "
              f"PHM08 sum {sum(score for _, score in folds):.0f}")


main()

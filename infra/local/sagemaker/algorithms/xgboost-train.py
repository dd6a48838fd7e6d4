"""Native XGBoost for the local SageMaker emulator (run by xgboost.ts with /usr/bin/python3 -u).

`train` follows SageMaker's built-in XGBoost 1.7-1 contract: CSV channels with the label in the
first column and no header, string hyperparameters, the model saved in XGBoost's binary format as
`xgboost-model` (as the 1.7-1 container does) plus `xgboost-model.json` for inspection, and one
`[round]<TAB>train-metric:...<TAB>validation-metric:...` line per round on stdout.
`predict` scores a label-less CSV with a saved model, so tests can compare against XGBoost itself.
Errors are reported on stderr as one `xgboost-train: <message>` line and exit status 1.
"""

import argparse
import csv
import json
import math
import os
import sys

import numpy as np
import xgboost as xgb

# Hyperparameters the SageMaker container consumes itself rather than passing to XGBoost.
CONTAINER_ONLY = {
    "num_round",
    "early_stopping_rounds",
    "eval_metric",
    "csv_weights",
    "save_model_on_termination",
    "_kfold",
    "_num_cv_round",
    "_tuning_objective_metric",
}


class InputError(Exception):
    """A problem with the job's data or hyperparameters, reported without a traceback."""


def parse_cell(cell, where):
    text = cell.strip()
    if text == "":
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise InputError(f"{where}: could not convert {text!r} to a number") from None


def read_csv_files(paths, with_label):
    rows = []
    width = None
    for path in paths:
        with open(path, newline="") as f:
            for line_no, record in enumerate(csv.reader(f), start=1):
                # A blank line separates nothing; a line of empty cells is a row of missing values.
                if not record or (len(record) == 1 and record[0].strip() == ""):
                    continue
                where = f"{os.path.basename(path)} line {line_no}"
                if width is None:
                    width = len(record)
                elif len(record) != width:
                    raise InputError(f"{where}: {len(record)} columns, expected {width} like the first row")
                rows.append([parse_cell(c, where) for c in record])
    if not rows:
        raise InputError("no data rows found")
    data = np.asarray(rows, dtype=np.float32)
    if not with_label:
        return data, None
    labels = data[:, 0]
    if np.isnan(labels).any():
        raise InputError("the first column (label) has missing values")
    return data[:, 1:], labels


def channel_files(directory):
    files = []
    for root, dirs, names in os.walk(directory):
        dirs.sort()
        files.extend(os.path.join(root, n) for n in sorted(names) if not n.startswith("."))
    if not files:
        raise InputError(f"channel folder {directory} has no files")
    return files


def load_channel(directory):
    features, labels = read_csv_files(channel_files(directory), with_label=True)
    return xgb.DMatrix(features, label=labels, missing=np.nan, nthread=1)


def train(args):
    hyperparameters = json.loads(args.hyperparameters)
    if "num_round" not in hyperparameters:
        raise InputError("missing required hyperparameter num_round")
    try:
        num_round = int(hyperparameters["num_round"])
    except ValueError:
        raise InputError(f"num_round must be an integer, got {hyperparameters['num_round']!r}") from None
    params = {k: v for k, v in hyperparameters.items() if k not in CONTAINER_ONLY}
    params.setdefault("nthread", "1")
    if hyperparameters.get("eval_metric"):
        params["eval_metric"] = [m.strip() for m in hyperparameters["eval_metric"].split(",") if m.strip()]

    dtrain = load_channel(args.train)
    evals = [(dtrain, "train")]
    if args.validation:
        dvalidation = load_channel(args.validation)
        if dvalidation.num_col() != dtrain.num_col():
            raise InputError(
                f"validation has {dvalidation.num_col()} feature columns, train has {dtrain.num_col()}"
            )
        evals.append((dvalidation, "validation"))

    early_stopping = hyperparameters.get("early_stopping_rounds")
    if early_stopping and not args.validation:
        raise InputError("early_stopping_rounds needs a validation channel")
    history = {}
    booster = xgb.train(
        params,
        dtrain,
        num_boost_round=num_round,
        evals=evals,
        evals_result=history,
        early_stopping_rounds=int(early_stopping) if early_stopping else None,
        verbose_eval=True,
    )
    last = num_round - 1
    if early_stopping:
        # Keep only the trees up to the best round, so every consumer of xgboost-model (this
        # emulator's scorer, XGBoost's plain predict) scores what SageMaker's serving scores.
        last = booster.best_iteration
        booster = booster[: last + 1]
    os.makedirs(args.model_dir, exist_ok=True)
    booster.save_model(os.path.join(args.model_dir, "xgboost-model"))
    booster.save_model(os.path.join(args.model_dir, "xgboost-model.json"))

    metrics = {}
    for data_name, by_metric in history.items():
        for metric, values in by_metric.items():
            # NaN (AUC of a one-class set) has no JSON form; the log line still shows it.
            if math.isfinite(values[last]):
                metrics[f"{data_name}:{metric}"] = float(values[last])
    with open(args.metrics, "w") as f:
        json.dump(
            {"engine": "native", "xgboostVersion": xgb.__version__, "rounds": last + 1, "metrics": metrics},
            f,
        )


def predict(args):
    features, _ = read_csv_files([args.data], with_label=False)
    booster = xgb.Booster(model_file=args.model, params={"nthread": 1})
    scores = booster.predict(xgb.DMatrix(features, missing=np.nan, nthread=1))
    with open(args.out, "w") as f:
        # repr of the float32 widened to a double reads back exactly.
        f.write("\n".join(repr(float(s)) for s in scores))
        f.write("\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    t = commands.add_parser("train")
    t.add_argument("--train", required=True)
    t.add_argument("--validation")
    t.add_argument("--model-dir", required=True)
    t.add_argument("--metrics", required=True)
    t.add_argument("--hyperparameters", required=True, help="JSON object of string values")
    p = commands.add_parser("predict")
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True, help="CSV of feature rows without label")
    p.add_argument("--out", required=True)
    args = parser.parse_args()
    try:
        if args.command == "train":
            train(args)
        else:
            predict(args)
    except (InputError, xgb.core.XGBoostError, ValueError, OSError) as e:
        first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"xgboost-train: {first_line}", file=sys.stderr, flush=True)
        sys.exit(1)


if __name__ == "__main__":
    main()

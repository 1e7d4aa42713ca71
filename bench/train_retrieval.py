"""Does `ragbot train` make retrieval better on questions it never saw? (issue 13)

Every setting trains on a private copy of an indexed data dir (the index itself is never
changed: only a query encoder is added), then scores the shipped questions with `ragbot eval`
before (the document encoder) and after (the trained query encoder, activated for the
measurement whatever the held-out check decided; the JSON says what it decided).

Settings:
  corpus       pseudo-queries only; the shipped questions are never seen
  methods      corpus only, one pseudo-query method at a time (how much each helps)
  qa           train on half of the shipped questions (--qa), test on the other half, and swap
  feedback     replay half of the questions as chat questions (👍 when the answer cites an
               expected page, 👎 otherwise), train on corpus + feedback, test on the other half

  .venv/bin/python bench/train_retrieval.py --data /tmp/pydocs/data --config samples/python-docs.toml \\
      --questions samples/eval-python-docs.jsonl --work /tmp/pydocs/bench --settings corpus qa feedback methods
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
METHODS = ("heading", "first_sentence", "identifier")


def cli(*args: str, config: Path, timeout: float = 3600) -> dict:
    """Run `ragbot --config CONFIG ...` and return its one JSON object."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(f"ragbot {' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["_wall_s"] = round(time.monotonic() - started, 1)
    return result


def make_config(base_config: Path, data: Path, target: Path, training: str) -> Path:
    """The benchmark's config: the sources of ``base_config``, data_dir = ``data``, a [training] section."""
    text = base_config.read_text(encoding="utf-8")
    text = re.sub(r"^\[training\][^\[]*", "", text, flags=re.M)  # the benchmark's own [training] replaces it
    text = re.sub(r"^data_dir\s*=.*$", f'data_dir = "{data}"', text, flags=re.M)
    if "data_dir" not in text:
        text = f'data_dir = "{data}"\n' + text
    target.write_text(text + "\n[training]\n" + training, encoding="utf-8")
    return target


def halves(questions: Path, work: Path) -> list[Path]:
    """Odd and even lines: two halves with the same mix of answerable and unanswerable questions."""
    lines = [line for line in questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    paths = []
    for k in (0, 1):
        path = work / f"half-{k}.jsonl"
        path.write_text("\n".join(lines[k::2]) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def copy_data(source: Path, target: Path) -> Path:
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("models"))
    models = source / "models"
    if models.is_dir():  # keep cached model files (int8, Gemma), never trained encoders
        shutil.copytree(models, target / "models", ignore=shutil.ignore_patterns("query-*", "active.json"))
    return target


def replay_feedback(config: Path, questions: Path) -> dict:
    """Ask each question as a chat user would and vote: 👍 if the answer cites an expected page."""
    code = f"""
import json, sys
from bot.app.settings import load_settings
from bot.app.build import build_core
settings = load_settings({str(config)!r})
up = down = 0
with build_core(settings) as app:
    state = app.chat_state()
    for i, line in enumerate(open({str(questions)!r}, encoding="utf-8")):
        if not line.strip():
            continue
        case = json.loads(line)
        answer = app.core.ask(case["question"])
        urls = [c.url for c in answer.citations]
        state.remember_answer("bench", f"m{{i}}", case["question"], answer.text, urls)
        cited = {{urls[n - 1].split("#")[0] for n in answer.cited() if 0 < n <= len(urls)}}
        good = answer.answered and bool(cited & set(case.get("expected_urls", [])))
        state.vote("bench", f"m{{i}}", "U1", "up" if good else "down")
        up += good
        down += not good
print(json.dumps({{"up": up, "down": down}}))
"""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env, timeout=3600)
    if done.returncode != 0:
        raise SystemExit(f"feedback replay failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def trained_eval(config: Path, report: dict, questions: Path) -> dict:
    """Eval with the run's encoder live (activated for the measurement if the check kept it off)."""
    if not report["activated"]:
        cli("train", "--activate", report["model"].split("-")[1], "--json", config=config)
    return evaluate(config, {"test": questions})["test"]


def evaluate(config: Path, files: dict[str, Path]) -> dict[str, dict]:
    """`ragbot eval`'s figures for each file, from one process that asks every question once."""
    code = f"""
import json
from pathlib import Path
from bot.app.settings import load_settings
from bot.app.build import build_core
from bot.evaluation import evaluate, load_cases, summarise
files = {{name: load_cases(Path(path)) for name, path in {json.dumps({k: str(v) for k, v in files.items()})}.items()}}
unique = list({{case.question: case for cases in files.values() for case in cases}}.values())
with build_core(load_settings({str(config)!r})) as app:
    results = {{r.case.question: r for r in evaluate(app.core, unique)}}
print(json.dumps({{name: summarise([results[c.question] for c in cases]) for name, cases in files.items()}}))
"""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env, timeout=7200)
    if done.returncode != 0:
        raise SystemExit(f"eval failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="an indexed data dir (copied, never written)")
    parser.add_argument("--config", type=Path, required=True, help="the config that indexed it (its sources)")
    parser.add_argument("--questions", type=Path, required=True, help="the shipped questions (eval JSONL)")
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--settings", nargs="+", default=["corpus", "qa", "feedback"])
    parser.add_argument("--max-minutes", type=float, default=14)
    parser.add_argument("--training", default="threads = 1\n", help="extra [training] lines")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    results = args.work / "results.jsonl"
    first_half, second_half = halves(args.questions, args.work)
    pristine = make_config(args.config, args.data, args.work / "pristine.toml", args.training)

    def record(row: dict) -> None:
        with results.open("a", encoding="utf-8") as out:
            out.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)

    done = [json.loads(line) for line in results.read_text().splitlines()] if results.exists() else []
    base = next((row["eval"] for row in done if row["setting"] == "base"), None)
    if base is None:
        base = evaluate(pristine, {"all": args.questions, "half-0": first_half, "half-1": second_half})
        record({"setting": "base", "eval": base})
    finished = {(row["setting"], row.get("test")) for row in done}

    def run(
        name: str, test: Path, test_name: str, train_args: list[str], training: str = "", feedback: Path | None = None
    ) -> None:
        if (name, test_name) in finished:
            return
        data = copy_data(args.data, args.work / f"data-{name}")
        config = make_config(args.config, data, args.work / f"{name}.toml", args.training + training)
        votes = replay_feedback(config, feedback) if feedback else None
        try:
            report = cli("train", *train_args, "--max-minutes", str(args.max_minutes), "--json", config=config)
        except RuntimeError as exc:  # e.g. a method that makes no pairs on this corpus
            record({"setting": name, "test": test_name, "error": str(exc)[-300:]})
            shutil.rmtree(data)
            return
        meta = json.loads((data / "models" / report["model"] / "meta.json").read_text())
        after = trained_eval(config, report, test)
        record(
            {
                "setting": name,
                "test": test_name,
                "train": report,
                "votes": votes,
                "methods": meta["methods"],
                "steps": meta["steps"],
                "planned_steps": meta["planned_steps"],
                "train_seconds": meta["train_seconds"],
                "prepare_seconds": meta["prepare_seconds"],
                "eval_seconds": meta["eval_seconds"],
                "examples_seconds": meta.get("examples_seconds"),
                "before": base[test_name],
                "after": after,
            }
        )
        shutil.rmtree(data)

    if "corpus" in args.settings:
        run("corpus", args.questions, "all", ["--no-feedback"])
    halves_named = ((first_half, second_half, "half-1"), (second_half, first_half, "half-0"))
    if "qa" in args.settings:
        for k, (train_half, test_half, test_name) in enumerate(halves_named):
            run(f"qa-fold{k}", test_half, test_name, ["--no-feedback", "--qa", str(train_half)])
    if "feedback" in args.settings:
        for k, (train_half, test_half, test_name) in enumerate(halves_named):
            run(f"feedback-fold{k}", test_half, test_name, [], feedback=train_half)
    if "methods" in args.settings:
        for method in METHODS:
            run(f"method-{method}", args.questions, "all", ["--no-feedback"], f'corpus_methods = ["{method}"]\n')


if __name__ == "__main__":
    main()

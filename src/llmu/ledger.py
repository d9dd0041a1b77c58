"""The results ledger and the execution status of a build, generated from the lessons' ``metrics.json``.

The ledger puts the key numbers each lesson measured in this build beside the published numbers
the course compares them with; the status table says what ran where, how long it took and with
which library versions. Both are rendered as MyST Markdown pages by the book build
(``tools/build_book.py``) and printed by ``python -m llmu ledger``. No number of ours is
written here: only which metrics to show and the published references (with their BibTeX keys).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from llmu.lesson import RESERVED_KEYS

__all__ = [
    "LEDGER",
    "Entry",
    "LessonRecord",
    "Reference",
    "format_value",
    "load_records",
    "render_ledger",
    "render_status",
]


@dataclass(frozen=True)
class Reference:
    """A published number: what was reported, in which setting, by which work (a BibTeX key)."""

    value: str
    setting: str
    source: str


@dataclass(frozen=True)
class Entry:
    """One row of the ledger: a key of the lesson's ``metrics.json`` and what it means."""

    key: str
    label: str
    reference: Reference | None = None


_DESAI = "desai2020calibration"
_LARSON = "larson2019evaluation"
_SANH = "sanh2019distilbert"

# Lesson -> the numbers its ledger section shows, in order. A lesson not listed shows every
# scalar number of its metrics.json.
LEDGER: dict[str, tuple[Entry, ...]] = {
    "00_setup": (
        Entry("backbone_parameters", "parameters of the quick backbone with a 2-class head"),
        Entry("inference_sentences_per_s", "inference throughput, sentences/s"),
    ),
    "01_sources_of_uncertainty": (
        Entry("seed_disagreement_rate", "dev examples on which differently seeded models disagree"),
        Entry("label_noise_rate", "fraction of training labels flipped"),
        Entry("acc_clean", "accuracy, clean labels"),
        Entry("acc_label_noise", "accuracy, noisy labels"),
        Entry("acc_in_domain", "accuracy in domain (SST-2 dev)"),
        Entry("acc_shifted", "accuracy under shift (Amazon books and DVD)"),
        Entry("ece_in_domain", "ECE in domain",
              Reference("0.02–0.03", "BERT and RoBERTa fine-tuned, in domain", _DESAI)),
        Entry("ece_shifted", "ECE under shift",
              Reference("higher than in domain", "BERT and RoBERTa, out of domain", _DESAI)),
        Entry("in_scope_mean_max_prob", "mean max-softmax probability, in-scope queries"),
        Entry("oos_mean_max_prob", "mean max-softmax probability, out-of-scope queries"),
    ),
    "02_calibration": (
        Entry("accuracy", "accuracy (SST-2 dev)"),
        Entry("ece_before", "ECE before temperature scaling",
              Reference("0.02–0.03", "BERT and RoBERTa fine-tuned, in domain", _DESAI)),
        Entry("ece_after", "ECE after temperature scaling",
              Reference("several-fold lower than before", "temperature scaling, image and text classifiers",
                        "guo2017calibration")),
        Entry("temperature", "fitted temperature T"),
        Entry("nll_before", "NLL before temperature scaling"),
        Entry("nll_after", "NLL after temperature scaling"),
        Entry("conformal_coverage", "split-conformal (LAC) coverage at α = 0.1",
              Reference("≥ 0.90", "the finite-sample guarantee of split conformal prediction",
                        "vovk2005algorithmic")),
        Entry("conformal_mean_set_size", "mean prediction-set size"),
        Entry("aurc", "area under the risk-coverage curve"),
    ),
    "03_estimating_uncertainty": (
        Entry("acc_single", "in-scope accuracy, single model",
              Reference("≈ 0.96", "BERT, all 150 CLINC150 intents", _LARSON)),
        Entry("nll_single", "NLL, single model"),
        Entry("nll_mc_dropout", "NLL, MC dropout"),
        Entry("nll_ensemble", "NLL, deep ensemble"),
        Entry("ece_single", "ECE, single model"),
        Entry("ece_ensemble", "ECE, deep ensemble"),
        Entry("auroc_msp", "out-of-scope AUROC, max-softmax probability"),
        Entry("auroc_entropy", "out-of-scope AUROC, predictive entropy"),
        Entry("auroc_mutual_info", "out-of-scope AUROC, mutual information"),
        Entry("fpr95_msp", "FPR at 95% TPR, max-softmax probability"),
        Entry("oos_recall", "out-of-scope recall at the threshold",
              Reference("0.40–0.52", "BERT, threshold on the max probability, CLINC150", _LARSON)),
        Entry("mc_samples", "MC-dropout samples K"),
        Entry("ensemble_size", "ensemble members M"),
    ),
    "04_distillation": (
        Entry("teacher_params", "teacher parameters"),
        Entry("student_params", "student parameters",
              Reference("0.6 × the teacher (40% smaller)", "DistilBERT from BERT-base", _SANH)),
        Entry("speedup", "student inference speed-up over the teacher",
              Reference("1.6", "DistilBERT vs BERT-base, CPU inference", _SANH)),
        Entry("teacher_accuracy", "teacher accuracy"),
        Entry("student_accuracy", "distilled student accuracy",
              Reference("≈ 97% of the teacher's score", "DistilBERT on GLUE", _SANH)),
        Entry("control_accuracy", "student trained on hard labels only"),
        Entry("teacher_ece", "teacher ECE"),
        Entry("student_ece", "distilled student ECE"),
        Entry("temperature", "distillation temperature T"),
        Entry("alpha", "weight α of the soft-target loss"),
    ),
    "05_augmentation": (
        Entry("sizes", "training-set sizes"),
        Entry("acc_baseline", "accuracy without augmentation, per size"),
        Entry("acc_augmented", "accuracy with EDA, per size"),
        Entry("acc_gain_smallest", "accuracy gain at the smallest size",
              Reference("largest below ~500 examples", "EDA on five text-classification tasks",
                        "wei2019eda")),
        Entry("ece_baseline_smallest", "ECE without augmentation, smallest size"),
        Entry("ece_augmented_smallest", "ECE with EDA, smallest size"),
        Entry("n_seeds", "seeds per configuration"),
    ),
    "06_adversarial_training": (
        Entry("clean_acc_standard", "clean accuracy, standard training"),
        Entry("clean_acc_adversarial", "clean accuracy, adversarial training",
              Reference("GLUE score 78.3 → 79.4", "BERT-base, standard → FreeLB training", "zhu2020freelb")),
        Entry("robust_acc_standard", "robust accuracy, standard training"),
        Entry("robust_acc_adversarial", "robust accuracy, adversarial training"),
        Entry("attack_success_standard", "attack success rate, standard training"),
        Entry("attack_success_adversarial", "attack success rate, adversarial training"),
        Entry("train_time_ratio", "training time, adversarial / standard"),
    ),
    "08_ner_case_study": (
        Entry("f1_val", "entity F1, CoNLL-2003 validation"),
        Entry("f1_test", "entity F1, CoNLL-2003 test",
              Reference("0.924; ≈ 0.91 at sentence level", "BERT-base (cased), with document context",
                        "devlin2019bert")),
        Entry("precision_test", "entity precision, test"),
        Entry("recall_test", "entity recall, test"),
        Entry("token_accuracy_test", "token accuracy, test"),
        Entry("entity_ece_before", "entity ECE, validation (cross-fitted by document), before temperature scaling"),
        Entry("entity_ece_after", "entity ECE, validation (cross-fitted by document), after temperature scaling"),
        Entry("entity_ece_floor", "entity ECE a perfectly calibrated model would show on the same entities"),
        Entry("entity_ece_test_before", "entity ECE, test, before temperature scaling"),
        Entry("entity_ece_test_after", "entity ECE, test, after temperature scaling"),
        Entry("f1_wnut", "entity F1 on WNUT-17 test (types mapped)"),
        Entry("entity_ece_wnut", "entity-confidence ECE on WNUT-17"),
        Entry("precision_at_80_coverage", "precision of the 80% most confident entities"),
        Entry("precision_full_coverage", "precision of all predicted entities"),
    ),
}


@dataclass(frozen=True)
class LessonRecord:
    """What a build knows of one lesson: its title, its metrics and whether its execution passed."""

    name: str
    title: str
    metrics: Mapping[str, object]
    passed: bool


def format_value(value: object) -> str:
    """The ledger's rendering of a number (or a list of numbers): integers whole with thousands
    separators; floats to 3 decimals below 10, to 1 decimal below 1000, whole above."""
    if isinstance(value, bool) or value is None:
        raise TypeError(f"the ledger shows numbers, got {value!r}")
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.1f}" if abs(value) >= 10 else f"{value:.3f}"
    if isinstance(value, Sequence) and not isinstance(value, str):
        return ", ".join(format_value(v) for v in value)
    raise TypeError(f"the ledger shows numbers or lists of numbers, got {value!r}")


def _notebook_title(path: Path) -> str:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") == "markdown":
            for line in "".join(cell.get("source", [])).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    raise ValueError(f"{path}: the lesson has no '# title' line in a markdown cell")


def load_records(lesson_names: Sequence[str], executed_dir: Path, artifacts_dir: Path) -> list[LessonRecord]:
    """Every lesson's record in this build, from ``executed_dir/NAME.ipynb`` and ``artifacts_dir/NAME/metrics.json``.

    A lesson passed when papermill finished it without an exception and it wrote its metrics.
    """
    records = []
    for name in lesson_names:
        executed = executed_dir / f"{name}.ipynb"
        metrics_path = artifacts_dir / name / "metrics.json"
        if not executed.is_file():
            raise FileNotFoundError(f"{executed} is missing: execute the lesson first (make book)")
        run = json.loads(executed.read_text(encoding="utf-8")).get("metadata", {}).get("papermill", {})
        metrics = json.loads(metrics_path.read_text(encoding="utf-8")) if metrics_path.is_file() else {}
        passed = bool(run.get("end_time")) and not run.get("exception") and metrics.get("lesson") == name
        records.append(LessonRecord(name, _notebook_title(executed), metrics, passed))
    return records


def _entries(record: LessonRecord) -> tuple[Entry, ...]:
    if record.name in LEDGER:
        missing = [e.key for e in LEDGER[record.name] if e.key not in record.metrics]
        if missing:
            raise KeyError(f"{record.name}/metrics.json lacks {missing}, which the ledger shows (llmu.ledger.LEDGER)")
        return LEDGER[record.name]
    return tuple(
        Entry(key, key.replace("_", " "))
        for key, value in record.metrics.items()
        if key not in RESERVED_KEYS and isinstance(value, (int, float)) and not isinstance(value, bool)
    )


def _run_line(metrics: Mapping[str, object]) -> str:
    return (f"profile `{metrics['profile']}` · device `{metrics['device']}` · seed {metrics['seed']} · "
            f"run time {float(metrics['runtime_s']):.1f} s")


def render_ledger(records: Sequence[LessonRecord]) -> str:
    """The ledger page (MyST Markdown): per lesson, this build's numbers beside the published ones."""
    lines = [
        "# Results ledger",
        "",
        "Every number in the column *this build* was read from the `metrics.json` that the lesson wrote",
        "when this book was built; the page is generated, nothing in it is typed by hand. Beside it",
        "stands the published number the lesson compares itself with, where one exists, and its source.",
        "The book is built with the `quick` profile (small subsets, a small offline backbone, a CPU):",
        "expect its numbers to fall short of the published ones, which the `full` profile targets.",
        "The lessons explain each gap.",
        "",
    ]
    for record in records:
        lines += [f"## {{doc}}`{record.title} </lessons/{record.name}>`", ""]
        if not record.passed:
            lines += ["```{error}", "This lesson failed in this build; it has no numbers.", "```", ""]
            continue
        lines += [_run_line(record.metrics), "", "| quantity | this build | published | setting | source |",
                  "|---|---|---|---|---|"]
        for entry in _entries(record):
            ref = entry.reference
            published = (ref.value, ref.setting, f"{{cite:t}}`{ref.source}`") if ref else ("", "", "")
            lines.append(f"| {entry.label} | {format_value(record.metrics[entry.key])} | " + " | ".join(published) + " |")
        lines.append("")
    lines += ["## References", "", "```{bibliography}", ":filter: docname in docnames", "```", ""]
    return "\n".join(lines)


def render_status(records: Sequence[LessonRecord]) -> str:
    """The execution-status page: per lesson its profile, device, seed, run time and result; library versions."""
    lines = [
        "# Execution status",
        "",
        "Every lesson of this book was executed once, from top to bottom, by papermill while the book",
        "was built; the pages show the outputs of those runs. This table is generated from the runs",
        "themselves. Each lesson must finish its `quick` profile within 180 s on 2 CPU cores.",
        "",
        "| lesson | profile | device | seed | run time (s) | result |",
        "|---|---|---|---|---|---|",
    ]
    versions: dict[str, dict[str, str]] = {}
    for record in records:
        m = record.metrics
        cells = [str(m.get("profile", "")), f"`{m['device']}`" if "device" in m else "", str(m.get("seed", "")),
                 f"{float(m['runtime_s']):.1f}" if "runtime_s" in m else ""]
        result = "passed" if record.passed else "**failed**"
        lines.append(f"| {{doc}}`{record.name} </lessons/{record.name}>` | " + " | ".join(cells) + f" | {result} |")
        for package, version in dict(m.get("versions", {})).items():
            versions.setdefault(package, {})[record.name] = str(version)
    lines += ["", "## Library versions", "", "| package | version |", "|---|---|"]
    for package, per_lesson in versions.items():
        distinct = sorted(set(per_lesson.values()))
        lines.append(f"| {package} | {', '.join(distinct)} |")
    lines.append("")
    return "\n".join(lines)

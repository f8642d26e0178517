"""The sentiment head: hidden states in shards, a head trained on them, and the service labelling with it."""

import json

import numpy as np
import pytest

from contentgen.tasks.sentiment.head import Head, find_head, head_dir_name
from contentgen.inputs import write_jsonl
from contentgen.usecases.sentiment import HEAD_ID
from finetune.features import extract, load_features
from finetune.sentiment_head import LABELS, NEUTRAL_RECALL_FLOOR, fit, fit_temperature, report
from finetune.sentiment_ngrams import combine, head_alone, train_scorers

TEXTS = {"positive": ["物流很快，好评", "质量很好，非常满意"], "neutral": ["今天到货了", "这款车下个月上市"],
         "negative": ["太差了，退货", "客服不理人，差评"]}


def rows():
    return [{"id": f"{label}-{i}", "text": text, "label": label, "source": "mix"}
            for label, texts in TEXTS.items() for i, text in enumerate(texts)]


def neutral_head(hidden: int, neutral_bias: float = 5.0) -> Head:
    """A head that answers neutral whatever it reads: the wiring, not accuracy, is under test."""
    return Head(LABELS, np.zeros((3, hidden), np.float32), np.array([0.0, neutral_bias, 0.0], np.float32),
                np.zeros(hidden, np.float32), np.ones(hidden, np.float32))


REVIEWS = {"positive": ["物流很快，好评", "质量很好，非常满意", "很满意，好评", "服务热情，满意"],
           "negative": ["太差了，退货", "客服不理人，差评", "质量太差，差评", "很失望，退货"]}


def scorer_and_reviews():
    texts = [t for label in REVIEWS for t in REVIEWS[label]]
    labels = [label for label in REVIEWS for _ in REVIEWS[label]]
    return train_scorers(texts, labels, (10.0,))[10.0], texts, labels


def test_features_are_written_in_shards_and_an_interrupted_run_carries_on(tiny_engine, tmp_path, monkeypatch):
    out = tmp_path / "features"
    extract(tiny_engine, rows(), out, shard_rows=4)
    ids, features = load_features(out)
    assert ids == [r["id"] for r in rows()] and features.shape == (6, tiny_engine._net.config.hidden_size)
    (out / "shard_00001.npz").unlink()  # as if the run stopped there
    calls = []
    original = tiny_engine.hidden_states
    monkeypatch.setattr(tiny_engine, "hidden_states", lambda conversations, adapter=None: calls.append(len(conversations))
                        or original(conversations, adapter))
    extract(tiny_engine, rows(), out, shard_rows=4)
    assert calls == [2]  # only the missing shard
    again_ids, again = load_features(out)
    assert again_ids == ids
    np.testing.assert_allclose(again, features, atol=1e-2)


def test_a_head_learns_separable_features_and_its_temperature_calibrates():
    generator = np.random.default_rng(0)
    centres = generator.normal(size=(3, 16))
    y = np.repeat(np.arange(3), 100)
    x, held = ((centres[y] + 1.5 * generator.normal(size=(300, 16))).astype(np.float32) for _ in range(2))
    weight, bias = fit(x, y, decay=1e-2)
    head = Head(LABELS, weight, bias, np.zeros(16, np.float32), np.ones(16, np.float32))
    held_rows = [{"label": LABELS[i], "source": "s"} for i in y]
    assert report(head, held_rows, held)["accuracy"] > 85
    logits = held @ weight.T + bias
    # Overconfident logits (x10) are brought back: the fitted temperature grows with them.
    assert fit_temperature(logits * 10, y) == pytest.approx(10 * fit_temperature(logits, y), rel=0.1)


def test_a_head_saved_in_the_adapter_folder_is_found_and_loads_the_same(tmp_path, monkeypatch):
    from contentgen.config import ModelConfig

    config = ModelConfig(name_or_path=str(tmp_path / "my-model"), cache_dir=str(tmp_path / "cache"))
    assert find_head(config, "sentiment") is None
    path = tmp_path / "cache" / "adapters" / "my-model" / head_dir_name("sentiment")
    head = neutral_head(8)
    head.temperature = 2.0
    head.save(path)
    assert find_head(config, "sentiment") == path
    loaded = Head.load(path)
    x = np.random.default_rng(1).normal(size=(4, 8)).astype(np.float32)
    np.testing.assert_allclose(loaded.probabilities(x), head.probabilities(x), atol=1e-6)
    assert loaded.labels == LABELS and loaded.temperature == 2.0


def test_the_service_labels_with_the_head_and_records_it(service, store, tiny_engine, monkeypatch):
    monkeypatch.setattr(tiny_engine, "heads", {"sentiment": neutral_head(tiny_engine._net.config.hidden_size)})
    result = service.sentiment.tag(["东西还行吧，一般般，物流很快"])[0]
    assert result.label == "neutral" and result.adapter_id == HEAD_ID
    assert abs(sum(result.scores.values()) - 1) < 1e-5 and result.confidence == max(result.scores.values())
    assert result.aspects and all(a["label"] == "neutral" for a in result.aspects)  # 物流's clause too
    record = store.history.get(result.request_id)
    assert record.params["method"] == "head" and record.adapter_id == HEAD_ID
    # A named adapter (here: the base model) is label scoring, as before.
    plain = service.sentiment.tag(["东西还行吧"], adapter="none")[0]
    assert store.history.get(plain.request_id).params["method"] == "label_scoring" and plain.adapter_id is None


@pytest.mark.parametrize(("loss", "labeller"), [("label_words", "adapter"), ("answer", "head"), (None, "head")])
def test_a_sentiment_adapter_trained_on_the_label_words_labels_in_place_of_the_head(
        service, tiny_engine, monkeypatch, tmp_path, loss, labeller):
    adapter = tmp_path / "sentiment"
    adapter.mkdir()
    (adapter / "train_state.json").write_text(json.dumps({"step": 5, "max_steps": 5, **({"loss": loss} if loss else {})}))
    head = neutral_head(tiny_engine._net.config.hidden_size)
    monkeypatch.setattr(tiny_engine, "heads", {"sentiment": head})
    monkeypatch.setattr(tiny_engine, "adapters", {"sentiment": adapter})
    assert service.sentiment.labeller() == ((None, "sentiment") if labeller == "adapter" else (head, None))
    assert service.sentiment.labeller("none") == (None, None)  # named: label scoring on what was named


@pytest.mark.parametrize("named", [False, True])
def test_eval_counts_with_the_head_like_the_service(app_env, capsys, tmp_path, tiny_engine, named):
    from contentgen.cli import main

    data = tmp_path / "three.jsonl"
    write_jsonl(data, rows())
    head_path = tmp_path / "head"
    neutral_head(tiny_engine._net.config.hidden_size).save(head_path)
    arguments = ["eval", "--task", "sentiment", "--data", str(data), "--json"]
    code = main(arguments + (["--head-path", str(head_path)] if named else ["--adapter", "none"]))
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["head"] is named
    if named:  # every answer neutral: two of six right
        assert result["neutral_share"] == 1.0 and result["accuracy"] == round(100 * 2 / 6, 2)


def test_the_ngram_scorer_scores_as_scikit_learn_does_and_leans_the_right_way(tmp_path):
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
    from sklearn.linear_model import LogisticRegression

    scorer, texts, labels = scorer_and_reviews()
    # The same pipeline, dense and unpruned: the sparse storage and the unseen buckets' idf change nothing.
    vectorizer = HashingVectorizer(analyzer="char", ngram_range=scorer.ngram_range, n_features=scorer.n_features,
                                   alternate_sign=False, norm=None)
    tfidf = TfidfTransformer(sublinear_tf=True).fit(vectorizer.transform(texts))
    model = LogisticRegression(C=10.0, solver="liblinear", max_iter=3000)
    model.fit(tfidf.transform(vectorizer.transform(texts)), [label == "positive" for label in labels])
    unseen = ["物流太慢了，差评", "今天到货了，还没用", "非常满意！五星好评"]
    expected = model.decision_function(tfidf.transform(vectorizer.transform(unseen)))
    np.testing.assert_allclose(scorer.log_odds(unseen), expected, rtol=1e-5, atol=1e-6)
    assert scorer.log_odds(["好评，满意"])[0] > 0 > scorer.log_odds(["差评，退货"])[0]
    # Saved with a head and loaded again, it gives the same probabilities.
    head = Head(LABELS, np.zeros((3, 4), np.float32), np.zeros(3, np.float32), np.zeros(4, np.float32),
                np.ones(4, np.float32), ngrams=scorer, ngram_weight=2.0)
    head.save(tmp_path / "head")
    loaded = Head.load(tmp_path / "head")
    x = np.zeros((3, 4), np.float32)
    np.testing.assert_allclose(loaded.probabilities(x, unseen), head.probabilities(x, unseen), atol=1e-6)
    # Without the texts the scorer is left out, and the head alone answers (all three equal here).
    np.testing.assert_allclose(loaded.probabilities(x), np.full((3, 3), 1 / 3), atol=1e-6)


def toy_dev(neutral_rows=(("今天到货了", 1.0), ("这款车下个月上市", 1.0))):
    """The toy reviews (feature 0) and neutral rows with the given feature, as dev rows; and the scorer."""
    scorer, texts, labels = scorer_and_reviews()
    dev_rows = [{"id": str(i), "text": t, "label": label, "source": "s"} for i, (t, label) in enumerate(
        [*zip(texts, labels), *((t, "neutral") for t, _ in neutral_rows)])]
    x = np.array([[0.0]] * len(texts) + [[v] for _, v in neutral_rows], np.float32)
    return scorer, dev_rows, x


def blind_head(**kwargs) -> Head:
    """A head that cannot tell positive from negative, but knows neutral by its feature (above 0.5)."""
    return Head(LABELS, np.array([[0.0], [8.0], [0.0]], np.float32), np.array([0.0, -4.0, 0.0], np.float32),
                np.zeros(1, np.float32), np.ones(1, np.float32), **kwargs)


def test_the_weight_is_chosen_on_dev_and_a_second_run_starts_from_the_head_alone():
    scorer, dev_rows, x = toy_dev()
    head = blind_head(temperature=1.5, info={"task": "sentiment"})
    assert report(head, dev_rows, x)["accuracy"] < 80
    combined, choice = combine(head, scorer, dev_rows, x)
    assert choice["chosen"]["weight"] > 0 and choice["chosen"]["recall_neutral"] == 100
    assert report(combined, dev_rows, x, [r["text"] for r in dev_rows])["accuracy"] == 100
    combined.info = {**head.info, "neutral_shift": choice["chosen"]["neutral_shift"], "head_temperature": 1.5}
    again = head_alone(combined)
    assert again.ngrams is None and again.temperature == 1.5 and again.info == head.info
    np.testing.assert_allclose(again.bias, head.bias, atol=1e-6)


def test_neutral_takes_only_the_shift_its_floor_needs():
    # Three of four neutral rows sit just under the head's neutral threshold: a shift is needed, and a
    # larger one would not be taken even where it scores as well.
    scorer, dev_rows, x = toy_dev((("今天到货了", 1.0), ("这款车下个月上市", 0.45), ("门店周一开门", 0.45), ("快递明天送", 0.45)))
    head = blind_head(info={"task": "sentiment"})
    _, choice = combine(head, scorer, dev_rows, x)
    chosen, trials = choice["chosen"], choice["trials"]
    assert chosen["neutral_shift"] > 0 and chosen["recall_neutral"] >= NEUTRAL_RECALL_FLOOR
    same_weight = [t for t in trials if t["weight"] == chosen["weight"]]
    assert same_weight[-1] == chosen  # no larger shift was tried for this weight
    assert all(t["recall_neutral"] < NEUTRAL_RECALL_FLOOR for t in same_weight[:-1])


def test_keep_scorer_rechooses_the_weight_without_training_again(tmp_path, monkeypatch):
    import sys

    from finetune import sentiment_ngrams

    scorer, dev_rows, x = toy_dev()
    write_jsonl(tmp_path / "sets" / "dev.jsonl", dev_rows)
    (tmp_path / "features" / "dev").mkdir(parents=True)
    np.savez(tmp_path / "features" / "dev" / "shard_00000.npz", ids=np.array([r["id"] for r in dev_rows]), features=x)
    # Only neutral rows to train on: training a scorer here would fail, so passing means it was kept.
    write_jsonl(tmp_path / "train.jsonl", [{"text": "今天到货了", "label": "neutral"}])
    write_jsonl(tmp_path / "dev.jsonl", dev_rows[:-2])  # the binary dev file beside it
    head = blind_head(ngrams=scorer, ngram_weight=4.0, info={"task": "sentiment", "ngram_strength": 10.0,
                                                              "ngram_train_rows": 8, "neutral_shift": 0.0,
                                                              "head_temperature": 1.0})
    head.save(tmp_path / "head")
    saved = Head.load(tmp_path / "head").ngrams.coef
    monkeypatch.setattr(sys, "argv", ["sentiment_ngrams", "--train", str(tmp_path / "train.jsonl"), "--sets",
                                      str(tmp_path / "sets"), "--features", str(tmp_path / "features"),
                                      "--head", str(tmp_path / "head"), "--no-test", "--keep-scorer"])
    sentiment_ngrams.main()
    again = Head.load(tmp_path / "head")
    np.testing.assert_array_equal(again.ngrams.coef, saved)
    assert again.ngram_weight < 4.0 and again.info["ngram_strength"] == 10.0 and again.info["ngram_train_rows"] == 8
    assert report(again, dev_rows, x, [r["text"] for r in dev_rows])["accuracy"] == 100


def test_the_service_hands_the_texts_to_the_heads_scorer(service, tiny_engine, monkeypatch):
    scorer, _, _ = scorer_and_reviews()
    head = neutral_head(tiny_engine._net.config.hidden_size, neutral_bias=1.0)
    head.ngrams, head.ngram_weight = scorer, 50.0
    monkeypatch.setattr(tiny_engine, "heads", {"sentiment": head})
    labels = [r.label for r in service.sentiment.tag(["非常满意，好评", "太差了，差评退货"], with_aspects=False)]
    assert labels == ["positive", "negative"]

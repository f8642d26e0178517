"""The sentiment head: hidden states in shards, a head trained on them, and the service labelling with it."""

import json

import numpy as np
import pytest

from contentgen.heads import Head, find_head, head_dir_name
from contentgen.service import HEAD_ID
from finetune.features import extract, load_features
from finetune.sentiment_head import LABELS, fit, fit_temperature, report

TEXTS = {"positive": ["物流很快，好评", "质量很好，非常满意"], "neutral": ["今天到货了", "这款车下个月上市"],
         "negative": ["太差了，退货", "客服不理人，差评"]}


def rows():
    return [{"id": f"{label}-{i}", "text": text, "label": label, "source": "mix"}
            for label, texts in TEXTS.items() for i, text in enumerate(texts)]


def neutral_head(hidden: int, neutral_bias: float = 5.0) -> Head:
    """A head that answers neutral whatever it reads: the wiring, not accuracy, is under test."""
    return Head(LABELS, np.zeros((3, hidden), np.float32), np.array([0.0, neutral_bias, 0.0], np.float32),
                np.zeros(hidden, np.float32), np.ones(hidden, np.float32))


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
    result = service.tag(["东西还行吧，一般般，物流很快"])[0]
    assert result.label == "neutral" and result.adapter_id == HEAD_ID
    assert abs(sum(result.scores.values()) - 1) < 1e-5 and result.confidence == max(result.scores.values())
    assert result.aspects and all(a["label"] == "neutral" for a in result.aspects)  # 物流's clause too
    record = store.history.get(result.request_id)
    assert record.params["method"] == "head" and record.adapter_id == HEAD_ID
    # A named adapter (here: the base model) is label scoring, as before.
    plain = service.tag(["东西还行吧"], adapter="none")[0]
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
    assert service.sentiment_labeller() == ((None, "sentiment") if labeller == "adapter" else (head, None))
    assert service.sentiment_labeller("none") == (None, None)  # named: label scoring on what was named


@pytest.mark.parametrize("named", [False, True])
def test_eval_counts_with_the_head_like_the_service(app_env, capsys, tmp_path, tiny_engine, named):
    from contentgen.cli import main

    data = tmp_path / "three.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows()), encoding="utf-8")
    head_path = tmp_path / "head"
    neutral_head(tiny_engine._net.config.hidden_size).save(head_path)
    arguments = ["eval", "--task", "sentiment", "--data", str(data), "--json"]
    code = main(arguments + (["--head-path", str(head_path)] if named else ["--adapter", "none"]))
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["head"] is named
    if named:  # every answer neutral: two of six right
        assert result["neutral_share"] == 1.0 and result["accuracy"] == round(100 * 2 / 6, 2)

"""The OpenAI-compatible routes through the official `openai` client, against uvicorn on loopback.

The server runs the llama.cpp engine on the tiny GGUF with one LoRA adapter, so a client sees
the base model and the adapter as two models."""

from __future__ import annotations

import dataclasses

import openai
import pytest

from contentgen.usecases.accounts import AccountStore, ApiKeyStore
from contentgen.api import create_app
from contentgen.config import DatabaseConfig, GenerationParams, ModelConfig, load_settings
from tests.servers import serve_in_thread

MESSAGES = [{"role": "system", "content": "你是助手。"}, {"role": "user", "content": "写一句保温杯的文案"}]


@pytest.fixture(scope="module")
def served(tiny_model_dir, tmp_path_factory):
    """(base URL, key, engine, settings) for a server with one marketer and an adapter loaded."""
    from transformers import AutoTokenizer

    from contentgen.engine.llamacpp_engine import LlamaCppEngine
    from db.database import Database
    from tests.test_llamacpp_engine import _random_adapter
    from tests.tiny_model import write_tiny_gguf

    folder = tmp_path_factory.mktemp("openai")
    engine = LlamaCppEngine(write_tiny_gguf(tiny_model_dir, folder), AutoTokenizer.from_pretrained(str(tiny_model_dir)),
                            "tiny-qwen2", batch_size=4, cache_dir=folder)
    engine.load_adapter("house-style", _random_adapter(tiny_model_dir, folder / "house-style", seed=5))
    db_url = f"sqlite:///{folder / 'history.db'}"
    store = Database(db_url)
    AccountStore(store).add("小王", "password123", "marketing")
    key = ApiKeyStore(store).create("小王")
    settings = dataclasses.replace(load_settings(), database=DatabaseConfig(url=db_url),
                                   model=ModelConfig(name_or_path=str(tiny_model_dir), cache_dir=folder))
    url, stop = serve_in_thread(create_app(settings, engine=engine, rate_limit=10_000))
    yield f"{url}/v1", key, engine, store
    stop()


def greedy(engine, adapter=None, max_tokens=24) -> str:  # noqa: ANN001
    params = GenerationParams(max_new_tokens=max_tokens, do_sample=False, top_k=0, repetition_penalty=1.0,
                              no_repeat_ngram_size=0)
    return engine.generate([MESSAGES], params, adapter)[0].text


def test_models_lists_the_base_model_and_each_adapter(served):
    url, key, _engine, _store = served
    ids = [m.id for m in openai.OpenAI(base_url=url, api_key=key).models.list()]
    assert ids == ["tiny-qwen2", "tiny-qwen2:house-style"]


def test_a_chat_completion_is_the_engine_answer_and_lands_in_history(served):
    url, key, engine, store = served
    client = openai.OpenAI(base_url=url, api_key=key)
    answer = client.chat.completions.create(model="tiny-qwen2", messages=MESSAGES, temperature=0, max_tokens=24)
    assert answer.choices[0].message.content == greedy(engine)
    assert answer.choices[0].finish_reason in ("stop", "length")
    assert answer.usage.completion_tokens > 0 and answer.usage.prompt_tokens > 10
    tuned = client.chat.completions.create(model="tiny-qwen2:house-style", messages=MESSAGES, temperature=0,
                                           max_tokens=24)
    assert tuned.choices[0].message.content == greedy(engine, "house-style") != answer.choices[0].message.content
    rows = store.history.search(user_name="小王", task="chat")
    assert len(rows) >= 2 and {r.adapter_id for r in rows} >= {None, "house-style"}


def test_streaming_deltas_join_to_the_whole_answer(served):
    url, key, engine, _store = served
    client = openai.OpenAI(base_url=url, api_key=key)
    chunks = list(client.chat.completions.create(model="tiny-qwen2:house-style", messages=MESSAGES,
                                                 temperature=0, max_tokens=24, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text.strip() == greedy(engine, "house-style")
    whole = client.chat.completions.create(model="tiny-qwen2:house-style", messages=MESSAGES, temperature=0,
                                           max_tokens=24)
    # The stream ends as the non-streamed answer does: "length" when max_tokens cut it.
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == whole.choices[0].finish_reason


def test_a_stream_cut_by_max_tokens_says_length(served):
    url, key, _engine, _store = served
    client = openai.OpenAI(base_url=url, api_key=key)
    chunks = list(client.chat.completions.create(model="tiny-qwen2", messages=MESSAGES, temperature=0,
                                                 max_tokens=3, stream=True))
    whole = client.chat.completions.create(model="tiny-qwen2", messages=MESSAGES, temperature=0, max_tokens=3)
    assert whole.choices[0].finish_reason == "length"  # the tiny random model never ends within 3 tokens
    assert chunks[-1].choices[0].finish_reason == "length"


def test_stop_strings_cut_the_answer_streamed_or_not(served):
    url, key, engine, _store = served
    client = openai.OpenAI(base_url=url, api_key=key)
    whole = greedy(engine)
    stop = whole[len(whole) // 2 : len(whole) // 2 + 2]
    expected = whole[: whole.index(stop)]
    answer = client.chat.completions.create(model="tiny-qwen2", messages=MESSAGES, temperature=0, max_tokens=24,
                                            stop=[stop])
    assert answer.choices[0].message.content == expected and answer.choices[0].finish_reason == "stop"
    streamed = client.chat.completions.create(model="tiny-qwen2", messages=MESSAGES, temperature=0, max_tokens=24,
                                              stop=stop, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in streamed) == expected


def test_errors_reach_the_client_in_chinese(served):
    url, key, _engine, _store = served
    with pytest.raises(openai.AuthenticationError, match="API Key"):
        openai.OpenAI(base_url=url, api_key="wrong").models.list()
    client = openai.OpenAI(base_url=url, api_key=key)
    with pytest.raises(openai.BadRequestError, match="没有模型"):
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    with pytest.raises(openai.BadRequestError, match="user 消息"):
        client.chat.completions.create(model="tiny-qwen2", messages=[{"role": "system", "content": "只有系统"}])
    with pytest.raises(openai.UnprocessableEntityError, match="请求格式不正确"):
        client.chat.completions.create(model="tiny-qwen2", messages=MESSAGES, max_tokens=100_000)


def test_n_choices_list_content_parts_and_max_completion_tokens(served):
    """Surfaces a client uses that no test had reached: several choices, content as a list of parts
    (what newer clients send), and max_completion_tokens in place of max_tokens."""
    url, key, engine, _store = served
    client = openai.OpenAI(base_url=url, api_key=key)
    two = client.chat.completions.create(model="tiny-qwen2", messages=MESSAGES, n=2, max_tokens=8)
    assert [c.index for c in two.choices] == [0, 1] and all(c.message.content for c in two.choices)
    parts = [MESSAGES[0], {"role": "user", "content": [{"type": "text", "text": "写一句保温杯"},
                                                       {"type": "text", "text": "的文案"}]}]
    joined = client.chat.completions.create(model="tiny-qwen2", messages=parts, temperature=0, max_tokens=24)
    assert joined.choices[0].message.content == greedy(engine)  # the parts are the one message, joined
    capped = client.chat.completions.create(model="tiny-qwen2", messages=MESSAGES, temperature=0,
                                            max_completion_tokens=3)
    assert capped.usage.completion_tokens <= 3 and capped.choices[0].finish_reason == "length"

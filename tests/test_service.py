import pytest

from contentgen.config import GenerationParams
from contentgen.errors import UserFacingError
from contentgen.tasks import CopyRequest, ReplyRequest, get_task
from contentgen.tasks.copy.task import format_attributes
from contentgen.tasks.rewrite.task import RewriteRequest

SHORT = GenerationParams(max_new_tokens=12, do_sample=False, no_repeat_ngram_size=0)


def test_copy_records_request_and_every_variant(service, store):
    request = CopyRequest(product="便携榨汁杯", points=("USB充电", "一键清洗"), platform="小红书", n=3)
    result = service.generate("copy", request, GenerationParams(max_new_tokens=12, seed=7))
    assert len(result.outputs) == 3 and all(result.outputs)
    row = store.history.get(result.request_id)
    assert row.task == "copy" and row.user_name == "测试员" and row.source == "test"
    assert row.inputs["product"] == "便携榨汁杯" and row.inputs["points"] == ["USB充电", "一键清洗"]
    assert [r.text for r in row.results] == result.outputs
    assert row.params["max_new_tokens"] == 12 and row.latency_ms > 0
    assert row.model_id == service.engine.model_id


def test_variants_are_sampled_even_when_defaults_are_greedy(service, store):
    rewrite = service.generate("rewrite", RewriteRequest(text="全网最好的羽绒服"))  # one greedy candidate
    assert store.history.get(rewrite.request_id).params["do_sample"] is False
    copies = service.generate("copy", CopyRequest(product="羽绒服", n=2), SHORT)
    assert store.history.get(copies.request_id).params["do_sample"] is True
    # A reply is the best of three candidates: sampled even when the caller asks for greedy settings.
    reply = service.generate("reply", ReplyRequest(message="快递到哪了"), GenerationParams(max_new_tokens=8, do_sample=False))
    assert store.history.get(reply.request_id).params["do_sample"] is True


def test_stream_records_when_finished(service, store):
    stream = service.stream("reply", ReplyRequest(message="我的快递三天了还没到", order="圆通，已发货"), SHORT)
    text = "".join(piece for _, piece in stream)
    row = store.history.get(stream.request_id)
    assert row.status == "ok" and row.results[0].text == text.strip()
    assert row.inputs["order"] == "圆通，已发货"


def test_stream_closed_early_keeps_partial_output_as_cancelled(service, store):
    # A one-candidate task streams as it decodes (a reply picks among three and comes whole).
    stream = service.stream("rewrite", RewriteRequest(text="全网最好的羽绒服，什么时候发货都行"),
                            GenerationParams(max_new_tokens=200, do_sample=False))
    iterator = iter(stream)
    _, first = next(iterator)
    iterator.close()
    row = store.history.get(stream.request_id)
    assert row.status == "cancelled"
    assert row.results[0].text.startswith(first.strip())


def test_copy_stream_returns_the_best_checked_versions_whole(service, store):
    """Copy samples more candidates than versions; the stream gives the chosen ones, as stored."""
    request = CopyRequest(product="羽绒服", points=("90%白鸭绒",), platform="小红书", n=2)
    assert get_task("copy").candidate_count(request) > 2
    stream = service.stream("copy", request, GenerationParams(max_new_tokens=40))
    pieces = list(stream)
    assert [index for index, _ in pieces] == [0, 1]
    result = stream.result()
    assert [text for _, text in pieces] == result.outputs
    assert [r.text for r in store.history.get(result.request_id).results] == result.outputs
    assert len(result.compliance) == 2 and len(result.parts) == 2
    assert all(p["title"] and 2 <= len(p["tags"]) <= 4 for p in result.parts)  # the 小红书 frame, completed


def test_tag_scores_labels_and_records_each_text(service, store):
    results = service.sentiment.tag(["物流很快，好评！", "太差了，再也不买了"])
    assert [r.text for r in results] == ["物流很快，好评！", "太差了，再也不买了"]
    for r in results:
        assert r.label in {"positive", "neutral", "negative"}
        assert r.confidence == max(r.scores.values())
        row = store.history.get(r.request_id)
        assert row.task == "sentiment" and row.results[0].label == r.label
        assert row.input_text == r.text


@pytest.mark.parametrize(
    "request_, message",
    [
        (CopyRequest(), "至少填写"),
        (CopyRequest(product="杯子", platform="推特"), "不支持的平台"),
        (CopyRequest(product="杯子", n=20), "1 到 8"),
        (CopyRequest(product="杯" * 5000), "超过上限"),
        (ReplyRequest(message="  "), "顾客的消息"),
    ],
)
def test_invalid_requests_get_chinese_errors_and_record_nothing(service, store, request_, message):
    task = "copy" if isinstance(request_, CopyRequest) else "reply"
    with pytest.raises(UserFacingError, match=message):
        service.generate(task, request_)
    assert store.history.search() == []


def test_prompts_carry_the_inputs_in_chinese():
    copy = get_task("copy").conversation(
        CopyRequest(product="羽绒服", points=("轻薄",), attributes="类型#上衣*颜色#白色*颜色#黑色", platform="微博"))
    user = copy[1]["content"]
    assert "羽绒服" in user and "轻薄" in user and "颜色：白色、黑色" in user and "微博" in user
    assert "广告法" in copy[0]["content"]
    reply = get_task("reply").conversation(
        ReplyRequest(message="还没到", context=({"role": "agent", "text": "您好"},), order="单号1"))[1]["content"]
    assert "客服：您好" in reply and "订单信息：单号1" in reply and reply.index("您好") < reply.index("还没到")


def test_format_attributes_skips_malformed_pairs():
    assert format_attributes("类型#裙*无值*#空键*风格#简约") == "类型：裙；风格：简约"


def test_adapter_resolution(service, monkeypatch):
    monkeypatch.setattr(service.engine, "adapters", {"sentiment": "/x", "my-brand": "/y"})
    assert service.resolve_adapter("sentiment") == "sentiment"  # auto: the task's own
    assert service.resolve_adapter("copy") is None  # auto without a copy adapter: base model
    assert service.resolve_adapter("copy", "my-brand") == "my-brand"
    assert service.resolve_adapter("sentiment", "none") is None
    with pytest.raises(UserFacingError, match="未加载"):
        service.resolve_adapter("copy", "missing")


def test_a_copy_adapter_answers_only_the_platforms_it_learned(service, monkeypatch, tmp_path):
    from contentgen.adapters import write_scope
    from contentgen.engine.base import Generation

    write_scope(tmp_path, {"电商详情"})
    monkeypatch.setattr(service.engine, "adapters", {"copy": str(tmp_path)})
    page, social = CopyRequest(product="羽绒服", platform="电商详情"), CopyRequest(product="羽绒服", platform="小红书")
    assert service.resolve_adapter("copy", request=page) == "copy"
    assert service.resolve_adapter("copy", request=social) is None  # left to the base model
    assert service.resolve_adapter("copy", "copy", request=social) == "copy"  # asked for by name
    assert service.resolve_adapter("rewrite") is None  # rewriting is not copy writing

    seen = []

    def fake_generate(conversations, params, adapter=None):
        seen.append((len(conversations), adapter))
        return [Generation("文案", 1, 1, "stop") for _ in conversations]

    monkeypatch.setattr(service.engine, "generate", fake_generate)
    results = service.generate_many("copy", [page, social, page])
    assert [r.adapter_id for r in results] == ["copy", None, "copy"]
    per_request = get_task("copy").candidate_count(page)  # best of several candidates each
    # No facts were given, so no second round starts from them.
    assert sorted(seen, key=str) == sorted([(2 * per_request, "copy"), (per_request, None)], key=str)
    write_scope(tmp_path, None)  # unknown scope (e.g. alpaca rows): every platform
    assert service.resolve_adapter("copy", request=social) == "copy"


@pytest.mark.parametrize("text", ["差评\x00", "好评\ud800"])
def test_unstorable_characters_are_refused_the_same_on_every_database(tiny_engine, any_store, text):
    from contentgen.usecases.service import ContentService

    service = ContentService(tiny_engine, any_store, user_name="u", source="test")
    with pytest.raises(UserFacingError, match="无法保存的字符"):
        service.sentiment.tag([text])
    with pytest.raises(UserFacingError, match="无法保存的字符"):
        service.generate("reply", ReplyRequest(message=text))
    assert any_store.history.search("") == []


def test_control_characters_a_model_writes_are_not_stored(tiny_engine, any_store, monkeypatch):
    """The tiny model wrote a NUL, PostgreSQL refused the row and the answer was lost (bench/reliability.py)."""
    from contentgen.engine.base import Generation
    from contentgen.usecases.service import ContentService

    service = ContentService(tiny_engine, any_store, user_name="u", source="test")
    monkeypatch.setattr(tiny_engine, "generate",
                        lambda conversations, params, adapter=None: [Generation("好\x00文\x01案\n第二行", 3, 5, "stop")
                                                                     for _ in conversations])
    result = service.generate("copy", CopyRequest(product="保温杯"))
    assert result.outputs == ["好文案\n第二行"]
    assert any_store.history.get(result.request_id).results[0].text == "好文案\n第二行"


def test_copy_whose_best_candidate_misses_a_fact_gets_a_second_round_that_starts_from_the_facts(
        service, store, monkeypatch):
    from contentgen.engine.base import Generation

    request = CopyRequest(product="保温杯", points=("12小时保温",), platform="朋友圈")
    first, rest = "保温杯，出门带着很方便，冬天喝口热水暖暖的。", "出门带着，冬天随时喝口热水。"
    calls = []

    def fake_generate(conversations, params, adapter=None):
        calls.append([c[-1] for c in conversations])
        return [Generation(rest if c[-1]["role"] == "assistant" else first, 1, 1, "stop") for c in conversations]

    monkeypatch.setattr(service.engine, "generate", fake_generate)
    result = service.generate("copy", request)
    count = get_task("copy").candidate_count(request)
    assert [len(c) for c in calls] == [count, count]
    assert calls[1][0] == {"role": "assistant", "content": "保温杯，12小时保温。"}
    assert result.outputs == ["保温杯，12小时保温。" + rest] and result.compliance == [[]]
    row = store.history.get(result.request_id)
    assert row.inputs["opening"] == "" and [r.text for r in row.results] == result.outputs  # the user's request

    calls.clear()
    fixed = "保温杯，12小时保温，出门带着，冬天随时喝口热水。"
    monkeypatch.setattr(service.engine, "generate", lambda conversations, params, adapter=None: (
        calls.append(conversations) or [Generation(fixed, 1, 1, "stop") for _ in conversations]))
    assert service.generate("copy", request).outputs == [fixed] and len(calls) == 1  # clean at once: no second round
    assert [r.outputs for r in service.generate_many("copy", [request, request])] == [[fixed], [fixed]]
    # Nothing given to open with: no second round.
    calls.clear()
    monkeypatch.setattr(service.engine, "generate", lambda conversations, params, adapter=None: (
        calls.append(conversations) or [Generation("文案", 1, 1, "stop") for _ in conversations]))
    service.generate("copy", CopyRequest(product="保温杯", platform="朋友圈"))
    assert len(calls) == 1


@pytest.mark.parametrize("platform, start", [
    ("朋友圈", "声悦无线降噪耳机，40dB主动降噪，30小时续航。"),
    ("抖音", "声悦无线降噪耳机来了！40dB主动降噪，30小时续航，"),
    ("小红书", "声悦无线降噪耳机｜40dB主动降噪\n\n40dB主动降噪，30小时续航，"),
])
def test_the_second_round_opening_holds_every_fact(platform, start):
    from contentgen.tasks.copy.task import opening

    assert opening(CopyRequest(product="无线降噪耳机", brand="声悦", points=("40dB主动降噪", "30小时续航"),
                               platform=platform)) == start


def test_a_press_release_opening_puts_date_and_place_in_the_lead():
    from contentgen.tasks.copy.task import opening

    release = CopyRequest(product="智能扫地机器人X1", brand="净途科技", platform="新闻稿",
                          points=("12月1日", "上海", "4000Pa吸力", "激光导航"))
    assert opening(release) == ("净途科技发布智能扫地机器人X1\n\n12月1日，净途科技在上海发布智能扫地机器人X1，"
                                "4000Pa吸力，激光导航。")


@pytest.mark.parametrize("product, headline", [
    ("儿童安全座椅旗舰店", "安途儿童安全座椅旗舰店开业"), ("秋冬新品发布会", "安途举办秋冬新品发布会"),
    ("智能门锁", "安途发布智能门锁"),
])
def test_a_press_release_opening_says_what_happens_to_a_shop_an_event_or_a_product(product, headline):
    from contentgen.tasks.copy.task import opening

    text = opening(CopyRequest(product=product, brand="安途", platform="新闻稿", points=("12月8日", "杭州")))
    assert text.split("\n")[0] == headline and "12月8日" in text and "杭州" in text


@pytest.mark.parametrize("product, headline", [
    ("社区生鲜配送服务", "社区生鲜配送服务正式发布"), ("社区生鲜体验店", "社区生鲜体验店开业"), ("助农直播节", "助农直播节举行"),
])
def test_a_press_release_opening_without_a_brand_neither_loops_the_name_nor_heads_with_a_bare_verb(product, headline):
    """Issue 37's 新闻稿 opened “X发布X” under a headline “发布X”: without a brand the opening wrote both."""
    from contentgen.tasks.copy.brief import Brief
    from contentgen.tasks.copy.checks import verify
    from contentgen.tasks.copy.task import opening

    text = opening(CopyRequest(product=product, platform="新闻稿", points=("11月18日", "成都", "首批20个小区")))
    assert text.split("\n")[0] == headline and text.count(product) == 2  # the headline and the lead, once each
    brief = Brief(product=product, facts=("11月18日", "成都", "首批20个小区"), platform="新闻稿")
    assert not [f for f in verify(brief, text) if f["category"] in ("重复", "格式不符") and f["text"] != "标题"]

"""Every registered task through every face (service, CLI, API, batch) on the tiny model.

Peft-style table test: the task list comes from the registry, so a task added without a
sample here, or missing from a face, fails by name.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from contentgen.cli import build_parser, main
from contentgen.tasks import TASKS, batch_tasks, get_task, with_command
from contentgen.tasks.base import INTEGER, LINES
from contentgen.tasks.title.task import TitleRequest, best_titles, fit_title, tidy_title, title_width
from tests.conftest import REPO
from tests.test_api import api, client  # noqa: F401  (the API server fixture, shared)
from contentgen.usecases.rewrite import compliant_rewrite

# Inputs as a user types them, per task. A new task needs a row here.
SAMPLES: dict[str, dict[str, str]] = {
    "copy": {"product": "保温杯", "points": "316不锈钢,12小时保温", "length": "短"},
    "reply": {"message": "我的快递三天了还没到", "order": "已发货"},
    "sentiment": {"text": "物流很快，包装完好"},
    "title": {"brand": "膳魔师", "product": "保温杯", "points": "316不锈钢,12小时保温,500ml", "n": "3"},
    "rewrite": {"text": "全网最好的保温杯"},
    # The insight report's topics (no face of its own: the service calls it).
    "complaint_summary": {"topic": "物流", "reviews": "太慢了,等了一周"},
    # The OpenAI-compatible face (tests/test_openai_api.py): the client writes the conversation.
    "chat": {"message": "写一句保温杯的文案"},
}
COMMANDS = [t.name for t in with_command()]


def test_every_registered_task_has_a_sample():
    assert set(SAMPLES) == set(TASKS), "add the new task to SAMPLES (and to every face it belongs to)"


def cli_args(task_name: str) -> list[str]:
    task = get_task(task_name)
    args = [task.command]
    for name, value in SAMPLES[task_name].items():
        if task.kind == "classify" and name == "text":
            args += ["--text", value]
        else:
            args += ["--" + name.replace("_", "-"), value]
    return args


def api_body(task_name: str) -> dict:
    task = get_task(task_name)
    body = {}
    for name, value in SAMPLES[task_name].items():
        field = task.field(name)
        if task.kind == "classify" and name == "text":
            body["texts"] = [value]
        elif field.kind == LINES:
            body[name] = value.split(",")
        elif field.kind == INTEGER:
            body[name] = int(value)
        else:
            body[name] = value
    return body


def outputs_of(task_name: str, payload) -> list[str]:  # noqa: ANN001
    if get_task(task_name).kind == "classify":
        return [r["label"] for r in (payload if isinstance(payload, list) else [payload])]
    return payload["outputs"]


@pytest.mark.parametrize("task_name", list(TASKS))
def test_service_runs_and_records(service, store, task_name):
    task = get_task(task_name)
    if task.build_conversation:
        request = task.build_request({"messages": (("user", SAMPLES[task_name]["message"]),)})
    else:
        request = task.request_from_text(SAMPLES[task_name])
    if task.kind == "classify":
        [result] = service.run_many(task_name, [request])
        assert result.label in task.label_words
    elif task_name == "rewrite":  # the copy pages' button
        result = compliant_rewrite(service, SAMPLES[task_name]["text"])
    else:
        result = service.generate(task_name, request)
        assert len(result.outputs) == task.versions(request) and len(result.compliance) == len(result.outputs)
    row = store.history.get(result.request_id)
    assert row.task == task_name and row.results


@pytest.mark.parametrize("task_name", COMMANDS)
def test_cli(app_env, capsys, task_name):
    code = main([*cli_args(task_name), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    outputs = outputs_of(task_name, json.loads(out))
    assert outputs
    code = main(["history", "--json", "--task", task_name])
    history = json.loads(capsys.readouterr()[0])
    assert history and history[0]["task"] == task_name and history[0]["task_title"] == get_task(task_name).title


@pytest.mark.parametrize("task_name", COMMANDS)
def test_api(api, task_name):
    task = get_task(task_name)
    with client(api, "boss") as http:
        response = http.post(f"/v1/{task.command}", json=api_body(task_name))
        assert response.status_code == 200, response.text
        assert outputs_of(task_name, response.json())
        if task.streams:
            streamed = http.post(f"/v1/{task.command}/stream", json=api_body(task_name))
            assert streamed.status_code == 200 and "event: done" in streamed.text
        history = http.get("/v1/history", params={"task": task_name}).json()
        assert history and history[0]["task"] == task_name


@pytest.mark.parametrize("task_name", [t.name for t in batch_tasks()])
def test_batch(app_env, capsys, tmp_path, store, task_name):
    task = get_task(task_name)
    columns = {task.field(name).columns[0]: [value, value] for name, value in SAMPLES[task_name].items()
               if task.field(name).columns}
    source = tmp_path / "rows.csv"
    pd.DataFrame(columns).to_csv(source, index=False, encoding="utf-8-sig")
    out = tmp_path / "out.csv"
    code = main(["batch", str(source), "--task", task_name, "--out", str(out), "--no-progress"])
    _, err = capsys.readouterr()
    assert code == 0, err
    result = pd.read_csv(out, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(result.columns[-len(task.result_columns) - 2:-2]) == list(task.result_columns)
    assert (result["处理状态"] == "完成").all() and result[task.result_columns[0]].str.len().gt(0).all()
    assert all(store.history.get(int(i)).task == task_name for i in result["历史记录编号"])


@pytest.mark.parametrize("task_name", list(TASKS))
def test_faces_know_the_task(tiny_engine, db_url, task_name):
    """The CLI has its sub-command, the API its route, the UI its page, the roles name it."""
    from contentgen.usecases.accounts import ROLE_TASKS
    from contentgen.api import create_app
    from contentgen.config import DatabaseConfig, Settings
    from ui.state import ROLE_PAGES, all_pages

    task = get_task(task_name)
    commands = next(a for a in build_parser()._actions if a.dest == "command").choices
    routes = {route.path for route in create_app(Settings(database=DatabaseConfig(url=db_url)),
                                                 engine=tiny_engine).routes}
    if task.command:
        assert task.command in commands and f"/v1/{task.command}" in routes
        assert (f"/v1/{task.command}/stream" in routes) == task.streams
    if task.page:
        assert (REPO / "ui" / "views" / f"{task.page}.py").is_file()
        assert task.page in {name for name, _, _ in all_pages()}
        assert all(task.page in ROLE_PAGES[role] for role in task.roles)
    assert task.roles and all(task_name in ROLE_TASKS[role] for role in task.roles)


# ------------------------------------------------------------------ titles

def test_title_width_counts_latin_as_half():
    assert title_width("保温杯") == 3 and title_width("500ml") == 2.5 and title_width("A 杯") == 2


def test_a_title_keeps_brand_and_product_and_fits_the_limit():
    request = TitleRequest(brand="膳魔师", product="保温杯", platform="淘宝")
    assert tidy_title(request, "1. “不锈钢大容量，真空保温”\n2. 另一个") == "膳魔师 不锈钢大容量 真空保温 保温杯"
    long = fit_title("膳魔师保温杯316不锈钢真空保温12小时大容量户外便携学生上班族办公室男女通用礼盒装",
                     "膳魔师", "保温杯", 30)
    assert title_width(long) <= 30 and long.startswith("膳魔师保温杯")
    # A title whose brand and product alone pass the limit is refused in Chinese, not cut.
    with pytest.raises(Exception, match="品牌词和商品词合计"):
        TitleRequest(brand="品" * 20, product="商" * 20).validate()


def test_best_titles_prefer_passing_distinct_ones():
    request = TitleRequest(product="杯", n=2)
    texts = ["杯 一", "杯 一", "杯 二", "杯 三"]
    findings = [[], [], [{"category": "x"}], []]
    assert best_titles(request, texts, findings) == [0, 3]
    # Among passing titles, the one that invents least wins over a longer embellished one
    # (the embedded model offered "12小时快速加热" for a vacuum flask).
    request = TitleRequest(brand="膳魔师", product="保温杯", points=("316不锈钢", "12小时保温", "500ml"), n=1)
    texts = ["膳魔师保温杯 12小时快速加热 500ml不锈钢 安心享受生活", "膳魔师保温杯 316不锈钢 12小时保温 500ml"]
    assert best_titles(request, texts, [[], []]) == [1]


def test_title_findings_name_what_is_wrong(service):
    request = TitleRequest(brand="膳魔师", product="保温杯", max_chars=8)
    prepared = service.prepare(get_task("title"), request)
    found = get_task("title").check(prepared, "全网最好的保温杯礼盒装")
    categories = {f["category"] for f in found}
    assert "超出字数" in categories and "缺少品牌词" in categories and len(found) >= 3  # + 广告法 全网/最好
    # A Latin word the input did not give (the model turned "APP控制" into "Android控制") is flagged.
    request = TitleRequest(brand="小米", product="扫地机器人", points=("APP控制", "4000Pa吸力"))
    prepared = service.prepare(get_task("title"), request)
    found = get_task("title").check(prepared, "小米扫地机器人 4000Pa吸力 Android控制 app")
    assert [f["text"] for f in found] == ["Android"]


def test_title_pairs_from_bio_tags(tmp_path):
    from contentgen.training.data import example_from_row
    from finetune.title_pairs import read_bio, title_pair

    bio = tmp_path / "t.txt"
    chars = [("膳", "B-HPPX"), ("魔", "I-HPPX"), ("师", "I-HPPX"), ("真", "O"), ("空", "O"),
             ("保", "B-HCCX"), ("温", "I-HCCX"), ("杯", "I-HCCX"), ("5", "O"), ("0", "O"), ("0", "O"), ("m", "O"),
             ("l", "O")]
    bio.write_text("\n".join(f"{c} {t}" for c, t in chars) + "\n\n", encoding="utf-8")
    [title] = list(read_bio(bio))
    pair = title_pair(title)
    assert pair["brand"] == "膳魔师" and pair["product"] == "保温杯" and pair["title"] == "膳魔师真空保温杯500ml"
    assert "500ml" in pair["points"].split(",")
    example = example_from_row(pair, "title")
    assert example.answer == pair["title"] and "膳魔师" in example.conversation[1]["content"]


def test_batch_copy_with_a_brand_records_it_on_every_row(app_env, capsys, tmp_path, store):
    store.brands.save("第一坊", tone="专业可信", banned_words=["全网"])
    source = tmp_path / "products.csv"
    pd.DataFrame({"商品名": ["桃酥", "蛋黄酥", "绿豆糕"]}).to_csv(source, index=False, encoding="utf-8-sig")
    code = main(["batch", str(source), "--task", "copy", "--brand", "第一坊", "--length", "短", "--no-progress",
                 "--out", str(tmp_path / "out.csv")])
    assert code == 0, capsys.readouterr()[1]
    brand_id = store.brands.get("第一坊").id
    rows = store.history.search("", task="copy")
    assert len(rows) == 3 and {r.brand_id for r in rows} == {brand_id}
    assert all(r.inputs["brand"] == "第一坊" and r.inputs["tone"] == "专业可信" for r in rows)


def test_stream_applies_the_brand_like_generate(service, store):
    from contentgen.tasks import CopyRequest

    store.brands.save("第一坊", banned_words=["全网"])
    stream = service.stream("copy", CopyRequest(product="桃酥", brand="第一坊", length="短"))
    list(stream)
    row = store.history.get(stream.request_id)
    assert row.brand_id == store.brands.get("第一坊").id and len(stream.result().compliance) == 1

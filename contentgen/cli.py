"""`contentgen` command line. Every command takes --json for scripts."""

from __future__ import annotations

import argparse
import json
import importlib.util
import logging
import os
import sys
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from contentgen.compliance import GENERAL, INDUSTRIES
from contentgen.config import Settings, load_settings
from contentgen.errors import UserFacingError
from contentgen.inputs import read_context_file, read_texts, split_points
from contentgen.tasks import TASKS, Task, batch_tasks, trainable, with_command
from contentgen.tasks.base import CHOICE, INTEGER, TURNS


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings().with_overrides(model=args.model, db=args.db, user=args.user)


def _service(args: argparse.Namespace):
    from contentgen.runtime import build_service

    return build_service(_settings(args), source="cli")


def _emit(args: argparse.Namespace, payload: Any, human: str) -> None:
    if args.json:
        print(json.dumps(payload, ensure_ascii=False, indent=None))
    else:
        print(human)


# ------------------------------------------------------------------ task commands (from the registry)

def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_task_arguments(parser: argparse.ArgumentParser, task: Task) -> None:
    """One option per input field of the task."""
    for field in task.fields:
        if field.kind == TURNS:
            parser.add_argument(_flag(field.name) + "-file", dest=field.name, help=field.help or field.label)
            continue
        options: dict[str, Any] = {"dest": field.name, "help": field.help or field.label}
        if field.kind == CHOICE:
            options.update(choices=list(field.choices), default=field.default)
        elif field.kind == INTEGER:
            options.update(type=int, default=field.default)
        if field.required and task.kind != "classify":
            options["required"] = True
        parser.add_argument(_flag(field.name), **options)


def request_from_args(task: Task, args: argparse.Namespace) -> Any:
    values: dict[str, Any] = {}
    for field in task.fields:
        raw = getattr(args, field.name, None)
        if field.kind == TURNS:
            values[field.name] = tuple(read_context_file(Path(raw))) if raw else ()
        else:
            values[field.name] = field.parse_text(raw if raw is None or isinstance(raw, str) else str(raw))
    return task.build_request(values)


def print_findings(task: Task, outputs: list[str], findings: list[list[dict[str, Any]]]) -> None:
    many = len(outputs) > 1
    for index, found in enumerate(findings):
        where = f"（版本 {index + 1}）" if many else ""
        for f in found:
            print(f"检查提示{where}：“{f['text']}” {f['category']}，建议：{f['suggestion']}", file=sys.stderr)
        if not found and task.check is not None:
            print(f"核对通过{where}：未发现问题。", file=sys.stderr)


def print_handoff(parts: list[dict[str, Any]]) -> None:
    if parts and parts[0].get("handoff"):
        print(f"建议转人工：{parts[0].get('handoff_reason', '')}", file=sys.stderr)


def cmd_generate(args: argparse.Namespace, task: Task) -> int:
    request = request_from_args(task, args)
    request.validate()  # fail before the model loads
    service = _service(args)
    if args.json or not task.streams:
        result = service.generate(task.name, request, adapter=args.adapter)
        human = "\n".join(f"{i + 1}. {text}" for i, text in enumerate(result.outputs)) if len(result.outputs) > 1 \
            else (result.outputs[0] if result.outputs else "")
        _emit(args, asdict(result), human)
        if not args.json:
            print(f"\n（已保存到历史记录 #{result.request_id}）", file=sys.stderr)
            print_findings(task, result.outputs, result.compliance)
            print_handoff(result.parts)
        return 0
    stream = service.stream(task.name, request, adapter=args.adapter)
    versions = task.versions(request)
    if task.candidate_count(request) > versions:
        print(f"正在生成 {task.candidate_count(request)} 个候选并逐一核对，选出最好的 {versions} 个…", file=sys.stderr)
    current = -1
    for index, piece in _ordered(stream, versions):
        if index != current:
            current = index
            print(f"\n—— 版本 {index + 1} ——" if versions > 1 else "", flush=True)
        print(piece, end="", flush=True)
    print(f"\n\n（已保存到历史记录 #{stream.request_id}）", file=sys.stderr)
    result = stream.result()
    print_findings(task, result.outputs, result.compliance)
    for source in result.sources:
        print(f"参考知识库 #{source['id']}：{source['question']}", file=sys.stderr)
    print_handoff(result.parts)
    return 0


def _ordered(stream, n: int):
    """Print version 1 live; later versions (generated in the same batch) follow in order."""
    pending: dict[int, list[str]] = {i: [] for i in range(n)}
    for index, piece in stream:
        if index == 0:
            yield 0, piece
        else:
            pending[index].append(piece)
    for index in range(1, n):
        yield index, "".join(pending[index])


def cmd_classify(args: argparse.Namespace, task: Task) -> int:
    if args.text is not None:
        texts = [args.text]
    elif args.file:
        if not Path(args.file).is_file():
            raise UserFacingError(f"找不到文件“{args.file}”，请检查路径。")
        texts = read_texts(Path(args.file), args.column, task.field("text").columns)
    else:
        raise UserFacingError("请用 --text 给出文本，或用 --file 给出文件。")
    empty = [i + 1 for i, t in enumerate(texts) if not t.strip()]
    texts = [t for t in texts if t.strip()]
    if empty:
        print(f"跳过空文本：第 {', '.join(map(str, empty[:20]))} 行", file=sys.stderr)
    if not texts:
        raise UserFacingError("没有可分析的文本：请给出非空的 --text，或检查文件中的列。")
    others = {f.name: f.parse_text(getattr(args, f.name, None)) for f in task.fields if f.name != "text"}
    requests = [task.build_request({"text": t, **others}) for t in texts]
    service = _service(args)
    results = service.run_many(task.name, requests, adapter=args.adapter)
    payload = [asdict(r) for r in results]
    _emit(args, payload if len(payload) > 1 or args.file else payload[0],
          "\n".join(f"{task.display(r.label)}\t{r.confidence:.2f}\t{r.text[:60]}" for r in results))
    return 0


def task_command(task: Task):  # noqa: ANN201
    def run(args: argparse.Namespace) -> int:
        return cmd_classify(args, task) if task.kind == "classify" else cmd_generate(args, task)
    return run


def cmd_brand(args: argparse.Namespace) -> int:
    from contentgen.runtime import build_store

    store = build_store(_settings(args))
    if args.action == "add":
        if not args.name:
            raise UserFacingError("请用 --name 指定品牌名称。")
        if args.industry and args.industry not in INDUSTRIES:
            raise UserFacingError(f"不支持的行业“{args.industry}”，可选：{'、'.join(INDUSTRIES)}（不填为{GENERAL}）。")
        brand_id = store.brands.save(
            args.name, tone=args.tone or "", audience=args.audience or "",
            required_keywords=split_points(args.keywords or ""), banned_words=split_points(args.banned or ""),
            example_copy=[e for e in (args.example or []) if e.strip()], industry=args.industry or "",
        )
        _emit(args, {"id": brand_id, "name": args.name}, f"已保存品牌档案：{args.name}（#{brand_id}）")
        return 0
    payload = [{"id": b.id, "name": b.name, "tone": b.tone, "audience": b.audience,
                "required_keywords": b.required_keywords, "banned_words": b.banned_words,
                "example_copy": b.example_copy, "industry": b.industry} for b in store.brands.list()]
    _emit(args, payload, "\n".join(f"{b['name']}\t{b['tone']}\t{b['audience']}" for b in payload) or "还没有品牌档案。")
    return 0


def cmd_faq(args: argparse.Namespace) -> int:
    from contentgen.tasks.reply.knowledge import FaqIndex, parse_faq_file
    from contentgen.runtime import build_store
    from contentgen.usecases.faq import add_faq_entry, answer_unanswered, delete_faq_entry, edit_faq_entry, faq_row, unanswered_rows

    store = build_store(_settings(args))
    if args.action == "import":
        if not args.file or not Path(args.file).is_file():
            raise UserFacingError("请用 --file 指定存在的 FAQ 文件（CSV/XLSX，含“问题”“答案”列）。")
        entries = parse_faq_file(Path(args.file).read_bytes(), Path(args.file).name)
        if args.replace:
            store.faq.clear()
        added = store.faq.add(entries)
        _emit(args, {"added": added, "total": len(store.faq.list())}, f"已导入 {added} 条，知识库共 {len(store.faq.list())} 条。")
        return 0
    if args.action == "search":
        if not args.text:
            raise UserFacingError("请用 --text 提供要检索的顾客消息。")
        hits = FaqIndex(store.faq.list(enabled_only=True)).search(args.text, k=args.k)
        _emit(args, [asdict(h) for h in hits],
              "\n".join(f"#{h.id} {h.score:.2f} {h.question} → {h.answer[:40]}" for h in hits) or "没有匹配的条目。")
        return 0
    if args.action in ("edit", "delete", "answer") and not args.id:
        raise UserFacingError(f"faq {args.action} 需要 --id 指定编号。")
    if args.action == "add":
        entry_id = add_faq_entry(store, args.question or "", args.answer or "", args.category or "",
                                 direct_answer=bool(args.direct_answer))
        _emit(args, faq_row(store.faq.get(entry_id)), f"已新增条目 #{entry_id}。")
        return 0
    if args.action == "edit":
        edit_faq_entry(store, args.id, question=args.question, answer=args.answer, category=args.category,
                       enabled=args.enabled, direct_answer=args.direct_answer)
        _emit(args, faq_row(store.faq.get(args.id)), f"已更新条目 #{args.id}。")
        return 0
    if args.action == "delete":
        delete_faq_entry(store, args.id)
        _emit(args, {"id": args.id, "deleted": True}, f"已删除条目 #{args.id}。")
        return 0
    if args.action == "unanswered":
        rows = unanswered_rows(store)
        _emit(args, rows, "\n".join(f"#{r['id']}\t{r['count']} 次\t{r['question']}" for r in rows) or "没有待补充的问题。")
        return 0
    if args.action == "answer":
        entry_id = answer_unanswered(store, args.id, args.answer or "", args.category or "",
                                     question=args.question or "", direct_answer=bool(args.direct_answer))
        _emit(args, faq_row(store.faq.get(entry_id)), f"已补成条目 #{entry_id}。")
        return 0
    rows = [faq_row(e) for e in store.faq.list()]
    _emit(args, rows, "\n".join(f"#{r['id']} {'' if r['enabled'] else '（已停用）'}{r['question']}\t命中 {r['hits']} 次"
                                 for r in rows) or "知识库为空。")
    return 0


def cmd_feedback(args: argparse.Namespace) -> int:
    from contentgen.usecases.feedback import export_dataset
    from contentgen.runtime import build_store

    store = build_store(_settings(args))
    if args.action == "export":
        if not (args.task and args.out):
            raise UserFacingError("导出需要 --task 和 --out。")
        count = export_dataset(store, args.task, Path(args.out))
        _emit(args, {"rows": count, "out": args.out},
              f"已导出 {count} 条训练样本到 {args.out}（可直接用于 contentgen finetune --data）。")
        return 0
    if args.result is None:
        raise UserFacingError("请用 --result 指定结果编号。")
    try:
        store.feedback.set(args.result, rating=1 if args.action == "up" else -1 if args.action == "down" else None,
                           edited_text=args.text if args.action == "edit" else None)
    except KeyError:
        raise UserFacingError(f"没有编号为 {args.result} 的结果。") from None
    _emit(args, {"result": args.result, "action": args.action}, "已记录反馈。")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from contentgen.runtime import build_store
    from contentgen.usecases.rules import check_text

    if args.file and not Path(args.file).is_file():
        raise UserFacingError(f"找不到文件“{args.file}”，请检查路径。")
    text = args.text if args.text is not None else Path(args.file).read_text(encoding="utf-8-sig")
    settings = _settings(args)
    payload = check_text(build_store(settings), text, brand=args.brand, protected=split_points(args.protect or ""),
                         banned=split_points(args.banned or ""), rules=settings.rules,
                         industry=args.industry or "", platform=args.platform or "")
    lines = [f"[{f['start']}-{f['end']}] “{f['text']}” {f['category']}：{f['rule']}；建议：{f['suggestion']}"
             for f in payload["findings"]]
    _emit(args, payload, "\n".join(lines + ["", "建议文案：" + payload["suggested_text"]]) if lines
          else "未发现违规表述。")
    return 0 if payload["compliant"] else 1


def cmd_history(args: argparse.Namespace) -> int:
    from contentgen.runtime import build_store
    from contentgen.usecases.history import search_history

    rows = search_history(build_store(_settings(args)), args.search or "", task=args.task,
                          user_name=args.filter_user, limit=args.limit)
    lines = [f"#{p['id']}  {p['created_at'][:19]}  {p['user']}  {p['task_title']}  {p['status']}  "
             f"{(p['shown'][0] if p['shown'] else '')[:40]!s}" for p in rows]
    _emit(args, rows, "\n".join(lines) or "没有找到记录。")
    return 0


def cmd_model(args: argparse.Namespace) -> int:
    from contentgen.models import REGISTRY, resolve_model_dir

    if args.action == "list":
        payload = [{"name": m.name, "description": m.description} for m in REGISTRY.values()]
        _emit(args, payload, "\n".join(f"{p['name']}\t{p['description']}" for p in payload))
        return 0
    settings = _settings(args)
    path = resolve_model_dir(settings.model)
    _emit(args, {"model": settings.model.name_or_path, "path": str(path)}, f"模型已就绪：{path}")
    return 0


def cmd_finetune(args: argparse.Namespace) -> int:
    from contentgen.usecases.training_runs import train_config
    from finetune.train import train

    config = train_config(_settings(args), task=args.task, data=args.data, out=args.out, steps=args.steps,
                          batch_size=args.batch_size, learning_rate=args.lr, max_length=args.max_length,
                          limit=args.limit, save_every=args.save_every, checkpoint_dir=args.checkpoint_dir,
                          rank=args.rank, modules=args.modules,
                          top_layers=args.top_layers, gradient_checkpointing=args.gradient_checkpointing)
    out = train(config)
    _emit(args, {"adapter": str(out)}, f"适配器已保存：{out}")
    return 0


BRIEF_TASK = "copy-briefs"
REPLY_TASK = "reply-grounded"


def _load_adapter_path(engine, args: argparse.Namespace) -> None:  # noqa: ANN001
    """--adapter-path: a trained adapter not yet in the adapter folder (measured before it ships),
    loaded under --adapter's name, or its folder's name when --adapter is auto/none."""
    if args.adapter_path:
        name = args.adapter if args.adapter not in ("auto", "none") else Path(args.adapter_path).name
        engine.load_adapter(name, args.adapter_path)
        args.adapter = name


def _eval_replies(args: argparse.Namespace, settings) -> int:  # noqa: ANN001
    """Support messages through the whole service against their labels; the FAQ (faq.jsonl beside
    the data unless --faq names one) goes into a scratch knowledge base."""
    import tempfile

    from contentgen.inputs import write_jsonl
    from contentgen.runtime import build_service
    from db.database import Database
    from finetune.evaluate import evaluate_reply_grounded, sample_rows

    faq_path = Path(args.faq) if args.faq else Path(args.data).with_name("faq.jsonl")
    if not faq_path.is_file():
        raise UserFacingError(f"找不到知识库文件“{faq_path}”，请用 --faq 指定。")
    faq_rows = [json.loads(line) for line in faq_path.open(encoding="utf-8") if line.strip()]
    rows = sample_rows(Path(args.data), args.limit, args.seed)
    predictions: list[dict] = []
    with tempfile.TemporaryDirectory() as scratch:
        service = build_service(settings, source="cli", store=Database(f"sqlite:///{scratch}/eval.db"))
        _load_adapter_path(service.engine, args)
        result = {"task": REPLY_TASK, "data": args.data, "model": service.engine.model_id, "adapter": args.adapter,
                  **evaluate_reply_grounded(service, faq_rows, rows, adapter=args.adapter,
                                             predictions=predictions)}
    if args.predictions:
        write_jsonl(Path(args.predictions), predictions)
    print(json.dumps(result, ensure_ascii=False, indent=None if args.json else 1))
    return 0


def _eval_briefs(args: argparse.Namespace, settings) -> int:  # noqa: ANN001
    """Copy briefs through the whole service (best of several, revision, verifier), history in a scratch file."""
    import tempfile

    from contentgen.inputs import write_jsonl
    from contentgen.runtime import build_service
    from db.database import Database
    from finetune.evaluate import evaluate_briefs, sample_rows

    rows = sample_rows(Path(args.data), args.limit, args.seed)
    with tempfile.TemporaryDirectory() as scratch:
        service = build_service(settings, source="cli", store=Database(f"sqlite:///{scratch}/eval.db"))
        predictions: list[dict] = []
        result = {"task": BRIEF_TASK, "data": args.data, "model": service.engine.model_id,
                  **evaluate_briefs(service, rows, versions=args.versions, predictions=predictions)}
    if args.predictions:
        write_jsonl(Path(args.predictions), predictions)
    print(json.dumps(result, ensure_ascii=False, indent=None if args.json else 1))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from contentgen.tasks.sentiment.head import Head
    from contentgen.inputs import write_jsonl
    from contentgen.runtime import build_engine
    from contentgen.usecases.service import ContentService
    from finetune.evaluate import dumps, evaluate

    settings = _settings(args)
    if not Path(args.data).is_file():
        raise UserFacingError(f"找不到评估数据“{args.data}”，请检查路径。")
    if args.task == BRIEF_TASK:
        return _eval_briefs(args, settings)
    if args.task == REPLY_TASK:
        return _eval_replies(args, settings)
    engine = build_engine(settings.model)
    _load_adapter_path(engine, args)
    # As the service labels (SentimentDesk.labeller), or with the head given in --head-path.
    service = ContentService(engine, None)
    if args.head_path:
        head, adapter = Head.load(Path(args.head_path)), None
    elif args.task == "sentiment":
        head, adapter = service.sentiment.labeller(args.adapter)
    else:
        head, adapter = None, service.resolve_adapter(args.task, args.adapter)
    predictions: list[dict] | None = [] if args.predictions else None
    result = evaluate(engine, args.task, Path(args.data), limit=args.limit, adapter=adapter,
                      baseline=args.baseline, max_new_tokens=args.max_new_tokens, seed=args.seed,
                      predictions=predictions, head=head)
    if args.json:
        print(dumps(result))
    else:
        print(json.dumps(result, ensure_ascii=False, indent=1))
    if args.predictions:  # after the metrics, so a bad path cannot cost a long run's figures
        write_jsonl(Path(args.predictions), predictions)
    return 0


def cmd_batch(args: argparse.Namespace) -> int:
    from contentgen.usecases import batch
    from contentgen.runtime import build_service, build_store
    from db.batches import BatchStore

    settings = _settings(args)
    batches = BatchStore(build_store(settings))
    if args.list:
        jobs = batches.jobs(limit=args.limit)
        rows = [{"job_id": j.id, "task": j.task, "status": j.status, "input": j.input_name,
                 "output": j.output_path, "created_at": j.created_at.isoformat(), **asdict(batches.progress(j.id))}
                for j in jobs]
        _emit(args, rows, "\n".join(f"{r['job_id']}\t{r['task']}\t{r['status']}\t{r['done']}/{r['total']}\t{r['input']}"
                                    for r in rows) or "还没有批量任务。")
        return 0
    if args.resume:
        job = batches.job(args.resume)
        if job is None:
            raise UserFacingError(f"找不到批量任务 {args.resume}。请用 contentgen batch --list 查看任务编号。")
        job_id = job.id
        print(job_id, flush=True)
    else:
        if not args.input or not args.task:
            raise UserFacingError("请给出输入文件和任务，例如：contentgen batch 商品.xlsx --task copy --out 文案.xlsx")
        source = Path(args.input)
        if not source.is_file():
            raise UserFacingError(f"找不到文件“{source}”，请检查路径。")
        out = args.out or str(source.with_name(f"{source.stem}_结果{source.suffix if source.suffix.lower() == '.xlsx' else '.csv'}"))
        options = {name: getattr(args, name) for name in (*job_options(), "adapter")
                   if getattr(args, name, None) not in (None, "")}
        new = batch.create_job(batches, source.read_bytes(), source.name, args.task, user_name=settings.user,
                               columns=batch.parse_columns(args.columns), options=options,
                               output_path=str(Path(out).resolve()), max_rows=settings.batch.max_rows)
        job_id = new.job_id
        print(job_id, flush=True)  # first line: scripts resume with it
        for index, problem in sorted(new.problems.items()):
            print(f"第 {batch.row_number(index)} 行已跳过：{problem}", file=sys.stderr)
        print(f"共 {new.total} 行，跳过 {len(new.problems)} 行；中断后可用 contentgen batch --resume {job_id} 继续。",
              file=sys.stderr)
    owner = batches.job(job_id).user_name  # history rows belong to whoever created the job
    service = build_service(settings, source="batch", store=batches.store, user_name=owner)
    job = batch.run_job(service, batches, job_id, output_path=args.out if args.resume else None,
                        progress=not args.no_progress, chunk_size=args.chunk_size)
    summary = {"job_id": job.id, "status": job.status, "output": args.out or job.output_path,
               **asdict(batches.progress(job.id))}
    _emit(args, summary, f"完成：{summary['done']} 行，跳过 {summary['skipped']} 行，失败 {summary['failed']} 行。"
                         f"结果：{summary['output']}")
    return 0


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    import getpass

    first = getpass.getpass("密码：")
    if first != getpass.getpass("再输入一次："):
        raise UserFacingError("两次输入的密码不一致。")
    return first


def cmd_user(args: argparse.Namespace) -> int:
    from contentgen.usecases.accounts import ROLES, AccountStore
    from contentgen.runtime import build_store

    accounts = AccountStore(build_store(_settings(args)))
    if args.action == "list":
        users = accounts.list()
        rows = [{"name": u.name, "role": u.role, "active": u.active,
                 "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None} for u in users]
        _emit(args, rows, "\n".join(f"{u.name}\t{ROLES[u.role]}\t{'启用' if u.active else '停用'}" for u in users)
              or "还没有账号：contentgen user add --name 管理员 --role admin")
        return 0
    if not args.name:
        raise UserFacingError("请用 --name 指定用户名。")
    if args.action == "add":
        account = accounts.add(args.name, _read_password(args), args.role or "marketing")
        _emit(args, {"name": account.name, "role": account.role},
              f"已创建用户 {account.name}（{ROLES[account.role]}）。网页界面从现在起需要登录。")
        return 0
    accounts.update(args.name, role=args.role, active={"enable": True, "disable": False}.get(args.action),
                    password=_read_password(args) if args.action == "password" else None)
    _emit(args, {"name": args.name, "updated": True}, f"已更新用户 {args.name}。")
    return 0


def cmd_apikey(args: argparse.Namespace) -> int:
    from contentgen.usecases.accounts import ApiKeyStore
    from contentgen.runtime import build_store

    keys = ApiKeyStore(build_store(_settings(args)))
    if args.action == "create":
        if not args.name:
            raise UserFacingError("请用 --name 指定这个 Key 属于哪个用户。")
        key = keys.create(args.name)
        _emit(args, {"user": args.name, "key": key}, f"{key}\n（只显示这一次，请妥善保存。）")
    elif args.action == "list":
        rows = [{"prefix": k.prefix, "user": k.user_name, "revoked": k.revoked, "created_at": k.created_at.isoformat()}
                for k in keys.list(args.name)]
        _emit(args, rows, "\n".join(f"{r['prefix']}…\t{r['user']}\t{'已吊销' if r['revoked'] else '有效'}" for r in rows)
              or "还没有 API Key。")
    else:
        if not args.prefix:
            raise UserFacingError("请用 --prefix 指定要吊销的 Key（contentgen apikey list 中的前缀）。")
        _emit(args, {"revoked": keys.revoke(args.prefix)}, "已吊销。")
    return 0


def cmd_api(args: argparse.Namespace) -> int:
    import uvicorn

    from contentgen.api import create_app

    uvicorn.run(create_app(_settings(args)), host=args.address, port=args.port, log_level="warning")
    return 0


def streamlit_app() -> Path:
    """ui/app.py, found without importing the ui package (the core imports no screen)."""
    spec = importlib.util.find_spec("ui")
    if spec is None or not spec.submodule_search_locations:
        raise UserFacingError("找不到网页界面（ui 包），请用 make install 重新安装。")
    return Path(next(iter(spec.submodule_search_locations))) / "app.py"


# How the app is served to users: no developer toolbar (Deploy button, rerun menu), no usage stats,
# and no full garbage collection after every rerun: with the model loaded one takes ~0.3-1 s holding
# the GIL, and the progress fragments rerun every 0.3 s, so generation starved (a browser saw
# "生成中" forever on the tiny model; Streamlit 1.67, 2-core EPYC).
STREAMLIT_FLAGS = ("--server.headless", "true", "--browser.gatherUsageStats", "false",
                   "--client.toolbarMode", "viewer", "--server.runOnSave", "false",
                   "--runner.postScriptGC", "false")


def cmd_alerts(args: argparse.Namespace) -> int:
    """Negative-review alerts and digests ([alerts] in contentgen.toml): run once, watch, list, test."""
    import time

    from contentgen.usecases.alerts import check_config, notice_row, run_due, send_test
    from contentgen.processes import process_alive
    from contentgen.runtime import build_store

    settings = _settings(args)
    store = build_store(settings)
    config = settings.alerts
    if args.action == "list":
        rows = [notice_row(n) for n in store.notices.recent(args.limit)]
        _emit(args, rows, "\n".join(f"{r['created_at'][:16]}\t{r['title']}\t{r['delivered']}" for r in rows)
              or "还没有发出过告警或摘要。")
        return 0
    check_config(config)
    if not (config.webhook or config.email_to):
        raise UserFacingError("没有配置告警的去处：请在 contentgen.toml 的 [alerts] 中填写 webhook 或 email_to。")
    if args.action == "test":
        delivered = send_test(store, config)
        _emit(args, delivered, "；".join(f"{k}：{'成功' if v else '失败'}" for k, v in delivered.items()))
        return 0 if all(delivered.values()) else 1
    while True:
        sent = run_due(store, config)
        _emit(args, [{"kind": m.kind, "rule": m.rule, "title": m.title} for m in sent],
              "\n".join(m.title for m in sent) or "没有需要发送的告警或摘要。")
        if args.action == "run":
            return 0
        for _ in range(args.every):  # a second at a time: notice soon when the app stops
            if args.parent and not process_alive(args.parent):
                return 0
            time.sleep(1)


def cmd_ui(args: argparse.Namespace) -> int:
    env = dict(os.environ)
    if args.model:
        env["CONTENTGEN_MODEL"] = args.model
    if args.db:
        env["CONTENTGEN_DATABASE_URL"] = args.db
    alerts = _settings(args).alerts
    if alerts.rules or alerts.digest:  # the app's alerts and digests go out while it runs
        import subprocess

        subprocess.Popen([sys.executable, "-m", "contentgen.cli", "alerts", "watch", "--parent", str(os.getpid())],  # noqa: S603
                         env=env, start_new_session=True)
    command = [sys.executable, "-m", "streamlit", "run", str(streamlit_app()),
               "--server.address", args.address, "--server.port", str(args.port), *STREAMLIT_FLAGS]
    # This process becomes the server: a SIGTERM to `contentgen ui` stops Streamlit and frees the port.
    os.execve(sys.executable, command, env)
    return 0  # not reached


def job_options() -> list[str]:
    """Options a batch job may set once for all rows, over every batch task (checked per task)."""
    return list(dict.fromkeys(f.name for t in batch_tasks() for f in t.fields if f.job_option))


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="输出 JSON（供脚本使用）")
    common.add_argument("--model", help="内置模型名或 Hugging Face 模型目录（默认取 CONTENTGEN_MODEL）")
    common.add_argument("--db", help="历史库 URL（默认取 CONTENTGEN_DATABASE_URL，否则本机 SQLite）")
    common.add_argument("--user", help="记录到历史中的用户名")
    common.add_argument("--adapter", default="auto",
                        help="LoRA 适配器名；auto（默认）用与任务同名的适配器，none 用基座模型")

    parser = argparse.ArgumentParser(prog="contentgen", description="中文营销文案、客服回复与情感标签")
    sub = parser.add_subparsers(dest="command", required=True)

    for task in with_command():
        p = sub.add_parser(task.command, parents=[common], help=task.summary or task.title)
        if task.kind == "classify":
            source = p.add_mutually_exclusive_group(required=True)
            source.add_argument("--text")
            source.add_argument("--file", help=".csv / .jsonl / .xlsx")
            p.add_argument("--column", help="文件中文本所在的列（默认按列名识别：评论、评价、内容、文本、text…）")
            add_task_arguments(p, replace(task, fields=tuple(f for f in task.fields if f.name != "text")))
        else:
            add_task_arguments(p, task)
        p.set_defaults(func=task_command(task))

    p = sub.add_parser("brand", parents=[common], help="品牌档案：add 新增/更新，list 列出")
    p.add_argument("action", choices=["add", "list"])
    p.add_argument("--name")
    p.add_argument("--tone")
    p.add_argument("--audience")
    p.add_argument("--keywords", help="必须出现的关键词，逗号分隔")
    p.add_argument("--banned", help="品牌禁用词，逗号分隔")
    p.add_argument("--example", action="append", help="品牌过往文案，可重复")
    p.add_argument("--industry", help="行业（其广告法规则包用于该品牌的文案）：" + "、".join(INDUSTRIES))
    p.set_defaults(func=cmd_brand)

    p = sub.add_parser("faq", parents=[common], help="客服知识库：import 导入、list 列出、search 检索、add/edit/delete 单条维护、"
                                                    "unanswered 答不上的问题、answer 把答不上的问题补成条目")
    p.add_argument("action", choices=["import", "list", "search", "add", "edit", "delete", "unanswered", "answer"])
    p.add_argument("--file", help="FAQ 文件（CSV/XLSX，含“问题”“答案”列，可选“分类”）")
    p.add_argument("--replace", action="store_true", help="导入前清空现有条目")
    p.add_argument("--text", help="search：顾客消息")
    p.add_argument("--k", type=int, default=3)
    p.add_argument("--id", type=int, help="edit/delete：条目编号；answer：待补充问题的编号")
    p.add_argument("--question", help="add/edit/answer：问题")
    p.add_argument("--answer", help="add/edit/answer：答案")
    p.add_argument("--category", help="add/edit/answer：分类")
    switch = p.add_mutually_exclusive_group()
    switch.add_argument("--enable", dest="enabled", action="store_true", default=None, help="edit：启用")
    switch.add_argument("--disable", dest="enabled", action="store_false", help="edit：停用（保留条目，不再检索）")
    direct = p.add_mutually_exclusive_group()
    direct.add_argument("--direct", dest="direct_answer", action="store_true", default=None,
                        help="直接回答：问到时原样返回答案，不经模型生成")
    direct.add_argument("--no-direct", dest="direct_answer", action="store_false", help="edit：取消直接回答")
    p.set_defaults(func=cmd_faq)

    p = sub.add_parser("feedback", parents=[common], help="反馈：up/down 评价、edit 修改、export 导出训练数据")
    p.add_argument("action", choices=["up", "down", "edit", "export"])
    p.add_argument("--result", type=int, help="结果编号（history --json 中的 result_ids）")
    p.add_argument("--text", help="edit：修改后的文本")
    p.add_argument("--task", choices=[t.name for t in TASKS.values() if t.feedback_row])
    p.add_argument("--out", help="export：输出 JSONL 路径")
    p.set_defaults(func=cmd_feedback)

    p = sub.add_parser("check", parents=[common], help="广告法合规检查（违规时退出码为 1）")
    text_source = p.add_mutually_exclusive_group(required=True)
    text_source.add_argument("--text")
    text_source.add_argument("--file")
    p.add_argument("--protect", help="不可拆分的品牌/商品名，逗号分隔")
    p.add_argument("--banned", help="品牌自己的禁用词，逗号分隔")
    p.add_argument("--brand", help="按品牌档案检查（品牌名不拆分，加上其禁用词和行业）")
    p.add_argument("--industry", help="加查行业规则包：" + "、".join(INDUSTRIES))
    p.add_argument("--platform", help="发布平台（站外引流规则只查小红书、抖音、微博、电商详情）")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("history", parents=[common], help="查看或搜索历史记录")
    p.add_argument("--search", help="关键词（空格分隔，全部匹配）")
    p.add_argument("--task", choices=list(TASKS))
    p.add_argument("--filter-user", help="只看某个用户")
    p.add_argument("--limit", type=int, default=20)
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("model", parents=[common], help="列出内置模型，或预先准备（转换缓存）")
    p.add_argument("action", choices=["list", "prepare"])
    p.set_defaults(func=cmd_model)

    p = sub.add_parser("finetune", parents=[common], help="LoRA 微调（可中断，重复运行即从检查点继续）")
    p.add_argument("--task", required=True, choices=[t.name for t in trainable()])
    p.add_argument("--data", required=True, help="训练数据：.jsonl/.json/.csv/.xlsx（含 alpaca、sharegpt 格式）")
    p.add_argument("--out", required=True, help="适配器输出目录")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--rank", type=int, default=8)
    p.add_argument("--modules", choices=["attention", "all"], default="attention",
                   help="LoRA 加在哪些投影上：attention（q/k/v/o，默认）或 all（再加 MLP 的 gate/up/down）")
    p.add_argument("--top-layers", type=int, help="只在最后 N 层加 LoRA（反向传播到此为止，CPU 上更快）")
    p.add_argument("--gradient-checkpointing", action="store_true",
                   help="反向传播时重算激活值：慢约三分之一，内存少得多（内存不足被系统终止时使用）")
    p.add_argument("--max-length", type=int, default=256)
    p.add_argument("--limit", type=int, help="最多使用多少条样本")
    p.add_argument("--save-every", type=int, default=10)
    p.add_argument("--checkpoint-dir", help="完整检查点目录（默认 <out>/checkpoint）")
    p.set_defaults(func=cmd_finetune)

    p = sub.add_parser("eval", parents=[common], help="在测试集上评估（可选适配器）")
    p.add_argument("--task", required=True, choices=[t.name for t in trainable()] + [BRIEF_TASK, REPLY_TASK],
                   help=f"{BRIEF_TASK}：文案简报的可直接发布率（finetune/briefs/dev.jsonl）")
    p.add_argument("--data", required=True)
    p.add_argument("--versions", type=int, default=1, help=f"{BRIEF_TASK}：每条简报的版本数")
    p.add_argument("--faq", help=f"{REPLY_TASK}：知识库文件（默认为数据文件旁的 faq.jsonl）")
    p.add_argument("--limit", type=int, help="随机抽取的条数（固定种子，可复现）")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--adapter-path", help="适配器目录（默认与 --adapter 相同）")
    p.add_argument("--head-path", help="情感任务：分类头目录（默认用该模型自带的分类头；指定 --adapter 则不用分类头）")
    p.add_argument("--baseline", action="store_true", help="情感任务同时运行 SnowNLP 作为对照")
    p.add_argument("--max-new-tokens", type=int, default=192)
    p.add_argument("--predictions", help="把逐条预测写入此 JSONL 文件，便于查看错例")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("batch", parents=[common], help="批量处理 CSV/XLSX（可中断，--resume 继续）")
    p.add_argument("input", nargs="?", help="输入文件：.csv（UTF-8/GBK）或 .xlsx")
    p.add_argument("--task", choices=[t.name for t in batch_tasks()])
    p.add_argument("--out", help="输出文件 .csv 或 .xlsx（默认：输入文件名_结果）")
    p.add_argument("--columns", help="列映射，如 product=商品名,points=卖点,attributes=属性（默认按常见列名识别）")
    option_help: dict[str, list[str]] = {}
    for task in batch_tasks():
        for field in task.fields:
            if field.job_option:
                option_help.setdefault(field.name, []).append(f"{task.title}：{field.help or field.label}")
    for name, helps in option_help.items():  # one value for the whole job (a column of the table wins)
        p.add_argument(_flag(name), dest=name, help="；".join(helps) + "（表格中没有该列时使用）")
    p.add_argument("--resume", metavar="JOB_ID", help="继续一个中断的任务")
    p.add_argument("--list", action="store_true", help="列出最近的批量任务")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--chunk-size", type=int, help="每次送入模型的行数（默认取引擎批大小）")
    p.add_argument("--no-progress", action="store_true", help="不显示进度条（后台进程）")
    p.set_defaults(func=cmd_batch)

    p = sub.add_parser("user", parents=[common], help="账号：add 新增、list 列出、set/enable/disable/password 修改")
    p.add_argument("action", choices=["add", "list", "set", "enable", "disable", "password"])
    p.add_argument("--name", help="用户名（--user 是记入历史的用户名，不同）")
    p.add_argument("--role", choices=["marketing", "support", "admin"], help="角色：市场 / 客服 / 管理员")
    p.add_argument("--password-stdin", action="store_true", help="从标准输入读密码（脚本用），否则交互输入")
    p.set_defaults(func=cmd_user)

    p = sub.add_parser("apikey", parents=[common], help="API Key：create 创建、list 列出、revoke 吊销")
    p.add_argument("action", choices=["create", "list", "revoke"])
    p.add_argument("--name", help="Key 所属的用户名")
    p.add_argument("--prefix", help="revoke：Key 的前缀")
    p.set_defaults(func=cmd_apikey)

    p = sub.add_parser("api", parents=[common], help="启动 HTTP API（默认只监听本机）")
    p.add_argument("--address", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.set_defaults(func=cmd_api)

    p = sub.add_parser("alerts", parents=[common], help="负面评论告警与日报/周报：run 检查一次、watch 持续检查、"
                                                         "list 已发送、test 发送测试消息（配置见 contentgen.toml 的 [alerts]）")
    p.add_argument("action", choices=["run", "watch", "list", "test"])
    p.add_argument("--every", type=int, default=300, help="watch：每隔多少秒检查一次")
    p.add_argument("--parent", type=int, help=argparse.SUPPRESS)  # watch: stop when this process ends
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=cmd_alerts)

    p = sub.add_parser("ui", parents=[common], help="启动网页界面")
    p.add_argument("--address", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8501)
    p.set_defaults(func=cmd_ui)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO if os.environ.get("CONTENTGEN_VERBOSE") else logging.WARNING,
                        format="%(message)s")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UserFacingError as exc:
        if getattr(args, "json", False):
            print(json.dumps({"error": str(exc)}, ensure_ascii=False))
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\n已中断（已生成的部分已保存到历史记录）。", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

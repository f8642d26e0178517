"""contentgen model / finetune / eval: the embedded models, LoRA training and evaluation."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from contentgen.cli.common import emit, settings_of
from contentgen.evaluation import BRIEF_TASK, REPLY_TASK, RUNS
from contentgen.inputs import write_jsonl
from contentgen.models import REGISTRY, resolve_model_dir
from contentgen.tasks import trainable
from contentgen.training.config import LoraSettings, TrainConfig, train_config


def cmd_model(args: argparse.Namespace) -> int:
    if args.action == "list":
        payload = [{"name": m.name, "description": m.description} for m in REGISTRY.values()]
        emit(args, payload, "\n".join(f"{p['name']}\t{p['description']}" for p in payload))
        return 0
    settings = settings_of(args)
    path = resolve_model_dir(settings.model)
    emit(args, {"model": settings.model.name_or_path, "path": str(path)}, f"模型已就绪：{path}")
    return 0


def cmd_finetune(args: argparse.Namespace) -> int:
    from contentgen.training.train import train  # lazy: torch and peft, for a run only

    config = train_config(settings_of(args), task=args.task, data=args.data, out=args.out, steps=args.steps,
                          batch_size=args.batch_size, learning_rate=args.lr, max_length=args.max_length,
                          limit=args.limit, save_every=args.save_every, checkpoint_dir=args.checkpoint_dir,
                          rank=args.rank, modules=args.modules,
                          top_layers=args.top_layers, gradient_checkpointing=args.gradient_checkpointing)
    out = train(config)
    emit(args, {"adapter": str(out)}, f"适配器已保存：{out}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from contentgen.evaluation.runs import run_eval  # lazy: nltk, scipy, the engines

    predictions: list[dict] | None = [] if args.predictions else None
    result = run_eval(settings_of(args), args.task, args.data, limit=args.limit, seed=args.seed, versions=args.versions,
                      faq=args.faq, adapter=args.adapter, adapter_path=args.adapter_path, head_path=args.head_path,
                      baseline=args.baseline, max_new_tokens=args.max_new_tokens, predictions=predictions)
    print(json.dumps(result, ensure_ascii=False, indent=None if args.json else 1))
    if args.predictions:  # after the metrics, so a bad path cannot cost a long run's figures
        write_jsonl(Path(args.predictions), predictions)
    return 0

def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("model", parents=[common], help="列出内置模型，或预先准备（转换缓存）")
    p.add_argument("action", choices=["list", "prepare"])
    p.set_defaults(func=cmd_model)


    p = sub.add_parser("finetune", parents=[common], help="LoRA 微调（可中断，重复运行即从检查点继续）")
    p.add_argument("--task", required=True, choices=[t.name for t in trainable()])
    p.add_argument("--data", required=True, help="训练数据：.jsonl/.json/.csv/.xlsx（含 alpaca、sharegpt 格式）")
    p.add_argument("--out", required=True, help="适配器输出目录")
    p.add_argument("--steps", type=int, default=TrainConfig.max_steps)
    p.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    p.add_argument("--lr", type=float, default=TrainConfig.learning_rate)
    p.add_argument("--rank", type=int, default=LoraSettings.rank)
    p.add_argument("--modules", choices=["attention", "all"], default="attention",
                   help="LoRA 加在哪些投影上：attention（q/k/v/o，默认）或 all（再加 MLP 的 gate/up/down）")
    p.add_argument("--top-layers", type=int, help="只在最后 N 层加 LoRA（反向传播到此为止，CPU 上更快）")
    p.add_argument("--gradient-checkpointing", action="store_true",
                   help="反向传播时重算激活值：慢约三分之一，内存少得多（内存不足被系统终止时使用）")
    p.add_argument("--max-length", type=int, default=TrainConfig.max_length)
    p.add_argument("--limit", type=int, help="最多使用多少条样本")
    p.add_argument("--save-every", type=int, default=TrainConfig.save_every)
    p.add_argument("--checkpoint-dir", help="完整检查点目录（默认 <out>/checkpoint）")
    p.set_defaults(func=cmd_finetune)


    p = sub.add_parser("eval", parents=[common], help="在测试集上评估（可选适配器）")
    p.add_argument("--task", required=True, choices=[t.name for t in trainable()] + list(RUNS),
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


"""Training rows for a reply adapter that uses the knowledge base (issue 18, item 5).

The shipped adapter learned JDDC replies with no FAQ in its prompt and learned to ignore one. These
rows put entries in the prompt the way inference does (`tasks/reply.py:reply_user_prompt`):
- grounded: a customer asks what an entry answers, the entry comes first and answers, and the reply
  is the entry's answer after a greeting (the company's wording; the dev set's grounded check asks
  for its facts). Entries: `reply_sets/train_faq.jsonl` (two shops written for training, not the
  dev/held-out shop) and the China Mobile FAQ pairs in `raw/chinamobile_cs_samples/`;
- not answered: a real agent reply (JDDC, Weibo helpdesks) with entries of an unrelated shop listed,
  so the adapter learns to leave entries alone when they do not answer;
- plain: real agent replies with no knowledge base, as before.
Real replies pass the reply verifier first (no promise, action or number their own conversation
does not give, no placeholder, no loop), and calm messages keep only replies without an apology:
inference adds the apology itself for upset customers.

    python -m finetune.reply_rows --out ~/.cache/contentgen/reply_rows.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path
from types import SimpleNamespace

from contentgen.tasks.reply.knowledge import FaqIndex
from contentgen.tasks.reply.checks import ReplyGrounds, sounds_upset, verify

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
TRAIN_FAQ = Path(__file__).with_name("reply_sets") / "train_faq.jsonl"
GREETING = "您好，"
APOLOGY_WORDS = re.compile(r"抱歉|对不起|不好意思|歉意")
# A reply that only greets, asks to wait or signs off teaches nothing an agent needs.
FORMULA = re.compile(r"您好|你好|亲爱的|亲|请您?稍等|稍等|在的|嗯+|好的|哦+|呢|哈|~+|请问还有其他还?可以帮到您的吗\??|"
                     r"很高兴(?:为您服务|遇到您)|祝您.{0,12}|谢谢|感谢.{0,10}|不客气|您?客气了|为您服务是.{0,6}荣幸|"
                     r"(?:您看)?还有其他.{0,10}吗\??|正在为您(?:查询|核实|处理)中?|请您?谅解|[，。！？,.!?\s]")
MIN_CONTENT = 12  # characters left after the formulas


def shop_entries(path: Path = TRAIN_FAQ) -> dict[str, list[dict]]:
    shops: dict[str, list[dict]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            entry = json.loads(line)
            shops.setdefault(entry["shop"], []).append(entry)
    return shops


def china_mobile_entries(shared: Path) -> list[dict]:
    pairs = json.loads((shared / "raw" / "chinamobile_cs_samples" / "mobilecs2_faq_qa.json").read_text(encoding="utf-8"))
    return [{"id": i, "question": q, "answer": a, "asks": []} for i, (q, a) in enumerate(pairs.items(), start=1)]


def ranked(entries: list[dict], message: str, first: dict | None = None, k: int = 3) -> list[dict]:
    """Entries as retrieval orders them for the message; `first` (the answering one) leads."""
    index = FaqIndex([SimpleNamespace(id=e["id"], question=e["question"], answer=e["answer"]) for e in entries])
    by_id = {e["id"]: e for e in entries}
    order = [by_id[h.id] for h in index.search(message, k=k + 1)]
    if first is not None:
        order = [first, *[e for e in order if e is not first]]
    return [{"question": e["question"], "answer": e["answer"]} for e in order[:k]]


def grounded_rows(entries: list[dict]) -> list[dict]:
    rows = []
    for entry in entries:
        for message in [entry["question"], *entry.get("asks", [])]:
            rows.append({"message": message, "faq": ranked(entries, message, first=entry), "answering": True,
                         "reply": GREETING + entry["answer"], "source": "grounded"})
    return rows


def sendable(row: dict) -> bool:
    message, reply = str(row.get("customer_message", "")), str(row.get("reply", "")).strip()
    if not message or len(FORMULA.sub("", reply)) < MIN_CONTENT or "[" in reply:
        return False
    if sounds_upset(message) or APOLOGY_WORDS.search(reply):
        return False
    context = tuple(t for t in (row.get("context") or []) if isinstance(t, dict))
    return not verify(ReplyGrounds(message=message, context=context), reply)


def real_rows(path: Path, limit: int, rng: random.Random) -> list[dict]:
    rows = [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
    rng.shuffle(rows)
    kept = []
    for row in rows:
        if sendable(row):
            kept.append({"message": row["customer_message"], "context": row.get("context") or [],
                         "reply": row["reply"].strip(), "source": path.parent.name})
            if len(kept) == limit:
                break
    return kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--shared", default=str(SHARED))
    parser.add_argument("--jddc", type=int, default=500)
    parser.add_argument("--weibo", type=int, default=300)
    parser.add_argument("--grounded-repeats", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng, shared = random.Random(args.seed), Path(args.shared)

    shops = [*shop_entries().values(), china_mobile_entries(shared)]
    grounded = [row for entries in shops for row in grounded_rows(entries)] * args.grounded_repeats
    real = (real_rows(shared / "customer_service" / "train.jsonl", args.jddc, rng)
            + real_rows(shared / "customer_service_weibo" / "train.jsonl", args.weibo, rng))
    # Half the real replies see an unrelated shop's entries that do not answer them.
    for row in real[::2]:
        row["faq"], row["answering"] = ranked(rng.choice(shops), row["message"]), False
    rows = grounded + real
    rng.shuffle(rows)
    with open(args.out, "w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    counts = {s: sum(r["source"] == s for r in rows) for s in sorted({r["source"] for r in rows})}
    print(f"{len(rows)} rows -> {args.out}: {counts}")


if __name__ == "__main__":
    main()

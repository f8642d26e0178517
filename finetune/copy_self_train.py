"""Self-training data for the six-platform copy adapter, by rejection sampling.

    python -m finetune.copy_self_train --briefs 400 --out finetune/self_train/copy.jsonl

Briefs come from real Taobao product titles (../shared/data/raw/taobao_title_ner/train.txt:
brand, product and attribute tags), spread over the six platforms, lengths and tones; 新闻稿 and
some 朋友圈 briefs get a date, a city or an offer, as real launches and posts have. Each brief
goes through the service as a user's request would (best of several candidates, repair, the
verifier and 广告法); only versions with no finding are kept. Rows already in the output file
are skipped, so a run stopped at any point continues where it was.

    python -m finetune.copy_self_train --recheck --out finetune/self_train/copy.jsonl --rejected rejected.jsonl

judges the kept rows again with today's checks (they get stricter) and moves those that fail
to the rejected file, with their findings.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jieba

from contentgen.tasks.copy.task import LENGTHS, PLATFORMS, TONES

TITLES = Path("../shared/data/raw/taobao_title_ner/train.txt")  # from the repository root, as the README's commands
# Titles of things no marketer writes copy for this way (game currency, recharge cards).
SKIP_TITLE = re.compile(r"充值|点卡|元宝|代练|话费|激活码|游戏币|Q币|活体|施工图|转让|回收")
# Title words that are not facts about the product (shop talk, fragments).
NOISE_WORD = re.compile(r"^(\d+|[a-zA-Z]+|新款|正品|包邮|潮|款|促销|特价|专柜|官方|旗舰店|\d{4}新款?|部分|处理|供应|"
                        r"转卖|通用|批发|厂家|直销|定做|代购|现货|秒杀|清仓|包装|男女|女士|男士|宝宝|儿童|其他)$")
# A fact must be a dictionary word at least this common (jieba's counts), not a cut-off fragment.
MIN_WORD_FREQ = 500
CITIES = ("上海", "北京", "杭州", "深圳", "广州", "成都", "南京", "武汉")


def tagged_titles(path: Path = TITLES) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """Each title with its entities (tag, text) from the character-per-line BIO file."""
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        pairs = [line.split() for line in block.strip().splitlines() if len(line.split()) == 2]
        if not pairs:
            continue
        entities: list[list[str]] = []
        for char, tag in pairs:
            if tag.startswith("B-"):
                entities.append([tag[2:], char])
            elif tag.startswith("I-") and entities:
                entities[-1][1] += char
        yield "".join(char for char, _ in pairs), [(t, text) for t, text in entities]


def brief_from_title(title: str, entities: list[tuple[str, str]], rng: random.Random) -> dict[str, Any] | None:
    """Product, brand and two to four facts from a title; None for a title too noisy to use."""
    if SKIP_TITLE.search(title):
        return None
    products = [text for tag, text in entities if tag == "HCCX" and re.fullmatch(r"[\u4e00-\u9fff]{2,8}", text)]
    brands = [text for tag, text in entities if tag == "HPPX" and 2 <= len(text) <= 8]
    if not products:
        return None
    product = max(products, key=len)
    taken = {product, *brands, *products}
    # A number with its unit (20寸, 500g, 4.2米), not a bare model code (833465, cr2032).
    misc = [text for tag, text in entities if tag in ("MISC", "XH") and len(text) <= 10
            and re.fullmatch(r"\d+(\.\d+)?\s*(寸|英寸|g|kg|ml|l|L|克|千克|斤|毫升|升|米|厘米|cm|mm|片|只|个|支|瓶|盒|袋|件|层|码|w|W|v|V)(/\S+)?", text)]
    words = [w for w in jieba.lcut(title) if 2 <= len(w) <= 6 and not NOISE_WORD.match(w)
             and jieba.dt.FREQ.get(w, 0) >= MIN_WORD_FREQ
             and not any(w in t or t in w for t in taken)]
    facts = list(dict.fromkeys([*misc[:1], *words]))
    if len(facts) < 2:
        return None
    rng.shuffle(facts)
    return {"product": product, "brand": brands[0] if brands and rng.random() < 0.6 else "",
            "points": facts[:rng.randint(2, 4)], "title": title}


def with_platform(brief: dict[str, Any], index: int, rng: random.Random) -> dict[str, Any]:
    platforms = list(PLATFORMS)
    platform = platforms[index % len(platforms)]
    points = list(brief["points"])
    if platform == "新闻稿":
        points.append(f"{rng.randint(1, 12)}月{rng.randint(1, 28)}日在{rng.choice(CITIES)}发布")
    elif platform == "朋友圈" and rng.random() < 0.4:
        points.append(f"{rng.randint(1, 12)}月{rng.randint(1, 28)}日前下单包邮")
    return {**brief, "id": f"self-{index:05d}", "platform": platform, "points": points,
            "length": rng.choices(list(LENGTHS), weights=(3, 5, 2))[0], "tone": rng.choice(TONES)}


def briefs(count: int, seed: int = 0, path: Path = TITLES) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    titles = list(tagged_titles(path))
    rng.shuffle(titles)
    out: list[dict[str, Any]] = []
    for title, entities in titles:
        brief = brief_from_title(title, entities, rng)
        if brief is not None:
            out.append(with_platform(brief, len(out), rng))
        if len(out) == count:
            break
    return out


def finding_texts(findings: list[dict[str, Any]]) -> list[str]:
    return [f"{f['category']}：{f['text']}（{f['rule']}）" for f in findings]


def recheck(out: Path, rejected: Path | None) -> None:
    """Kept rows that fail today's checks move to the rejected file (or are dropped without one)."""
    from contentgen.evaluation.evaluate import brief_findings

    rows = [json.loads(line) for line in out.open(encoding="utf-8") if line.strip()]
    briefs = [{**row, "points": row["points"].split(",")} for row in rows]
    findings = brief_findings(briefs, [row["copy"] for row in rows])
    kept = [row for row, found in zip(rows, findings) if not found]
    out.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in kept), encoding="utf-8")
    if rejected is not None:
        with rejected.open("a", encoding="utf-8") as fh:
            for row, found in zip(rows, findings):
                if found:
                    fh.write(json.dumps({**row, "findings": finding_texts(found)}, ensure_ascii=False) + "\n")
    print(f"保留 {len(kept)} / {len(rows)}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--briefs", type=int, default=400)
    parser.add_argument("--out", type=Path, default=Path("finetune/self_train/copy.jsonl"))
    parser.add_argument("--rejected", type=Path, default=None, help="也写出未通过的版本及其检查提示（供人工阅读）")
    parser.add_argument("--db", default="sqlite:////tmp/contentgen-self-train.db", help="草稿历史库（不写入正式历史）")
    parser.add_argument("--titles", type=Path, default=TITLES)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--recheck", action="store_true", help="用当前的检查重新核对已保留的行，不生成")
    args = parser.parse_args()
    if args.recheck:
        recheck(args.out, args.rejected)
        return

    from contentgen.config import load_settings
    from contentgen.runtime import build_service
    from db.database import Database
    from contentgen.evaluation.evaluate import add_brief_brands, brief_request

    args.out.parent.mkdir(parents=True, exist_ok=True)
    done = {json.loads(line)["id"] for path in (args.out, args.rejected) if path and path.exists()
            for line in path.open(encoding="utf-8") if line.strip()}
    todo = [b for b in briefs(args.briefs, args.seed, args.titles) if b["id"] not in done]
    service = build_service(load_settings(), source="cli", store=Database(args.db))
    add_brief_brands(service, todo)
    kept = 0
    for number, brief in enumerate(todo, 1):
        started = time.perf_counter()
        result = service.generate("copy", brief_request(brief))
        row = {key: brief[key] for key in ("id", "platform", "product", "brand", "tone", "length")}
        row["points"] = ",".join(brief["points"])
        findings = result.compliance[0]
        target = args.out if not findings else args.rejected
        if target is not None:
            record = {**row, "copy": result.outputs[0], "source": "self-train:" + brief["title"]}
            if findings:
                record["findings"] = finding_texts(findings)
            with target.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        kept += not findings
        print(f"{number}/{len(todo)} {brief['platform']} {'保留' if not findings else '舍弃'} "
              f"({time.perf_counter() - started:.1f} s, 保留 {kept})", flush=True)


if __name__ == "__main__":
    main()

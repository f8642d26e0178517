"""The reply verifier and the 转人工 decision: what makes a support reply unsendable, and when
a person should answer instead.

Findings are shaped like the compliance ones (start, end, text, category, rule, suggestion); a
missing fact has an empty span. A reply is compared with what it may draw on: the customer's
messages, the order facts and the knowledge-base entries it was given (`ReplyGrounds`). A
promise of money, a time limit, a refund or replacement counts as invented when none of those
say it; an action reported as done (已为您提交…) always does, since the model took none.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import jieba

from contentgen.facts import (
    chinese_number,
    fact_kept,
    finding,
    missing,
    normalize,
    quantities,
)

# ------------------------------------------------------------------ what the reply may draw on


@dataclass(frozen=True)
class ReplyGrounds:
    message: str = ""
    context: tuple[dict[str, str], ...] = ()
    order: str = ""
    # Knowledge-base entries given to the model ({"question", "answer", ...}), best first.
    entries: tuple[dict[str, str], ...] = ()
    # Whether the first entry answers the message (retrieval was confident), so its facts must be in the reply.
    answering: bool = False

    @property
    def customer_text(self) -> str:
        return " ".join([*(t.get("text", "") for t in self.context if t.get("role") != "agent"), self.message])

    @property
    def shown_entries(self) -> tuple[dict[str, str], ...]:
        """The entries in the model's prompt: only the answering one when there is one."""
        return self.entries[:1] if self.answering else self.entries

    @property
    def policy_text(self) -> str:
        """What the shop has said: the entries shown, order facts and the agent's earlier turns (a
        promise taken from an entry the model was not shown is invented all the same)."""
        return normalize(" ".join([self.order, *(e.get("answer", "") for e in self.shown_entries),
                                   *(t.get("text", "") for t in self.context if t.get("role") == "agent")]))


# ------------------------------------------------------------------ loops and placeholders

LOOP_SPAN = 4          # characters; a span this long said LOOP_TIMES times is a loop
LOOP_TIMES = 3
DIGIT_RUN = 8          # an order or phone number the input does not contain is invented
PLACEHOLDER = re.compile(r"\[[^\[\]\n]{1,8}\]|【[^【】\n]{0,6}(?:姓名|数字|订单|电话|时间|地址|金额)[^【】\n]{0,6}】|"
                         r"XX+|xx+|某某|\*{3,}|(?:此处|这里)填写")


def check_loops(grounds: ReplyGrounds, text: str) -> list[dict]:
    found = []
    plain = re.sub(r"\s", "", text)
    counted: set[str] = set()
    for start in range(len(plain) - LOOP_SPAN + 1):
        span = plain[start:start + LOOP_SPAN]
        if span in counted or not re.search(r"[\u4e00-\u9fff]", span):
            continue
        counted.add(span)
        if plain.count(span) >= LOOP_TIMES:
            at = text.find(span)
            found.append(finding(at, at + len(span), span, "重复", f"“{span}”出现了 {plain.count(span)} 次，回复在打转",
                                 "只说一遍，删掉重复的句子"))
            break
    sentences = [s.strip("，。！？!?,. ") for s in re.split(r"[。！？!?\n]", text)]
    seen: set[str] = set()
    for sentence in sentences:
        if len(sentence) >= 6 and sentence in seen:
            at = text.rfind(sentence)
            found.append(finding(at, at + len(sentence), sentence, "重复", "同一句话说了两遍", "删掉重复的一句"))
            break
        seen.add(sentence)
    source = re.sub(r"\D", " ", grounds.customer_text + " " + grounds.order + " " + grounds.policy_text)
    for run in re.finditer(rf"\d{{{DIGIT_RUN},}}", text):
        if run.group(0) not in source:
            found.append(finding(run.start(), run.end(), run.group(0), "编造的号码",
                                 "这串数字不在顾客消息和订单信息里（编造的订单号或电话）", "删掉，需要时请顾客提供"))
    return found


def check_placeholders(grounds: ReplyGrounds, text: str) -> list[dict]:
    return [finding(m.start(), m.end(), m.group(0), "占位符", f"“{m.group(0)}”是没有填写的占位符",
                    "换成真实信息，或删掉这句") for m in PLACEHOLDER.finditer(text)]


# ------------------------------------------------------------------ promises nobody made

_NUMBER = r"(?:\d+(?:\.\d+)?|[一二两三四五六七八九十百]+)"
# (pattern, what it promises): supported when the same words are in the policy text.
PROMISES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"{_NUMBER}\s*(?:元|块钱?)"), "金额"),
    (re.compile(rf"{_NUMBER}\s*个?(?:工作日|小时|天|分钟|周|个月)(?:内|之内|以内)?"), "时限"),
    (re.compile(r"赔偿|补偿|赔付|返现|红包|代金券|优惠券|免单|全额退款|退还差价|差价|积分补偿|运费险"), "补偿"),
    (re.compile(r"退款|退货|换货|补发|重新发货|重发|退回|上门取件|免费维修|维修"), "售后办法"),
)
# Something reported as done: the model did nothing.
ACTION_TAKEN = re.compile(r"(?:已经?|现已|已为|已帮)(?:为您|帮您|给您|替您)?(?:提交|登记|反馈|申请|安排|办理|处理|退款|补发|"
                          r"加急|催促|催件|联系|备注|升级|上报|转交|转达|记录|发货|寄出|核实|取消|修改|更换|开具|开票|电话通知|通知)")
# The same told as the agent's own deed: “我帮你联系了”, “这边已为您催促了”.
DEED_DONE = re.compile(r"(?:帮|为|给|替)(?:您|你)[^，。！？,.!?]{0,6}?(?:提交|登记|反馈|申请|安排|办理|处理|联系|催促|催|备注|"
                       r"升级|上报|核实|取消|修改|退款|补发|通知)(?:过)?了")
PROMISE_WORDS = re.compile(r"保证|承诺|一定(?:会|给|帮|为)|肯定(?:会|给|能)|绝对")


def _said(term: str, policy: str) -> bool:
    folded = normalize(term).replace(" ", "")
    if folded in policy.replace(" ", ""):
        return True
    given = {(q.value, q.unit) for q in quantities(policy)}
    amounts = quantities(folded)
    return bool(amounts) and all((q.value, q.unit) in given for q in amounts)


def check_promises(grounds: ReplyGrounds, text: str) -> list[dict]:
    policy = grounds.policy_text
    found = []
    for pattern, kind in PROMISES:
        for match in pattern.finditer(text):
            term = match.group(0)
            if kind == "时限":  # 7天内 is said when 7天 is
                term = re.sub(r"(?:之|以)?内$", "", term)
            if not _said(term, policy) and not _said(term, normalize(grounds.customer_text)) or \
                    (kind in ("金额", "补偿") and not _said(term, policy)):
                found.append(finding(match.start(), match.end(), match.group(0), "无依据的承诺",
                                     f"“{match.group(0)}”（{kind}）不在知识库条目和订单信息里",
                                     "只说知识库写明的政策；需要例外处理时转人工"))
    # “如果您的订单已经发货” repeats the customer's state and “已发货的订单请拒收” the entry's words: not
    # an action the model reports as taken.
    said = re.sub(r"\s", "", grounds.customer_text + grounds.order + policy)
    for match in [*ACTION_TAKEN.finditer(text), *DEED_DONE.finditer(text)]:
        if match.group(0) in said or re.sub(r"^已经?", "已", match.group(0)) in said:
            continue
        found.append(finding(match.start(), match.end(), match.group(0), "无依据的承诺",
                             f"“{match.group(0)}”说成已经做了，但没有人做过这件事", "改成请顾客怎么做，或转人工处理"))
    for match in PROMISE_WORDS.finditer(text):
        found.append(finding(match.start(), match.end(), match.group(0), "无依据的承诺",
                             f"“{match.group(0)}”是客服不能替公司作出的保证", "删掉保证的说法"))
    return found


# ------------------------------------------------------------------ the entry that answers

_QUOTED = re.compile(r"[“\"]([^”\"]{2,12})[”\"]")
_POLICY_UNITS = r"个?(?:工作日|小时|天|分钟|秒|周|个月|年|元|积分|期|台|次|件)"
# 7天, 1-3个工作日, 1.5小时, 9:00-22:00, IPX4: the amounts and codes a policy turns on.
POLICY_AMOUNT = re.compile(rf"\d+(?:\.\d+)?(?:\s*[-~至到]\s*\d+(?:\.\d+)?)?\s*{_POLICY_UNITS}|"
                           r"\d{1,2}[:：]\d{2}(?:\s*[-~至到]\s*\d{1,2}[:：]\d{2})?|[a-z]+\d+[a-z\d]*", re.IGNORECASE)
_WORD_NUMBER = re.compile(rf"[零一二两三四五六七八九十百]+(?={_POLICY_UNITS})")


def key_facts(answer: str) -> list[str]:
    """What a reply from this entry must carry: its amounts, times and codes, and the buttons it names."""
    facts = [m.group(0).replace(" ", "") for m in POLICY_AMOUNT.finditer(normalize(answer))]
    facts += _QUOTED.findall(answer)
    return list(dict.fromkeys(facts))


def _plain(text: str) -> str:
    """Normalised, without spaces, numbers in words as digits (七天 is 7天)."""
    folded = re.sub(r"\s", "", normalize(text))
    return _WORD_NUMBER.sub(lambda m: _number_text(m.group(0)), folded)


def _number_text(words: str) -> str:
    value = chinese_number(words)
    return words if value is None else f"{value:g}"


def mentions(fact: str, text: str) -> bool:
    """The reply says the fact: verbatim, its numbers with their unit (1到3个工作日 for 1-3个工作日),
    or most of its words (重新配对一下 for 重新配对)."""
    fact_plain, plain = _plain(fact), _plain(text)
    if fact_plain in plain:
        return True
    numbers = re.findall(r"\d+(?:\.\d+)?", fact_plain)
    if numbers:
        unit = re.sub(r"^个", "", re.sub(r"[\d.\-~至到:：]", "", fact_plain))
        said = set(re.findall(r"\d+(?:\.\d+)?", plain))
        return all(n in said for n in numbers) and unit in plain
    return fact_kept(fact, text)


# Words too common in any reply to show that the entry was used.
_COMMON = {"我们", "您的", "可以", "需要", "如果", "或者", "就是", "即可", "只需", "一起", "进行", "时候"}


def _content_words(text: str) -> list[str]:
    return [w for w in dict.fromkeys(jieba.cut(normalize(text)))
            if len(w) >= 2 and re.search(r"[\u4e00-\u9fffa-z0-9]", w) and w not in _COMMON]


ENTRY_WORDS_USED = 3  # fewer of the answering entry's words than this: the reply did not use it


def entry_words_used(answer: str, text: str) -> int:
    plain = re.sub(r"\s", "", normalize(text))
    return sum(w in plain for w in _content_words(answer))


def check_grounded(grounds: ReplyGrounds, text: str) -> list[dict]:
    if not grounds.answering or not grounds.entries:
        return []
    entry = grounds.entries[0]
    # An evasive or made-up answer (“请问您需要开具增值税专用发票吗？”, “北京有实体店可以试听”) shares
    # almost no words with the entry, whether or not the entry has amounts to check.
    needed = min(ENTRY_WORDS_USED, len(_content_words(entry.get("answer", ""))))
    if entry_words_used(entry.get("answer", ""), text) < needed:
        return [missing(entry.get("answer", ""), "没有用知识库", f"知识库条目“{entry.get('question', '')}”回答了这个问题，"
                        "回复却几乎没有用到它的内容", "按条目写出具体的答案、步骤和条件")]
    facts = key_facts(entry.get("answer", ""))
    kept = [f for f in facts if mentions(f, text)]
    if len(kept) >= math.ceil(len(facts) / 2):
        return []
    left = "、".join(f for f in facts if f not in kept)
    return [missing(left, "没有用知识库", f"知识库条目“{entry.get('question', '')}”回答了这个问题，"
                    f"回复却没有写出其中的要点（{left}）", "按条目写出具体步骤和条件")]


def contradicted(entry_answer: str, text: str) -> list[str]:
    """Amounts in the reply that share a unit with the entry's but not a value (15天 where it says 7天)."""
    given: dict[str, set[float]] = {}
    for q in quantities(normalize(entry_answer)):
        if q.unit:
            given.setdefault(q.unit, set()).add(q.value)
    return [q.text for q in quantities(normalize(text)) if q.unit in given and q.value not in given[q.unit]]


# ------------------------------------------------------------------ what an agent cannot send

# A chat window shows Markdown as symbols, and a numbered list of causes and steps reads like a
# manual, not like an agent (seen: “1. **确认订单状态**：…”, “可能是由于以下几个原因导致的：1. …”).
LIST_LINE = re.compile(r"^\s*(?:\d{1,2}[.、)）]|[-•·]|第[一二三四五]步[：:，,])\s*\S", re.MULTILINE)
MARKDOWN = re.compile(r"\*\*|__|^\s{0,3}#{1,6}\s|`", re.MULTILINE)


# The model talking about its task instead of to the customer (seen: “好的，让我们一步步来解决这个问题：
# 1. 确认问题：顾客提到…”, “根据之前的知识库中的回答”, “客服回复：”).
TASK_TALK = re.compile(r"让我们|一步步|按照你的要求|(?:下一句|以下)?客服(?:的下一句)?回复[是：:]|下一句回复|"
                       r"(?:顾客|用户)(?:提到|询问|问的是|想知道|的问题是)|知识库|条目|"
                       r"我(?:需要|会)(?:先)?(?:确认|解释|回答|建议你)")


def check_format(grounds: ReplyGrounds, text: str) -> list[dict]:
    found = [finding(m.start(), m.end(), m.group(0), "不是回复", f"“{m.group(0)}”是在讲怎么答题，不是对顾客说的话",
                     "直接对顾客说处理办法") for m in TASK_TALK.finditer(text)][:1]
    found += [finding(m.start(), m.end(), m.group(0), "格式", "Markdown 符号贴到聊天窗口里会原样显示",
                     "删掉符号，写成普通的句子") for m in MARKDOWN.finditer(text)][:1]
    items = list(LIST_LINE.finditer(text))
    if len(items) >= 2:
        found.append(finding(items[0].start(), items[-1].end(), text[items[0].start():items[-1].end()], "格式",
                             "回复写成了分点清单，不像客服在聊天", "写成一两句连贯的话，只留条目里的步骤"))
    return found


# An e-mail, a web address or a hotline the shop never gave: the customer would write to nobody
# (seen: “customer-service@example.com”).
CONTACT = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+|https?://[^\s，。；]+|www\.[^\s，。；]+|"
                     r"\b(?:400|800)[-\s]?\d{3}[-\s]?\d{4}\b|\b0\d{2,3}-\d{7,8}\b|\b1[3-9]\d{9}\b", re.ASCII)
# Guessing why something broke: the customer reads it as the shop's diagnosis.
GUESSED_CAUSE = re.compile(r"以下几[个种点]原因|(?:可能|或许|也许|大概)(?:是|会)?(?:由于|因为)[^。！？\n]{1,30}|"
                           r"(?:可能|或许|也许)[^。！？\n]{1,20}(?:导致|造成|引起)的?")


# A quoted button, page or menu (“我的淘宝”-“我的发票”, “确认退款”): the customer goes looking for it.
QUOTED = re.compile(r"[“\"「『]([^”\"」』]{1,12})[”\"」』]")
# A greeting after the opening: two replies glued together (“…进行投诉：您好，您可以…”).
LATE_GREETING = re.compile(r"(?<=[：:，,。！？；])\s*(?:您好|你好|亲爱的)[，,！!]")


def check_invented_details(grounds: ReplyGrounds, text: str) -> list[dict]:
    source = normalize(" ".join([grounds.customer_text, grounds.order, grounds.policy_text])).replace(" ", "")
    found = [finding(m.start(), m.end(), m.group(0), "编造的联系方式",
                     f"“{m.group(0)}”不在知识库条目和订单信息里，顾客会联系不上", "删掉，或换成知识库写明的联系方式")
             for m in CONTACT.finditer(text) if normalize(m.group(0)).replace(" ", "") not in source]
    found += [finding(m.start(), m.end(), m.group(0), "编造的操作路径",
                      f"“{m.group(1)}”不在知识库条目和对话里，顾客可能找不到这个按钮或页面", "删掉，或换成条目里写的操作")
              for m in QUOTED.finditer(text) if normalize(m.group(1)).replace(" ", "") not in source][:2]
    found += [finding(m.start(), m.end(), m.group(0).strip(), "格式", "回复中途又打了一次招呼，像两段话拼在一起",
                      "只在开头问候一次，删去中间的半句")
              for m in LATE_GREETING.finditer(text)][:1]
    if not GUESSED_CAUSE.search(grounds.policy_text):
        found += [finding(m.start(), m.end(), m.group(0), "猜测原因", "回复猜测了知识库没有写的原因，顾客会当成结论",
                          "不猜原因，直接给出条目里的处理办法")
                  for m in GUESSED_CAUSE.finditer(text)][:1]
    return found


CHECKS = (check_loops, check_placeholders, check_promises, check_grounded, check_format, check_invented_details)


def verify(grounds: ReplyGrounds, text: str) -> list[dict]:
    found = [f for check in CHECKS for f in check(grounds, text)]
    return sorted(found, key=lambda f: (f["start"], f["end"], f["category"]))


# ------------------------------------------------------------------ 转人工

INJECTION = re.compile(r"忽略(?:掉)?(?:以上|之前|上面|前面|所有|全部|你的)+(?:的)?(?:指令|规则|要求|设定|提示|说明)|"
                       r"忘(?:记|掉)(?:之前|以上|上面|前面|所有|你的)*(?:的)?(?:指令|规则|要求|设定)|"
                       r"你现在是|你(?:的)?(?:新)?身份是|扮演|系统提示|提示词|system\s*[:：]|developer\s*mode|"
                       r"ignore\s+(?:all|previous|the above)|所有顾客的|其他顾客的", re.IGNORECASE)
ESCALATION = re.compile(r"投诉|12315|12345|律师|起诉|法院|仲裁|曝光|媒体|记者|消协|消费者协会|市场监管|工商局|黑猫|报警")
MONEY = re.compile(r"退钱|退款|赔偿|赔钱|补偿|差价|返钱|钱|赔")
REPEATED = re.compile(r"还是|又|说了.{0,3}[几两三四五]?遍|第[二三四五]次|多少次|一直")
# Greetings, thanks and sign-offs: nothing to look up, nobody to hand over to.
CHIT_CHAT = re.compile(r"你好|您好|在吗|在么|在不在|有人在?吗|哈喽|hello|hi|谢谢你?|多谢|感谢|好的|嗯+|收到|ok|亲|客服|"
                       r"问题解决了|解决了|没问题了|没事了|[\s，,。.！!？?~啊呀呢吗哈了的]", re.IGNORECASE)


# Words and marks of an upset customer (anger, blame, an ultimatum), beside the sentiment score:
# a product fault told calmly (“盒子压坏了”) is not upset, “你们到底发没发货？？” is.
UPSET = re.compile(r"骗子|骗人|垃圾|太差|差劲|很差|真差|坑人|坑爹|被坑|烦死|好烦|很烦|真烦|失望|生气|气死|无语|离谱|恶心|"
                   r"受不了|怎么做事|搞什么|什么玩意|到底|究竟|凭什么|不要脸|欺骗|忽悠|敷衍|态度.{0,3}差|质量.{0,3}差|"
                   r"[!！]{2,}|[?？]{2,}|退钱|赔偿|投诉|曝光|12315|律师|差评|再不|说了.{0,3}遍|多少次|赶紧")


def sounds_upset(message: str) -> bool:
    return bool(UPSET.search(message))


NO_ENTRY = "无相关知识"


@dataclass(frozen=True)
class Handoff:
    needed: bool
    reason: str = ""  # shown to the agent: why a person should answer

    def as_dict(self) -> dict:
        return {"handoff": self.needed, "reason": self.reason}


def _bigrams(text: str) -> set[str]:
    plain = re.sub(r"[^\u4e00-\u9fff\w]", "", text)
    return {plain[i:i + 2] for i in range(len(plain) - 1)}


# The customer says they have asked before: “说了三遍”, “第三次问”, “问了多少次”.
SAID_BEFORE = re.compile(r"说了.{0,3}遍|问了.{0,3}遍|第[二三四五六七八九十几\d]+次|多少次|好几次")


def repeated_complaint(grounds: ReplyGrounds) -> bool:
    """The customer has raised the same thing before in this conversation and says so again."""
    earlier = [t.get("text", "") for t in grounds.context if t.get("role") != "agent"]
    if earlier and SAID_BEFORE.search(grounds.message):
        return True
    if len(earlier) < 2:
        return False
    now = _bigrams(grounds.message)
    similar = sum(1 for text in earlier if now and len(now & _bigrams(text)) / len(now) >= 0.4)
    return similar >= 1 and bool(REPEATED.search(grounds.message)) or similar >= 2


def is_chit_chat(message: str) -> bool:
    return bool(message.strip()) and not CHIT_CHAT.sub("", message.strip())


def handoff_before(grounds: ReplyGrounds, *, relevant: bool, upset: bool) -> Handoff:
    """What the message alone says: reasons a person must answer, whatever the model writes."""
    message = grounds.message
    if INJECTION.search(message):
        return Handoff(True, "指令注入：消息试图改变助手的规则或身份")
    if ESCALATION.search(message):
        return Handoff(True, "投诉升级：顾客提到投诉、12315、律师或曝光")
    if repeated_complaint(grounds):
        return Handoff(True, "重复投诉：顾客在本次对话中再次反映同一问题")
    if upset and MONEY.search(message):
        return Handoff(True, "情绪+金钱：顾客不满并涉及退款或赔偿")
    if not relevant and not is_chit_chat(message):
        return Handoff(True, f"{NO_ENTRY}：知识库里没有能回答这个问题的条目")
    return Handoff(False)


def handoff_after(before: Handoff, findings: Sequence[dict]) -> Handoff:
    """A reply that still has findings is not trusted to go out alone."""
    if before.needed or not findings:
        return before
    return Handoff(True, "低置信：回复仍有问题（" + "、".join(sorted({f["category"] for f in findings})) + "）")

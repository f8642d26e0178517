"""What the copy verifier reads: the brief (what the user gave), the platform's lengths and
the patterns of text that is not copy (placeholders, assistant talk, labels, outlines)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import jieba

from contentgen.facts import normalize

UNCHECKED = ("无法自动核实：形容词和主观描述（如“口感软糯”“音质出色”）是否属实、没有数字的功效说法是否成立、"
             "不在“含有/采用/搭载”等说法后面的成分或配置、不带品牌名的其他商品、文案与图片是否一致，请发布前人工确认。")

# Target length in Chinese characters (篇幅) and the share it may miss by.
LENGTHS: dict[str, int] = {"短": 80, "中": 200, "长": 400}
# Shorter is tolerated more than longer: a platform cuts what is too long, a reader skims.
LENGTH_TOLERANCE = (0.4, 0.3)
# Platforms whose own limit wins over 篇幅: (fewest, most) characters.
PLATFORM_LIMITS: dict[str, tuple[int, int]] = {"微博": (40, 140), "朋友圈": (20, 100)}
# Platforms that must keep every given fact; the others keep those with a number or unit.
ALL_FACTS_PLATFORMS = ("电商详情", "新闻稿")
TITLE_MAX_CHARS = {"小红书": 20, "新闻稿": 40}

SENTENCE_END = "。！？!?…\n"
EMOJI = re.compile("[\U0001F300-\U0001FAFF\U00002600-\U000027BF\U0001F000-\U0001F2FF\u2B50\u2B55\u203C\u2049]")
XHS_TAG = re.compile(r"#([^\s#，。！？,.!?]{1,20})")
WEIBO_TOPIC = re.compile(r"#[^#\n]{1,30}#")

# ---------------------------------------------------------------- claims the input must give
# (category, rule, terms): a term in the output that the input does not contain is a finding.
CLAIMS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("编造认证或奖项", "输入未提供该认证、标准或奖项，《广告法》第二十八条：虚构的认证属虚假广告",
     ("3c", "ccc", "cqc", "iso", "fda", "ce认证", "gmp", "sgs", "有机认证", "绿色食品", "无公害", "地理标志",
      "专利", "质检", "检测报告", "认证", "获奖", "金奖", "大奖", "红点", "设计奖", "荣获", "驰名商标", "老字号",
      "非遗", "新国标", "国标", "欧盟标准", "母婴级", "食品级", "医用级", "军工级", "航空级", "权威", "推荐品牌")),
    ("编造产地或来源", "输入未提供该产地或来源",
     ("进口", "原装", "国外", "海外", "外国", "德国", "日本", "美国", "法国", "意大利", "瑞士", "英国", "韩国",
      "澳洲", "澳大利亚", "新西兰", "丹麦", "瑞典", "荷兰", "比利时", "西班牙", "泰国", "欧洲", "北欧", "欧美",
      "日韩", "北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽",
      "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南", "陕西", "甘肃",
      "青海", "台湾", "内蒙古", "广西", "西藏", "宁夏", "新疆", "香港", "澳门", "东北", "五常", "杭州", "深圳",
      "广州", "成都", "武汉", "南京", "苏州", "宁波", "厦门", "丹东", "和田", "景德镇", "义乌")),
    ("编造承诺或优惠", "输入未提供该售后承诺、价格或优惠，不能替商家许诺",
     ("承诺", "包退", "包换", "包邮", "无理由", "退换", "退货", "退款", "质保", "保修", "终身", "售后",
      "技术支持", "赔付", "假一赔", "正品保障", "运费险", "顺丰", "次日达", "送货上门", "免费安装", "赠品",
      "赠送", "限时", "优惠", "折扣", "打折", "秒杀", "优惠券", "满减", "原价", "特价", "低至", "免费试用",
      "买一送一", "到手价", "直降", "免费体验", "免费领", "免费配送", "免运费", "免邮", "会员")),
    ("编造销量或口碑", "输入未提供销量、排名或口碑数据，不能虚构",
     ("销量", "热销", "爆款", "好评率", "回购", "万人", "网红同款", "明星同款", "断货", "售罄", "抢购一空",
      "口碑", "好评", "深受", "排行榜", "榜单", "国内领先", "行业领先", "领导品牌", "知名品牌", "值得信赖",
      "信赖的品牌")),
    ("编造研发或工艺来源", "输入未提供研发、专利或独家工艺的信息，不能虚构",
     ("自主研发", "独家", "研发团队", "科研团队", "专利技术", "黑科技")),
    ("编造公司信息", "输入未提供公司全称或背景，不能虚构（新闻稿里的公司名须与营业执照一致）",
     ("有限公司", "股份公司", "集团", "科技公司", "成立于", "创立于", "旗下品牌")),
)

PLACEHOLDERS = re.compile(
    r"\[[^\]\n]{1,20}\]|【[^】\n]{0,12}(?:名字|姓名|日期|时间|职位|电话|地址|链接|公司|品牌名|产品名|价格|联系方式|此处|xx)[^】\n]{0,12}】"
    r"|[xX×]{2,}|某某|（此处[^）\n]*）|\(此处[^)\n]*\)|<[^>\n]{1,20}>|\{[^}\n]{1,20}\}|_{3,}"
    r"|[（(](?:链接|网址|图片|视频|二维码|地址)[)）]",
)
ASSISTANT_TALK = re.compile(
    r"以上(?:内容|文案)|仅为示例|仅供参考|希望(?:对你|对您|能)[^。！\n]{0,6}帮助|以下是|下面是|这篇文案|这段文案|"
    r"文案如下|根据(?:您|你)(?:提供|给出)|如有需要|如需(?:调整|修改)|可以根据(?:具体|实际)|请注意[,，:：]|"
    r"作为(?:一个|一名)?(?:AI|人工智能|语言模型|文案|助手)|当然可以|好的[，,！!]|为(?:您|你)(?:撰写|写了|创作)|"
    r"字数[:：约]|(?:共|约)\d+字|请随时告诉我|有任何问题|需要(?:任何)?帮助|祝你生活愉快|"
    # Seen in 新闻稿 the product marked publishable (issue 37): a note on the copy and an offer to the user.
    r"以上(?:为|是)[^。！？\n]{0,12}文案|内容与(?:给定|提供|您提供)的?[^。！？\n]{0,10}(?:一致|相符)|"
    r"(?:如果|如)(?:您)?(?:还)?有(?:其他|任何|别的)[^。！？\n]{0,6}(?:需求|问题|需要)|请随时(?:告知|联系|与我)|"
    r"希望[^。！？\n]{0,8}符合(?:您|你)的(?:要求|需求|预期)|请您确认",
    re.IGNORECASE,
)
# A verb left without its object, as a repair that drops an unsupported word leaves it ("采用设计" from
# "采用人体工学设计"): not a whole sentence.
MISSING_WORD = re.compile(r"(?:采用|搭载|配备|选用|使用|运用|拥有|具备)(?:了)?(?:设计|工艺|材质|技术|面料|配方)(?=[，,。！？!?、；;\s]|$)")
# A press release is read by the public in a reporter's register: no address to the reader, no sales push.
NEWS_READER_TALK = re.compile(r"期待(?:您|你|大家)的?|欢迎(?:您|你|大家)|尊敬的|亲爱的|立即(?:购买|下单|抢购|体验)|"
                              r"赶快|快来|不要错过|敬请期待")
FIELD_LABELS = re.compile(
    r"(?m)^\s*[*#【\[]*\s*(标题|正文|文案|平台|语气|篇幅|(?:主要|核心|产品)?卖点|话题标签|尾部|(?:发布|活动)?(?:时间|地点)|发布方|发布内容|商品|商品名称|品牌|话题|标签|导语|开头|结尾|口播|"
    r"脚本|镜头|画面|字数|注意事项|商品属性|目标人群|结语|引导|钩子|行动号召|CTA|新闻标题|副标题)\s*[0-9一二三四五六]*\s*[\]】*]*\s*[:：]",
    re.IGNORECASE,
)
MARKDOWN = re.compile(r"\*\*|__|^\s*#{1,6}\s+|^\s*[-*]{3,}\s*$|^\s*[-•·*]\s*(?=\S)", re.MULTILINE)
# A label glued to its line (标题醇享…, 【正文一】…), a note line (注意：…), a list marker (1. 2、 ①).
GLUED_LABEL = re.compile(r"(?m)^\s*(?:标题|正文|导语)(?=[\u4e00-\u9fff，,])|"
                         r"【(?:正文|标题|导语|结尾|尾部|开头|结语|引言|段落)[^】\n]{0,3}】")
# “免打孔安装：我们的晾衣架……” lines: a heading and its explanation (an outline when two or more).
OUTLINE_LINE = re.compile(r"(?m)^\s*([^\n：:，。！？]{2,10})[:：][ \t　]*(?=\S)")
QUOTED_LINE = re.compile(r'(?m)^[ \t]*["“「][^"“”「」\n]*["”」][ \t]*$')
NOTE_LINE = re.compile(r"(?m)^\s*(?:注意|备注|说明|注)[:：].*$")
LIST_MARKER = re.compile(r"(?m)^\s*(?:\d{1,2}[.、)）](?!\d)|[（(]\d{1,2}[)）]|[①-⑩])\s*")
# A note to the user in brackets: “（结尾引导点击购物车下单）”, “(注意：最后一句…)”.
STAGE_NOTE = re.compile(r"[（(【\[][^）)】\]\n]{0,30}(?:注意|结尾|开头|引导|此处|备注|提示|镜头|画面|字数|说明|配乐|背景音乐|"
                        r"旁白|音效|停顿|字幕)[^）)】\]\n]{0,40}[）)】\]]")
# A line that is only a short bracketed heading (【开场白】【推荐理由】) is an outline, not copy.
BRACKET_LABEL = re.compile(r"(?m)^\s*(?:[【\[][^】\]\n]{1,6}[】\]]|标题|正文|导语|开头|结尾|话题|标签|新闻标题)\s*$")
# 【亮点】：… inside a line, or a bracketed slogan (【加入我们，享受更好的体验】): an outline's heading.
INLINE_LABEL = re.compile(r"【[^】\n]{1,6}】\s*[:：]|//[^/\n]{0,10}//")
BRACKET_SLOGAN = re.compile(r"【([^】\n]{0,20}[，,！!][^】\n]{0,20}|[^】\n]{11,})】")
# 【生活品质】【科技引领】【超长续航】: bracketed keywords in a row are a list of slogans, not copy.
BRACKET_RUN = re.compile(r"(?:【[^】\n]{1,10}】\s*){2,}")
# A line that stops on a comma (“50g装，” before the tags): the sentence was cut off.
UNFINISHED = re.compile(r"[，,、；;]+[ \t]*(?=\n|$)")
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")
CALL_TO_ACTION = ("购物车", "小黄车", "下单", "点击", "链接", "抢", "入手", "拍下", "冲", "买", "囤", "戳", "关注",
                  "评论区", "直播间")
# A span this long seen twice (punctuation aside) is a repeated phrase, unless the input has it.
REPEAT_SPAN = 10
LOOP_SPAN = 6


@dataclass(frozen=True)
class Brief:
    """What the user gave, as the verifier reads it."""

    product: str = ""
    brand: str = ""
    facts: tuple[str, ...] = ()
    platform: str = "电商详情"
    length: str = "中"
    # Text the output may draw on besides the facts (audience, keywords, brand examples).
    context: str = ""

    @property
    def source(self) -> str:
        return normalize(" ".join([self.product, self.brand, *self.facts, self.context]))


def length_bounds(platform: str, length: str) -> tuple[int, int]:
    if platform in PLATFORM_LIMITS:
        return PLATFORM_LIMITS[platform]
    target = LENGTHS.get(length, 200)
    return round(target * (1 - LENGTH_TOLERANCE[0])), round(target * (1 + LENGTH_TOLERANCE[1]))


def last_word(title: str) -> str:
    words = [w for w in jieba.lcut(title) if len(w) > 1]
    return words[-1] if words else title[-4:]

import pytest

from contentgen.privacy import mask_personal_data
from contentgen.tasks import ReplyRequest


@pytest.mark.parametrize("raw, masked", [
    ("我电话13812345678，快点", "我电话[电话]，快点"),
    ("+86 138-1234-5678", "[电话]"),
    ("座机021-12345678", "座机[电话]"),
    ("身份证110101199003071234", "身份证[身份证号]"),
    ("卡号 6222 0212 3456 7890 123", "卡号 [银行卡号]"),
    ("发到a.b@qq.com", "发到[邮箱]"),
    ("寄到浙江省杭州市西湖区文三路123号5栋801室，收件人小王", "寄到[地址]，收件人小王"),
])
def test_personal_data_is_masked(raw, masked):
    assert mask_personal_data(raw) == masked


@pytest.mark.parametrize("text", ["订单 [订单x] 金额 99 元", "2024年3月5日下单", "买了3件，共128元", "型号 X200"])
def test_ordinary_numbers_are_kept(text):
    assert mask_personal_data(text) == text


def test_reply_history_never_holds_the_phone_number(service, store):
    request = ReplyRequest(message="我的电话是13812345678，地址浙江省杭州市西湖区文三路123号，快递还没到",
                           context=({"role": "customer", "text": "身份证110101199003071234"},),
                           order="收件电话 13912345678")
    result = service.generate("reply", request)
    row = store.history.get(result.request_id)
    stored = repr(row.inputs) + row.input_text + "".join(r.text for r in row.results) + row.search_text
    for secret in ("13812345678", "13912345678", "110101199003071234", "文三路"):
        assert secret not in stored
    assert "[电话]" in row.inputs["message"] and "[身份证号]" in row.inputs["context"][0]["text"]

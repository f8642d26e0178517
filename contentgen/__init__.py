"""contentgen: 中文营销文案、客服回复与情感标签。"""

__version__ = "0.1.0"

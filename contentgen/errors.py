"""Errors whose message is shown to the user as is (in Chinese, saying what to do)."""


class UserFacingError(Exception):
    pass

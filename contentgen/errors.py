"""Errors whose message is shown to the user as is (in Chinese, saying what to do)."""


class UserFacingError(Exception):
    pass


class NotFound(UserFacingError):
    """What the user asked for does not exist (or is not theirs to see): 404 on the API."""

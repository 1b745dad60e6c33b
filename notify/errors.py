"""What a sender's caller (the worker task) can tell apart."""


class NotifyTransientError(Exception):
    """The send failed in a way that may pass (SMTP or push service down, Redis down): retry
    later with backoff. Nothing was marked sent."""


class NotifyRejected(Exception):  # noqa: N818 - a result, handled inside notify
    """The mail server refused this recipient or message for good: retrying would not help."""

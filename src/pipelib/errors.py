class DataError(Exception):
    """An expected, user-fixable problem with input data or config; its message is one sentence."""

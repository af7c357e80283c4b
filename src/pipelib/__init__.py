"""pipelib: the library behind the sign-language pose pipeline (DARSLP production, SignX recognition)."""

__version__ = "0.1.0"

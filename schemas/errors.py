"""The root of Salvo's exceptions, so callers can catch everything Salvo raises in one place."""


class SalvoError(Exception):
    """Base of every Salvo error. Subclasses say in their docstring what the operator should do."""


class ValidationError(SalvoError, ValueError):
    """Input or configuration is invalid: fix the named file, field or message and try again."""

"""Errors of the alerts package, under Salvo's root `SalvoError` / `ValidationError`."""

from __future__ import annotations

from schemas.errors import ValidationError


class RuleFileError(ValidationError):
    """A rule file is invalid: fix each listed `file:line: reason` and run `salvo rules check FILE` again."""

    def __init__(self, path: str, problems: list[tuple[int, str]]) -> None:
        self.path = path
        self.problems = sorted(problems)
        super().__init__("\n".join(f"{path}:{line}: {reason}" for line, reason in self.problems))

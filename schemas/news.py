"""`NewsItem`: one story on the `news.raw` topic, as any news feed adapter must deliver it."""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, Field

from schemas.base import FeedContract, Identifier, Lang, ShortText, WebUrl

MAX_TITLE = 1_000
MAX_BODY = 20_000


class NewsItem(FeedContract):
    """A headline and optional body. `published_at` is the event time Salvo's windows run on."""

    id: Identifier
    source: ShortText
    url: WebUrl | None = None
    published_at: AwareDatetime
    title: Annotated[str, Field(min_length=1, max_length=MAX_TITLE)]
    body: Annotated[str, Field(max_length=MAX_BODY)] = ""
    lang: Lang | None = None

    @property
    def text(self) -> str:
        """Headline and body as one text, headline first; a blank line keeps the headline its own sentence
        (headlines carry no full stop, and the body often repeats the headline's numbers)."""
        return f"{self.title}\n\n{self.body}" if self.body else self.title

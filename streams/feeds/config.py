"""The sources file of `salvo connect`: which RSS/Atom feeds, air-raid APIs and Telegram export folders it polls.

```yaml
feeds:   [{name: guardian-ukraine, url: "https://…/rss", interval: 5m, lang: en}]
airraid: [{name: alerts-in-ua, interval: 30s}]
telegram: [{name: kpszsu, folder: /exports/kpszsu, channel: kpszsu, lang: uk}]
```

Read strictly (an unknown key or a bad URL is an error with its field), and names are unique: each names the
source's state file and its metrics.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

from streams.feeds.airraid import AirRaidApi
from streams.feeds.poll import Source
from streams.feeds.rss import Feed
from streams.feeds.telegram import TelegramFolder


class Sources(BaseModel):
    """The sources file: the feeds and air-raid APIs `salvo connect` polls."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    feeds: list[Feed] = []
    airraid: list[AirRaidApi] = []
    telegram: list[TelegramFolder] = []

    @classmethod
    def load(cls, path: Path) -> Sources:
        """Read and validate the YAML file."""
        sources = cls.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        names = [source.name for source in sources.all]
        if not names:
            raise ValueError(f"{path}: no feeds, airraid or telegram sources")
        if len(set(names)) != len(names):
            raise ValueError(f"{path}: source names must be unique: {sorted(names)}")
        return sources

    @property
    def all(self) -> list[Source]:
        """Every configured source, feeds first."""
        return [*self.feeds, *self.airraid, *self.telegram]

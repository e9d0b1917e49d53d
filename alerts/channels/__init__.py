"""Channels: one module per receiver type and the explicit table that builds them (no plugin magic)."""

from __future__ import annotations

import httpx
from pydantic import BaseModel, ConfigDict

from alerts.channels.base import Channel, ChannelError, Envelope, classify_status
from alerts.channels.webhook import WebhookChannel, WebhookConfig

__all__ = [
    "Channel",
    "ChannelError",
    "ChannelsConfig",
    "Envelope",
    "build_channels",
    "classify_status",
]


class ChannelsConfig(BaseModel):
    """Process-wide settings of every channel; per-subscription targets say where to deliver."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    webhook: WebhookConfig = WebhookConfig()


def build_channels(config: ChannelsConfig, *, http: httpx.AsyncClient) -> dict[str, Channel]:
    """The channel registry keyed by target `type`: the one table that names every channel."""
    return {
        "webhook": WebhookChannel(config.webhook, client=http),
    }

"""Channels: one module per receiver type and the explicit table that builds them (no plugin magic)."""

from __future__ import annotations

import httpx
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from alerts.channels.alertmanager import AlertmanagerChannel, AlertmanagerConfig
from alerts.channels.base import Channel, ChannelError, Envelope, classify_status
from alerts.channels.email import EmailChannel, EmailConfig
from alerts.channels.kafka import KafkaChannel, KafkaConfig, Producer
from alerts.channels.slack import SlackChannel, SlackConfig
from alerts.channels.webhook import WebhookChannel, WebhookConfig
from alerts.present import DEFAULT_DESK, DeskConfig

__all__ = [
    "Channel",
    "ChannelError",
    "ChannelsConfig",
    "Envelope",
    "build_channels",
    "classify_status",
]


class ChannelsConfig(BaseSettings):
    """Process-wide settings of every channel; per-subscription targets say where to deliver.

    Read from the environment with `__` between levels: `SALVO_EMAIL__HOST=smtp.example.org`,
    `SALVO_EMAIL__PORT=587`, `SALVO_EMAIL__USERNAME`, `SALVO_EMAIL__PASSWORD`, `SALVO_EMAIL__SENDER`,
    `SALVO_EMAIL__STARTTLS=false`, `SALVO_KAFKA__TOPIC_PREFIX`, and the desk's `SALVO_DESK__TIMEZONE`
    (default Europe/Kyiv) and `SALVO_DESK__API_URL` (where incident links point); `SALVO_API_TOKEN`, the
    worker's API token, signs those links (`alerts.links`).
    """

    model_config = SettingsConfigDict(
        env_prefix="SALVO_", env_nested_delimiter="__", extra="ignore", frozen=True
    )

    webhook: WebhookConfig = WebhookConfig()
    slack: SlackConfig = SlackConfig()
    email: EmailConfig = EmailConfig()
    alertmanager: AlertmanagerConfig = AlertmanagerConfig()
    kafka: KafkaConfig = KafkaConfig()
    desk: DeskConfig = DEFAULT_DESK
    api_token: SecretStr | None = None


def build_channels(
    config: ChannelsConfig, *, http: httpx.AsyncClient, producer: Producer | None = None
) -> dict[str, Channel]:
    """The channel registry keyed by target `type`: the one table that names every channel.

    :param producer: a started `AIOKafkaProducer`; without it the `kafka` channel is absent and its
        deliveries dead-letter with "no kafka channel configured".
    """
    desk = config.desk if config.api_token is None else config.desk.model_copy(update={"link_key": config.api_token})
    channels: dict[str, Channel] = {
        "webhook": WebhookChannel(config.webhook, client=http),
        "slack": SlackChannel(config.slack, client=http, desk=desk),
        "email": EmailChannel(config.email, desk=desk),
        "alertmanager": AlertmanagerChannel(config.alertmanager, client=http, desk=desk),
    }
    if producer is not None:
        channels["kafka"] = KafkaChannel(config.kafka, producer=producer)
    return channels

"""The Kafka channel: matching alerts as Alert JSON on a topic of the subscriber's choice.

The producer is injected (an `aiokafka.AIOKafkaProducer` the worker starts and stops), so this module only
formats and classifies; the idempotency key travels as a record header and the alert id as the record key.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from alerts.channels.base import ChannelError, Envelope
from schemas.delivery import FailureReason
from schemas.subscription import KafkaTarget

PAYLOAD_VERSION = "1"


class Producer(Protocol):
    """The part of `AIOKafkaProducer` this channel uses."""

    async def send_and_wait(self, topic: str, value: Any = None, key: Any = None, **kwargs: Any) -> Any: ...


class KafkaConfig(BaseModel):
    """Process-wide Kafka channel settings.

    :param topic_prefix: prepended to every subscription's topic, as Salvo's own topics are.
    :param timeout_s: how long to wait for the acknowledgement; a producer with no reachable broker
        would otherwise wait for metadata forever and stall the pipeline.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    topic_prefix: str = ""
    timeout_s: Annotated[float, Field(gt=0, le=300)] = 30.0


def build_record(envelope: Envelope) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """Key (alert id), value (Alert JSON) and headers (idempotency key, payload version)."""
    headers = [
        ("idempotency-key", envelope.idempotency_key.encode()),
        ("salvo-payload-version", PAYLOAD_VERSION.encode()),
        ("salvo-subscription", envelope.subscription.name.encode()),
    ]
    return envelope.alert.id.encode(), envelope.alert.model_dump_json().encode(), headers


class KafkaChannel:
    """Produces one record per delivery and waits for the broker's acknowledgement."""

    def __init__(self, config: KafkaConfig, *, producer: Producer) -> None:
        self._config = config
        self._producer = producer

    async def send(self, envelope: Envelope) -> None:
        """Produce and wait; broker errors are retryable, an oversized alert is not."""
        from aiokafka.errors import KafkaError, MessageSizeTooLargeError

        target = envelope.subscription.target
        assert isinstance(target, KafkaTarget)
        key, value, headers = build_record(envelope)
        topic = self._config.topic_prefix + target.topic
        try:
            await asyncio.wait_for(
                self._producer.send_and_wait(topic, value=value, key=key, headers=headers),
                timeout=self._config.timeout_s,
            )
        except TimeoutError:
            detail = f"no acknowledgement within {self._config.timeout_s}s"
            raise ChannelError("produce to Kafka", detail, reason=FailureReason.TIMEOUT) from None
        except MessageSizeTooLargeError as error:
            raise ChannelError("produce to Kafka", str(error), reason=FailureReason.CLIENT) from None
        except (KafkaError, OSError) as error:
            raise ChannelError(
                "produce to Kafka", f"{type(error).__name__}: {error}", reason=FailureReason.SERVER
            ) from None

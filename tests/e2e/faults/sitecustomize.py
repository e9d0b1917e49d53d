"""A fault for `salvo worker` children of the tests: fetched records dropped inside faust, once each.

On `PYTHONPATH`, Python imports this module at start-up. With `SALVO_TEST_DROP_FETCHED=<topic>:<first>-<last>`
(the topic unprefixed, the offsets inclusive, partition 0), faust's `Consumer.getmany` leaves those records
out the first time it fetches them, as faust itself does with a batch it stops handing over mid-way (a flow
stop or a generation change; see `streams.worker.reread`): aiokafka's position has moved past them, and no
stream ever sees them. Without the variable nothing is changed.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

SPEC = os.environ.get("SALVO_TEST_DROP_FETCHED")

if SPEC:
    from faust.transport.consumer import Consumer

    topic_suffix, _, span = SPEC.rpartition(":")
    first, _, last = span.partition("-")
    pending = set(range(int(first), int(last) + 1))
    fetch = Consumer.getmany

    async def getmany(self: Consumer, timeout: float) -> AsyncIterator[Any]:
        async for tp, message in fetch(self, timeout):
            if tp.partition == 0 and tp.topic.endswith(topic_suffix) and message.offset in pending:
                pending.discard(message.offset)
                print(f"fault: dropped fetched {tp.topic}/0@{message.offset}", flush=True)
                continue
            yield tp, message

    Consumer.getmany = getmany  # type: ignore[method-assign]

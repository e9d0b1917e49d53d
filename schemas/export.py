"""Writing every topic contract as JSON Schema, for producers in other languages."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

import schemas

TOPIC_CONTRACTS: dict[str, type[BaseModel]] = {
    "news.raw": schemas.NewsItem,
    "strikes.raw": schemas.StrikeReport,
    "airraid.raw": schemas.AirRaidAlert,
    "events.classified": schemas.ClassifiedEvent,
    "alerts": schemas.Alert,
    "subscriptions": schemas.Subscription,
    "silences": schemas.Silence,
    "deliveries": schemas.DeliveryRequest,
    "deliveries.log": schemas.DeliveryRecord,
    "deadletter": schemas.DeadLetter,
}


def export_json_schemas(directory: Path) -> list[Path]:
    """Write one `<Model>.schema.json` per contract and return the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for topic, model in TOPIC_CONTRACTS.items():
        schema = model.model_json_schema()
        schema["$comment"] = f"Salvo topic {topic}"
        path = directory / f"{model.__name__}.schema.json"
        path.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n")
        written.append(path)
    return written

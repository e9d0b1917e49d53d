"""`salvo demo --once --json`: the newcomer's first command works end to end and prints delivered alerts."""

from __future__ import annotations

import json
import subprocess
import sys

from streams.broker import free_port


def test_demo_once_delivers_the_seed_story_alert_and_exits_0() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "streams.cli", "demo", "--once", "--json", "--port", str(free_port())],
        capture_output=True, text=True, timeout=240, check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    delivered = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    alerts = [body["alert"] for body in delivered]
    seed = [a for a in alerts if "news:seed-geneva-salvo" in a["event_ids"]]
    assert any(a["rule_id"] == "attack-night" and a["severity"] == "critical" for a in seed)
    assert any(a["rule_id"] == "talks-news" and "Geneva" in a["title"] for a in seed), "talks open in Geneva"
    assert any("strike:kpszsu-2025-09-07-shahed" in a["event_ids"] for a in alerts)
    assert "signature verified" in run.stderr

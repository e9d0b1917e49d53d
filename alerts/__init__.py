"""Alerts: rules on event time, incidents and windows, the backtest, and delivery to subscribers.

The rule core (`rules`, `engine`, `windows`, `incidents`, `watermark`, `backtest`) and routing (`subscriptions`,
`silences`, `outbox`, `delivery`, `channels`) are plain Python: the worker wires them to Kafka in `streams`.
"""

from alerts.backtest import run_backtest
from alerts.engine import Outcome, RuleEngine
from alerts.rules import RuleSet, default_rules, load_rules

__all__ = ["Outcome", "RuleEngine", "RuleSet", "default_rules", "load_rules", "run_backtest"]

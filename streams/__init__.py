"""Streams: the Faust worker and its agents, the embedded broker, feed sources, replay and the CLI.

Import the pieces you need (`streams.app.build_app`, `streams.replay`, `streams.sources`, …); this package
imports nothing itself, so the pure classifier (`streams.classify`) loads without Faust or Kafka.
"""

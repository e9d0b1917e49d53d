"""`python -m streams.cli`: the same as the `salvo` console script (the demo starts its worker this way)."""

from streams.cli import main

main()

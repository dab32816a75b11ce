"""`python -m exhaust` runs the CLI."""

from exhaust.cli import main

main()

"""`python -m exhaust` runs the CLI."""

from exhaust.cli import main

if __name__ == "__main__":  # not when a build process (multiprocessing spawn) imports this module
    main()

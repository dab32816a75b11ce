"""Reports: declarative column profiles over the engine's fields, written as CSV."""

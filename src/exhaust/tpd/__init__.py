"""The cQube TPD feed: scheduled progress-exhaust requests into `diksha_tpd` and its course aggregates."""

"""The cQube TPD feed: scheduled progress-exhaust requests into `diksha_tpd` and its course aggregates.

Importing the package registers nothing: `exhaust.tpd.hooks` registers the feed with the workers'
scheduler, imported when the kinds are needed (`exhaust.jobs.kinds`, loaders added by `exhaust.cli` and
the API).
"""

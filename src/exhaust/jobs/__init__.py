"""Report requests as jobs: the job_request store, workers, and the request lifecycle (SPEC §4)."""

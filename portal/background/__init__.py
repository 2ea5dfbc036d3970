"""Background work: the RQ queues (``queues``), the Task rows the pages read (``models``) and the one
lifecycle every job runs its work in (``lifecycle``: claim, heartbeat, progress, done or failed, resume)."""

"""Background work: the RQ queues (``queues``) and the Task rows the pages read (``models``)."""

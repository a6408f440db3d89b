"""Running a sweep: the worker pool, one target's scan, shards, and the open-file limit."""

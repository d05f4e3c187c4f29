"""The App's queue machinery: deliveries become jobs (`jobs`), run in-process or by RQ
workers on Redis (`redisqueue` web side, `redisworker` worker side) under a per-PR lock
(`prlock`) whose fencing token guards every write (`fencing`), each job handled by the
`runner`; `reconcile` and `recovery` re-queue reviews that were lost."""

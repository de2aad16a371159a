"""Archive-wide jobs on Dask distributed: bulk import, and verify / gc / reindex
sharded by study key.

The driver (the CLI) only lists, groups and reports; every object read or
written happens in tasks on the workers, each through a ``StudyStore`` of
its own and the engine's one commit protocol. See docs/bulk.md.
"""

"""Everything that works on a live cluster, through `kube/` (the only module with an HTTP client):
gathering for `check` and `targets`, install and uninstall, the collector reads, the exporter dial."""

"""Everything that works on a live system: the cluster through `apiclient/` (its only door to the API server:
gathering for `check` and `targets`, install and uninstall, the collector's reads, `stat`'s passes), and
the few things that are not the cluster, each over its own protocol: the exporter's endpoint
(`probe.py`: a TCP dial; `otlp_proof.py` over OTLP/HTTP and `otlp_grpc.py` over OTLP/gRPC: the
credentials proof), a backend's query API (`query.py`) and a dashboard product's API (`dashboards.py`)."""

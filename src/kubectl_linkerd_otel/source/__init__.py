"""Where a command's inputs come from: one Source per run, below the commands and above the cluster.

- live.py `Cluster`: the live cluster, through cluster/ (and its one door, apiclient/), on a connection built
  from kubectl's flags on first use. The only source that reaches the network.
- saved.py `Saved`: a snapshot file (`--snapshot FILE`) or the demo shipped with the plugin (`--demo`).
- files.py `Files`: the files `targets --config FILE --pods FILE` names; the part not given in a file
  comes from the cluster.

Each yields the Snapshot, or the parts of it a command reads, in the same shapes whatever the source:
`check` and `snapshot` take a Snapshot; `targets` a Collector (collector.py), the pods and the
collector's own answers; `stat` the pods and two reads of their proxies. The commands compute (pure)
and render what they get. The offline sources never import cluster/ or apiclient/ (.importlinter says so).
"""

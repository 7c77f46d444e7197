"""kubectl's connection flags as one value: which kubeconfig, context, cluster and user, or a server and
token given directly, and how to talk to it. The command line fills it (commands/options.py); apiclient/
connects with it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional


@dataclass
class KubeOptions:
    kubeconfig: Optional[str] = None
    context: Optional[str] = None
    cluster: Optional[str] = None
    user: Optional[str] = None
    server: Optional[str] = None
    token: Optional[str] = field(default=None, repr=False)
    request_timeout: Optional[float] = None
    as_user: Optional[str] = None
    as_groups: List[str] = field(default_factory=list)
    insecure_skip_tls_verify: bool = False

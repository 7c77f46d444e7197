"""The one door to the API server.

`kubernetes` reads kubeconfig and credentials (kubeconfig.py, exec_credential.py); `Kube` (client.py) makes
every request, through a transport (transport.py: http.client straight to the server, direct.py, or httpx
through a proxy), and we read raw JSON into plain dicts (typed model objects are far too slow for
thousands of pods). Every failure becomes a typed error from errors.py with a one-line message
(failures.py). Every answer is read through the bounded reader (k8s/bounded.py): a size limit per kind of
answer (k8s/limits.py), and `--request-timeout` for the whole request, body included; every answer is
checked at the door and every list page by page (answers.py).
"""
from .answers import Answer, ProxyResponse
from .client import AccessReview, ApplyResult, Kube
from .kubeconfig import KubeOptions
from .resources import Resource, resource, resource_for

__all__ = ["Kube", "KubeOptions", "ApplyResult", "ProxyResponse", "AccessReview", "Answer", "resource",
           "resource_for", "Resource"]

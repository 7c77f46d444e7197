"""A fake Kubernetes API server for tests (see server.py)."""
from .server import FakeApiServer, Fault, Request, Streamed

__all__ = ["FakeApiServer", "Fault", "Request", "Streamed"]

"""What a failed request means, in the one line a user reads: the API server's Status, a TLS handshake
that failed, a connection that could not be made (apiclient/client.py's request loop asks)."""
from __future__ import annotations

import re
import ssl
from typing import Optional


def conflict_details(details: dict) -> dict:
    """Status causes -> [{"field", "manager", "message"}] (manager from `conflict with "x" ...`)."""
    causes = []
    for cause in details.get("causes") or []:
        message = cause.get("message", "")
        match = re.search(r'conflict with "([^"]+)"', message)
        causes.append({"field": cause.get("field", ""), "manager": match.group(1) if match else "",
                       "message": message})
    return {**details, "causes": causes}


def is_status(response) -> bool:
    try:
        return response.json().get("kind") == "Status"
    except (ValueError, AttributeError):
        return False


def is_tls_failure(exc: BaseException) -> bool:
    seen = set()
    current: Optional[BaseException] = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLError):
            return True
        current = current.__cause__ or current.__context__
    text = str(exc)
    return "CERTIFICATE_VERIFY_FAILED" in text or "SSL" in text


def tls_reason(exc: BaseException) -> str:
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text:
        match = re.search(r"certificate verify failed: (.+?)\s*\(_ssl", text)
        return "certificate verify failed" + (f" ({match.group(1).rstrip('.')})" if match else "")
    return failure_reason(exc)


def failure_reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    for known in ("Connection refused", "Name or service not known", "No route to host",
                  "Temporary failure in name resolution", "Server disconnected"):
        if known in text:
            return known.lower()
    return text.splitlines()[0][:200]

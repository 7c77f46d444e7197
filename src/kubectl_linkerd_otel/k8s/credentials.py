"""The one credential detector (pure): which names, fields and strings hold a credential.

`check` flags what it finds (collector/config.py: plaintext credentials, user:password in endpoints),
`install` keeps credential headers in the Secret (render/options.py), and everything written to a
snapshot file goes through it (snapshot/redaction.py); log lines shown by `check` too (collector/logs.py).
What one of them calls a credential the others do as well:

- a header, env var or keyed value whose *name* looks like one (`credential_name`): Authorization,
  Cookie, `*-key`, `*token*`, `*secret*`, API keys, passwords, DSNs, ...;
- a header or env value that *is* one whatever its name (`credential_value`): an HTTP authentication
  scheme with its credentials (`Basic ...`, `Bearer ...`, `Token ...`, `Digest username=...`) or a JSON
  Web Token; `credential_header(name, value)` asks both;
- a field of a config holding one (`credential_field`): basicauth's `password`, `bearer_token`, ...;
- Basic/Bearer values, the user:password of URLs and endpoints, Secret data, env values a Secret feeds.

`${env:VAR}` references are never credentials: they name where the value comes from.
"""
from __future__ import annotations

import re
from typing import Any, Iterator, List, NamedTuple

from .safeload import yaml_load

REDACTED = "<redacted>"

# Header (or env var) names whose values are credentials (Authorization, X-Api-Key, Cookie,
# signoz-ingestion-key, X-Sumo-Credential, Honeycomb's x-honeycomb-team, Uptrace's uptrace-dsn, ...).
_CREDENTIAL_NAME = re.compile(r"auth|token|key|secret|pass|pwd|cookie|signature|cred|dsn|team|licen|"
                              r"session|private", re.IGNORECASE)
# Fields (outside headers) that hold a credential: basicauth's password, bearertokenauth's token,
# Prometheus' basic_auth.password and authorization.credentials, OAuth client secrets, ...
# Kubeconfig users' `token`, `password`, `client-key-data`, `id-token`, `refresh-token` too.
_CREDENTIAL_FIELD = re.compile(r"^(authorization|password|passwd|token|bearer_token|api[-_]?key|secret|"
                               r"client_secret|credentials|client[-_]key[-_]data|(id|refresh|access)[-_]token)$",
                               re.IGNORECASE)
# A value that is a credential whatever the header's name: an authentication scheme (the IANA HTTP
# Authentication Scheme registry, and the vendor ones OTLP backends use) and its token68 credentials, ...
_TOKEN_SCHEMES = (r"basic|bearer|token|api-?key|key|splunk|ssws|geniekey|sso-key|negotiate|ntlm|oauth|"
                  r"hoba|mutual|scram-sha-1|scram-sha-256|vapid|dpop|privatetoken|concealed|gssapi")
_SCHEME_VALUE = re.compile(rf"(?i)\s*(?:{_TOKEN_SCHEMES})[ \t]+[A-Za-z0-9._~+/-]+=*\s*")
# ... schemes whose credentials are a list of parameters (`Digest username="u", response="..."`) ...
_PARAM_SCHEME_VALUE = re.compile(r"(?i)\s*(?:digest|aws4-hmac-sha256|hawk|oauth|mutual|vapid|privatetoken)"
                                 r"[ \t]+[A-Za-z0-9_-]+[ \t]*=.*")
# ... and a JSON Web Token on its own (header.payload.signature, both JSON parts starting `{"`)
_JWT_VALUE = re.compile(r"\s*eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\s*")
# `${env:VAR}`, `${VAR}`, `${env:VAR:-default}`: the collector's own variable references (name, default)
ENV_REF = re.compile(r"\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
# user[:password]@ in front of an endpoint's host, with or without a scheme (gRPC endpoints have none)
_ENDPOINT_USERINFO = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)?(?P<userinfo>[^/@?#\s]*)@")

# In free text (logs, config text, annotations): `password: x`, `"password": "x"`, `token=x`,
# `Authorization: Basic x`, `x-api-key: x`, `Cookie: a=b`, `signoz-ingestion-key: x`, ...
_KEYED_SECRET = re.compile(
    r"""(?ix)
    ( \\?["']?
      \b(?:password|passwd|pwd|secret|client[-_]?secret|token|access[-_]?token|bearer[-_]?token|api[-_]?key|
         x-api-key|apikey|authorization|proxy-authorization|credentials?|dd-api-key|x-honeycomb-team|
         client-key-data|cookie|set-cookie|[a-z0-9_-]*[-_](?:key|token|secret|password)|[a-z0-9_-]*-(?:auth|dsn|session))
      \\?["']?[ \t]*[:=][ \t]* )
    ( (?:basic|bearer|token|apikey)[ \t]+[^\s"',;}&\\]+
    | \\?"(?:[^"\\]|\\[^"])*\\?"
    | '[^']*'
    | [^\s,;}&]+ )""")
# a credential scheme and its value without a key in front: `Basic cm9v...`, `Bearer eyJ...`
_SCHEME_SECRET = re.compile(r"(?i)\b(basic|bearer)[ \t]+(?!<redacted>)[A-Za-z0-9+/=._~-]{8,}")
# `endpoint: user:password@host:4317`: gRPC endpoints carry no scheme, so the URL pattern misses them
_ENDPOINT_TEXT = re.compile(r"""(\bendpoint["']?\s*[:=]\s*["']?)([^\s"'@/<>]+)@""", re.IGNORECASE)
_URL_USERINFO = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s\"']+@")


def credential_name(name: Any) -> bool:
    """A header or env var whose value is a credential, by its name."""
    return bool(_CREDENTIAL_NAME.search(str(name)))


def credential_value(value: Any, references: bool = False) -> bool:
    """A header or env value that is a credential whatever its name: `Basic cm9v...`, `Bearer eyJ...`,
    `Token abc`, `Digest username="u", ...`, a bare JSON Web Token. A value with `${env:VAR}` references
    is not written in clear; with `references`, it still is a credential when what it sends is one
    (`Bearer ${env:TOKEN}`: the question is then what crosses the network, not what the file holds)."""
    if not isinstance(value, str):
        return False
    if ENV_REF.search(value):
        if not references:
            return False
        value = ENV_REF.sub("REFERENCE", value)
    return any(p.fullmatch(value) for p in (_SCHEME_VALUE, _PARAM_SCHEME_VALUE, _JWT_VALUE))


def credential_header(name: Any, value: Any = None, references: bool = False) -> bool:
    """A header (or env var) whose value is a credential: by its name, or by the value itself."""
    return credential_name(name) or credential_value(value, references)


def credential_field(name: Any) -> bool:
    """A config field (outside `headers`) whose value is a credential, by its name."""
    return bool(_CREDENTIAL_FIELD.match(str(name)))


def literal(value: Any) -> bool:
    """A value written in clear: not empty and not taken from `${env:VAR}`."""
    return isinstance(value, str) and bool(value.strip()) and not ENV_REF.search(value)


def endpoint_has_userinfo(endpoint: Any) -> bool:
    """The endpoint carries user[:password]@ written in clear (`${env:...}` references are fine)."""
    match = _ENDPOINT_USERINFO.match(str(endpoint or "").strip())
    return bool(match) and bool(ENV_REF.sub("", match.group("userinfo")).strip(":"))


def redact_endpoint_userinfo(endpoint: str, redacted: str = REDACTED) -> str:
    """The endpoint with its user[:password]@ replaced."""
    return _ENDPOINT_USERINFO.sub(lambda m: f"{m.group('scheme') or ''}{redacted}@", endpoint)


class Credential(NamedTuple):
    path: str      # dotted path in the config
    name: str      # the field or header name
    value: str     # the credential itself: never print it
    kind: str      # "header" | "field" | "userinfo"


def config_credentials(config: Any, path: str = "") -> Iterator[Credential]:
    """Every credential written in clear in a config mapping: a header whose name or value looks like one,
    a credential field (`password`, `token`, ...), an endpoint or URL with user:password. The caller
    decides what to show: check shows paths, redaction uses values."""
    def walk(value: Any, where: str, in_headers: bool) -> Iterator[Credential]:
        if isinstance(value, list):
            for index, item in enumerate(value):
                yield from walk(item, f"{where}[{index}]", False)
            return
        if not isinstance(value, dict):
            return
        for key, item in value.items():
            sub, name = f"{where}.{key}" if where else str(key), str(key)
            if isinstance(item, str):
                looks_secret = credential_header(name, item) if in_headers else credential_field(name)
                if looks_secret and literal(item):
                    yield Credential(sub, name, item, "header" if in_headers else "field")
                elif endpoint_has_userinfo(item) and ("://" in item or name.lower() == "endpoint"):
                    yield Credential(sub, name, item, "userinfo")
            else:
                yield from walk(item, sub, name.lower() == "headers")

    yield from walk(config, path, False)


def redact_text(text: str) -> str:
    """`text` with credentials replaced by <redacted>: keyed values (password, token, Authorization,
    API keys, cookies; `${env:VAR}` references are kept), Basic/Bearer values and the user:password of
    URLs and endpoints. Redacting twice changes nothing."""
    def keyed(match):
        value = match.group(2)
        if "${" in value or REDACTED in value:
            return match.group(0)
        quote = '"' if value.lstrip("\\").startswith('"') else ""
        return f"{match.group(1)}{quote}{REDACTED}{quote}"

    text = _KEYED_SECRET.sub(keyed, text)
    text = _SCHEME_SECRET.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _ENDPOINT_TEXT.sub(lambda m: m.group(0) if "${" in m.group(2) or m.group(2) == REDACTED
                              else f"{m.group(1)}{REDACTED}@", text)
    return _URL_USERINFO.sub(lambda m: f"{m.group(1)}{REDACTED}@", text)


def _bounded(value: str) -> "re.Pattern":
    # the value as a whole token: not inside a longer word
    return re.compile(r"(?<![A-Za-z0-9_+/=.~-])" + re.escape(value) + r"(?![A-Za-z0-9_+/=.~-])")


def redact_config_text(text: str) -> str:
    """A config's text (YAML or JSON) with every credential `config_credentials` finds replaced, the
    layout kept (so a redacted config reads as the original one did, line numbers included), then the
    free-text rules. When a value cannot be found in the text as written (an escaped string), the
    redacted document is written out instead: never the credential."""
    # lazy: yaml costs ~12 ms at start-up; only a config's text is redacted with it
    import yaml

    try:
        doc = yaml_load(text)
    except (yaml.YAMLError, ValueError, RecursionError):
        return redact_text(text)
    if not isinstance(doc, (dict, list)):
        return redact_text(text)
    found = list(config_credentials(doc))
    out = text
    for credential in found:
        if credential.kind == "userinfo":
            userinfo = _ENDPOINT_USERINFO.match(credential.value.strip()).group("userinfo")
            out = out.replace(userinfo + "@", REDACTED + "@")
        else:
            out = _bounded(credential.value).sub(REDACTED, out)
    out = redact_text(out)
    if found and _still_holds(out, found):
        out = redact_text(yaml.safe_dump(_replaced(doc), sort_keys=False, allow_unicode=True))
    return out


def _still_holds(text: str, found: List[Credential]) -> bool:
    try:
        doc = yaml_load(text)
    except Exception:   # the replacement broke the document: write the structure out instead
        return True
    values = {credential.value for credential in found}
    return any(credential.value in values for credential in config_credentials(doc))


def _replaced(doc: Any, in_headers: bool = False, key: str = "") -> Any:
    if isinstance(doc, dict):
        return {k: _replaced(v, str(k).lower() == "headers", str(k)) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_replaced(v) for v in doc]
    if isinstance(doc, str):
        if (credential_header(key, doc) if in_headers else credential_field(key)) and literal(doc):
            return REDACTED
        if endpoint_has_userinfo(doc):
            return redact_endpoint_userinfo(doc)
    return doc

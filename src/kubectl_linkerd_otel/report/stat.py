"""`stat` output (pure): the table `linkerd viz stat` prints, its JSON rows, and the pods not read.

Table and JSON follow viz (`viz/cmd/stat.go`): columns NAME, MESHED (meshed/running pods), SUCCESS
(`%.2f%%`), RPS (`%.1frps`), LATENCY_P50/P95/P99 (whole ms), TCP_CONN, `-` without requests; `-o wide`
adds READ_BYTES/SEC and WRITE_BYTES/SEC (viz's wide columns) and READ (pods read/meshed). The JSON is
viz's list of rows (`namespace, kind, name, meshed, success, rps, latency_ms_p50.., tcp_open_connections,
tcp_read_bytes_rate, tcp_write_bytes_rate`); what we add is under `linkerdOtel` (`badSamples`: the series
of the row's pods left out because a sample was not a finite number, stats/golden.py). The table's byte
rates are in binary units and, on a terminal, health has colours (stat_style.py).
"""
from __future__ import annotations

from typing import Dict, List, Optional

import click

from ..scrape.text import printable, shown
from ..stats.golden import KINDS, QUANTILES, Row, StatResult
from .stat_style import byte_rate, latency_color, success_color

SHORT = {kind: short for kind, short in KINDS.values()}
SHORT.update({"service": "svc", "authority": "authority", "address": "ip"})


def _ms(value: Optional[float]) -> Optional[int]:
    # viz converts Prometheus' float to uint64 ms: truncation (after dropping float noise: 2799.9999999)
    return None if value is None else int(round(value, 6))


def _destination(row: Row) -> Optional[dict]:
    if row.destination is None:
        return None
    kind, namespace, name = row.destination
    return {"kind": kind, "namespace": namespace, "name": name}


def row_json(row: Row) -> dict:
    t = row.traffic
    data = t.has_requests
    latencies = {f"p{round(q * 100)}": (t.latency(q) if data else None) for q in QUANTILES}
    doc = {
        "namespace": row.namespace,
        "kind": row.kind,
        "name": row.name,
        "meshed": f"{row.meshed}/{row.running}",
        "success": t.success_rate if data else None,
        "rps": t.rps if data else None,
        "latency_ms_p50": _ms(latencies["p50"]),
        "latency_ms_p95": _ms(latencies["p95"]),
        "latency_ms_p99": _ms(latencies["p99"]),
        "tcp_open_connections": int(t.tcp_open) if data else None,
        "tcp_read_bytes_rate": t.read_bytes if data else None,
        "tcp_write_bytes_rate": t.write_bytes if data else None,
    }
    extra = {
        "direction": "",
        "readPods": row.read_count,
        "unreadPods": [{"namespace": p.namespace, "pod": p.name, "reason": p.reason} for p in row.unread],
        "badSamples": [{"namespace": p.namespace, "pod": p.name, "sample": sample}
                       for p in row.pods for sample in p.bad_samples],
        "windowSeconds": row.window,
        "responses": {"success": t.success_count, "failure": t.failure_count},
        "latencyMs": latencies,
        "tcpOpenConnections": t.tcp_open,
    }
    if row.kind == "pod":
        extra["status"] = row.status
    if row.destination is not None:
        extra["destination"] = _destination(row)
    doc["linkerdOtel"] = extra
    return doc


def to_json(result: StatResult) -> List[dict]:
    rows = [row_json(row) for row in result.rows]
    for doc in rows:
        doc["linkerdOtel"]["direction"] = result.direction
    return rows


def _columns(result: StatResult, *, all_namespaces: bool, wide: bool) -> List[str]:
    headers = ["NAMESPACE"] if all_namespaces else []
    headers.append("NAME")
    if result.direction == "outbound":
        headers += ["DST_NAMESPACE", "DST"]
    if result.kind == "pod":
        headers.append("STATUS")
    headers += ["MESHED", "SUCCESS", "RPS", "LATENCY_P50", "LATENCY_P95", "LATENCY_P99", "TCP_CONN"]
    if wide:
        headers += ["READ_BYTES/SEC", "WRITE_BYTES/SEC", "READ"]
    return headers


def _cells(row: Row, result: StatResult, *, all_namespaces: bool, wide: bool) -> List[str]:
    t = row.traffic
    cells = [shown(row.namespace)] if all_namespaces else []
    cells.append(shown(row.name))
    if result.direction == "outbound":
        if row.destination is None:
            cells += ["-", "-"]
        else:
            kind, namespace, name = row.destination
            cells += [shown(namespace) or "-", f"{SHORT.get(kind, kind)}/{shown(name)}"]
    if result.kind == "pod":
        cells.append(row.status)
    cells.append(f"{row.meshed}/{row.running}")
    if t.has_requests:
        cells += [f"{(t.success_rate or 0.0) * 100:.2f}%", f"{t.rps:.1f}rps"]
        for q in QUANTILES:
            value = t.latency(q)
            cells.append("-" if value is None else f"{_ms(value)}ms")
        cells.append(str(int(t.tcp_open)))
        if wide:
            cells += [byte_rate(t.read_bytes), byte_rate(t.write_bytes)]
    else:
        cells += ["-"] * (6 + (2 if wide else 0))
    if wide:
        cells.append(f"{row.read_count}/{row.meshed}")
    return cells


def _colors(row: Row, headers: List[str]) -> Dict[int, str]:
    """Column -> colour of the cells that say how healthy the row is (report/stat_style.py)."""
    t = row.traffic
    if not t.has_requests:
        return {}
    found = {headers.index("SUCCESS"): success_color(t.success_rate)}
    for q in QUANTILES:
        found[headers.index(f"LATENCY_P{round(q * 100)}")] = latency_color(t.latency(q))
    return {column: color for column, color in found.items() if color}


def table(headers: List[str], rows: List[List[str]], colors: Optional[List[Dict[int, str]]] = None) -> List[str]:
    """Columns three spaces apart; every cell through `printable` (a pod's phase, a reason from the
    cluster or a snapshot); `colors`: per row, column -> colour (the padding stays plain)."""
    rows = [[printable(cell) for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def shown_cell(cell: str, i: int, fg: Optional[str]) -> str:
        padded = cell if i == len(headers) - 1 else cell.ljust(widths[i])
        if not fg:
            return padded
        return click.style(cell, fg=fg) + padded[len(cell):]   # the padding stays plain: columns align

    painted = [{}] + (colors or [{}] * len(rows))
    return ["   ".join(shown_cell(cell, i, paint.get(i)) for i, cell in enumerate(row)).rstrip()
            for row, paint in zip([headers] + rows, painted)]


def render_human(result: StatResult, *, all_namespaces: bool = False, wide: bool = False,
                 color: bool = False) -> str:
    """The table, then the meshed pods that could not be read and why (their traffic is not counted).
    `color`: on a terminal, the success rate and latencies coloured by how healthy they are."""
    if not result.rows:
        return ""
    headers = _columns(result, all_namespaces=all_namespaces, wide=wide)
    lines = table(headers, [_cells(r, result, all_namespaces=all_namespaces, wide=wide) for r in result.rows],
                  [_colors(r, headers) for r in result.rows] if color else None)
    unread = result.unread
    if unread:
        lines += ["", f"Meshed pods not read ({len(unread)}; their traffic is not in the numbers above):"]
        lines += table(["NAMESPACE", "POD", "WORKLOAD", "REASON"],
                       [[shown(p.namespace), shown(p.name), shown(p.workload), shown(p.reason, 300)]
                        for p in unread])
    bad = [(p, sample) for p in result.pods for sample in p.bad_samples]
    if bad:
        lines += ["", f"Samples left out ({len(bad)}; not finite numbers: the rest of these pods' traffic is in "
                      f"the numbers above):"]
        lines += table(["NAMESPACE", "POD", "SAMPLE"],
                       [[shown(p.namespace), shown(p.name), shown(sample, 300)] for p, sample in bad])
    return "\n".join(lines) + "\n"


def nothing_found(short: str, name: Optional[str], namespace: Optional[str]) -> str:
    """What was looked at, for the line `No meshed pods: ...` when no meshed pod was selected."""
    what = f"{short}/{name}" if name else f"no {short} with meshed running pods"
    return f"{what} in namespace {namespace}" if namespace else f"{what} in any namespace"

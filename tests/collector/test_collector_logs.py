from __future__ import annotations

from kubectl_linkerd_otel.collector import logs

READY = "2026-11-25T09:14:20.100Z\tinfo\tservice@v0.159.0/service.go:275\tEverything is ready. Begin running and processing data.\t{}"
RETRY = ('2026-11-25T10:00:01.000Z\tinfo\tinternal/retry_sender.go:126\tExporting failed. Will retry the request '
         'after interval.\t{"kind": "exporter", "name": "otlp", "error": "rpc error: code = Unavailable desc = '
         'connection error: desc = \\"transport: Error while dialing: dial tcp 10.96.0.5:4317: connect: '
         'connection refused\\"", "interval": "5.1s"}')
DROP = ('2026-11-25T10:00:09.000Z\terror\tinternal/queue_sender.go:92\tExporting failed. Dropping data.\t'
        '{"kind": "exporter", "error": "no more retries left: rpc error: code = DeadlineExceeded desc = context '
        'deadline exceeded", "dropped_items": 412}')
REJECT = ('2026-11-25T10:00:09.000Z\terror\texporterhelper/common.go:95\tExporting failed. Rejecting data.\t'
          '{"error": "Permanent error: error exporting items, request to https://x/v1/metrics responded with '
          'HTTP Status Code 401"}')
SCRAPE = ('2026-11-25T10:00:02.000Z\twarn\tinternal/transaction.go:129\tFailed to scrape Prometheus endpoint\t'
          '{"kind": "receiver", "scrape_timestamp": 1, "target_labels": "{__name__=\\"up\\", '
          'instance=\\"10.244.0.22:4191\\", job=\\"linkerd-proxy\\"}"}')
FORBIDDEN = ('E1125 10:00:03.000000       1 reflector.go:158] "Unhandled Error" err="pods is forbidden: User '
             '\\"system:serviceaccount:observability:otel-collector\\" cannot list resource \\"pods\\""')
CONFIG = "Error: failed to get config: cannot unmarshal the configuration: decoding failed"
OTHER = '2026-11-25T10:00:04.000Z\terror\tsomething/else.go:1\tsomething broke\t{}'
JSON_ERROR = '{"level":"error","ts":1.0,"msg":"boom"}'


def test_each_class():
    assert logs.classify_line(READY) == logs.STARTED
    assert logs.classify_line(RETRY) == logs.EXPORT_RETRY
    assert logs.classify_line(DROP) == logs.EXPORT_DROPPED
    assert logs.classify_line(REJECT) == logs.EXPORT_DROPPED
    assert logs.classify_line(SCRAPE) == logs.SCRAPE_FAILED
    assert logs.classify_line(FORBIDDEN) == logs.FORBIDDEN
    assert logs.classify_line(CONFIG) == logs.CONFIG_ERROR
    assert logs.classify_line(OTHER) == logs.OTHER_ERROR
    assert logs.classify_line(JSON_ERROR) == logs.OTHER_ERROR
    assert logs.classify_line("2026-11-25T10:00:04.000Z\tinfo\tx.go:1\tall good\t{}") == ""


def test_summary_counts_examples_and_causes():
    text = "\n".join([READY] + [RETRY] * 5 + [DROP, REJECT, SCRAPE, ""])
    summary = logs.classify(text)
    assert summary.lines == 9
    assert summary.started
    assert summary[logs.EXPORT_RETRY].count == 5
    # five identical retries are one problem: the exporter and the cause, counted, first and last time
    [retry] = summary[logs.EXPORT_RETRY].problems.values()
    assert retry.text == ('otlp: rpc error: code = Unavailable desc = connection error: desc = "transport: Error '
                          'while dialing: dial tcp 10.96.0.5:4317: connect: connection refused"')
    assert (retry.count, retry.when()) == (5, "5 times, 2026-11-25 10:00:01 UTC")
    assert summary[logs.EXPORT_RETRY].details == [
        'rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: '
        'dial tcp 10.96.0.5:4317: connect: connection refused"']
    assert summary[logs.EXPORT_DROPPED].details == [
        "rpc error: code = DeadlineExceeded desc = context deadline exceeded",
        "Permanent error: error exporting items, request to https://x/v1/metrics responded with HTTP Status Code 401"]
    assert summary[logs.SCRAPE_FAILED].details == ["10.244.0.22:4191"]
    [scrape] = summary[logs.SCRAPE_FAILED].problems.values()
    assert scrape.text == "10.244.0.22:4191 (job linkerd-proxy): Failed to scrape Prometheus endpoint"


def test_problems_keep_first_and_last_time_across_pods():
    later = RETRY.replace("10:00:01.000Z", "10:07:45.000Z")
    merged = logs.classify(later).merge(logs.classify(RETRY + "\n" + RETRY))
    [retry] = merged[logs.EXPORT_RETRY].problems.values()
    assert retry.when() == "3 times, 2026-11-25 10:00:01 to 10:07:45 UTC"


def test_refused_scrapes_by_target():
    refused = SCRAPE.replace('"}"}', '"}", "error": "server returned HTTP status 403 Forbidden"}')
    found = logs.refused_scrapes("\n".join([refused, refused, SCRAPE]))
    assert list(found) == ["10.244.0.22:4191"]
    target = found["10.244.0.22:4191"]
    assert (target.text, target.count) == ("10.244.0.22:4191 (job linkerd-proxy)", 2)


def test_json_encoded_lines_and_credentials():
    from kubectl_linkerd_otel.collector import logline

    line = logline.parse('{"level":"error","ts":1795600800.5,"caller":"x.go:1","msg":"boom",'
                         '"password":"hunter2","error":"Authorization: Bearer abcdefghijklmnop"}')
    assert (line.time, line.level, line.message) == ("2026-11-25 10:00:00 UTC", "error", "boom")
    assert line.fields == {"password": "<redacted>", "error": "Authorization: <redacted>"}


def test_merge():
    a, b = logs.classify(RETRY), logs.classify(RETRY + "\n" + READY)
    merged = a.merge(b)
    assert merged[logs.EXPORT_RETRY].count == 2 and merged.started and merged.lines == 3

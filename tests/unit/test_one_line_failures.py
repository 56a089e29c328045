"""The local stack reports a failure in one line: never the tracebacks some exceptions carry in their text."""

import logging
import sys

from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from txdagster.local.emulator import OneLinePerFailure
from txdagster.local.runtime import _one_line


def test_a_whole_batch_failure_is_one_line_naming_its_first_record():
    try:
        raise KeyError("registry entry")
    except KeyError:
        child = sys.exc_info()
    said = _one_line(BatchProcessingError("All records failed processing. 1 individual errors logged", [child]))
    assert "\n" not in said and "Traceback" not in said
    assert said == (
        "BatchProcessingError: All records failed processing. 1 individual errors logged"
        " (the first record: KeyError: 'registry entry')"
    )


def test_the_embedded_servers_request_failures_are_one_line_per_kind():
    keep = OneLinePerFailure()
    trace = "Error on request:\nTraceback (most recent call last):\n  File \"x.py\", line 1\nKeyError: 'iterator'"

    def record(text: str) -> logging.LogRecord:
        return logging.LogRecord("werkzeug", logging.ERROR, __file__, 1, text, None, None)

    first = record(trace)
    assert keep.filter(first) and first.getMessage() == (
        "the embedded AWS server failed a request (KeyError: 'iterator'); repeats are not logged"
    )
    assert not keep.filter(record(trace.replace("'iterator'", "'another'")))  # same kind: dropped
    assert keep.filter(record(trace.replace("KeyError", "ValueError")))
    assert keep.filter(record('127.0.0.1 - - "GET / HTTP/1.1" 200 -'))  # anything else passes as it was

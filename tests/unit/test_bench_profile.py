"""``make bench``'s profile: py-spy's samples summed per thread and function, the imports before the
timed run and the waits left out."""

from bench.profile import summary

RAW = "\n".join(
    [
        "thread (1): MainThread;_run_module_as_main (<frozen runpy>:198);<module> (bench/approaches.py:3);"
        "_find_and_load (<frozen importlib._bootstrap>:1) 500",  # imports, before the clock starts
        "thread (1): MainThread;_run_module_as_main (<frozen runpy>:198);main (bench/approaches.py:109);"
        "road_run (bench/approaches.py:89);_flush (txdagster/ingest/write.py:120) 50",
        "thread (1): MainThread;_run_module_as_main (<frozen runpy>:198);main (bench/approaches.py:109);"
        "road_run (bench/approaches.py:89);Condition.wait (threading.py:320) 40",  # waiting for a part
        "thread (7): txd-block_0;Thread.run (threading.py:1);read_checked_csv (checked_csv.py:80) 25",
        "thread (7): txd-block_0;Thread.run (threading.py:1);read_checked_csv (checked_csv.py:81) 25",
        "thread (8): txd-block_1;Thread.run (threading.py:1);_worker (concurrent/futures/thread.py:81) 90",
    ]
)


def test_samples_are_summed_per_thread_and_function_without_imports_or_waits():
    text = summary(RAW, rate=100)
    assert text.startswith("100 busy samples at 100 Hz")
    assert "| MainThread | 0.50 | _flush (txdagster/ingest/write.py) |" in text
    assert "| txd-block_0 | 0.50 | read_checked_csv (checked_csv.py) |" in text  # two lines of one function
    assert "txd-block_1" not in text and "_find_and_load" not in text and "Condition.wait" not in text

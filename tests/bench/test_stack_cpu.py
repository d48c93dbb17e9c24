"""The benchmarks' CPU accounting per stack component counts a component's children, live or reaped."""

from __future__ import annotations

import subprocess
import sys
import time

from bench.stack_cpu import StackCpu

BURN = "import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass"


def test_a_components_children_are_counted_after_they_exit() -> None:
    # the component: a shell that starts a child burning 0.4 s of CPU, reaps it, then idles
    component = subprocess.Popen(["sh", "-c", f'sleep 0.3; "{sys.executable}" -c "{BURN}"; sleep 30'])
    try:
        probe = StackCpu({"worker": component.pid})
        probe.start()
        time.sleep(0.2)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            seconds = probe.stop()
            if seconds["worker (children)"] >= 0.35:
                break
            time.sleep(0.2)
        assert 0.35 <= seconds["worker (children)"] < 2.0
        assert seconds["worker"] < 0.2  # the shell itself did next to nothing
    finally:
        component.kill()
        component.wait()


def test_a_component_that_is_gone_counts_nothing() -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    probe = StackCpu({"gone": gone.pid})
    probe.start()
    assert probe.stop() == {"gone": 0.0, "gone (children)": 0.0}

"""``python -m bench.refresh_child PEAK_FILE ARGS...``: ``jira_connect_refresh ARGS``, then its peak.

Runs the command as ``python -m django jira_connect_refresh ARGS`` would (DJANGO_SETTINGS_MODULE
and DATABASE_URL from the environment), then writes the process's own peak resident memory to
PEAK_FILE as JSON, from inside it, with the CPU time it used (user and system, all threads), and
exits with the command's status.

Which peak: ``VmHWM`` from ``/proc/self/status``, the high-water mark of this process's own
memory since it started its program. Not ``ru_maxrss``: on Linux, ``getrusage`` keeps the larger
of that and the memory of the image the process replaced at ``exec``, which, when it was started
by ``subprocess`` (``vfork``), is its parent's. Both ``RUSAGE_SELF`` here and ``wait4`` in the
parent therefore report the benchmark's own peak whenever it is the larger; ``ru_maxrss`` is
written beside ``VmHWM`` to show it.
"""

from __future__ import annotations

import json
import re
import resource
import sys
from pathlib import Path


def own_peak_kib() -> int | None:
    """This process's own high-water resident memory in KiB, where Linux reports it."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
    return int(found.group(1)) if found else None


def main() -> None:
    peak_file, arguments = sys.argv[1], sys.argv[2:]
    from django.core.management import execute_from_command_line

    status: int | str | None = 0
    try:
        execute_from_command_line(["python -m django", "jira_connect_refresh", *arguments])
    except SystemExit as stop:
        status = stop.code
    usage = resource.getrusage(resource.RUSAGE_SELF)
    Path(peak_file).write_text(
        json.dumps(
            {
                "vm_hwm_kib": own_peak_kib(),
                "ru_maxrss_kib": usage.ru_maxrss,
                "cpu_seconds": usage.ru_utime + usage.ru_stime,
            }
        )
    )
    sys.exit(status)


if __name__ == "__main__":
    main()

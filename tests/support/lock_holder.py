"""A process that holds a job's lock, for the lock tests.

    python -m tests.support.lock_holder [--with-child] PATH...

Takes ``JobLock`` on the PATHs, prints ``held CHILD_PID`` (0 without a child) and holds the lock
until its stdin closes. ``--with-child`` first starts a child that inherits every descriptor it
can (``close_fds=False``) and sleeps for a minute, as a worker process outliving a killed job
would.
"""

from __future__ import annotations

import subprocess
import sys

from extractly.etl.lock import JobLock


def main(args: list[str]) -> None:
    with_child = "--with-child" in args
    paths = [a for a in args if a != "--with-child"]
    with JobLock(paths):
        child_pid = 0
        if with_child:
            sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
            child_pid = subprocess.Popen(sleeper, close_fds=False).pid
        print(f"held {child_pid}", flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main(sys.argv[1:])

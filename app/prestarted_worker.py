"""A local worker started ahead of its command (kerastune.tuners.workers.local.PrestartedWorkers): it imports
TensorFlow while its chief gets the search ready, then reads one line on stdin, `{"argv": [...], "log": PATH}`,
sends its output to the log and runs that worker command. It exits quietly if its chief closes stdin without a
command.

Its own arguments (the worker's id and the project folder) are for whoever lists the processes (`ps`)."""

from __future__ import annotations

import json
import os
import sys


def main() -> None:
    from kerastune.tuners.tf_noise import import_tensorflow_quietly

    import_tensorflow_quietly()  # the point of starting ahead; its start-up messages are held back
    from kerastune.tuners.workers.local import die_with_parent

    die_with_parent()
    line = sys.stdin.readline()
    if not line:
        return
    request = json.loads(line)
    log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    from kerastune.app.cli import app

    app(args=request["argv"], prog_name="kerastune")


if __name__ == "__main__":
    main()

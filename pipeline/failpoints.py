"""Named crash points for the crash-safety tests (issue: nothing lost, nothing half-written).

`failpoint("lake.before_rename")` does nothing unless the environment variable
TOKENRISK_FAILPOINT names that point; then the process kills itself with SIGKILL right there,
as a power cut or an OOM kill would, optionally only on the Nth time it is reached
(`name@N`). The tests run the CLI in a subprocess with it set and check what a reader sees.
"""

from __future__ import annotations

import os
import signal

ENV = "TOKENRISK_FAILPOINT"
_hits: dict[str, int] = {}


def failpoint(name: str) -> None:
    wanted = os.environ.get(ENV)
    if not wanted:
        return
    point, _, nth = wanted.partition("@")
    if point != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)

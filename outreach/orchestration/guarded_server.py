"""Run Prefect's API server as a child that stops itself when its parent is gone.

`LocalPrefectServer` starts the server in its own session, so a Ctrl-C reaches the CLI
first and the CLI stops the server in order (after it has recorded every task run). But a
CLI that is terminated or killed never gets to do that; without this watchdog its server
would keep running, and using a CPU core, forever.

```bash
python -m outreach.orchestration.guarded_server PARENT_PID --factory MODULE:create_app ...
```
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time


def _watch_parent(parent: int, interval: float = 1.0) -> None:
    while os.getppid() == parent:
        time.sleep(interval)
    # Orphaned: shut down the way uvicorn does on SIGTERM (gracefully).
    os.kill(os.getpid(), signal.SIGTERM)


def main(argv: list[str]) -> None:
    parent, uvicorn_args = int(argv[0]), argv[1:]
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    import uvicorn

    uvicorn.main.main(args=uvicorn_args, prog_name="uvicorn")


if __name__ == "__main__":
    main(sys.argv[1:])

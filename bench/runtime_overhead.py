"""What azure-functions-runtime adds: cold start and per-call time, against a direct handler call.

    python bench/runtime_overhead.py [--cold 7] [--calls 300]

Cold start, each in a fresh interpreter, alternating: `import function_app` (what a direct
call needs) against worker init + indexing + loading of all functions through the library
(tests/runtime/host.py). Per call, in one process on a private Azurite, alternating blocks of 50:
GET .../synchronizationProfiles/{id} answering 404 (token check, one storage read), called as
`get_profile(func.HttpRequest)` and as the host invokes it (RpcHttp in, RpcHttp out). Medians.
Runs on the deployed Python (3.13: the library requires it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

COLD_DIRECT = "import time; t = time.perf_counter(); import function_app; print(time.perf_counter() - t)"
COLD_RUNTIME = (
    "import time; t = time.perf_counter()\n"
    "from pathlib import Path\n"
    "from tests.runtime.host import FunctionsHost\n"
    "host = FunctionsHost(Path('.').resolve()); host.start()\n"
    "print(time.perf_counter() - t)"
)


def cold(code: str) -> float:
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    return float(out.stdout.strip().splitlines()[-1])


def per_call(calls: int) -> tuple[list[float], list[float]]:
    import azure.functions as func

    from sds_app.settings import get_settings
    from sds_app.storage.clients import get_account
    from tests.azurite import AzuriteProcess
    from tests.runtime.host import FunctionsHost

    azurite = AzuriteProcess()
    os.environ.update({"AzureWebJobsStorage": azurite.azurite.connection_string, "SDS_AUTH_MODE": "none"})
    get_settings.cache_clear()
    get_account.cache_clear()
    host = FunctionsHost(REPO)
    host.start()
    from sds_app.blueprints.profiles import get_profile  # the modules the host loaded

    url = "http://localhost:7071/beta/education/synchronizationProfiles/p-1"

    def direct() -> int:
        req = func.HttpRequest(method="GET", url=url, headers={}, params={}, route_params={"id": "p-1"}, body=b"")
        return get_profile(req).status_code

    def through_runtime() -> int:
        return host.http("GET", url).status

    assert direct() == through_runtime() == 404
    timings: dict[str, list[float]] = {"direct": [], "runtime": []}
    try:
        for _ in range(calls // 50):
            for name, call in (("direct", direct), ("runtime", through_runtime)):
                for _ in range(50):
                    began = time.perf_counter()
                    call()
                    timings[name].append(time.perf_counter() - began)
    finally:
        host.stop()
        azurite.stop()
    return timings["direct"], timings["runtime"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cold", type=int, default=7)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    direct_cold, runtime_cold = [], []
    for _ in range(args.cold):
        direct_cold.append(cold(COLD_DIRECT))
        runtime_cold.append(cold(COLD_RUNTIME))
    direct, runtime = per_call(args.calls)
    ms = lambda values: round(statistics.median(values) * 1000, 2)  # noqa: E731
    print(json.dumps({
        "python": sys.version.split()[0],
        "cold_start_ms": {"import function_app": ms(direct_cold), "runtime init+index+load": ms(runtime_cold),
                          "ratio": round(statistics.median(runtime_cold) / statistics.median(direct_cold), 2)},
        "per_call_ms": {"direct handler": ms(direct), "through the runtime": ms(runtime),
                        "overhead": round(ms(runtime) - ms(direct), 2)},
        "runs": {"cold": args.cold, "calls": len(direct)},
    }, indent=2))


if __name__ == "__main__":
    main()

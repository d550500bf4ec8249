"""mitmproxy as r4u embeds it (the same Master and mitmproxy addons), streaming every response, but with
none of r4u's addons: no routing, capture or recording. `make bench` measures it as the floor for the
time to first SSE event, i.e. what mitmproxy itself costs on that path on this machine.

    python bench/lean_mitmproxy.py PORT CONFDIR UPSTREAM_CA
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from mitmproxy.master import Master  # noqa: E402
from mitmproxy.options import Options  # noqa: E402

from r4u_proxy.service.proxy import mitmproxy_addons  # noqa: E402


class StreamEverything:
    def responseheaders(self, flow) -> None:
        flow.response.stream = True


async def main(port: int, confdir: str, upstream_ca: str) -> None:
    master = Master(Options(listen_host="127.0.0.1", listen_port=port, confdir=confdir))
    master.addons.add(*mitmproxy_addons(), StreamEverything())
    master.options.update(ssl_verify_upstream_trusted_ca=upstream_ca, connection_strategy="lazy")
    await master.run()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3]))

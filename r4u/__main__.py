"""The `r4u` console script: a stdlib-only front that hands over to the proxy's CLI."""

import sys


def main() -> None:
    try:
        from r4u_proxy.cli import main as cli_main
    except ImportError as exc:  # the shim-only install has no click/mitmproxy
        print(
            f"r4u: the proxy is not installed in this environment ({exc.name} is missing).\n"
            "Install it with: pip install 'r4u[proxy]'  (or: pipx install 'r4u[proxy]')",
            file=sys.stderr,
        )
        sys.exit(2)
    cli_main()


if __name__ == "__main__":
    main()

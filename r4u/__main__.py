"""The `r4u` console script: a stdlib-only front that hands over to the proxy's CLI."""

import sys


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "run":
        from r4u.run import fast_run

        fast_run(sys.argv[2:])  # exits when it served the command; else click handles it below
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

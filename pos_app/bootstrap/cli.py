"""Command line: `pos-app` starts the till (`--mode workstation`: the back office's Payments
screen, sign-in required); `pos-app sandbox` runs the simulator alone;
`pos-app assets fetch` installs the JustiFi payment form's files from npm."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pos_app import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pos-app", description="Point of sale for card, bank and crypto payments."
    )
    parser.add_argument("--version", action="version", version=f"pos-app {__version__}")
    parser.add_argument(
        "--basedir",
        type=Path,
        default=None,
        help="keep every config, data, log and cache file under this folder",
    )
    parser.add_argument(
        "--exit-when-ready",
        action="store_true",
        help="start, show the first screen, and quit once it accepts input",
    )
    parser.add_argument("--debug", action="store_true", help="log at DEBUG level (still redacted)")
    parser.add_argument(
        "--mode",
        choices=("till", "workstation"),
        default="till",
        help="workstation: open on Payments, no selling, sign-in required (default: till)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    sandbox = commands.add_parser("sandbox", help="run the provider simulator in the foreground")
    sandbox.add_argument("--host", default="127.0.0.1", help="loopback unless --expose")
    sandbox.add_argument("--port", type=int, default=8765)
    sandbox.add_argument(
        "--state", type=Path, required=True, help="folder for the simulator's state"
    )
    sandbox.add_argument(
        "--expose",
        action="store_true",
        help="allow a --host other than loopback (other machines can then reach it)",
    )
    sandbox.add_argument(
        "--control-token",
        default=None,
        help="the control API's token (default: a new random one, printed and written "
        "into the state folder)",
    )
    assets = commands.add_parser("assets", help="the JustiFi payment form's files (from npm)")
    assets_commands = assets.add_subparsers(dest="assets_command", metavar="ACTION")
    assets_commands.required = True
    assets_commands.add_parser("fetch", help="download them once and verify their integrity")
    return parser


def fetch_assets(basedir: Path | None) -> int:
    from pos_app.platform.assets import AssetsUnavailable
    from pos_app.platform.assets import fetch_assets as fetch
    from pos_app.platform.paths import AppPaths

    paths = AppPaths.resolve(basedir)
    try:
        found = fetch(paths.web_assets_dir)
    except AssetsUnavailable as error:
        print(f"pos-app: could not fetch the payment form's files: {error}", file=sys.stderr)
        return 1
    print(f"JustiFi web components: {found.webcomponents_dir}")
    print(f"iframe-resizer: {found.iframe_resizer_file}")
    return 0


def run_sandbox(args: argparse.Namespace) -> int:
    from pos_app.platform.assets import cached_assets
    from pos_app.platform.paths import AppPaths
    from pos_sandbox.server import run_foreground

    root = AppPaths.resolve(args.basedir).web_assets_dir
    found = cached_assets(root)  # the card form's files, if `pos-app assets fetch` ran
    return run_foreground(
        args.host,
        args.port,
        args.state,
        control_token=args.control_token,
        expose=args.expose,
        assets=(root, found.webcomponents_dir, found.iframe_resizer_file) if found else None,
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "sandbox":
        return run_sandbox(args)
    if args.command == "assets":
        return fetch_assets(args.basedir)
    from pos_app.bootstrap.app import StartOptions, run_gui

    return run_gui(
        StartOptions(
            basedir=args.basedir,
            exit_when_ready=args.exit_when_ready,
            debug=args.debug,
            mode=args.mode,
        )
    )


if __name__ == "__main__":
    sys.exit(main())

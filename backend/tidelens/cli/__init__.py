"""The `tidelens` command: one sub-command module per area, registered here."""

import argparse
import importlib
import logging
import sys

# Each module defines `register(subparsers)`, adding its sub-commands with
# `set_defaults(func=...)`; a func returns the process exit code.
_COMMAND_MODULES = ("tide", "engine", "service", "demo")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tidelens",
        description="TIDE error evolution and layer-wise heatmaps across checkpoints.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(f"tidelens.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"tidelens.cli.{name}":
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())

"""The ``sharpdyn`` command line (click). Each subcommand lives in its own module and is
imported only when it runs, so ``sharpdyn --help`` stays fast and optional dependencies
(torch, dask) load only for the commands that need them."""

from __future__ import annotations

import importlib

import click

# name -> "module:attribute" of a click.Command
COMMANDS: dict[str, str] = {
    "demo": "sharpdyn.cli.demo:demo",
    "scan": "sharpdyn.cli.scan:scan",
    "orbit": "sharpdyn.cli.chaos:orbit",
    "lyapunov": "sharpdyn.cli.chaos:lyapunov",
    "mlp": "sharpdyn.cli.mlp:mlp",
    "train": "sharpdyn.cli.train:train",
    "reproduce": "sharpdyn.cli.reproduce:reproduce",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        return getattr(importlib.import_module(module_name), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sharpdyn")
def main() -> None:
    """sharpdyn: sharpness dynamics of neural-network training."""

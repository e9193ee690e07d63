"""Commands that inspect search spaces: spaces, space show."""

from __future__ import annotations

import click

from sweep import api
from sweep.cli.app import main, user_errors


@main.command()
@user_errors
def spaces():
    """List the built-in search spaces (they ship with the package; pass your own as a path)."""
    for space in api.available_spaces():
        click.echo(f"{space.name:<12} {space.description}")


@main.group()
def space():
    """Inspect search spaces."""


@space.command("show")
@click.argument("name")
@user_errors
def space_show(name):
    """Print a space's parameters and its number of combinations when finite."""
    loaded = api.load_space(name)
    click.echo(f"{loaded.name}: {loaded.description}  ({loaded.path})")
    for param in loaded.params.values():
        click.echo(f"  {param.name:<14} {_describe(param)}")
    size = loaded.size()
    click.echo(f"combinations: {size:,}" if size else "combinations: infinite (continuous parameters)")
    for index, start in enumerate(loaded.starts):
        click.echo(f"start {index}: " + ", ".join(f"{name}={value}" for name, value in start.items()))


def _describe(param) -> str:
    if param.fixed:
        text = f"fixed {param.value}"
    elif param.type in ("int", "float"):
        text = f"{param.type} [{param.low}, {param.high}]" + (" log" if param.log else "")
        text += f" step {param.step}" if param.step else ""
    else:
        text = f"{param.type} {list(param.choices)}"
    text += " per layer" if param.per_layer else ""
    conditions = ", ".join(f"{parent} in {list(values)}" for parent, values in param.when)
    return text + (f"  when {conditions}" if conditions else "")

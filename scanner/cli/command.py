"""The Typer application class every ``mtlsweep`` command group uses: one place for how help
looks (``-h`` as well as ``--help``; flags shown without a value placeholder)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperCommand, TyperGroup, TyperOption

from scanner.run import gc_tuning

HELP_OPTION_NAMES = ["-h", "--help"]


def _without_flag_metavars(params: Iterable[object]) -> None:
    """Flags take no value; Typer would show ``<bool>`` for them."""
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag:
            param.metavar = ""


# The mixin's methods call the command class after it in the MRO (TyperCommand or TyperGroup,
# both Typer's own ``Command``, which it does not export): typed as one of them.
if TYPE_CHECKING:
    _Command = TyperCommand
else:
    _Command = object


class _CommandLook(_Command):
    """What every mtlsweep command and group shares: flags shown without a value, and
    arguments parsed without the cyclic collector (Typer builds a pydantic TypeAdapter for
    each option it parses, the first importing pydantic: tens of thousands of long-lived
    objects that the collector would walk some 30 times for nothing before ``scan`` starts,
    5-8 ms of CPU)."""

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)
        _without_flag_metavars(params)
        return params

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        with gc_tuning.startup():
            parsed: list[str] = super().parse_args(ctx, args)
        return parsed


class FlagAwareCommand(_CommandLook, TyperCommand):
    pass


class FlagAwareGroup(_CommandLook, TyperGroup):
    pass


class CommandApp(typer.Typer):
    """``typer.Typer`` with ``-h`` and flag-aware help for every command registered on it."""

    def __init__(self, **kwargs: Any) -> None:
        settings = {"help_option_names": HELP_OPTION_NAMES, **kwargs.pop("context_settings", {})}
        super().__init__(context_settings=settings, cls=kwargs.pop("cls", FlagAwareGroup),
                         **kwargs)

    def command(self, name: str | None = None, *, cls: type[TyperCommand] | None = None,
                **kwargs: Any) -> Callable[[Any], Any]:
        return super().command(name, cls=cls or FlagAwareCommand, **kwargs)

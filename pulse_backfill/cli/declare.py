"""Options declared once, as groups that commands take: pip's `cmdoptions`, for typer.

A group is a frozen dataclass whose fields are options (`Annotated[T, typer.Option(...)]`, with
their defaults). A command names a group as one parameter, `sending: Sending`; `takes_groups`
spreads the group's fields into the command's signature, where typer reads its options, and
gathers them back into one typed object for the command. No command lists a group's options
again, and none reads them back by name from `ctx.params`.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

_Params = ParamSpec("_Params")
_Result = TypeVar("_Result")


def takes_groups(command: Callable[_Params, _Result]) -> Callable[_Params, _Result]:
    """`command`, with each parameter whose type is an option group given as its options."""
    hints = typing.get_type_hints(command, include_extras=True)
    parameters: list[inspect.Parameter] = []
    groups: dict[str, type[Any]] = {}
    for name, parameter in inspect.signature(command).parameters.items():
        hint = hints.get(name, parameter.annotation)
        if inspect.isclass(hint) and dataclasses.is_dataclass(hint):
            groups[name] = hint
            fields = typing.get_type_hints(hint, include_extras=True)
            parameters += [
                inspect.Parameter(
                    field.name, inspect.Parameter.KEYWORD_ONLY, default=field.default,
                    annotation=fields[field.name],
                )
                for field in dataclasses.fields(hint)
            ]  # fmt: skip
        else:
            # Keyword-only: click passes every parameter by name, in any order.
            parameters.append(
                parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY, annotation=hint)
            )
    names = [parameter.name for parameter in parameters]
    if len(names) != len(set(names)):
        raise TypeError(f"{command.__name__}: an option is declared twice")

    @functools.wraps(command)
    def with_groups(*args: _Params.args, **kwargs: _Params.kwargs) -> _Result:
        for name, group in groups.items():
            values = {field.name: kwargs.pop(field.name) for field in dataclasses.fields(group)}
            kwargs[name] = group(**values)
        return command(*args, **kwargs)

    del with_groups.__wrapped__  # typer must read the signature below, not the command's
    with_groups.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    with_groups.__annotations__ = {p.name: p.annotation for p in parameters}
    return with_groups

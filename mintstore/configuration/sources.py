"""Merging the three sources: TOML file < ``MINTSTORE_*`` environment < flags.

The flags are added to an argparse parser with ``None`` defaults, so a flag
that was not given is told apart from one given with the default value; the
defaults themselves are shown in ``--help`` and come from the dataclasses.
"""

from __future__ import annotations

import argparse
import dataclasses
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from mintstore.errors import ConfigurationError

from .options import Option, Section, options_of

T = TypeVar("T")


@dataclass(frozen=True)
class Loaded:
    """The effective configuration: one instance per section, and where each value came from."""

    sections: Mapping[str, Any]
    values: Mapping[str, Any]
    origins: Mapping[str, str]
    options: tuple[Option, ...]

    def get(self, cls: type[T]) -> T:
        """The instance of the section whose options class is ``cls``."""
        for instance in self.sections.values():
            if type(instance) is cls:
                return instance  # type: ignore[no-any-return,unused-ignore]
        raise KeyError(cls.__name__)


def all_options(sections: Sequence[Section]) -> tuple[Option, ...]:
    """Every option of every section; two options may not share a flag or a variable."""
    found = tuple(opt for section in sections for opt in options_of(section))
    seen: dict[str, str] = {}
    for opt in found:
        for spelling in (opt.flag, opt.env, opt.alias):
            if spelling is None:
                continue
            if spelling in seen:
                raise ConfigurationError(f"{opt.key} and {seen[spelling]} are both {spelling}")
            seen[spelling] = opt.key
    return found


def _help_default(opt: Option) -> str:
    if opt.default is None or opt.default == ():
        shown = "unset"
    elif opt.secret:
        shown = "***"
    else:
        shown = opt.show(opt.default).strip('"')
    return f"{opt.help} (default: {shown}; env {opt.env})".replace("%", "%%").lstrip()


class _Retired(argparse.Action):
    """The flag of a retired option: refused, saying where the option went."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        raise argparse.ArgumentError(self, str(self.help))


def add_flags(parser: argparse.ArgumentParser, sections: Sequence[Section]) -> None:
    """One flag per option (plus its alias), grouped per section, defaults in the help."""
    for section in sections:
        group = parser.add_argument_group(f"[{section.name}] options")
        for _, _, flag, message in section.retired_spellings():
            group.add_argument(
                flag, action=_Retired, nargs="?", help=message, dest=f"retired__{flag}"
            )
        for opt in options_of(section):
            names = [opt.flag] + ([opt.alias] if opt.alias else [])
            common: dict[str, Any] = {"dest": opt.dest, "default": None}
            if opt.kind is bool and not opt.optional:
                group.add_argument(
                    *names, action=argparse.BooleanOptionalAction, help=_help_default(opt), **common
                )
            elif opt.is_tuple:
                group.add_argument(
                    *names,
                    action="append",
                    metavar="VALUE",
                    help=_help_default(opt) + " (repeatable)",
                    **common,
                )
            else:
                group.add_argument(
                    *names,
                    metavar=_metavar(opt),
                    choices=opt.choices,
                    help=_help_default(opt),
                    **common,
                )


def _metavar(opt: Option) -> str:
    if opt.choices:
        return "{" + ",".join(opt.choices) + "}"
    if opt.kind is int:
        return "N"
    if opt.kind.__name__ == "timedelta":
        return "SECONDS"
    if opt.kind is float:
        return "X"
    if opt.kind is Path:
        return "PATH"
    return opt.path[-1].upper()


def read_toml(path: Path) -> dict[str, Any]:
    """The TOML file as a dict; a missing or malformed file is a configuration error."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigurationError(f"cannot read configuration file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"configuration file {path} is not valid TOML: {exc}") from None


def _lookup(document: Mapping[str, Any], keys: Sequence[str]) -> tuple[bool, Any]:
    node: Any = document
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return False, None
        node = node[key]
    return True, node


def _check_unknown(document: Mapping[str, Any], options: Sequence[Option], path: Path) -> None:
    known = {opt.key for opt in options}
    prefixes = {".".join(opt.key.split(".")[:n]) for opt in options for n in (1, 2)}

    def walk(node: Mapping[str, Any], trail: tuple[str, ...]) -> None:
        for key, value in node.items():
            dotted = ".".join((*trail, key))
            if isinstance(value, dict) and dotted in prefixes and dotted not in known:
                walk(value, (*trail, key))
            elif dotted not in known:
                raise ConfigurationError(f"{path}: unknown setting {dotted!r}")

    walk(document, ())


def _check_retired(
    sections: Sequence[Section],
    document: Mapping[str, Any],
    config_file: Path | None,
    environ: Mapping[str, str],
) -> None:
    """A retired option set in the file or the environment is an error, not ignored."""
    for section in sections:
        for key, variable, _, message in section.retired_spellings():
            if _lookup(document, key.split("."))[0]:
                raise ConfigurationError(f"{config_file}: {message}")
            if variable in environ:
                raise ConfigurationError(f"{variable}: {message}")


def load(
    sections: Sequence[Section],
    *,
    config_file: Path | None,
    environ: Mapping[str, str],
    flags: argparse.Namespace | None = None,
) -> Loaded:
    """The effective configuration from the three sources, each value type-checked."""
    options = all_options(sections)
    document: dict[str, Any] = {}
    if config_file is not None:
        document = read_toml(config_file)
    _check_retired(sections, document, config_file, environ)
    if config_file is not None:
        _check_unknown(document, options, config_file)
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for opt in options:
        value, origin = opt.default, "default"
        present, raw = _lookup(document, opt.key.split("."))
        if present:
            value, origin = opt.coerce(raw, f"{config_file}"), f"file {config_file}"
        if opt.env in environ:
            value, origin = opt.parse_text(environ[opt.env], opt.env), f"env {opt.env}"
        given = getattr(flags, opt.dest, None) if flags is not None else None
        if given is not None:
            if isinstance(given, bool):
                value = given
            elif isinstance(given, list):
                value = tuple(item for entry in given for item in opt.parse_text(entry, opt.flag))
            else:
                value = opt.parse_text(given, opt.flag)
            origin = f"flag {opt.flag}"
        values[opt.key] = value
        origins[opt.key] = origin
    built = {
        section.name: _build(section.options_class, section.name, values) for section in sections
    }
    return Loaded(sections=built, values=values, origins=origins, options=options)


def _build(cls: type, prefix: str, values: Mapping[str, Any]) -> Any:
    kwargs: dict[str, Any] = {}
    for spec in dataclasses.fields(cls):
        key = f"{prefix}.{spec.name}"
        if key in values:
            kwargs[spec.name] = values[key]
        elif any(name.startswith(key + ".") for name in values):
            hint = _field_class(cls, spec.name)
            kwargs[spec.name] = _build(hint, key, values)
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(f"[{prefix}]: {exc}") from None


def _field_class(cls: type, name: str) -> type:
    import typing

    from .options import _unwrap

    hint, _ = _unwrap(typing.get_type_hints(cls)[name])
    return hint  # type: ignore[no-any-return]


def render(loaded: Loaded) -> str:
    """The effective configuration as TOML, each value with its origin; secrets redacted."""
    lines: list[str] = []
    current: str | None = None
    order = {name: index for index, name in enumerate(loaded.sections)}
    # TOML: a table's own keys must come before its sub-tables ([store.create_settle]).
    ordered = sorted(loaded.options, key=lambda o: (order[o.section.name], o.path[:-1]))
    for opt in ordered:
        table = ".".join(opt.key.split(".")[:-1])
        if table != current:
            lines.append(("" if current is None else "\n") + f"[{table}]")
            current = table
        value = loaded.values[opt.key]
        origin = loaded.origins[opt.key]
        if value is None:
            lines.append(f"# {opt.path[-1]} is unset  # {origin}")
        else:
            lines.append(f"{opt.path[-1]} = {opt.show(value)}  # {origin}")
    return "\n".join(lines) + "\n"

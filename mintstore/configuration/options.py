"""Options derived from a frozen dataclass: names, types, defaults and help.

A field becomes an option when its type is one a person can write down: bool,
int, float, str, Path, timedelta (seconds), an optional one of those, a tuple of
str, or a nested dataclass of such fields (flattened: ``create_settle.floor``).
Fields of any other type (a clock, a codec) are wiring, not configuration, and
are left to their defaults.

Help comes from the field's ``metadata["help"]`` (use :func:`option`), or else
from a ``* ``name``: text`` bullet of the class docstring, the style the engine's
:class:`~mintstore.store.StoreConfig` uses.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from mintstore.errors import ConfigurationError

SCALARS: tuple[type, ...] = (bool, int, float, str, Path, timedelta)
#: ``* ``name``: text``, also ``* ``name`` (default): text`` and ``* ``a`` (x) / ``b`` (y): text``.
_BULLET = re.compile(r"^\s*\*\s*((?:``\w+``(?:\s*\([^)]*\))?\s*/?\s*)+):\s*(.*)$")
_BULLET_NAME = re.compile(r"``(\w+)``")


def option(
    default: Any,
    help: str,
    *,
    secret: bool = False,
    choices: tuple[str, ...] | None = None,
    flag: str | None = None,
) -> Any:
    """A dataclass field with its help text (and whether its value must never be shown)."""
    metadata = {"help": help, "secret": secret, "choices": choices, "flag": flag}
    if isinstance(default, (list, dict, set)):
        raise TypeError("option defaults must be immutable (use a tuple)")
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class Section:
    """One component's options: a dataclass under a name (``[name]`` in the TOML file).

    ``flag_prefix`` is put before every flag (``"store-"`` gives
    ``--store-upload-workers``); the top-level sections use none. ``aliases``
    give a field an extra, shorter flag (``{"lock_ttl": "--lock-ttl"}``) and
    ``defaults`` replace a dataclass default for this program. ``retired``
    names options this section no longer has, each with where it went: the
    file key, the variable and the flag of a retired option are refused with
    that message instead of being ignored (an operator's setting must never
    silently stop applying).
    """

    name: str
    options_class: type
    flag_prefix: str = ""
    aliases: Mapping[str, str] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    retired: Mapping[str, str] = field(default_factory=dict)

    def retired_spellings(self) -> Iterator[tuple[str, str, str, str]]:
        """(file key, variable, flag, message) of each retired option."""
        for name, instead in self.retired.items():
            key = f"{self.name}.{name}"
            message = f"{key} was retired: use {instead}"
            flag = "--" + self.flag_prefix + name.replace("_", "-")
            yield key, self.env_prefix + name.upper(), flag, message

    @property
    def env_prefix(self) -> str:
        return f"MINTSTORE_{self.name.upper()}_" if self.flag_prefix else "MINTSTORE_"


@dataclass(frozen=True)
class Option:
    """One configurable value: where it lives and how it is spelled in each source."""

    section: Section
    path: tuple[str, ...]
    kind: type
    optional: bool
    is_tuple: bool
    default: Any
    help: str
    secret: bool
    choices: tuple[str, ...] | None
    flag: str
    alias: str | None

    @property
    def key(self) -> str:
        """``section.field[.subfield]``: the name ``config show`` prints."""
        return ".".join((self.section.name, *self.path))

    @property
    def env(self) -> str:
        return self.section.env_prefix + "_".join(self.path).upper()

    @property
    def dest(self) -> str:
        """The argparse destination (unique across sections)."""
        return "cfg__" + "__".join((self.section.name, *self.path))

    def parse_text(self, text: str, source: str) -> Any:
        """A value written as text (environment or flag) converted to this option's type."""
        if self.is_tuple:
            return tuple(part.strip() for part in text.split(",") if part.strip())
        if self.optional and text.strip().lower() in ("", "none"):
            return None
        return self._scalar(text.strip(), source)

    def coerce(self, value: Any, source: str) -> Any:
        """A value from TOML (already typed) checked and converted to this option's type."""
        if self.is_tuple:
            if isinstance(value, str):
                return self.parse_text(value, source)
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigurationError(f"{source}: {self.key} wants a list of strings")
            return tuple(value)
        if isinstance(value, str):
            return self.parse_text(value, source)
        if self.kind is bool and isinstance(value, bool):
            return value
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        if self.kind in (int, float, timedelta) and numeric:
            return self._scalar(str(value), source)
        raise ConfigurationError(f"{source}: {self.key} wants {self.describe_type()}")

    def _scalar(self, text: str, source: str) -> Any:
        value: Any
        try:
            if self.kind is bool:
                lowered = text.lower()
                if lowered not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                    raise ValueError(text)
                value = lowered in ("1", "true", "yes", "on")
            elif self.kind is int:
                if not re.fullmatch(r"[+-]?[0-9]{1,19}", text):
                    raise ValueError(text)
                value = int(text)
            elif self.kind is float:
                value = float(text)
                if value != value or value in (float("inf"), float("-inf")):
                    raise ValueError(text)
            elif self.kind is timedelta:
                seconds = float(text)
                if not 0 <= seconds < 10**9:
                    raise ValueError(text)
                value = timedelta(seconds=seconds)
            elif self.kind is Path:
                value = Path(text)
            else:
                value = text
        except ValueError:
            raise ConfigurationError(
                f"{source}: {self.key} wants {self.describe_type()}, not {text[:80]!r}"
            ) from None
        if self.choices is not None and value not in self.choices:
            raise ConfigurationError(
                f"{source}: {self.key} is one of {', '.join(self.choices)}, not {text[:80]!r}"
            )
        return value

    def describe_type(self) -> str:
        if self.is_tuple:
            return "a list of strings"
        return {
            bool: "true or false",
            int: "an integer",
            float: "a number",
            timedelta: "a number of seconds",
            Path: "a path",
            str: "a string",
        }[self.kind]

    def show(self, value: Any) -> str:
        """The value as it would be written in the TOML file (secrets redacted)."""
        if value is None:
            return '"" # unset'
        if self.secret:
            return '"***"'
        if self.is_tuple:
            return "[" + ", ".join(_toml_string(str(v)) for v in value) + "]"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, timedelta):
            return f"{value.total_seconds():g}"
        if isinstance(value, (int, float)):
            return repr(value)
        return _toml_string(redact_url(str(value)))


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def redact_url(text: str) -> str:
    """``scheme://user:secret@host`` -> ``scheme://***@host``; other text unchanged."""
    return re.sub(r"^([a-z][a-z0-9+.-]*://)[^/@]+@", r"\1***@", text)


def _docstring_help(cls: type) -> dict[str, str]:
    found: dict[str, str] = {}
    current: list[str] = []
    for line in (cls.__doc__ or "").splitlines():
        match = _BULLET.match(line)
        if match:
            current = _BULLET_NAME.findall(match.group(1))
            for name in current:
                found[name] = match.group(2).strip()
        elif current and line.strip() and line.startswith("  "):
            for name in current:
                found[name] += " " + line.strip()
        else:
            current = []
    # Sphinx markup has no place in --help: ``x`` and :mod:`x` become x.
    return {
        name: re.sub(r":[a-z]+:`([^`]*)`", r"\1", text).replace("``", "")
        for name, text in found.items()
    }


def _unwrap(hint: Any) -> tuple[Any, bool]:
    """``X | None`` -> (X, True); anything else -> (hint, False)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        arguments = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(arguments) == 1 and len(typing.get_args(hint)) == 2:
            return arguments[0], True
    return hint, False


def options_of(section: Section) -> Iterator[Option]:
    """Every option of a section, in field order (nested dataclasses flattened)."""
    yield from _walk(section, section.options_class, (), section.defaults, "")


def _walk(
    section: Section,
    cls: type,
    prefix: tuple[str, ...],
    defaults: Mapping[str, Any],
    parent_help: str,
) -> Iterator[Option]:
    hints = typing.get_type_hints(cls)
    docs = _docstring_help(cls)
    for spec in dataclasses.fields(cls):
        if not spec.init or spec.name.startswith("_"):
            continue
        hint, optional = _unwrap(hints[spec.name])
        default = defaults.get(spec.name, _default_of(spec))
        if dataclasses.is_dataclass(hint) and isinstance(hint, type):
            yield from _walk(section, hint, (*prefix, spec.name), {}, docs.get(spec.name, ""))
            continue
        is_tuple = typing.get_origin(hint) is tuple and typing.get_args(hint) in ((str, ...),)
        if not is_tuple and hint not in SCALARS:
            continue
        metadata = spec.metadata
        path = (*prefix, spec.name)
        flag = metadata.get("flag") or "--" + section.flag_prefix + "-".join(path).replace("_", "-")
        yield Option(
            section=section,
            path=path,
            kind=str if is_tuple else hint,
            optional=optional,
            is_tuple=is_tuple,
            default=default,
            help=metadata.get("help")
            or docs.get(spec.name, "")
            or (f"{parent_help} ({spec.name})" if parent_help else ""),
            secret=bool(metadata.get("secret")),
            choices=metadata.get("choices"),
            flag=flag,
            alias=section.aliases.get(".".join(path)),
        )


def _default_of(spec: dataclasses.Field[Any]) -> Any:
    if spec.default is not dataclasses.MISSING:
        return spec.default
    if spec.default_factory is not dataclasses.MISSING:
        return spec.default_factory()
    return None

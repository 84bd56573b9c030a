"""Typed reading of config dataclasses from JSON: every value is checked against its field's
annotation (int, float, str, bool, Literal[...], X | None, tuple[X, ...], fixed-length tuples,
dict[str, X], nested dataclasses), then the class's own `validate()` checks ranges. A mistake
is one `InvalidConfig` naming the field path (`model_cfg.bins.n_bins`) and, where given, the
file it came from. Torch-free: the runtime reads ONNX metadata through the same code.
"""
from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any, Literal, TypeVar

from .errors import ConfigError

T = TypeVar("T")


class InvalidConfig(ConfigError, ValueError):
    """A config value of the wrong type or out of range. `field` is its dotted path; also a
    ValueError, so readers that already catch ValueError keep working."""

    def __init__(self, field: str, reason: str, source: str | None = None) -> None:
        self.field, self.reason, self.source = field, reason, source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{field}: {reason}" if field else f"{where}{reason}")

    def within(self, prefix: str) -> InvalidConfig:
        """The same error with `prefix.` in front of the field path."""
        field = f"{prefix}.{self.field}" if prefix and self.field else (prefix or self.field)
        return InvalidConfig(field, self.reason, self.source)

    def from_source(self, source: str) -> InvalidConfig:
        return InvalidConfig(self.field, self.reason, source)


def require(ok: bool, field: str, reason: str) -> None:
    """Raise InvalidConfig(field, reason) unless `ok`."""
    if not ok:
        raise InvalidConfig(field, reason)


def at_least(obj: Any, name: str, low: float, *, strict: bool = False) -> None:
    """obj.name finite and >= low (> low when strict), else InvalidConfig naming the field."""
    value = getattr(obj, name)
    require(math.isfinite(value), name, f"expected a finite number, got {value!r}")
    ok = value > low if strict else value >= low
    require(ok, name, f"must be {'>' if strict else '>='} {low:g}, got {value!r}")


def at_most(obj: Any, name: str, high: float) -> None:
    """obj.name <= high, else InvalidConfig naming the field: sizes that would allocate more
    than any machine has, read from a config.json, fail here and not in the allocator."""
    value = getattr(obj, name)
    require(value <= high, name, f"must be <= {high:g}, got {value!r}")


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _kind(tp: Any) -> str:
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false",
             type(None): "null"}
    if tp in names:
        return names[tp]
    if dataclasses.is_dataclass(tp):
        return "an object"
    origin = typing.get_origin(tp)
    if origin is tuple or origin is list:
        return "a list"
    if origin is dict:
        return "an object"
    return getattr(tp, "__name__", str(tp))


def _scalar(tp: type, value: Any, where: str) -> Any:
    if tp is bool:
        ok = isinstance(value, bool)
    elif tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif tp is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok and not math.isfinite(value):
            raise InvalidConfig(where, f"expected a finite number, got {_describe(value)}")
        return float(value) if ok else _fail(tp, value, where)
    elif tp is str:
        ok = isinstance(value, str)
    elif tp is type(None):
        ok = value is None
    else:
        ok = isinstance(value, tp)
    return value if ok else _fail(tp, value, where)


def _fail(tp: Any, value: Any, where: str) -> typing.NoReturn:
    raise InvalidConfig(where, f"expected {_kind(tp)}, got {_describe(value)}")


def check_value(tp: Any, value: Any, where: str = "") -> Any:
    """`value` converted to annotation `tp` (lists become tuples), or InvalidConfig."""
    if tp is Any:
        return value
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, path=where)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Literal:
        if any(type(value) is type(a) and value == a for a in args):
            return value
        allowed = ", ".join(repr(a) for a in args)
        raise InvalidConfig(where, f"expected one of {allowed}, got {_describe(value)}")
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        for arg in options[:-1]:
            try:
                return check_value(arg, value, where)
            except InvalidConfig:
                continue
        try:
            return check_value(options[-1], value, where)
        except InvalidConfig as exc:
            if exc.field != where or len(options) > 1 or type(None) not in args:
                raise
            kind = _kind(options[-1])
            raise InvalidConfig(where, f"expected {kind} or null, got {_describe(value)}") from None
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            _fail(tp, value, where)
        if origin is list or (len(args) == 2 and args[1] is Ellipsis):
            items = [check_value(args[0] if args else Any, v, f"{where}[{i}]") for i, v in enumerate(value)]
        else:
            if len(value) != len(args):
                raise InvalidConfig(where, f"expected {len(args)} values, got {len(value)}")
            items = [check_value(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value))]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            _fail(tp, value, where)
        key_tp, value_tp = args or (Any, Any)
        return {check_value(key_tp, k, where): check_value(value_tp, v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(tp, type):
        return _scalar(tp, value, where)
    raise TypeError(f"unsupported config annotation {tp!r}")  # a programming error, not a user's


def validate_tree(obj: Any, path: str = "") -> None:
    """Run `validate()` on a config dataclass built in code (not read by from_dict), nested
    configs first; InvalidConfig names the field path."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            validate_tree(value, f"{path}.{f.name}" if path else f.name)
    validate = getattr(obj, "validate", None)
    if validate is not None:
        try:
            validate()
        except InvalidConfig as exc:
            raise exc.within(path) from None


def from_dict(cls: type[T], data: Any, *, source: str | None = None, path: str = "") -> T:
    """Rebuild config dataclass `cls` from `to_dict` output, checking every value's type and
    then `cls.validate()` (ranges, cross-field rules). Unknown or missing fields are errors.
    `source` (a file name) and `path` (the dict's place in it) go into the error message."""
    try:
        if not isinstance(data, dict):
            raise InvalidConfig(path, f"expected an object, got {_describe(data)}")
        fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise InvalidConfig(path, f"unknown {cls.__name__} field(s): {', '.join(map(str, unknown))}")
        missing = [n for n, f in fields.items() if n not in data and f.default is dataclasses.MISSING
                   and f.default_factory is dataclasses.MISSING]
        if missing:
            raise InvalidConfig(path, f"missing {cls.__name__} field(s): {', '.join(missing)}")
        hints = typing.get_type_hints(cls)
        kwargs = {n: check_value(hints[n], v, f"{path}.{n}" if path else n) for n, v in data.items()}
        obj = cls(**kwargs)
        validate = getattr(obj, "validate", None)
        if validate is not None:
            try:
                validate()
            except InvalidConfig as exc:
                raise exc.within(path) from None
        return obj
    except InvalidConfig as exc:
        if source is not None and exc.source is None:
            raise exc.from_source(source) from None
        raise

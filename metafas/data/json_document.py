"""The one reader of metafas's JSON files: versioned documents (checkpoint state, export
metadata, model cards) and plain ones (a run's config.json), with the types of the fields that
the code uses checked, so that a damaged or foreign file is refused naming the file and field."""

import json
from collections.abc import Mapping
from pathlib import Path

Fields = Mapping[str, type | tuple[type, ...]]

TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", dict: "an object"}
TYPE_NAMES |= {list: "a list", bool: "true or false", type(None): "null"}


class DocumentError(ValueError):
    """A JSON file is unreadable, not the document expected, or has a field of the wrong type."""


def read_json(path: Path, what: str, error: type[ValueError] = DocumentError):
    """The parsed content of `path`; `what` names it in the message ("run config")."""
    try:
        return json.loads(Path(path).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as reason:
        raise error(f"{path}: {what} is not valid JSON ({reason})") from None


def read_json_document(
    path: Path,
    format_name: str,
    version: int,
    what: str,
    fields: Fields | None = None,
    optional: Fields | None = None,
    error: type[ValueError] = DocumentError,
) -> dict:
    """A JSON object whose "format" is `format_name` and whose "version" is at most `version`.

    Args:
        fields: name -> type(s) of fields it must have.
        optional: name -> type(s) of fields it may have.
        error: the exception raised (a ValueError subclass).
    """
    document = read_json(path, what, error)
    if not isinstance(document, dict) or document.get("format") != format_name:
        raise error(f"{path} is not a {format_name} file")
    found = document.get("version", 0)
    if not is_a(found, int):
        raise error(f'{path}: field "version" must be an integer, got {found!r}')
    if found > version:
        raise error(f"{path}: {what} version {found} is newer than {version}; upgrade metafas")
    check_fields(document, fields or {}, optional or {}, str(path), error)
    return document


def check_fields(
    document: dict,
    fields: Fields,
    optional: Fields,
    where: str,
    error: type[ValueError] = DocumentError,
) -> None:
    """Refuse a missing field of `fields`, or a field of either whose value has another type."""
    for name, types in {**optional, **fields}.items():
        if name not in document:
            if name in fields:
                raise error(f'{where}: field "{name}" is missing')
            continue
        if not is_a(document[name], types):
            raise error(
                f'{where}: field "{name}" must be {type_names(types)}, '
                f"got {json.dumps(document[name])[:60]}"
            )


def is_a(value, types: type | tuple[type, ...]) -> bool:
    """isinstance, except that true/false is not an integer and an integer is a number."""
    types = types if isinstance(types, tuple) else (types,)
    if isinstance(value, bool):
        return bool in types
    if float in types and isinstance(value, int):
        return True
    return isinstance(value, types)


def type_names(types: type | tuple[type, ...]) -> str:
    types = types if isinstance(types, tuple) else (types,)
    return " or ".join(TYPE_NAMES.get(t, t.__name__) for t in types)

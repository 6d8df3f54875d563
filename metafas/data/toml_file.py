"""Reading a TOML file (presets, sweeps, protocols) with errors that name the file, and the
line and column of a syntax error."""

import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def read_toml(path, error: type[Exception] = ValueError) -> dict:
    """The file's tables; a file that cannot be read or parsed raises `error` naming it."""
    try:
        return tomllib.loads(path.read_bytes().decode("utf-8"))
    except OSError as err:
        raise error(f"cannot read {path}: {err.strerror or err}") from None
    except UnicodeDecodeError as err:
        raise error(f"{path}: not UTF-8 text ({err.reason})") from None
    except tomllib.TOMLDecodeError as err:
        raise error(toml_error(path, err)) from None


def toml_error(path: Path, error: tomllib.TOMLDecodeError) -> str:
    """'FILE, line 3, column 7: not valid TOML: Invalid value' from the parser's message."""
    text = str(error)
    where = re.search(r"\s*\(at line (\d+), column (\d+)\)$", text)
    if where is None:
        return f"{path}: not valid TOML: {text}"
    line, column = where.groups()
    return f"{path}, line {line}, column {column}: not valid TOML: {text[: where.start()]}"

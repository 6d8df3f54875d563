"""The one reader of a run's `results.jsonl`: its records, checked line by line.

Records are appended one line at a time, so an interrupted append can leave a torn last line;
that one is skipped. Any other line that is not a record (damaged, or written by something
else) is refused naming the file and line.
"""

import json
from pathlib import Path

from metafas.data.json_document import check_fields

RECORD_FIELDS = {"step": int, "level": str, "threshold_rule": str, "metrics": dict}
RECORD_OPTIONAL = {"oracle": bool, "source_val_auc": (float, type(None)), "seed": int}


class RecordsError(ValueError):
    """A line of results.jsonl is not a metafas evaluation record."""


def read_records(path: Path) -> list[dict]:
    """The records of `path` in order ([] if it does not exist), a torn last line left out."""
    path = Path(path)
    if not path.exists():
        return []
    try:
        lines = path.read_text().splitlines()
    except UnicodeDecodeError as error:
        raise RecordsError(f"{path} is not a results file (not UTF-8: {error})") from None
    records = []
    for number, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):  # an interrupted append
                break
            raise RecordsError(f"{path} line {number}: not a JSON record") from None
        if not isinstance(record, dict):
            raise RecordsError(f"{path} line {number}: not a JSON object")
        check_fields(record, RECORD_FIELDS, RECORD_OPTIONAL, f"{path} line {number}", RecordsError)
        records.append(record)
    return records

"""Small HTML building blocks for the report page: escaped text, tables, figures, sections."""

from collections.abc import Sequence
from html import escape
from urllib.parse import quote

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1400px; color: #222; }
div.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: right; }
td { white-space: nowrap; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
tr.oracle td { color: #8a1c1c; font-style: italic; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.85em; color: #555; }
.note { background: #fff8e1; border-left: 4px solid #f0b400; padding: 0.5em 1em; }
.row { display: flex; flex-wrap: wrap; gap: 1em; } .row figure { max-width: 32%; }
details { margin: 0.5em 0; } summary { cursor: pointer; font-weight: 600; }
"""


def page(title: str, body: str) -> str:
    """A complete, self-contained HTML document (inline CSS, no scripts, no remote assets)."""
    return (
        "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n"
        f"<body>\n<h1>{escape(title)}</h1>\n{body}\n</body>\n</html>\n"
    )


def table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], classes: Sequence[str] = ()
) -> str:
    """An HTML table of already formatted cells; `classes` gives each row's class (or "")."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for index, row in enumerate(rows):
        name = classes[index] if index < len(classes) else ""
        attribute = f" class='{escape(name)}'" if name else ""
        cells = "".join(f"<td>{escape(str(c))}</td>" for c in row)
        body.append(f"<tr{attribute}>{cells}</tr>")
    rows_html = "\n".join(body)
    return f"<div class='scroll'><table>\n<tr>{head}</tr>\n{rows_html}\n</table></div>"


def figure(src: str, caption: str) -> str:
    """An image referenced by a relative path, with its caption as alt text too."""
    return (
        f"<figure><img src='{quote(src)}' alt='{escape(caption)}'>"
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


def section(title: str, inner: str, level: int = 2) -> str:
    return f"<h{level}>{escape(title)}</h{level}>\n{inner}"


def details(summary: str, inner: str) -> str:
    return f"<details><summary>{escape(summary)}</summary>\n{inner}\n</details>"


def row(items: Sequence[str]) -> str:
    """Blocks side by side (wrapping on narrow screens)."""
    return "<div class='row'>" + "".join(items) + "</div>"


def paragraph(text: str, note: bool = False) -> str:
    return f"<p class='note'>{escape(text)}</p>" if note else f"<p>{escape(text)}</p>"

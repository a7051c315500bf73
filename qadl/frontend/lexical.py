"""Source-text rules: no character that makes code read differently from what it does.

Checked on the raw text before parsing (``check_characters``): text-direction controls,
characters some editors show as a line break, and invisible characters are refused anywhere,
comments and strings included (the "trojan source" attacks, CVE-2021-42574, which rustc
refuses the same way). Checked on the parse tree (``check_identifiers``): a name must be
written in one script (``pаram`` with a Cyrillic ``а`` is refused) and must not look like
another name of the same file.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from lark import Token, Tree

from qadl.diagnostics import MAX_ERRORS, Diagnostic, Label
from qadl.errors import QadlError
from qadl.source import SourceFile, Span

__all__ = ["char_name", "check_characters", "check_identifiers", "skeleton"]

_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
"""Characters that reorder how text is displayed (Unicode bidirectional controls)."""
_LINE_BREAKS = frozenset("\u2028\u2029\u0085\x0b\x0c\x1c\x1d\x1e")
"""Line breaks in Unicode or in some editors, but not in qadl (a ``//`` comment runs on)."""
_INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")
"""Hangul fillers: letters (so valid in names) that print as nothing."""
_BOM = "\ufeff"
_CANDIDATE = re.compile(r"[^\t\n\r\x20-\x7e]|\r(?!\n)")
"""Characters worth a closer look: everything but printable ASCII, tab and newline."""


def char_name(ch: str) -> str:
    """``U+202E (RIGHT-TO-LEFT OVERRIDE)``."""
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X}" + (f" ({name})" if name else "")


def _problem(text: str, i: int) -> tuple[str, str, str] | None:
    """(code, what, help) when ``text[i]`` is not allowed in a source file."""
    ch = text[i]
    if ch in "\t\n" or (ch.isascii() and ch.isprintable()):
        return None
    if ch == "\r" and text[i + 1 : i + 2] == "\n":
        return None
    if ch == _BOM and i == 0:
        return None  # a UTF-8 byte-order mark at the start is harmless
    if ch in _BIDI:
        return (
            "E0117",
            "text-direction control character",
            "it can make code display in a different order from the one qadl reads; delete it",
        )
    if ch in _LINE_BREAKS or ch == "\r":
        return (
            "E0118",
            "character that editors may show as a line break",
            "qadl only breaks lines at `\\n`, so text after it may be hidden inside a comment;"
            " use a plain newline",
        )
    if unicodedata.category(ch) in ("Cc", "Cf", "Cs") or ch in _INVISIBLE_LETTERS:
        return (
            "E0119",
            "invisible or control character",
            "it does not show in an editor but changes what the text means; delete it",
        )
    return None


def check_characters(source: SourceFile) -> None:
    """Refuse text-direction controls, hidden line breaks and invisible characters.

    Raises:
        QadlError: E0117/E0118/E0119, one diagnostic per offending character (at most 20).
    """
    text = source.text
    found: list[Diagnostic] = []
    for match in _CANDIDATE.finditer(text):
        i = match.start()
        problem = _problem(text, i)
        if problem is None:
            continue
        code, what, help_ = problem
        found.append(
            Diagnostic.error(
                code,
                f"{what} {char_name(text[i])}",
                Span(source.path, i, i + 1),
                label="not allowed in qadl source",
                help=help_,
            )
        )
        if len(found) >= MAX_ERRORS:
            break
    if found:
        raise QadlError(tuple(found))


# -- identifiers ----------------------------------------------------------------------------------
_CONFUSABLE = {
    # Cyrillic letters that look like Latin ones
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j",
    "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l", "А": "A", "В": "B", "Е": "E",
    "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T", "Х": "X", "У": "Y",
    "І": "I", "Ј": "J", "Ѕ": "S",
    # Greek letters that look like Latin ones (θ, φ, ψ, π ... look like nothing Latin)
    "ο": "o", "ν": "v", "ρ": "p", "ι": "i", "υ": "u", "ϲ": "c", "Α": "A", "Β": "B", "Ε": "E",
    "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T",
    "Υ": "Y", "Χ": "X",
    # Latin letters that look like ASCII ones
    "ı": "i", "ɑ": "a", "ℓ": "l", "ǀ": "l",
}  # fmt: skip
_GREEK_LOOKALIKES = frozenset(c for c in _CONFUSABLE if unicodedata.name(c).startswith("GREEK"))
_ALLOWED_MIXES = (
    frozenset({"CJK", "HIRAGANA", "KATAKANA"}),  # Japanese
    frozenset({"CJK", "HANGUL"}),  # Korean
    frozenset({"CJK", "BOPOMOFO"}),  # Chinese phonetic
)
_NO_SCRIPT = frozenset({"DIGIT", "MODIFIER", "COMBINING", "KATAKANA-HIRAGANA"})


def skeleton(name: str) -> str:
    """What a name looks like: NFKC-normalised, look-alike letters replaced by ASCII ones."""
    return "".join(_CONFUSABLE.get(c, c) for c in unicodedata.normalize("NFKC", name))


def _script(ch: str) -> str | None:
    """The script of a letter or digit by its Unicode name (LATIN, GREEK, CYRILLIC ...)."""
    if ch.isascii():
        return "LATIN" if ch.isalpha() else None
    if unicodedata.category(ch)[0] not in "LN":
        return None  # combining marks and connectors take the script of their base
    word = unicodedata.name(ch, "").split(" ")[0]
    return None if not word or word in _NO_SCRIPT else word


def _mixed_script(name: str) -> tuple[int, str] | None:
    """(index, scripts) of the first letter of a second script in ``name``, when not allowed."""
    normal = unicodedata.normalize("NFKC", name)
    per_char = [_script(unicodedata.normalize("NFKC", ch)[:1]) for ch in name]
    scripts = {s for s in per_char if s is not None}
    if len(scripts) <= 1 or any(scripts <= mix for mix in _ALLOWED_MIXES):
        return None
    if scripts == {"LATIN", "GREEK"} and not any(c in _GREEK_LOOKALIKES for c in normal):
        return None  # `θmax`, `dφ`: Greek symbols next to Latin words are common in physics
    lookalike = [i for i, ch in enumerate(name) if ch in _CONFUSABLE and not ch.isascii()]
    if lookalike:
        return lookalike[0], " and ".join(sorted(s.title() for s in scripts))
    first = next(s for s in per_char if s is not None)
    i = next(i for i, s in enumerate(per_char) if s is not None and s != first)
    return i, " and ".join(sorted(s.title() for s in scripts))


def _names(tree: Tree) -> Iterable[Token]:
    """Every NAME token in the tree, in source order."""
    tokens = tree.scan_values(lambda v: isinstance(v, Token) and v.type == "NAME")
    return sorted(tokens, key=lambda t: t.start_pos or 0)


def check_identifiers(tree: Tree, source: SourceFile) -> None:
    """Refuse names that mix scripts and names that look like another name of the file.

    Raises:
        QadlError: E0123 (mixed scripts) / E0124 (look-alike names), each name reported once.
    """
    if source.text.isascii():
        return
    found: list[Diagnostic] = []
    seen: dict[str, Token] = {}
    by_look: dict[str, Token] = {}
    for tok in _names(tree):
        if len(found) >= MAX_ERRORS:
            break
        name = str(tok)
        if name in seen or (name.isascii() and skeleton(name) not in by_look):
            seen.setdefault(name, tok)
            by_look.setdefault(skeleton(name), tok)
            continue
        seen[name] = tok
        span = Span(source.path, tok.start_pos, tok.end_pos)
        mixed = _mixed_script(name)
        if mixed is not None:
            i, scripts = mixed
            ch = name[i]
            look = _CONFUSABLE.get(ch)
            found.append(
                Diagnostic.error(
                    "E0123",
                    f"name `{name}` mixes {scripts} letters",
                    Span(source.path, tok.start_pos + i, tok.start_pos + i + 1),
                    label=f"{char_name(ch)}",
                    help=(f"`{ch}` looks like `{look}`; " if look else "")
                    + "write each name in one script",
                )
            )
            continue
        look = skeleton(name)
        other = by_look.setdefault(look, tok)
        if str(other) != name:
            found.append(
                Diagnostic(
                    "E0124",
                    f"name `{name}` looks like `{other}` but is a different name",
                    Label(span, "this name"),
                    (Label(Span(source.path, other.start_pos, other.end_pos), f"`{other}`"),),
                    help="rename one of them so that they can be told apart",
                )
            )
    if found:
        raise QadlError(tuple(found))

"""The repository documents itself: the input reference is generated from the schema and
current; no file cites a document outside the repository."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from planner.cli import main
from wb import make_workbook

ROOT = Path(__file__).resolve().parents[1]


def test_workbook_reference_is_current():
    sys.path.insert(0, str(ROOT / "docs"))
    from make_workbook_doc import TARGET, render

    assert TARGET.read_text() == render(), "run: python docs/make_workbook_doc.py"


def test_workbook_reference_names_every_sheet_and_column():
    text = (ROOT / "docs" / "workbook.md").read_text()
    from planner import schema

    for sheet in schema.SHEETS.values():
        assert f"\n## {sheet.name}\n" in text
        for column in sheet.columns:
            assert f"\n| {column.name} |" in text, (sheet.name, column.name)


def test_optional_sheets_left_with_only_a_header_say_nothing(tmp_path):
    sheets = {
        "Suppliers": [{"supplier": "mine", "country": "AU", "material": "ore",
                       "capacity_t": 100, "unit_cost": 10}],
        "Demand": [{"customer": "plant", "country": "AU", "material": "ore", "period": "Q1",
                    "quantity_t": 60}],
    }
    inp = make_workbook(tmp_path / "in.xlsx", sheets)
    import openpyxl

    wb = openpyxl.load_workbook(inp)
    headers = {"Sites": ["site", "country", "capacity_t"],
               "Lanes": ["from", "to", "material", "cost_per_t", "max_t", "allowed"],
               "Limits": ["rule", "material", "stage", "by", "member", "customer", "period",
                          "min_share", "max_share", "scenario"]}
    for name, header in headers.items():  # as the template leaves them: a header only
        wb.create_sheet(name).append(header)
    wb.save(inp)
    result = CliRunner().invoke(main, ["validate", str(inp)])
    assert result.exit_code == 0, result.output
    assert "0 warning(s)" in result.output


# --- no citation of a file outside the repository ----------------------------------------
# The repository ships without the team's working notes (the contract, the library traps and
# the domain research, kept in a folder beside it), so its text must not cite them: each
# fact belongs in docs/ (docs/workbook.md, docs/model.md, docs/modelling.md) or, for a
# library trap, in the comment itself. The patterns below are written so that they do not
# match their own source text (`\b` before a capital word needs a non-word character).
OUTSIDE = re.compile(r"\.\./shared\b|/shared/[A-Z]+\.md|\bSPEC\b|\bPITFALLS\b|\bDOMAIN\b")
# Markdown links: [text](target) and reference definitions [label]: target.
MD_LINK = re.compile(r"\]\(\s*<?([^)\s>]+)|^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)",
                     re.MULTILINE)
MARKDOWN = (".md", ".md.in")


def _repository_files() -> list[Path]:
    """Every file git tracks, and new files not yet added (not those .gitignore excludes)."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                                 "--exclude-standard"], cwd=ROOT, capture_output=True,
                                check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    names = sorted({n for n in listed.decode().split("\0") if n})
    return [ROOT / n for n in names if (ROOT / n).is_file()]


def _text(path: Path) -> str | None:
    """The file's text, or None for a binary file (a NUL byte, or not UTF-8, as git sees it)."""
    data = path.read_bytes()
    if b"\0" in data[:8000]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _outside_link(path: Path, target: str) -> str | None:
    """Why a Markdown link target leaves the repository (or is broken), else None."""
    if re.match(r"[a-z][a-z0-9+.-]*:", target, re.IGNORECASE) or target.startswith("#"):
        return None  # a URL (https:, mailto:) or an anchor on the same page
    if target.startswith("/"):
        return "absolute path"
    resolved = (path.parent / target.split("#")[0]).resolve()
    if not resolved.is_relative_to(ROOT.resolve()):
        return "outside the repository"
    if not resolved.exists():
        return "no such file"
    return None


def test_no_file_cites_a_document_outside_the_repository():
    problems = []
    for path in _repository_files():
        name = path.relative_to(ROOT).as_posix()
        if path.suffix == ".xlsx":
            problems += _workbook_citations(path, name)
            continue
        text = _text(path)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            hit = OUTSIDE.search(line)
            if hit:
                problems.append(f"{name}:{number}: {hit.group(0)!r} in {line.strip()[:100]}")
        if name.endswith(MARKDOWN):
            for hit in MD_LINK.finditer(text):
                target = hit.group(1) or hit.group(2)
                why = _outside_link(path, target)
                if why:
                    number = text.count("\n", 0, hit.start()) + 1
                    problems.append(f"{name}:{number}: link to {target} ({why})")
    assert not problems, "\n".join(problems)


def _workbook_citations(path: Path, name: str) -> list[str]:
    """Citations in the text cells of a workbook (the example's Sources sheet, notes)."""
    import openpyxl

    problems = []
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    hit = OUTSIDE.search(cell.value) if isinstance(cell.value, str) else None
                    if hit:
                        problems.append(f"{name} {ws.title}!{cell.coordinate}: "
                                        f"{hit.group(0)!r} in {cell.value[:100]}")
    finally:
        wb.close()
    return problems


def test_the_citation_check_catches_what_it_is_for():
    # The check above passing means nothing if its patterns cannot match: each of these
    # must be caught (the capital words are assembled here so that this file stays clean).
    spec, pit, dom, shared = "SP" + "EC", "PIT" + "FALLS", "DO" + "MAIN", "sha" + "red"
    for text in (f"see ../{shared}/{spec}.md", f"({spec} §3)", f"{spec} section 1",
                 f"({pit} #7)", f"{dom} §1.1: USGS", f"in {dom}.md", f"/work/{shared}/NOTES.md"):
        assert OUTSIDE.search(text), text
    for text in (f"{spec}_SHEETS = []", "the spec says", "Domain research", "../sharedlib"):
        assert not OUTSIDE.search(text), text
    page = ROOT / "docs" / "page.md"  # need not exist: links resolve from its folder
    for target, why in (("../../outside.md", "outside the repository"),
                        ("/etc/notes.md", "absolute path"), ("missing.md", "no such file"),
                        ("workbook.md", None), ("../README.md#two-commands", None),
                        ("https://example.org/a", None), ("#section", None)):
        hit = MD_LINK.search(f"a [link]({target}) here")
        assert hit and hit.group(1) == target
        assert _outside_link(page, target) == why, target
    definition = MD_LINK.search("text\n[notes]: ../../notes/x.md\n")
    assert definition and definition.group(2) == "../../notes/x.md"

"""Regenerate the screenshots in docs/img/ from a real run of the example.

    .venv/bin/python docs/make_screenshots.py

Plans inputs/example.xlsx with the planner's own command line, converts the plan to PDF
with LibreOffice (headless) and renders two pages to PNG with poppler's pdftoppm: the
Summary sheet (headlines, KPI table, cost chart) and the first page of the Charts sheet
(sourcing mix by country). Needs `soffice`, `pdftotext` and `pdftoppm` on the PATH
(Debian/Ubuntu: apt-get install libreoffice-calc poppler-utils).
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "img"
SHOTS = {  # file name -> text that marks the first page to take
    "plan-summary.png": "Sourcing plan for example.xlsx",
    "plan-charts.png": "Sourcing mix by country",
}


def _tool(name: str) -> str:
    exe = shutil.which(name)
    if not exe:
        sys.exit(f"{name} not found: install libreoffice-calc and poppler-utils")
    return exe


def main() -> None:
    soffice, pdftotext, pdftoppm = _tool("soffice"), _tool("pdftotext"), _tool("pdftoppm")
    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        plan = tmp / "example-plan.xlsx"
        subprocess.run([sys.executable, "-c", "from planner.cli import main; main()", "run",
                        str(ROOT / "inputs" / "example.xlsx"), "-o", str(plan), "--quiet"],
                       check=True, cwd=ROOT)
        subprocess.run([soffice, f"-env:UserInstallation={(tmp / 'profile').as_uri()}",
                        "--headless", "--convert-to", "pdf", "--outdir", str(tmp), str(plan)],
                       check=True, capture_output=True, timeout=300)
        pdf = tmp / "example-plan.pdf"
        text = subprocess.run([pdftotext, "-layout", str(pdf), "-"], check=True,
                              capture_output=True, text=True).stdout
        pages = text.split("\f")
        for name, marker in SHOTS.items():
            page = next(i for i, p in enumerate(pages) if marker in " ".join(p.split())) + 1
            stem = tmp / name.removesuffix(".png")
            subprocess.run([pdftoppm, "-png", "-r", "110", "-f", str(page), "-l", str(page),
                            "-singlefile", str(pdf), str(stem)], check=True)
            shutil.copyfile(stem.with_suffix(".png"), IMAGES / name)
            print(f"docs/img/{name}: page {page} of the plan's PDF")


if __name__ == "__main__":
    main()

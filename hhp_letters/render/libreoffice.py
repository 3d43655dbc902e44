"""Headless LibreOffice as a converter: one profile per run, documents converted in batches
(one process per batch, never one per letter), Carlito made available so Calibri templates
keep their metrics, a timeout, and a clear message when LibreOffice is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from hhp_letters.errors import ConverterUnavailable, RenderError

INSTALL_HINT = ("install LibreOffice: `sudo apt-get install libreoffice-writer-nogui` "
                "(Debian/Ubuntu), or the LibreOffice package for your system")
STARTUP_SECONDS = 90
PER_DOCUMENT_SECONDS = 10
# PDF export options (LibreOffice 7.4+ reads them as JSON): images as the template holds them,
# losslessly. By default LibreOffice resamples every placed image to 300 ppi and JPEG-encodes
# it, once per page: two thirds of its time on a letter with a logo and a signature, and a
# lossy copy of a PNG logo. Our post-processing converts each distinct image to CMYK once.
PDF_EXPORT = ('pdf:writer_pdf_Export:{"UseLosslessCompression":{"type":"boolean","value":"true"},'
              '"ReduceImageResolution":{"type":"boolean","value":"false"}}')


def find_soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


class Converter:
    """A LibreOffice with a private profile for this run. Use as a context manager."""

    def __init__(self, fonts: Sequence[Path] = ()) -> None:
        binary = find_soffice()
        if binary is None:
            raise ConverterUnavailable("LibreOffice (soffice) is not installed; it is needed "
                                       "for Word templates", hint=INSTALL_HINT)
        self.binary = binary
        self.profile = Path(tempfile.mkdtemp(prefix=f"hhp-libreoffice-{os.getpid()}-"))
        font_dir = self.profile / "user" / "fonts"
        font_dir.mkdir(parents=True)
        for font in fonts:  # fonts in the profile are LibreOffice's own, for this run only
            shutil.copy2(font, font_dir / font.name)

    def __enter__(self) -> Converter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        shutil.rmtree(self.profile, ignore_errors=True)

    def start(self, documents: Sequence[Path], out_dir: Path) -> Conversion:
        """Start converting ``documents`` to PDF in ``out_dir`` in one LibreOffice process."""
        out_dir.mkdir(parents=True, exist_ok=True)
        command = [self.binary, f"-env:UserInstallation={self.profile.as_uri()}", "--headless",
                   "--invisible", "--nologo", "--nodefault", "--norestore", "--nolockcheck",
                   "--convert-to", PDF_EXPORT, "--outdir", str(out_dir),
                   *map(str, documents)]
        try:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        except OSError as exc:
            raise ConverterUnavailable(f"LibreOffice could not be started: {exc}",
                                       hint=INSTALL_HINT) from exc
        return Conversion(process, [out_dir / f"{d.stem}.pdf" for d in documents],
                          STARTUP_SECONDS + PER_DOCUMENT_SECONDS * len(documents))

    def convert(self, documents: Sequence[Path], out_dir: Path) -> list[Path]:
        """Convert ``documents`` to PDF in ``out_dir`` in one LibreOffice process."""
        return self.start(documents, out_dir).wait() if documents else []


class Conversion:
    """A LibreOffice process at work; ``wait`` returns the PDFs or raises."""

    def __init__(self, process: subprocess.Popen[str], pdfs: list[Path], timeout: int) -> None:
        self.process = process
        self.pdfs = pdfs
        self.timeout = timeout
        self.started = time.monotonic()
        self._finished = False

    def ready(self, index: int) -> Path:
        """Wait for PDF ``index`` only: LibreOffice converts its documents in order, so it is
        complete once the next one has appeared (or the process has ended). The caller can
        work on it while the rest convert."""
        while self.process.poll() is None:
            if index + 1 < len(self.pdfs) and self.pdfs[index + 1].exists():
                if self.pdfs[index].is_file():
                    return self.pdfs[index]
                break  # it went on without this one: wait() says what happened
            if time.monotonic() - self.started > self.timeout:
                break  # wait() stops it and says so
            time.sleep(0.02)
        return self.wait()[index]

    def stop(self) -> None:
        """End the process if it is still converting (the caller gave up on it)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()

    def wait(self) -> list[Path]:
        if self._finished:
            return self.pdfs
        try:
            left = max(1.0, self.timeout - (time.monotonic() - self.started))
            out, err = self.process.communicate(timeout=left)
        except subprocess.TimeoutExpired as exc:
            self.process.kill()
            self.process.communicate()
            raise RenderError(f"LibreOffice did not finish converting {len(self.pdfs)} "
                              f"document(s) within {self.timeout} s",
                              hint="try again; if it keeps happening, use fewer letters per "
                                   "bundle (max_letters_per_bundle)") from exc
        missing = [p.name for p in self.pdfs if not p.is_file()]
        if missing:
            detail = (err or out).strip().splitlines()[-3:]
            raise RenderError(f"LibreOffice did not produce {len(missing)} PDF(s), e.g. "
                              f"{', '.join(missing[:3])} (exit {self.process.returncode}: "
                              f"{' / '.join(detail) or 'no message'})",
                              hint="open the .docx in Word or LibreOffice to see whether it "
                                   "is damaged")
        self._finished = True
        return self.pdfs

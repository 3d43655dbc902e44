"""LA-branded Word letterheads: docxtpl under our Jinja2 environment, and a template lint.

Values are escaped for Word XML by the environment (autoescape), so ``&``, ``<``, quotes and
``{{ }}`` in spreadsheet text print literally; line breaks in feedback become line breaks.
Placeholders that are not ours are errors (StrictUndefined), never blanks.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage, Listing
from jinja2 import TemplateError, UndefinedError
from jinja2.exceptions import SecurityError

from hhp_letters.campaign import Authority
from hhp_letters.errors import InternalError, RenderError
from hhp_letters.model import LetterJob
from hhp_letters.problems import Origin, Problem, error, warning
from hhp_letters.render.templating import environment, unsafe_constructs

PLACEHOLDERS = {
    "first_name": "the participant's first name",
    "last_name": "the participant's last name",
    "name_line": "first and last name, for the address",
    "address": "the address lines, POST TOWN and postcode, one per line",
    "address_1": "address line 1", "address_2": "address line 2",
    "address_3": "address line 3", "town": "POST TOWN", "postcode": "postcode",
    "feedback_1": "the manager's first line", "feedback_2": "the manager's second line",
    "signatory": "signatory.name and signatory.title", "signature": "the signature image",
    "date": "the letter date", "authority": "the council's name", "area": "the area",
    "team": "the participant's team", "manager_first_name": "the team manager's first name",
    "reference": "the letter's reference (also in the manifest; not identifying)",
    "legal_first_name": "the first name as on the list (first_name greets by the known-as name)",
}
# A .docx is a zip: refuse parts that would inflate past these before reading them.
MAX_DOCX_BYTES = 64 << 20
MAX_DOCX_RATIO = 200
FIXED_TIME = (2000, 1, 1, 0, 0, 0)
_SMART = "\u2018\u2019\u201c\u201d"
_TAG = re.compile(r"\{[{%#](.*?)[}%#]\}", re.DOTALL)
_PARAGRAPH = re.compile(r"<w:p[ >].*?</w:p>", re.DOTALL)
_TEXT = re.compile(r"<w:t(?: [^>]*)?>([^<]*)</w:t>")
_XML_PARTS = re.compile(r"word/(document|header\d*|footer\d*)\.xml")


def _xml_parts(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name).decode("utf-8") for name in zf.namelist()
                if _XML_PARTS.fullmatch(name)}


def _too_large(path: Path) -> str | None:
    """The part of a .docx that would inflate too far (a damaged or hostile file), if any."""
    with zipfile.ZipFile(path) as zf:
        total = 0
        for info in zf.infolist():
            total += info.file_size
            ratio = info.file_size / max(1, info.compress_size)
            if info.file_size > MAX_DOCX_BYTES or (info.file_size > 4 << 20
                                                   and ratio > MAX_DOCX_RATIO):
                return info.filename
        return None if total <= 4 * MAX_DOCX_BYTES else "(all parts together)"


def _jinja_source(template: DocxTemplate) -> str:
    """The template's body, headers and footers as docxtpl hands them to Jinja."""
    template.init_docx()
    xml: str = template.patch_xml(template.get_xml())
    for uri in (template.HEADER_URI, template.FOOTER_URI):
        for _, part in template.get_headers_footers(uri):
            xml += template.patch_xml(template.get_part_xml(part))
    return xml


def lint_template(path: Path, shown: str, origin: Origin,
                  sample: Callable[[DocxTemplate], bytes] | None = None) -> list[Problem]:
    """Problems a Word template would cause: unknown or misspelt placeholders, placeholders
    Word split across runs, smart quotes inside tags, Jinja syntax errors, what could bypass
    escaping or the sandbox. ``sample`` fills it for one synthetic letter, so anything the
    sandbox forbids is found now, not when the letters are made."""
    problems: list[Problem] = []
    try:
        big = _too_large(path)
        if big is not None:
            return [error("template_format", origin, f"{shown}: its part {big} would unpack "
                          "far larger than a letterhead can need (a damaged or hostile file)",
                          "open it in Word and save it again as .docx")]
        parts = _xml_parts(path)
        template = DocxTemplate(str(path))
        env = environment()
        names = template.get_undeclared_template_variables(jinja_env=env)
        unsafe = unsafe_constructs(_jinja_source(template), env)
    except TemplateError as exc:
        return [error("template_syntax", origin, f"{shown}: template error: {exc}",
                      "fix the {{ }} / {% %} tags in Word")]
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, UnicodeDecodeError) as exc:
        # what python-docx and zipfile raise for a file that is not a sound .docx
        return [error("template_format", origin, f"{shown} is not a readable .docx ({exc})",
                      "save the letterhead from Word as .docx")]
    for what in unsafe:
        problems.append(error("template_unsafe", origin, f"{shown}: the template uses {what}",
                              "remove it in Word: a letterhead holds {{ placeholders }} only"))
    for name in sorted(names - set(PLACEHOLDERS)):
        close = difflib.get_close_matches(name, PLACEHOLDERS, n=1)
        hint = f"did you mean {{{{ {close[0]} }}}}?" if close else (
            "use only: " + ", ".join(sorted(PLACEHOLDERS)))
        problems.append(error("template_unknown_placeholder", origin,
                              f"{shown}: {{{{ {name} }}}} is not a placeholder hhp-letters "
                              "fills, so the letter would be wrong", hint))
    for part, xml in sorted(parts.items()):
        for para in _PARAGRAPH.findall(xml):
            runs = _TEXT.findall(para)
            text = "".join(runs)
            for match in _TAG.finditer(text):
                tag = match.group(0)
                if any(q in tag for q in _SMART):
                    problems.append(error(
                        "template_smart_quotes", origin,
                        f"{shown} ({part}): {tag} has curly quotes, which Jinja2 cannot read",
                        "retype the quotes inside the tag as straight quotes (turn off "
                        "AutoCorrect 'straight quotes with smart quotes')"))
                elif not any(tag in r for r in runs):
                    problems.append(warning(
                        "template_split_placeholder", origin,
                        f"{shown} ({part}): Word split {tag} across formatting runs; it is "
                        "joined before rendering, but takes the first run's formatting",
                        "select the placeholder, clear its formatting and type it again in "
                        "one go"))
            for broken in re.findall(r"\{\s+\{[^}]*\}\s*\}|\{\{[^}]*\}\s+\}", text):
                problems.append(error(
                    "template_split_placeholder", origin,
                    f"{shown} ({part}): {broken!r} has a space between its braces and would "
                    "print as typed", "write placeholders as {{ name }} with no space "
                    "between the two braces"))
    if sample is not None and not any(p.is_error for p in problems):
        try:
            sample(template)
        except RenderError as exc:
            problems.append(error("template_unsafe" if "not allowed" in exc.message
                                  else "template_error", origin, exc.message, exc.hint or ""))
    return problems


# Placeholders that are the same on every letter of an authority: a template whose headers
# and footers use only these can be filled for a whole bundle in one document.
_SAME_FOR_ALL = frozenset({"date", "authority", "area", "signatory", "signature"})
_BODY_OPEN = re.compile(r"<w:body[^>]*>")
_FIRST_P = re.compile(r"<w:p(?: [^>]*)?>(<w:pPr>(<w:pStyle [^>]*/>)?)?")


class _BatchTemplate(DocxTemplate):  # type: ignore[misc]
    """The template's body repeated once per letter, each letter starting on a new page."""

    def get_xml(self) -> str:
        xml: str = super().get_xml()
        opened = _BODY_OPEN.search(xml)
        closing = xml.rfind("<w:sectPr")
        if closing < 0:
            closing = xml.rfind("</w:body>")
        if opened is None:
            raise InternalError("a batch template without a <w:body> (checked by batchable)")
        body = xml[opened.end():closing]
        first = _FIRST_P.match(body)
        if first is None:
            raise InternalError("a batch template whose body does not start with a paragraph")
        brk = "{% if not loop.first %}<w:pageBreakBefore/>{% endif %}"
        if first.group(1) is None:
            body = body[:first.end()] + f"<w:pPr>{brk}</w:pPr>" + body[first.end():]
        else:
            body = body[:first.end()] + brk + body[first.end():]
        names = ", ".join(f"{n}=letter.{n}" for n in sorted(PLACEHOLDERS))
        return (xml[:opened.end()] + "{% for letter in letters %}{% with " + names + " %}"
                + body + "{% endwith %}{% endfor %}" + xml[closing:])


class WordLetter:
    """One authority's Word template for one run."""

    def __init__(self, path: Path, authority: Authority, signature: Path, date_text: str,
                 shown: str) -> None:
        self.path = path
        self.source = path.read_bytes()
        self.authority = authority
        self.signature = signature
        self.date_text = date_text
        self.shown = shown
        self.env = environment(autoescape=True)
        self.batchable = self._batchable()

    def _batchable(self) -> bool:
        """Can a bundle be one document? The body must start with a paragraph, and headers
        and footers may only use placeholders that are the same on every letter."""
        parts = _xml_parts(self.path)
        body = parts.get("word/document.xml", "")
        opened = _BODY_OPEN.search(body)
        if opened is None or _FIRST_P.match(body, opened.end()) is None:
            return False
        for name, xml in parts.items():
            if name != "word/document.xml":
                text = "".join(_TEXT.findall(xml))
                used = {m.group(1).split(".")[0].split("|")[0].strip()
                        for m in _TAG.finditer(text)}
                if used - _SAME_FOR_ALL:
                    return False
        return True

    def context(self, template: DocxTemplate, job: LetterJob) -> Mapping[str, Any]:
        lines = job.address_lines
        street = lines[:-2]
        a = self.authority
        return {
            "first_name": job.first_name, "last_name": job.last_name,
            "name_line": job.name_line, "address": Listing("\n".join(lines)),
            "address_1": street[0] if street else "",
            "address_2": street[1] if len(street) > 1 else "",
            "address_3": street[2] if len(street) > 2 else "",
            "town": lines[-2], "postcode": lines[-1],
            "feedback_1": Listing(job.feedback[0]), "feedback_2": Listing(job.feedback[1]),
            "signatory": {"name": a.signatory.name, "title": a.signatory.title},
            "signature": InlineImage(template, str(self.signature), width=Mm(a.signature_width)),
            "date": self.date_text, "authority": a.name, "area": a.display_area,
            "team": job.team, "manager_first_name": job.manager_first_name,
            "reference": job.reference, "legal_first_name": job.legal_first_name or
            job.first_name,
        }

    def render(self, job: LetterJob) -> bytes:
        """The filled-in .docx, with fixed zip times so the same input gives the same bytes."""
        template = DocxTemplate(io.BytesIO(self.source))
        return self._fill(template, self.context(template, job), job.title)

    def render_batch(self, jobs: Sequence[LetterJob], title: str) -> bytes:
        """One .docx holding every letter of ``jobs``, each starting on a new page."""
        template = _BatchTemplate(io.BytesIO(self.source))
        letters = [self.context(template, job) for job in jobs]
        return self._fill(template, {**letters[0], "letters": letters}, title)

    def _fill(self, template: DocxTemplate, context: Mapping[str, Any], title: str) -> bytes:
        try:
            template.render(context, jinja_env=self.env, autoescape=True)
            props = template.docx.core_properties
            props.title, props.author = title, self.authority.name
            props.subject, props.keywords = "", "hhp-letters letters"
        except UndefinedError as exc:
            raise RenderError(f"{self.shown}: {exc.message}",
                              hint="run `hhp-letters check` to list the template's "
                                   "placeholders") from exc
        except SecurityError as exc:
            raise RenderError(f"{self.shown}: not allowed in a template: {exc}",
                              hint="remove it in Word: a letterhead holds {{ placeholders }} "
                                   "only") from exc
        except TemplateError as exc:
            raise RenderError(f"{self.shown}: template error: {exc}") from exc
        buf = io.BytesIO()
        template.save(buf)
        return _fixed_times(buf.getvalue())


def _fixed_times(docx: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(docx)) as zin, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(fixed, zin.read(info.filename))
    return out.getvalue()


_CREATION = re.compile(rb"/CreationDate\s*\(D:(\d{14})")
_MOD = re.compile(rb"/ModDate\s*\(D:(\d{14})")
_CHECKSUM = re.compile(rb"/DocChecksum\s*/([0-9A-Fa-f]+)")
_ID = re.compile(rb"/ID\s*\[\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*\]")


def make_deterministic(pdf: bytes, day: str) -> bytes:
    """LibreOffice stamps the clock into /CreationDate and derives /ID and /DocChecksum from
    it; replace them in place with same-length values (so the cross-reference table stays
    right): the date with ``day`` (YYYYMMDD), /DocChecksum with zeros, the /ID with a digest
    of the rest of the file."""
    stamp = (day + "000000").encode("ascii")[:14]

    def fix_date(match: re.Match[bytes]) -> bytes:
        return match.group(0)[:-14] + stamp

    out = _MOD.sub(fix_date, _CREATION.sub(fix_date, pdf))
    out = _CHECKSUM.sub(lambda m: m.group(0)[:-len(m.group(1))] + b"0" * len(m.group(1)), out)
    found = _ID.search(out)
    if found is None:
        return out
    (a0, a1), (b0, b1) = found.span(1), found.span(2)
    zeroed = out[:a0] + b"0" * (a1 - a0) + out[a1:b0] + b"0" * (b1 - b0) + out[b1:]
    digest = hashlib.md5(zeroed, usedforsecurity=False).hexdigest().upper().encode("ascii")
    ident = (digest * (1 + (a1 - a0) // len(digest)))[:a1 - a0]
    ident2 = (digest * (1 + (b1 - b0) // len(digest)))[:b1 - b0]
    return out[:a0] + ident + out[a1:b0] + ident2 + out[b1:]

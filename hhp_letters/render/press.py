"""What the press is told: the run's PDF/X identification and colour profile, from ``[print]``.

One ICC profile serves both: it converts RGB brand colours and logos to CMYK, and it is the
OutputIntent's DestOutputProfile. By default that is the bundled HHP-FOGRA39 profile (see
``templates/icc/PROVENANCE.md``); for another condition the print house's own profile is given
as ``[print] icc_profile``. Without one, PDF/X-1a names the registered condition alone (ISO
15930-4 allows it) and colours are converted through FOGRA39, which ``check`` says.
"""

from __future__ import annotations

from hhp_letters.campaign import Campaign
from hhp_letters.problems import Origin, Problem, error, warning
from hhp_letters.render.colour import CmykConverter, ColourError, Rgb, default_profile_path
from hhp_letters.render.pdf import Pdfx
from hhp_letters.render.pdfx import PdfxError, PdfxStandard, output_condition

BUNDLED_CONDITION = "FOGRA39"
# Above this CIEDE2000 a brand colour printed from RGB is visibly not the brand's colour.
NOTICEABLE_DELTA_E = 2.0


def print_profile(campaign: Campaign) -> bytes | None:
    """The ICC profile of the output condition: the campaign's, the bundled one, or none.

    Raises OSError when the campaign names one that cannot be read (``check`` reports it)."""
    spec = campaign.spec.print
    if spec.icc_profile is not None:
        return campaign.resolve(spec.icc_profile).read_bytes()
    if spec.output_condition == BUNDLED_CONDITION:
        return default_profile_path().read_bytes()
    return None


def identification(campaign: Campaign) -> Pdfx:
    """The PDF/X identification of every file of the run. Raises PdfxError or OSError for a
    setting ``check`` reports (:func:`press_problems`)."""
    spec = campaign.spec.print
    return Pdfx.prepare(PdfxStandard.parse(spec.pdfx), output_condition(spec.output_condition),
                        print_profile(campaign))


def converter(campaign: Campaign) -> CmykConverter:
    """sRGB → CMYK through the condition's profile, or FOGRA39 when it has none here."""
    try:
        profile = print_profile(campaign)
    except OSError:
        profile = None
    return CmykConverter(profile)


def press_problems(campaign: Campaign) -> list[Problem]:
    """``[print]`` settings that cannot give a conforming file, and brand colours that will
    not print as they look on screen."""
    spec = campaign.spec.print
    origin = Origin(campaign.path.name, column="print.icc_profile")
    try:
        identification(campaign)
    except OSError as exc:
        return [error("print_profile", origin,
                      f"print.icc_profile: {spec.icc_profile} cannot be read "
                      f"({exc.strerror or exc})",
                      "put the print house's .icc file in the campaign folder and name it "
                      "there")]
    except (PdfxError, ColourError) as exc:
        return [error("print_profile", Origin(campaign.path.name, column="print"), str(exc),
                      "ask the print house for the ICC profile of their printing condition")]
    try:
        conv = CmykConverter(print_profile(campaign))
    except ColourError as exc:
        return [error("print_profile", origin, str(exc),
                      "ask the print house for the ICC profile of their printing condition")]
    problems: list[Problem] = []
    through = (f"the {spec.output_condition} profile" if print_profile(campaign) is not None
               else f"the {BUNDLED_CONDITION} profile (no profile for "
                    f"{spec.output_condition} was given)")
    for i, authority in enumerate(campaign.spec.authorities, start=1):
        if not isinstance(authority.colour, str):
            continue
        result = conv.convert(authority.colour)
        if result.delta_e is None or not isinstance(result.source, Rgb) or result.source.neutral:
            continue
        c = result.cmyk
        noticeable = result.delta_e > NOTICEABLE_DELTA_E
        problems.append(warning(
            "brand_colour_rgb", Origin(campaign.path.name, column=f"authorities[{i}].colour"),
            f"{authority.name}'s colour {authority.colour} is RGB: it prints as C{c.c:g} M{c.m:g} "
            f"Y{c.y:g} K{c.k:g} through {through}, ΔE {result.delta_e:.1f}"
            + (" (visibly different)" if noticeable else ""),
            "give the colour as the brand guide's CMYK: colour = { cmyk = [C, M, Y, K] }"))
    return problems

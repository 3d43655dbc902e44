"""Generate the FICTIONAL sample campaigns shipped with hhp-letters.

Everything this script writes is invented: the councils, staff, addresses, postcodes,
families, children, logos and signatures. None of it describes a real person or place.

Run from the repository root (or anywhere else)::

    python samples/generate.py

Outputs (paths relative to the repository root):

* ``samples/letters/`` - a recognition-letters campaign for three fictional councils
  (campaign.toml, randomised list, one feedback workbook per team manager, logos);
* ``samples/notes/`` - a coffee-machine notes campaign for one fictional council
  (campaign.toml, person-level randomised list clustered by building, logo);
* ``signatures/`` - generated, fictional signatures for the four signatories;
* ``templates/fonts/`` - Carlito (SIL OFL 1.1) copied from the system, plus OFL.txt.

The script is deterministic (seeded with ``random.Random(20191001)``) and idempotent:
running it again rewrites byte-identical files. Only the standard library, openpyxl and
Pillow are used.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json
import math
import random
import re
import unicodedata
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from PIL import Image, ImageChops, ImageDraw, ImageFont

SEED = 20191001

SAMPLES = Path(__file__).resolve().parent
ROOT = SAMPLES.parent
LETTERS = SAMPLES / "letters"
NOTES = SAMPLES / "notes"
SIGNATURES = ROOT / "signatures"
FONTS_DIR = ROOT / "templates" / "fonts"
SYSTEM_FONTS = Path("/usr/share/fonts/truetype/crosextra")
FONT_FILES = (
    "Carlito-Regular.ttf",
    "Carlito-Bold.ttf",
    "Carlito-Italic.ttf",
    "Carlito-BoldItalic.ttf",
)

# Fixed timestamps so that re-running the script gives byte-identical workbooks.
FIXED_TIME = dt.datetime(2026, 10, 1, 9, 0, 0)
ZIP_TIME = (2026, 10, 1, 9, 0, 0)

# gov.uk bulk-data postcode pattern (upper-cased, single space, full match).
POSTCODE_RE = re.compile(
    r"([Gg][Ii][Rr] 0[Aa]{2})|((([A-Za-z][0-9]{1,2})|(([A-Za-z][A-Ha-hJ-Yj-y][0-9]{1,2})"
    r"|(([A-Za-z][0-9][A-Za-z])|([A-Za-z][A-Ha-hJ-Yj-y][0-9]?[A-Za-z])))) [0-9][A-Za-z]{2})"
)
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # Royal Mail never uses C I K M O V inward
LOGO_DPI = 508  # 1200 px printed ~60 mm wide
SIGNATURE_DPI = 508  # 900 px printed ~45 mm wide
INK = (22, 30, 68)  # blue-black


# --------------------------------------------------------------------------------------
# Fictional authorities
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Authority:
    code: str
    name: str
    area: str
    kind: str  # second line of the logo, e.g. "Borough Council"
    colour: str
    return_address: tuple[str, ...]
    signatory: str
    title: str
    emblem: str
    postcode_area: str = ""
    # (POST TOWN, postcode districts, weight)
    towns: tuple[tuple[str, tuple[int, ...], int], ...] = ()
    localities: tuple[str, ...] = ()
    # (team name, team manager's first name)
    teams: tuple[tuple[str, str], ...] = ()
    # (treatment, control) participants in the randomised list
    arms: tuple[int, int] = (0, 0)

    @property
    def slug(self) -> str:
        return self.code.lower()


FB = Authority(
    code="FB",
    name="Fernleigh Borough Council",
    area="Fernleigh",
    kind="Borough Council",
    colour="#1F4E79",
    return_address=("Civic Offices", "Market Square", "FERNLEIGH", "FL1 1AA"),
    signatory="Dr Aoife Ní Bhriain",
    title="Director of Children's Services",
    emblem="fern",
    postcode_area="FL",
    towns=(
        ("FERNLEIGH", (1, 2, 3, 4), 5),
        ("ASHCOMBE", (5, 6), 2),
        ("BRACKENFORD", (7, 8), 2),
        ("THORNHOLT", (9, 10), 1),
    ),
    localities=(
        "Hollins Green",
        "Upper Fernleigh",
        "Nether Ashcombe",
        "Bracken Heath",
        "Stonebridge",
        "Fernleigh Vale",
    ),
    teams=(
        ("Fernleigh North Assessment", "Rachel"),
        ("Fernleigh South Assessment", "Tom"),
        ("Children in Care 1", "Priya"),
        ("Children in Care 2", "Gareth"),
        ("Family Support East", "Anne-Marie"),
        ("Leaving Care", "Kwame"),
    ),
    arms=(68, 63),
)

HC = Authority(
    code="HC",
    name="Harrowmere County Council",
    area="Harrowmere",
    kind="County Council",
    colour="#7A2E5B",
    return_address=("County Hall", "Mere Road", "HARROWMERE", "HW1 2BQ"),
    signatory="Marcus Thorne-Ellery",
    title="Corporate Director, Children and Families",
    emblem="harrow",
    postcode_area="HW",
    towns=(
        ("HARROWMERE", (1, 2, 3, 4, 5), 4),
        ("LINTONBURY", (6, 7), 2),
        ("MARLSTOW", (8,), 1),
        ("BRINDLEFORD", (9, 10, 11), 2),
    ),
    localities=(
        "Mere Side",
        "Little Harrow",
        "Linton Parva",
        "Brindle Common",
        "Hazelford",
        "Cressby",
    ),
    teams=(
        ("Harrowmere Assessment", "Helen"),
        ("Lintonbury Child Protection", "Sunil"),
        ("Children in Care", "Morag"),
        ("Disabled Children's Team", "Daniel"),
        ("Fostering Support", "Fiona"),
        ("Early Help West", "Joe"),
    ),
    arms=(62, 68),
)

KB = Authority(
    code="KB",
    name="Kestrel Bay City Council",
    area="Kestrel Bay",
    kind="City Council",
    colour="#00707A",
    return_address=("The Guildhall", "Harbour Parade", "KESTREL BAY", "KB1 1XY"),
    signatory="Adaeze Whitcombe",
    title="Executive Director of People",
    emblem="kestrel",
    postcode_area="KB",
    towns=(
        ("KESTREL BAY", (1, 2, 3, 4, 5, 6), 6),
        ("GULLHAVEN", (7, 8), 2),
        ("SALTMOOR", (9,), 1),
        ("CRAYMOUTH", (10, 12), 1),
    ),
    localities=(
        "Harbourside",
        "North Quay",
        "Gull Point",
        "Saltmoor Sands",
        "Old Town",
        "Bayview",
    ),
    teams=(
        ("Kestrel Bay Front Door", "Lucy"),
        ("Assessment and Intervention 1", "Ifeoma"),
        ("Assessment and Intervention 2", "Mark"),
        ("Child Protection and Court", "Bethan"),
        ("Children in Care", "Craig"),
        ("Care Leavers", "Nadia"),
    ),
    arms=(66, 64),
)

WM = Authority(
    code="WM",
    name="Westmarch County Council",
    area="Westmarch",
    kind="County Council",
    colour="#2E6B30",
    return_address=("County Hall", "Castle Street", "WESTMARCH", "WM1 1AA"),
    signatory="Rhodri Penhallow",
    title="Corporate Director of Children, Young People and Education",
    emblem="castle",
)

LETTER_AUTHORITIES = (FB, HC, KB)

# --------------------------------------------------------------------------------------
# Name and address pools (all combinations are fictional)
# --------------------------------------------------------------------------------------

SPECIAL_FORENAMES = (
    "Zoë", "Siobhán", "Anne-Marie", "Chloé", "Seán", "Niamh", "Bartłomiej", "José",
    "Dafydd", "Eilidh", "Oluwaseun", "Jean-Luc", "Mary-Kate", "Aoife", "Renée",
    "Małgorzata", "Ciarán", "Sinéad", "Gráinne", "Noémie", "D'Arcy", "Oisín", "Łukasz",
    "François", "Agnieszka", "Chinonso", "Rhiannon", "Siân", "Iñaki", "Zoë-Louise",
)  # fmt: skip
COMMON_FORENAMES = (
    "Sarah", "James", "Emma", "Michael", "Laura", "David", "Rebecca", "Daniel", "Claire",
    "Mohammed", "Fatima", "Priya", "Amir", "Hannah", "Gemma", "Lauren", "Jessica",
    "Kirsty", "Nathan", "Ryan", "Stephen", "Karen", "Nicola", "Joanne", "Paul", "Mark",
    "Lisa", "Louise", "Rachel", "Sophie", "Olivia", "Amelia", "Jack", "Thomas", "Ellie",
    "Aisha", "Yusuf", "Kwame", "Ngozi", "Ayesha", "Harpreet", "Sunita", "Rhys", "Megan",
    "Catrin", "Iain", "Fiona", "Kerry", "Adam", "Ben", "Chris", "Sam", "Jo", "Kate",
    "Helen", "Ruth", "Alice", "Grace", "Tom", "Leanne", "Dawn", "Marcus", "Abdul",
    "Hollie", "Charlotte", "Victoria", "Natalie", "Andrew", "Simon", "Gary", "Lee", "Joe",
    "Amy", "Jade", "Stacey", "Kelly", "Shauna", "Bethany", "Imran", "Farah", "Gavin",
)  # fmt: skip
SPECIAL_SURNAMES = (
    "O'Neill", "D'Souza", "Smith-Jones", "Ní Dhomhnaill", "Müller", "Kowalczyk", "Okafor",
    "MacLeod", "O'Sullivan", "Ó Briain", "Wiśniewska", "Nowak", "Le Roux", "van der Berg",
    "Fitzgerald", "McAllister", "Adebayo-Mensah", "Núñez", "Ferreira", "Jovanović",
    "Lloyd-Pritchard", "St John", "ap Rhys", "Mac an tSaoir", "Øvergaard", "Çelik",
)  # fmt: skip
COMMON_SURNAMES = (
    "Smith", "Jones", "Williams", "Brown", "Taylor", "Davies", "Evans", "Thomas",
    "Roberts", "Johnson", "Wilson", "Wright", "Walker", "Robinson", "Thompson", "White",
    "Hughes", "Edwards", "Green", "Hall", "Wood", "Harris", "Clarke", "Jackson", "Turner",
    "Hill", "Moore", "Cooper", "Ward", "Morris", "King", "Watson", "Baker", "Harrison",
    "Morgan", "Patel", "Khan", "Begum", "Hussain", "Singh", "Kaur", "Ahmed", "Chowdhury",
    "Nguyen", "Mensah", "Campbell", "Stewart", "Lloyd", "Pritchard", "Bowen", "Price",
    "Ellis", "Shaw", "Gallagher", "Doherty", "Byrne", "Kennedy", "Ashworth", "Fairbairn",
    "Pemberton", "Okonkwo", "Asante", "Owusu", "Rahman", "Bennett", "Kelly", "Murphy",
    "Rees", "Jenkins", "Parry", "Collins", "Iqbal", "Akhtar", "Francis", "Bailey", "Reid",
    "Fraser",
)  # fmt: skip
STREETS = (
    "Hawthorn Close", "Rowan Way", "Station Road", "Church Lane", "Victoria Street",
    "Mill Lane", "Kingfisher Drive", "Beech Avenue", "Orchard Rise", "St Mary's Road",
    "Meadow View", "Chapel Street", "Albert Terrace", "Queensway", "Larkspur Crescent",
    "Willow Gardens", "Tannery Lane", "Elm Grove", "Foxglove Walk", "Sandpiper Road",
    "Castle Hill", "Bridge Street", "Ropewalk", "Nightingale Avenue", "Bishop's Walk",
    "Coronation Road", "Cherry Tree Way", "Primrose Hill Road", "Wheelwright Lane",
    "Heron Court Road", "Lady Margaret Crescent", "Old Vicarage Lane",
)  # fmt: skip
FLAT_BUILDINGS = (
    "Rowan Court", "Ashdown House", "Marlowe Court", "Harbour View", "The Granary",
    "Wellington Mansions", "Kestrel House", "Tower Heights", "Bellfield Court",
    "Lime Tree Lodge", "Corn Exchange Apartments",
)  # fmt: skip
HOUSE_NAMES = (
    "Rose Cottage", "The Old Forge", "Holly Lodge", "Sunnyside", "Tŷ Gwyn",
    "Orchard House", "The Laurels", "Fernbank", "Brook Cottage", "The Old Schoolhouse",
)  # fmt: skip


# --------------------------------------------------------------------------------------
# Feedback text pools (a manager's voice; every family and child is fictional)
# --------------------------------------------------------------------------------------

POOLS: dict[str, tuple[str, ...]] = {
    "family": (
        "Lewis", "Hartley", "Okoro", "Pryce", "Ashdown", "Kovacs", "Mahmood", "Fenwick",
        "Delaney", "Quinn", "Rowntree", "Castellano", "Whitlock", "Abara", "Lindqvist",
        "Marsh", "Doyle", "Beaumont", "Yilmaz", "Treharne", "Nolan", "Sandhu", "Cartwright",
        "Ogundipe", "Hollis", "Brennan", "Varga", "Pennington", "O'Driscoll", "Achterberg",
    ),
    "child": (
        "Kai", "Maisie", "Tyler", "Amara", "Jayden", "Lily-Rose", "Ruby", "Alfie", "Zainab",
        "Leo", "Keeley", "Mason", "Imani", "Tomasz", "Evie", "Harley", "Aaliyah", "Reece",
        "Skye", "Dexter", "Nia", "Callum", "Poppy", "Rio", "Ffion", "Oskar", "Tia", "Jamal",
    ),
    "pace": (
        "calm, patient", "steady, unhurried", "persistent, hopeful", "careful, compassionate",
        "honest and kind", "tenacious but gentle", "thoughtful, creative",
    ),
    "fam_outcome": (
        "turned a crisis into a plan everyone could follow",
        "meant the children could stay at home safely",
        "rebuilt trust that had been lost over many years",
        "gave Mum the confidence to ask for help early",
        "kept the three brothers together when that looked impossible",
        "got the whole network pulling in the same direction",
        "made a frightening time feel manageable for everyone",
        "helped Dad see what the children needed from him",
    ),
    "child_action": (
        "fought for {child}'s specialist school place",
        "kept visiting {child} week after week",
        "listened to what really mattered to {child}",
        "spoke up for {child} in the placement meeting",
        "found {child} a foster home close to their old school",
        "made sure {child}'s wishes were written down in their own words",
        "held on to {child}'s plan when others wanted to give up",
    ),
    "child_result": (
        "has changed the direction of their life",
        "is exactly what good social work looks like",
        "meant they finally felt heard",
        "is something they will remember for a long time",
        "was noticed by everyone around the table",
        "made all the difference",
    ),
    "doc": (
        "court statement", "parenting assessment", "chronology", "conference report",
        "care plan", "viability assessment", "pre-birth assessment", "section 47 report",
    ),
    "doc_case": ("case", "hearing", "review", "proceedings"),
    "doc_quality": (
        "clear, balanced and grounded in the child's voice",
        "a model of clarity",
        "thorough without ever losing sight of the family",
        "one of the best I have read this year",
        "honest, fair and beautifully written",
        "careful, analytical and easy to follow",
    ),
    "doc_tail": (
        "",
        "",
        ", and the Guardian said so too",
        ", and it made a hard decision clearer for everyone",
        ", and the IRO has asked to use it as an example",
    ),
    "judge_quote": (
        "a model of clear, child-focused writing",
        "balanced, careful and compelling",
        "exactly what the court needs",
    ),
    "sib_end": ("genuinely child-centred", "fair to both children", "full of real insight"),
    "friday_action": (
        "stayed calm, found a safe bed and still made sure their favourite things went too",
        "kept everyone informed and made sure {child} felt looked after, not just moved",
        "stayed late to settle them in and were back first thing on Monday",
    ),
    "milestone": (
        "settle back into school after a very difficult year",
        "prepare for their first tenancy",
        "say goodbye to a foster carer they loved",
        "see their birth dad again safely",
        "understand their life story in a way they can hold on to",
        "get to college every day this term",
    ),
    "milestone_tail": (
        "you did it with real patience and warmth",
        "it would not have happened without your persistence",
        "their carers have noticed the difference",
        "you made it look far easier than it was",
    ),
    "lsw_quality": (
        "gentle, creative and beautifully paced",
        "honest without ever being harsh",
        "thoughtful and full of care",
    ),
    "lsw_result": (
        "now talks about their family with real confidence",
        "has kept the memory book by their bed ever since",
        "finally has answers to questions they had carried for years",
    ),
    "fgc_result": (
        "was a huge piece of work, and it kept the children within their family",
        "showed real skill; grandparents, aunts and cousins all left with a job to do",
        "took patience & persistence, and the plan they made is working",
    ),
    "extra": ("four", "five", "six"),
    "extra_result": ("seen on time", "visited within timescales", "kept fully informed"),
    "visit_quality": (
        "warm, honest and consistent",
        "respectful and straightforward",
        "patient, even on the hardest days",
    ),
    "parent_said": (
        "Mum told me she had never felt so listened to",
        "Dad told me he finally understood why we were worried",
        "Nan told me she trusts you completely",
        "Grandad said you were the first worker who really explained things",
    ),
    "spot_result": (
        "kept {child} safe",
        "meant {child} got the right help quickly",
        "protected {child} and their baby sister",
    ),
    "dw_result": (
        "gave us the clearest picture yet of what they want",
        "made sure their voice was at the centre of the plan",
        "helped them say things they had never said before",
    ),
    "joint_result": (
        "finally got everyone talking to each other",
        "made sure nothing fell through the gaps",
        "showed real skill in partnership working",
    ),
    "contact_type": ("family time", "contact", "Saturday family time"),
    "contact_result": (
        "has helped them rebuild a relationship with their mum",
        "made those visits something to look forward to rather than dread",
        "did not go unnoticed by anyone",
    ),
    # ---- line 2: the person, the team ----
    "clause": (
        "You always make time to support newly qualified colleagues",
        "You share what you know generously",
        "You bring warmth and curiosity to every team meeting",
        "You model relationship-based practice every single day",
        "You are the person colleagues turn to when a case feels stuck",
        "You never lose sight of the child in the paperwork",
        "You stay curious, kind and professional under real pressure",
        "You stepped up to cover duty at short notice more than once this year",
        "You welcome every student and new starter as if they were already one of us",
        "You keep your recording clear, timely and honest",
        "You notice when a colleague is struggling and quietly offer a hand",
        "You bring the same care to a Friday-afternoon visit as to a Monday morning",
        "You have helped two students decide to build their careers with us",
    ),
    "tail": (
        "and the team is stronger for it",
        "and it makes a real difference to all of us",
        "and it has not gone unnoticed",
        "and families feel that straight away",
        "and newer colleagues have grown in confidence because of you",
        "and that sets the standard for the whole service",
        "and I am very grateful",
        "and that lifts everyone around you",
        "and I want you to know how much that is valued",
    ),
    "subject": (
        "Your steady good humour on the hardest days",
        "Your calm voice on duty days",
        "The way you mentor students",
        "Your reflective questions in supervision",
        "Your partnership work with schools and health",
        "Your honesty & warmth with families",
        "Your careful, child-focused recording",
        "Your quiet encouragement of colleagues",
        "Your willingness to take on the tricky cases",
        "The care you put into every handover",
    ),
    "predicate": (
        "keeps the whole team going",
        "makes our duty days calmer and safer",
        "is noticed and valued by everyone here",
        "sets the tone for the whole service",
        "has not gone unnoticed by anyone in the service",
        "is a big part of why this team works so well",
        "makes a difference you may not always see, but I do",
        "is one of the reasons families trust us",
    ),
}  # fmt: skip

LINE1_TEMPLATES = (
    "Your {pace} work with the {family} family {fam_outcome}.",
    "The way you {child_action} {child_result}.",
    "Your {doc} for the {family} {doc_case} was {doc_quality}{doc_tail}.",
    (
        'The judge described your statement in the {family} proceedings as "{judge_quote}", '
        "and I could not agree more."
    ),
    (
        "Your write-up of {child} & {child2}'s sibling assessment was sensitive, thorough "
        "and {sib_end}."
    ),
    "When {child}'s placement broke down late on a Friday, you {friday_action}.",
    "You helped {child} {milestone}, and {milestone_tail}.",
    "Your life-story work with {child} was {lsw_quality}, and {child} {lsw_result}.",
    (
        "Bringing the {family} family's network together for the family group conference "
        "{fgc_result}."
    ),
    (
        "You picked up {extra} extra cases over the summer without a word of complaint, "
        "and every family was still {extra_result}."
    ),
    "Your home visits to the {family} family were {visit_quality}, and {parent_said}.",
    (
        "You spotted what others had missed in the {family} referral, and your quick, "
        "careful response {spot_result}."
    ),
    "Your direct work with {child}, using drawings and the 'three houses' tool, {dw_result}.",
    "Your joint visits with the school nurse and the {family} family's GP {joint_result}.",
    "Your patience with {child} during those long {contact_type} sessions {contact_result}.",
)
LINE2_STANDALONE = (
    "Thank you for the care, skill and good humour you bring to the {team} team every day.",
    "It is a privilege to manage someone who cares so much about getting it right for children.",
    "Families regularly tell me how much they value your honesty & kindness, and so do I.",
    'Colleagues describe you as "the calm in the storm", and I think that says it all.',
    "I couldn't have asked for a more dependable, compassionate colleague this year.",
    "Your commitment to children and families in {area} shines through in everything you do.",
)

# --------------------------------------------------------------------------------------
# Notes campaign (Westmarch, person-level list clustered by building)
# --------------------------------------------------------------------------------------

WM_BUILDINGS = (
    "Oakfield House", "The Maltings", "Riverside Centre", "Kingsmead House", "Beacon Court",
    "Station Chambers", "Foundry Yard", "Elmhurst Lodge", "Millpond House",
    "The Old Library", "Westgate House", "Orchard Place", "Castle View",
)  # fmt: skip
WM_TEAMS_PER_BUILDING = (2, 2, 3, 1, 2, 2, 2, 1, 3, 2, 2, 1, 1)
WM_TEAMS = (
    "Front Door", "Assessment North", "Assessment South", "Child Protection East",
    "Child Protection West", "Children in Care 1", "Children in Care 2", "Care Leavers",
    "Fostering Recruitment", "Fostering Support", "Adoption Support",
    "Disabled Children's Team", "Early Help Central", "Early Help Rural",
    "Family Safeguarding 1", "Family Safeguarding 2", "Family Safeguarding 3",
    "Adolescent Support", "Youth Justice", "Edge of Care", "Court and Proceedings",
    "Private Fostering & Kinship", "Short Breaks", "Family Time Service",
)  # fmt: skip
WM_MANAGERS = (
    "Rachel", "Simon", "Aled", "Bronwen", "Hamid", "Charlotte", "Dominic", "Esther", "Femi",
    "Georgia", "Hugh", "Imogen", "Jas", "Kieran", "Leanne", "Matthew", "Nkechi", "Owen",
    "Paula", "Rosa", "Stuart", "Tanya", "Usman", "Vicky",
)  # fmt: skip
WM_WORKERS = 380
WM_TREATMENT_BUILDINGS = 7


# --------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------

WRITTEN: list[Path] = []


def check(condition: bool, message: str) -> None:
    if not condition:
        raise SystemExit(f"sample generator self-check failed: {message}")


def write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)
    WRITTEN.append(path)


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def child_rng(master: random.Random) -> random.Random:
    """An independent stream, so that changing one section does not reshuffle the rest."""
    return random.Random(master.getrandbits(64))


def normalise_postcode(raw: str) -> str:
    compact = re.sub(r"\s+", "", raw).upper()
    return f"{compact[:-3]} {compact[-3:]}"


def save_workbook(wb: Workbook, path: Path) -> None:
    """Save with fixed document properties and zip timestamps (byte-identical reruns)."""
    wb.properties.creator = "hhp-letters sample generator (fictional data)"
    wb.properties.lastModifiedBy = None
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    raw = io.BytesIO()
    wb.save(raw)  # openpyxl stamps "modified" with the current time; undone below
    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                    rb"\g<1>" + stamp + rb"\g<2>",
                    data,
                )
            fixed = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            dst.writestr(fixed, data)
    write_bytes(path, out.getvalue())


def set_widths(ws: Worksheet, widths: Sequence[float]) -> None:
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width


def save_png(img: Image.Image, path: Path, dpi: int) -> None:
    buffer = io.BytesIO()
    img.save(buffer, format="PNG", dpi=(dpi, dpi), optimize=True)
    write_bytes(path, buffer.getvalue())


def toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


# --------------------------------------------------------------------------------------
# Participants (letters campaign)
# --------------------------------------------------------------------------------------


@dataclass
class Participant:
    pid: str
    forename: str
    surname: str
    authority: Authority
    team: str
    arm: str
    address: tuple[str, str | None, str | None]
    town: str
    postcode: str  # as written in the spreadsheet (a few are deliberately sloppy)

    @property
    def full_name(self) -> str:
        return f"{self.forename} {self.surname}"


def make_names(rng: random.Random, count: int) -> list[tuple[str, str]]:
    forenames = list(SPECIAL_FORENAMES)
    while len(forenames) < count:
        pool: tuple[str, ...] = SPECIAL_FORENAMES if rng.random() < 0.12 else COMMON_FORENAMES
        forenames.append(rng.choice(pool))
    rng.shuffle(forenames)
    surnames = list(SPECIAL_SURNAMES)
    while len(surnames) < count:
        pool = SPECIAL_SURNAMES if rng.random() < 0.10 else COMMON_SURNAMES
        surnames.append(rng.choice(pool))
    rng.shuffle(surnames)
    seen: set[tuple[str, str]] = set()
    names: list[tuple[str, str]] = []
    for forename, surname in zip(forenames, surnames, strict=True):
        pair = (forename, surname)
        while pair in seen:
            pair = (forename, rng.choice(COMMON_SURNAMES))
        seen.add(pair)
        names.append(pair)
    return names


def make_postcode(rng: random.Random, area: str, districts: Sequence[int]) -> str:
    district = rng.choice(districts)
    inward = f"{rng.randint(1, 9)}{rng.choice(INWARD_LETTERS)}{rng.choice(INWARD_LETTERS)}"
    return f"{area}{district} {inward}"


def make_address(
    rng: random.Random, authority: Authority
) -> tuple[tuple[str, str | None, str | None], str, str]:
    names = [t[0] for t in authority.towns]
    weights = [t[2] for t in authority.towns]
    town = rng.choices(names, weights=weights)[0]
    districts = next(t[1] for t in authority.towns if t[0] == town)
    postcode = make_postcode(rng, authority.postcode_area, districts)
    street = rng.choice(STREETS)
    locality = rng.choice(authority.localities)
    form = rng.random()
    line2: str | None = None
    line3: str | None = None
    if form < 0.55:  # 14 Hawthorn Close / [locality]
        line1 = f"{rng.randint(1, 180)} {street}"
        line2 = locality if rng.random() < 0.3 else None
    elif form < 0.78:  # Flat 3 Rowan Court / 22 Station Road / [locality]
        line1 = f"Flat {rng.randint(1, 48)} {rng.choice(FLAT_BUILDINGS)}"
        line2 = f"{rng.randint(1, 120)} {street}" if rng.random() < 0.5 else street
        line3 = locality if rng.random() < 0.25 else None
    elif form < 0.84:  # Flat 12 / Marlowe Court / Station Road
        line1 = f"Flat {rng.randint(1, 30)}"
        line2 = rng.choice(FLAT_BUILDINGS)
        line3 = street
    elif form < 0.94:  # Rose Cottage / Church Lane / [locality]
        line1 = rng.choice(HOUSE_NAMES)
        line2 = street
        line3 = locality if rng.random() < 0.35 else None
    else:  # 12A Bridge Street
        line1 = f"{rng.randint(1, 90)}{rng.choice('AB')} {street}"
        line2 = locality if rng.random() < 0.3 else None
    return (line1, line2, line3), town, postcode


def make_participants(rng: random.Random) -> list[Participant]:
    total = sum(sum(a.arms) for a in LETTER_AUTHORITIES)
    names = iter(make_names(rng, total))
    ids = [f"{n:05d}" for n in range(1, total + 1)]
    rng.shuffle(ids)
    id_iter = iter(ids)
    people: list[Participant] = []
    for authority in LETTER_AUTHORITIES:
        treatment, control = authority.arms
        while True:  # simple randomisation within authority; every team needs feedback
            arms = ["Treatment"] * treatment + ["Control"] * control
            rng.shuffle(arms)
            team_weights = [rng.uniform(0.7, 1.3) for _ in authority.teams]
            teams = rng.choices([t[0] for t in authority.teams], weights=team_weights, k=len(arms))
            per_team = Counter(t for t, a in zip(teams, arms, strict=True) if a == "Treatment")
            if all(per_team[t[0]] >= 5 for t in authority.teams):
                break
        for arm, team in zip(arms, teams, strict=True):
            forename, surname = next(names)
            address, town, postcode = make_address(rng, authority)
            people.append(
                Participant(
                    pid=next(id_iter),
                    forename=forename,
                    surname=surname,
                    authority=authority,
                    team=team,
                    arm=arm,
                    address=address,
                    town=town,
                    postcode=postcode,
                )
            )
    rng.shuffle(people)
    # ~5% of postcodes written sloppily (valid once upper-cased and re-spaced).
    sloppy: list[Callable[[str], str]] = [
        str.lower,
        lambda pc: pc.replace(" ", ""),
        lambda pc: pc.replace(" ", "").lower(),
        lambda pc: pc[0] + pc[1:].lower(),
    ]
    for index, person in enumerate(rng.sample(people, k=round(total * 0.05))):
        person.postcode = sloppy[index % len(sloppy)](person.postcode)
    return people


def write_randomised_list(people: Sequence[Participant], rng: random.Random) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Allocation"
    ws["A1"] = "HHP recognition trial — randomised allocation (FICTIONAL)"
    ws["A1"].font = Font(bold=True, size=14)
    headers = [
        "Participant ID", "Forename", "Surname", "Local Authority", "Team", "Allocation",
        "Address line 1", "Address line 2", "Address line 3", "Post Town", "Post Code",
    ]  # fmt: skip
    for col, header in enumerate(headers, start=1):
        cell = ws.cell(row=3, column=col, value=header)
        cell.font = Font(bold=True)
    full_name_rows = set(rng.sample(range(len(people)), k=round(len(people) * 0.08)))
    for offset, person in enumerate(people):
        row = 4 + offset
        authority = person.authority.name if offset in full_name_rows else person.authority.code
        values: list[str | None] = [
            person.pid,
            person.forename,
            person.surname,
            authority,
            person.team,
            person.arm,
            *person.address,
            person.town,
            person.postcode,
        ]
        for col, value in enumerate(values, start=1):
            cell = ws.cell(row=row, column=col, value=value)
            if col in (1, 11):
                cell.number_format = "@"
    ws.freeze_panes = "A4"
    set_widths(ws, [14, 14, 16, 26, 30, 12, 30, 26, 22, 14, 11])
    path = LETTERS / "data" / "randomised.xlsx"
    save_workbook(wb, path)
    return path


# --------------------------------------------------------------------------------------
# Feedback workbooks
# --------------------------------------------------------------------------------------


def fill(template: str, rng: random.Random, extra: dict[str, str]) -> str:
    chosen: dict[str, str] = dict(extra)

    def pick(match: re.Match[str]) -> str:
        key = match.group(0)[1:-1]
        if key not in chosen:
            pool_name = key.rstrip("0123456789")
            taken = set(chosen.values())
            options = [v for v in POOLS[pool_name] if v not in taken] or list(POOLS[pool_name])
            chosen[key] = rng.choice(options)
        return chosen[key]

    text = template
    while "{" in text:
        text = re.sub(r"\{[a-z_]+[0-9]?\}", pick, text)
    return text


def make_line1(rng: random.Random) -> str:
    return fill(rng.choice(LINE1_TEMPLATES), rng, {})


def make_line2(rng: random.Random, team: str, area: str) -> str:
    roll = rng.random()
    if roll < 0.45:
        return fill("{clause}, {tail}.", rng, {})
    if roll < 0.87:
        return fill("{subject} {predicate}.", rng, {})
    return fill(rng.choice(LINE2_STANDALONE), rng, {"team": team, "area": area})


def make_feedback_pair(rng: random.Random, team: str, area: str, used: set[str]) -> tuple[str, str]:
    lines: list[str] = []
    for which in (1, 2):
        for attempt in range(200):
            line = make_line1(rng) if which == 1 else make_line2(rng, team, area)
            if 60 <= len(line) <= 180 and (line not in used or attempt > 150):
                break
        check(60 <= len(line) <= 180, f"feedback line length {len(line)}: {line}")
        used.add(line)
        lines.append(line)
    return lines[0], lines[1]


def write_feedback(people: Sequence[Participant], rng: random.Random) -> list[Path]:
    folder = LETTERS / "data" / "feedback"
    used: set[str] = set()
    written: list[Path] = []
    by_team: dict[tuple[str, str], list[Participant]] = defaultdict(list)
    for person in people:
        if person.arm == "Treatment":
            by_team[(person.authority.code, person.team)].append(person)
    for authority in LETTER_AUTHORITIES:
        for team, manager in authority.teams:
            members = sorted(by_team[(authority.code, team)], key=lambda p: p.pid)
            rng.shuffle(members)  # managers do not sort their lists
            wb = Workbook()
            ws = wb.active
            assert ws is not None
            ws.title = "Feedback"
            for col, header in enumerate(
                ["Staff ID", "Worker", "Feedback line 1", "Feedback line 2"], start=1
            ):
                ws.cell(row=1, column=col, value=header).font = Font(bold=True)
            for row, person in enumerate(members, start=2):
                line1, line2 = make_feedback_pair(rng, team, authority.area, used)
                ws.cell(row=row, column=1, value=person.pid).number_format = "@"
                ws.cell(row=row, column=2, value=person.full_name)
                for col, text in ((3, line1), (4, line2)):
                    ws.cell(row=row, column=col, value=text).alignment = Alignment(wrap_text=True)
            set_widths(ws, [10, 26, 70, 70])
            ws.freeze_panes = "A2"
            path = folder / f"{authority.slug}-{slugify(manager)}.xlsx"
            save_workbook(wb, path)
            written.append(path)
    for stale in folder.glob("*.xlsx"):
        if stale not in written:
            stale.unlink()
    return written


# --------------------------------------------------------------------------------------
# Notes campaign list
# --------------------------------------------------------------------------------------


@dataclass
class Worker:
    staff_id: str
    first_name: str
    team: str
    building: str
    manager: str
    arm: str


def make_workers(rng: random.Random) -> list[Worker]:
    check(sum(WM_TEAMS_PER_BUILDING) == len(WM_TEAMS) == len(WM_MANAGERS), "WM team counts")
    teams = list(WM_TEAMS)
    rng.shuffle(teams)
    managers = list(WM_MANAGERS)
    rng.shuffle(managers)
    buildings = list(WM_BUILDINGS)
    treated = set(rng.sample(buildings, k=WM_TREATMENT_BUILDINGS))
    team_rows: list[tuple[str, str, str]] = []  # (team, building, manager)
    team_iter = iter(zip(teams, managers, strict=True))
    for building, n_teams in zip(buildings, WM_TEAMS_PER_BUILDING, strict=True):
        for _ in range(n_teams):
            team, manager = next(team_iter)
            team_rows.append((team, building, manager))
    sizes = [10] * len(team_rows)
    for _ in range(WM_WORKERS - sum(sizes)):
        candidates = [i for i, s in enumerate(sizes) if s < 24]
        sizes[rng.choice(candidates)] += 1
    forename_pool = SPECIAL_FORENAMES + COMMON_FORENAMES * 3
    workers: list[Worker] = []
    for (team, building, manager), size in zip(team_rows, sizes, strict=True):
        arm = "Treatment" if building in treated else "Control"
        for _ in range(size):
            workers.append(Worker("", rng.choice(forename_pool), team, building, manager, arm))
    rng.shuffle(workers)
    for number, worker in enumerate(workers, start=1):
        worker.staff_id = f"WM{number:04d}"
    return workers


def write_workers(workers: Sequence[Worker]) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Workers"
    headers = [
        "Staff ID", "First name", "Team", "Building", "Team manager", "Allocation",
        "Local Authority",
    ]  # fmt: skip
    for col, header in enumerate(headers, start=1):
        ws.cell(row=1, column=col, value=header).font = Font(bold=True)
    for row, w in enumerate(workers, start=2):
        values = [w.staff_id, w.first_name, w.team, w.building, w.manager, w.arm, WM.code]
        for col, value in enumerate(values, start=1):
            cell = ws.cell(row=row, column=col, value=value)
            if col == 1:
                cell.number_format = "@"
    ws.freeze_panes = "A2"
    set_widths(ws, [10, 14, 28, 18, 14, 12, 16])
    path = NOTES / "data" / "randomised-workers.xlsx"
    save_workbook(wb, path)
    return path


# --------------------------------------------------------------------------------------
# Campaign files
# --------------------------------------------------------------------------------------


# Each brand's colour as its brand guide gives it for print; the hex is the screen colour the
# logos are drawn in. (These are what the FOGRA39 profile makes of the hex, rounded.)
BRAND_CMYK = {"#1F4E79": (82, 45, 0, 46), "#7A2E5B": (23, 85, 4, 48),
              "#00707A": (73, 0, 23, 51), "#2E6B30": (69, 0, 87, 53)}


def authority_toml(authority: Authority, signature: str) -> str:
    address = ", ".join(toml_str(line) for line in authority.return_address)
    signatory = (
        f"{{ name = {toml_str(authority.signatory)}, title = {toml_str(authority.title)}, "
        f"signature = {toml_str(signature)} }}"
    )
    return (
        "[[authorities]]\n"
        f"code = {toml_str(authority.code)}\n"
        f"name = {toml_str(authority.name)}\n"
        f"area = {toml_str(authority.area)}\n"
        f"logo = {toml_str(f'brand/{authority.slug}-logo.png')}\n"
        f"colour = {{ cmyk = [{', '.join(map(str, BRAND_CMYK[authority.colour]))}] }}"
        f"  # the brand guide's CMYK (on screen {authority.colour})\n"
        f"return_address = [{address}]\n"
        f"signatory = {signatory}\n"
    )


TOML_HEADER = (
    "# FICTIONAL sample campaign: every council, person, address and signature here is\n"
    "# invented. Generated by samples/generate.py; edit that script, not this file.\n\n"
)


def write_campaigns() -> None:
    letters = (
        TOML_HEADER + "[campaign]\n"
        'name = "Recognition letters, wave 1 (fictional sample)"\n'
        'kind = "letters"\n'
        "date = 2026-10-01\n\n"
        "[inputs]\n"
        'participants = "data/randomised.xlsx"\n'
        'sheet = "Allocation"\n'
        'feedback = ["data/feedback/*.xlsx"]\n\n'
        + "\n".join(
            authority_toml(a, f"../../signatures/{a.slug}-signature.png")
            for a in LETTER_AUTHORITIES
        )
        + "\n[print]\n"
        'envelope = "DL"\n'
        "duplex = false\n"
        'sort = "postcode"\n'
        "max_letters_per_bundle = 500\n"
    )
    write_text(LETTERS / "campaign.toml", letters)
    notes = (
        TOML_HEADER + "[campaign]\n"
        'name = "Coffee-machine notes (fictional sample)"\n'
        'kind = "notes"\n'
        "date = 2026-10-01\n\n"
        "[inputs]\n"
        'participants = "data/randomised-workers.xlsx"\n'
        'sheet = "Workers"\n\n'
        + authority_toml(WM, "../../signatures/wm-signature.png")
        + "\n[notes]\n"
        'page = "A5-landscape"\n'
    )
    write_text(NOTES / "campaign.toml", notes)


# --------------------------------------------------------------------------------------
# Logos
# --------------------------------------------------------------------------------------

Point = tuple[float, float]


def hex_rgb(colour: str) -> tuple[int, int, int]:
    value = colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def quad_bezier(p0: Point, p1: Point, p2: Point, steps: int = 40) -> list[Point]:
    points = []
    for i in range(steps + 1):
        t = i / steps
        a, b, c = (1 - t) ** 2, 2 * (1 - t) * t, t * t
        points.append((a * p0[0] + b * p1[0] + c * p2[0], a * p0[1] + b * p1[1] + c * p2[1]))
    return points


def shield_polygon(s: float) -> list[Point]:
    left, right, top, shoulder = 0.14 * s, 0.86 * s, 0.05 * s, 0.52 * s
    tip = (0.5 * s, 0.97 * s)
    return [
        (left, top),
        (right, top),
        (right, shoulder),
        *quad_bezier((right, shoulder), (right, 0.84 * s), tip)[1:],
        *quad_bezier(tip, (left, 0.84 * s), (left, shoulder))[1:],
    ]


def wave(
    draw: ImageDraw.ImageDraw, x0: float, x1: float, y: float, amp: float, length: float,
    width: float,
) -> None:  # fmt: skip
    steps = 120
    points = [
        (x0 + (x1 - x0) * i / steps,
         y + amp * math.sin(2 * math.pi * ((x1 - x0) * i / steps) / length))
        for i in range(steps + 1)
    ]  # fmt: skip
    draw.line(points, fill=255, width=round(width), joint="curve")


def leaf(centre: Point, angle: float, length: float, width: float) -> list[Point]:
    ca, sa = math.cos(angle), math.sin(angle)
    outline: list[Point] = []
    steps = 24
    for side in (1, -1):
        rng_iter = range(steps + 1) if side == 1 else range(steps, -1, -1)
        for i in rng_iter:
            u = i / steps
            along = (u - 0.5) * length
            across = side * 0.5 * width * math.sin(math.pi * u) ** 0.8
            outline.append(
                (centre[0] + along * ca - across * sa, centre[1] + along * sa + across * ca)
            )
    return outline


def emblem_fern(s: int) -> tuple[Image.Image, Image.Image]:
    shape = Image.new("L", (s, s), 0)
    draw = ImageDraw.Draw(shape)
    ring = 0.045 * s
    draw.ellipse((0.03 * s, 0.03 * s, 0.97 * s, 0.97 * s), outline=255, width=round(ring))
    fern = Image.new("L", (s, s), 0)
    fdraw = ImageDraw.Draw(fern)
    p0, p1, p2 = (0.44 * s, 0.90 * s), (0.36 * s, 0.42 * s), (0.66 * s, 0.13 * s)
    stem = quad_bezier(p0, p1, p2, steps=60)
    fdraw.line(stem, fill=255, width=round(0.035 * s), joint="curve")
    pairs = 12
    for i in range(pairs):
        t = 0.10 + 0.82 * i / pairs
        a, b, c = (1 - t) ** 2, 2 * (1 - t) * t, t * t
        px = a * p0[0] + b * p1[0] + c * p2[0]
        py = a * p0[1] + b * p1[1] + c * p2[1]
        tx = 2 * (1 - t) * (p1[0] - p0[0]) + 2 * t * (p2[0] - p1[0])
        ty = 2 * (1 - t) * (p1[1] - p0[1]) + 2 * t * (p2[1] - p1[1])
        heading = math.atan2(ty, tx)
        length = (0.30 * (1 - t) ** 0.7 + 0.05) * s
        for side in (1, -1):
            angle = heading + side * math.radians(58)
            centre = (
                px + math.cos(angle) * length * 0.5,
                py + math.sin(angle) * length * 0.5,
            )
            fdraw.polygon(leaf(centre, angle, length, length * 0.30), fill=255)
    clip = Image.new("L", (s, s), 0)
    ImageDraw.Draw(clip).ellipse((0.10 * s, 0.10 * s, 0.90 * s, 0.90 * s), fill=255)
    shape = ImageChops.lighter(shape, ImageChops.multiply(fern, clip))
    return shape, Image.new("L", (s, s), 0)


def emblem_harrow(s: int) -> tuple[Image.Image, Image.Image]:
    shape = Image.new("L", (s, s), 0)
    ImageDraw.Draw(shape).polygon(shield_polygon(s), fill=255)
    detail = Image.new("L", (s, s), 0)
    draw = ImageDraw.Draw(detail)
    draw.rounded_rectangle((0.26 * s, 0.17 * s, 0.74 * s, 0.24 * s), radius=0.02 * s, fill=255)
    teeth = 6
    for i in range(teeth):
        x = 0.30 * s + i * (0.40 * s) / (teeth - 1)
        draw.polygon([(x - 0.03 * s, 0.235 * s), (x + 0.03 * s, 0.235 * s), (x, 0.42 * s)],
                     fill=255)  # fmt: skip
    for k, y in enumerate((0.52, 0.63, 0.74)):
        wave(draw, 0.10 * s, 0.90 * s, y * s, 0.025 * s, 0.20 * s + k * 0.01 * s, 0.04 * s)
    return shape, detail


def emblem_kestrel(s: int) -> tuple[Image.Image, Image.Image]:
    shape = Image.new("L", (s, s), 0)
    ImageDraw.Draw(shape).ellipse((0.02 * s, 0.02 * s, 0.98 * s, 0.98 * s), fill=255)
    detail = Image.new("L", (s, s), 0)
    draw = ImageDraw.Draw(detail)
    cx, cy = 0.5 * s, 0.40 * s
    for side in (1, -1):
        tip = (cx + side * 0.36 * s, cy - 0.02 * s)
        upper = quad_bezier((cx, cy + 0.01 * s), (cx + side * 0.16 * s, cy - 0.24 * s), tip)
        lower = quad_bezier(tip, (cx + side * 0.17 * s, cy - 0.08 * s), (cx, cy + 0.07 * s))
        draw.polygon(upper + lower, fill=255)
    draw.polygon(  # fanned tail
        [
            (cx - 0.03 * s, cy + 0.03 * s),
            (cx + 0.03 * s, cy + 0.03 * s),
            (cx + 0.055 * s, cy + 0.14 * s),
            (cx, cy + 0.165 * s),
            (cx - 0.055 * s, cy + 0.14 * s),
        ],
        fill=255,
    )
    draw.ellipse((cx - 0.035 * s, cy - 0.06 * s, cx + 0.035 * s, cy + 0.01 * s), fill=255)
    for k, y in enumerate((0.66, 0.77, 0.88)):
        wave(draw, 0.0, float(s), y * s, 0.022 * s, 0.22 * s - k * 0.02 * s, 0.038 * s)
    return shape, detail


def emblem_castle(s: int) -> tuple[Image.Image, Image.Image]:
    shape = Image.new("L", (s, s), 0)
    ImageDraw.Draw(shape).polygon(shield_polygon(s), fill=255)
    detail = Image.new("L", (s, s), 0)
    draw = ImageDraw.Draw(detail)
    # side walls and central keep, with crenellations
    draw.rectangle((0.24 * s, 0.40 * s, 0.76 * s, 0.70 * s), fill=255)
    for x in (0.24, 0.31, 0.63, 0.70):
        draw.rectangle((x * s, 0.34 * s, (x + 0.06) * s, 0.40 * s), fill=255)
    draw.rectangle((0.38 * s, 0.22 * s, 0.62 * s, 0.70 * s), fill=255)
    for x in (0.38, 0.47, 0.56):
        draw.rectangle((x * s, 0.14 * s, (x + 0.06) * s, 0.22 * s), fill=255)
    # door and windows cut out again
    draw.rectangle((0.455 * s, 0.56 * s, 0.545 * s, 0.70 * s), fill=0)
    draw.ellipse((0.455 * s, 0.515 * s, 0.545 * s, 0.605 * s), fill=0)
    for x in (0.425, 0.555):
        draw.rounded_rectangle((x * s, 0.30 * s, (x + 0.02) * s, 0.40 * s),
                               radius=0.01 * s, fill=0)  # fmt: skip
    wave(draw, 0.10 * s, 0.90 * s, 0.79 * s, 0.018 * s, 0.18 * s, 0.04 * s)
    return shape, detail


EMBLEMS: dict[str, Callable[[int], tuple[Image.Image, Image.Image]]] = {
    "fern": emblem_fern,
    "harrow": emblem_harrow,
    "kestrel": emblem_kestrel,
    "castle": emblem_castle,
}


def bold_font(size: int) -> ImageFont.FreeTypeFont:
    path = FONTS_DIR / "Carlito-Bold.ttf"
    if not path.exists():
        path = SYSTEM_FONTS / "Carlito-Bold.ttf"
    return ImageFont.truetype(str(path), size)


def make_logo(authority: Authority) -> Path:
    ss = 2  # draw at twice the size, then downsample for smooth edges
    width, height = 1200 * ss, 360 * ss
    colour = hex_rgb(authority.colour)
    img = Image.new("RGB", (width, height), "white")
    size = 300 * ss
    shape, detail = EMBLEMS[authority.emblem](size)
    origin = (30 * ss, 30 * ss)
    img.paste(Image.new("RGB", (size, size), colour), origin, shape)
    img.paste(Image.new("RGB", (size, size), "white"), origin, ImageChops.multiply(shape, detail))
    draw = ImageDraw.Draw(img)
    draw.rectangle((362 * ss, 70 * ss, 366 * ss, 290 * ss), fill=colour)
    text_x, max_width = 396 * ss, (1200 - 396 - 30) * ss
    font_size = 150 * ss
    while bold_font(font_size).getlength(authority.area) > max_width:
        font_size -= 2 * ss
    draw.text((text_x, 196 * ss), authority.area, font=bold_font(font_size), fill=colour,
              anchor="ls")  # fmt: skip
    draw.text((text_x + 4 * ss, 272 * ss), authority.kind, font=bold_font(68 * ss),
              fill=(64, 64, 64), anchor="ls")  # fmt: skip
    img = img.resize((1200, 360), Image.Resampling.LANCZOS)
    folder = LETTERS if authority in LETTER_AUTHORITIES else NOTES
    path = folder / "brand" / f"{authority.slug}-logo.png"
    save_png(img, path, LOGO_DPI)
    return path


# --------------------------------------------------------------------------------------
# Signatures
# --------------------------------------------------------------------------------------

TITLES = {"Dr", "Prof", "Mr", "Mrs", "Ms", "Miss", "Mx", "Cllr", "Sir", "Dame"}
ASCENDERS = set("bdfhklt")
DESCENDERS = set("gjpqyz")
ROUNDS = set("aoecs")
DOUBLE_HUMPS = set("mw")


def word_strokes(
    word: str, x: float, rng: random.Random, max_letters: int
) -> tuple[list[Point], list[list[Point]], float]:
    """Control points for one cursive word; returns (stroke, marks, next x)."""
    decomposed = unicodedata.normalize("NFKD", word)
    letters = [c.lower() for c in decomposed if c.isalpha()]
    accented = [
        k
        for k, c in enumerate(ch for ch in word if ch.isalpha())
        if unicodedata.normalize("NFKD", c) != c
    ]
    letter_x: dict[int, float] = {0: x + 0.2}
    pts: list[Point] = []
    marks: list[list[Point]] = []

    def jitter(px: float, py: float) -> Point:
        return px + rng.gauss(0, 0.04), py + rng.gauss(0, 0.05)

    # The capital: its rough family decides the big opening shape.
    cap = rng.uniform(2.3, 2.9)
    head = letters[0] if letters else "l"
    if head in "bdfpr":  # stem with a bowl
        pts += [jitter(x - 0.15, cap * 0.80), jitter(x + 0.30, cap), jitter(x + 0.30, cap * 0.5),
                jitter(x + 0.22, 0.0), jitter(x + 0.02, 0.18), jitter(x + 0.30, cap * 0.55),
                jitter(x + 0.40, cap * 0.95), jitter(x + 1.10, cap * 0.78),
                jitter(x + 0.45, cap * 0.45)]  # fmt: skip
        if head in "br":
            pts += [jitter(x + 1.05, 0.25), jitter(x + 1.25, 0.10)]
        pts += [jitter(x + 1.30, 0.55)]
        x += 1.35
    elif head in "ahkmnvwxy":  # peaks
        pts += [jitter(x - 0.25, 0.0), jitter(x + 0.35, cap), jitter(x + 0.50, 0.05),
                jitter(x + 0.85, cap * 0.80), jitter(x + 1.00, 0.05),
                jitter(x + 1.25, 0.55)]  # fmt: skip
        x += 1.30
    elif head in "ceogqs":  # open oval
        pts += [jitter(x + 0.95, cap * 0.78), jitter(x + 0.55, cap), jitter(x + 0.05, cap * 0.62)]
        if head == "e":
            pts += [jitter(x + 0.45, cap * 0.50), jitter(x + 0.02, cap * 0.38)]
        pts += [jitter(x + 0.10, 0.10), jitter(x + 0.60, 0.0), jitter(x + 1.00, 0.45)]
        x += 1.10
    else:  # a tall narrow loop
        lean = rng.uniform(0.3, 0.6)
        pts += [jitter(x - 0.25, 0.35), jitter(x + 0.15, cap * 0.7), jitter(x + lean, cap),
                jitter(x + lean - 0.25, cap * 0.92), jitter(x + 0.05, cap * 0.45),
                jitter(x + 0.05, 0.0), jitter(x + 0.55, 0.55)]  # fmt: skip
        x += 0.75
    shown = letters[1 : 1 + max_letters]
    for k, letter in enumerate(shown):
        letter_x[k + 1] = x
        amp = max(0.35, 1.0 - 0.12 * k) * rng.uniform(0.85, 1.15)
        if letter in ASCENDERS:
            top = 1.7 * amp + 0.35
            pts += [jitter(x + 0.30, 0.6 * amp), jitter(x + 0.55, top),
                    jitter(x + 0.38, top * 1.02), jitter(x + 0.30, 0.02),
                    jitter(x + 0.60, 0.40 * amp)]  # fmt: skip
            x += 0.72
        elif letter in DESCENDERS:
            pts += [jitter(x + 0.30, 0.95 * amp), jitter(x + 0.42, 0.05),
                    jitter(x + 0.38, -1.25 * amp), jitter(x + 0.15, -1.0 * amp),
                    jitter(x + 0.55, 0.25 * amp)]  # fmt: skip
            x += 0.68
        elif letter in ROUNDS:
            pts += [jitter(x + 0.38, 0.95 * amp), jitter(x + 0.10, 0.60 * amp),
                    jitter(x + 0.22, 0.02), jitter(x + 0.55, 0.50 * amp)]  # fmt: skip
            x += 0.58
        elif letter in "ij":
            pts += [jitter(x + 0.22, 0.9 * amp), jitter(x + 0.32, 0.02)]
            dot = (x + 0.45, 1.55 * amp + 0.2)
            marks.append([dot, (dot[0] + 0.08, dot[1] + 0.04)])
            x += 0.42
        else:
            humps = 2 if letter in DOUBLE_HUMPS else 1
            for _ in range(humps):
                pts += [jitter(x + 0.22, 1.0 * amp), jitter(x + 0.45, 0.03)]
                x += 0.46
    remaining = len(letters) - 1 - len(shown)
    for k in range(remaining):  # the rest trails away into a wave
        amp = max(0.15, 0.45 - 0.1 * k)
        pts += [jitter(x + 0.2, amp), jitter(x + 0.4, 0.05)]
        x += 0.38
    for index in accented:  # a quick tick for accents (á, é, ó ...)
        if index in letter_x:
            ax = letter_x[index] + 0.35
            marks.append([(ax, 1.65), (ax + 0.30, 2.05)])
    return pts, marks, x


def signature_strokes(name: str, rng: random.Random) -> list[list[Point]]:
    words = [w for w in name.replace("-", " ").split() if w.rstrip(".") not in TITLES]
    strokes: list[list[Point]] = []
    x = 0.0
    for i, word in enumerate(words):
        first = i == 0 and len(words) > 1
        pts, marks, x = word_strokes(word, x, rng, max_letters=2 if first else 5)
        strokes.append(pts)
        strokes.extend(marks)
        x += rng.uniform(0.45, 0.75)
    # Final flourish from the end of the surname: an underline swept back to the left.
    last_word = max((s for s in strokes if len(s) > 3), key=lambda s: s[-1][0])
    end_x = last_word[-1][0]
    if rng.random() < 0.6:
        last_word += [
            (end_x + 0.45, 0.9),
            (end_x + 0.55, -0.35),
            (end_x - 0.6, -0.85),
            (end_x * 0.45, -0.95 + rng.uniform(-0.1, 0.1)),
            (-0.2, -0.75),
        ]
    else:
        last_word += [(end_x + 0.5, -0.2), (end_x + 1.1, 0.15), (end_x + 1.8, 0.9)]
    return strokes


def catmull_rom(points: Sequence[Point], samples: int = 28) -> list[Point]:
    """A smooth curve through every control point (uniform Catmull-Rom spline)."""
    if len(points) < 3:
        return list(points)
    padded = [points[0], *points, points[-1]]
    out: list[Point] = []
    for i in range(1, len(padded) - 2):
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = padded[i - 1 : i + 3]
        for j in range(samples):
            t = j / samples
            c0 = -0.5 * t**3 + t**2 - 0.5 * t
            c1 = 1.5 * t**3 - 2.5 * t**2 + 1
            c2 = -1.5 * t**3 + 2 * t**2 + 0.5 * t
            c3 = 0.5 * t**3 - 0.5 * t**2
            out.append(
                (c0 * x0 + c1 * x1 + c2 * x2 + c3 * x3, c0 * y0 + c1 * y1 + c2 * y2 + c3 * y3)
            )
    out.append(points[-1])
    return out


def make_signature(slug: str, name: str, rng: random.Random) -> Path:
    width, height, ss = 900, 300, 4
    slant = rng.uniform(0.22, 0.38)
    stretch = rng.uniform(1.3, 1.5)  # handwriting runs wider than it is tall
    strokes = [
        [(stretch * px + slant * py, py) for px, py in stroke]
        for stroke in signature_strokes(name, rng)
    ]
    curves = [catmull_rom(stroke) for stroke in strokes]
    xs = [p[0] for c in curves for p in c]
    ys = [p[1] for c in curves for p in c]
    margin = 22 * ss
    scale = min(
        (width * ss - 2 * margin) / (max(xs) - min(xs)),
        (height * ss - 2 * margin) / (max(ys) - min(ys)),
    )
    off_x = (width * ss - scale * (max(xs) - min(xs))) / 2 - scale * min(xs)
    off_y = (height * ss - scale * (max(ys) - min(ys))) / 2 + scale * max(ys)

    def to_px(p: Point) -> Point:
        return off_x + scale * p[0], off_y - scale * p[1]

    mask = Image.new("L", (width * ss, height * ss), 0)
    draw = ImageDraw.Draw(mask)
    base = 6.0 * ss * rng.uniform(0.9, 1.1)
    for curve in curves:
        pixels = [to_px(p) for p in curve]
        lengths = [0.0]
        for a, b in itertools.pairwise(pixels):
            lengths.append(lengths[-1] + math.dist(a, b))
        total = lengths[-1] or 1.0
        phase = rng.uniform(0, 2 * math.pi)
        freq = rng.uniform(1.5, 3.0)
        for i in range(1, len(pixels)):
            a, b = pixels[i - 1], pixels[i]
            t = lengths[i] / total
            seg = math.dist(a, b) or 1.0
            down = max(0.0, (b[1] - a[1]) / seg)  # pen moving down the page
            # i-dots and accent ticks are short, firm dabs; long strokes taper at both ends
            short = len(curve) <= 3
            taper = 0.85 if short else max(0.25, min(1.0, t / 0.06, (1 - t) / 0.14))
            pressure = 1.0 + 0.18 * math.sin(2 * math.pi * freq * t + phase)
            w = base * (0.70 + 0.45 * down) * taper * pressure
            draw.line([a, b], fill=255, width=max(1, round(w)))
            r = w / 2
            draw.ellipse((b[0] - r, b[1] - r, b[0] + r, b[1] + r), fill=255)
    alpha = mask.resize((width, height), Image.Resampling.LANCZOS)
    img = Image.new("RGBA", (width, height), (*INK, 0))
    img.putalpha(alpha)
    path = SIGNATURES / f"{slug}-signature.png"
    save_png(img, path, SIGNATURE_DPI)
    return path


SIGNATURES_README = """\
# Signatures

The PNG files in this folder are generated, fictional signatures for the fictional
signatories of the sample campaigns (`samples/generate.py` draws them as random
pen strokes; they belong to no real person). A real campaign points each authority's
`signatory.signature` at its own scan of the real signature instead: use a PNG (ideally
with a transparent background) or a JPEG, at 300 ppi or more at the size it will be
printed, and keep those files out of version control unless you have permission to
store them.
"""


# --------------------------------------------------------------------------------------
# Fonts
# --------------------------------------------------------------------------------------

OFL_TEXT = """\
Copyright (c) 2010-2013 by tyPoland Lukasz Dziedzic with Reserved Font Name "Carlito".

This Font Software is licensed under the SIL Open Font License, Version 1.1.
This license is copied below, and is also available with a FAQ at:
https://openfontlicense.org


-----------------------------------------------------------
SIL OPEN FONT LICENSE Version 1.1 - 26 February 2007
-----------------------------------------------------------

PREAMBLE
The goals of the Open Font License (OFL) are to stimulate worldwide
development of collaborative font projects, to support the font creation
efforts of academic and linguistic communities, and to provide a free and
open framework in which fonts may be shared and improved in partnership
with others.

The OFL allows the licensed fonts to be used, studied, modified and
redistributed freely as long as they are not sold by themselves. The
fonts, including any derivative works, can be bundled, embedded,
redistributed and/or sold with any software provided that any reserved
names are not used by derivative works. The fonts and derivatives,
however, cannot be released under any other type of license. The
requirement for fonts to remain under this license does not apply
to any document created using the fonts or their derivatives.

DEFINITIONS
"Font Software" refers to the set of files released by the Copyright
Holder(s) under this license and clearly marked as such. This may
include source files, build scripts and documentation.

"Reserved Font Name" refers to any names specified as such after the
copyright statement(s).

"Original Version" refers to the collection of Font Software components as
distributed by the Copyright Holder(s).

"Modified Version" refers to any derivative made by adding to, deleting,
or substituting -- in part or in whole -- any of the components of the
Original Version, by changing formats or by porting the Font Software to a
new environment.

"Author" refers to any designer, engineer, programmer, technical
writer or other person who contributed to the Font Software.

PERMISSION & CONDITIONS
Permission is hereby granted, free of charge, to any person obtaining
a copy of the Font Software, to use, study, copy, merge, embed, modify,
redistribute, and sell modified and unmodified copies of the Font
Software, subject to the following conditions:

1) Neither the Font Software nor any of its individual components,
in Original or Modified Versions, may be sold by itself.

2) Original or Modified Versions of the Font Software may be bundled,
redistributed and/or sold with any software, provided that each copy
contains the above copyright notice and this license. These can be
included either as stand-alone text files, human-readable headers or
in the appropriate machine-readable metadata fields within text or
binary files as long as those fields can be easily viewed by the user.

3) No Modified Version of the Font Software may use the Reserved Font
Name(s) unless explicit written permission is granted by the corresponding
Copyright Holder. This restriction only applies to the primary font name as
presented to the users.

4) The name(s) of the Copyright Holder(s) or the Author(s) of the Font
Software shall not be used to promote, endorse or advertise any
Modified Version, except to acknowledge the contribution(s) of the
Copyright Holder(s) and the Author(s) or with their explicit written
permission.

5) The Font Software, modified or unmodified, in part or in whole,
must be distributed entirely under this license, and must not be
distributed under any other license. The requirement for fonts to
remain under this license does not apply to any document created
using the Font Software.

TERMINATION
This license becomes null and void if any of the above conditions are
not met.

DISCLAIMER
THE FONT SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND,
EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO ANY WARRANTIES OF
MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT
OF COPYRIGHT, PATENT, TRADEMARK, OR OTHER RIGHT. IN NO EVENT SHALL THE
COPYRIGHT HOLDER BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY,
INCLUDING ANY GENERAL, SPECIAL, INDIRECT, INCIDENTAL, OR CONSEQUENTIAL
DAMAGES, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING
FROM, OUT OF THE USE OR INABILITY TO USE THE FONT SOFTWARE OR FROM
OTHER DEALINGS IN THE FONT SOFTWARE.
"""


def copy_fonts() -> None:
    for name in FONT_FILES:
        source, target = SYSTEM_FONTS / name, FONTS_DIR / name
        if source.exists():
            write_bytes(target, source.read_bytes())
        else:  # keep the copy already in the repository
            check(target.exists(), f"{name} missing from {SYSTEM_FONTS} and {FONTS_DIR}")
            WRITTEN.append(target)
    write_text(FONTS_DIR / "OFL.txt", OFL_TEXT)


# --------------------------------------------------------------------------------------
# Self-checks and report
# --------------------------------------------------------------------------------------


def validate(people: Sequence[Participant], workers: Sequence[Worker]) -> None:
    check(len(people) == 391, "391 participants")
    arms = Counter(p.arm for p in people)
    check(arms == Counter({"Treatment": 196, "Control": 195}), f"arms {arms}")
    check(len({p.pid for p in people}) == len(people), "unique participant ids")
    for p in people:
        for line in (*p.address, p.town):
            if line is None:
                continue
            check("," not in line and "." not in line, f"punctuation in address: {line!r}")
            check(len(line) <= 40, f"address line too long: {line!r}")
        check(bool(POSTCODE_RE.fullmatch(normalise_postcode(p.postcode))), p.postcode)
        check(p.town == p.town.upper(), f"post town not in capitals: {p.town}")
    check(len(workers) == WM_WORKERS, "380 workers")
    by_building: dict[str, set[str]] = defaultdict(set)
    for w in workers:
        by_building[w.building].add(w.arm)
    check(all(len(a) == 1 for a in by_building.values()), "one arm per building")
    building_arms = Counter(next(iter(a)) for a in by_building.values())
    check(building_arms == Counter({"Treatment": 7, "Control": 6}), f"{building_arms}")


def report(people: Sequence[Participant], workers: Sequence[Worker], feedback: int) -> None:
    print("Files written (FICTIONAL sample data):")
    for path in sorted(set(WRITTEN)):
        print(f"  {path.relative_to(ROOT).as_posix():55} {path.stat().st_size:>9,} bytes")
    print("\nLetters campaign - participants per authority and arm:")
    for authority in LETTER_AUTHORITIES:
        mine = [p for p in people if p.authority is authority]
        arms = Counter(p.arm for p in mine)
        print(
            f"  {authority.code} {authority.name:28} {len(mine):4}  "
            f"Treatment {arms['Treatment']:3}  Control {arms['Control']:3}"
        )
    arms = Counter(p.arm for p in people)
    print(f"  total {len(people)}: Treatment {arms['Treatment']}, Control {arms['Control']}")
    sloppy = sum(1 for p in people if normalise_postcode(p.postcode) != p.postcode)
    print(f"  postcodes written sloppily (valid after normalising): {sloppy}")
    print(f"  feedback workbooks: {feedback}")
    print("\nNotes campaign - Westmarch workers:")
    arms = Counter(w.arm for w in workers)
    buildings = Counter(w.building for w in workers)
    teams = {(w.building, w.team) for w in workers}
    print(
        f"  {len(workers)} workers, {len(buildings)} buildings, {len(teams)} teams; "
        f"Treatment {arms['Treatment']}, Control {arms['Control']}"
    )


def main() -> None:
    master = random.Random(SEED)
    rng_people, rng_list, rng_feedback, rng_workers, rng_signatures = (
        child_rng(master) for _ in range(5)
    )
    copy_fonts()
    people = make_participants(rng_people)
    workers = make_workers(rng_workers)
    validate(people, workers)
    write_randomised_list(people, rng_list)
    feedback = write_feedback(people, rng_feedback)
    write_workers(workers)
    write_campaigns()
    for authority in (*LETTER_AUTHORITIES, WM):
        make_logo(authority)
    for authority in (*LETTER_AUTHORITIES, WM):
        make_signature(authority.slug, authority.signatory, child_rng(rng_signatures))
    write_text(SIGNATURES / "README.md", SIGNATURES_README)
    report(people, workers, len(feedback))


if __name__ == "__main__":
    main()

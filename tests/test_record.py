"""`verify CAMPAIGN` and the campaign summary (hhp_letters/record.py), on real campaigns made
with the `letters` command: wave 1, top-ups, re-issues, returned mail, sign-offs — and a ledger
or run folder changed by hand afterwards."""

from __future__ import annotations

import html
import json
import re
import shutil
import time
from pathlib import Path

import pytest
from conftest import CampaignBuilder, run_cli, write_notes_campaign

from hhp_letters.audit import canonical, record_hash
from hhp_letters.campaign import load_campaign
from hhp_letters.errors import UsageError
from hhp_letters.ledger import LedgerError, append, read_ledger
from hhp_letters.merge import letter_reference
from hhp_letters.pipeline import load_for, produce
from hhp_letters.record import campaign_flow, verify_campaign, write_campaign_summary
from hhp_letters.returns import record_returns
from hhp_letters.signoff import approve
from hhp_letters.verify import Result

LEDGER = "ledger.jsonl is the unbroken chain hhp-letters wrote"
RUNS = "every registered run is in its folder, as the ledger recorded it"
ROWS = ("every treatment row has one effective letter or a reason; no control row has a letter; "
        "nobody has two")
LINKS = "re-issues, returns and packages name letters this campaign made"
APPROVALS = "approvals are sign-offs of this campaign's proofs"
NAME = "Recognition letters, test wave"


def run_name(folder: str, line: int) -> str:
    return f"run {folder} (ledger line {line}) passes `verify RUN`"


def wave_one(root: Path) -> CampaignBuilder:
    """The test campaign with P006's feedback not yet in (team-b.xlsx has only P003)."""
    builder = CampaignBuilder(root)
    builder.feedback["team-b.xlsx"] = builder.feedback["team-b.xlsx"][:1]
    builder.build()
    return builder


def feedback_arrives(builder: CampaignBuilder) -> None:
    builder.feedback["team-b.xlsx"].append(
        ["P006", "You kept calm in a crisis.", "Your supervision notes are thorough."])
    builder.build()


def live(builder: CampaignBuilder, name: str, *options: str) -> Path:
    out = builder.root / "runs" / name
    result = run_cli("letters", str(builder.root), "--out", str(out), *options)
    assert result.exit_code == 0, result.output
    return out


def reissue(builder: CampaignBuilder, name: str, ids: set[str], reason: str) -> Path:
    out = builder.root / "runs" / name
    produce(load_for(builder.root, "letters"), out, reissue=frozenset(ids), reason=reason)
    return out


def returns(builder: CampaignBuilder, text: str) -> None:
    path = builder.root / "returned.csv"
    path.write_text(text, encoding="utf-8")
    record_returns(load_campaign(builder.root), path)


def letters_in(run: Path) -> list[str]:
    return sorted(p.stem for p in (run / "letters").rglob("*.pdf"))


def failures(results: list[Result]) -> dict[str, list[str]]:
    return {r.name: r.failures for r in results if not r.ok}


def passes(results: list[Result]) -> bool:
    return all(r.ok for r in results)


def rehashed(lines: list[bytes]) -> list[bytes]:
    """Ledger lines with every hash recomputed, as a careful forger would (the chain holds)."""
    out, prev = [], "0" * 64
    for raw in lines:
        record = json.loads(raw)
        record["prev_hash"] = prev
        record["hash"] = prev = record_hash(record)
        out.append(canonical(record).encode() + b"\n")
    return out


def full_campaign(root: Path) -> CampaignBuilder:
    """Wave 1 (P006 skipped), the top-up, a re-issue for P001, P003 and P005 returned, P005
    re-issued to a corrected address: ledger lines 1–6."""
    builder = wave_one(root)
    live(builder, "wave1", "--skip-invalid")
    feedback_arrives(builder)
    live(builder, "topup")
    reissue(builder, "reissue1", {"P001"}, "director's correction")
    returns(builder, "participant_id,reason,date\nP003,not known at this address,2019-10-20\n"
                     "P005,moved away,2019-10-21\n")
    reissue(builder, "reissue2", {"P005"}, "corrected address")
    return builder


# -- a campaign over weeks verifies -----------------------------------------------------------

def test_wave_one_top_up_and_a_repeat_run_verify(tmp_path: Path) -> None:
    builder = wave_one(tmp_path / "campaign")
    wave1 = live(builder, "wave1", "--skip-invalid")
    assert letters_in(wave1) == ["P001", "P003", "P005"]
    results = verify_campaign(builder.root)
    assert [r.name for r in results] == [LEDGER, RUNS, run_name("runs/wave1", 1), ROWS, LINKS,
                                         APPROVALS]
    assert passes(results), failures(results)
    assert campaign_flow(builder.root).arms[0].withheld == (("missing_feedback", 1),)

    feedback_arrives(builder)
    topup = live(builder, "topup")
    assert letters_in(topup) == ["P006"]  # exactly the missing letter
    again = live(builder, "again")
    assert letters_in(again) == []  # the same live run twice makes nothing new
    results = verify_campaign(builder.root)
    assert [r.name for r in results] == [
        LEDGER, RUNS, run_name("runs/wave1", 1), run_name("runs/topup", 2),
        run_name("runs/again", 3), ROWS, LINKS, APPROVALS]
    assert passes(results), failures(results)
    rows = next(r for r in results if r.name == ROWS)
    assert rows.checked == 4 + 6  # four letters replayed, six rows of the latest list
    for run in (wave1, topup, again):
        assert run_cli("verify", str(run)).exit_code == 0
    flow = campaign_flow(builder.root)
    assert [(r.folder, r.letters) for r in flow.runs] == [
        ("runs/wave1", 3), ("runs/topup", 1), ("runs/again", 0)]
    treatment, control = flow.arms
    assert (treatment.allocated, treatment.effective, treatment.withheld, treatment.letters) == (
        4, 4, (), 4)
    assert (control.allocated, control.letters, control.withheld) == (2, 0,
                                                                      (("control_arm", 2),))


def test_campaign_folder_without_live_runs_is_refused(tmp_path: Path) -> None:
    builder = CampaignBuilder(tmp_path / "campaign")
    builder.build()
    with pytest.raises(UsageError) as caught:
        verify_campaign(builder.root)
    assert caught.value.message == (
        f"no live runs registered in {builder.root} yet; run `hhp-letters letters "
        f"{builder.root} --out RUN` first")
    live(builder, "proof", "--proof")  # a proof is not registered
    with pytest.raises(UsageError, match="no live runs registered"):
        verify_campaign(builder.root / "campaign.toml")
    with pytest.raises(UsageError, match="no campaign folder at"):
        verify_campaign(tmp_path / "nowhere")


# -- the summary ----------------------------------------------------------------------------------

def _md_sections(text: str) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    section = ""
    for line in text.splitlines():
        if line.startswith("## "):
            section = line[3:]
            out[section] = {}
        for label, n in re.findall(r"^- ([^:]+): \*\*(\d+)\*\*", line):
            out[section][label] = int(n)
        for label, n in re.findall(r"\(([^:]+): \*\*(\d+)\*\*\)", line):
            out[section][label] = int(n)
    return out


def test_reissues_and_returns_show_in_the_summary_and_add_up(tmp_path: Path) -> None:
    builder = full_campaign(tmp_path / "campaign")
    results = verify_campaign(builder.root)
    assert passes(results), failures(results)
    assert [r.name for r in results][2:6] == [
        run_name("runs/wave1", 1), run_name("runs/topup", 2), run_name("runs/reissue1", 3),
        run_name("runs/reissue2", 6)]

    md_path, html_path = write_campaign_summary(builder.root, tmp_path / "summary")
    assert (md_path, html_path) == (tmp_path / "summary" / "summary.md",
                                    tmp_path / "summary" / "summary.html")
    md = md_path.read_text(encoding="utf-8")
    head = read_ledger(builder.root).head
    assert f"campaign ledger ending at `{head}` (ledger.jsonl, 6 entries)" in md
    arms = _md_sections(md)
    assert arms["Treatment arm"] == {
        "Allocated": 4, "Not sent a letter": 0, "Letters produced": 6,
        "Re-issued (replacement letters)": 2, "Participants with one effective letter": 4,
        "Returned undelivered": 2, "not re-issued since": 1, "Presumed delivered": 3}
    assert arms["Control arm"] == {"Allocated": 2, "Not sent a letter": 2, "Letters produced": 0}
    t = arms["Treatment arm"]
    assert t["Allocated"] == t["Participants with one effective letter"] + t["Not sent a letter"]
    assert t["Letters produced"] == t["Participants with one effective letter"] + \
        t["Re-issued (replacement letters)"]
    assert t["Presumed delivered"] == t["Participants with one effective letter"] - \
        t["not re-issued since"]
    assert "  - runs/wave1, " in md and "  - runs/reissue2 (re-issue), " in md
    per_run = re.findall(r"^\| (\d+) \| (\S+) \| (\w+) \| [\d-]+ \| (\d+) \| (\d+) \| (\d+) \|$",
                         md, re.MULTILINE)
    assert per_run == [("1", "runs/wave1", "run", "3", "2", "1"),
                       ("2", "runs/topup", "run", "1", "0", "1"),
                       ("3", "runs/reissue1", "reissue", "1", "1", "0"),
                       ("6", "runs/reissue2", "reissue", "1", "1", "0")]
    assert sum(int(r[3]) for r in per_run) == t["Letters produced"]
    by_authority = re.findall(r"^\| (BF|HC) \| (\w+) \| " + r" \| ".join([r"(\d+)"] * 7) + r" \|$",
                              md, re.MULTILINE)
    assert by_authority == [
        ("BF", "treatment", "2", "0", "4", "2", "2", "1", "2"),
        ("BF", "control", "1", "1", "0", "0", "0", "0", "0"),
        ("HC", "treatment", "2", "0", "2", "0", "2", "1", "1"),
        ("HC", "control", "1", "1", "0", "0", "0", "0", "0")]

    page = html_path.read_text(encoding="utf-8")
    svg = re.search(r"<svg .*?</svg>", page, re.DOTALL)
    assert svg is not None
    texts = [html.unescape(t) for t in re.findall(r"<text [^>]*>([^<]*)</text>", svg.group(0))]
    assert texts[:12] == [
        "Treatment: allocated 4", "Not sent a letter: 0", "Letters produced: 6",
        "runs/wave1: 3", "runs/topup: 1", "runs/reissue1 (re-issue): 1",
        "runs/reissue2 (re-issue): 1", "Re-issued: 2", "effective letters: 4",
        "Returned undelivered: 2", "not re-issued since: 1", "Presumed delivered: 3"]
    assert texts[12:] == ["Control: allocated 2", "Not sent a letter: 2",
                          "control arm (by design): 2", "Letters produced: 0"]
    cells = [re.findall(r"<td[^>]*>([^<]*)</td>", row)
             for row in re.findall(r"<tr>(<td.*?)</tr>", page)]
    assert ["BF", "treatment", "2", "0", "4", "2", "2", "1", "2"] in cells
    assert f"<code>{head}</code>" in page
    # self-contained, and counts only: nobody named, no address, no feedback, no return reason
    for outside in ("src=", "<link", "<script", "@import", "href="):
        assert outside not in page
    for private in ("P00", "Alice", "Smith", "High Street", "RG12", "difficult case",
                    "not known at this address", "HHP-"):
        assert private not in page and private not in md


def test_summary_text_is_escaped(tmp_path: Path) -> None:
    builder = CampaignBuilder(tmp_path / "campaign", toml_edits=[
        (f'name = "{NAME}"', 'name = "Wave <1> & \\"Co\\""')])
    builder.build()
    live(builder, "a&b")
    page = write_campaign_summary(builder.root, tmp_path / "out")[1].read_text(encoding="utf-8")
    assert "<title>Campaign summary: Wave &lt;1&gt; &amp; &#34;Co&#34;</title>" in page
    assert ">runs/a&amp;b</td>" in page and "<1>" not in page


def test_summary_refuses_a_record_that_does_not_add_up(tmp_path: Path) -> None:
    builder = wave_one(tmp_path / "campaign")
    live(builder, "wave1", "--skip-invalid")
    ledger = builder.root / "ledger.jsonl"
    ledger.write_text(ledger.read_text(encoding="utf-8").replace('"P003"', '"P004"'),
                      encoding="utf-8")
    with pytest.raises(LedgerError) as caught:
        write_campaign_summary(builder.root, tmp_path / "out")
    assert caught.value.message == (
        "the campaign's record does not add up, so no summary was written: ledger.jsonl line 1 "
        "(event 'run'): the line was edited after it was written")
    assert not (tmp_path / "out").exists()
    with pytest.raises(UsageError, match="is a run folder"):
        write_campaign_summary(builder.root, builder.root / "runs" / "wave1")


# -- a ledger changed by hand -----------------------------------------------------------------

def test_editing_any_ledger_line_fails_naming_the_line(tmp_path: Path) -> None:
    builder = full_campaign(tmp_path / "campaign")
    ledger = builder.root / "ledger.jsonl"
    original = ledger.read_bytes()
    lines = original.splitlines(keepends=True)
    assert len(lines) == 6

    def edited(new: list[bytes]) -> dict[str, list[str]]:
        ledger.write_bytes(b"".join(new))
        try:
            return failures(verify_campaign(builder.root))
        finally:
            ledger.write_bytes(original)

    # alter a field: the returned letter's reason
    altered = [*lines]
    altered[3] = altered[3].replace(b"not known at this address", b"delivered")
    assert edited(altered) == {LEDGER: [
        "ledger.jsonl line 4 (event 'returned'): the line was edited after it was written"]}

    # alter a field and recompute the hashes of every line: the chain holds, the runs do not
    forged = [*lines]
    forged[1] = forged[1].replace(b'"P006"', b'"P002"')  # the top-up "sent" a control letter
    found = edited(rehashed(forged))
    assert LEDGER not in found
    assert found[RUNS] == [
        "runs/topup (ledger line 2): the ledger lists letters its audit does not record ('P002')",
        "runs/topup (ledger line 2): its audit records letters the ledger does not list ('P006')",
        "runs/topup (ledger line 2): the letter of 'P002' is listed with reference "
        f"{letter_reference(NAME, 'P006')!r}; hhp-letters gives it "
        f"{letter_reference(NAME, 'P002')}"]
    assert "runs/topup (ledger line 2) made a letter for 'P002', who is in the control arm" in \
        found[ROWS]

    # delete a line: the top-up's registration
    found = edited([lines[0], *lines[2:]])
    assert found[LEDGER][:2] == [
        "ledger.jsonl line 2: seq is 3, expected 2 (a line was removed or inserted)",
        "ledger.jsonl line 2: prev_hash does not match line 1 (lines were changed)"]
    assert "runs/topup: a live run of this campaign that the ledger does not register" in \
        found[RUNS]
    assert "treatment participant 'P006' (row 7) has no effective letter, but runs/reissue2 " \
        "(ledger line 5) withheld them as already sent" in found[ROWS]

    # swap two lines: the two returns
    found = edited([*lines[:3], lines[4], lines[3], lines[5]])
    assert found[LEDGER] == [
        "ledger.jsonl line 4: seq is 5, expected 4 (a line was removed or inserted)",
        "ledger.jsonl line 4: prev_hash does not match line 3 (lines were changed)",
        "ledger.jsonl line 5: seq is 4, expected 5 (a line was removed or inserted)",
        "ledger.jsonl line 5: prev_hash does not match line 4 (lines were changed)",
        "ledger.jsonl line 6: prev_hash does not match line 5 (lines were changed)"]

    # a line that is no JSON at all
    found = edited([*lines[:2], b"{not json\n", *lines[3:]])
    assert found[LEDGER][0] == \
        "ledger.jsonl line 3: not a record hhp-letters writes (the file was edited)"

    assert passes(verify_campaign(builder.root))  # restored: the record verifies again


# -- run folders changed by hand ----------------------------------------------------------------

def test_a_moved_deleted_or_replaced_run_fails_naming_the_run(tmp_path: Path) -> None:
    builder = wave_one(tmp_path / "campaign")
    wave1 = live(builder, "wave1", "--skip-invalid")
    feedback_arrives(builder)
    topup = live(builder, "topup")
    assert passes(verify_campaign(builder.root))
    keep = tmp_path / "kept"
    shutil.copytree(topup, keep)

    moved = builder.root / "runs" / "archive" / "topup"
    moved.parent.mkdir()
    topup.rename(moved)
    found = failures(verify_campaign(builder.root))
    assert found == {RUNS: ["runs/topup (ledger line 2): the run folder is missing (moved or "
                            "deleted); a run with its audit head is at runs/archive/topup"]}
    shutil.rmtree(moved.parent)
    assert failures(verify_campaign(builder.root)) == {
        RUNS: ["runs/topup (ledger line 2): the run folder is missing (moved or deleted)"]}

    shutil.copytree(keep, topup)
    for name in ("audit.jsonl", "audit.head", "audit.sig"):  # another run's audit, whole
        shutil.copyfile(wave1 / name, topup / name)
    head = (wave1 / "audit.head").read_text(encoding="utf-8").strip()
    recorded = read_ledger(builder.root).entries[1]["audit_head"]
    assert failures(verify_campaign(builder.root)) == {
        RUNS: [f"runs/topup (ledger line 2): audit.head is {head[:12]}…, the ledger recorded "
               f"{recorded[:12]}…: the folder holds a different run (its audit was replaced)"]}

    shutil.copyfile(keep / "audit.head", topup / "audit.head")
    shutil.copyfile(keep / "audit.sig", topup / "audit.sig")  # only audit.jsonl replaced
    found = failures(verify_campaign(builder.root))
    assert found[RUNS] == [
        "runs/topup (ledger line 2): the ledger lists letters its audit does not record ('P006')",
        "runs/topup (ledger line 2): its audit records letters the ledger does not list ('P001', "
        "'P003', 'P005')"]
    assert list(found) == [RUNS, run_name("runs/topup", 2)]
    assert f"audit hash chain ends at audit.head: the last record's hash {head[:12]}… is not " \
        f"audit.head {recorded[:12]}…: the log was truncated or extended" in \
        found[run_name("runs/topup", 2)]


def _tamper(run: Path, pid: str, *, rehash: bool, **changes: object) -> None:
    """Change one allocation record of ``run``'s audit (and, with ``rehash``, forge the chain
    and audit.head to match, as a careful tamperer would)."""
    path = run / "audit.jsonl"
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    prev = "0" * 64
    for record in records:
        if record["event"] == "allocation" and record["participant_id"] == pid:
            record.update(changes)
        if rehash:
            record["prev_hash"] = prev
            record["hash"] = prev = record_hash(record)
    path.write_text("".join(canonical(r) + "\n" for r in records), encoding="utf-8")
    if rehash:
        (run / "audit.head").write_text(prev + "\n", encoding="utf-8")


def test_a_control_participant_given_a_letter_fails(tmp_path: Path) -> None:
    builder = wave_one(tmp_path / "campaign")
    wave1 = live(builder, "wave1", "--skip-invalid")
    feedback_arrives(builder)
    live(builder, "topup")
    original = (wave1 / "audit.jsonl").read_bytes(), (wave1 / "audit.head").read_bytes()

    _tamper(wave1, "P001", rehash=False, arm="control")
    found = failures(verify_campaign(builder.root))
    assert list(found) == [run_name("runs/wave1", 1), ROWS]
    assert "every row accounted for; no control output; nobody twice: participant 'P001' (row 2, "\
        "seq 2): CONTROL participant has an output letters/BF/P001.pdf" in \
        found[run_name("runs/wave1", 1)]
    assert found[ROWS] == [
        "control participant 'P001' (row 2) has a letter in runs/wave1 (ledger line 1): "
        "letters/BF/P001.pdf",
        "participant 'P001' is in the control arm in runs/wave1 (ledger line 1), but in the "
        "treatment arm in runs/topup (ledger line 2): the runs disagree on the randomisation"]

    (wave1 / "audit.jsonl").write_bytes(original[0])
    _tamper(wave1, "P002", rehash=True, status="produced", reason=None,
            output="letters/BF/P001.pdf")
    found = failures(verify_campaign(builder.root))
    assert list(found) == [RUNS]
    assert found[RUNS][0].startswith("runs/wave1 (ledger line 1): audit.head is ")
    assert found[RUNS][0].endswith("the folder holds a different run (its audit was replaced)")

    (wave1 / "audit.jsonl").write_bytes(original[0])
    (wave1 / "audit.head").write_bytes(original[1])
    assert passes(verify_campaign(builder.root))


# -- approvals, returns, re-issues that name the wrong thing -----------------------------------

REQUIRE = ('kind = "letters"\n', 'kind = "letters"\nrequire_approval = true\n')


def test_approvals_must_be_of_this_campaign(tmp_path: Path) -> None:
    builder = CampaignBuilder(tmp_path / "campaign", toml_edits=[REQUIRE])
    builder.build()
    approve(live(builder, "proof", "--proof"), "A. Director, DCS")
    live(builder, "wave1")
    results = verify_campaign(builder.root)
    assert passes(results), failures(results)
    assert next(r for r in results if r.name == APPROVALS).checked == 1

    # a proof of another campaign folder (same name, its own key), signed off into this ledger
    other = CampaignBuilder(tmp_path / "other", toml_edits=[REQUIRE])
    other.build()
    proof = other.root / "runs" / "proof"
    assert run_cli("letters", str(other.root), "--out", str(proof), "--proof").exit_code == 0
    theirs = approve(proof, "B. Director, DCS")
    fields = {k: v for k, v in theirs.record.items()
              if k not in ("seq", "time", "event", "prev_hash", "hash")}
    append(builder.root, "approval", fields)
    append(builder.root, "approval", {**fields, "campaign_name": "Another campaign",
                                      "proof_folder": "/nowhere"})
    found = failures(verify_campaign(builder.root))
    assert found == {APPROVALS: [
        f"ledger.jsonl line 3: the approval by B. Director, DCS signed off {proof.resolve()}, a "
        f"proof made from {other.toml_path.resolve()}, not from this campaign's campaign.toml",
        f"ledger.jsonl line 3: the approval by B. Director, DCS signed off {proof.resolve()}, a "
        "proof not "
        "signed with this campaign's key",
        "ledger.jsonl line 4: the approval by B. Director, DCS is for the campaign 'Another "
        f"campaign', not for this one ('{NAME}')"]}


def test_a_live_run_without_sign_off_fails_once_approval_is_required(tmp_path: Path) -> None:
    builder = CampaignBuilder(tmp_path / "campaign")
    builder.build()
    live(builder, "wave1")
    builder.toml_edits.append(REQUIRE)
    builder.build()
    assert failures(verify_campaign(builder.root)) == {APPROVALS: [
        "runs/wave1 (ledger line 1) was made with no sign-off recorded before it, and "
        "campaign.toml requires approval"]}


def test_returns_and_packages_must_name_letters_of_this_campaign(tmp_path: Path) -> None:
    builder = CampaignBuilder(tmp_path / "campaign")
    builder.build()
    live(builder, "wave1")
    letter = read_ledger(builder.root).entries[0]["letters"][0]  # P001's
    append(builder.root, "returned", {"participant_id": "P002", "output_sha256": "ab" * 32,
                                      "reference": "HHP-AAAA-AAAA"})
    append(builder.root, "returned", {"participant_id": "P003", "output_sha256": letter[1],
                                      "reference": letter[2]})
    append(builder.root, "package", {"package": "print.zip", "run_audit_head": "cd" * 32})
    found = failures(verify_campaign(builder.root))
    assert found == {LINKS: [
        "ledger.jsonl line 2: the returned letter HHP-AAAA-AAAA (abababababab…) is not a letter "
        "a registered run made before it",
        "ledger.jsonl line 2: the returned letter HHP-AAAA-AAAA is for 'P002', who is in the "
        "control arm",
        f"ledger.jsonl line 3: the returned letter {letter[2]} is the letter of 'P001', not of "
        "'P003'",
        "ledger.jsonl line 4: the package 'print.zip' was made from a run the ledger does not "
        "register"]}


def test_verify_campaign_time_for_three_runs(tmp_path: Path) -> None:
    builder = wave_one(tmp_path / "campaign")
    live(builder, "wave1", "--skip-invalid")
    feedback_arrives(builder)
    live(builder, "topup")
    reissue(builder, "reissue", {"P003"}, "typo in feedback")
    start = time.perf_counter()
    results = verify_campaign(builder.root)
    seconds = time.perf_counter() - start
    assert passes(results), failures(results)
    assert seconds < 10, seconds  # a generous bound for a shared 2-core machine


def test_a_reissue_must_replace_the_effective_letter_it_names_with_a_reason(
        tmp_path: Path) -> None:
    builder = CampaignBuilder(tmp_path / "campaign")
    builder.build()
    live(builder, "wave1")
    reissue(builder, "reissue", {"P001"}, "director's correction")
    ledger = builder.root / "ledger.jsonl"
    lines = ledger.read_bytes().splitlines(keepends=True)
    first = read_ledger(builder.root).entries[0]["letters"]
    p001, p003 = first[0][1], first[1][1]

    ledger.write_bytes(b"".join(rehashed([lines[0], lines[1].replace(p001.encode(),
                                                                     p003.encode())])))
    found = failures(verify_campaign(builder.root))
    assert found[RUNS] == [
        f"runs/reissue (ledger line 2): its audit says the new letter of participant 'P001' "
        f"(row 2) supersedes {p001[:12]}…, the ledger says {p003[:12]}…"]
    assert found[ROWS] == [
        f"re-issue runs/reissue (ledger line 2) supersedes letter {p003[:12]}… of 'P001', but "
        f"their effective letter was {p001[:12]}… (runs/wave1 (ledger line 1))"]
    assert found[LINKS] == [
        f"re-issue runs/reissue (ledger line 2) supersedes letter {p003[:12]}… of 'P001', which "
        "no earlier registered run made for them"]

    as_run = lines[1].replace(b'"event":"reissue"', b'"event":"run"')
    ledger.write_bytes(b"".join(rehashed([lines[0], as_run])))
    found = failures(verify_campaign(builder.root))
    assert found[ROWS] == [
        "participant 'P001' got a second letter from runs/reissue (ledger line 2) while the "
        "letter from runs/wave1 (ledger line 1) was effective; only a re-issue replaces a letter"]
    assert found[RUNS] == [
        "runs/reissue (ledger line 2): its audit says the letter of participant 'P001' (row 2) "
        "supersedes another, but the ledger registers an ordinary run, not a re-issue"]

    # a re-issue without a reason is refused; one whose reason was blanked in the ledger is
    # named by verify
    with pytest.raises(UsageError, match="a re-issue needs a reason"):
        reissue(builder, "blank", {"P003"}, "  ")
    ledger.write_bytes(b"".join(lines))
    reissue(builder, "again", {"P003"}, "typo")
    third = ledger.read_bytes().splitlines(keepends=True)[2]
    record = json.loads(third)
    record["reason"] = ""
    ledger.write_bytes(b"".join(rehashed([*lines, canonical(record).encode() + b"\n"])))
    assert failures(verify_campaign(builder.root))[ROWS] == [
        "re-issue runs/again (ledger line 3) gives no reason"]


def test_a_run_the_ledger_lost_is_named(tmp_path: Path) -> None:
    builder = wave_one(tmp_path / "campaign")
    live(builder, "wave1", "--skip-invalid")
    feedback_arrives(builder)
    topup = live(builder, "topup")
    ledger = builder.root / "ledger.jsonl"
    lines = ledger.read_bytes().splitlines(keepends=True)
    ledger.write_bytes(lines[0])  # the last line removed: the chain that is left holds
    assert failures(verify_campaign(builder.root)) == {
        RUNS: ["runs/topup: a live run of this campaign that the ledger does not register"]}

    head = (topup / "audit.head").read_text(encoding="utf-8").strip()
    marker = builder.root / ".hhp" / f"pending-{head[:16]}.json"
    marker.write_text(json.dumps({"audit_head": head, "run_path": str(topup)}),
                      encoding="utf-8")
    assert failures(verify_campaign(builder.root))[RUNS][0] == (
        f".hhp/{marker.name}: the run at {topup} finished but is not registered yet; any "
        "`letters` command on this campaign registers it")


TEAMS = ("Team ID,Team,Site,Manager first name,Arm,Local authority\n"
         "N1,Fostering,North House,{manager},treatment,NA\n"
         "N2,Duty,Elm Court,Lee,control,NA\n"
         "N3,Fostering,North House,{manager},treatment,NA\n")


def test_a_notes_campaign_verifies_team_by_team(tmp_path: Path) -> None:
    root = write_notes_campaign(tmp_path / "notes", TEAMS.format(manager=""))
    first = root / "runs" / "n1"
    assert run_cli("notes", str(root), "--out", str(first), "--skip-invalid").exit_code == 0
    assert not list(first.rglob("*.pdf"))  # the team has no manager yet: a reason, no note
    (root / "teams.csv").write_text(TEAMS.format(manager="Priya"), encoding="utf-8")
    second = root / "runs" / "n2"
    assert run_cli("notes", str(root), "--out", str(second)).exit_code == 0
    assert run_cli("notes", str(root), "--out", str(root / "runs" / "n3")).exit_code == 0
    results = verify_campaign(root)
    assert passes(results), failures(results)
    assert read_ledger(root).entries[1]["letters"][0][0] == "NA\x1ffostering"

    original = (second / "audit.jsonl").read_bytes()
    _tamper(second, "N2", rehash=False, status="produced", reason=None,
            output="notes/NA/Fostering.pdf")
    assert "control participant 'N2' (row 3) has a letter in runs/n2 (ledger line 2): " \
        "notes/NA/Fostering.pdf" in failures(verify_campaign(root))[ROWS]
    (second / "audit.jsonl").write_bytes(original)
    with pytest.raises(UsageError, match="a notes campaign has none"):
        campaign_flow(root)

"""hhp-letters: recognition letters and coffee-machine notes for randomised trials.

What a script needs: load a campaign, check it, make a run, verify a run::

    from hhp_letters import load_campaign, check_campaign, produce, verify_run
    report = check_campaign(Path("wave-1"))
    result = produce(load_campaign(Path("wave-1")), Path("runs/wave-1"))
    results = verify_run(Path("runs/wave-1"))
"""

__version__ = "0.2.0"

from hhp_letters.campaign import Campaign, load_campaign
from hhp_letters.errors import HhpError, ProblemsFound
from hhp_letters.pipeline import Prepared, RunResult, prepare, produce
from hhp_letters.problems import Level, Origin, Problem
from hhp_letters.report import CheckReport, check_campaign
from hhp_letters.verify import Result, verify_run

__all__ = ["Campaign", "CheckReport", "HhpError", "Level", "Origin", "Prepared", "Problem",
           "ProblemsFound", "Result", "RunResult", "__version__", "check_campaign",
           "load_campaign", "prepare", "produce", "verify_run"]

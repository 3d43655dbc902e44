"""hhp-letters: recognition letters and coffee-machine notes for randomised trials."""

from hhp_letters.campaign import Campaign, load_campaign
from hhp_letters.checks import CheckedInputs, check
from hhp_letters.errors import HhpError

__version__ = "0.1.0"

__all__ = ["Campaign", "CheckedInputs", "HhpError", "__version__", "check", "load_campaign"]

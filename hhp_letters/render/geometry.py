"""Page and envelope-window geometry (print-spec §3.2). Millimetres, measured from the sheet's
top-left corner unless a name says points."""

from __future__ import annotations

from dataclasses import dataclass

from hhp_letters.campaign import Envelope

MM = 72 / 25.4  # points per millimetre
A4 = (210.0, 297.0)
A5_LANDSCAPE = (210.0, 148.0)


@dataclass(frozen=True)
class Rect:
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    def shrink(self, margin: float) -> Rect:
        return Rect(self.x0 + margin, self.y0 + margin, self.x1 - margin, self.y1 - margin)

    def intersects(self, other: Rect) -> bool:
        return not (other.x1 <= self.x0 or other.x0 >= self.x1 or other.y1 <= self.y0
                    or other.y0 >= self.y1)


@dataclass(frozen=True)
class Window:
    """Where the envelope window falls on the sheet's address panel."""

    visible: Rect  # always visible, whatever the insert's play in the envelope
    reach: Rect  # visible for some position of the insert: nothing but the address may be here
    address: Rect  # ``visible`` less the clear margin: the address block must fit inside

    @classmethod
    def for_envelope(cls, env: Envelope, sheet: tuple[float, float] = A4) -> Window:
        panel_h = sheet[1] / 3 if env.fold == "thirds" else sheet[1] / 2
        slack_x = max(0.0, env.width - sheet[0])
        slack_y = max(0.0, env.height - panel_h)
        top = env.height - env.window_bottom - env.window_height  # window top, from flap edge
        bottom = env.height - env.window_bottom
        visible = Rect(env.window_left, top, env.window_left + env.window_width - slack_x,
                       bottom - slack_y)
        reach = Rect(env.window_left - slack_x, top - slack_y, env.window_left + env.window_width,
                     bottom)
        return cls(visible, reach, visible.shrink(env.margin))

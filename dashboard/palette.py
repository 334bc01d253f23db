"""The heatmap colour scale, shared by the Plotly figures and the Pillow PNG export so both match.

Positions run from 0 (fewest clicks) to 1 (the busiest bin); colours are interpolated linearly between
stops, exactly as Plotly does for a heatmap with ``zmin=0`` and ``zmax`` = the busiest bin.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

# Cool blue for rare clicks through yellow to deep red for hotspots: readable over light screenshots.
STOPS: tuple[tuple[float, tuple[int, int, int]], ...] = (
    (0.0, (49, 130, 189)),
    (0.25, (65, 182, 196)),
    (0.5, (254, 217, 118)),
    (0.75, (253, 141, 60)),
    (1.0, (189, 0, 38)),
)
FOLD_COLOUR = "#d62728"
OUTLINE_FILL = "#f4f5f7"
OUTLINE_LINE = "#b8bec8"


def plotly_colorscale() -> list[list[float | str]]:
    """The stops as a Plotly ``colorscale``."""
    return [[position, f"rgb{colour}"] for position, colour in STOPS]


def colours_at(positions: npt.NDArray[np.float64]) -> npt.NDArray[np.uint8]:
    """RGB (uint8, shape ``positions.shape + (3,)``) for positions in [0, 1] (clipped)."""
    where = np.clip(positions, 0.0, 1.0)
    stops = np.array([position for position, _ in STOPS])
    colours = np.array([colour for _, colour in STOPS], dtype=np.float64)
    channels = [np.interp(where, stops, colours[:, channel]) for channel in range(3)]
    return np.rint(np.stack(channels, axis=-1)).astype(np.uint8)

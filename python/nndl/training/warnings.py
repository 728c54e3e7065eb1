"""The warning nndl gives when training runs but goes wrong in a way a reader can fix."""

from __future__ import annotations


class TrainingWarning(UserWarning):
    """Training finished but something went wrong that a hyper-parameter or the data can fix: the
    cost became infinite, outputs saturated, ReLU units died, inputs are far outside [0, 1], or an
    option has no effect. The message says what to change."""

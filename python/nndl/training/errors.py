"""What training raises: divergence (public) and a bad input found mid-way (internal)."""

from __future__ import annotations


class DivergenceError(FloatingPointError):
    """Training produced a non-finite weight; the network keeps the weights from before that step."""


class NonFiniteInput(Exception):
    """Raised inside SGD by an engine that checks the training inputs as it reads them."""

    def __init__(self, example: int):
        super().__init__(example)
        self.example = example  # the row of the training data that holds a NaN or an infinity

"""ruvector.Hit: one search result."""

from typing import NamedTuple


class Hit(NamedTuple):
    """One search result: ``id`` of the stored vector and its ``score``, the squared L2
    distance to the query (smaller is closer). A named tuple, so ``id, score = hit`` works."""

    id: int
    score: float


Hit.__module__ = "ruvector"

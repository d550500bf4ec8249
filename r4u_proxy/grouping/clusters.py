"""What both miners (prompts: `miner.Miner`, log lines: `log_miner.LogMiner`) hand to their owner."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from r4u_proxy.grouping.lookup import specificity
from r4u_proxy.grouping.template import Template

SAMPLES = 32  # recent texts a cluster keeps for split checks
FIRST_CHECKPOINT = 6


@dataclass
class Cluster:
    id: int
    partition: str
    template: Template
    count: int = 0
    samples: deque[str] = field(default_factory=lambda: deque(maxlen=SAMPLES))
    next_checkpoint: int = FIRST_CHECKPOINT
    spans: bool = False  # log lines: a variable may span several words (it left the token-count partition)
    stray_checked: Template | None = None  # its template when strays near it were last looked for
    confirmed: bool = False  # its template was tightened by FIRST_CHECKPOINT texts: no longer provisional


def most_specific(
    clusters: dict[int, Cluster], candidates: Iterable[int], text: str, *, one_token: bool = False
) -> tuple[int, list[str]] | None:
    """The candidate whose template fits `text` with the most constant text, and its values."""
    best: tuple[int, int, list[str]] | None = None
    for cluster_id in candidates:
        cluster = clusters[cluster_id]
        template = cluster.template
        values = template.match(text, one_token=one_token and not cluster.spans)
        if values is None:
            continue
        specific = specificity(template)
        if best is None or specific > best[0]:
            best = (specific, cluster_id, values)
    return None if best is None else (best[1], best[2])


@dataclass(frozen=True)
class Event:
    """Something the owner of stored assignments must follow up.

    kind "refined": `cluster` has a new template (members' values must be re-extracted from
    `old_template`). kind "merged": `cluster` was folded into `into` (its members' values are re-derived
    with `into`'s template). kind "split": `cluster` was split, or dissolved (then it is gone); its
    members must be fed to `add` again under `partition` (`old_template` renders their texts).
    """

    kind: str
    cluster: int
    old_template: Template
    into: int | None = None
    partition: str | None = None

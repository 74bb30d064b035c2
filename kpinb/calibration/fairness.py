"""Fairness across groups: are one group's ratings running lower (or higher) than its
evidence explains? Pure functions over the pack's people frame.

A *slicing* splits the rated people into groups by one attribute: the role and the
tenure band always, and every people column the workspace's ``[fairness] columns``
names. Per group the view shows the rating distribution, the evidence measures the
manager table uses (:func:`kpinb.calibration.managers.evidence_shares`: the share with
an improving shift of their own, shared moves never counting, and the share with a
goal at the success line) and the gap between ratings and evidence: each rated
person's rating minus the mean rating of people *in the slicing's other groups* with
the same evidence direction (:func:`kpinb.calibration.managers.reference_gaps`, the
manager table's own method), averaged over the group with its 95 % interval
(:func:`kpinb.calibration.managers.mean_gap`). A prompt is raised only where that
interval excludes 0.

Suppression (:func:`withheld_groups`). The unit is the rated person. A group of fewer
than ``min_group_size`` rated people is withheld, and then, per slicing, more groups
(the smallest shown first) until the withheld groups are none, or at least two whose
rated people number ``min_group_size`` or more together: the pack's totals (every rated
person, each department's) minus the shown groups then give only that pooled figure,
never one group's. Across slicings the figures are additive (counts per rating, counts
with an improving shift ...), so a withheld group could still be worked out as a sum
and difference of shown groups of other slicings and the totals: each withheld group is
checked against every published group exactly (is its indicator over the people in the
span of the published sets' indicators?), and while one can be worked out, the smallest
shown group whose withholding (with what its slicing's rule then withholds) stops it is
withheld too; failing one, the smallest shown group of another slicing that shares
people with it, so that every round withholds more and the rounds end. Sets the pack
publishes elsewhere and cannot withhold (the totals) stay published. Totals per slicing
in the view are over its shown groups only.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from kpinb.calibration.managers import evidence_shares, mean_gap, reference_gaps
from kpinb.calibration.prompts import PROMPT_COLUMNS
from kpinb.settings import DEFAULT_TENURE_BANDS, Settings, fairness_settings

NOT_GIVEN = "not given"  # the group of people whose cell of the column is empty
FAIRNESS_COLUMNS = (
    "slicing", "group", "shown", "rated", "ratings", "mean_rating", "improving_share",
    "improving_low", "improving_high", "goal_success_share", "goal_success_low",
    "goal_success_high", "gap", "gap_low", "gap_high", "gaps", "indication", "basis",
)  # fmt: skip
LOWER = "ratings run lower than the evidence suggests"
HIGHER = "ratings run higher than the evidence suggests"


def tenure_band(years: pd.Series, edges: Sequence[float] = DEFAULT_TENURE_BANDS) -> pd.Series:
    """Each tenure (years at the period's end) as its band: with edges 1, 3, 5 the bands
    are ``under 1 year``, ``1-3 years``, ``3-5 years`` and ``5+ years`` (an edge starts
    the band above it: 3.0 years is in 3-5)."""
    names = [f"under {edges[0]:g} year{'s' if edges[0] != 1 else ''}"]
    names += [f"{a:g}-{b:g} years" for a, b in itertools.pairwise(edges)]
    names += [f"{edges[-1]:g}+ years"]
    at = np.searchsorted(np.asarray(edges, dtype=float), years.to_numpy(dtype=float), "right")
    out = pd.Series([names[i] for i in at], index=years.index, dtype=object)
    return out.where(years.notna(), NOT_GIVEN)


def slicings(
    people: pd.DataFrame,
    columns: Sequence[str] = (),
    edges: Sequence[float] = DEFAULT_TENURE_BANDS,
) -> dict[str, pd.Series]:
    """The group of each person under every slicing: ``role``, ``tenure`` (from
    ``tenure_years``) and each of ``columns`` (an empty cell: :data:`NOT_GIVEN`)."""
    out = {"role": _labels(people["role"]), "tenure": tenure_band(people["tenure_years"], edges)}
    for column in columns:
        if column not in out:
            out[column] = _labels(people[column])
    return out


def _labels(col: pd.Series) -> pd.Series:
    text = col.astype("string").str.strip()
    return text.where(text.notna() & text.ne(""), NOT_GIVEN).astype(object)


def withheld_groups(
    groups: Mapping[str, pd.Series],
    min_group_size: int,
    published: Sequence[pd.Series] = (),
) -> dict[str, set[str]]:
    """Per slicing, the groups the view withholds (module docstring, "Suppression").

    ``groups``: slicing -> each rated person's group; ``published``: boolean masks over
    the same people of sets whose figures the pack shows elsewhere (every rated person is
    always one; a department's totals).
    """
    sizes = {name: labels.value_counts() for name, labels in groups.items()}
    hidden = {
        name: {str(g) for g, n in s.items() if n < min_group_size} for name, s in sizes.items()
    }
    index = next(iter(groups.values())).index if groups else pd.Index([])
    fixed = [np.ones(len(index))] + [np.asarray(m, dtype=float) for m in published]
    while True:
        for name in groups:
            _complete(hidden[name], sizes[name], min_group_size)
        shown = [
            (int(sizes[name][g]), name, str(g))
            for name in groups
            for g in sizes[name].index
            if str(g) not in hidden[name]
        ]
        rows = {(name, g): (groups[name] == g).to_numpy(dtype=float) for _, name, g in shown}
        culprit = _first_recoverable(
            groups, hidden, sizes, min_group_size, fixed, rows, sorted(shown)
        )
        if culprit is None:
            return hidden
        hidden[culprit[0]].add(culprit[1])


def _complete(hidden: set[str], sizes: pd.Series, min_group_size: int) -> None:
    """Withhold the smallest shown groups until none is withheld, or two or more with
    ``min_group_size`` or more rated people together (or every group)."""
    order = sorted(((int(n), str(g)) for g, n in sizes.items()))
    while hidden and (len(hidden) < 2 or sum(int(sizes[g]) for g in hidden) < min_group_size):
        rest = [g for _, g in order if g not in hidden]
        if not rest:
            return
        hidden.add(rest[0])


def _first_recoverable(
    groups: Mapping[str, pd.Series],
    hidden: Mapping[str, set[str]],
    sizes: Mapping[str, pd.Series],
    min_group_size: int,
    fixed: list[np.ndarray],
    rows: dict[tuple[str, str], np.ndarray],
    shown: list[tuple[int, str, str]],
) -> tuple[str, str] | None:
    """A shown group to withhold because some withheld group can be worked out from the
    published sets, or None when none can: the smallest whose withholding (with the
    groups its slicing's rule then withholds as well) stops it, else the smallest shown
    group of another slicing that shares people with it."""
    for name in groups:
        for g in sorted(hidden[name]):
            target = (groups[name] == g).to_numpy(dtype=float)
            if not _in_span([*fixed, *rows.values()], target):
                continue
            for _, other, h in shown:
                more = {*hidden[other], h}
                _complete(more, sizes[other], min_group_size)
                rest = [v for (n, k), v in rows.items() if not (n == other and k in more)]
                if not _in_span([*fixed, *rest], target):
                    return other, h
            for _, other, h in shown:
                if other != name and (rows[(other, h)] * target).any():
                    return other, h
    return None


def recoverable(target: np.ndarray, published: Sequence[np.ndarray]) -> bool:
    """Can a set's additive figures be worked out from the published sets' (sums and
    differences)? True when its indicator lies in the span of theirs."""
    return _in_span(list(published), np.asarray(target, dtype=float))


def _in_span(rows: list[np.ndarray], target: np.ndarray) -> bool:
    if not target.any():
        return True
    base = np.vstack(rows) if rows else np.zeros((0, len(target)))
    rank = np.linalg.matrix_rank(base) if len(base) else 0
    return bool(np.linalg.matrix_rank(np.vstack([base, target])) == rank)


def fairness_table(
    people: pd.DataFrame,
    groups: Mapping[str, pd.Series],
    min_group_size: int,
    published: Sequence[pd.Series] = (),
) -> pd.DataFrame:
    """One row per slicing and group of the rated people (withheld groups: no figures).

    ``people``: rating, direction, improving, goals, goals_at_success (the pack's people
    frame); ``groups``: :func:`slicings` over the same index; ``published``: boolean
    masks over the rated people of sets the pack shows elsewhere.
    """
    rated = people[people["rating"].notna()]
    labels = {name: g.loc[rated.index] for name, g in groups.items()}
    hidden = withheld_groups(labels, min_group_size, [m.loc[rated.index] for m in published])
    out = []
    for name, group_of in labels.items():
        frame = rated.assign(group=group_of)
        frame = frame.join(reference_gaps(frame, by="group"))
        sizes = group_of.value_counts()
        order = sorted(sizes.index, key=lambda g: (str(g) in hidden[name], -sizes[g], str(g)))
        for g in order:
            out.append(_row(name, str(g), frame[frame["group"] == g], str(g) in hidden[name]))
    return pd.DataFrame(out, columns=list(FAIRNESS_COLUMNS))


def _row(slicing: str, group: str, rated: pd.DataFrame, withheld: bool) -> dict[str, object]:
    row: dict[str, object] = dict.fromkeys(FAIRNESS_COLUMNS, np.nan)
    row.update({"slicing": slicing, "group": group, "shown": not withheld})
    if withheld:
        row.update({"rated": np.nan, "ratings": "", "gaps": np.nan})
        row["indication"] = "withheld"
        row["basis"] = (
            "withheld: fewer rated people than the minimum group size, or withheld so "
            "that a smaller group cannot be worked out from the totals"
        )
        return row
    counts = rated["rating"].round(2).value_counts().sort_index()
    row["rated"] = len(rated)
    row["ratings"] = ", ".join(f"{k:g}: {int(v)}" for k, v in counts.items())
    row["mean_rating"] = float(rated["rating"].mean())
    row.update(evidence_shares(rated))
    mean = mean_gap(rated)
    row.update(mean)
    row["gaps"] = int(rated["gap"].notna().sum())
    gap, low, high = mean["gap"], mean["gap_low"], mean["gap_high"]
    if low > 0:  # NaN compares False: no interval, no prompt
        row["indication"] = HIGHER
    elif high < 0:
        row["indication"] = LOWER
    else:
        row["indication"] = "in line with the evidence (within the uncertainty)"
    row["basis"] = (
        f"mean of each rating minus the mean rating of people in the other {slicing} "
        f"groups with the same evidence direction: {gap:+.2f} over {row['gaps']} rated "
        f"people, 95 % interval {low:+.2f} to {high:+.2f}"
    )
    return row


def fairness_prompts(table: pd.DataFrame, department: str = "") -> pd.DataFrame:
    """A prompt for each shown group whose gap's interval excludes 0 (the pack's prompt
    columns; scope ``group``, id ``slicing=group``)."""
    out = []
    for _, r in table[table["shown"] & table["indication"].isin([LOWER, HIGHER])].iterrows():
        way = "lower" if r["indication"] == LOWER else "higher"
        out.append(
            {
                "scope": "group",
                "id": f"{r['slicing']}={r['group']}",
                "name": f"{r['slicing']}: {r['group']}",
                "department": department,
                "prompt": f"group_ratings_run_{way}",
                "question": (
                    f"Ratings of the {r['group']} group ({r['slicing']}) run {way} than "
                    "people in other groups with the same evidence received. Is something "
                    "other than the evidence shaping them?"
                ),
                "rests_on": f"{int(r['rated'])} rated people; {r['basis']}",
            }
        )
    return pd.DataFrame(out, columns=list(PROMPT_COLUMNS))


def fairness_view(
    people: pd.DataFrame, settings: Settings, min_group_size: int, department: str = ""
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The pack's fairness view of ``people`` (the people the pack shows) and its prompts:
    sliced by role, tenure band (the settings' edges) and the settings' ``[fairness]
    columns``; the pack's totals (everyone rated, each department) count as published."""
    fair = fairness_settings(settings)
    columns = [c for c in fair.columns if c in people.columns]
    groups = slicings(people, columns, fair.tenure_bands)
    published = [people["department"] == d for d in sorted(set(people["department"]))]
    table = fairness_table(people, groups, min_group_size, published)
    return table, fairness_prompts(table, department)

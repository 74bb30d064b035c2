"""The journal sections: the review routine (what moved, why, expected impact, support
needed, open actions, from the latest check-in), the coaching questions and a team's
open actions; the journal read behind them (once per batch). Names in journal text are
masked by the ``mask`` the view passes (the employee view hides other people's).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from kpinb.report import masking, twin
from kpinb.report import sentences as st
from kpinb.report.render import ItemList, Section
from kpinb.report.sections.part import Part
from kpinb.report.stories import goal_asks_more, held_level, story_of

if TYPE_CHECKING:
    from kpinb.periods import Period
    from kpinb.workspace import Workspace


def _moved_state(block: dict[str, Any]) -> str:
    """What moved, in the words of the KPI's one story (twin ``story``)."""
    told = story_of(block["story"])
    if told is not None and told.name == "routine" and goal_asks_more(block):
        return "routine_goal"
    return told.moved if told else block["story"]


def routine(
    ws: Workspace,
    eid: str,
    refs: list[st.Ref],
    per: Period,
    root: Path | None,
    mask: Callable[[str], str],
) -> Part:
    """What moved, why, expected impact, support needed, and open actions."""
    entries, actions = journal_frames(ws, root, [eid], per, _everyone(ws))
    checkin = None
    if len(entries):
        row = entries.iloc[0]
        checkin = {
            "date": twin.iso(row["date"]),
            "author": mask(str(row["author"])),
            "diagnosis": str(row["diagnosis"] or "none"),
            **{k: mask(str(row[k] or "")) for k in NOTE_FIELDS},
        }
    moved = [
        {"kpi_id": r.data["kpi_id"], "name": r.data["name"], "state": _moved_state(r.data)}
        for r in refs
        if r.data["level"] is not None
    ]
    found: dict[str, Any] = {
        "checkin": checkin,
        "moved": moved,
        "open_actions": [action(a, mask) for _, a in actions.iterrows()],
    }
    ref = st.Ref("routine", found)
    items = [
        st.say("routine_moved", kpi=ref.txt(f"moved.{i}.name"), state=m["state"])
        for i, m in enumerate(moved)
    ]
    lists = [ItemList("What moved?", tuple(items + _note(ref, checkin, "what_moved")))]
    if not moved and not checkin:  # no value and no check-in: no questions about moves
        lists = []
    for field_name, question in (
        ("why_moved", "Why did it move?"),
        ("expected_impact", "Expected impact next period?"),
        ("support_needed", "Support needed?"),
    ):
        if lists:
            lists.append(
                ItemList(
                    question,
                    tuple(_note(ref, checkin, field_name) or [st.say("routine_no_note")]),
                )
            )
    acts = tuple(
        action_sentence(st.Ref("routine.open_actions", found["open_actions"]), i)
        for i in range(len(found["open_actions"]))
    )
    lists.append(ItemList("Open actions", acts, "No open actions."))
    return Part(Section("routine", "Review routine", lists=tuple(lists)), {"routine": found})


def team_actions(
    ws: Workspace, root: Path | None, ids: list[str], per: Period, names: dict[str, str]
) -> Part:
    """Open actions of the team's members (``names``: each member's, by id)."""
    _, actions = journal_frames(ws, root, ids, per, _everyone(ws))
    found = [
        {**action(a, masking.identity), "name": names.get(str(a["employee_id"]), "")}
        for _, a in actions.iterrows()
    ]
    ref = st.Ref("open_actions", found)
    items = tuple(action_sentence(ref, i, named=True) for i in range(len(found)))
    section = Section("actions", "Open actions", lists=(ItemList("", items, "No open actions."),))
    return Part(section, {"open_actions": found})


def action_sentence(ref: st.Ref, i: int, *, named: bool = False) -> st.Sentence:
    """Open action ``i`` of the list ``ref``: text, owner and due date (if one is set)."""
    args = {"action": ref.txt(f"{i}.text"), "owner": ref.txt(f"{i}.owner")}
    if named:
        args["name"] = ref.txt(f"{i}.name")
    dated, undated = ACTION_PHRASES[named]
    if ref.get(f"{i}.due") is None:
        return st.say(undated, **args)
    return st.say(dated, due=ref.day(f"{i}.due"), **args)


# the phrases of an open action (dated, undated), without and with the member's name
ACTION_PHRASES = {
    False: ("action_open", "action_open_undated"),
    True: ("action_open_member", "action_open_member_undated"),
}


NOTE_FIELDS = ("what_moved", "why_moved", "expected_impact", "support_needed")


def _note(ref: st.Ref, checkin: dict[str, Any] | None, field_name: str) -> list[st.Sentence]:
    if not checkin or not checkin[field_name]:
        return []
    return [
        st.say("routine_note", when=ref.day("checkin.date"), note=ref.txt(f"checkin.{field_name}"))
    ]


def action(row: pd.Series, mask: Callable[[str], str]) -> dict[str, Any]:
    """An open action as the twin keeps it (names masked in the employee view)."""
    return {
        "employee_id": str(row["employee_id"]),
        "text": mask(str(row["text"])),
        "owner": mask(str(row["owner"] or "")) or "not set",
        "due": twin.iso(row["due"]),
        "status": str(row["status"]),
    }


def journal_frames(
    ws: Workspace, root: Path | None, ids: list[str], per: Period, everyone: tuple[str, ...]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Latest check-ins and open actions of ``ids``; empty without a journal (or module).

    The journal is read once for ``everyone`` and kept in ``ws.derived`` while its files
    are unchanged (size and modification time of the database and its write-ahead
    log), so a batch of reports does not query it once per person.
    """
    try:
        from kpinb import journal
    except ImportError:
        root = None
    if root is None or not journal.journal_path(root).exists():
        return _no_entries(), _no_actions()
    path = journal.journal_path(root)
    stamp = (_stamp(path), _stamp(path.with_name(path.name + "-wal")))
    key = ("journal", str(path), per.label, everyone)
    held = ws.derived.get(key)
    if held is None or held[0] != stamp:
        ws.derived[key] = held = (
            stamp,
            (
                journal.latest_entries(root, everyone, as_of=per.end),
                journal.open_actions(root, everyone, as_of=per.end),
            ),
        )
    entries, actions = held[1]
    return (
        entries[entries["employee_id"].isin(ids)].reset_index(drop=True),
        actions[actions["employee_id"].isin(ids)].reset_index(drop=True),
    )


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return (info.st_mtime_ns, info.st_size)


def _no_entries() -> pd.DataFrame:
    return pd.DataFrame(columns=["employee_id", "date", "author", "diagnosis", *NOTE_FIELDS])


def _no_actions() -> pd.DataFrame:
    return pd.DataFrame(columns=["employee_id", "text", "owner", "due", "status"])


def questions(
    refs: list[st.Ref], checkin: dict[str, Any] | None, period: st.Figure | None = None
) -> Part:
    """Coaching questions for stalled KPIs, or growth questions when none is; the
    latest check-in's diagnosis (``checkin``, as the routine keeps it) comes first.
    Without a KPI value in ``period``: one sentence saying so, no questions."""
    diagnosis = checkin["diagnosis"] if checkin else "none"
    focus = [(r, why) for r in refs if (why := stall(r.data)) is not None][:2]
    found = [
        {"kpi_id": r.data["kpi_id"], "reason": why, "kinds": list(_kinds(why, diagnosis))}
        for r, why in focus
    ]
    sentences: list[st.Sentence] = []
    for r, why in focus:
        kpi = r.txt("name")
        sentences.append(st.say("questions_intro", kpi=kpi, why=why))
        sentences += [st.say(QUESTION_PHRASES[kind], kpi=kpi) for kind in _kinds(why, diagnosis)]
    if not focus and period is not None and not any(r.data["level"] is not None for r in refs):
        sentences = [st.say("questions_no_data", period=period)]
    elif not focus:
        sentences = [st.say("question_growth", n=n) for n in (1, 2, 3)]
    section = Section(
        "questions",
        "Coaching questions",
        tuple(sentences),
        lead=1 if focus else None,
        more="The questions",
    )
    return Part(section, {"questions": found})


def stall(block: dict[str, Any]) -> str | None:
    """Why a KPI deserves coaching questions: a shift, a plateau against its goal, a lean.
    None without a value in the period: no action is implied."""
    told = story_of(block["story"])
    if told is None or told.stall is None:
        return None
    if told.stall != "plateau":
        return told.stall
    goal = block["goal"]
    if (
        goal
        and block["trend"]["direction"] == "steady"
        and not goal["success"]
        and not goal["projected_success"]
    ):
        # "held level" only when the quarter's change is within routine variation
        return "plateau" if held_level(block) else "goal"
    return None


# the coaching question of each kind (a check-in's diagnosis names one)
QUESTION_PHRASES = {
    "execution": "question_execution",
    "capability": "question_capability",
    "dependency": "question_dependency",
}


def _kinds(why: str, diagnosis: str) -> tuple[str, ...]:
    """Question kinds in the order the data suggests, the check-in's diagnosis first."""
    order: tuple[str, ...] = {
        "shift": ("dependency", "execution", "capability"),
        "plateau": ("capability", "execution", "dependency"),
        "goal": ("capability", "execution", "dependency"),
        "lean": ("execution", "capability", "dependency"),
    }[why]
    if diagnosis in order:
        order = (diagnosis, *[k for k in order if k != diagnosis])
    return order


def _everyone(ws: Workspace) -> tuple[str, ...]:
    return tuple(ws.people["employee_id"].astype(str))

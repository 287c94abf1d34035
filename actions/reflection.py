"""Reflection on the working relationship: started by the `start_reflection` intent (a nudge's
"Nu reflecteren" triggers it; typing "ik wil reflecteren" too), run in the guided flows' form
(flow_form, see actions/flows.py), and the chart of a case's reflections (/verloop).

The chart itself is drawn by the bot when it sends the message: the action only names it
(an image reference "chart:<case id>", coach.reflection.chart_ref), so no picture passes
through Rasa's tracker.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.buttons import MENU_BUTTON, button
from coach import reflection_text
from coach.reflection import State, chart_ref
from coach.reflection_session import ReflectionSession
from storage.cases import CaseRepository
from storage.reflections import ReflectionRepository

FLOW_STATE = "flow_state"  # the slot of flow_form (actions/flows.py)
MAX_CHART_BUTTONS = 8


def reflection_session(owner: str) -> ReflectionSession:
    return ReflectionSession(CaseRepository(owner=owner), ReflectionRepository(owner=owner))


def _case_id(tracker: Tracker) -> int | None:
    raw = next(tracker.get_latest_entity_values("case_id"), None)
    return int(raw) if raw and str(raw).isdigit() else None


def reflect_button(case_id: int | None = None, title: str = "Nu reflecteren") -> dict[str, Any]:
    if case_id is None:
        return button(title, "start_reflection")
    return button(title, "start_reflection", case_id=str(case_id))


class ActionStartReflection(Action):
    """Start a reflection: on the case named by the button, the only open case, or ask which."""

    def name(self) -> str:
        return "action_start_reflection"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        turn = reflection_session(tracker.sender_id).begin(_case_id(tracker))
        for note in turn.notes:
            dispatcher.utter_message(text=note)
        return [SlotSet(FLOW_STATE, turn.state), SlotSet("flow_input", None)]


def reflection_done(dispatcher: CollectingDispatcher, state: State) -> None:
    """After the last case: its outcome, the chart of each case reflected on, a next step."""
    charts = [
        button(title, "show_chart", case_id=str(case_id))
        for title, case_id in reflection_text.finished_buttons(state)
    ]
    dispatcher.utter_message(
        text=state.get("summary") or "Klaar.",
        buttons=[*charts, button("Mijn cliënten", "list_cases"), MENU_BUTTON],
    )


class ActionShowChart(Action):
    """The chart of one case's reflections; without a case, ask which (buttons)."""

    def name(self) -> str:
        return "action_show_chart"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        repository = ReflectionRepository(owner=tracker.sender_id)
        cases = repository.cases()
        wanted = _case_id(tracker)
        chosen = next((c for c in cases if c[0] == wanted), None)
        if chosen is None and wanted is None and len(cases) == 1:
            chosen = cases[0]
        if chosen is not None:
            case_id, label, count = chosen
            dispatcher.utter_message(image=chart_ref(case_id))
            dispatcher.utter_message(
                text=reflection_text.chart_caption(label, count),
                buttons=[reflect_button(case_id, "Nu reflecteren"), MENU_BUTTON],
            )
        elif cases:
            shown = cases[:MAX_CHART_BUTTONS]
            buttons = [button(label, "show_chart", case_id=str(cid)) for cid, label, _ in shown]
            dispatcher.utter_message(text=reflection_text.PICK_CHART, buttons=[*buttons, MENU_BUTTON])
        else:
            label = repository.label(wanted) if wanted is not None else None
            dispatcher.utter_message(
                text=reflection_text.no_reflections(label),
                buttons=[reflect_button(wanted), MENU_BUTTON],
            )
        return []

"""Session start, stop and fallback: the conversation's safety rails."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import (
    ActionExecuted,
    ActiveLoop,
    AllSlotsReset,
    EventType,
    SessionStarted,
    UserUtteranceReverted,
)
from rasa_sdk.executor import CollectingDispatcher

from coach import flows, reflection, reflection_text
from coach.flow_session import RENAME


class ActionSessionStart(Action):
    """Start each conversation with the short note that the assistant coaches, not decides."""

    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_coach_note")
        return [SessionStarted(), ActionExecuted("action_listen")]


class ActionStop(Action):
    """Stop whatever is going on, forget its half-gathered answers, and offer the menu."""

    def name(self) -> str:
        return "action_stop"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_stopped")
        state = tracker.get_slot("flow_state") or {}
        if state.get("case_label") and state.get("flow") != RENAME:
            dispatcher.utter_message(
                text=f"Je antwoorden tot nu toe zijn bewaard bij {state['case_label']}. "
                "Later ga je verder via 'Mijn cliënten'."
            )
        elif reflection.is_reflection(state):
            dispatcher.utter_message(text=reflection_text.stopped(state))
        elif state.get("step", 0) > 0 and state.get("flow") in flows.flows():
            title = flows.flows()[state["flow"]].title
            dispatcher.utter_message(
                text=f"Ik onthoud waar je was. Kies later weer '{title}', dan ga je daar verder."
            )
        dispatcher.utter_message(response="utter_menu")
        return [ActiveLoop(None), AllSlotsReset()]


class ActionDefaultFallback(Action):
    """Low confidence or an unforeseen turn: a friendly Dutch answer and the menu.

    The turn is reverted so it doesn't steer what comes next.
    """

    def name(self) -> str:
        return "action_default_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_ask_rephrase")
        dispatcher.utter_message(response="utter_menu")
        return [UserUtteranceReverted()]

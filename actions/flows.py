"""Guided flows as one Rasa form: adapters over coach.flow_session."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.berichtcoach import draft_replies
from actions.buttons import MENU_BUTTON, button, choice_buttons, flow_button
from actions.questions import QUESTION_INTENTS, answer_question, topic_buttons
from actions.reflection import reflection_done, reflection_session
from coach import flows, message_draft, reflection
from coach.flow_session import RENAME, FlowSession
from coach.questions import looks_like_question
from coach.reflection_session import ReflectionSession
from storage.cases import CaseRepository
from storage.progress import ProgressRepository

STATE = "flow_state"
QUESTION_CONFIDENCE = 0.6
# Intents that leave or pause a flow (rules in stories/rules_flows.yml take over). A tapped
# button always counts; typed text only when the NLU is sure, and surer still while the
# flow waits for typed text (an answer such as "gezin B" must not start another flow).
COMMAND_INTENTS = {
    "stop", "start_flow", "rename_case", "open_case", "close_case", "reopen_case", "list_cases",
    "list_topics", "ask_capabilities", "ask_help", "ask_strategy", "greet", "goodbye",
    "start_reflection", "show_chart",
}  # fmt: skip
COMMAND_CONFIDENCE = 0.7
COMMAND_CONFIDENCE_WHILE_TYPING = 0.97


def session(tracker: Tracker, state: dict[str, Any] | None = None) -> FlowSession | ReflectionSession:
    """The session for the running flow (a reflection runs in this form too)."""
    owner = tracker.sender_id
    if reflection.is_reflection(state):
        return reflection_session(owner)
    return FlowSession(CaseRepository(owner=owner), ProgressRepository(owner=owner))


def _case_id(tracker: Tracker) -> int | None:
    raw = next(tracker.get_latest_entity_values("case_id"), None)
    return int(raw) if raw and str(raw).isdigit() else None


class ActionStartFlow(Action):
    """Start a flow from a button or a request; renaming a case is a tiny flow too."""

    def name(self) -> str:
        return "action_start_flow"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        intent = tracker.get_intent_of_latest_message()
        wanted = {"rename_case": RENAME, "draft_message": message_draft.flow_id()}.get(intent or "")
        flow_id = wanted or next(tracker.get_latest_entity_values("flow"), None)
        turn = session(tracker).begin(flow_id, _case_id(tracker))
        for note in turn.notes:
            dispatcher.utter_message(text=note)
        return [SlotSet(STATE, turn.state), SlotSet("flow_input", None)]


class ActionAskFlowInput(Action):
    """Ask for the current step of the running flow."""

    def name(self) -> str:
        return "action_ask_flow_input"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        state = tracker.get_slot(STATE) or {"pick": "flow"}
        text, options = session(tracker, state).prompt(state)
        dispatcher.utter_message(text=text, buttons=choice_buttons(options))
        return []


def _waits_for_text(state: dict[str, Any]) -> bool:
    if reflection.is_reflection(state):
        return reflection.waits_for_text(state)
    if state.get("pick") == "case":
        return True
    if not state.get("flow"):
        return False
    step = flows.current(state)
    return step is not None and step.kind == "question"


class ValidateFlowForm(FormValidationAction):
    """Feed each answer to the flow; the form ends when the flow is finished."""

    def name(self) -> str:
        return "validate_flow_form"

    async def extract_flow_input(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Take the latest message as the flow's input, unless it is a command."""
        if tracker.get_slot("requested_slot") != "flow_input":
            return {}
        latest = tracker.latest_message
        text = latest.get("text") or ""
        intent = (latest.get("intent") or {}).get("name")
        if intent in COMMAND_INTENTS:
            if intent == "stop" or text.startswith("/"):
                return {}
            state = tracker.get_slot(STATE) or {}
            needed = COMMAND_CONFIDENCE_WHILE_TYPING if _waits_for_text(state) else COMMAND_CONFIDENCE
            if ((latest.get("intent") or {}).get("confidence") or 0.0) >= needed:
                return {}
        return {"flow_input": text}

    async def validate_flow_input(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:  # the form was just activated: nothing typed yet
            return {"flow_input": None}
        state = tracker.get_slot(STATE) or {"pick": "flow"}
        latest = tracker.latest_message
        intent = (latest.get("intent") or {}).get("name")
        choice = next(tracker.get_latest_entity_values("choice"), None) if intent == "choose" else None
        text = None if choice is not None else str(value or "")

        if text is not None and text.startswith("/"):  # a button from an older message
            dispatcher.utter_message(
                text="Die knop hoort bij iets anders. Maak dit eerst af, of tik op 'Stoppen'."
            )
            return {"flow_input": None}
        confidence = (latest.get("intent") or {}).get("confidence") or 0.0
        if (
            text is not None
            and intent in QUESTION_INTENTS
            and confidence >= QUESTION_CONFIDENCE
            and looks_like_question(text)
            and answer_question(dispatcher, tracker, with_buttons=False)
        ):
            dispatcher.utter_message(text="We gaan verder waar we waren.")
            return {"flow_input": None}

        turn = session(tracker, state).advance(state, choice, text)
        for note in turn.notes:
            dispatcher.utter_message(text=note)
        return {"flow_input": "done" if turn.done else None, STATE: turn.state}


class ActionFlowDone(Action):
    """Close a finished flow: the summary and what to do next."""

    def name(self) -> str:
        return "action_flow_done"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        state = tracker.get_slot(STATE)
        if reflection.is_reflection(state):
            reflection_done(dispatcher, state)
        elif state and state.get("flow") == message_draft.flow_id():  # the message coach's finish
            draft_replies(dispatcher, state)
        elif state and state.get("flow"):
            text, next_flows = session(tracker).finish(state)
            case_id = state.get("case_id")
            buttons = [flow_button(f, case_id if f != "strategie" else None) for f in next_flows]
            if case_id is not None:
                buttons.append(
                    button(f"Overzicht {state.get('case_label')}", "open_case", case_id=str(case_id))
                )
            dispatcher.utter_message(text=text, buttons=[*buttons, MENU_BUTTON])
        return [SlotSet(STATE, None), SlotSet("flow_input", None)]


class ActionListTopics(Action):
    def name(self) -> str:
        return "action_list_topics"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(
            text="Alle onderwerpen. Waar wil je mee aan de slag?", buttons=topic_buttons()
        )
        return []

"""The contact message coach: thin adapters over coach.message_check and coach.message_draft.

Drafting is the guided flow "bericht" (flow_form); `draft_replies` is its finish step, called
by action_flow_done. Checking runs in draft_check_form, whose one slot takes the draft.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.buttons import MENU_BUTTON, button
from coach import message_check, message_draft

SLOT = "draft_text"
CHECK_BUTTON = button("Mijn versie checken", "check_message")
DRAFT_BUTTON = button("Bericht opstellen", "draft_message")


def draft_replies(dispatcher: CollectingDispatcher, state: dict[str, Any]) -> None:
    """The finish of the drafting flow: three drafts, notes and timing advice."""
    messages = message_draft.render(state.get("answers") or {}, now=datetime.now(UTC))
    for text in messages[:-1]:
        dispatcher.utter_message(text=text)
    dispatcher.utter_message(text=messages[-1], buttons=[CHECK_BUTTON, DRAFT_BUTTON, MENU_BUTTON])


class ValidateDraftCheckForm(FormValidationAction):
    """Take the draft from the request itself or from the next message."""

    def name(self) -> str:
        return "validate_draft_check_form"

    async def extract_draft_text(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        latest = tracker.latest_message
        text = (latest.get("text") or "").strip()
        intent = (latest.get("intent") or {}).get("name")
        if not text or text.startswith("/") or intent == "stop":
            return {}
        if tracker.get_slot("requested_slot") == SLOT:  # asked for it: the whole message
            return {SLOT: message_check.extract_draft(text) or text}
        requested = intent == "check_message" or any(
            e.get("entity") == "check_request" for e in latest.get("entities") or []
        )
        if requested:  # just activated: a draft in the same message?
            inline = message_check.extract_draft(text)
            return {SLOT: inline} if inline else {}
        return {}

    async def validate_draft_text(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if not value or not str(value).strip():
            return {SLOT: None}
        return {SLOT: str(value).strip()}


class ActionCheckMessage(Action):
    """The feedback on a draft, and the draft forgotten."""

    def name(self) -> str:
        return "action_check_message"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        draft = tracker.get_slot(SLOT) or ""
        if not draft.strip():
            dispatcher.utter_message(text=message_check.texts()["empty"], buttons=[CHECK_BUTTON, MENU_BUTTON])
            return [SlotSet(SLOT, None)]
        messages = message_check.render(message_check.check(draft))
        for text in messages[:-1]:
            dispatcher.utter_message(text=text)
        buttons = [button("Nog een bericht checken", "check_message"), DRAFT_BUTTON, MENU_BUTTON]
        dispatcher.utter_message(text=messages[-1], buttons=buttons)
        return [SlotSet(SLOT, None)]

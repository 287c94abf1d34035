"""Free questions: answered from the content, with the source and a button to the flow."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.buttons import MENU_BUTTON, button, flow_button
from coach import answers, content, strategy_text

QUESTION_INTENTS = ("faq", "ask_strategy_info", "chitchat")
# Below this the ResponseSelector is guessing (gibberish scores about 0.1, real questions 0.9+).
FAQ_CONFIDENCE = 0.3


def faq_key(tracker: Tracker) -> str | None:
    """The faq key the ResponseSelector chose for the latest message, e.g. "zes_stappen"."""
    selected = (tracker.latest_message.get("response_selector") or {}).get("faq") or {}
    response = selected.get("response") or {}
    key = response.get("intent_response_key") or ""
    if not key.startswith("faq/") or (response.get("confidence") or 0.0) < FAQ_CONFIDENCE:
        return None
    return key.split("/", 1)[1]


def answer_question(dispatcher: CollectingDispatcher, tracker: Tracker, with_buttons: bool = True) -> bool:
    """Answer the latest message as a question; False when there is nothing to answer."""
    intent = tracker.get_intent_of_latest_message()
    if intent == "faq":
        found = answers.answer(faq_key(tracker) or "")
        if found is None:
            return False
        buttons = [flow_button(found.flow), MENU_BUTTON] if with_buttons else []
        dispatcher.utter_message(text=found.text, buttons=buttons)
        return True
    if intent == "ask_strategy_info":
        key = next(tracker.get_latest_entity_values("strategy"), None)
        if key not in content.strategies():
            return False
        dispatcher.utter_message(text=strategy_text.explain(key))
        return True
    if intent == "chitchat":
        selected = (tracker.latest_message.get("response_selector") or {}).get("chitchat") or {}
        response = (selected.get("response") or {}).get("utter_action")
        if not response:
            return False
        dispatcher.utter_message(response=response)
        return True
    return False


class ActionAnswerQuestion(Action):
    def name(self) -> str:
        return "action_answer_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if not answer_question(dispatcher, tracker):
            dispatcher.utter_message(response="utter_ask_rephrase")
            dispatcher.utter_message(response="utter_menu")
        return []


def topic_buttons() -> list[dict[str, Any]]:
    """Every area the assistant covers, one button each."""
    from coach import flows

    return [
        flow_button("strategie"),
        button("De vijf strategieën", "ask_strategy_info"),
        *(flow_button(f.id) for f in flows.public_flows()),
    ]

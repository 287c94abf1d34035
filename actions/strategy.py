"""Strategy choice and explanation: adapters over coach.strategy and coach.strategy_text."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.buttons import MENU_BUTTON, button
from coach import content, strategy, strategy_text
from coach.situation import extract_facts

FACTS_SLOT = "situation_facts"


def _answer(tracker: Tracker) -> dict[str, bool]:
    """What the latest message says: a tapped situation button, or facts in free text."""
    tapped = next(tracker.get_latest_entity_values("situation"), None)
    if tapped:
        return {tapped: True}
    return extract_facts(tracker.latest_message.get("text") or "")


class ActionChooseStrategy(Action):
    """Recommend a contact strategy, asking the fewest questions needed (one tap)."""

    def name(self) -> str:
        return "action_choose_strategy"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        starting_over = tracker.get_intent_of_latest_message() == "ask_strategy"
        known = {} if starting_over else (tracker.get_slot(FACTS_SLOT) or {})
        known = strategy.update(known, _answer(tracker))
        decision = strategy.decide(known)
        text = strategy_text.describe(decision)

        if isinstance(decision, strategy.Question):
            buttons = [button(f.option, "describe_situation", situation=f.key) for f in decision.options]
            buttons.append(
                button(strategy_text.NONE_OPTION, "describe_situation", situation=strategy.NONE_OF_THESE)
            )
            dispatcher.utter_message(text=text, buttons=buttons)
            return [SlotSet(FACTS_SLOT, known)]

        buttons = [button("Andere strategie bekijken", "ask_strategy_info"), MENU_BUTTON]
        dispatcher.utter_message(text=text, buttons=buttons)
        chosen = decision.strategy if isinstance(decision, strategy.Recommendation) else None
        return [SlotSet(FACTS_SLOT, None), SlotSet("strategy", chosen)]


class ActionExplainStrategy(Action):
    """Explain one strategy in full, or ask which one with a button per strategy."""

    def name(self) -> str:
        return "action_explain_strategy"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        asked = next(tracker.get_latest_entity_values("strategy"), None)
        strategies = content.strategies()
        if asked in strategies:
            dispatcher.utter_message(
                text=strategy_text.explain(asked),
                buttons=[button("Strategie kiezen voor mijn cliënt", "ask_strategy"), MENU_BUTTON],
            )
            return [SlotSet("strategy", asked)]
        dispatcher.utter_message(
            text="Er zijn vijf strategieën om contact te krijgen. Over welke wil je meer weten?",
            buttons=[button(s.name, "ask_strategy_info", strategy=key) for key, s in strategies.items()],
        )
        return []

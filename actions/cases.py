"""A worker's cases: list, open, close and reopen (renaming runs as a tiny flow)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.buttons import MENU_BUTTON, button, flow_button
from coach import case_text
from storage.cases import Case, CaseRepository

NOT_FOUND = "Die cliënt kan ik niet (meer) vinden. Hier zijn je cliënten:"


def repository(tracker: Tracker) -> CaseRepository:
    return CaseRepository(owner=tracker.sender_id)


def _case(tracker: Tracker) -> Case | None:
    raw = next(tracker.get_latest_entity_values("case_id"), None)
    return repository(tracker).get(int(raw)) if raw and str(raw).isdigit() else None


def _list(dispatcher: CollectingDispatcher, tracker: Tracker, intro: str | None = None) -> None:
    cases = repository(tracker).list()
    if not cases:
        dispatcher.utter_message(
            text=(intro + "\n\n" if intro else "")
            + "Je hebt nog geen cliënten opgeslagen. Begin bijvoorbeeld met signalen verzamelen; "
            "dan kies je een label zoals 'cliënt A'.",
            buttons=[flow_button("verzamelen"), MENU_BUTTON],
        )
        return
    dispatcher.utter_message(
        text=intro or "Je cliënten. Tik er een aan voor het overzicht.",
        buttons=[*(button(c.label, "open_case", case_id=str(c.id)) for c in cases), MENU_BUTTON],
    )


class ActionListCases(Action):
    def name(self) -> str:
        return "action_list_cases"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        _list(dispatcher, tracker)
        return []


class ActionOpenCase(Action):
    def name(self) -> str:
        return "action_open_case"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        case = _case(tracker)
        if case is None:
            _list(dispatcher, tracker, NOT_FOUND)
            return []
        cid = str(case.id)
        if case.is_open:
            buttons = [flow_button(f.id, case.id) for f in case_text.case_flows()]
            buttons += [
                button("Label wijzigen", "rename_case", case_id=cid),
                button("Afsluiten", "close_case", case_id=cid),
            ]
        else:
            buttons = [button("Heropenen", "reopen_case", case_id=cid)]
        dispatcher.utter_message(
            text=case_text.overview(case.label, case.status, case.flows), buttons=[*buttons, MENU_BUTTON]
        )
        return []


class _SetCaseStatus(Action, ABC):
    """Close or reopen the case named by the button; the answers stay either way.

    Abstract, so rasa_sdk doesn't register it as an action of its own.
    """

    status = ""

    @abstractmethod
    def confirm(self, case: Case) -> tuple[str, list[dict[str, Any]]]:
        """The confirmation text and buttons."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        case = _case(tracker)
        if case is None:
            _list(dispatcher, tracker, NOT_FOUND)
            return []
        repository(tracker).set_status(case.id, self.status)
        text, buttons = self.confirm(case)
        dispatcher.utter_message(text=text, buttons=buttons)
        return []


class ActionCloseCase(_SetCaseStatus):
    status = "closed"

    def name(self) -> str:
        return "action_close_case"

    def confirm(self, case: Case) -> tuple[str, list[dict[str, Any]]]:
        text = f"{case.label} is afgesloten. Je antwoorden blijven bewaard; je kunt de cliënt heropenen."
        return text, [
            button("Heropenen", "reopen_case", case_id=str(case.id)),
            button("Mijn cliënten", "list_cases"),
        ]


class ActionReopenCase(_SetCaseStatus):
    status = "open"

    def name(self) -> str:
        return "action_reopen_case"

    def confirm(self, case: Case) -> tuple[str, list[dict[str, Any]]]:
        return f"{case.label} is weer open.", [button("Overzicht", "open_case", case_id=str(case.id))]

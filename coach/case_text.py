"""Dutch texts for a worker's cases: the list and one case's overview."""

from __future__ import annotations

from typing import Any

from coach import flow_text, flows


def case_flows() -> list[flows.Flow]:
    return [f for f in flows.public_flows() if f.case]


def status_line(flow: flows.Flow, stored: dict[str, Any] | None) -> str:
    if not stored:
        return f"{flow.title}: nog niet gedaan"
    if stored.get("done"):
        return f"{flow.title}: klaar"
    done, total = flows.progress({"flow": flow.id, **stored})
    return f"{flow.title}: bezig ({done} van {total})"


def overview(label: str, status: str, stored_flows: dict[str, Any]) -> str:
    """A case at a glance: each flow's status, then what was filled in."""
    lines = [f"{label}{' (afgesloten)' if status == 'closed' else ''}"]
    lines += [f"• {status_line(flow, stored_flows.get(flow.id))}" for flow in case_flows()]
    parts = ["\n".join(lines)]
    for flow in case_flows():
        stored = stored_flows.get(flow.id)
        if stored and stored.get("answers"):
            state = {"flow": flow.id, **stored}
            parts.append(flow_text.answers_text(state))
    return "\n\n".join(parts)

"""Every Dutch text the bot layer says itself (Rasa's answers live in domain/ and coach/).

One place, so wording stays consistent and issue 5 can extend the privacy statement here.
"""

from __future__ import annotations

# --- access -----------------------------------------------------------------------------

NOT_INVITED = (
    "Hoi! Deuropener is een coach voor professionals die werken met zorgmijdende en "
    "onvrijwillige cliënten, en werkt alleen op uitnodiging. Heb je een uitnodigingscode "
    "gekregen van je teamleider of begeleider? Stuur dan /start gevolgd door je code, "
    "bijvoorbeeld: /start AbC123xYz. Heb je nog geen code, vraag er dan een aan je teamleider."
)
CODE_NOT_VALID = (
    "Deze uitnodigingscode werkt niet: hij is onbekend, al gebruikt of verlopen. "
    "Vraag je teamleider of begeleider om een nieuwe code."
)
ROLE_NAMES = {"worker": "professional", "supervisor": "begeleider"}


def welcome(role: str, team: str) -> str:
    return (
        f"Welkom bij Deuropener! Je bent aangemeld als {ROLE_NAMES.get(role, role)} in team {team}. "
        "Lees met /privacy wat ik bewaar en hoe je het kunt inzien of wissen."
    )


ALREADY_REGISTERED = "Je bent al aangemeld; die code heb je niet meer nodig."

# --- messages the assistant can't use ---------------------------------------------------

ONLY_TEXT = (
    "Ik kan alleen getypte tekst lezen. Foto's, spraakberichten, stickers en bestanden "
    "begrijp ik niet. Typ je vraag gerust in een paar woorden."
)
EDITED = (
    "Ik kan alleen getypte tekst lezen, en aangepaste berichten zie ik niet. "
    "Stuur je aanpassing gerust als nieuw bericht."
)
STALE_BUTTON = "Deze knop werkt niet meer. Kies hieronder opnieuw uit het menu."
BUTTONS_ONLY = "Kies een optie:"
SOMETHING_WENT_WRONG = (
    "Sorry, er ging bij mij iets mis. Probeer het zo nog eens, of typ /menu om opnieuw te beginnen."
)
EMPTY_RASA_ANSWER = "Daar heb ik even geen antwoord op. Kies iets uit het menu of stel je vraag anders."


def unknown_command(commands: dict[str, str]) -> str:
    listed = "\n".join(f"/{name} – {description}" for name, description in commands.items())
    return (
        f"Die opdracht ken ik niet. Deze kun je gebruiken:\n{listed}\n\n"
        "Of typ gewoon je vraag in je eigen woorden."
    )


# --- Rasa away ----------------------------------------------------------------------------

UNAVAILABLE = (
    "Ik ben even niet bereikbaar. Je bericht is bewaard: ik beantwoord het zodra ik er weer ben. "
    "Je hoeft het niet opnieuw te sturen."
)


def late_answer(quoted: str) -> str:
    return f"Ik ben er weer. Hier is mijn antwoord op je bericht “{quoted}”:"


def not_processed(quoted: str) -> str:
    return (
        f"Het spijt me: je bericht “{quoted}” heb ik niet kunnen verwerken, omdat ik te lang "
        "onbereikbaar was. Stuur het gerust nog een keer."
    )


def quote(text: str | None, limit: int = 80) -> str:
    """A short quote of the worker's message for notices about it."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


# --- privacy, export, delete ----------------------------------------------------------------

COACH_NOT_DECIDER = (
    "Ik ben een coach, geen behandelaar of beslisser: besluiten over een cliënt neem je met je "
    "team, je leidinggevende of in intervisie."
)
DEFAULT_RETENTION_DAYS = 180


def privacy(retention_days: int = DEFAULT_RETENTION_DAYS) -> str:
    """The privacy statement (/privacy), with the retention period in force."""
    return (
        "Zo ga ik om met je gegevens\n\n"
        "Wat ik bewaar: je rol en team, je Telegram-chatnummer (om je te kunnen antwoorden), onze "
        "gesprekken (jouw berichten en mijn antwoorden, met tijd en onderwerp) en je cliënten: "
        "alleen hun label, zoals 'cliënt A', en je antwoorden in de stappenplannen. Namen, "
        "telefoonnummers, adressen, BSN en andere persoonsgegevens haal ik uit je berichten "
        "voordat ik ze bewaar of verwerk. Je naam op Telegram bewaar ik niet; het gesprekssysteem "
        "kent je alleen onder een code.\n\n"
        "Beveiligd: je berichten en wat je over cliënten invult, sla ik versleuteld op.\n\n"
        f"Hoe lang: gesprekken en cliënten wis ik automatisch {retention_days} dagen na de laatste "
        "wijziging. Je aanmelding blijft tot je die zelf wist.\n\n"
        "Wie het ziet: alleen de beheerder van Deuropener kan bij de opgeslagen gegevens. "
        "Collega's zien je gesprekken niet; je leidinggevende of begeleider alleen wat jij zelf "
        "deelt.\n\n"
        "Inzien en wissen: met /mijngegevens krijg je alles wat ik van je heb als bestand. "
        "Met /verwijder wis je alles, na een bevestiging.\n\n"
        "Let op: Telegram-berichten aan een bot zijn niet end-to-end versleuteld. Noem cliënten "
        "daarom bij een label, zoals 'cliënt A', niet bij naam.\n\n"
        f"{COACH_NOT_DECIDER}"
    )


PRIVACY = privacy()
DETAILS_REMOVED = (
    "Goed om te weten: ik heb namen, nummers of adressen in je bericht vervangen door labels "
    "zoals [naam] voordat ik het bewaarde. Telegram is niet end-to-end versleuteld; noem "
    "cliënten daarom liever bij een label, zoals 'cliënt A'. Dit meld ik maar één keer."
)
EXPORT_CAPTION = "Dit zijn al je gegevens bij Deuropener."
EXPORT_FILENAME = "mijngegevens.json"
DELETE_QUESTION = (
    "Weet je het zeker? Ik wis dan al onze gesprekken en je aanmelding. Dat kan niet ongedaan "
    "worden gemaakt; om me daarna weer te gebruiken heb je een nieuwe uitnodiging nodig."
)
DELETE_YES = "Ja, wis alles"
DELETE_NO = "Nee, bewaar alles"
DELETED = (
    "Alles is gewist: je gesprekken en je aanmelding. Bedankt voor het gebruiken van Deuropener. "
    "Wil je later weer meedoen, vraag dan een nieuwe uitnodiging."
)
NOT_DELETED = "Oké, ik heb niets gewist."

# --- supervision: sharing (/delen), the dashboard, feedback ----------------------------------

SHARE_QUESTION = "Wat mag je begeleider van je gesprekken met mij zien? Je kunt dit altijd weer veranderen."
SHARE_ALL = "Alle gesprekken"
SHARE_CASES = "Per cliënt kiezen"
SHARE_NONE = "Niets"
SHARE_DONE = "Klaar"
SHARE_PICK_CASES = (
    "Tik op een cliënt om die te delen of niet meer te delen (✓ = gedeeld). "
    "Je begeleider ziet alleen de gespreksdelen over die cliënten. Tik op Klaar als je klaar bent."
)
SHARE_NO_CASES = (
    "Je hebt nog geen cliënten. Zodra je een stappenplan voor een cliënt doet, kun je die hier delen. "
    "Tot dan deel je niets."
)
SHARED_ALL = "Goed: je begeleider kan al je gesprekken met mij zien. Veranderen kan altijd met /delen."
SHARED_NONE = "Goed: je begeleider ziet niets van je gesprekken met mij. Veranderen kan altijd met /delen."
SHARE_NOT_FOR_SUPERVISORS = "Delen is voor professionals: als begeleider deel je je eigen gesprekken niet."
ONLY_FOR_SUPERVISORS = "Dit is alleen voor begeleiders. Met /delen kies je wat je begeleider van jou ziet."


def sharing_line(mode: str, case_labels: list[str], chosen: bool) -> str:
    """/privacy: what the worker's supervisors can see now (their choice or the team's default)."""
    source = "" if chosen else " (de standaard van je team)"
    if mode == "all":
        return f"Je deelt nu{source}: alle gesprekken met je begeleider. Veranderen: /delen."
    if mode == "cases" and case_labels:
        return f"Je deelt nu{source}: alleen de gesprekken over {', '.join(case_labels)}. Veranderen: /delen."
    return f"Je deelt nu{source}: niets met je begeleider. Veranderen: /delen."


def viewed_lines(views: list[tuple[str, str, str]]) -> str:
    """/privacy: who viewed the worker's transcripts and when: (who, what, when)."""
    if not views:
        return "Niemand heeft je gesprekken bekeken."
    lines = "\n".join(f"– {when}: {who} – {what}" for who, what, when in views)
    return f"Wie je gesprekken bekeek (laatste {len(views)}):\n{lines}"


def dashboard_link(url: str) -> str:
    return (
        f"Je inloglink voor het dashboard:\n{url}\n\n"
        "Hij werkt één keer en 10 minuten lang. Deel hem met niemand."
    )


def feedback_notice(when: str, quoted: str | None, comment: str) -> str:
    about = f"over je bericht van {when}: “{quoted}”" if quoted else f"over je gesprek van {when}"
    return f"Je begeleider gaf feedback {about}\n\n{comment}"


FEEDBACK_OPEN = "Bekijk het moment"
FEEDBACK_REPLY = "Reageer"
FEEDBACK_TYPE_REPLY = "Typ je reactie in één bericht; ik geef hem door aan je begeleider."
FEEDBACK_REPLIED = "Dank je, je reactie staat nu bij je begeleider."
FEEDBACK_ALREADY_REPLIED = "Je hebt op deze feedback al gereageerd; dat kan één keer."


# --- reflection nudges (issue 6: bot/nudges.py, bot/nudge_dispatch.py) ---------------------

NUDGE = (
    "Tijd om even stil te staan bij je werkrelaties. Hoe gaat het contact met je cliënten? "
    "Een korte reflectie kost een paar minuten."
)
NUDGE_NOW = "Nu reflecteren"
NUDGE_LATER = "Later"
NUDGE_NEVER = "Niet meer"
NUDGE_IN_AN_HOUR = "Over een uur"
NUDGE_TOMORROW_MORNING = "Morgenochtend"
NUDGE_WHEN = "Wanneer zal ik je er weer aan herinneren?"
NUDGE_STOPPED = "Oké, ik stuur je geen herinneringen meer. Met /nudges zet je ze weer aan."
NUDGE_ALREADY_STOPPED = "Je herinneringen staan uit. Met /nudges zet je ze weer aan."
NUDGE_RASA_AWAY = "Ik kan de reflectie nu even niet starten. Probeer het zo nog eens."
NUDGE_NO_CASES = "Je krijgt ze zodra je een open cliënt hebt."
NUDGE_CHANGED = "Aangepast."
NUDGE_CHOOSE_DAY = "Op welke dag?"
NUDGE_CHOOSE_TIME = "Hoe laat?"
NUDGE_CHOOSE_RHYTHM = "Hoe vaak?"
NUDGE_CHOOSE_PAUSE = "Hoe lang pauzeren?"
NUDGE_BUTTON_DAY = "Dag"
NUDGE_BUTTON_TIME = "Tijd"
NUDGE_BUTTON_RHYTHM = "Hoe vaak"
NUDGE_BUTTON_PAUSE = "Pauzeren"
NUDGE_BUTTON_STOP = "Stoppen"
NUDGE_BUTTON_RESTART = "Weer aanzetten"
WEEKDAYS = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
MONTHS = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)
RHYTHMS = {
    "workdays": "Elke werkdag",
    "weekly": "Elke week",
    "biweekly": "Om de week",
    "monthly": "Eens per maand",
}
PAUSES = {"1w": "1 week", "2w": "2 weken", "1m": "1 maand"}


def nudge_moment(moment_weekday: int, day: int, month: int, clock: str) -> str:
    """A due moment in words: "maandag 7 december om 08:00"."""
    return f"{WEEKDAYS[moment_weekday]} {day} {MONTHS[month - 1]} om {clock}"


def nudge_snoozed(moment: str) -> str:
    return f"Goed, ik herinner je er {moment} weer aan."


def nudge_rhythm(rhythm: str, weekday: int, clock: str) -> str:
    day = WEEKDAYS[weekday]
    return {
        "workdays": f"elke werkdag om {clock}",
        "weekly": f"elke week op {day} om {clock}",
        "biweekly": f"om de week op {day} om {clock}",
        "monthly": f"elke maand op de laatste {day} om {clock}",
    }[rhythm]


def nudge_setting(rhythm: str, state: str | None, quiet: str) -> str:
    """/nudges in one line: the rhythm, its state (paused, stopped) and the quiet hours."""
    head = f"Herinnering om te reflecteren: {rhythm}"
    if state:
        head += f" ({state})"
    return f"{head}. Stille uren: {quiet}."


def nudge_quiet(start: str, end: str, weekends: bool) -> str:
    return f"{start}–{end} en het weekend" if weekends else f"{start}–{end}"


def nudge_paused_until(moment: str) -> str:
    return f"gepauzeerd tot {moment}"


NUDGE_STATE_STOPPED = "staat uit"

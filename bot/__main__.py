"""python -m bot run | chat | telegram | endpoints | admin ..."""

from __future__ import annotations

import asyncio
import logging
import sys

USAGE = "usage: python -m bot {run|chat|telegram|endpoints|admin} ...   (admin: python -m bot admin --help)"


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    if command == "run":
        from bot import launcher

        return launcher.main()
    if command == "chat":
        from bot import chat

        return asyncio.run(chat.chat())
    if command == "telegram":
        from bot import telegram_app
        from bot.settings import Settings

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
        logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per Bot API call otherwise
        telegram_app.run(Settings.from_env())
        return 0
    if command == "endpoints":  # Rasa's endpoints for this environment, to data/endpoints.yml
        from bot import rasa_endpoints
        from bot.settings import Settings

        print(rasa_endpoints.write(Settings.from_env()))
        return 0
    if command == "admin":
        from bot import admin

        return admin.main(argv[1:])
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

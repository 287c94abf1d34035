"""python -m bot.dashboard: serve the supervisors' dashboard (started by `make run`)."""

import sys

from bot.dashboard.app import main

sys.exit(main())

"""The supervisors' web dashboard: sign-in by one-time link, team overview, transcripts,
feedback, export and the audit log. `scope.py` is the one place that decides what a viewer
may see; pages, exports and the Telegram overview all ask it."""

"""Deuropener's delivery: the Telegram bot, the local chat and the launcher."""

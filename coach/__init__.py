"""Deuropener's domain logic: plain Python, no Rasa or Telegram imports."""

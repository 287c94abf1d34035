"""Code that runs inside the Rasa server (loaded by name from endpoints.yml)."""

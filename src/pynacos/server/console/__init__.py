"""The Nacos 3.x web console's server side: its HTTP API (`api.py`, `/v3/console/**`) and the UI it serves.

The API is a thin wire over the handlers of the 3.x admin API, so the console and `/v3/admin/**` cannot
disagree on a rule; only the names and shapes Nacos's console uses are its own.
"""

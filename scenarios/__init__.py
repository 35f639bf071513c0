"""The organisation's five real cases as scenarios: `starter.py scenario run NAME`."""

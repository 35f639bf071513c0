"""Pure domain rules: deadlines, Belgian public holidays, voting. No I/O, no clock, no
randomness: Temporal workflow code imports these, so they must stay sandbox-safe and
deterministic (stdlib datetime/fractions/enum and pydantic only)."""

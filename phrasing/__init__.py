"""Dutch phrasing shared by the "Stand van zaken" (report/) and the trajectory's notices.

Pure on purpose: the standard library and schemas/ only, no I/O, no clock, no environment.
Workflow code imports these modules inside Temporal's sandbox, where anything else could make
a replay differ, and the report must read the same on any machine (no locale).
"""

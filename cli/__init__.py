"""The coordinators' command line (`starter.py`), one module per group of subcommands."""

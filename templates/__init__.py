"""Trajectory templates as data (one YAML file per kind of cooperation) and their loader."""

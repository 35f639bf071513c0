"""What coordinators do to trajectories over Temporal: start, message, query. Used by the
command line, the demonstration and the tests alike."""

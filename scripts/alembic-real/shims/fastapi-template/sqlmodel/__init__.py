"""Stand-in for the sqlmodel package (not in Debian): only what the
revisions import."""

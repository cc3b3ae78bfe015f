"""News domain: models, parsing, identity, search. Never imports discord."""

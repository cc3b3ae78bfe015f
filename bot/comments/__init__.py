"""Reader comments: the policy and moderation domain. Pure: no discord import, no SQL.

- :mod:`.settings`: per-server :class:`CommentSettings`, parsing, validation and description;
- :mod:`.text`: normalisation, duplicate keys, link counting; :mod:`.keywords`: hold and block lists;
- :mod:`.policy`: :func:`evaluate` a submission against the facts the store knows → :class:`Decision`;
- :mod:`.moderation`: :func:`apply` approve/spam/trash/restore/edit/flag/delete → :class:`Transition`;
- :mod:`.visibility`: who sees what; :mod:`.bans`: bans and their durations; :mod:`.export`: CSV and JSON.
"""

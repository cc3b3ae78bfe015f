"""The emulator's REST routes, grouped by concern; each group lists its :class:`~bot.sandbox.rest.Route` objects."""

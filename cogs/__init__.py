"""Discord glue: each module is an extension ending with ``async def setup(bot)``."""

"""newsbot: a Discord bot that serves and discusses news.

Importing this package has no side effects; the CLI in ``bot.__main__`` wires everything up.
"""

__version__ = "0.1.0"

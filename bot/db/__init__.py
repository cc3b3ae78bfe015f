"""The store: the only package that contains SQL (SQLite through aiosqlite, PostgreSQL through asyncpg).

Import what you need from the modules (``bot.db.store``, ``bot.db.errors``, ``bot.db.target`` …): this package
imports nothing itself, so that reading a setting does not load the database drivers.
"""

"""``python -m bot`` and the ``newsbot`` console script."""

from bot.cli import main

if __name__ == "__main__":
    main()

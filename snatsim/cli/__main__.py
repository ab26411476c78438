"""``python -m snatsim.cli``: the same as the ``snatsim`` console script."""

from snatsim.cli import main

if __name__ == "__main__":
    main()

"""Entry point: `python supervisor.py up | down | status | list | resume | report | stage | pause | demo`."""

from stages.cli import main

if __name__ == "__main__":
    main()

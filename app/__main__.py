"""`python -m kerastune.app` runs the kerastune command line (as `python -m kerastune` does)."""

from kerastune.app.cli import main

main()

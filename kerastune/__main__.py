"""`python -m kerastune` runs the kerastune command line."""

from kerastune.app.cli import main

main()

"""`python -m app` runs the kerastune command line."""

from app.cli import main

main()

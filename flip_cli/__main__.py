"""`python -m flip_cli` is `flip`."""

from flip_cli import main

main()

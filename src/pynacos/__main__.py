"""`python -m pynacos` runs the command line."""

from pynacos.cli import main

main()

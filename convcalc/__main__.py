"""``python -m convcalc`` runs the command line."""

from convcalc.cli import main

main()

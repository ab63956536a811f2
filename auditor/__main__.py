"""`python -m auditor`: the same command line as the `regaudit` script."""

from auditor.cli import main

main(prog_name="regaudit")

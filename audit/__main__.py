"""`python -m audit ...`: the `refund-audit` command, with its exit codes (`audit.cli.run`)."""

from audit.cli import run

if __name__ == "__main__":
    run()

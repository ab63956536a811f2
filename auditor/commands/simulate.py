"""placeholder"""
import click


@click.command("simulate")
def simulate_command() -> None:
    """Not yet."""

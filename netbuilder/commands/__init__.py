"""The command line's subcommands, one module each (``netbuilder <name> ...``).

A subcommand module exposes::

    NAME = "check"                      # what the user types
    HELP = "one line for `netbuilder --help`"
    def add_arguments(parser): ...      # an argparse.ArgumentParser of its own
    def run(args) -> int: ...           # the exit status

and is listed in ``netbuilder.cli.SUBCOMMANDS``. NOTE: a module's top level stays light (no
torch, no Qt): `netbuilder --help` imports every one of them to list them; import what the
command needs inside ``run``. A name that is a Python keyword (``import``) lives in a module
with a trailing underscore (``import_.py``).
"""

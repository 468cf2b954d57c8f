"""The bundle's program: the ``netbuilder`` command (editor and subcommands), frozen.

``freeze_support()`` comes first: training runs in a spawned process, which in a bundle is this
same program started again with multiprocessing's arguments.
"""
import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from netbuilder.cli import main

    sys.exit(main())

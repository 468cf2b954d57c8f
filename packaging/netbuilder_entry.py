"""The bundle's program: the ``netbuilder`` command (editor and subcommands), frozen.

``freeze_support()`` comes first: training runs in a spawned process, which in a bundle is this
same program started again with multiprocessing's arguments. Importing a model runs the user's
file in this program started again with ``CHILD_FLAG`` (``netbuilder.model_import``).
"""
import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from netbuilder.model_import import CHILD_FLAG, child_main

    if sys.argv[1:2] == [CHILD_FLAG]:
        child_main(sys.argv[2])
    from netbuilder.cli import main

    sys.exit(main())

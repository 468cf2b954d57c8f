"""The parts of an exported project's ``train.py`` (see ``netbuilder.train.export_project``)."""

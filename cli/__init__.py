"""The ``pishkhan`` command: one entry point, a subcommand per job."""

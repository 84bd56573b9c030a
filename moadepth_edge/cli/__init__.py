"""The `moadepth-edge` command line: one file per verb, each with `register(app)`."""

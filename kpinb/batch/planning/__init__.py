"""Planning a run (what to build): the reports of a period, their files and parameters
(:mod:`.plan`) and the inputs key that decides whether a rerun can skip one
(:mod:`.inputs_keys`). Nothing here runs a notebook or writes a file, and nothing here
imports the executors or the publisher."""

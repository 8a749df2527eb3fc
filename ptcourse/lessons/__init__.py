"""What the lesson notebooks import: spawn-safe datasets, samplers and collate functions, display and timing helpers.

Everything a DataLoader worker process needs lives here, in importable modules, because a class defined
in a notebook cell cannot reach a worker started with the spawn (macOS, Windows) or forkserver method.
"""

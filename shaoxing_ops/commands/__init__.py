"""The ``shaoxing-ops`` sub-commands, a module per capability: each registers its own parsers
(``add_parsers``) and keeps its handlers thin over the library; ``shaoxing_ops.cli`` only dispatches."""

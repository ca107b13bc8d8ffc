"""``python -m plasticity_utils VERB ...``: the command line over the experiment contract (:mod:`.cli`)."""

import sys

from .cli import main

sys.exit(main())

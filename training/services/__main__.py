"""``python -m training.services up|down [--dir DIR] [--workers N]`` (``make server``)."""

import sys

from training.services.team import main

sys.exit(main())

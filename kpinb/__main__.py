import sys

from kpinb.cli import main

sys.exit(main())

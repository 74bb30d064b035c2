import sys

from kpinb.cli.main import main

sys.exit(main())

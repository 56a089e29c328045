import sys

from txdagster.cli import main

sys.exit(main())

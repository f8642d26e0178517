import sys

from contentgen.cli import main

sys.exit(main())

import sys

from dexstudio.cli import main

sys.exit(main())

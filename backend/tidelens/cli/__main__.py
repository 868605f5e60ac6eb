import sys

from tidelens.cli import main

sys.exit(main())

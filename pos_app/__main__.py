import sys

from pos_app.bootstrap.cli import main

sys.exit(main())

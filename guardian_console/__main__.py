"""``python -m guardian_console`` is the ``guardian`` command."""

from guardian_console.cli import main

raise SystemExit(main())

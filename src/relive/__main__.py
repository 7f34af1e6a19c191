"""``python -m relive`` runs the command-line front end."""

from relive.cli import main

raise SystemExit(main())

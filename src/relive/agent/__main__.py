"""``python -m relive.agent``: run a program under the agent (see :mod:`relive.agent.runner`)."""

from relive.agent.runner import main

raise SystemExit(main())

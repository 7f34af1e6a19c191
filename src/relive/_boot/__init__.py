"""The directory ``relive run`` puts first on the program's ``PYTHONPATH``: its
``sitecustomize`` joins each new interpreter of the program to the session (see
:mod:`relive.agent.member`)."""

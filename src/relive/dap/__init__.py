"""``relive dap``: the Debug Adapter Protocol in front of relive's agent, for editors.

:mod:`relive.dap.wire` reads and writes DAP messages; :mod:`relive.dap.adapter` carries out
the requests with the agent's protocol (:mod:`relive.client`), not with a second engine.
"""

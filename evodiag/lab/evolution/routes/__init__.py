"""Evolution API route handlers, one module per route family (``/instance/*``, ``/chatwoot/*``,
``/webhook/*``, ``/message/*``, and the server root). Each handler is ``async (lab, request, **path_params) ->
Response`` over :class:`evodiag.lab.evolution.state.EvolutionState`; :mod:`evodiag.lab.evolution.app` maps
method and path to them."""

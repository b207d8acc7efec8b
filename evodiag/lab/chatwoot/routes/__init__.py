"""Chatwoot route handlers, one module per route family (``server``: /api, /, blobs, profile, account;
``inboxes``; ``conversations`` with their messages; ``contacts``). Account-scoped handlers are
``async (lab, request, caller, **path_params) -> Response`` wrapped by :func:`.endpoint.endpoint`;
:mod:`evodiag.lab.chatwoot.app` maps method and path to them."""

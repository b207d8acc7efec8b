"""The lab: emulated servers on 127.0.0.1 that behave like the real ones, and named fault scenarios.

Where things go:

- a new **scenario**: a setup function and a :class:`~evodiag.lab.deployment.Scenario` entry in ``scenarios.py``
  (the healthy world it starts from is ``runtime._healthy_world``; names and keys are in ``deployment.py``);
- a new **Evolution API behaviour**: its state in ``evolution/state.py`` (config) or ``evolution/model.py``
  (per-instance records), its handler in ``evolution/routes/<family>.py`` (``instance``, ``chatwoot``,
  ``webhook``, ``message``, ``server``), the route line in ``evolution/app.py``; response bodies in
  ``evolution/payloads.py``; what WhatsApp does (connecting, messages) in ``evolution/whatsapp.py``;
- a new **Chatwoot behaviour**: tables and scenario helpers in ``chatwoot/state.py``, handlers in
  ``chatwoot/routes/<family>.py`` (``server``, ``inboxes``, ``conversations``, ``contacts``), the route line in
  ``chatwoot/app.py``; JSON shapes in ``chatwoot/views.py``; auth and policies in ``chatwoot/auth.py``;
  builders and status rules in ``chatwoot/operations.py``;
- OpenIM, S3 and DNS are one module each (``openim.py``, ``s3.py``, ``dns.py``); ``hostile.py`` is the server
  that misbehaves on purpose (``lab serve --hostile``); ``base.py`` is what every emulated server shares
  (routing, latency, the request log).

The lab never runs evodiag itself: ``evodiag demo`` (``commands/demo.py``) starts a lab and runs the checks.
Nothing here imports upward into ``commands``; ``tests/test_import_graph.py`` keeps the package free of cycles.
"""

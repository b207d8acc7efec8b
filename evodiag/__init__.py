"""evodiag: diagnostics for Evolution API + Chatwoot integrations, webhooks and OpenIM callbacks."""

__version__ = "0.1.0"

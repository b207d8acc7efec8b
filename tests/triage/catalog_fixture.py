"""A test catalog with triage signatures (the real checks.yaml gets its own signatures from their owners)."""

from __future__ import annotations


def _check(cid: str, title: str, targets: str, tags: str, sigs: list[tuple[str, float]], stage: str = "api") -> str:
    lines = [f"  - id: {cid}", f"    title: {title}", f"    stage: {stage}", f"    tags: [{tags}]",
             f"    applies_when: {{targets: [{targets}]}}", "    request: {url: \"{evolution.url}/\"}",
             "    doc: {what: w, why: y}", "    remediation: {text: fix it}", "    signatures:"]
    lines += [f"      - {{pattern: '{p}', weight: {w}}}" for p, w in sigs]
    return "\n".join(lines)


CHECKS = [
    _check("chatwoot.token_header", "Chatwoot token reaches Rails", "chatwoot", "chatwoot, auth, proxy, nginx", [
        (r"(?i)you need to sign in or sign up before continuing", 1.5),
        (r"Você precisa entrar ou se cadastrar", 1.5), (r"(?i)underscores_in_headers", 0.8)], "auth"),
    _check("chatwoot.token_role", "Chatwoot token is an administrator user token", "chatwoot", "chatwoot, auth", [
        (r"You are not authorized to do this action", 1.2),
        (r"Access to this endpoint is not authorized for bots", 1.5)], "auth"),
    _check("chatwoot.conversation_filter", "Chatwoot accepts Evolution's conversation filter",
           "evolution, chatwoot", "chatwoot, evolution, filter", [
               (r"Invalid attribute key - \[contact_id\]", 2.0),
               (r"Invalid operator\. The allowed operators for identifier", 1.5),
               (r"getOpenConversationByContact", 0.5)]),
    _check("chatwoot.frontend_url", "Chatwoot FRONTEND_URL is reachable", "chatwoot", "chatwoot, media", [
        (r"rails/active_storage/blobs/redirect", 1.0), (r"FRONTEND_URL=\S*(0\.0\.0\.0|localhost)", 1.0)]),
    _check("evolution.chatwoot_enabled", "CHATWOOT_ENABLED is true", "evolution", "evolution, chatwoot, config", [
        (r"Chatwoot is (disabled|not enabled)", 2.0)], "config"),
    _check("evolution.instance_name", "Routes use the instance name", "evolution", "evolution, instance", [
        (r"instance does not exist", 1.0), (r"The \\?\"[0-9a-f]{8}-[0-9a-f-]{27}\\?\" instance", 1.0)]),
    _check("evolution.route_method", "v2 routes use the right method", "evolution", "evolution, routes", [
        (r"Cannot (PUT|GET) /instance/(restart|logout)", 1.5)]),
    _check("evolution.qr", "A QR code can be produced", "evolution", "evolution, qr, whatsapp", [
        (r"\{\"count\":0\}", 1.2), (r"CONFIG_SESSION_PHONE_VERSION", 0.6)]),
    _check("openim.online_callbacks", "OpenIM calls afterUserOnline", "openim", "openim, webhook, callbacks", [
        (r"(?i)afterUser(Online|Offline)", 1.0)]),
    _check("webhook.by_events", "Webhook URL with byEvents suffix", "webhook", "webhook, n8n", [
        (r"(?i)webhook_by_events:\s*true", 0.8), (r"webhook .*/messages-upsert.*not registered", 1.5)]),
]

KNOWN = """
known_issues:
  - id: evo-174-cw38-filter
    product: evolution-api
    versions: ">=1.7.0,<1.7.5"
    with: {product: chatwoot, versions: ">=3.8.0"}
    symptom: conversations/filter with contact_id answers 422
    workaround: upgrade Evolution API to 1.7.5 or later
    fixed_in: 1.7.5
    observed_by: [chatwoot.conversation_filter]
  - id: openim-381-online
    product: openim-server
    versions: "3.8.0 || 3.8.1"
    symptom: afterUserOnline/afterUserOffline never called
    workaround: upgrade to 3.8.2
    fixed_in: 3.8.2
    observed_by: [openim.online_callbacks]
"""

CATALOG_YAML = "version: 1\nchecks:\n" + "\n".join(CHECKS) + "\n" + KNOWN

# The first 17 corpus tickets as labelled for this test catalog (index.json labels them with shipped check ids).
FIXTURE_LABELS = {
    "01_nginx_token_en.txt": ["chatwoot.token_header"],
    "02_nginx_token_pt.txt": ["chatwoot.token_header"],
    "03_filter_422.log": ["chatwoot.conversation_filter"],
    "04_filter_422_es.txt": ["chatwoot.conversation_filter"],
    "05_chatwoot_disabled.json": ["evolution.chatwoot_enabled"],
    "06_instance_id_pt.txt": ["evolution.instance_name"],
    "07_openim_online_zh.txt": ["openim.online_callbacks"],
    "08_restart_put.log": ["evolution.route_method"],
    "09_agent_not_admin.txt": ["chatwoot.token_role"],
    "10_bot_token.txt": ["chatwoot.token_role"],
    "11_attachments_frontend_url.log": ["chatwoot.frontend_url"],
    "12_unrelated_billing.txt": [],
    "13_unrelated_noise.log": [],
    "14_qr_count_zero_pt.txt": ["evolution.qr"],
    "15_mixed_token_and_filter.log": ["chatwoot.token_header", "chatwoot.conversation_filter"],
    "16_unrelated_zh.txt": [],
    "17_webhook_byevents.txt": ["webhook.by_events"],
}

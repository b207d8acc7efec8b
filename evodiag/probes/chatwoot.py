"""Chatwoot probes (issue 5): token and account, the filter queries old Evolution versions send, the inbox
Evolution uses, and the status new conversations get.

Facts: Chatwoot's source at the releases linked below. Messages and remediation live in checks.yaml; these
functions only choose a diagnosis and fill it. Every request here is a read: ``GET``s plus the two filter
``POST``s, which Chatwoot answers without writing anything. The Evolution -> Chatwoot message round trip
is in :mod:`evodiag.probes.chatwoot_sync`, the inbox webhook comparison in :mod:`evodiag.probes.chatwoot_webhook`.
"""

from __future__ import annotations

from typing import Any

from evodiag.engine.context import ProbeContext
from evodiag.engine.http import Exchange
from evodiag.engine.results import Outcome, Status
from evodiag.probes.declare import probe
from evodiag.versions import in_range

# The header Evolution's SDK sends and Chatwoot's account APIs read; `Authorization: Bearer` is ignored:
# https://github.com/chatwoot/chatwoot/blob/ecd4892a23535c92c4f3752340e4ad677b1433c9/app/controllers/api/base_controller.rb
TOKEN = {"api_access_token": {"secret": "chatwoot.token"}}
ACCOUNT = "{chatwoot.url}/api/v1/accounts/{chatwoot.account_id}"
INBOXES = ACCOUNT + "/inboxes"

# Evolution 1.7.0-1.7.4 getOpenConversationByContact and 1.7.0-1.7.2 findContact (`identifier contains`, fixed
# in 1.7.3 by https://github.com/evolution-foundation/evolution-api/pull/538):
# https://github.com/EvolutionAPI/evolution-api/blob/1.7.4/src/api/integrations/chatwoot/services/chatwoot.service.ts#L778-L812
# The ids are placeholders: Chatwoot validates keys and operators before it queries
# (https://github.com/chatwoot/chatwoot/pull/8239).
OLD_CONVERSATION_FILTER = {"payload": [
    {"attribute_key": "inbox_id", "filter_operator": "equal_to", "values": [0], "query_operator": "AND"},
    {"attribute_key": "contact_id", "filter_operator": "equal_to", "values": [0], "query_operator": "AND"},
    {"attribute_key": "status", "filter_operator": "equal_to", "values": ["open"], "query_operator": None},
]}
OLD_CONTACT_FILTER = {"payload": [
    {"attribute_key": "phone_number", "filter_operator": "equal_to", "values": ["+123456"], "query_operator": "OR"},
    {"attribute_key": "identifier", "filter_operator": "contains", "values": ["123456"], "query_operator": None},
]}


# --- shared helpers ----------------------------------------------------------------------------------------------
def error_text(doc: Any) -> str:
    """Chatwoot's error text: ``{"error": "..."}`` or devise_token_auth's ``{"errors": [...]}``."""
    if isinstance(doc, dict):
        if isinstance(doc.get("error"), str):
            return str(doc["error"])
        if isinstance(doc.get("errors"), list) and doc["errors"]:
            return "; ".join(str(e) for e in doc["errors"])
    return ""


def first_sentence(text: str) -> str:
    """``"Invalid attribute key - [contact_id]. The key should be one of [...]"`` -> its first sentence."""
    head, dot, _ = text.partition(". ")
    return head + "." if dot else text


def payload_list(doc: Any) -> list[dict[str, Any]]:
    """``{"payload": [...]}`` (inboxes, contact search, conversations, messages) -> its dict items."""
    if isinstance(doc, dict) and isinstance(doc.get("payload"), list):
        return [item for item in doc["payload"] if isinstance(item, dict)]
    return []


def with_evidence(outcome: Outcome, *exchanges: Exchange) -> Outcome:
    outcome.evidence.extend(e.summary() for e in exchanges)
    return outcome


def evolution_inbox_name(ctx: ProbeContext) -> tuple[str | None, str]:
    """The inbox name Evolution looks up, and where it came from: chatwoot.inbox, else Evolution's nameInbox
    (fact from evolution.chatwoot.config), else the instance name (Evolution's default for an empty nameInbox:
    https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/integrations/chatbot/chatwoot/controllers/chatwoot.controller.ts#L19-L38)."""
    for key, source in (("chatwoot.inbox", "chatwoot.inbox setting"),
                        ("evolution.chatwoot.name_inbox", "Evolution's nameInbox"),
                        ("evolution.instance", "the instance name, Evolution's default")):
        value = ctx.value(key)
        if isinstance(value, str) and value.strip():
            return value, source
    return None, ""


def wanted_status(ctx: ProbeContext) -> bool | None:
    """Evolution's conversationPending (fact from evolution.chatwoot.config), None when unknown."""
    value = ctx.value("evolution.chatwoot.conversation_pending")
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return None if value is None else bool(value)


def accounts_text(profile: dict[str, Any]) -> str:
    accounts = [a for a in profile.get("accounts") or [] if isinstance(a, dict)]
    if not accounts:
        return "no account"
    return ", ".join(f"{a.get('id')} ({a.get('name')}, {a.get('role')})" for a in accounts)


# --- chatwoot.auth -------------------------------------------------------------------------------------------------
@probe("chatwoot.auth", diagnoses={"account_unset", "agent_role", "ok"},
       values={"account_name", "accounts", "user_name"},
       publishes={"chatwoot.role", "chatwoot.user_id", "chatwoot.user_name"}, reads={"chatwoot.account_id"})
async def auth(ctx: ProbeContext) -> Outcome:
    """Profile first (the token type: bots and platform apps get 401 there), then an account route (membership,
    suspension), then the role on that account from the profile."""
    profile_x = await ctx.fetch()
    verdict = ctx.judge(profile_x)
    profile = profile_x.json_or_none()
    if verdict.status is not Status.PASS or not isinstance(profile, dict) or "accounts" not in profile:
        if verdict.status is Status.PASS:  # a 200 that is not a Chatwoot profile
            verdict = ctx.outcome(Status.FAIL, f"{profile_x.url} answered 200 but not with a Chatwoot profile "
                                               "(no `accounts`): chatwoot.url points at something else")
        return with_evidence(verdict, profile_x)
    user_name = str(profile.get("name") or profile.get("email") or "?")
    ctx.publish("chatwoot.user_id", profile.get("id"))
    ctx.publish("chatwoot.user_name", user_name)
    values = {"user_name": user_name, "accounts": accounts_text(profile)}
    account_id = ctx.value("chatwoot.account_id")
    if account_id is None:
        return with_evidence(ctx.diagnose("account_unset", **values), profile_x)
    account_x = await ctx.request("GET", INBOXES, headers=TOKEN)
    membership = next((a for a in profile.get("accounts") or []
                       if isinstance(a, dict) and str(a.get("id")) == str(account_id)), None)
    values["account_name"] = str(membership.get("name")) if membership else "?"
    verdict = ctx.judge(account_x, **values)
    if verdict.status is not Status.PASS:
        return with_evidence(verdict, profile_x, account_x)
    role = str(membership.get("role")) if membership else "unknown"
    ctx.publish("chatwoot.role", role)
    name = "agent_role" if role == "agent" else "ok"
    return with_evidence(ctx.diagnose(name, **values), profile_x, account_x)


# --- chatwoot.filter -----------------------------------------------------------------------------------------------
@probe("chatwoot.filter",
       diagnoses={"accepted", "accepted_old_evolution", "contact_id_rejected", "identifier_rejected",
                  "rejected_fixed_evolution", "rejected_without_evolution", "unexpected"},
       values={"contacts_error", "conv_error", "conv_part", "id", "path"}, reads={"evolution.version"})
async def filters(ctx: ProbeContext) -> Outcome:
    """Send both old filter queries and judge them against the Evolution version (evolution.reachable ran in the
    auth stage, so its fact is already known; without Evolution, Chatwoot is judged alone)."""
    conv_x = await ctx.request("POST", ACCOUNT + "/conversations/filter", headers=TOKEN,
                               json=OLD_CONVERSATION_FILTER)
    contacts_x = await ctx.request("POST", ACCOUNT + "/contacts/filter", headers=TOKEN, json=OLD_CONTACT_FILTER)
    for exchange, path in ((conv_x, "conversations/filter"), (contacts_x, "contacts/filter")):
        if exchange.status not in (200, 422):
            outcome = ctx.diagnose("unexpected", path=path, **{"http.status": exchange.status,
                                                                "http.body": exchange.text[:200]})
            return with_evidence(outcome, conv_x, contacts_x)
    conv_error = error_text(conv_x.json_or_none()) if conv_x.status == 422 else ""
    contacts_error = error_text(contacts_x.json_or_none()) if contacts_x.status == 422 else ""
    # The key is quoted in brackets in every locale: "Invalid attribute key - [contact_id]" (en),
    # "Chave de atributo inválido - [contact_id]" (pt_BR) (errors.custom_filters in config/locales).
    conv_rejected = "[contact_id]" in conv_error
    contacts_rejected = "identifier" in contacts_error
    evo = ctx.value("evolution.version")
    # The 422 text lists every allowed key: messages keep its first sentence, details the whole text.
    values = {"conv_error": first_sentence(conv_error), "contacts_error": first_sentence(contacts_error),
              "conv_part": f', and conversations/filter with contact_id -> 422 "{first_sentence(conv_error)}"'
              if conv_rejected else ""}
    if contacts_rejected and in_range(evo, ">=1.7.0,<1.7.3"):
        name = "identifier_rejected"
    elif conv_rejected and in_range(evo, ">=1.7.0,<1.7.5"):
        name = "contact_id_rejected"
    elif conv_rejected or contacts_rejected:
        name = "rejected_fixed_evolution" if evo else "rejected_without_evolution"
    elif conv_x.status == 422 or contacts_x.status == 422:  # a 422 for another reason: show it
        bad = conv_x if conv_x.status == 422 else contacts_x
        path = "conversations/filter" if bad is conv_x else "contacts/filter"
        return with_evidence(ctx.diagnose("unexpected", path=path, **{"http.status": bad.status,
                                                                      "http.body": bad.text[:200]}),
                             conv_x, contacts_x)
    else:
        name = "accepted_old_evolution" if in_range(evo, ">=1.7.0,<1.7.5") else "accepted"
    outcome = with_evidence(ctx.diagnose(name, **values), conv_x, contacts_x)
    outcome.details.update(conversations_filter=conv_error, contacts_filter=contacts_error)
    return _with_known_issues(ctx, outcome)


def _with_known_issues(ctx: ProbeContext, outcome: Outcome) -> Outcome:
    """Attach the catalog known issues this check observes (refs and a note), through the Evolution checks'
    helper, which also tells evolution.known_issues that this live check covered them. Optional: the
    catalog refs above already name the issues."""
    try:
        from evodiag.probes.evolution import enrich
    except ImportError:
        return outcome
    return enrich(ctx, outcome, only_findings=True)


# --- chatwoot.inbox ------------------------------------------------------------------------------------------------
@probe("chatwoot.inbox",
       diagnoses={"agent_cannot_see", "found", "instance_unresolved", "missing", "name_differs", "no_name",
                  "not_api"},
       values={"agent_part", "channel_type", "close_id", "close_name", "count", "expected_webhook", "id",
               "inbox_name", "instance_status", "name_source", "names", "user_name"},
       publishes={"chatwoot.inbox.id", "chatwoot.inbox.name", "chatwoot.inbox.webhook_url"},
       reads={"chatwoot.inbox", "chatwoot.role", "chatwoot.user_name", "evolution.chatwoot.name_inbox",
              "evolution.chatwoot.webhook_url", "evolution.instance"})
async def inbox(ctx: ProbeContext) -> Outcome:
    """Exact-name lookup like Evolution's getInbox. The inboxes GET is the one chatwoot.auth made, so within a run
    it costs no second round trip. Upstream:
    https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/integrations/chatbot/chatwoot/services/chatwoot.service.ts#L850-L868"""
    name, source = evolution_inbox_name(ctx)
    if name is None:
        return ctx.diagnose("no_name")
    instance_result = ctx.result_of("evolution.instance")
    if source.startswith("the instance name") and instance_result is not None and instance_result.status in (
            Status.FAIL, Status.ERROR, Status.BLOCKED):
        # evolution.instance already reports the wrong name (e.g. an instance id); the inbox lookup would
        # only repeat that finding
        return ctx.diagnose("instance_unresolved", inbox_name=name, instance_status=instance_result.status.value)
    listing = await ctx.request("GET", INBOXES, headers=TOKEN)
    if listing.status != 200 or not isinstance(listing.json_or_none(), dict):
        return with_evidence(ctx.judge(listing), listing)
    inboxes = payload_list(listing.json())
    role = ctx.value("chatwoot.role")
    values: dict[str, Any] = {
        "inbox_name": name, "name_source": source, "count": len(inboxes),
        "names": ", ".join(f'"{i.get("name")}"' for i in inboxes) or "none",
        "user_name": ctx.value("chatwoot.user_name", "the token's user"),
        "expected_webhook": ctx.value("evolution.chatwoot.webhook_url",
                                      "<Evolution SERVER_URL>/chatwoot/webhook/<instance>"),
        "agent_part": ("; the token is an agent's, which sees only the inboxes its user is a member of"
                       if role == "agent" else ""),
    }
    exact = [i for i in inboxes if i.get("name") == name]
    if not exact:
        close = next((i for i in inboxes if str(i.get("name", "")).strip().lower() == name.strip().lower()), None)
        if close is not None:
            values.update(close_name=close.get("name"), close_id=close.get("id"))
            return with_evidence(ctx.diagnose("name_differs", **values), listing)
        return with_evidence(ctx.diagnose("agent_cannot_see" if role == "agent" else "missing", **values),
                             listing)
    found = exact[0]  # Evolution takes the first match too
    ctx.publish("chatwoot.inbox.id", found.get("id"))
    ctx.publish("chatwoot.inbox.name", name)
    ctx.publish("chatwoot.inbox.webhook_url", found.get("webhook_url") or "")
    if found.get("channel_type") != "Channel::Api":
        return with_evidence(ctx.diagnose("not_api", channel_type=found.get("channel_type"), **values), listing)
    outcome = with_evidence(ctx.diagnose("found", **values), listing)
    if len(exact) > 1:
        ids = ", ".join(str(i.get("id")) for i in exact)
        outcome.notes.append(f'{len(exact)} inboxes are named "{name}" (ids {ids}); Evolution uses the first one '
                             f"Chatwoot lists, id {found.get('id')}: rename the others to avoid confusion")
    return outcome


# --- chatwoot.bot --------------------------------------------------------------------------------------------------
@probe("chatwoot.bot", diagnoses={"bot_pending", "bot_pending_expected", "expected_pending_but_open", "no_bot"},
       values={"bot_name", "conversation_pending", "evo_part", "id", "inbox", "why"},
       publishes={"chatwoot.bot.name", "chatwoot.expected_status"},
       reads={"chatwoot.expect_pending", "evolution.chatwoot.conversation_pending"})
async def bot(ctx: ProbeContext) -> Outcome:
    """Agent bot on the inbox -> ``inbox.active_bot?`` -> new conversations pending whatever is requested,
    combined with Evolution's conversationPending into the status agents will see. Upstream:
    https://github.com/chatwoot/chatwoot/blob/98a50d12e047a49c863d3287c0946b4cacac14f1/app/models/conversation.rb#L212-L221
    https://github.com/EvolutionAPI/evolution-api/blob/2.3.6/src/api/integrations/chatbot/chatwoot/services/chatwoot.service.ts#L756-L803"""
    exchange = await ctx.request("GET", INBOXES + "/{chatwoot.inbox.id}/agent_bot", headers=TOKEN)
    doc = exchange.json_or_none()
    if exchange.status != 200 or not isinstance(doc, dict):
        return with_evidence(ctx.judge(exchange), exchange)
    agent_bot = doc.get("agent_bot")  # likely {} or {"agent_bot": null} when none is attached (form unverified)
    pending = wanted_status(ctx)
    expect_pending = bool(ctx.value("chatwoot.expect_pending", False))
    if isinstance(agent_bot, dict) and agent_bot:
        ctx.publish("chatwoot.expected_status", "pending")
        ctx.publish("chatwoot.bot.name", agent_bot.get("name"))
        evo_part = {True: "Evolution's conversationPending is true as well, so both ask for pending.",
                    False: "Evolution's conversationPending is false: the bot is the only reason.",
                    None: "(Evolution's conversationPending was not checked.)"}[pending]
        name = "bot_pending_expected" if expect_pending else "bot_pending"
        return with_evidence(ctx.diagnose(name, bot_name=agent_bot.get("name") or f"id {agent_bot.get('id')}",
                                          evo_part=evo_part), exchange)
    status = "pending" if pending else "open"
    ctx.publish("chatwoot.expected_status", status)
    if expect_pending and status == "open":
        return with_evidence(ctx.diagnose("expected_pending_but_open",
                                          conversation_pending="false" if pending is False else "unknown"),
                             exchange)
    why = {True: "Evolution's conversationPending is true, so Evolution creates them pending",
           False: "Evolution's conversationPending is false, and nothing on the inbox forces pending",
           None: "Chatwoot's default; Evolution's conversationPending was not checked"}[pending]
    outcome = with_evidence(ctx.diagnose("no_bot", why=why), exchange)
    outcome.notes.append("A Dialogflow integration or a Captain assistant (enterprise) on this inbox would also "
                         "make new conversations pending; the API used here does not show them (Settings -> "
                         "Integrations, Captain).")
    return outcome

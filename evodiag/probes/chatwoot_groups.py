"""chatwoot.groups: do WhatsApp group messages reach Chatwoot, and is that what the user wants?

Two Evolution switches drop group messages (evolution-api 2.3.6): the instance setting ``groupsIgnore`` makes
Baileys ignore every group JID (whatsapp.baileys.service.ts L647, L1156), for webhooks and Chatwoot alike, and
an ``ignoreJids`` entry ``"@g.us"`` in the Chatwoot settings drops groups for Chatwoot only (chatwoot.service.ts
L1911-1938; ``"@s.whatsapp.net"`` there drops every one-to-one chat). v1 names the setting ``groups_ignore``;
1.6.0-1.8.x store it true on instance/create whatever the body says (instance.controller.ts 1.8.2 L399).

What the user wants comes from ``chatwoot.expect_groups`` when set, else from Chatwoot itself: group contacts
(Evolution creates them with the group JID as ``identifier``, chatwoot.service.ts L292-330) mean groups used to
arrive. Read-only: GETs on both servers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evodiag.engine.context import ProbeContext
from evodiag.engine.results import Outcome
from evodiag.probes.chatwoot import ACCOUNT, TOKEN, payload_list
from evodiag.probes.declare import probe
from evodiag.probes.evolution import APIKEY, enrich, excerpt, is_v1

GROUP_SUFFIX = "@g.us"
CONTACT_SUFFIX = "@s.whatsapp.net"


@dataclass(frozen=True)
class GroupSettings:
    """What Evolution does with group messages for Chatwoot."""

    groups_ignore: bool
    ignore_jids: tuple[str, ...]

    @property
    def chatwoot_ignores_groups(self) -> bool:
        return GROUP_SUFFIX in self.ignore_jids

    @property
    def ignores_contacts(self) -> bool:
        return CONTACT_SUFFIX in self.ignore_jids

    @property
    def single_groups(self) -> list[str]:
        """Individual group JIDs in ignoreJids (some groups ignored, not all)."""
        return [jid for jid in self.ignore_jids if jid.endswith(GROUP_SUFFIX) and jid != GROUP_SUFFIX]

    @property
    def blocked(self) -> bool:
        return self.groups_ignore or self.chatwoot_ignores_groups


def groups_ignore_of(doc: Any) -> bool | None:
    """``settings/find``: v2 ``groupsIgnore``, v1 ``groups_ignore``; v2 answers ``null`` when nothing is stored
    (settings.service.ts 2.3.6), which Evolution treats as off."""
    if doc is None:
        return False
    if not isinstance(doc, dict):
        return None
    for key in ("groupsIgnore", "groups_ignore"):
        if key in doc:
            return bool(doc[key])
    return False


def ignore_jids_of(doc: Any) -> tuple[str, ...]:
    """``chatwoot/find`` ``ignoreJids`` (v2.0.9+; absent in v1)."""
    jids = doc.get("ignoreJids") if isinstance(doc, dict) else None
    return tuple(str(j).strip() for j in jids if str(j).strip()) if isinstance(jids, list) else ()


async def _group_contacts(ctx: ProbeContext) -> list[dict[str, Any]]:
    """Group contacts Evolution created in Chatwoot (identifier = the group JID); empty without Chatwoot."""
    if not (ctx.value("chatwoot.url") and ctx.value("chatwoot.account_id") and ctx.value("chatwoot.token")):
        return []
    exchange = await ctx.request("GET", ACCOUNT + "/contacts/search?q=" + GROUP_SUFFIX, headers=TOKEN)
    if exchange.status != 200:
        return []
    return [c for c in payload_list(exchange.json_or_none())
            if str(c.get("identifier") or "").endswith(GROUP_SUFFIX)]


def _blocker(ctx: ProbeContext, settings: GroupSettings) -> str:
    name = "groups_ignore" if is_v1(ctx) else "groupsIgnore"
    parts = []
    if settings.groups_ignore:
        parts.append(f"instance \"{ctx.value('evolution.instance')}\" has {name} true (Evolution ignores every "
                     "group message, for webhooks too)")
    if settings.chatwoot_ignores_groups:
        parts.append('its Chatwoot ignoreJids contains "@g.us" (groups are dropped for Chatwoot)')
    return " and ".join(parts)


def _fix(ctx: ProbeContext, settings: GroupSettings) -> str:
    fixes = []
    if settings.groups_ignore:
        fixes.append(ctx.text("fix_settings"))
    if settings.chatwoot_ignores_groups:
        fixes.append(ctx.text("fix_ignore_jids"))
    return " ".join(fixes)


@probe("chatwoot.groups",
       diagnoses={"blocked_expected", "blocked_history", "blocked_ok", "contacts_ignored", "flowing",
                  "flowing_unexpected", "unexpected"}, texts={"fix_ignore_jids", "fix_settings"},
       values={"blocker", "excerpt", "fix", "groups", "history_part", "intent_part", "path", "some_part", "status"},
       reads={"chatwoot.account_id", "chatwoot.expect_groups", "chatwoot.token", "chatwoot.url",
              "evolution.generation", "evolution.instance"})
async def groups(ctx: ProbeContext) -> Outcome:
    found = await ctx.request("GET", "{evolution.url}/settings/find/{evolution.instance}", headers=APIKEY)
    groups_ignore = groups_ignore_of(found.json_or_none()) if found.status == 200 else None
    if groups_ignore is None:
        return ctx.diagnose("unexpected", path="/settings/find/" + str(ctx.value("evolution.instance")),
                            status=found.status, excerpt=excerpt(found))
    chatwoot = await ctx.request("GET", "{evolution.url}/chatwoot/find/{evolution.instance}", headers=APIKEY)
    settings = GroupSettings(groups_ignore, ignore_jids_of(chatwoot.json_or_none()))
    expect = ctx.value("chatwoot.expect_groups")
    contacts = await _group_contacts(ctx)
    some = settings.single_groups
    if settings.ignores_contacts:
        name = "contacts_ignored"
    elif settings.blocked:
        name = {True: "blocked_expected", False: "blocked_ok"}.get(expect, "blocked_history" if contacts
                                                                     else "blocked_ok")
    else:
        name = "flowing_unexpected" if expect is False else "flowing"
    as_intended = (settings.blocked and expect is False) or (not settings.blocked and expect is True)
    values: dict[str, Any] = {
        "blocker": _blocker(ctx, settings), "fix": _fix(ctx, settings), "groups": len(contacts),
        "history_part": f" (Chatwoot already has {len(contacts)} group contact(s) from earlier)" if contacts else "",
        "some_part": f" ({len(some)} single group(s) listed in ignoreJids are dropped)" if some else "",
        "intent_part": ", as chatwoot.expect_groups says" if as_intended else "",
    }
    outcome = ctx.diagnose(name, **values)
    outcome.evidence.extend(e.summary() for e in (found, chatwoot))
    # JIDs are personal data: the details keep the two wildcards and a count of the single JIDs
    wildcards = [j for j in settings.ignore_jids if j in (GROUP_SUFFIX, CONTACT_SUFFIX)]
    outcome.details["groups"] = {"groups_ignore": settings.groups_ignore, "ignore_jids_wildcards": wildcards,
                                 "ignore_jids_single": len(settings.ignore_jids) - len(wildcards),
                                 "group_contacts_in_chatwoot": len(contacts), "expect_groups": expect}
    return enrich(ctx, outcome, only_findings=True)

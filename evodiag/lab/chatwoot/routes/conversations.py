"""``…/conversations`` (filter, create, show, toggle_status) and their ``…/messages``
(app/controllers/api/v1/accounts/conversations_controller.rb and conversations/messages_controller.rb)."""

from __future__ import annotations

import functools
from typing import Any

from evodiag.httpserver import Request, Response
from evodiag.lab.chatwoot import auth, operations, texts, views
from evodiag.lab.chatwoot.auth import Caller
from evodiag.lab.chatwoot.filters import (
    FilterCrash,
    FilterInvalid,
    compile_conditions,
    conversation_matcher,
)
from evodiag.lab.chatwoot.model import Conversation
from evodiag.lab.chatwoot.rails import (
    error,
    not_found,
    parse_params,
    rails_json,
    server_error,
)
from evodiag.lab.chatwoot.routes.endpoint import not_found_page, page_of
from evodiag.lab.chatwoot.state import ChatwootState


def _conversation_value(lab: ChatwootState, conv: Conversation, key: str, custom: bool) -> Any:
    if custom:
        return conv.custom_attributes.get(key)
    if key in texts.CONVERSATION_ADDITIONAL:
        return conv.additional_attributes.get(key)
    if key == "labels":
        return conv.labels
    return getattr(conv, key, None)


async def conversations_filter(lab: ChatwootState, request: Request, caller: Caller, account_id: str) -> Response:
    # 422 {"error": …} in the account locale (https://github.com/chatwoot/chatwoot/pull/8239); POST but read-only
    account = caller.account
    assert account is not None
    params = parse_params(request)
    keys = texts.conversation_filter_keys(lab.v)
    try:
        conds = compile_conditions(params.get("payload"), keys, account.conversation_custom_attributes, lab.v,
                                   lab.account_locale(account))
    except FilterInvalid as exc:
        raise error(422, str(exc)) from None
    except FilterCrash:
        raise server_error() from None
    candidates = [c for c in lab.conversations.values() if c.account_id == account.id]
    if lab.v >= (4, 1, 0) and not caller.administrator:
        # Conversations::PermissionFilterService in the filter's base relation (UNVERIFIED first version)
        user = caller.user
        candidates = [c for c in candidates if user is not None and c.inbox_id in user.inbox_ids]
    matched: list[Conversation] = []
    for conv in candidates:
        test = conversation_matcher(conds, functools.partial(_conversation_value, lab, conv),
                                    lab.clock())
        try:
            if test():
                matched.append(conv)
        except FilterCrash:
            raise server_error() from None
    matched.sort(key=lambda c: (-c.last_activity_at, -c.id))
    page, _ = page_of(params)
    user_id = caller.user.id if caller.user else None
    meta = {"mine_count": sum(1 for c in matched if user_id is not None and c.assignee_id == user_id),
            "unassigned_count": sum(1 for c in matched if c.assignee_id is None),
            "all_count": len(matched)}
    window = matched[(page - 1) * 25: page * 25]
    return rails_json({"meta": meta, "payload": [views.conversation_json(lab, c) for c in window]})


async def conversations_index(lab: ChatwootState, request: Request, caller: Caller, account_id: str) -> Response:
    """``GET …/conversations`` (ConversationFinder, read at chatwoot app/finders/conversation_finder.rb; index view
    app/views/api/v1/accounts/conversations/index.json.jbuilder): ``inbox_id`` narrows the user's assigned
    inboxes, ``status`` defaults to open ("all" = any), the counts are taken before ``assignee_type``
    narrows the list, newest activity first, 25 a page, wrapped in ``{"data": {"meta", "payload"}}``.
    # UNVERIFIED at 4.10.1: the finder read is an older revision (later ones add sort_by and more filters)."""
    account = caller.account
    assert account is not None
    params = parse_params(request)
    inbox_ids = auth.visible_inbox_ids(lab, caller)
    if params.get("inbox_id") not in (None, ""):
        inbox_ids = {i for i in inbox_ids if str(i) == str(params["inbox_id"])}
    found = [c for c in lab.conversations.values() if c.account_id == account.id and c.inbox_id in inbox_ids]
    status = params.get("status") or "open"
    if status != "all":
        found = [c for c in found if c.status == status]
    user_id = caller.user.id if caller.user else None
    mine = [c for c in found if user_id is not None and c.assignee_id == user_id]
    unassigned = [c for c in found if c.assignee_id is None]
    meta = {"mine_count": len(mine), "assigned_count": len(found) - len(unassigned),
            "unassigned_count": len(unassigned), "all_count": len(found)}
    by_assignee = {"me": mine, "unassigned": unassigned,
                   "assigned": [c for c in found if c.assignee_id is not None]}
    listed = by_assignee.get(str(params.get("assignee_type")), found)
    listed.sort(key=lambda c: (-c.last_activity_at, -c.id))
    page, _ = page_of(params)
    window = listed[(page - 1) * 25: page * 25]
    return rails_json({"data": {"meta": meta, "payload": [views.conversation_json(lab, c) for c in window]}})


async def conversations_create(lab: ChatwootState, request: Request, caller: Caller, account_id: str) -> Response:
    # pending when inbox.active_bot? even if "status":"open" is sent (https://github.com/chatwoot/chatwoot/issues/7834)
    conv = operations.create_conversation(lab, caller, parse_params(request))
    return rails_json(views.conversation_json(lab, conv))


async def conversations_show(lab: ChatwootState, request: Request, caller: Caller, account_id: str,
                             display_id: str) -> Response:
    # find_by!(display_id:) -> 404; ConversationPolicy#show? -> 401
    conv = auth.find_conversation(lab, caller, display_id)
    return rails_json(views.conversation_json(lab, conv))


async def conversations_toggle_status(lab: ChatwootState, request: Request, caller: Caller, account_id: str,
                                      display_id: str) -> Response:
    # toggle_status. Body: toggle_status.json.jbuilder opens with an *empty* `json.meta do
    # end` block, which jbuilder 2.11.5 drops (its test "empty block handling"), so the bytes are
    # {"payload":{…}} without the {"meta":{}} the reference/swagger show. Inference from the view; UNVERIFIED.
    conv = auth.find_conversation(lab, caller, display_id)
    success = operations.toggle_status(lab, caller, conv, parse_params(request))
    return rails_json({"payload": {"success": success, "conversation_id": conv.display_id,
                                      "current_status": conv.status,
                                      "snoozed_until": views.rails_time(conv.snoozed_until)}})


async def messages_index(lab: ChatwootState, request: Request, caller: Caller, account_id: str,
                         display_id: str) -> Response:
    # GET messages: meta{labels, additional_attributes, contact, assignee?, agent_last_seen_at,
    # assignee_last_seen_at}, payload = the last 20 messages (MessageFinder), oldest first
    conv = auth.find_conversation(lab, caller, display_id)
    contact = lab.contacts.get(conv.contact_id)
    meta: dict[str, Any] = {"labels": conv.labels, "additional_attributes": conv.additional_attributes,
                            "contact": views.contact_push(contact) if contact else None}
    assignee = lab.users.get(conv.assignee_id) if conv.assignee_id is not None else None
    if assignee is not None:
        meta["assignee"] = views.user_push(assignee)
    meta["agent_last_seen_at"] = views.rails_time(conv.agent_last_seen_at)
    meta["assignee_last_seen_at"] = views.rails_time(conv.assignee_last_seen_at)
    messages = lab.messages_of(conv)[-20:]
    return rails_json({"meta": meta, "payload": [views.message_json(lab, m) for m in messages]})


async def messages_create(lab: ChatwootState, request: Request, caller: Caller, account_id: str,
                          display_id: str) -> Response:
    # POST messages: incoming only on API inboxes; any builder error -> 422 {"error": …};
    # then Message#reopen_conversation
    conv = auth.find_conversation(lab, caller, display_id)
    msg = operations.create_message(lab, caller, conv, parse_params(request))
    return rails_json(views.message_json(lab, msg))


async def messages_update(lab: ChatwootState, request: Request, caller: Caller, account_id: str, display_id: str,
                          message_id: str) -> Response:
    # PATCH messages/{id}: 4.2.0+ (970e76ac); non-API inbox -> 403
    if lab.v < (4, 2, 0):
        return not_found_page(request)
    conv = auth.find_conversation(lab, caller, display_id)
    if not lab.inboxes[conv.inbox_id].api:
        raise error(403, "Message status update is only allowed for API inboxes")
    msg = lab.messages.get(int(message_id)) if message_id.isdigit() else None
    if msg is None or msg.conversation_id != conv.id:
        raise not_found()
    params = parse_params(request)
    status = params.get("status")
    if status in ("sent", "delivered", "read", "failed") and not (msg.status == "read" and status == "delivered"):
        msg.status = str(status)
        attrs = {k: v for k, v in msg.content_attributes.items() if k != "external_error"}
        if status == "failed" and params.get("external_error") is not None:
            attrs["external_error"] = params["external_error"]
        msg.content_attributes = attrs
    return rails_json(views.message_json(lab, msg))

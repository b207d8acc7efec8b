"""``…/contacts``: search, filter, create, a contact's conversations
(https://github.com/chatwoot/chatwoot/blob/98a50d12e047a49c863d3287c0946b4cacac14f1/app/controllers/api/v1/accounts/contacts_controller.rb)."""

from __future__ import annotations

import functools
import re
from typing import Any

from evodiag.httpserver import Request, Response
from evodiag.lab.chatwoot import auth, texts, views
from evodiag.lab.chatwoot.auth import Caller
from evodiag.lab.chatwoot.filters import (
    FilterCrash,
    FilterInvalid,
    compile_conditions,
    contact_matcher,
)
from evodiag.lab.chatwoot.model import Contact, Inbox
from evodiag.lab.chatwoot.rails import (
    error,
    not_found,
    parse_params,
    present,
    rails_bool,
    rails_json,
    record_invalid,
    server_error,
)
from evodiag.lab.chatwoot.routes.endpoint import page_of
from evodiag.lab.chatwoot.state import ChatwootState


def _like(pattern: str, text: str | None, case_insensitive: bool) -> bool:
    """SQL LIKE/ILIKE: ``%`` any run, ``_`` any one character."""
    if text is None:
        return False
    regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, text, re.DOTALL | (re.IGNORECASE if case_insensitive else 0)) is not None


def _contacts_page(lab: ChatwootState, params: dict[str, Any], contacts: list[Contact], count: int | None) -> Response:
    page, echoed = page_of(params)
    include = params.get("include_contact_inboxes")
    with_inboxes = str(include) == "true" if present(include) else True
    window = contacts[(page - 1) * 15: page * 15]  # RESULTS_PER_PAGE = 15
    return rails_json({"meta": {"count": count, "current_page": echoed},
                          "payload": [views.contact_json(lab, c, with_contact_inboxes=with_inboxes)
                                      for c in window]})


async def contacts_search(lab: ChatwootState, request: Request, caller: Caller, account_id: str) -> Response:
    # search: name/email/phone ILIKE, identifier LIKE, company_name ILIKE on %q%, only
    # resolved contacts, 15 per page; current_page echoes params[:page] (a string) or 1
    assert caller.account is not None
    params = parse_params(request)
    query = params.get("q")
    if not present(query):
        if lab.search_without_q_422:
            raise error(422, texts.SEARCH_NEEDS_Q)
        # `render … if params[:q].blank? && return` returns before rendering: the template renders with nils
        # (see ChatwootState.search_without_q_422; UNVERIFIED)
        return rails_json({"meta": {"count": None, "current_page": page_of(params)[1]}, "payload": []})
    pattern = f"%{str(query).strip()}%"
    hits = [c for c in lab.contacts_of(caller.account.id) if c.resolved and (
        _like(pattern, c.name, True) or _like(pattern, c.email, True) or _like(pattern, c.phone_number, True)
        or _like(pattern, c.identifier, False)
        or _like(pattern, _str(c.additional_attributes.get("company_name")), True))]
    return _contacts_page(lab, params, hits, len(hits))


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _contact_value(contact: Contact, key: str, custom: bool) -> Any:
    if custom:
        return contact.custom_attributes.get(key)
    if key in texts.CONTACT_ADDITIONAL:
        return contact.additional_attributes.get(key)
    return getattr(contact, key, None)


async def contacts_filter(lab: ChatwootState, request: Request, caller: Caller, account_id: str) -> Response:
    # contacts keys of lib/filters/filter_keys.yml and app/services/contacts/filter_service.rb; the identifier
    # operator error is the one Evolution 1.7.0-1.7.2 hit (fixed by https://github.com/evolution-foundation/evolution-api/pull/538)
    account = caller.account
    assert account is not None
    params = parse_params(request)
    try:
        conds = compile_conditions(params.get("payload"), texts.contact_filter_keys(lab.v),
                                   account.contact_custom_attributes, lab.v, lab.account_locale(account))
    except FilterInvalid as exc:
        raise error(422, str(exc)) from None
    except FilterCrash:
        raise server_error() from None
    matched: list[Contact] = []
    for contact in lab.contacts_of(account.id):
        if not contact.resolved:
            continue
        test = contact_matcher(conds, functools.partial(_contact_value, contact), lab.clock())
        try:
            if test():
                matched.append(contact)
        except FilterCrash:
            raise server_error() from None
    return _contacts_page(lab, params, matched, len(matched))


EMAIL_RE = re.compile(r"\A[^@\s]+@[^@\s]+\Z")  # Devise.email_regexp
PHONE_RE = re.compile(r"\+[1-9]\d{1,14}\Z")  # app/models/contact.rb (unanchored at the start, as in Ruby)


async def contacts_create(lab: ChatwootState, request: Request, caller: Caller, account_id: str) -> Response:
    # POST contacts: E.164 phone, per-account uniqueness of email (case-insensitive),
    # identifier and phone -> 422 {"message": …, "attributes": […]} (render_record_invalid). Messages in validation
    # declaration order (app/models/contact.rb at 4.10.1); the model's custom texts are always English (I18n.t at
    # class load).
    account = caller.account
    assert account is not None
    params = parse_params(request)
    email = str(params["email"]).strip().lower() if present(params.get("email")) else None
    identifier = _str(params.get("identifier")) if present(params.get("identifier")) else None
    phone = _str(params.get("phone_number")) if present(params.get("phone_number")) else None
    others = [c for c in lab.contacts.values() if c.account_id == account.id]
    errors: list[tuple[str, str]] = []
    if email is not None:
        if any((c.email or "").lower() == email for c in others):
            errors.append(("email", texts.TAKEN))
        if not EMAIL_RE.search(email):
            errors.append(("email", texts.EMAIL_INVALID))
    if identifier is not None and any(c.identifier == identifier for c in others):
        errors.append(("identifier", texts.TAKEN))
    if phone is not None:
        if any(c.phone_number == phone for c in others):
            errors.append(("phone_number", texts.TAKEN))
        if not PHONE_RE.search(phone):
            errors.append(("phone_number", texts.PHONE_INVALID))
    if errors:
        raise record_invalid(errors)
    inbox: Inbox | None = None
    if present(params.get("inbox_id")):
        found = lab.inboxes.get(int(params["inbox_id"])) if str(params["inbox_id"]).isdigit() else None
        if found is None or found.account_id != account.id:
            raise not_found()  # the transaction rolls the contact back
        inbox = found
    contact = lab.add_contact(account.id, _str(params.get("name")) or "", phone_number=phone, email=email,
                              identifier=identifier, blocked=rails_bool(params.get("blocked")))
    for key in ("additional_attributes", "custom_attributes"):
        if isinstance(params.get(key), dict):
            setattr(contact, key, dict(params[key]))
    ci = lab.contact_inbox_for(contact, inbox, _str(params.get("source_id"))) if inbox is not None else None
    return rails_json({"payload": {
        "contact": views.contact_json(lab, contact, with_contact_inboxes=True),
        "contact_inbox": {"inbox": views.inbox_record(inbox) if inbox is not None else None,
                          "source_id": ci.source_id if ci is not None else None},
    }})


async def contact_conversations(lab: ChatwootState, request: Request, caller: Caller, account_id: str,
                                contact_id: str) -> Response:
    # contacts/conversations_controller.rb: {"payload":[…]}, limit 20; id DESC up to 4.0.1, last_activity_at DESC
    # from 4.0.2 (https://github.com/chatwoot/chatwoot/pull/10825);
    # limited to the caller's assigned inboxes; unknown contact -> 404 (ensure_contact)
    account = caller.account
    assert account is not None
    contact = lab.contacts.get(int(contact_id)) if contact_id.isdigit() else None
    if contact is None or contact.account_id != account.id:
        raise not_found()
    visible = auth.visible_inbox_ids(lab, caller)
    convs = [c for c in lab.conversations.values() if c.contact_id == contact.id and c.inbox_id in visible]
    if lab.v >= (4, 0, 2):
        convs.sort(key=lambda c: (-c.last_activity_at, -c.id))
    else:
        convs.sort(key=lambda c: -c.id)
    return rails_json({"payload": [views.conversation_json(lab, c) for c in convs[:20]]})

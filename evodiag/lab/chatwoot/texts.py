"""Fixed strings and tables of the Chatwoot emulator: error texts per locale, filter keys per version, the
bot-accessible endpoints. Everything here is data quoted from the reference (and the YAML/locale files it cites)."""

from __future__ import annotations

from evodiag.lab.chatwoot.model import Version

# --- fixed English texts (render_unauthorized / render_not_found_error carry literal strings) ---------------
# app/controllers/concerns/{access_token_auth_helper,ensure_current_account_helper,request_exception_handler}.rb,
# identical at 3.8.0 and 4.10.1:
# https://github.com/chatwoot/chatwoot/tree/ecd4892a23535c92c4f3752340e4ad677b1433c9/app/controllers/concerns
INVALID_TOKEN = "Invalid Access Token"
NOT_FOR_BOTS = "Access to this endpoint is not authorized for bots"
NOT_FOUND = "Resource could not be found"
NOT_MEMBER = "You are not authorized to access this account"
BOT_NOT_IN_ACCOUNT = "Bot is not authorized to access this account"
SUSPENDED = "Account is suspended"
NOT_ALLOWED = "You are not authorized to do this action"
# `search` in
# https://github.com/chatwoot/chatwoot/blob/98a50d12e047a49c863d3287c0946b4cacac14f1/app/controllers/api/v1/accounts/contacts_controller.rb
SEARCH_NEEDS_Q = "Specify search string with parameter q"
# `message_type` in
# https://github.com/chatwoot/chatwoot/blob/ecd4892a23535c92c4f3752340e4ad677b1433c9/app/builders/messages/message_builder.rb
INCOMING_ONLY_API = "Incoming messages are only allowed in Api inboxes"

# --- devise unauthenticated (the locale is the installation default or ?locale=) ------------------------------
# config/locales/devise.en.yml, devise.pt_BR.yml L16
DEVISE_UNAUTHENTICATED: dict[str, str] = {
    "en": "You need to sign in or sign up before continuing.",
    "pt_BR": "Você precisa entrar ou se cadastrar antes de continuar.",
}

# --- filter errors: config/locales/{en,pt_BR}.yml errors.custom_filters (identical at 3.8.0 and 4.10.1) --------
# https://github.com/chatwoot/chatwoot/blob/ecd4892a23535c92c4f3752340e4ad677b1433c9/config/locales/en.yml
# https://github.com/chatwoot/chatwoot/blob/ecd4892a23535c92c4f3752340e4ad677b1433c9/config/locales/pt_BR.yml
FILTER_ERRORS: dict[str, dict[str, str]] = {
    "en": {
        "invalid_attribute": "Invalid attribute key - [{key}]. The key should be one of [{allowed_keys}] or a "
                             "custom attribute defined in the account.",
        "invalid_operator": "Invalid operator. The allowed operators for {attribute_name} are [{allowed_keys}].",
        "invalid_value": "Invalid value. The values provided for {attribute_name} are invalid",
        "invalid_query_operator": 'Query operator must be either "AND" or "OR".',
    },
    "pt_BR": {
        "invalid_attribute": "Chave de atributo inválido - [{key}]. A chave deve ser uma das [{allowed_keys}] ou "
                             "um atributo personalizado definido na conta.",
        "invalid_operator": "Operador inválido. Os operadores permitidos para {attribute_name} são "
                            "[{allowed_keys}].",
        "invalid_value": "Valor inválido. Os valores fornecidos para {attribute_name} são inválidos",
        "invalid_query_operator": 'Operador de consulta deve ser "E" ou "OU".',
    },
}

# --- record validation texts --------------------------------------------------------------------------------
# Inbox name (2.7 .. 4.2.x): errors.inboxes.validations.name in
# https://github.com/chatwoot/chatwoot/blob/98a50d12e047a49c863d3287c0946b4cacac14f1/config/locales/en.yml
# The model evaluates I18n.t at class-load time, i.e. in the boot locale (en), whatever the account locale.
INBOX_NAME_INVALID = "should not start or end with symbols, and it should not have < > / \\ @ characters."
# errors.contacts.phone_number.invalid / email.invalid in
# https://github.com/chatwoot/chatwoot/blob/ecd4892a23535c92c4f3752340e4ad677b1433c9/config/locales/en.yml
PHONE_INVALID = "should be in e164 format"
EMAIL_INVALID = "Invalid email"
TAKEN = "has already been taken"  # Rails default errors.messages.taken; UNVERIFIED for pt_BR accounts
BLANK = "can't be blank"  # Rails default errors.messages.blank

ATTRIBUTE_NAMES: dict[str, str] = {
    "name": "Name", "email": "Email", "identifier": "Identifier", "phone_number": "Phone number",
}


def locale_or_default(locale: str | None, default: str) -> str:
    """The lab knows en and pt_BR; anything else falls back like ``SwitchLocale#set_locale`` (to the default)."""
    if locale in DEVISE_UNAUTHENTICATED:
        return locale  # type: ignore[return-value]
    return default if default in DEVISE_UNAUTHENTICATED else "en"


# --- filter keys ---------------------------------------------------------------------------------------------
Operators = tuple[str, ...]
_EQ: Operators = ("equal_to", "not_equal_to")
_EQ_PRESENT: Operators = ("equal_to", "not_equal_to", "is_present", "is_not_present")
_EQ_CONTAINS: Operators = ("equal_to", "not_equal_to", "contains", "does_not_contain")
_DATE: Operators = ("is_greater_than", "is_less_than", "days_before")
_ALL_37: Operators = ("equal_to", "not_equal_to", "contains", "does_not_contain", "is_present", "is_not_present")

# <= 3.7.x (operators were not validated then):
# https://github.com/chatwoot/chatwoot/blob/e1e88571958a690a6379f27ca5de67f1e7caaa81/lib/filters/filter_keys.json
CONVERSATION_KEYS_3_7: dict[str, Operators] = {
    "status": _EQ, "assignee_id": _ALL_37, "contact_id": _ALL_37, "inbox_id": _ALL_37, "team_id": _ALL_37,
    "display_id": _ALL_37, "campaign_id": _ALL_37, "labels": ("exactly_equal_to", "contains", "does_not_contain"),
    "browser_language": _EQ_CONTAINS, "conversation_language": _EQ,
    "country_code": ("equal_to", "not_equal_to", "contains", "does_not_contain", "present", "is_not_present"),
    "referer": ("equal_to", "not_equal_to", "contains", "does_not_contain", "present", "is_not_present"),
    "created_at": _DATE, "last_activity_at": _DATE, "mail_subject": _EQ_CONTAINS,
}
# 3.8.0 - 4.9.x (15 keys, in filter_keys.yml order):
# https://github.com/chatwoot/chatwoot/blob/29f07e7e06a9702d8663897143a17b991db022fc/lib/filters/filter_keys.yml
CONVERSATION_KEYS_3_8: dict[str, Operators] = {
    "status": _EQ, "assignee_id": _EQ_PRESENT, "inbox_id": _EQ_PRESENT, "team_id": _EQ_PRESENT,
    "priority": _EQ, "display_id": _EQ_CONTAINS, "campaign_id": _EQ_PRESENT, "labels": _EQ_PRESENT,
    "browser_language": _EQ, "conversation_language": _EQ, "country_code": _EQ, "referer": _EQ_CONTAINS,
    "created_at": _DATE, "last_activity_at": _DATE, "mail_subject": _EQ_CONTAINS,
}
# >= 4.10.0: minus country_code (commit 7b51939f, https://github.com/chatwoot/chatwoot/pull/13186)
CONVERSATION_KEYS_4_10: dict[str, Operators] = {k: v for k, v in CONVERSATION_KEYS_3_8.items() if k != "country_code"}

# `contacts` keys (3.8.0 - 4.10.1):
# https://github.com/chatwoot/chatwoot/blob/29f07e7e06a9702d8663897143a17b991db022fc/lib/filters/filter_keys.yml
CONTACT_KEYS_3_8: dict[str, Operators] = {
    "name": _EQ_CONTAINS, "phone_number": (*_EQ_CONTAINS, "starts_with"), "email": _EQ_CONTAINS,
    "identifier": _EQ, "country_code": _EQ, "city": _EQ_CONTAINS, "company": _EQ_CONTAINS,
    "labels": _EQ_PRESENT, "created_at": _DATE, "last_activity_at": _DATE, "blocked": _EQ,
}
# `contacts` in lib/filters/filter_keys.json at 3.7.0 (no validation at 3.7.0 anyway)
CONTACT_KEYS_3_7: dict[str, Operators] = {
    "name": _EQ_CONTAINS, "phone_number": (*_EQ_CONTAINS, "starts_with"), "email": _EQ_CONTAINS,
    "identifier": _EQ, "country_code": _EQ, "city": _EQ_CONTAINS, "browser_language": _EQ_CONTAINS,
    "company": _EQ_CONTAINS, "labels": ("exactly_equal_to", "contains", "does_not_contain"),
    "created_at": _DATE, "last_activity_at": _DATE,
}

# Where each key lives (for the in-memory evaluation); anything else is a standard column.
CONVERSATION_ADDITIONAL = frozenset({"browser_language", "conversation_language", "country_code", "referer",
                                     "mail_subject"})
CONTACT_ADDITIONAL = frozenset({"country_code", "city", "company"})


def conversation_filter_keys(version: Version) -> dict[str, Operators]:
    if version < (3, 8, 0):
        return CONVERSATION_KEYS_3_7
    if version < (4, 10, 0):
        return CONVERSATION_KEYS_3_8
    return CONVERSATION_KEYS_4_10


def contact_filter_keys(version: Version) -> dict[str, Operators]:
    return CONTACT_KEYS_3_7 if version < (3, 8, 0) else CONTACT_KEYS_3_8


# --- bot tokens ----------------------------------------------------------------------------------------------
# AccessTokenAuthHelper::BOT_ACCESSIBLE_ENDPOINTS (+ custom_attributes from 4.2.0, commit 27430752)
def bot_accessible(action: str, version: Version) -> bool:
    allowed = {"conversations#toggle_status", "conversations#toggle_priority", "conversations#create",
               "conversations#update", "conversations/messages#create", "conversations/assignments#create"}
    if version >= (4, 2, 0):
        allowed.add("conversations#custom_attributes")
    return action in allowed

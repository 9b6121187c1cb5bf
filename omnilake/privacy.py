"""Pseudonymisation of direct identifiers, as Spark Column expressions every silver job shares.

Direct identifiers (e-mail, phone, names, addresses, IPs, loyalty cards) never leave bronze in clear
text. Silver keeps, instead:

- a **pseudonym**: HMAC-SHA256 of the *normalised* identifier under ``OMNILAKE_PSEUDONYM_KEY``, as
  64 lower-case hex characters. The same person typing ``" John.Doe@Example.COM"`` at a till and
  ``john.doe@example.com`` online gets the same pseudonym, so identity resolution can join on it;
  without the key nobody can test a guessed address against it (a plain SHA-256 of an e-mail can be
  reversed with a list of addresses).
- a **masked display form** (``j***@example.com``, ``+1******4567``) for people who need to
  recognise a record without being able to contact its owner.

``identifier_hash(identifier_type, column)`` is the one entry point for keys of
``silver.customer_identifiers``: every writer and every reader of that table must hash through it, or
the same identifier gets two pseudonyms.

Normalisation rules (deliberately conservative: they only undo how people and systems *write* an
identifier, never merge two mailboxes or two lines):

- e-mail: surrounding whitespace (spaces, tabs) removed, lower-cased. Dots and ``+tags`` in the local
  part are kept: they are significant at most providers (only Gmail ignores them), and a
  ``name+shop@`` address is a separate login the identity graph links by other evidence. A value
  without text on both sides of one ``@`` is not an e-mail and normalises to null.
- phone: digits only, in E.164. Ten digits get the default country code (``+1``, NANP); eleven digits
  starting with that code get a ``+``; a value written with a leading ``+`` (or ``00``) keeps its own
  country code when it has 8 to 15 digits. Anything else normalises to null.
- loyalty card, web customer id, member id, device: surrounding whitespace removed; loyalty cards
  also lose spaces and dashes (``6045 1234-...`` as printed). Empty normalises to null.
- IP address: surrounding whitespace removed, lower-cased (IPv6 hex).

Spark SQL has ``sha2`` but no ``hmac`` (neither Sail 0.7.2 nor Apache Spark), so HMAC is built from
its definition, RFC 2104: ``H((K ^ opad) || H((K ^ ipad) || m))``. The key is known on the driver, so
the two padded keys are computed here in Python and enter the plan as binary literals; only the
message-dependent hashing runs in the engine. The padded keys are as secret as the key itself: the
query plan carries them to the engine (a local Sail, or a cluster inside the same trust boundary).
"""

from __future__ import annotations

import hashlib
import hmac
from functools import cache

from pyspark.sql import Column
from pyspark.sql import functions as F

from omnilake.settings import get_settings

DEFAULT_COUNTRY_CODE = "1"
IDENTIFIER_TYPES = ("web_customer_id", "email", "phone", "loyalty_card", "member_id", "device", "ip")

_BLOCK_SIZE = 64  # SHA-256 block size in bytes
_WHITESPACE_AT_ENDS = r"^\s+|\s+$"


# --- the pseudonym -------------------------------------------------------------------------------


def _key_bytes(key: str | bytes | None) -> bytes:
    if key is None:
        key = get_settings().pseudonym_key.get_secret_value()
    return key.encode("utf-8") if isinstance(key, str) else key


@cache
def _padded_keys(key: bytes) -> tuple[str, str]:
    """(K ^ ipad, K ^ opad) as hex, per RFC 2104 (a key longer than a block is hashed first)."""
    if len(key) > _BLOCK_SIZE:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK_SIZE, b"\0")
    return bytes(b ^ 0x36 for b in key).hex(), bytes(b ^ 0x5C for b in key).hex()


def pseudonym(value: Column | str, key: str | bytes | None = None) -> Column:
    """HMAC-SHA256 of ``value`` (a string column, UTF-8) as 64 hex characters; null stays null.

    Pass a value that is already normalised (``identifier_hash`` does both). ``key`` defaults to
    ``OMNILAKE_PSEUDONYM_KEY``; tests pass their own.
    """
    inner_key, outer_key = _padded_keys(_key_bytes(key))
    message = F.encode(F.col(value) if isinstance(value, str) else value, "UTF-8")
    inner = F.sha2(F.concat(F.unhex(F.lit(inner_key)), message), 256)
    outer = F.sha2(F.concat(F.unhex(F.lit(outer_key)), F.unhex(inner)), 256)
    return F.when(message.isNotNull(), outer)


def pseudonym_of(text: str, key: str | bytes | None = None) -> str:
    """The same pseudonym computed in Python, for a value known on the driver (and for tests)."""
    return hmac.new(_key_bytes(key), text.encode("utf-8"), hashlib.sha256).hexdigest()


# --- normalisers ---------------------------------------------------------------------------------


def _col(value: Column | str) -> Column:
    return F.col(value) if isinstance(value, str) else value


def _stripped(value: Column | str) -> Column:
    """Whitespace (not only spaces, as ``trim`` does) removed at both ends; empty becomes null."""
    return F.nullif(F.regexp_replace(_col(value).cast("string"), _WHITESPACE_AT_ENDS, ""), F.lit(""))


def normalise_email(value: Column | str) -> Column:
    """Trimmed and lower-cased; null unless it looks like ``local@domain``."""
    email = F.lower(_stripped(value))
    return F.when(email.rlike(r"^[^@\s]+@[^@\s]+$"), email)


def normalise_phone(value: Column | str, default_country_code: str = DEFAULT_COUNTRY_CODE) -> Column:
    """E.164 (``+15551234567``), or null when the digits cannot be a phone number."""
    text = _stripped(value)
    digits = F.regexp_replace(text, "[^0-9]", "")
    international = text.startswith("+") | text.startswith("00")
    international_digits = F.when(text.startswith("00"), F.substring(digits, 3, 15)).otherwise(digits)
    national_length = 10  # NANP; other default countries would need their own rule
    return (
        F.when(
            international & F.length(international_digits).between(8, 15),
            F.concat(F.lit("+"), international_digits),
        )
        .when(F.length(digits) == national_length, F.concat(F.lit("+" + default_country_code), digits))
        .when(
            (F.length(digits) == national_length + len(default_country_code))
            & digits.startswith(default_country_code),
            F.concat(F.lit("+"), digits),
        )
    )


def normalise_loyalty_card(value: Column | str) -> Column:
    """Digits and letters only (cards are printed with spaces or dashes); null when empty."""
    return F.nullif(F.regexp_replace(_stripped(value), r"[\s-]", ""), F.lit(""))


def normalise_identifier(identifier_type: str, value: Column | str) -> Column:
    """The normalised form of an identifier of ``identifier_type`` (one of ``IDENTIFIER_TYPES``)."""
    if identifier_type == "email":
        return normalise_email(value)
    if identifier_type == "phone":
        return normalise_phone(value)
    if identifier_type == "loyalty_card":
        return normalise_loyalty_card(value)
    if identifier_type == "ip":
        return F.lower(_stripped(value))
    if identifier_type in IDENTIFIER_TYPES:
        return _stripped(value)
    raise ValueError(f"unknown identifier type {identifier_type!r}; expected one of {IDENTIFIER_TYPES}")


def identifier_hash(identifier_type: str, value: Column | str, key: str | bytes | None = None) -> Column:
    """``pseudonym(normalise_identifier(...))``: the ``identifier_hash`` of silver.customer_identifiers."""
    return pseudonym(normalise_identifier(identifier_type, value), key)


# --- masked display forms ------------------------------------------------------------------------


def mask_email(value: Column | str) -> Column:
    """``john.doe@example.com`` -> ``j***@example.com`` (normalises first; null when not an e-mail)."""
    email = normalise_email(value)
    return F.concat(F.substring(email, 1, 1), F.lit("***@"), F.substring_index(email, "@", -1))


def mask_phone(value: Column | str) -> Column:
    """``(555) 123-4567`` -> ``+1******4567``: the first two characters of the E.164 form and the last
    four digits, a star for each digit between (normalises first; null when not a phone)."""
    phone = normalise_phone(value)
    return F.concat(
        F.substring(phone, 1, 2),
        F.repeat(F.lit("*"), F.length(phone) - 6),
        F.substring(phone, -4, 4),
    )

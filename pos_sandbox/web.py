"""What the dialects' pages and request handlers share, written once.

* Pages: ``template`` (the ``templates/`` folder), the page shell (``render_page``), the
  outcome panel every provider's end pages use (``render_outcome`` / ``outcome_page``), the
  labelled text input of the card forms (``text_field``), the card form a shopper fills in on
  the JustiFi and ReCharge pages (``CardForm``), and urlencoded form bodies (``form_fields``).
* Request bodies and values: JSON objects (``json_object``), the control API's bodies and
  refusals and the request gate (``control_body`` / ``control_error`` / ``hold_requests`` /
  ``wait_parked``), JSON with exact decimals
  (``loads_exact``, ``plain``, ``money``) and ``is_int``.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from string import Template
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.responses import HTMLResponse, JSONResponse, Response

from . import cards

if TYPE_CHECKING:
    from starlette.requests import Request

    from .state import Sandbox

# Customer pages are never cached: each shows a checkout's state at this moment.
NO_STORE = {"Cache-Control": "no-store"}
CENT = Decimal("0.01")
_EXPIRY = re.compile(r"^\s*(\d{1,2})\s*/?\s*(\d{2}|\d{4})\s*$")


# -- templates and pages -------------------------------------------------------------------


def template(name: str) -> Template:
    """``templates/<name>`` of this package, as a ``string.Template``."""
    text = resources.files(__package__).joinpath("templates", name).read_text(encoding="utf-8")
    return Template(text)


_PAGE = template("page.html")
_OUTCOME = template("outcome.html")


def render_page(title: str, content: str) -> str:
    """The page shell around ``content`` (already HTML); ``title`` is escaped here."""
    return _PAGE.substitute(title=html.escape(title), content=content)


def render_outcome(
    page_id: str, heading: str, message: str, *, tone: str, symbol: str, extra: str = ""
) -> str:
    """An end page: a badge (``tone``: ok, warn, bad), a heading and a message.

    ``extra`` is HTML put after the escaped message (a link back to the merchant).
    """
    content = _OUTCOME.substitute(
        page_id=page_id,
        heading=html.escape(heading),
        message=html.escape(message) + extra,
        tone=tone,
        symbol=symbol,
    )
    return render_page(heading, content)


def outcome_page(
    page_id: str,
    heading: str,
    message: str,
    *,
    tone: str,
    symbol: str,
    status: int = 200,
    extra: str = "",
) -> HTMLResponse:
    body = render_outcome(page_id, heading, message, tone=tone, symbol=symbol, extra=extra)
    return HTMLResponse(body, status_code=status, headers=NO_STORE)


def checkout_not_found_page() -> HTMLResponse:
    """404 for a hosted checkout page's address that names no checkout."""
    return outcome_page(
        "checkout-not-found",
        "Checkout Not Found",
        "There is no checkout at this address. Check the link you were given.",
        tone="bad",
        symbol="?",
        status=404,
    )


def text_field(
    element_id: str,
    name: str,
    label: str,
    value: str,
    error: str,
    *,
    autocomplete: str,
    kind: str = "text",
    required: bool = True,
    spellcheck: bool = False,
    numeric: bool = False,
    placeholder: str = "",
    maxlength: int | None = None,
) -> str:
    """A labelled input with its error line (``aria-invalid`` when ``error`` is not empty).

    ``spellcheck``: leave the browser's spell checking on (card numbers and names turn it off).
    """
    attributes = [
        f'id="{element_id}"',
        f'name="{name}"',
        f'type="{kind}"',
        f'autocomplete="{autocomplete}"',
        f'value="{html.escape(value)}"',
    ]
    if required:
        attributes.append("required")
    if not spellcheck:
        attributes.append('spellcheck="false"')
    attributes.append(f'aria-describedby="{element_id}-error"')
    if numeric:
        attributes.append('inputmode="numeric"')
    if placeholder:
        attributes.append(f'placeholder="{html.escape(placeholder)}"')
    if maxlength:
        attributes.append(f'maxlength="{maxlength}"')
    if error:
        attributes.append('aria-invalid="true"')
    return (
        f'    <div class="field">\n'
        f'      <label for="{element_id}">{html.escape(label)}</label>\n'
        f"      <input {' '.join(attributes)}>\n"
        f'      <p class="field-error" id="{element_id}-error">{html.escape(error)}</p>\n'
        f"    </div>"
    )


def with_query(url: str, name: str, value: str) -> str:
    """``url`` with ``name=value`` added to its query (what it had is kept)."""
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), (name, value)]
    return urlunsplit(parts._replace(query=urlencode(query)))


async def form_fields(request: Request) -> dict[str, str]:
    """A plain urlencoded form, parsed here so no multipart dependency is needed."""
    raw = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[-1] for name, values in raw.items()}


# -- the card form -------------------------------------------------------------------------


@dataclass
class CardForm:
    """What the person typed, and what is wrong with it (field name → message)."""

    name: str = ""
    number: str = ""
    expiry: str = ""
    cvc: str = ""
    postal: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    expiry_parts: tuple[int, int] | None = None

    @classmethod
    def from_post(cls, fields: dict[str, str]) -> CardForm:
        return cls(
            name=fields.get("cardholder_name", "").strip(),
            number=fields.get("card_number", "").strip(),
            expiry=fields.get("card_expiry", "").strip(),
            cvc=fields.get("card_cvc", "").strip(),
            postal=fields.get("postal_code", "").strip(),
        )

    def validate(self, sandbox: Sandbox) -> None:
        if not self.name:
            self.errors["name"] = "Enter the name on the card."
        digits = cards.normalize_number(self.number)
        brand = cards.detect_brand(digits) if digits.isdigit() else None
        if not digits:
            self.errors["number"] = "Enter your card number."
        elif not cards.luhn_valid(digits):
            self.errors["number"] = "Your card number is invalid."
        elif brand is None:
            self.errors["number"] = "This card brand is not accepted."
        match = _EXPIRY.match(self.expiry)
        if not self.expiry:
            self.errors["expiry"] = "Enter the expiry date."
        elif match is None or (parts := cards.parse_expiry(*match.groups())) is None:
            self.errors["expiry"] = "Enter the expiry date as MM/YY."
        elif cards.is_expired(*parts, sandbox.now()):
            self.errors["expiry"] = "Your card has expired."
        else:
            self.expiry_parts = parts
        cvc_digits = cards.cvc_length(brand) if brand else None
        if not self.cvc:
            self.errors["cvc"] = "Enter the security code."
        elif not self.cvc.isdigit() or (cvc_digits and len(self.cvc) != cvc_digits):
            self.errors["cvc"] = f"The security code is {cvc_digits or '3 or 4'} digits."
        if not self.postal:
            self.errors["postal"] = "Enter your postal code."
        elif not (
            3 <= len(self.postal) <= 10 and all(c.isalnum() or c in " -" for c in self.postal)
        ):
            self.errors["postal"] = "Enter a valid postal code."


# -- request bodies and values -------------------------------------------------------------


async def json_object(request: Request, *, refuse_deep: bool = False) -> dict[str, Any] | None:
    """The JSON object the request carries; None for no JSON, bad JSON or another value.

    ``refuse_deep``: a body nested too deeply to parse is not taken for "no object": its
    RecursionError reaches the app's handler, which answers 400 "nested too deeply".
    """
    malformed = ValueError if refuse_deep else (ValueError, RecursionError)
    try:
        body = await request.json()
    except malformed:  # ValueError includes UnicodeDecodeError
        return None
    return body if isinstance(body, dict) else None


async def control_body(request: Request, *, refuse_deep: bool = False) -> dict[str, Any]:
    """A control call's JSON object; ``{}`` for anything else (see ``json_object``)."""
    body = await json_object(request, refuse_deep=refuse_deep)
    return {} if body is None else body


def control_error(message: str) -> Response:
    """A control call refused: 400 ``{"error": message}``."""
    return JSONResponse({"error": message}, status_code=400)


async def hold_requests(request: Request, sandbox: Sandbox) -> Response:
    """``{"enabled": true}`` parks mutations after their key is claimed (``RequestGate``)."""
    enabled = (await control_body(request)).get("enabled")
    if not isinstance(enabled, bool):
        return control_error("'enabled' must be true or false")
    if enabled:
        sandbox.gate.hold()
    else:
        sandbox.gate.release()
    return JSONResponse({"enabled": enabled, "parked": sandbox.gate.parked})


async def wait_parked(sandbox: Sandbox, count: int, seconds: float) -> Response:
    """Answers once ``count`` requests are parked at the gate (408 after ``seconds``)."""
    try:
        async with asyncio.timeout(seconds):
            await sandbox.gate.wait_parked(count)
    except TimeoutError:
        return JSONResponse({"parked": sandbox.gate.parked}, status_code=408)
    return JSONResponse({"parked": sandbox.gate.parked})


def is_int(value: Any) -> bool:
    """An integer, and not a bool (JSON's true is no amount)."""
    return isinstance(value, int) and not isinstance(value, bool)


def loads_exact(raw: bytes) -> Any:
    """JSON with its decimals kept exact (``Decimal``); NaN and Infinity are refused."""
    return json.loads(raw, parse_float=Decimal, parse_constant=_reject_constant)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def plain(value: Any) -> Any:
    """JSON from a request with its exact decimals turned back into plain numbers."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def money(value: Decimal) -> str:
    """A decimal amount as two-place text: ``Decimal("20.5")`` → ``"20.50"``."""
    return str(value.quantize(CENT))

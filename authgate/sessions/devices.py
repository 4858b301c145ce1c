"""A readable device name for a session ("Firefox 133 on Windows") from its user agent.

The parsing is ``ua-parser`` with the regexes of ``ua-parser-builtins``, shipped in the
wheel: nothing is fetched at run time. An agent it does not know (an API client such as
``acme-sync/4.2``) is named by its own leading product token ("acme-sync 4.2"), so two
clients stay apart in the session list.

Whatever comes from the agent, through ua-parser's regex groups or as the product token,
is cleaned down to ASCII letters, digits, spaces and ``.-_+``: a crafted agent cannot put
control characters, markup or other text of its choosing into the name.
"""

from __future__ import annotations

import re
from functools import lru_cache

import ua_parser

# The session store keeps at most 256 characters of a user agent; reading more would only
# let a crafted header make the regexes slower, never the answer better.
MAX_PARSED = 256
# Families come out of regex groups, so a crafted agent can put its own text in them.
MAX_DESCRIPTION = 80
UNKNOWN = "Unknown device"
# A name made of the product token fits the device field of a session whole (see
# ``authgate.sessions.layout.MAX_DEVICE_BYTES``, 37 bytes; it is ASCII, a byte a character).
MAX_PRODUCT = 37
# The generic token of every browser: it says nothing about which one.
GENERIC_PRODUCTS = {"mozilla"}

# What a product token keeps, and what ua-parser's families and versions keep (a space too).
_NOT_PRODUCT = re.compile(r"[^A-Za-z0-9._+-]+")
_NOT_NAME = re.compile(r"[^A-Za-z0-9 ._+-]+")
_SPACES = re.compile(r" {2,}")

# ua-parser's names where people know another one (the system already says "phone").
BROWSER_NAMES = {
    "Mobile Safari": "Safari",
    "Chrome Mobile": "Chrome",
    "Chrome Mobile iOS": "Chrome",
    "Firefox Mobile": "Firefox",
    "Firefox iOS": "Firefox",
    "Edge Mobile": "Edge",
    "HeadlessChrome": "Headless Chrome",
}
OS_NAMES = {"Mac OS X": "macOS", "Chrome OS": "ChromeOS"}
# On these systems the device ("iPhone", "iPad") says more than the system's name.
DEVICE_OVER_OS = {"iOS", "iPadOS"}


def describe_device(user_agent: str) -> str:
    """A short name of the browser and system behind ``user_agent``.

    Args:
        user_agent: the ``User-Agent`` header as the session stored it (may be empty or junk).

    Returns:
        "Firefox 133 on Windows", "Safari 17 on iPhone", "curl 8", the agent's own product
        ("acme-sync 4.2", "acme-sync 4.2 on Linux") when ua-parser knows no browser in it,
        or "Unknown device" for an empty agent or one without a usable product token;
        never longer than ``MAX_DESCRIPTION`` characters, and only ASCII letters, digits,
        spaces, ``.-_+`` (and "…" where a long name was cut).
    """
    return _describe(user_agent[:MAX_PARSED].strip())


@lru_cache(maxsize=1024)  # a user's agents repeat on every listing of their sessions
def _describe(user_agent: str) -> str:
    if not user_agent:
        return UNKNOWN
    result = ua_parser.parse(user_agent).with_defaults()  # no match: family "Other"
    browser = _named(result.user_agent.family, result.user_agent.major)
    system = _system(result)
    if browser:
        text = f"{browser} on {system}" if system else browser
    else:
        text = _unknown_browser(product_of(user_agent), system)
    return text if len(text) <= MAX_DESCRIPTION else text[: MAX_DESCRIPTION - 1] + "…"


def _unknown_browser(product: str, system: str) -> str:
    """The name of an agent whose browser ua-parser does not know, from its own product."""
    if not system:
        return product or UNKNOWN
    if not product or product.split(" ", 1)[0].lower() in GENERIC_PRODUCTS:
        return f"A browser on {system}"  # "Mozilla/5.0 (Windows NT 10.0)": not which one
    text = f"{product} on {system}"
    return text if len(text) <= MAX_PRODUCT else product


def product_of(user_agent: str) -> str:
    """The agent's leading product token (``name/version``) as "name version", cleaned.

    Only ASCII letters, digits and ``.-_+`` are kept of the name and of the version (each
    starting with a letter or a digit), and the result is cut to ``MAX_PRODUCT``
    characters; "" when no name is left (an empty agent, or one whose first word is
    nothing but punctuation or control characters).
    """
    words = user_agent.split(None, 1)
    if not words:
        return ""
    name, _, version = words[0].partition("/")
    name = _NOT_PRODUCT.sub("", name).lstrip("._+-")[:MAX_PRODUCT]
    if not name:
        return ""
    version = _NOT_PRODUCT.sub("", version).lstrip("._+-")
    text = f"{name} {version}" if version else name
    return text[:MAX_PRODUCT].rstrip()


def _clean(text: str) -> str:
    """ua-parser's text, which its regex groups may have taken from the agent, cleaned."""
    return _SPACES.sub(" ", _NOT_NAME.sub("", text)).strip()


def _system(result: ua_parser.DefaultedResult) -> str:
    family = result.os.family
    if family == "Other":
        return ""
    if family in DEVICE_OVER_OS and result.device.family != "Other":
        return _clean(result.device.family)
    return _clean(OS_NAMES.get(family, family))


def _named(family: str, major: str | None) -> str:
    """``family`` with its major version, or "" for ua-parser's "Other" (nothing matched)."""
    if family == "Other":
        return ""
    name = _clean(BROWSER_NAMES.get(family, family))
    major = _clean(major) if major else ""
    return f"{name} {major}" if name and major else name

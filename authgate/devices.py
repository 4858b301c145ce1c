"""A readable device name for a session ("Firefox 133 on Windows") from its user agent.

The parsing is ``ua-parser`` with the regexes of ``ua-parser-builtins``, shipped in the
wheel: nothing is fetched at run time.
"""

from __future__ import annotations

from functools import lru_cache

import ua_parser

# The session store keeps at most 256 characters of a user agent; reading more would only
# let a crafted header make the regexes slower, never the answer better.
MAX_PARSED = 256
# Families come out of regex groups, so a crafted agent can put its own text in them.
MAX_DESCRIPTION = 80
UNKNOWN = "Unknown device"

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
        "Firefox 133 on Windows", "Safari 17 on iPhone", "curl 8", or "Unknown device";
        never longer than ``MAX_DESCRIPTION`` characters.
    """
    return _describe(user_agent[:MAX_PARSED].strip())


@lru_cache(maxsize=1024)  # a user's agents repeat on every listing of their sessions
def _describe(user_agent: str) -> str:
    if not user_agent:
        return UNKNOWN
    result = ua_parser.parse(user_agent).with_defaults()  # no match: family "Other"
    browser = _named(result.user_agent.family, result.user_agent.major)
    system = _system(result)
    if browser and system:
        text = f"{browser} on {system}"
    elif browser:
        text = browser
    elif system:
        text = f"A browser on {system}"
    else:
        text = UNKNOWN
    return text if len(text) <= MAX_DESCRIPTION else text[: MAX_DESCRIPTION - 1] + "…"


def _system(result: ua_parser.DefaultedResult) -> str:
    family = result.os.family
    if family == "Other":
        return ""
    if family in DEVICE_OVER_OS and result.device.family != "Other":
        return result.device.family
    return OS_NAMES.get(family, family)


def _named(family: str, major: str | None) -> str:
    """``family`` with its major version, or "" for ua-parser's "Other" (nothing matched)."""
    if family == "Other":
        return ""
    name = BROWSER_NAMES.get(family, family)
    return f"{name} {major}" if major else name

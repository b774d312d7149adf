"""Keep passwords out of everything this package prints or logs.

Two layers. ``mask`` hides the password of any URL it finds, well-formed or
not, by its shape: after ``scheme://`` (or the typo ``scheme//``), what
stands before the last ``@`` that is followed by a host is the user and the
password, and everything after the user's first ``:`` is hidden. A password
that cannot be told apart by shape (a space or a quote in it, a URL cut in
two by a driver's message) is caught by the second layer: the passwords this
process was given (``register_url``) are hidden wherever they appear, in
every form a URL or a message may carry them (raw, percent-decoded,
percent-encoded, JSON-escaped).
"""
import json
import re
from urllib import parse

from sqlalchemy.engine import url as sa_url

MASK = '***'

# scheme://user:password@host..., and the typo scheme//user:password@host.
# The password runs to the last '@' on the line that is followed by what
# can start a host (a name, an address, '[' of an IPv6 address, '%' of an
# encoded name, '/' when there is no host), and not past the next URL's
# '://'. Greedy: a message after the URL can only make it hide more.
_URL_CREDENTIALS = re.compile(
    r'(?P<head>[A-Za-z][\w+.\-]*:?//[^:/\s]*):'
    r'(?P<password>(?:(?!://)[^\n])*)@(?=[\w\[%/])')
# user:password@ without a scheme (a URL cut short by a message).
_BARE_CREDENTIALS = re.compile(r'(?P<head>[\w.+%-]+):[^\s@/\'"]+@')

_secrets = set()


def _forms(password):
    """``password`` as a URL, a message or a JSON document may show it."""
    forms = {password, parse.unquote(password), parse.quote(password),
             parse.quote(password, safe=''), parse.quote_plus(password),
             # NOTE: SQLAlchemy 1.4 encodes only these three when it renders
             # a URL with its password.
             re.sub('[:@/]', lambda m: '%%%X' % ord(m.group()), password)}
    forms |= {json.dumps(form)[1:-1] for form in set(forms)}
    forms |= {json.dumps(form, ensure_ascii=False)[1:-1]
              for form in set(forms)}
    return forms


def register_password(password, username=None):
    """Hide ``password`` (and its encodings) wherever it appears from now on.

    NOTE: a password equal to the user name is not registered: the user
    name is shown in every message that names the database, and hiding it
    everywhere would make those messages useless.
    """
    if not password or password == username:
        return
    _secrets.update(form for form in _forms(str(password)) if form)


def credentials_by_shape(url):
    """(user, password) of a URL string as written, by shape alone: the
    password runs to the last '@' before the host. (None, None) if none."""
    match = _URL_CREDENTIALS.search(url)
    if not match:
        return None, None
    return match.group('head').split('//', 1)[1], match.group('password')


def register_url(url):
    """Register the password of ``url`` (a string or an SQLAlchemy URL).

    A string is read both by shape and as SQLAlchemy parses it: a password
    holding a raw '@' is parsed wrongly, and the wrong parse is what the
    driver's messages then echo.
    """
    if hasattr(url, 'password'):
        register_password(url.password, url.username)
        return
    text = str(url)
    username, password = credentials_by_shape(text)
    register_password(password, username)
    try:
        parsed = sa_url.make_url(text)
    except Exception:  # noqa: malformed; its shape was registered above
        return
    register_password(parsed.password, parsed.username)


def forget_passwords():
    """Forget every registered password (for tests)."""
    _secrets.clear()


# Every key oslo.utils' mask_password looks for holds one of these (a unit
# test checks it): a text without any has nothing for it to mask.
_SANITIZED_WORDS = ('pass', 'pswd', 'secret', 'token', 'key', 'configdrive',
                    'fsid', 'cookie', 'kek', 'hashsuffix')


def holds_password(text):
    """True when ``text`` holds a password registered to be hidden."""
    return isinstance(text, str) and any(
        secret in text for secret in _secrets)


def mask(text):
    """``text`` with every password in it replaced by ``***``."""
    text = _URL_CREDENTIALS.sub(r'\g<head>:%s@' % MASK, str(text))
    text = _BARE_CREDENTIALS.sub(r'\g<head>:%s@' % MASK, text)
    # NOTE: longest first, so that no part of a longer form is left over.
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    lowered = text.lower()
    if not any(word in lowered for word in _SANITIZED_WORDS):
        return text
    # NOTE: imported only here: oslo.utils compiles 40 ms of regexes.
    from oslo_utils import strutils
    return strutils.mask_password(text)


def mask_data(data):
    """``data`` (JSON-like: dicts, lists, strings...) with every string
    masked, so that masking never breaks the document's syntax."""
    if isinstance(data, str):
        return mask(data)
    if isinstance(data, dict):
        return {key: mask_data(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [mask_data(value) for value in data]
    return data


def mask_url(url):
    """A database URL (string or ``sqlalchemy.engine.URL``) sans password."""
    if hasattr(url, 'render_as_string'):
        return mask(url.render_as_string(hide_password=True))
    return mask(url)

"""Keep passwords out of everything this package prints or logs."""
import re

from oslo_utils import strutils

# user:password@ in a URL, well-formed or not (mysql//user:pw@host is a typo
# whose password must stay hidden too); oslo.utils' mask_password covers
# key=value forms.
_URL_CREDENTIALS = re.compile(r'(?P<head>[\w.+%-]+):[^\s@/\'"]+@')


def mask(text):
    """``text`` with every password in it replaced by ``***``."""
    text = _URL_CREDENTIALS.sub(r'\g<head>:***@', str(text))
    return strutils.mask_password(text)


def mask_url(url):
    """A database URL (string or ``sqlalchemy.engine.URL``) sans password."""
    if hasattr(url, 'render_as_string'):
        return url.render_as_string(hide_password=True)
    return mask(url)

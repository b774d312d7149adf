"""nova_schema.masking: passwords hidden by shape and by name."""
import json
from urllib import parse

import testtools

from nova_schema import masking

# Passwords that break naive masking: raw '@', ':', '/', '%', quotes,
# spaces, nothing but '@', a whole URL's worth of delimiters, non-ASCII.
NASTY_PASSWORDS = ('p@ss:w/rd%40', 'a b', '\'"', '%', '@@', 'x:y@z/w?q#f',
                   'pässwörd€')


def password_forms(password):
    """Every way a message may carry ``password``: as typed, percent-encoded
    (each of urllib's ways and SQLAlchemy's own, which encodes only ':', '@'
    and '/'), and JSON-escaped."""
    forms = {password, parse.quote(password, safe=''), parse.quote(password),
             parse.quote_plus(password),
             password.replace('%', '%25').replace(':', '%3A')
             .replace('@', '%40').replace('/', '%2F')}
    forms |= {json.dumps(form)[1:-1] for form in set(forms)}
    return sorted(forms)


class MaskingTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        masking.forget_passwords()
        self.addCleanup(masking.forget_passwords)

    def assertHidden(self, password, text):
        for form in password_forms(password):
            self.assertNotIn(form, text)


class TestMaskByShape(MaskingTestCase):
    """No password registered: masking by the URL's shape alone."""

    def test_raw_passwords_in_urls(self):
        for password in NASTY_PASSWORDS:
            for template, expected in (
                    ('mysql+pymysql://nova:%s@db.example/nova',
                     'mysql+pymysql://nova:***@db.example/nova'),
                    ('postgresql://nova:%s@10.0.0.5:5432/nova?sslmode=x',
                     'postgresql://nova:***@10.0.0.5:5432/nova?sslmode=x'),
                    ('mysql+pymysql//nova:%s@db/nova',
                     'mysql+pymysql//nova:***@db/nova'),
                    ('mysql://nova:%s@/nova?unix_socket=/run/m.sock',
                     'mysql://nova:***@/nova?unix_socket=/run/m.sock'),
                    ('connection = mysql://nova:%s@[::1]/nova',
                     'connection = mysql://nova:***@[::1]/nova')):
                self.assertEqual(expected, masking.mask(template % password),
                                 password)

    def test_percent_encoded_passwords(self):
        for password in NASTY_PASSWORDS:
            url = ('mysql+pymysql://nova:%s@db.example/nova'
                   % parse.quote(password, safe=''))
            self.assertEqual('mysql+pymysql://nova:***@db.example/nova',
                             masking.mask(url))

    def test_url_inside_a_driver_message(self):
        for password in NASTY_PASSWORDS:
            message = (
                'cannot use database mysql+pymysql://nova:%s@127.0.0.1/nova:'
                ' (1045, "Access denied for user \'nova\'@\'localhost\' '
                '(using password: YES)")' % password)
            self.assertEqual(
                'cannot use database mysql+pymysql://nova:***@127.0.0.1/nova:'
                ' (1045, "Access denied for user \'nova\'@\'localhost\' '
                '(using password: YES)")', masking.mask(message))

    def test_two_urls_on_one_line(self):
        self.assertEqual(
            'from mysql://a:***@h1/x to postgresql://c:***@h2/y',
            masking.mask('from mysql://a:p@1@h1/x to postgresql://c:q@2@h2/y'))

    def test_user_name_with_at_sign(self):
        self.assertEqual('postgresql://nova@server:***@db/nova',
                         masking.mask('postgresql://nova@server:pw@db/nova'))

    def test_no_password_nothing_masked(self):
        for text in ('sqlite:////srv/nova@home/nova.sqlite',
                     'mysql+pymysql://nova@db/nova',
                     "Access denied for user 'nova'@'localhost'"):
            self.assertEqual(text, masking.mask(text))

    def test_key_value_passwords(self):
        self.assertEqual('password = ***', masking.mask('password = s3cret'))

    def test_mask_url_of_a_parsed_url(self):
        from sqlalchemy.engine import make_url
        url = make_url('mysql+pymysql://nova:p%40ss@db/nova')
        self.assertEqual('mysql+pymysql://nova:***@db/nova',
                         masking.mask_url(url))


class TestRegisteredPasswords(MaskingTestCase):
    """A registered password is hidden wherever it appears."""

    def test_raw_url_registers_its_password(self):
        for password in NASTY_PASSWORDS:
            masking.forget_passwords()
            masking.register_url('mysql+pymysql://nova:%s@db/nova'
                                 % password)
            # A message cut off before the URL's host, as drivers print them.
            text = ' | '.join('%s said no' % form
                              for form in password_forms(password))
            self.assertHidden(password, masking.mask(text))

    def test_encoded_url_registers_the_decoded_password(self):
        for password in NASTY_PASSWORDS:
            masking.forget_passwords()
            masking.register_url('mysql+pymysql://nova:%s@db/nova'
                                 % parse.quote(password, safe=''))
            self.assertHidden(password,
                              masking.mask('password was %s' % password))

    def test_parsed_url_registers_its_password(self):
        from sqlalchemy.engine import URL
        masking.register_url(URL.create('mysql+pymysql', 'nova', 'a b',
                                        'db', database='nova'))
        self.assertEqual('x *** y', masking.mask('x a b y'))

    def test_password_equal_to_user_name_is_not_registered(self):
        masking.register_url('mysql+pymysql://citest:citest@db/nova')
        self.assertEqual('user citest', masking.mask('user citest'))

    def test_json_stays_valid(self):
        masking.register_url('mysql+pymysql://nova:%s@db/nova' % '\'"')
        data = {'database': 'x \'" y', 'list': ['\'"'], 'n': 1}
        masked = json.loads(json.dumps(masking.mask_data(data)))
        self.assertEqual({'database': 'x *** y', 'list': ['***'], 'n': 1},
                         masked)


class TestSanitizedWords(testtools.TestCase):

    def test_every_oslo_utils_key_holds_one_of_the_words(self):
        from oslo_utils import strutils
        missing = [key for key in strutils._SANITIZE_KEYS
                   if not any(word in key.lower()
                              for word in masking._SANITIZED_WORDS)]
        self.assertEqual([], missing)

    def test_key_value_secret_still_masked(self):
        self.assertNotIn('hunter2', masking.mask('admin_password=hunter2'))
        self.assertNotIn('hunter2', masking.mask('"rabbitcookie": "hunter2"'))

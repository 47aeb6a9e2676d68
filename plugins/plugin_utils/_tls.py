# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""TLS at the proxies: a service's ``tls`` mapping, and the certificates it names, checked on the controller.

A service names its certificates (``tls.certificates``, the first one served to clients that send no known name)
and, for TLS to its real servers, the CA that signed theirs (``tls.backend_ca``); the PEM texts live in
``lvs_certificates`` (from a vault), which the haproxy and nginx roles read as ``haproxy_certificates`` and
``nginx_upstream_certificates``. So the estate never holds a key, and no message here ever quotes one. Every
certificate a host is to serve is checked before any host changes: it parses, its key is the one it certifies,
and it is valid now.

Private to this collection: its interface may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import re

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.x509.oid import NameOID
    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - ansible-core requires cryptography
    HAS_CRYPTOGRAPHY = False

from ansible_collections.lvs.cluster.plugins.plugin_utils import _values
from ansible_collections.lvs.cluster.plugins.plugin_utils._values import PlanError

TLS_KEYS = ('certificates', 'http_redirect_port', 'hsts_max_age', 'hsts_include_subdomains', 'backend', 'backend_ca',
            'backend_name')
NAME_RE = re.compile(r'^[a-z0-9][a-z0-9_.-]{0,63}$')
HOST_NAME_RE = re.compile(r'^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$')
# The protocols the roles let an operator choose: the older ones are broken.
TLS_VERSIONS = ('TLSv1.2', 'TLSv1.3')
CIPHER_RE = re.compile(r'^[A-Za-z0-9_+!-]+$')
HSTS_MAX = 63072000  # two years: what the HSTS preload list asks for, and more than anyone needs


def normalize(svc, where):
    """A proxy service's tls mapping, checked and completed; its HSTS header joins the response headers."""
    tls = _values.mapping(svc['tls'], where, TLS_KEYS)
    names = tls.get('certificates')
    if not isinstance(names, list) or not names:
        raise PlanError('%s.certificates must list the names (in lvs_certificates) of the certificates the service '
                        'serves, the default one first' % where)
    for index, name in enumerate(names):
        if not isinstance(name, str) or not NAME_RE.match(name) or name in names[:index]:
            raise PlanError('%s.certificates[%d] must name an entry of lvs_certificates (lower-case letters, digits, '
                            '"_", ".", "-"), once, not %r' % (where, index, name))
    out = {'certificates': list(names), 'backend': _values.boolean(tls.get('backend', False), where + '.backend')}
    if 'http_redirect_port' in tls:
        port = _values.integer(tls['http_redirect_port'], where + '.http_redirect_port', 1, 65535)
        if port == svc['port']:
            raise PlanError('%s.http_redirect_port is %d, the port TLS is served on; give the plain HTTP port that is '
                            'to redirect to it (80)' % (where, port))
        out['http_redirect_port'] = port
    if 'hsts_max_age' in tls:
        age = _values.integer(tls['hsts_max_age'], where + '.hsts_max_age', 0, HSTS_MAX)
        headers = svc['response_headers'] = dict(svc.get('response_headers', {}))
        if any(name.lower() == 'strict-transport-security' for name in headers):
            raise PlanError('%s.hsts_max_age and response_headers both set Strict-Transport-Security; keep one' % where)
        value = 'max-age=%d' % age
        if _values.boolean(tls.get('hsts_include_subdomains', False), where + '.hsts_include_subdomains'):
            value += '; includeSubDomains'
        headers['Strict-Transport-Security'] = value
    elif 'hsts_include_subdomains' in tls:
        raise PlanError('%s.hsts_include_subdomains needs hsts_max_age (the header it belongs to)' % where)
    for key in ('backend_ca', 'backend_name'):
        if key in tls and not out['backend']:
            raise PlanError('%s.%s is for TLS to the real servers: set backend: true too' % (where, key))
    if out['backend']:
        # no unchecked TLS by default: an encrypted connection to whoever answers protects nothing
        if 'backend_ca' not in tls or 'backend_name' not in tls:
            raise PlanError('%s.backend is true: give backend_ca (the entry of lvs_certificates holding the CA that '
                            'signed the real servers\' certificates) and backend_name (the name those certificates '
                            'carry), so that the proxy checks whom it talks to' % where)
        if not isinstance(tls['backend_ca'], str) or not NAME_RE.match(tls['backend_ca']):
            raise PlanError('%s.backend_ca must name an entry of lvs_certificates, not %r' % (where, tls['backend_ca']))
        if not isinstance(tls['backend_name'], str) or not HOST_NAME_RE.match(tls['backend_name']):
            raise PlanError('%s.backend_name must be a host name, not %r' % (where, tls['backend_name']))
        out['backend_ca'] = tls['backend_ca']
        out['backend_name'] = tls['backend_name']
    return out


def cipher_list(value, variable):
    """An OpenSSL cipher list, given as a list of names (or as they are joined by ":"), joined."""
    names = value.split(':') if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(isinstance(name, str) and CIPHER_RE.match(name) for name in names):
        raise PlanError('%s must be a list of OpenSSL cipher names, not %r' % (variable, value))
    return ':'.join(names)


def needed(services):
    """The certificates and CAs the present services of a plan ask for, each list in order."""
    certificates, cas = [], []
    for svc in services:
        tls = svc.get('tls')
        if not tls or svc.get('state', 'present') != 'present':
            continue
        certificates += [name for name in tls['certificates'] if name not in certificates]
        if tls.get('backend_ca') and tls['backend_ca'] not in cas:
            cas.append(tls['backend_ca'])
    return certificates, cas


def named(checked, names):
    """The plan's entries of the certificates (or CAs) names, in order: what check found, with each name."""
    return [dict(checked[name], name=name) for name in names]


def _utc(cert, attribute):
    value = getattr(cert, attribute + '_utc', None)
    if value is None:  # cryptography before 42: naive datetimes in UTC
        value = getattr(cert, attribute).replace(tzinfo=datetime.timezone.utc)
    return value


def _certificates(text, where):
    if not isinstance(text, str) or '-----BEGIN CERTIFICATE-----' not in text:
        raise PlanError('%s.certificate must be PEM text (-----BEGIN CERTIFICATE-----): the certificate, then its '
                        'intermediates' % where)
    try:
        if hasattr(x509, 'load_pem_x509_certificates'):
            return x509.load_pem_x509_certificates(text.encode('ascii'))
        return [x509.load_pem_x509_certificate(text.encode('ascii'))]
    except (ValueError, UnicodeEncodeError) as exc:
        raise PlanError('%s.certificate is not a PEM certificate: %s' % (where, exc))


def dns_names(cert):
    """The names a certificate is for: its subjectAltName DNS names, else its common name."""
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        names = [attribute.value for attribute in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    return [str(name).lower() for name in names]


def covers(names, host):
    """Whether a certificate for names is valid for host (a "*." name covers one label)."""
    host = host.lower()
    for name in names:
        if name == host or (name.startswith('*.') and '.' in host and host.split('.', 1)[1] == name[2:]
                            and not host.startswith('*')):
            return True
    return False


def _same_key(cert, key_text, where):
    if not isinstance(key_text, str) or 'PRIVATE KEY-----' not in key_text:
        raise PlanError('%s.key must be the certificate\'s private key as PEM text (-----BEGIN ... PRIVATE KEY-----), '
                        'unencrypted (keep it in a vault)' % where)
    try:
        key = serialization.load_pem_private_key(key_text.encode('ascii'), password=None)
    except (ValueError, TypeError, UnicodeEncodeError):
        # the error of the library may quote the key's text: it is never passed on
        raise PlanError('%s.key is not an unencrypted PEM private key (an encrypted one cannot be loaded unattended: '
                        'keep it decrypted in a vault)' % where)
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*spki) != cert.public_key().public_bytes(*spki):
        raise PlanError('%s.key is not the key of %s.certificate (their public keys differ)' % (where, where))


def check(certificates, names, cas, variable, now=None):
    """Check the certificates a host serves (names) and the CAs it checks real servers with (cas).

    Each served certificate parses, its key certifies it and it is valid now; each CA parses and is valid now.
    Returns, per name, what the roles and the report need: the names the certificate is for, when it expires and
    its SHA-256 fingerprint. Never a key, and no message quotes one."""
    if not HAS_CRYPTOGRAPHY:
        raise PlanError('checking TLS certificates needs the Python library cryptography on the controller '
                        '(ansible-core depends on it: reinstall ansible-core)')
    if not isinstance(certificates, dict):
        raise PlanError('%s must be a mapping of names to {certificate, key}' % variable)
    now = now or datetime.datetime.now(datetime.timezone.utc)
    result = {}
    for name in list(names) + [ca for ca in cas if ca not in names]:
        where = '%s.%s' % (variable, name)
        served = name in names
        entry = certificates.get(name)
        if entry is None:
            raise PlanError('%s has no entry %r, which a service\'s tls.%s names'
                            % (variable, name, 'certificates' if served else 'backend_ca'))
        if not isinstance(entry, dict) or 'certificate' not in entry or set(entry) - {'certificate', 'key'}:
            raise PlanError('%s must be a mapping with certificate (PEM)%s' % (where, ' and key (PEM)' if served else ''))
        chain = _certificates(entry['certificate'], where)
        leaf = chain[0]
        for cert in chain if served else [leaf]:
            subject = cert.subject.rfc4514_string()
            if _utc(cert, 'not_valid_after') <= now:
                raise PlanError('%s.certificate (%s) expired on %s' % (where, subject, _utc(cert, 'not_valid_after')))
            if _utc(cert, 'not_valid_before') > now:
                raise PlanError('%s.certificate (%s) is not valid before %s' % (where, subject, _utc(cert, 'not_valid_before')))
        if served:
            if 'key' not in entry:
                raise PlanError('%s has no key; a served certificate needs its private key' % where)
            _same_key(leaf, entry['key'], where)
        result[name] = {'names': dns_names(leaf),
                        'not_after': _utc(leaf, 'not_valid_after').strftime('%Y-%m-%dT%H:%M:%SZ'),
                        'sha256': hashlib.sha256(leaf.public_bytes(serialization.Encoding.DER)).hexdigest()}
    return result

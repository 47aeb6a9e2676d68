"""TLS at the proxies: the service's tls mapping, the certificates' check, and what haproxy and nginx render
(plugins/plugin_utils/_tls.py, _haproxy.py, _nginx_plan.py). The certificates are made here, by a CA made here."""

import datetime
import re

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.lvs.cluster.plugins.plugin_utils import _estate, _haproxy, _nginx_plan, _tls

NOW = datetime.datetime.now(datetime.timezone.utc)
DAY = datetime.timedelta(days=1)


def _pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def make(names, issuer=None, not_before=NOW - DAY, not_after=NOW + 30 * DAY, ca=False):
    """A certificate for names (signed by issuer: (cert, key), else by itself), as {certificate, key} PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    builder = (x509.CertificateBuilder().subject_name(subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(not_before).not_valid_after(not_after)
               .issuer_name(issuer[0].subject if issuer else subject)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if not ca:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(name) for name in names]), critical=False)
    cert = builder.sign(issuer[1] if issuer else key, hashes.SHA256())
    return {'certificate': cert.public_bytes(serialization.Encoding.PEM).decode(), 'key': _pem_key(key),
            'objects': (cert, key)}


CA = make(['Lab CA'], ca=True)
WWW = make(['www.example', 'example'], issuer=CA['objects'])
API = make(['*.api.example'], issuer=CA['objects'])


def entry(made, key=True):
    return {'certificate': made['certificate'], 'key': made['key']} if key else {'certificate': made['certificate']}


CERTIFICATES = {'www': entry(WWW), 'api': entry(API), 'ca': entry(CA, key=False)}
GROUPS = {'web': ['web1', 'web2'], 'api': ['api1'], 'proxies': ['lb1', 'lb2']}
HOSTVARS = {'web1': {'ansible_host': '10.0.0.11'}, 'web2': {'ansible_host': '10.0.0.12'}, 'api1': {'ansible_host': '10.0.0.21'}}


def service(owner, **tls):
    return {'name': 'site', 'address': '10.0.0.100', 'port': 443, 'mode': 'proxy', 'owner': owner, 'proxies': 'proxies',
            'realservers': 'web', 'realserver_port': 80, 'health_check': {'type': 'http', 'interval': 1},
            'tls': dict({'certificates': ['www', 'api']}, **tls)}


def expanded(*services):
    return _estate.virtual_services(list(services), HOSTVARS, GROUPS)


HAPROXY_CONF = {'certificates': CERTIFICATES, 'tls_dir': '/etc/haproxy/tls', 'tls_min_version': 'TLSv1.2',
                'tls_ciphers': ['ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES128-GCM-SHA256'],
                'tls_ciphersuites': ['TLS_AES_128_GCM_SHA256']}
NGINX_DEFAULTS = {'keepalive': 32, 'connect_timeout': 2, 'read_timeout': 60, 'send_timeout': 60,
                  'next_upstream': ['error', 'timeout'], 'next_upstream_tries': 0, 'certificates': CERTIFICATES,
                  'tls_protocols': ['TLSv1.2', 'TLSv1.3'], 'tls_ciphers': ['ECDHE-RSA-AES128-GCM-SHA256'],
                  'tls_dir': '/etc/nginx/tls', 'conf_dir': '/etc/nginx'}


def haproxy(*services, **conf):
    return _haproxy.plan(expanded(*services), 'lb1', dict(HAPROXY_CONF, **conf))


def nginx(*services, **defaults):
    return _nginx_plan.plan(_estate.proxy_services(expanded(*services), 'lb1', 'nginx'), dict(NGINX_DEFAULTS, **defaults))


def section(result, header):
    return next(one for one in result['sections'] if one['header'] == header)


def test_check_gives_names_expiry_and_fingerprint_and_never_a_key():
    checked = _tls.check(CERTIFICATES, ['www', 'api'], ['ca'], 'v')
    assert checked['www']['names'] == ['www.example', 'example']
    assert checked['api']['names'] == ['*.api.example'] and checked['ca']['names'] == ['lab ca']
    assert checked['www']['sha256'] == WWW['objects'][0].fingerprint(hashes.SHA256()).hex()
    assert checked['www']['not_after'] == WWW['objects'][0].not_valid_after_utc.strftime('%Y-%m-%dT%H:%M:%SZ')
    assert 'PRIVATE' not in repr(checked)


EXPIRED = make(['old.example'], issuer=CA['objects'], not_before=NOW - 60 * DAY, not_after=NOW - DAY)
FUTURE = make(['new.example'], issuer=CA['objects'], not_before=NOW + DAY)


@pytest.mark.parametrize('certificates, message', [
    ({}, "v has no entry 'www', which a service's tls.certificates names"),
    ({'www': {'certificate': WWW['certificate'], 'key': API['key']}},
     'v.www.key is not the key of v.www.certificate (their public keys differ)'),
    ({'www': {'certificate': WWW['certificate']}}, 'v.www has no key; a served certificate needs its private key'),
    ({'www': entry(EXPIRED)}, 'v.www.certificate (CN=old.example) expired on'),
    ({'www': entry(FUTURE)}, 'v.www.certificate (CN=new.example) is not valid before'),
    ({'www': {'certificate': 'not a certificate', 'key': WWW['key']}}, 'v.www.certificate must be PEM text'),
    ({'www': {'certificate': WWW['certificate'], 'key': WWW['key'].replace('A', 'B', 3)}},
     'v.www.key is not an unencrypted PEM private key'),
    ({'www': {'certificate': WWW['certificate'], 'key': WWW['key'], 'chain': 'x'}},
     'v.www must be a mapping with certificate (PEM) and key (PEM)'),
])
def test_bad_certificates_are_refused_and_no_message_quotes_a_key(certificates, message):
    with pytest.raises(Exception, match=re.escape(message)) as caught:
        _tls.check(certificates, ['www'], [], 'v')
    assert 'PRIVATE KEY' not in str(caught.value) and WWW['key'][40:80] not in str(caught.value)


def test_an_expired_ca_is_refused_too():
    old_ca = make(['Old CA'], ca=True, not_before=NOW - 60 * DAY, not_after=NOW - DAY)
    with pytest.raises(Exception, match=re.escape("v.ca.certificate (CN=Old CA) expired on")):
        _tls.check({'www': entry(WWW), 'ca': entry(old_ca, key=False)}, ['www'], ['ca'], 'v')


def test_wildcards_cover_one_label():
    assert _tls.covers(['*.api.example'], 'eu.api.example')
    assert not _tls.covers(['*.api.example'], 'api.example') and not _tls.covers(['*.api.example'], 'a.eu.api.example')
    assert _tls.covers(['www.example'], 'WWW.example')


@pytest.mark.parametrize('tls, message', [
    ({'certificates': []}, 'tls.certificates must list the names'),
    ({'certificates': ['www', 'www']}, 'tls.certificates[1] must name an entry of lvs_certificates'),
    ({'certificates': ['www'], 'http_redirect_port': 443}, 'tls.http_redirect_port is 443, the port TLS is served on'),
    ({'certificates': ['www'], 'backend': True}, 'tls.backend is true: give backend_ca'),
    ({'certificates': ['www'], 'backend_ca': 'ca'}, 'tls.backend_ca is for TLS to the real servers: set backend: true too'),
    ({'certificates': ['www'], 'hsts_include_subdomains': True}, 'tls.hsts_include_subdomains needs hsts_max_age'),
    ({'certificates': ['www'], 'hsts_max_age': -1}, 'tls.hsts_max_age'),
    ({'certificates': ['www'], 'sni': True}, 'tls has unknown key(s) sni'),
])
def test_bad_tls_settings_are_refused_in_the_estate(tls, message):
    svc = service('haproxy')
    svc['tls'] = tls
    with pytest.raises(Exception, match=re.escape('lvs_virtual_services[site].' + message)):
        expanded(svc)


def test_tls_is_for_http_services_and_its_redirect_port_is_taken_like_a_service():
    tcp = dict(service('haproxy'), proxy_mode='tcp')
    with pytest.raises(Exception, match=re.escape('lvs_virtual_services[site].tls acts on HTTP requests')):
        expanded(tcp)
    plain = {'name': 'plain', 'address': '10.0.0.100', 'port': 80, 'mode': 'proxy', 'owner': 'haproxy',
             'proxies': 'proxies', 'realservers': 'web'}
    with pytest.raises(Exception, match=re.escape('lvs_virtual_services[site] and [plain] are the same virtual service')):
        expanded(service('haproxy', http_redirect_port=80), plain)


def test_hsts_joins_the_response_headers_once():
    svc, = expanded(service('haproxy', hsts_max_age=31536000, hsts_include_subdomains=True))
    assert svc['response_headers'] == {'Strict-Transport-Security': 'max-age=31536000; includeSubDomains'}
    both = dict(service('haproxy', hsts_max_age=1), response_headers={'strict-transport-security': 'max-age=2'})
    with pytest.raises(Exception, match='hsts_max_age and response_headers both set Strict-Transport-Security'):
        expanded(both)


def test_haproxy_binds_with_every_certificate_http2_and_the_redirect_port():
    result = haproxy(service('haproxy', http_redirect_port=80, hsts_max_age=300))
    lines = section(result, 'frontend site')['lines']
    assert lines[1:3] == ['bind 10.0.0.100:443 ssl crt www.pem crt api.pem alpn h2,http/1.1', 'bind 10.0.0.100:80']
    redirect = 'http-request redirect scheme https code 301 unless { ssl_fc }'
    assert lines.index(redirect) < lines.index('http-request set-header X-Forwarded-Proto https')
    assert 'http-response set-header Strict-Transport-Security "max-age=300"' in lines
    glob = section(result, 'global')['lines']
    assert 'crt-base /etc/haproxy/tls' in glob
    assert 'ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets' in glob
    assert 'ssl-default-bind-ciphers ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256' in glob
    assert 'ssl-default-server-ciphersuites TLS_AES_128_GCM_SHA256' in glob
    assert [one['name'] for one in result['certificates']] == ['www', 'api'] and result['cas'] == []
    assert 'PRIVATE' not in repr(result)


def test_haproxy_without_tls_has_no_tls_lines_and_checks_no_certificate():
    svc = service('haproxy')
    del svc['tls']
    result = haproxy(svc, certificates={})
    assert not any('ssl' in line or 'crt-base' in line for one in result['sections'] for line in one['lines'])
    assert result['certificates'] == []


def test_haproxy_redirects_to_another_tls_port_with_it():
    svc = dict(service('haproxy', http_redirect_port=8080), port=8443)
    lines = section(haproxy(svc), 'frontend site')['lines']
    assert 'http-request redirect prefix https://%[req.hdr(host),field(1,:)]:8443 code 301 unless { ssl_fc }' in lines


def test_haproxy_checks_the_real_servers_certificates_when_tls_goes_to_them():
    svc = service('haproxy', backend=True, backend_ca='ca', backend_name='web.internal')
    svc['health_check'] = {'type': 'https', 'interval': 1}
    result = haproxy(svc)
    servers = [line for line in section(result, 'backend site')['lines'] if line.startswith('server ')]
    assert servers[0] == ('server web1 10.0.0.11:80 weight 1 ssl verify required ca-file ca.pem verifyhost web.internal '
                          'sni str(web.internal) check-sni web.internal check inter 1s fastinter 1s rise 2 fall 2')
    assert [one['name'] for one in result['cas']] == ['ca']


def test_a_bad_cipher_list_or_protocol_floor_is_refused():
    with pytest.raises(Exception, match=re.escape('haproxy_tls_ciphers must be a list of OpenSSL cipher names')):
        haproxy(service('haproxy'), tls_ciphers=['ECDHE RSA'])
    with pytest.raises(Exception, match=re.escape("haproxy_tls_min_version is 'TLSv1.1'")):
        haproxy(service('haproxy'), tls_min_version='TLSv1.1')
    with pytest.raises(Exception, match=re.escape("nginx_upstream_tls_protocols is ['TLSv1.1', 'TLSv1.2']")):
        nginx(service('nginx'), tls_protocols=['TLSv1.1', 'TLSv1.2'])


def test_nginx_serves_each_certificate_from_a_block_of_its_names():
    result = nginx(service('nginx', http_redirect_port=80))
    default, api = result['http_servers']
    assert (default['listen'], default['default_server'], default['certificate']) == ('10.0.0.100:443 ssl', True, 'www')
    assert (api['listen'], api['default_server'], api['server_name'], api['certificate']) == (
        '10.0.0.100:443 ssl', False, '*.api.example', 'api')
    assert api['locations'] == default['locations'] and api['locations'] is not default['locations']
    assert default['tls'][:4] == ['ssl_certificate /etc/nginx/tls/www.crt', 'ssl_certificate_key /etc/nginx/tls/www.key',
                                  'ssl_protocols TLSv1.2 TLSv1.3', 'ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256']
    assert result['http_redirects'] == [{'service': 'site', 'listen': '10.0.0.100:80', 'return': '301 https://$host$request_uri'}]
    assert [one['file'] for one in result['tls_files']] == ['www.crt', 'www.key', 'api.crt', 'api.key']
    assert [one['mode'] for one in result['tls_files']] == ['0644', '0600', '0644', '0600']
    assert 'PRIVATE' not in repr(result)


def test_nginx_gives_a_route_host_the_certificate_that_covers_it_or_refuses():
    svc = service('nginx')
    svc['routes'] = [{'host': 'eu.api.example', 'realservers': 'api'}]
    default, eu = nginx(svc)['http_servers']
    assert (eu['server_name'], eu['certificate']) == ('eu.api.example', 'api')
    svc['routes'] = [{'host': 'shop.other', 'realservers': 'api'}]
    with pytest.raises(Exception, match=re.escape('the route host shop.other is in none of the certificates')):
        nginx(svc)


def test_nginx_speaks_tls_to_real_servers_it_checks():
    result = nginx(service('nginx', backend=True, backend_ca='ca', backend_name='web.internal'))
    block = result['http_servers'][0]
    assert block['scheme'] == 'https'
    assert block['proxy_tls'][:3] == ['proxy_ssl_verify on', 'proxy_ssl_trusted_certificate /etc/nginx/tls/ca.crt',
                                      'proxy_ssl_name web.internal']
    assert result['tls_files'][-1] == {'file': 'ca.crt', 'name': 'ca', 'part': 'certificate', 'mode': '0644'}
    with pytest.raises(Exception, match=re.escape('nginx_upstream_tls_dir (/srv/tls) must be under nginx_upstream_conf_dir')):
        nginx(service('nginx'), tls_dir='/srv/tls')


# The PROXY protocol to real servers that want it, and haproxy's own server options (the same file: both are
# what a proxy service says about its connections to the real servers).
def plain(owner, **keys):
    svc = service(owner)
    del svc['tls']
    svc.update(keys)
    return svc


def test_haproxy_sends_the_proxy_protocol_and_the_service_server_options():
    result = haproxy(plain('haproxy', send_proxy='v2', haproxy={'server_options': ['check-proto', 'h2']}), certificates={})
    servers = [line for line in section(result, 'backend site')['lines'] if line.startswith('server ')]
    assert servers[0] == ('server web1 10.0.0.11:80 weight 1 send-proxy-v2 check-proto h2 '
                          'check inter 1s fastinter 1s rise 2 fall 2')
    with pytest.raises(Exception, match=re.escape('lvs_virtual_services[site].haproxy.server_options must be a list of words')):
        haproxy(plain('haproxy', haproxy={'server_options': ['check # comment']}), certificates={})


def test_nginx_sends_the_proxy_protocol_v1_from_its_stream_module_only():
    result = nginx(plain('nginx', proxy_mode='tcp', send_proxy='v1', health_check={'type': 'tcp'}), certificates={})
    assert result['stream_servers'][0]['proxy_protocol'] is True
    for keys in ({'send_proxy': 'v1'}, {'proxy_mode': 'tcp', 'send_proxy': 'v2', 'health_check': {'type': 'tcp'}}):
        with pytest.raises(Exception, match=re.escape('nginx sends the PROXY protocol from its stream module only')):
            nginx(plain('nginx', **keys), certificates={})
    with pytest.raises(Exception, match=re.escape("lvs_virtual_services[site].send_proxy is 'v3'")):
        expanded(plain('haproxy', send_proxy='v3'))

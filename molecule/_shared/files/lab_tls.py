# -*- coding: utf-8 -*-
"""Certificates for the lab's TLS services, signed by a CA made for the test; run on the controller.

  lab_tls.py DIR    writes DIR/NAME.crt and DIR/NAME.key for NAME in ca, www (www.lab.test, lab.test), api
                    (api.lab.test), www-renewed (the same names, a new key), expired (www.lab.test, expired
                    yesterday) and backend (web.lab.internal, for the real servers); a second run keeps them.
"""

import datetime
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

DAY = datetime.timedelta(days=1)


def _write(path, data, mode):
    with open(path, 'wb') as handle:
        handle.write(data)
    os.chmod(path, mode)


def _make(directory, name, names, issuer, now, valid=(-1, 30), ca=False):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    builder = (x509.CertificateBuilder().subject_name(subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now + valid[0] * DAY).not_valid_after(now + valid[1] * DAY)
               .issuer_name(issuer[0].subject if issuer else subject)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                      content_commitment=False, key_encipherment=False,
                                                      data_encipherment=False, key_agreement=False,
                                                      encipher_only=False, decipher_only=False), critical=True)
    else:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(one) for one in names]), critical=False)
    cert = builder.sign(issuer[1] if issuer else key, hashes.SHA256())
    _write(os.path.join(directory, name + '.crt'), cert.public_bytes(serialization.Encoding.PEM), 0o644)
    _write(os.path.join(directory, name + '.key'),
           key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
           0o600)
    return cert, key


def main(directory):
    if os.path.exists(os.path.join(directory, 'backend.crt')):
        return
    os.makedirs(directory, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    ca = _make(directory, 'ca', ['lvs.cluster lab CA'], None, now, valid=(-1, 60), ca=True)
    _make(directory, 'www', ['www.lab.test', 'lab.test'], ca, now)
    _make(directory, 'api', ['api.lab.test'], ca, now)
    _make(directory, 'www-renewed', ['www.lab.test', 'lab.test'], ca, now, valid=(-1, 90))
    _make(directory, 'expired', ['www.lab.test'], ca, now, valid=(-60, -1))
    _make(directory, 'backend', ['web.lab.internal'], ca, now)


if __name__ == '__main__':
    main(sys.argv[1])

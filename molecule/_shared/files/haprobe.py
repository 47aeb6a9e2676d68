# -*- coding: utf-8 -*-
"""Probes for the lab scenarios (ha, haproxy, nginx, estate), run on lab hosts (their clocks are the guest kernel's, shared by every host).

  traffic URL LOG SECONDS [TIMEOUT]
                               (URL: http://ADDRESS[:PORT]/PATH, or https:// with the environment's HAPROBE_CA, the
                               CA file to check the proxy's certificate with, and HAPROBE_NAME, the name to ask for
                               and check, also the Host header)
                               send one HTTP request every 0.1 s for at most SECONDS, each given TIMEOUT
                               seconds (default 1) to answer, one line per request:
                               "<start> <end> OK <answer>" or "<start> <end> FAIL <reason>"
  report LOG SINCE [UNTIL]     JSON summary of the requests started in [SINCE, UNTIL]: answers per host,
                               failures, and the longest run of failures (first failure to next success)
  paced URL LOG SECONDS [TIMEOUT] [INTERVAL]
                               like traffic, but start a request every INTERVAL seconds (default 0.1) whether the
                               earlier ones answered or not (each in its own thread): while the VIP is unreachable
                               the pace holds, so the failures count the time without service in steps of INTERVAL
  hold HOST PORT GO OUT SECS [TIMEOUT]
                               open one HTTP/1.1 keep-alive connection and ask on it every 2 s until the file
                               GO exists (at most SECS), then once more; answers, their times and any error in
                               OUT (JSON);
                               each answer may take TIMEOUT seconds (default 5; TCP retransmits across a
                               takeover can take longer)
  takeover VRRP ADDR VIP PEER SINCE
                               from tcpdump -tt of VRRP (VRRP) and ip -ts monitor (ADDR) on the backup:
                               the first time VIP was added after SINCE, and the last advert PEER sent before
  added ADDR VIP SINCE         from ip -ts monitor (ADDR): the first time VIP was added after SINCE (JSON)
"""

import datetime
import json
import os
import socket
import ssl
import sys
import threading
import time


def _target(url):
    """(address, port, request, tls) of an http(s)://ADDRESS[:PORT]/PATH URL: a bare HTTP/1.0 GET; tls, for https,
    is (context, name): the certificate is checked against HAPROBE_CA and HAPROBE_NAME."""
    host, _sep, rest = url.partition('//')[2].partition('/')
    address, _sep, port = host.partition(':')
    tls = None
    if url.startswith('https:'):
        tls = ssl.create_default_context(cafile=os.environ['HAPROBE_CA']), os.environ['HAPROBE_NAME']
    name = tls[1] if tls else address
    return (address, int(port or (443 if tls else 80)), ('GET /%s HTTP/1.0\r\nHost: %s\r\n\r\n' % (rest, name)).encode(),
            tls)


def traffic(url, log, seconds, timeout=1.0):
    address, port, request, tls = _target(url)
    deadline = time.time() + float(seconds)
    with open(log, 'a', buffering=1) as out:
        while time.time() < deadline:
            start = time.time()
            status, what = _ask_once(address, port, request, float(timeout), tls)
            out.write('%.3f %.3f %s %s\n' % (start, time.time(), status, what))
            time.sleep(max(0.0, 0.1 - (time.time() - start)))


def _ask_once(address, port, request, timeout, tls=None):
    """One HTTP/1.0 request on a new connection (TLS with tls: (context, name)): the log line's status and answer."""
    try:
        with socket.create_connection((address, port), timeout=timeout) as plain:
            conn = tls[0].wrap_socket(plain, server_hostname=tls[1]) if tls else plain
            conn.settimeout(timeout)
            conn.sendall(request)
            data = b''
            while True:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
        head, _sep, body = data.partition(b'\r\n\r\n')
        status = head.split(b' ', 2)[1].decode() if head else 'none'
        if status == '200':
            return 'OK', body.decode().strip() or '-'
        return 'FAIL', 'status-' + status
    except (OSError, IndexError) as exc:
        return 'FAIL', type(exc).__name__


def paced(url, log, seconds, timeout=1.0, interval=0.1):
    """traffic at a fixed pace: a new request every interval, each in a thread, logged when it ends."""
    address, port, request, tls = _target(url)
    timeout, interval = float(timeout), float(interval)
    lock = threading.Lock()

    def one(out, start):
        status, what = _ask_once(address, port, request, timeout, tls)
        with lock:
            out.write('%.3f %.3f %s %s\n' % (start, time.time(), status, what))

    deadline = time.time() + float(seconds)
    with open(log, 'a', buffering=1) as out:
        start = time.time()
        while start < deadline:
            threading.Thread(target=one, args=(out, start), daemon=True).start()
            # the next start is one interval after this one's, not after this one ended
            start += interval
            time.sleep(max(0.0, start - time.time()))
        time.sleep(timeout + 1)


def report(log, since, until=None):
    since = float(since)
    until = float(until) if until else float('inf')
    answers, failures, runs, current = {}, [], [], None
    last_ok_end = None
    with open(log) as handle:
        for line in handle:
            parts = line.split()
            if len(parts) < 4:
                continue
            start, end, status, what = float(parts[0]), float(parts[1]), parts[2], parts[3]
            if not since <= start <= until:
                continue
            if status == 'OK':
                answers[what] = answers.get(what, 0) + 1
                if current is not None:
                    current['gap'] = round(start - current['last_ok_end'], 3) if current['last_ok_end'] else None
                    runs.append(current)
                    current = None
                last_ok_end = end
            else:
                failures.append({'at': start, 'took': round(end - start, 3), 'reason': what})
                if current is None:
                    current = {'from': start, 'failed': 0, 'last_ok_end': last_ok_end}
                current['failed'] += 1
    if current is not None:
        current['gap'] = None
        runs.append(current)
    total = sum(answers.values()) + len(failures)
    worst = max(runs, key=lambda run: run['failed']) if runs else None
    span = round(failures[-1]['at'] - failures[0]['at'], 3) if failures else 0.0
    print(json.dumps({'requests': total, 'answers': answers, 'failed': len(failures), 'failure_runs': len(runs),
                      'longest_run': worst, 'failure_span_s': span, 'failures': failures[:20],
                      'last_failure_at': failures[-1]['at'] if failures else None}))


def hold(host, port, go, out, seconds, timeout=5):
    """One keep-alive connection, asked every 2 s until GO exists (and once more): it must never break."""
    result = {'answers': []}
    request = ('GET / HTTP/1.1\r\nHost: %s\r\n\r\n' % host).encode()

    def ask(conn):
        conn.sendall(request)
        data = b''
        while b'\r\n\r\n' not in data:
            chunk = conn.recv(4096)
            if not chunk:
                raise ConnectionError('closed by the peer')
            data += chunk
        head, _sep, body = data.partition(b'\r\n\r\n')
        length = int([h.split(b':')[1] for h in head.split(b'\r\n') if h.lower().startswith(b'content-length')][0])
        while len(body) < length:
            chunk = conn.recv(4096)
            if not chunk:
                raise ConnectionError('closed by the peer')
            body += chunk
        return body.decode().strip()

    def save():
        with open(out + '.tmp', 'w') as handle:
            json.dump(result, handle)
        os.replace(out + '.tmp', out)

    deadline = time.time() + float(seconds)
    try:
        conn = socket.create_connection((host, int(port)), timeout=float(timeout))
        result['local_port'] = conn.getsockname()[1]
        while True:
            last = _exists(go) or time.time() > deadline
            result['answers'].append(ask(conn))
            result.setdefault('at', []).append(round(time.time(), 3))
            save()
            if last:
                break
            time.sleep(2)
        conn.close()
    except (OSError, IndexError, ValueError) as exc:
        result['error'] = repr(exc)
    result['done'] = True
    save()


def _exists(path):
    try:
        open(path).close()
        return True
    except OSError:
        return False


def _vip_added(addr_log, vip, since):
    """When `ip -ts monitor address` (ADDR_LOG) first saw VIP added at or after SINCE; None if it did not."""
    with open(addr_log) as handle:
        for line in handle:
            # [2025-01-01T10:00:00.123456] 2: eth0    inet 10.42.0.50/32 scope global eth0
            if not line.startswith('[') or ('inet %s/' % vip) not in line or 'Deleted' in line:
                continue
            stamp = line[1:line.index(']')]
            at = time.mktime(datetime.datetime.fromisoformat(stamp).timetuple()) + int(stamp.rsplit('.', 1)[1]) / 1e6
            if at >= since:
                return at
    return None


def added(addr_log, vip, since):
    print(json.dumps({'vip_added': _vip_added(addr_log, vip, float(since))}))


def takeover(vrrp_log, addr_log, vip, peer, since):
    vip_at = _vip_added(addr_log, vip, float(since))
    last, last_at = None, None
    with open(vrrp_log) as handle:
        for line in handle:
            parts = line.split()
            # 1700000000.123456 IP 10.42.0.2 > 10.42.0.3: VRRPv2, Advertisement, vrid 42, prio 150, ...
            if len(parts) > 3 and parts[2] == peer:
                at = float(parts[0])
                if vip_at is None or at <= vip_at:
                    last = line.strip()
                    last_at = at
    out = {'vip_added': vip_at, 'last_peer_advert': last}
    if vip_at is not None and last is not None:
        out['takeover'] = round(vip_at - last_at, 3)
        out['last_peer_advert_at'] = last_at
    print(json.dumps(out))


if __name__ == '__main__':
    command, args = sys.argv[1], sys.argv[2:]
    {'traffic': traffic, 'paced': paced, 'report': report, 'hold': hold, 'takeover': takeover, 'added': added}[command](*args)

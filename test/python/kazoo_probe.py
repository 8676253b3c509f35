#!/usr/bin/python3
"""A real kazoo (python3-kazoo) ZooKeeper client for tests; driven by test/support/kazoo.ts.

  read-serverset <connect> <path>
      Lists and reads a ServerSet the way Finagle's serverset2 does (Entry/Endpoint.parseJson):
      only `member_` children; status ALIVE only; endpoints grouped by host:port with their
      names (null = serviceEndpoint). One JSON line per endpoint ({"kind":"endpoint",...}) or
      per child the reader ignored ({"kind":"ignored","child":...,"why":...}).
  read-curator <connect> <basePath> <service>
      Reads a Curator service's instance nodes as raw JSON, one line per child:
      {"node":...,"instance":{...}} or {"node":...,"error":...}.
  register-serverset <connect> <path> <host> <port> [--status S] [--shard N] [--endpoint name=port]...
      Creates an EPHEMERAL_SEQUENTIAL `member_` node (a Finagle-style self-registered service),
      prints {"registered":<path>} and holds the session until stdin closes or SIGTERM.
"""

import argparse
import json
import logging
import signal
import sys

from kazoo.client import KazooClient
from kazoo.exceptions import NoNodeError

MEMBER_PREFIX = "member_"
# Finagle's Endpoint.Status names; anything else reads as UNKNOWN.
STATUSES = {"DEAD", "STARTING", "ALIVE", "STOPPING", "STOPPED", "WARNING", "UNKNOWN"}


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def connect(hosts, timeout=10.0):
    client = KazooClient(hosts=hosts, timeout=timeout)
    client.start(timeout=15)
    return client


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def parse_endpoint(m):
    """Finagle's parseEndpoint: a map with a string host and an integer port, else None."""
    if not isinstance(m, dict):
        return None
    host, port = m.get("host"), m.get("port")
    if isinstance(host, str) and is_int(port):
        return (host, port)
    return None


def finagle_endpoints(data):
    """Finagle's Endpoint.parseJson, returning (status, shard, {(host, port): [names]})."""
    d = json.loads(data.decode("utf-8"))
    if not isinstance(d, dict):
        raise ValueError("not a JSON object")
    shard = d.get("shard") if is_int(d.get("shard")) else None
    status = d.get("status") if d.get("status") in STATUSES else "UNKNOWN"
    names = {}
    hp = parse_endpoint(d.get("serviceEndpoint"))
    if hp:
        names.setdefault(hp, []).append(None)
    additional = d.get("additionalEndpoints")
    if isinstance(additional, dict):
        for key, value in additional.items():
            hp = parse_endpoint(value)
            if hp:
                names.setdefault(hp, []).append(key)
    return status, shard, names


def read_serverset(args):
    client = connect(args.connect)
    try:
        try:
            children = sorted(client.get_children(args.path))
        except NoNodeError:
            children = []
        for child in children:
            if not child.startswith(MEMBER_PREFIX):
                emit({"kind": "ignored", "child": child, "why": "not a member"})
                continue
            try:
                data, _ = client.get(args.path + "/" + child)
            except NoNodeError:
                continue
            try:
                status, shard, names = finagle_endpoints(data or b"")
            except ValueError as e:  # json.JSONDecodeError and UnicodeDecodeError are ValueErrors
                emit({"kind": "ignored", "child": child, "why": "unparseable: %s" % e})
                continue
            if status != "ALIVE":
                emit({"kind": "ignored", "child": child, "why": "status " + status})
                continue
            for (host, port), endpoint_names in names.items():
                emit({"kind": "endpoint", "member": child, "host": host, "port": port,
                      "names": endpoint_names, "shard": shard})
    finally:
        client.stop()
        client.close()


def read_curator(args):
    client = connect(args.connect)
    path = args.base_path.rstrip("/") + "/" + args.service
    try:
        try:
            children = sorted(client.get_children(path))
        except NoNodeError:
            children = []
        for child in children:
            try:
                data, _ = client.get(path + "/" + child)
            except NoNodeError:
                continue
            try:
                emit({"node": child, "instance": json.loads((data or b"").decode("utf-8"))})
            except ValueError as e:
                emit({"node": child, "error": str(e)})
    finally:
        client.stop()
        client.close()


def register_serverset(args):
    endpoints = {}
    for spec in args.endpoint:
        name, _, port = spec.partition("=")
        endpoints[name] = {"host": args.host, "port": int(port)}
    # Field order and json.dumps defaults as twitter.common.zookeeper.serverset writes them.
    member = {
        "serviceEndpoint": {"host": args.host, "port": args.port},
        "additionalEndpoints": endpoints,
        "status": args.status,
        "shard": args.shard,
    }
    client = connect(args.connect, timeout=args.session_timeout)

    def stop(*_):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        created = client.create(args.path.rstrip("/") + "/" + MEMBER_PREFIX,
                                json.dumps(member).encode("utf-8"),
                                ephemeral=True, sequence=True, makepath=True)
        emit({"registered": created})
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        client.stop()  # ends the session: ZooKeeper deletes the member at once
        client.close()


def main():
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("read-serverset")
    p.add_argument("connect")
    p.add_argument("path")
    p.set_defaults(run=read_serverset)
    p = sub.add_parser("read-curator")
    p.add_argument("connect")
    p.add_argument("base_path")
    p.add_argument("service")
    p.set_defaults(run=read_curator)
    p = sub.add_parser("register-serverset")
    p.add_argument("connect")
    p.add_argument("path")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--status", default="ALIVE")
    p.add_argument("--shard", type=int, default=0)
    p.add_argument("--endpoint", action="append", default=[])
    p.add_argument("--session-timeout", type=float, default=5.0)
    p.set_defaults(run=register_serverset)
    args = parser.parse_args()
    try:
        args.run(args)
    except SystemExit:
        raise
    except Exception as e:  # report, do not dump a traceback into the test's JSON stream
        emit({"error": "%s: %s" % (type(e).__name__, e)})
        sys.exit(1)


if __name__ == "__main__":
    main()

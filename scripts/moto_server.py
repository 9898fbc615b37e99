"""moto_server for the test suite: IAM, STS and DynamoDB on 127.0.0.1, behind one lock.

moto serves requests on threads without a lock, so concurrent conditional writes on one item can
both succeed; real DynamoDB is atomic. Serialising requests here keeps race tests honest without
adding any lock to the bot. It also counts IAM writes per role (GET /_test/calls) so tests can
assert "exactly one PutRolePolicy", and can inject IAM errors (POST /_test/faults) for error tests.
TransactWriteItems backs up only the items it names instead of the whole table (see below), so a
large load does not slow down as the table grows; scripts/check_moto_transactions.py checks that a
cancelled transaction still leaves nothing behind.

Usage: python scripts/moto_server.py PORT
"""
import collections
import copy
import io
import json
import sys
import threading
import time
from urllib.parse import parse_qs

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import WSGIRequestHandler, run_simple

lock = threading.Lock()
calls = collections.Counter()
# "Action:RoleName" (AssumeRole: "AssumeRole:RoleArn") -> {"status": 400, "code": "AccessDenied", "message": "...", "times": n}
faults = {}
moto_app = DomainDispatcherApplication(create_backend_app)

FAULT_XML = """<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>
<Code>{code}</Code><Message>{message}</Message></Error><RequestId>fault-injected</RequestId></ErrorResponse>"""


def respond(start_response, status, body, content_type="application/json"):
    data = body.encode()
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(data)))])
    return [data]


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(raw)
    if path == "/_test/calls":
        with lock:
            return respond(start_response, "200 OK", json.dumps(calls))
    if path == "/_test/faults":
        with lock:
            faults.clear()
            faults.update(json.loads(raw or b"{}"))
            return respond(start_response, "200 OK", "{}")
    # "body:A|B": any request whose body contains every part (e.g. a request id and "lease_until").
    # It is held for "delay" seconds, outside the lock, then refused with "status" without being
    # processed: a test can kill or cut off the bot while that call is in flight.
    text = raw.decode("utf-8", "replace")
    with lock:
        body_fault = next(
            (
                (k, f)
                for k, f in faults.items()
                if k.startswith("body:") and f.get("times", 1) > 0 and all(part in text for part in k[5:].split("|"))
            ),
            None,
        )
        if body_fault:
            body_fault[1]["times"] = body_fault[1].get("times", 1) - 1
            calls[f"fault:{body_fault[0]}"] += 1
    if body_fault:
        time.sleep(body_fault[1].get("delay", 0))
        message = json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError", "message": "injected"})
        return respond(start_response, f"{body_fault[1].get('status', 500)} Error", message, "application/x-amz-json-1.0")
    with lock:
        form = parse_qs(raw.decode("utf-8", "replace")) if b"Action=" in raw else {}
        action = form.get("Action", [""])[0]
        role = form.get("RoleName", form.get("RoleArn", [""]))[0]
        key = f"{action}:{role}"
        fault = faults.get(key)
        if fault and fault.get("times", 1) > 0:
            fault["times"] = fault.get("times", 1) - 1
            calls[f"fault:{key}"] += 1
            return respond(
                start_response,
                f"{fault.get('status', 400)} Error",
                FAULT_XML.format(code=fault["code"], message=fault.get("message", fault["code"])),
                "text/xml",
            )
        if action in ("PutRolePolicy", "DeleteRolePolicy", "AssumeRole"):
            calls[key] += 1
        # Consume the response inside the lock so moto's work is finished before the next request.
        return list(moto_app(environ, start_response))


class _TablesNotCopied:
    """Stands in for the `copy` module inside moto's DynamoDB backend during a transaction: tables
    are not deep-copied (see `transact_write_items` below), everything else is."""

    @staticmethod
    def deepcopy(value, memo=None):
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


_moto_transact_write_items = DynamoDBBackend.transact_write_items


def transact_write_items(self, transact_items):
    """moto's TransactWriteItems, with a rollback that copies only the items the transaction names.

    moto backs up a transaction by deep-copying the whole table once per item it names, so each
    transaction costs time in proportion to the table: a 1,000-request load slowed to about two
    requests a second. Here the items named are saved before the transaction and put back if it is
    cancelled, which is the same all-or-nothing result (every request runs under `lock`, so nothing
    else can see or change the table in between). Everything else is moto's own code."""
    saved = []
    for entry in transact_items:
        if len(entry) != 1:
            break  # moto refuses this before changing anything
        op_type, op = next(iter(entry.items()))
        table = self.tables.get(op.get("TableName"))
        if table is None:
            continue
        if op_type == "Put":
            attrs = op.get("Item", {})
            names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
            if not all(n in attrs for n in names):
                continue  # moto refuses this before changing anything
            key = {n: attrs[n] for n in names}
        else:
            key = op.get("Key")
            if key is None:
                continue
        try:
            current = self.get_item(table.name, key)
        except Exception:  # noqa: BLE001 - a bad key: moto reports it, nothing to save
            continue
        saved.append((table.name, key, current.to_json()["Attributes"] if current else None))
    dynamodb_models.copy = _TablesNotCopied
    try:
        return _moto_transact_write_items(self, transact_items)
    except Exception:
        for table_name, key, attributes in reversed(saved):
            if attributes is None:
                if self.get_item(table_name, key) is not None:
                    self.delete_item(table_name, key)
            else:
                self.put_item(table_name, attributes)
        raise
    finally:
        dynamodb_models.copy = copy


DynamoDBBackend.transact_write_items = transact_write_items


class Handler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_request(self, *args, **kwargs):
        pass


if __name__ == "__main__":
    run_simple("127.0.0.1", int(sys.argv[1]), app, threaded=True, request_handler=Handler)

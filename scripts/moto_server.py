"""moto_server for the test suite: IAM, STS and sso-admin on 127.0.0.1 (DynamoDB is DynamoDB Local's).

moto has no DescribePermissionSetProvisioningStatus: this server answers it, from a script a test
sets per permission set with POST /_test/provisioning ({"<permission set ARN>": [{"Status":
"IN_PROGRESS"|"SUCCEEDED"|"FAILED", "FailureReason": "..."}, ...]}); ProvisionPermissionSet of a
scripted set reports its first entry, each status call the next. Unscripted sets succeed at once.

It counts IAM writes and AssumeRole calls per role (GET /_test/calls) so tests can assert
"exactly one PutRolePolicy", and can inject IAM and STS errors (POST /_test/faults) for error
tests. Requests are served one at a time, so that counts and faults are exact.

Usage: python scripts/moto_server.py PORT
"""
import collections
import io
import json
import sys
import threading
import uuid
from urllib.parse import parse_qs

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import WSGIRequestHandler, run_simple

lock = threading.Lock()
calls = collections.Counter()
# "Action:RoleName" (AssumeRole: "AssumeRole:RoleArn") -> {"status": 400, "code": "AccessDenied", "message": "...", "times": n}
faults = {}
provisioning = {}  # permission set ARN -> scripted states, first first
provision_requests = {}  # request id -> permission set ARN
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
    with lock:
        if path == "/_test/calls":
            return respond(start_response, "200 OK", json.dumps(calls))
        if path == "/_test/faults":
            faults.clear()
            faults.update(json.loads(raw or b"{}"))
            return respond(start_response, "200 OK", "{}")
        if path == "/_test/provisioning":
            provisioning.update(json.loads(raw or b"{}"))
            return respond(start_response, "200 OK", "{}")
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.endswith(".DescribePermissionSetProvisioningStatus"):
            request_id = json.loads(raw or b"{}").get("ProvisionPermissionSetRequestId", "")
            arn = provision_requests.get(request_id, "")
            calls[f"DescribePermissionSetProvisioningStatus:{arn}"] += 1
            body = provisioning_status(arn, request_id)
            return respond(start_response, "200 OK", json.dumps(body), "application/x-amz-json-1.1")
        if target.endswith(".ProvisionPermissionSet"):
            arn = json.loads(raw or b"{}").get("PermissionSetArn", "")
            calls[f"ProvisionPermissionSet:{arn}"] += 1
            if provisioning.get(arn):
                list(moto_app(environ, lambda *a, **k: None))
                request_id = str(uuid.uuid4())
                provision_requests[request_id] = arn
                body = provisioning_status(arn, request_id)
                return respond(start_response, "200 OK", json.dumps(body), "application/x-amz-json-1.1")
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


def provisioning_status(arn, request_id):
    script = provisioning.get(arn) or []
    step = script.pop(0) if script else {"Status": "SUCCEEDED"}
    status = {"Status": step["Status"], "RequestId": request_id, "PermissionSetArn": arn}
    if "FailureReason" in step:
        status["FailureReason"] = step["FailureReason"]
    return {"PermissionSetProvisioningStatus": status}


class Handler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_request(self, *args, **kwargs):
        pass


if __name__ == "__main__":
    run_simple("127.0.0.1", int(sys.argv[1]), app, threaded=True, request_handler=Handler)
